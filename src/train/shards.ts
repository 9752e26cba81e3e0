/**
 * Shard geometry and one shard's work. The training step cuts its B sequences into S contiguous shards
 * (shardCount: 2, or more when the model's cached activations would not fit in cache, and at least the thread
 * count); each shard computes its targets (the task's per-shard step), forward, loss and backward into its own
 * gradient buffer (a view of one flat buffer, gradLayout), and the engine sums the shards in order,
 * ((G_0 + G_1) + G_2) + ..., whichever thread ran them: 1 and 2 threads give bit-identical training.
 */
import type { Kernels } from "../kernels/types.ts";
import type { ModelFamily, Params } from "../models/types.ts";
import type { Task } from "../tasks/types.ts";
import type { Float } from "../tensor.ts";
import { shardLoss } from "./loss.ts";

/** Bytes of cached activations one shard should hold at most (about half of a 2 MiB per-core L2 cache). */
export const SHARD_BYTES = 1 << 20;

/**
 * Shards of a batch of B sequences for `threads` threads: max(2, threads, P), at most B, where P is the power of two
 * that brings one shard's cached activations (B·rowBytes/S, rowBytes = T · the family's cachedFloatsPerRow · 4) under
 * SHARD_BYTES (1 when the family gives no size). It depends on the model and the batch, never on the machine, and is
 * the same for every threads <= it: 1, 2, 4, ... threads give bit-identical training.
 */
export function shardCount(threads: number, batch: number, rowBytes = 0): number {
  let p = 1;
  while (p < batch && (batch * rowBytes) / p > SHARD_BYTES) p *= 2;
  return Math.max(1, Math.min(batch, Math.max(2, threads, p)));
}

/** Sequences [start, end) of shard s of S over B: contiguous, sizes floor or ceil of B/S, start = floor(s·B/S). */
export function shardBounds(batch: number, shards: number, s: number): [number, number] {
  return [Math.floor((s * batch) / shards), Math.floor(((s + 1) * batch) / shards)];
}

/** Shards [first, last) run by thread t of `threads` (thread 0 = the calling thread): contiguous, in order. */
export function threadShards(shards: number, threads: number, t: number): [number, number] {
  return [Math.floor((t * shards) / threads), Math.floor(((t + 1) * shards) / threads)];
}

/** A shard's targets step: fills target rows [b0, b1) from x on the shard's kernels k (a task's `targets` bound to its config and setup). */
export type TargetFill = (x: Float, target: Float, b0: number, b1: number, k: Kernels) => void;

/** The targets step of `task` for its run's config and setup (the same on the calling thread and in the workers). */
export function targetFill(task: Task, config: unknown, setup: unknown): TargetFill {
  return (x, target, b0, b1, k) => task.targets(config, setup, x, target, b0, b1, k);
}

/** Where one shard's inputs are: the batch buffers [B, T, dIn] and [B, S, dOut] and its sequence range. */
export interface ShardInput {
  x: Float;
  target: Float;
  scored: ArrayLike<number>;
  T: number;
  dIn: number;
  dOut: number;
  /** B·S·dOut of the whole batch (the loss's mean is over it). */
  n: number;
  b0: number;
  b1: number;
  /** Fills target rows [b0, b1) from x before the forward pass (the task's per-shard targets step). */
  fill: TargetFill;
}

/**
 * One shard's targets, forward, loss and backward on kernels k: sequences [b0, b1) of the batch, gradients copied
 * into `out` (by the family's tensor names, same sizes) and the shard's squared-error sum returned (loss.ts,
 * shardLoss). Activations live between k.mark() and k.release().
 */
export function runShard(family: ModelFamily, params: Params, k: Kernels, s: ShardInput, out: Record<string, Float>): number {
  const Bs = s.b1 - s.b0;
  const S = s.scored.length;
  s.fill(s.x, s.target, s.b0, s.b1, k);
  const mark = k.mark();
  try {
    const x = { shape: [Bs, s.T, s.dIn], data: s.x.subarray(s.b0 * s.T * s.dIn, s.b1 * s.T * s.dIn) };
    const { y, cache } = family.forwardCached!(params, x, k);
    const dy = k.alloc(y.length);
    const sse = shardLoss(y, s.target.subarray(s.b0 * S * s.dOut, s.b1 * S * s.dOut), s.scored, Bs, s.T, s.dOut, s.n, dy);
    const { grads } = family.backward!(params, cache, dy, k);
    for (const name in out) {
      const g = grads[name];
      if (!g || g.length !== out[name].length) throw new Error(`${family.name} backward: gradient "${name}" is missing or has the wrong size`);
      out[name].set(g);
    }
    return sse;
  } finally {
    k.release(mark);
  }
}

/** Layout of a flat gradient buffer: each tensor at a 16-float-aligned offset, P floats per shard in total. */
export interface GradLayout {
  names: string[];
  offsets: number[];
  lengths: number[];
  P: number;
}

/** The flat layout for a model's tensors (in their order). */
export function gradLayout(params: Params): GradLayout {
  const names: string[] = [];
  const offsets: number[] = [];
  const lengths: number[] = [];
  let P = 0;
  for (const [name, t] of Object.entries(params.tensors)) {
    names.push(name);
    offsets.push(P);
    lengths.push(t.data.length);
    P += Math.ceil(t.data.length / 16) * 16;
  }
  return { names, offsets, lengths, P: Math.max(P, 16) };
}

/** Named views of shard s's gradients inside the flat buffer `flat` [shards · P]. */
export function gradViews(flat: Float, layout: GradLayout, s: number): Record<string, Float> {
  const out: Record<string, Float> = {};
  layout.names.forEach((name, i) => {
    const o = s * layout.P + layout.offsets[i];
    out[name] = flat.subarray(o, o + layout.lengths[i]);
  });
  return out;
}
