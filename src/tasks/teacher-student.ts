/**
 * Teacher-student task of Section 3: the teacher is one causal linear self-attention layer (eq. 1) with W_V, W_K, W_Q
 * entries i.i.d. N(0, 1/d), drawn once per run; inputs x_t ~ N(0, I_d), a fresh batch every step; the student is
 * regressed on the teacher's output at every time step (CONVENTIONS.md, "Tasks").
 */
import type { Schema } from "../config.ts";
import { int } from "../config.ts";
import { attention, attentionConfig } from "../models/attention.ts";
import type { AttentionConfig } from "../models/attention.ts";
import { ref64 } from "../kernels/reference.ts";
import type { Kernels } from "../kernels/types.ts";
import type { Params } from "../models/types.ts";
import type { Rng } from "../rng.ts";
import type { DType, Float } from "../tensor.ts";
import { allocFloat } from "../tensor.ts";
import type { Batch, Task } from "./types.ts";

export interface TeacherStudentConfig {
  /** Token width d (teacher input and output width). */
  d: number;
  /** Sequence length T. */
  T: number;
}

/** Config schema {d: 4, T: 32} (Section 3 defaults). */
export const teacherStudentSchema: Schema<TeacherStudentConfig> = {
  d: int("token width d of teacher and student", { min: 1, max: 4096, default: 4 }),
  T: int("sequence length T", { min: 1, max: 1 << 20, default: 32 }),
};

/** Inputs x [B, T, d] ~ N(0, I_d) drawn from `rng` (one fillNormal), target [B, T, d] zeros, scored = [0..T-1]. */
function drawInputs(rng: Rng, c: TeacherStudentConfig, B: number, dtype: DType): Batch {
  const { d, T } = c;
  const xData = allocFloat(dtype, B * T * d);
  rng.fillNormal(xData);
  return { x: { shape: [B, T, d], data: xData }, target: allocFloat(dtype, B * T * d), scored: Array.from({ length: T }, (_, t) => t) };
}

/**
 * target[b] = eq. 1 teacher output on x[b] for b in [b0, b1) (x [>= b1, T, d], target [>= b1, T, d_out]), computed
 * in the teacher's dtype (f64) on the stored inputs, then stored in target's dtype; per sequence, so any split of
 * [0, B) gives the same numbers. A float64 single-head teacher goes through k.causalAttention64 (the same bits on
 * every backend; the reference's arithmetic when k is absent), any other through attention.forward.
 */
function fillTargets(teacher: Params<AttentionConfig>, c: TeacherStudentConfig, x: Float, target: Float, b0: number, b1: number, k?: Kernels): void {
  const { d, T } = c;
  const cfg = attentionConfig(teacher.config);
  if (b1 <= b0) return;
  const xs = x.subarray(b0 * T * d, b1 * T * d);
  const ys = target.subarray(b0 * T * cfg.d_out, b1 * T * cfg.d_out);
  const { W_V, W_K, W_Q } = teacher.tensors;
  if (cfg.heads === 1 && cfg.d_out === d && W_V.data instanceof Float64Array && W_K.data instanceof Float64Array && W_Q.data instanceof Float64Array) {
    (k ?? ref64).causalAttention64(ys, xs, W_V.data, W_K.data, W_Q.data, b1 - b0, T, d, cfg.d_key, cfg.d_out);
  } else ys.set(attention.forward(teacher, { shape: [b1 - b0, T, d], data: xs }).data);
}

/** Teacher outputs for x [B, T, d] ~ N(0, I_d) drawn from `rng`: targets at every t, scored = [0..T-1] (Section 3). */
function drawBatch(rng: Rng, c: TeacherStudentConfig, teacher: Params<AttentionConfig>, B: number, dtype: DType): Batch {
  const batch = drawInputs(rng, c, B, dtype);
  fillTargets(teacher, c, batch.x.data, batch.target, 0, B);
  return batch;
}

/**
 * Section 3 task "teacher-student": setup = attention teacher (W_V, W_K, W_Q [d, d], entries N(0, 1/d)); batch
 * x [B, T, d] ~ N(0, I), target [B, T, d] = eq. 1 teacher output at every step; dIn = dOut = d; artifacts
 * {"attention.safetensors": teacher}; inputs = the x draw, targets = eq. 1 per sequence (pure).
 */
export const teacherStudent: Task<TeacherStudentConfig, Params<AttentionConfig>> = {
  name: "teacher-student",
  summary: "Section 3: regress a random linear self-attention teacher (N(0, 1/d) weights) on x_t ~ N(0, I_d), every step scored",
  paperSteps: 1_000_000,
  schema: teacherStudentSchema,
  dims: (c) => ({ dIn: c.d, dOut: c.d, T: c.T }),
  setup: (rng, c) => attention.init(rng, attentionConfig({ d: c.d }), "f64"),
  artifacts: (teacher) => ({ "attention.safetensors": teacher }),
  batch: (rng, c, teacher, B, dtype) => drawBatch(rng, c, teacher, B, dtype),
  validationBatch: (rng, c, teacher, B, dtype) => drawBatch(rng, c, teacher, B, dtype),
  inputs: (rng, c, _teacher, B, dtype) => drawInputs(rng, c, B, dtype),
  targets: (c, teacher, x, target, b0, b1, k) => fillTargets(teacher, c, x, target, b0, b1, k),
};
