/**
 * A training worker thread (Node worker_threads; started by src/train/pool.ts): instantiates the shared fast kernels
 * over the trainer's shared memory with its own arena, then loops: wait for the main thread's generation counter
 * (spinning d.spinMs before sleeping), run its shards (their targets through the task's per-shard step, then forward,
 * loss, backward, gradients into its shard buffers), publish "done". Errors are written into the control block (the
 * main thread is blocked in Atomics.wait and reads them from there).
 */
import { workerData } from "node:worker_threads";
import { workerKernels } from "../kernels/factory.ts";
import { getFamily } from "../models/registry.ts";
import type { Params } from "../models/types.ts";
import { getTask } from "../tasks/registry.ts";
import type { Tensor } from "../tensor.ts";
import { numel } from "../tensor.ts";
import type { WorkerInit } from "./pool.ts";
import { CMD_EXIT, CTRL, ERR_BYTES, spinWhile } from "./pool.ts";
import { gradViews, runShard, shardBounds, targetFill } from "./shards.ts";

const d = workerData as WorkerInit;
const buf = d.shared.memory.buffer as unknown as SharedArrayBuffer;
const ctrl = new Int32Array(buf, d.ctrlOffset, CTRL.SCORED + d.T);
const errBytes = new Uint8Array(buf, d.errOffset + d.index * ERR_BYTES, ERR_BYTES);
const encoder = new TextEncoder();

/** Writes `msg` (truncated to ERR_BYTES) into this worker's error slot. */
function report(e: unknown): void {
  const msg = e instanceof Error ? e.message : String(e);
  const bytes = encoder.encode(msg).subarray(0, ERR_BYTES);
  errBytes.set(bytes);
  Atomics.store(ctrl, CTRL.ERR + d.index, Math.max(1, bytes.length));
}

try {
  const k = workerKernels(d.shared, d.index + 1);
  const family = getFamily(d.family);
  const tensors: Record<string, Tensor> = {};
  for (const t of d.tensors) tensors[t.name] = { shape: t.shape, data: new Float32Array(buf, t.offset, numel(t.shape)) };
  const params: Params = { family: d.family, config: d.config, tensors };
  const gFlat = new Float32Array(buf, d.gradOffset, d.shards * d.layout.P);
  const x = new Float32Array(buf, d.xOffset, d.xLength);
  const target = new Float32Array(buf, d.targetOffset, d.targetLength);
  const sseOut = new Float64Array(buf, d.sseOffset, d.shards);
  const grads = Array.from({ length: d.shards }, (_, s) => gradViews(gFlat, d.layout, s));
  const fill = targetFill(getTask(d.task.name), d.task.config, d.task.setup);
  let seen = Atomics.load(ctrl, CTRL.GEN); // before READY: the main thread bumps GEN only once every worker is ready
  Atomics.store(ctrl, CTRL.READY + d.index, 1);
  Atomics.notify(ctrl, CTRL.READY + d.index);
  for (;;) {
    if (spinWhile(ctrl, CTRL.GEN, seen, d.spinMs) === seen) Atomics.wait(ctrl, CTRL.GEN, seen);
    const gen = Atomics.load(ctrl, CTRL.GEN);
    if (gen === seen) continue;
    seen = gen;
    if (Atomics.load(ctrl, CTRL.CMD) === CMD_EXIT) break;
    try {
      const S = Atomics.load(ctrl, CTRL.S);
      const scored = ctrl.slice(CTRL.SCORED, CTRL.SCORED + S);
      const n = d.batch * S * d.dOut;
      for (let s = d.first; s < d.last; s++) {
        const [b0, b1] = shardBounds(d.batch, d.shards, s);
        sseOut[s] = runShard(family, params, k, { x, target, scored, T: d.T, dIn: d.dIn, dOut: d.dOut, n, b0, b1, fill }, grads[s]);
      }
    } catch (e) {
      report(e);
    }
    Atomics.store(ctrl, CTRL.DONE + d.index, gen);
    Atomics.notify(ctrl, CTRL.DONE + d.index);
  }
} catch (e) {
  report(e);
}
