/**
 * The batched CPU run group: R runs of one shape over one flat layout (llm.c style) and one kernel call per kernel
 * per shard for all R runs, for families that accept run groups (`ModelFamily.runs`: Params with runs = R).
 *
 * Layout: every model tensor, its trained form, gradient and AdamW moments is one buffer [R, numel] (run r's slice at
 * r·numel), so a family's kernels see R problems back to back. A step draws each run's inputs from its own data
 * stream (Task.inputs), then for each shard of the batch (the shard count a run alone uses, shardCount with the
 * run's threads) fills each run's targets from its own teacher (Task.targets), gathers the shard's rows of the runs
 * into [R·Bs, T, d_in], runs forward, the loss (loss.ts, per run over the run's rows) and backward once for all of them
 * (or per chunk of runs when R runs' activations would not fit in SHARD_BYTES of cache: the family's
 * cachedFloatsPerRow, else the bytes one run's forwardCached keeps, measured once), and sums the shards'
 * gradients in shard order. Per run: the family's chain rule, AdamW with the run's own lr
 * schedule, weight decay and epsilon (adamwUpdate on the run's views), the model tensors from their trained form.
 * Every run computes exactly what it computes alone (same draws, shards, kernel build and summation order): tested
 * bit for bit against createTrainer. One thread: the shards of a group run on the calling thread.
 */
import { InputError } from "../errors.ts";
import { trainingKernels } from "../kernels/factory.ts";
import type { Kernels } from "../kernels/types.ts";
import { trainedFormOf } from "../models/common.ts";
import type { Params } from "../models/types.ts";
import { Rng } from "../rng.ts";
import type { Batch } from "../tasks/types.ts";
import type { Float, Tensor } from "../tensor.ts";
import { allocFloat, numel } from "../tensor.ts";
import type { AdamWConfig, AdamWState } from "./adamw.ts";
import { adamwUpdate } from "./adamw.ts";
import type { Advanced, GroupTrainer, RunSnapshot } from "./group.ts";
import { checkGroup, GroupDivergedError } from "./group.ts";
import type { RunStart, TrainConfig } from "./loop.ts";
import { adamConfig, startRun } from "./loop.ts";
import { lossFromSse, mseLoss, shardLoss } from "./loss.ts";
import { SHARD_BYTES, shardBounds, shardCount } from "./shards.ts";

/**
 * A batched GroupTrainer for `cfgs` (equal groupKey; a family with `runs`), on the trainer build of `kernels`
 * (trainingKernels with 1 thread: the build a run alone computes with), restored from snapshots[r] when given.
 */
export function createBatchedGroup(cfgs: readonly TrainConfig[], kernels: Kernels, snapshots: readonly (RunSnapshot | undefined)[] = []): GroupTrainer {
  checkGroup(cfgs);
  const R = cfgs.length;
  const cfg = cfgs[0];
  const starts: RunStart[] = cfgs.map((c) => startRun(c));
  const { task, family, config, dims: { dIn, dOut, T } } = starts[0];
  if (!family.runs) throw new Error(`run group: the ${family.name} family does not train as a batched group yet`);
  const tk = trainingKernels(kernels, 1);
  const { k } = tk;
  const form = trainedFormOf(family, config);
  const B = cfg.batch;

  // the group's buffers: model tensors, trained tensors, moments, each [R, numel]
  const sizes: Record<string, number> = {};
  const tensors: Record<string, Tensor> = {};
  const trainable: Record<string, Float> = {};
  const m: Record<string, Float> = {};
  const v: Record<string, Float> = {};
  for (const [name, t] of Object.entries(starts[0].init.tensors)) {
    const n = numel(t.shape);
    const re = form.reparams[name];
    const tname = re ? re.name : name;
    const buf = k.alloc(R * n);
    sizes[tname] = n;
    starts.forEach((st, r) => {
      const src = st.init.tensors[name].data;
      const dst = buf.subarray(r * n, (r + 1) * n);
      if (re) re.toTrained(dst, src);
      else dst.set(src);
    });
    tensors[name] = { shape: [...t.shape], data: re ? k.alloc(R * n) : buf };
    trainable[tname] = buf;
    m[tname] = k.alloc(R * n);
    v[tname] = k.alloc(R * n);
  }
  const view = (bufs: Record<string, Float>, r: number): Record<string, Float> => {
    const out: Record<string, Float> = {};
    for (const [name, b] of Object.entries(bufs)) out[name] = b.subarray(r * sizes[name], (r + 1) * sizes[name]);
    return out;
  };
  const states: AdamWState[] = Array.from({ length: R }, (_, r) => ({ step: 0, m: view(m, r), v: view(v, r) }));
  const runTrainable = Array.from({ length: R }, (_, r) => view(trainable, r));
  const dataRngs: Rng[] = starts.map((st) => st.dataRng);
  snapshots.forEach((snap, r) => {
    if (!snap) return;
    if (!snap.rng) throw new Error(`run ${r}: its checkpoint has no data-stream state (was it trained on another device?)`);
    for (const [name, buf] of Object.entries(runTrainable[r])) {
      for (const [what, src] of [["parameter", snap.trainable], ["adam_m", snap.m], ["adam_v", snap.v]] as const) {
        const s = src[name];
        if (!s || s.length !== buf.length) throw new InputError(`checkpoint of run ${r}: ${what} "${name}" is missing or has the wrong size`);
      }
      buf.set(snap.trainable[name]);
      states[r].m[name].set(snap.m[name]);
      states[r].v[name].set(snap.v[name]);
    }
    states[r].step = snap.step;
    dataRngs[r] = Rng.fromState(snap.rng);
  });
  if (new Set(states.map((s) => s.step)).size > 1) throw new Error(`run group: the runs' checkpoints are at different steps; resume them in separate groups`);
  const adams: AdamWConfig[] = cfgs.map((c) => adamConfig(c, form));
  const params: Params = { family: family.name, config, tensors, runs: R };
  const syncModel = () => {
    for (const [name, re] of Object.entries(form.reparams)) re.fromTrained(tensors[name].data, trainable[re.name]);
  };
  syncModel();
  /** Runs [r0, r1) of the group as one Params (views into the group's buffers). */
  const runsParams = (r0: number, r1: number): Params => {
    const ts: Record<string, Tensor> = {};
    for (const [name, t] of Object.entries(tensors)) {
      const n = numel(t.shape);
      ts[name] = { shape: t.shape, data: t.data.subarray(r0 * n, r1 * n) };
    }
    return { family: family.name, config, tensors: ts, runs: r1 - r0 };
  };
  const runParams = (r: number): Params => ({ ...runsParams(r, r + 1), runs: undefined });

  // the step's buffers: every run's batch, the shards' gradients (model tensor names, [R, numel] each)
  const rowFloats = family.cachedFloatsPerRow?.(config) ?? 0;
  const shards = shardCount(cfg.threads, B, T * rowFloats * 4);
  // runs per chunk: from the family's cachedFloatsPerRow, else measured on the first chunk (one run: the bytes its
  // forwardCached keeps); an LSTM group of 8 at hidden 24 kept 8x a run's ~0.7 MB and stepped 15 % slower per run
  const runsFitting = (bytesPerRun: number) => Math.max(1, Math.min(R, Math.floor(SHARD_BYTES / Math.max(1, bytesPerRun))));
  let chunkRuns = rowFloats ? runsFitting(Math.ceil(B / shards) * T * rowFloats * 4) : 0;
  const names = Object.keys(tensors);
  const gradLen = (name: string) => R * numel(tensors[name].shape);
  const gShard = Array.from({ length: shards }, () => Object.fromEntries(names.map((name) => [name, k.alloc(gradLen(name))])) as Record<string, Float>);
  const xAll = k.alloc(R * B * T * dIn);
  // the targets round as the batch dtype does (a kernels' buffer when it has that type)
  const tAll = k.dtype === cfg.dtype ? k.alloc(R * B * T * dOut) : allocFloat(cfg.dtype, R * B * T * dOut);
  const sse = new Float64Array(shards * R);

  return {
    cfgs,
    device: `cpu: ${tk.build}, 1 thread, batched group of ${R}`,
    note: cfgs.some((c) => c.threads > 1) ? "threads: a batched run group steps on 1 thread (the results are the same)" : "",
    get step() {
      return states[0].step;
    },
    chunk: 1,
    async advance(nSteps: number): Promise<Advanced> {
      const lossSum = new Float64Array(R);
      const lr = new Float64Array(R);
      for (let it = 0; it < nSteps; it++) {
        // each run's inputs from its own stream
        let scored: number[] = [];
        for (let r = 0; r < R; r++) {
          const b: Batch = task.inputs(dataRngs[r], cfgs[r].task_config, starts[r].setup, B, cfg.dtype);
          scored = b.scored;
          xAll.set(b.x.data, r * B * T * dIn);
          tAll.set(b.target.subarray(0, B * b.scored.length * dOut), r * B * T * dOut);
        }
        const S = scored.length;
        const n = B * S * dOut;
        for (let s = 0; s < shards; s++) {
          const [b0, b1] = shardBounds(B, shards, s);
          const Bs = b1 - b0;
          for (let r = 0; r < R; r++) {
            const xr = xAll.subarray(r * B * T * dIn, (r + 1) * B * T * dIn);
            task.targets(cfgs[r].task_config, starts[r].setup, xr, tAll.subarray(r * B * T * dOut, (r + 1) * B * T * dOut), b0, b1, k);
          }
          // the shard's runs in chunks whose activations stay in cache (a run's numbers do not depend on its chunk)
          for (let r0 = 0; r0 < R; ) {
            const r1 = Math.min(R, r0 + (chunkRuns || 1));
            const Rc = r1 - r0;
            const mark = k.mark();
            try {
              const xs = k.allocUninit(Rc * Bs * T * dIn);
              for (let r = r0; r < r1; r++) xs.set(xAll.subarray((r * B + b0) * T * dIn, (r * B + b1) * T * dIn), (r - r0) * Bs * T * dIn);
              const p = runsParams(r0, r1);
              const { y, cache } = family.forwardCached!(p, { shape: [Rc * Bs, T, dIn], data: xs }, k);
              if (!chunkRuns) chunkRuns = runsFitting(floatBytes(cache) + y.byteLength);
              const dy = k.alloc(y.length);
              const per = Bs * T * dOut;
              for (let r = r0; r < r1; r++) {
                const target = tAll.subarray(r * B * T * dOut + b0 * S * dOut, r * B * T * dOut + b1 * S * dOut);
                const q = r - r0;
                sse[s * R + r] = shardLoss(y.subarray(q * per, (q + 1) * per), target, scored, Bs, T, dOut, n, dy.subarray(q * per, (q + 1) * per));
              }
              const { grads } = family.backward!(p, cache, dy, k);
              for (const name of names) {
                const g = grads[name];
                const len = numel(tensors[name].shape);
                if (!g || g.length !== Rc * len) throw new Error(`${family.name} backward: gradient "${name}" is missing or has the wrong size`);
                gShard[s][name].set(g, r0 * len);
              }
            } finally {
              k.release(mark);
            }
            r0 = r1;
          }
        }
        const sum = gShard[0];
        for (let s = 1; s < shards; s++) for (const name of names) k.add(sum[name], sum[name], gShard[s][name], gradLen(name));
        for (let r = 0; r < R; r++) {
          let total = 0;
          for (let s = 0; s < shards; s++) total += sse[s * R + r];
          const loss = lossFromSse(total, n);
          if (!Number.isFinite(loss)) throw new GroupDivergedError(r, states[r].step + 1, loss);
          lossSum[r] += loss;
        }
        // per run: the chain rule into the trained form, AdamW with the run's own schedule, decay and epsilon
        const g: Record<string, Float> = {};
        for (const name of names) {
          const re = form.reparams[name];
          if (re) re.chainRule(sum[name], trainable[re.name], tensors[name].data);
          g[re ? re.name : name] = sum[name];
        }
        for (let r = 0; r < R; r++) lr[r] = adamwUpdate(adams[r], states[r], runTrainable[r], view(g, r), k);
        syncModel();
      }
      return { lossSum, lr };
    },
    async evaluate() {
      return Float64Array.from(starts, (st, r) => {
        const p = runParams(r);
        let sum = 0;
        let count = 0;
        for (const b of st.validation) {
          const y = family.forward(p, b.x, k);
          sum += mseLoss(y.data, b, dOut) * b.x.shape[0];
          count += b.x.shape[0];
        }
        return sum / count;
      });
    },
    zeroPredictorLoss() {
      return Float64Array.from(starts, (st) => {
        let sum = 0;
        let count = 0;
        for (const b of st.validation) {
          const [Bv, Tv] = b.x.shape;
          sum += mseLoss(new Float64Array(Bv * Tv * dOut), b, dOut) * Bv;
          count += Bv;
        }
        return sum / count;
      });
    },
    artifacts(r: number) {
      return task.artifacts(starts[r].setup, cfgs[r].task_config);
    },
    async exportParams(r: number): Promise<Params> {
      const p = runParams(r);
      const ts: Record<string, Tensor> = {};
      for (const [name, t] of Object.entries(p.tensors)) {
        const data = allocFloat(cfg.dtype, t.data.length);
        data.set(t.data);
        ts[name] = { shape: [...t.shape], data };
      }
      return { family: family.name, config: structuredClone(config), tensors: ts };
    },
    async snapshot(r: number): Promise<RunSnapshot> {
      const copy = (bufs: Record<string, Float>) => Object.fromEntries(Object.entries(bufs).map(([name, b]) => [name, b.slice()]));
      return { step: states[r].step, trainable: copy(runTrainable[r]), m: copy(states[r].m), v: copy(states[r].v), rng: dataRngs[r].state() };
    },
    close() {
      // the group's buffers live in the trainer build's own memory (fast) or the caller's arena (reference)
    },
  };
}

/** Bytes of the float buffers an object holds (a forward cache: its typed arrays, nested objects included). */
function floatBytes(o: unknown): number {
  if (ArrayBuffer.isView(o)) return o.byteLength;
  if (o === null || typeof o !== "object") return 0;
  let sum = 0;
  for (const v of Object.values(o)) sum += floatBytes(v);
  return sum;
}
