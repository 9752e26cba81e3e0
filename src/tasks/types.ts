/**
 * What every task exports (src/tasks/<name>.ts, looked up by name in src/tasks/registry.ts). A task draws batches
 * from an explicit Rng: whole (batch, validationBatch) or, for the training step, as inputs plus a per-shard targets
 * step. The models' predictions are scored by src/train/loss.ts (CONVENTIONS.md's ½-MSE over the scored steps).
 */
import type { Schema } from "../config.ts";
import type { Kernels } from "../kernels/types.ts";
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
   * The training step's data, part 1: `batch`'s random draws. x [B, T, d_in] and scored as batch() makes them, and
   * target [B, S, d_out] holding whatever `targets` does not compute (teacher-student: zeros; icl-regression: the
   * targets themselves, which need each sequence's W* drawn with it).
   */
  inputs(rng: Rng, config: C, setup: Setup, B: number, dtype: DType): Batch;
  /**
   * The training step's data, part 2, per shard: target[b, s, :] for the sequences b in [b0, b1) from x[b] alone
   * (x [>= b1, T, d_in], target [>= b1, S, d_out], rows outside [b0, b1) untouched), so every shard computes its own
   * targets on the thread that runs it (src/train/engine.ts). Pure: no rng, no shared state. `target` has the batch
   * dtype's element type (values are rounded to it as batch() rounds them). The invariant (tested): inputs(rng, ...)
   * then targets(..., b0, b1) over shards covering [0, B), in any order and on any thread, gives exactly
   * batch(rng, ...): the same x, scored and targets bit for bit, and the same rng state afterwards; on a batch from
   * batch() it changes nothing. `k`, when given, is the kernels of the thread that runs the shard (x and target may
   * lie in their memory); the targets are the same bits with any kernels or none.
   */
  targets(config: C, setup: Setup, x: Float, target: Float, b0: number, b1: number, k?: Kernels): void;
}
