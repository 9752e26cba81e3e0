/**
 * What every task exports (src/tasks/<name>.ts, looked up by name in src/tasks/registry.ts). A task draws batches
 * from an explicit Rng, scores a model's predictions with the loss of CONVENTIONS.md (1/2 · mean squared error over
 * batch, scored time steps and output coordinates) and returns dL/dy for the backward pass.
 */
import type { Schema } from "../config.ts";
import type { Params } from "../models/types.ts";
import type { Rng } from "../rng.ts";
import type { DType, Float, Tensor } from "../tensor.ts";

/** One batch: inputs x [B, T, d_in], targets at the scored positions, and which positions are scored. */
export interface Batch {
  x: Tensor;
  /** Targets [B, S, d_out] for the S scored time steps of each sequence (S = T, or 1 for the query only). */
  target: Float;
  /** The scored time steps, increasing (the same for every sequence), e.g. [0..T-1] or [T-1]. */
  scored: number[];
}

export interface Task<C = any, Setup = unknown> {
  /** Registry name, e.g. "teacher-student". */
  readonly name: string;
  /** One line for `--help`. */
  readonly summary: string;
  readonly schema: Schema<C>;
  /** Optimizer steps of the paper's protocol for this task (App. B.1: ~1M teacher-student; App. C.1: 300k icl). */
  readonly paperSteps: number;
  /** Model input/output widths and sequence length the task needs. */
  dims(config: C): { dIn: number; dOut: number; T: number };
  /** Per-run fixed data drawn once from `rng` (the teacher for teacher-student; nothing for icl-regression). */
  setup(rng: Rng, config: C): Setup;
  /** Models of the setup to save in the run directory, by file name (teacher-student: {"attention.safetensors": teacher}). */
  artifacts(setup: Setup, config: C): Record<string, Params>;
  /** A fresh training batch of B sequences. */
  batch(rng: Rng, config: C, setup: Setup, B: number, dtype: DType): Batch;
  /** A validation batch (icl-regression: W* with double the variance); drawn once per run from its own rng. */
  validationBatch(rng: Rng, config: C, setup: Setup, B: number, dtype: DType): Batch;
  /**
   * Optional: `batch` split into its random draws and its targets, for tasks whose targets are a pure per-sequence
   * function of the inputs (teacher-student; not icl-regression, whose targets need each sequence's random W*).
   * The trainer then computes each shard's targets on the thread that runs the shard (src/train/parallel.ts).
   */
  readonly split?: BatchSplit<C, Setup>;
}

/**
 * `Task.batch` in two parts. The invariant (tested): inputs(rng, ...) followed by targets(..., b0, b1) over shards
 * covering [0, B), in any order and on any thread, gives exactly batch(rng, ...): the same x, scored and targets
 * bit for bit, and the same rng state afterwards.
 */
export interface BatchSplit<C = any, Setup = unknown> {
  /** batch()'s random draws: x [B, T, d_in] and scored as batch() makes them, target [B, S, d_out] allocated (zeros). */
  inputs(rng: Rng, config: C, setup: Setup, B: number, dtype: DType): Batch;
  /**
   * target[b, s, :] for the sequences b in [b0, b1) from x[b] alone (x [>= b1, T, d_in], target [>= b1, S, d_out],
   * rows outside [b0, b1) untouched); pure: no rng, no shared state, so shards may run concurrently. `target` must
   * have the batch dtype's element type (values are rounded to it as batch() rounds them).
   */
  targets(config: C, setup: Setup, x: Float, target: Float, b0: number, b1: number): void;
}

/**
 * Loss of CONVENTIONS.md: L = 1/2 · mean over (b, scored s, j) of (y[b,s,j] - target[b,s,j])², with the model's
 * y [B, T, d_out] (all positions); writes dL/dy into `dy` [B, T, d_out] (zero at unscored positions) when given.
 */
export function mseLoss(y: Float, batch: Batch, dOut: number, dy?: Float): number {
  const [B, T] = batch.x.shape;
  const S = batch.scored.length;
  const n = B * S * dOut;
  if (dy) dy.fill(0);
  let sum = 0;
  for (let b = 0; b < B; b++) {
    for (let si = 0; si < S; si++) {
      const t = batch.scored[si];
      for (let j = 0; j < dOut; j++) {
        const e = y[(b * T + t) * dOut + j] - batch.target[(b * S + si) * dOut + j];
        sum += e * e;
        if (dy) dy[(b * T + t) * dOut + j] = e / n;
      }
    }
  }
  return (0.5 * sum) / n;
}
