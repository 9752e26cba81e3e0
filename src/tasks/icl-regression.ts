/**
 * In-context linear regression of Section 4.1 and App. C.1: every sequence has its own W* [d_y, d_x] and shows T
 * observation tokens [x_t; y_t] with y_t = W* x_t, x_t ~ U(-√3, √3)^{d_x} (unit variance), then the query token
 * [x_q; 0]; only the prediction at the query (position T) is scored, against y_q = W* x_q. W* entries are
 * N(0, 1/d_x) in training and N(0, 2/d_x) for validation ("double the variance"), CONVENTIONS.md "Tasks".
 */
import type { Schema } from "../config.ts";
import { int } from "../config.ts";
import type { Rng } from "../rng.ts";
import type { DType } from "../tensor.ts";
import { allocFloat } from "../tensor.ts";
import type { Batch, Task } from "./types.ts";

export interface IclRegressionConfig {
  /** Input width d_x. */
  d_x: number;
  /** Output width d_y. */
  d_y: number;
  /** Number of observations T (the sequence has T + 1 tokens). */
  T: number;
}

/** Config schema {d_x: 3, d_y: 3, T: 12} (Section 4.2 defaults). */
export const iclRegressionSchema: Schema<IclRegressionConfig> = {
  d_x: int("regression input width d_x", { min: 1, max: 4096, default: 3 }),
  d_y: int("regression output width d_y", { min: 1, max: 4096, default: 3 }),
  T: int("number of observations T before the query", { min: 1, max: 1 << 20, default: 12 }),
};

/** Half-width √3 of the input distribution U(-√3, √3): unit variance (App. C.1). */
export const ICL_X_BOUND = Math.sqrt(3);

/** Variance of W* entries: 1/d_x for training, 2/d_x for validation (App. C.1). */
export function iclWStarVariance(d_x: number, validation: boolean): number {
  return (validation ? 2 : 1) / d_x;
}

/**
 * B sequences [B, T+1, d_x+d_y] (App. C.1): per sequence W* [d_y, d_x] ~ N(0, wVar), x_t ~ U(-√3, √3), tokens
 * [x_t; W* x_t] for t < T, query [x_q; 0] at t = T; target [B, 1, d_y] = W* x_q, scored = [T].
 */
function drawBatch(rng: Rng, c: IclRegressionConfig, B: number, dtype: DType, wVar: number): Batch {
  const { d_x: dx, d_y: dy, T } = c;
  const L = T + 1;
  const d = dx + dy;
  const x = allocFloat(dtype, B * L * d);
  const target = allocFloat(dtype, B * dy);
  const W = new Float64Array(dy * dx);
  // a sequence's x_1..x_L drawn at once (the same draws in the same order as one x_t at a time), in the batch dtype
  // first, so y_t = W* x_t holds for the stored inputs
  const xs = allocFloat(dtype, L * dx);
  const std = Math.sqrt(wVar);
  for (let b = 0; b < B; b++) {
    rng.fillNormal(W, std);
    rng.fillUniform(xs, -ICL_X_BOUND, ICL_X_BOUND);
    for (let t = 0; t < L; t++) {
      const off = (b * L + t) * d, xo = t * dx;
      for (let j = 0; j < dx; j++) x[off + j] = xs[xo + j];
      for (let i = 0; i < dy; i++) {
        let s = 0;
        for (let j = 0; j < dx; j++) s += W[i * dx + j] * xs[xo + j];
        if (t < T) x[off + dx + i] = s;
        else target[b * dy + i] = s; // the query's y part stays 0
      }
    }
  }
  return { x: { shape: [B, L, d], data: x }, target, scored: [T] };
}

/**
 * Section 4 task "icl-regression": x [B, T+1, d_x+d_y] (T observations [x_t; W* x_t], query [x_q; 0]),
 * target [B, 1, d_y] = W* x_q at the query only; W* ~ N(0, 1/d_x) (training) or N(0, 2/d_x) (validation).
 * `inputs` is the whole training batch (its targets come with it) and `targets` leaves them as they are.
 */
export const iclRegression: Task<IclRegressionConfig, null> = {
  name: "icl-regression",
  summary: "Section 4: in-context linear regression, T tokens [x; W* x] then a query [x_q; 0], only the query scored",
  paperSteps: 300_000,
  schema: iclRegressionSchema,
  dims: (c) => ({ dIn: c.d_x + c.d_y, dOut: c.d_y, T: c.T + 1 }),
  setup: () => null,
  artifacts: () => ({}),
  batch: (rng, c, _s, B, dtype) => drawBatch(rng, c, B, dtype, iclWStarVariance(c.d_x, false)),
  validationBatch: (rng, c, _s, B, dtype) => drawBatch(rng, c, B, dtype, iclWStarVariance(c.d_x, true)),
  // the targets need each sequence's W*, drawn with its inputs: the whole batch is drawn at once, the targets kept
  inputs: (rng, c, _s, B, dtype) => drawBatch(rng, c, B, dtype, iclWStarVariance(c.d_x, false)),
  targets: () => {},
};
