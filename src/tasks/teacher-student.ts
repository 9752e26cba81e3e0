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
 * [0, B) gives the same numbers.
 */
function fillTargets(teacher: Params<AttentionConfig>, c: TeacherStudentConfig, x: Float, target: Float, b0: number, b1: number): void {
  const { d, T } = c;
  const cfg = attentionConfig(teacher.config);
  if (cfg.heads === 1 && cfg.d_out === d && teacher.tensors.W_V.data instanceof Float64Array) teacherTargets(teacher, x, T, target, b0, b1);
  else if (b1 > b0) target.set(attention.forward(teacher, { shape: [b1 - b0, T, d], data: x.subarray(b0 * T * d, b1 * T * d) }).data, b0 * T * cfg.d_out);
}

/** Teacher outputs for x [B, T, d] ~ N(0, I_d) drawn from `rng`: targets at every t, scored = [0..T-1] (Section 3). */
function drawBatch(rng: Rng, c: TeacherStudentConfig, teacher: Params<AttentionConfig>, B: number, dtype: DType): Batch {
  const batch = drawInputs(rng, c, B, dtype);
  fillTargets(teacher, c, batch.x.data, batch.target, 0, B);
  return batch;
}

/**
 * target[b,t,:] = y_t of eq. 1 for one float64 head and the sequences b in [b0, b1), y_t = sum_{s<=t} v_s (q_t · k_s)
 * with v = x W_Vᵀ, k = x W_Kᵀ, q = x W_Qᵀ (x [>= b1, T, d], W_V [d_out, d], W_K, W_Q [d_key, d]), then rounded into
 * `target` [>= b1, T, d_out] (each sequence on its own: the result does not depend on b0, b1). Bit for bit
 * what `attention.forward` computes with the float64 reference kernels (same products, same summation order, the
 * zero products above the causal diagonal skipped: adding them never changes a sum), ~10x faster.
 */
function teacherTargets(teacher: Params<AttentionConfig>, x: Float, T: number, target: Float, b0: number, b1: number): void {
  const { d, d_key: dk, d_out: dv } = attentionConfig(teacher.config);
  const WV = Float64Array.from(teacher.tensors.W_V.data);
  const WK = Float64Array.from(teacher.tensors.W_K.data);
  const WQ = Float64Array.from(teacher.tensors.W_Q.data);
  const xs = new Float64Array(T * d);
  const v = new Float64Array(T * dv), kk = new Float64Array(T * dk), q = new Float64Array(T * dk);
  const sc = new Float64Array(T), y = new Float64Array(T * dv);
  for (let b = b0; b < b1; b++) {
    const xo = b * T * d;
    for (let i = 0; i < T * d; i++) xs[i] = x[xo + i];
    project(v, xs, WV, T, d, dv);
    project(kk, xs, WK, T, d, dk);
    project(q, xs, WQ, T, d, dk);
    for (let t = 0; t < T; t++) {
      if (dk === 4 && dv === 4) {
        // the general loops below for the paper's d = 4, unrolled and fused: each score used as soon as it is
        // computed (a leading 0 + only changes the sign of a zero, which the final 0 + undoes)
        const q0 = q[4 * t], q1 = q[4 * t + 1], q2 = q[4 * t + 2], q3 = q[4 * t + 3];
        let a0 = 0, a1 = 0, a2 = 0, a3 = 0;
        for (let s = 0; s <= t; s++) {
          const w = 0 + (q0 * kk[4 * s] + q1 * kk[4 * s + 1] + q2 * kk[4 * s + 2] + q3 * kk[4 * s + 3]);
          a0 += w * v[4 * s];
          a1 += w * v[4 * s + 1];
          a2 += w * v[4 * s + 2];
          a3 += w * v[4 * s + 3];
        }
        y[4 * t] = 0 + a0;
        y[4 * t + 1] = 0 + a1;
        y[4 * t + 2] = 0 + a2;
        y[4 * t + 3] = 0 + a3;
        continue;
      }
      for (let s = 0; s <= t; s++) {
        let a = 0;
        for (let p = 0; p < dk; p++) a += q[t * dk + p] * kk[s * dk + p];
        sc[s] = 0 + a;
      }
      for (let j = 0; j < dv; j++) {
        let a = 0;
        for (let s = 0; s <= t; s++) a += sc[s] * v[s * dv + j];
        y[t * dv + j] = 0 + a;
      }
    }
    const yo = b * T * dv;
    for (let i = 0; i < T * dv; i++) target[yo + i] = y[i];
  }
}

/** out[t, j] = 0 + Σ_p x[t, p] W[j, p] (p ascending): the float64 reference mmNT's arithmetic, x [T, d], W [rows, d]. */
function project(out: Float64Array, x: Float64Array, W: Float64Array, T: number, d: number, rows: number): void {
  if (d === 4) {
    // the same sums unrolled for the paper's d = 4 (0 + x0 w0 + ... in the loop's order)
    for (let t = 0; t < T; t++) {
      const x0 = x[4 * t], x1 = x[4 * t + 1], x2 = x[4 * t + 2], x3 = x[4 * t + 3];
      for (let j = 0; j < rows; j++) out[t * rows + j] = 0 + (0 + x0 * W[4 * j] + x1 * W[4 * j + 1] + x2 * W[4 * j + 2] + x3 * W[4 * j + 3]);
    }
    return;
  }
  for (let t = 0; t < T; t++) {
    for (let j = 0; j < rows; j++) {
      let s = 0;
      for (let p = 0; p < d; p++) s += x[t * d + p] * W[j * d + p];
      out[t * rows + j] = 0 + s;
    }
  }
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
  targets: (c, teacher, x, target, b0, b1) => fillTargets(teacher, c, x, target, b0, b1),
};
