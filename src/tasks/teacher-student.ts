/**
 * Teacher-student task of Section 3: the teacher is one causal linear self-attention layer (eq. 1) with W_V, W_K, W_Q
 * entries i.i.d. N(0, 1/d), drawn once per run; inputs x_t ~ N(0, I_d), a fresh batch every step; the student is
 * regressed on the teacher's output at every time step (CONVENTIONS.md, "Tasks").
 */
import type { Schema } from "../config.ts";
import { int } from "../config.ts";
import { attention, attentionConfig } from "../models/attention.ts";
import type { AttentionConfig } from "../models/attention.ts";
import type { Params } from "../models/types.ts";
import type { Rng } from "../rng.ts";
import type { DType } from "../tensor.ts";
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

/** Teacher outputs for x [B, T, d] ~ N(0, I_d) drawn from `rng`: targets at every t, scored = [0..T-1] (Section 3). */
function drawBatch(rng: Rng, c: TeacherStudentConfig, teacher: Params<AttentionConfig>, B: number, dtype: DType): Batch {
  const { d, T } = c;
  const xData = allocFloat(dtype, B * T * d);
  rng.fillNormal(xData);
  const x = { shape: [B, T, d], data: xData };
  // Eq. 1 in the teacher's dtype (f64) on the stored inputs, then stored in the batch dtype.
  const y = attention.forward(teacher, x);
  const target = allocFloat(dtype, B * T * d);
  target.set(y.data);
  return { x, target, scored: Array.from({ length: T }, (_, t) => t) };
}

/**
 * Section 3 task "teacher-student": setup = attention teacher (W_V, W_K, W_Q [d, d], entries N(0, 1/d)); batch
 * x [B, T, d] ~ N(0, I), target [B, T, d] = eq. 1 teacher output at every step; dIn = dOut = d; artifacts
 * {"attention.safetensors": teacher}.
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
};
