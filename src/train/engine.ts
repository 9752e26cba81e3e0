/**
 * The training step's forward + loss + backward, sharded over the batch (src/train/shards.ts): persistent batch and
 * gradient buffers in the trainer's kernel memory, the batch's inputs copied in, then every shard fills its own
 * targets (the task's per-shard step), runs forward, loss and backward, and the shards' gradients are summed in shard
 * order — on the calling thread alone, or with worker threads (src/train/pool.ts) when the trainer's kernels are a
 * shared-memory build (src/kernels/factory.ts, trainingKernels). Where threads are unavailable (a browser without
 * cross-origin isolation, older Node, the reference backend) every shard runs on the calling thread and `note` says so.
 */
import type { TrainingKernels } from "../kernels/factory.ts";
import type { ModelFamily, Params } from "../models/types.ts";
import type { Batch, Task } from "../tasks/types.ts";
import type { DType, Float } from "../tensor.ts";
import { allocFloat } from "../tensor.ts";
import type { Pool } from "./pool.ts";
import { startPool } from "./pool.ts";
import { gradLayout, gradViews, runShard, shardBounds, shardCount, targetFill, threadShards } from "./shards.ts";
import type { ShardInput } from "./shards.ts";

/** What a step returns: the batch's squared-error sum and n (L = ½ sse / n, loss.ts) and the summed gradients (views). */
export interface ShardStepResult {
  sse: number;
  n: number;
  /** Σ over shards of dL/d(tensor), by model tensor name; valid until the next step. */
  grads: Record<string, Float>;
}

/** The sharded step of one trainer. */
export interface ShardEngine {
  readonly shards: number;
  /** Threads actually used (1 when threads are unavailable). */
  readonly threads: number;
  /** Why fewer threads run than were asked for ("" when none). */
  readonly note: string;
  /** The kernels' build: kernels-relaxed-shared.wasm, kernels-shared.wasm, or the backend name. */
  readonly kernels: string;
  /**
   * Forward, loss and backward of `batch` (x [B, T, d_in] and its target buffer, e.g. Task.inputs') over every
   * shard, each shard's targets filled by the task's per-shard step first; gradients summed in shard order.
   */
  step(batch: Batch): ShardStepResult;
  /** Stops the worker threads (the engine cannot step afterwards). */
  close(): void;
}

/** The run's data: its task with the config and setup the task's targets step reads, and the batches' dtype. */
export interface RunData {
  task: Task;
  config: unknown;
  setup: unknown;
  /** The batches' dtype (the targets are rounded to it). */
  dtype: DType;
}

/** What createShardEngine needs: the trainer's kernels, the model, fixed batch dims, threads asked for, the data. */
export interface EngineSpec {
  kernels: TrainingKernels;
  family: ModelFamily;
  params: Params;
  batch: number;
  T: number;
  dIn: number;
  dOut: number;
  /** Threads asked for (the engine runs min(this, kernels.threads)). */
  threads: number;
  data: RunData;
}

/** The sharded step for a trainer: its buffers in the kernels' memory and, with a shared-memory build and threads > 1, the worker pool. */
export function createShardEngine(spec: EngineSpec): ShardEngine {
  const { family, params, batch: B, T, dIn, dOut, data } = spec;
  const { k, shared } = spec.kernels;
  const threads = Math.min(spec.threads, spec.kernels.threads);
  const rowFloats = family.cachedFloatsPerRow?.(params.config) ?? 0;
  const shards = shardCount(threads, B, T * rowFloats * 4);
  const layout = gradLayout(params);
  const xBuf = k.alloc(B * T * dIn);
  // the targets round as the batch dtype does (a kernels' buffer when it has that type)
  const tBuf = k.dtype === data.dtype ? k.alloc(B * T * dOut) : allocFloat(data.dtype, B * T * dOut);
  const gFlat = k.alloc(shards * layout.P);
  const gViews = Array.from({ length: shards }, (_, s) => gradViews(gFlat, layout, s));
  const sum = gViews[0];
  const sse = new Float64Array(shards);
  const fill = targetFill(data.task, data.config, data.setup);
  const input = (s: number, scored: ArrayLike<number>, n: number): ShardInput => {
    const [b0, b1] = shardBounds(B, shards, s);
    return { x: xBuf, target: tBuf, scored, T, dIn, dOut, n, b0, b1, fill };
  };

  let pool: Pool | undefined;
  if (shared && threads > 1) {
    const tensors = Object.entries(params.tensors).map(([name, t]) => {
      if (!(t.data instanceof Float32Array) || t.data.buffer !== shared.memory.buffer) throw new Error(`threads: tensor "${name}" is not in the shared memory`);
      return { name, shape: [...t.shape], offset: t.data.byteOffset };
    });
    const work = {
      family: family.name, config: params.config, task: { name: data.task.name, config: data.config, setup: data.setup }, tensors, layout,
      gradOffset: gFlat.byteOffset, xOffset: xBuf.byteOffset, xLength: xBuf.length, targetOffset: tBuf.byteOffset, targetLength: tBuf.length,
      batch: B, T, dIn, dOut, shards,
    };
    pool = startPool(shared, k, work, threads, (t) => threadShards(shards, threads, t));
  }
  const [, mainLast] = threadShards(shards, threads, 0);
  let closed = false;

  return {
    shards,
    threads,
    note: spec.kernels.note || (spec.threads > threads ? `threads: running on ${threads}` : ""),
    kernels: spec.kernels.build,
    step(batch: Batch): ShardStepResult {
      if (closed) throw new Error("training step: the trainer's threads were closed");
      const [bb, tt] = batch.x.shape;
      if (bb !== B || tt !== T) throw new Error(`training step: batch is [${batch.x.shape.join(", ")}], the trainer was set up for [${B}, ${T}, ${dIn}]`);
      const S = batch.scored.length;
      const n = B * S * dOut;
      xBuf.set(batch.x.data);
      tBuf.set(batch.target.subarray(0, n));
      if (pool) pool.start(batch.scored);
      for (let s = 0; s < mainLast; s++) sse[s] = runShard(family, params, k, input(s, batch.scored, n), gViews[s]);
      if (pool) pool.wait(sse, mainLast);
      let total = 0;
      for (let s = 0; s < shards; s++) total += sse[s];
      for (let s = 1; s < shards; s++) k.add(gFlat, gFlat, gFlat.subarray(s * layout.P, (s + 1) * layout.P), layout.P);
      return { sse: total, n, grads: sum };
    },
    close(): void {
      closed = true;
      pool?.close();
    },
  };
}
