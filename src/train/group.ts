/**
 * Run groups: R runs of one shape advancing in lockstep. Each run keeps its own seed (hence its own data stream,
 * teacher and initialisation), learning rate, final learning rate, weight decay and Adam epsilon, and its own run
 * directory; everything else (task, model, batch, steps, schedule shape, log points) is shared, so the group's
 * parameters, gradients and moments can live in one flat buffer per group and every kernel works on all R runs at
 * once. A `GroupTrainer` is what a device implements (CPU here; WebGPU in src/train/webgpu-group.ts); the run
 * directories around it are written by src/train/run.ts, one per run, exactly as for a run trained alone.
 */
import { canonicalJson } from "../config.ts";
import type { Params } from "../models/types.ts";
import type { RngState } from "../rng.ts";
import type { Float } from "../tensor.ts";
import type { TrainConfig } from "./loop.ts";

/** The config keys a run of a group may set for itself; every other key must be equal across the group. */
export const PER_RUN_KEYS = ["seed", "lr", "lr_final", "weight_decay", "adam_eps"] as const;

/** The shape key of a parsed config: its canonical JSON without the per-run keys (runs with equal keys may form a group). */
export function groupKey(cfg: TrainConfig): string {
  const rest: Record<string, unknown> = { ...cfg };
  for (const k of PER_RUN_KEYS) delete rest[k];
  return canonicalJson(rest);
}

/** Throws a one-line error unless every config of `cfgs` (at least one) has the same groupKey. */
export function checkGroup(cfgs: readonly TrainConfig[]): void {
  if (cfgs.length === 0) throw new Error("run group: no runs");
  const k0 = groupKey(cfgs[0]);
  cfgs.forEach((c, r) => {
    if (groupKey(c) !== k0) throw new Error(`run group: run ${r} differs from run 0 in more than ${PER_RUN_KEYS.join(", ")}; it needs a group of its own`);
  });
}

/** One run's saved optimizer state (a checkpoint's content besides the driver's own counters). */
export interface RunSnapshot {
  /** Optimizer steps taken. */
  step: number;
  /** Trained-form tensors (e.g. nu for lambda) by trained name. */
  trainable: Record<string, Float>;
  /** AdamW first and second moments by trained name. */
  m: Record<string, Float>;
  v: Record<string, Float>;
  /** The data stream's state (CPU xoshiro streams); absent on devices whose data is a pure function of (seed, step). */
  rng?: RngState;
}

/** What `advance` returns: per run, the sum (float64) of the training losses of the steps taken and the last lr. */
export interface Advanced {
  lossSum: Float64Array;
  lr: Float64Array;
}

/** Thrown by `advance` when a run's training loss is NaN or ±Inf. */
export class GroupDivergedError extends Error {
  constructor(readonly run: number, readonly step: number, readonly loss: number) {
    super(`run ${run}: loss is ${loss} at step ${step}`);
  }
}

/**
 * R runs of one shape in lockstep on one device. Runs are indexed 0..R-1 in the order of `cfgs`; a run's numbers do
 * not depend on the other runs of its group (a run trained in a group gives the bits it gives alone, on one device).
 */
export interface GroupTrainer {
  /** The runs' parsed configs (equal groupKey). */
  readonly cfgs: readonly TrainConfig[];
  /** What computes, in words, e.g. "cpu: fast-f32 (kernels-relaxed-shared.wasm), 2 threads" or "webgpu: nvidia NVIDIA H200". */
  readonly device: string;
  /** Why the device runs differently from what was asked ("" when it does not), e.g. fewer threads. */
  readonly note: string;
  /** Optimizer steps every run has taken. */
  readonly step: number;
  /** Steps the driver advances per call between its checks for interrupts and progress (CPU: 1; GPU: many). */
  readonly chunk: number;
  /** Advances every run by n >= 1 steps (never past a log point the caller wants); throws GroupDivergedError. */
  advance(n: number): Promise<Advanced>;
  /** Mean loss of each run on its fixed validation set. */
  evaluate(): Promise<Float64Array>;
  /** Loss of the zero predictor on each run's validation set. */
  zeroPredictorLoss(): Float64Array;
  /** The task's files of run r (teacher-student: {"attention.safetensors": teacher}). */
  artifacts(r: number): Record<string, Params>;
  /** Run r's model in lambda form, detached from the device's memory. */
  exportParams(r: number): Promise<Params>;
  /** Run r's optimizer state for its checkpoint (copies). */
  snapshot(r: number): Promise<RunSnapshot>;
  /** Frees the device's resources (threads, GPU buffers); the trainer cannot step afterwards. */
  close(): void;
}
