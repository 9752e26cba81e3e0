/**
 * The training step's forward + loss + backward, sharded over the batch: the B sequences are cut into S contiguous
 * shards (S = shardCount: 2, or more when the model's cached activations would not fit in cache, and at least the
 * thread count; e.g. 8 for the paper's teacher-student gated RNN), each shard's gradients go to their own buffers,
 * and the sum is taken in shard order, ((G_0 + G_1) + G_2) + ..., whether the shards ran on one thread or several.
 * So 1 and 2 threads give bit-identical training, and the reference kernels run the very same code (sequentially).
 *
 * Threads (`threads > 1`, fast kernels, Node >= 20.16): the main thread plus `threads - 1` worker_threads
 * (src/train/worker.ts) over one shared WebAssembly.Memory (build/kernels-shared.wasm). Parameters, the batch, the
 * per-shard gradient buffers and a control block live in that memory; each thread has its own arena for activations.
 * A step is two Atomics barriers: the main thread bumps a generation counter (workers wake and compute their shards),
 * computes its own shards, then waits for every worker's "done" word; both sides spin on Atomics.load for a short
 * while (SPIN_MS) before sleeping in Atomics.wait, since a sleeping thread takes ~0.1-0.3 ms to wake. When the
 * task splits its batches (Task.split: teacher-student), the engine can take a batch without targets and every
 * shard computes its own targets from x first, on the thread that runs it. Where threads are unavailable (a browser
 * without cross-origin isolation, older Node, the reference backend) the engine runs every shard on the calling
 * thread and says so in `note`.
 *
 * Platform-neutral: Node modules are reached through `process.getBuiltinModule` only when threads are asked for.
 */
import { createFastKernelsSync } from "../kernels/fast.ts";
import type { Kernels } from "../kernels/types.ts";
import type { ModelFamily, Params } from "../models/types.ts";
import { getTask } from "../tasks/registry.ts";
import type { Batch, Task } from "../tasks/types.ts";
import type { DType, Float } from "../tensor.ts";

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

/**
 * Squared-error sum of one shard, Σ_{b,s,j} (y[b,scored s,j] - target[b,s,j])² over y [Bs, T, dOut] and target
 * [Bs, S, dOut], writing dL/dy = (y - target)/n into dy [Bs, T, dOut] (zero at unscored steps), n = the whole batch's
 * B·S·dOut, so L = ½ Σ_shards sse / n is the 1/2-MSE of CONVENTIONS.md (what `mseLoss` computes on the whole batch).
 */
export function shardLoss(y: Float, target: Float, scored: ArrayLike<number>, Bs: number, T: number, dOut: number, n: number, dy: Float): number {
  const S = scored.length;
  dy.fill(0);
  let sum = 0;
  for (let b = 0; b < Bs; b++) {
    for (let si = 0; si < S; si++) {
      const yo = (b * T + scored[si]) * dOut;
      const to = (b * S + si) * dOut;
      for (let j = 0; j < dOut; j++) {
        const e = y[yo + j] - target[to + j];
        sum += e * e;
        dy[yo + j] = e / n;
      }
    }
  }
  return sum;
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
  /** When given: fills target rows [b0, b1) from x first (Task.split's targets), before the forward pass. */
  fill?: (x: Float, target: Float, b0: number, b1: number) => void;
}

/**
 * One shard's forward, loss and backward on kernels k: sequences [b0, b1) of the batch (their targets filled first
 * when s.fill is given), gradients copied into `out` (by the family's tensor names, same sizes) and the shard's
 * squared-error sum returned (see shardLoss). Activations live between k.mark() and k.release().
 */
export function runShard(family: ModelFamily, params: Params, k: Kernels, s: ShardInput, out: Record<string, Float>): number {
  const Bs = s.b1 - s.b0;
  const S = s.scored.length;
  if (s.fill) s.fill(s.x, s.target, s.b0, s.b1);
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

/** What a step returns: the batch's squared-error sum and n (L = ½ sse / n) and the summed gradients (views). */
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
  /** Whether step(batch, true) is available: the spec's task splits its batches (EngineSpec.targets). */
  readonly shardTargets: boolean;
  /**
   * Forward, loss and backward of `batch` over every shard; gradients summed in shard order. With `ownTargets`
   * (needs shardTargets) batch.target is not read: each shard's thread computes its targets from x first
   * (Task.split's targets), which gives the same numbers as a full batch from Task.batch.
   */
  step(batch: Batch, ownTargets?: boolean): ShardStepResult;
  /** Stops the worker threads (the engine cannot step afterwards). */
  close(): void;
}

/** What createShardEngine needs: the kernels (from kernelsForThreads), the model, fixed batch dims, threads. */
export interface EngineSpec {
  k: Kernels;
  family: ModelFamily;
  params: Params;
  batch: number;
  T: number;
  dIn: number;
  dOut: number;
  threads: number;
  /** Carried into the engine's `note` (kernelsForThreads' note). */
  note?: string;
  /** Carried into the engine's `kernels` (kernelsForThreads' build). */
  build?: string;
  /** The trainer's task, its config, setup and batch dtype: enables step(batch, true) when the task has a split. */
  targets?: ShardTargets;
}

/** A task whose shards may compute their own targets (Task.split), with what its targets() needs. */
export interface ShardTargets {
  task: Task;
  config: unknown;
  setup: unknown;
  /** The batches' dtype (targets are rounded to it). */
  dtype: DType;
}

// ------------------------------------------------------------------------------------------ shared memory, threads

/** Control block (Int32 words) shared with the workers. */
export const CTRL = {
  GEN: 0, // step generation: bumped by the main thread to start a step
  CMD: 1, // 1 = step, 2 = exit
  S: 2, // scored steps this batch
  FILL: 3, // 1 = every shard computes its targets from x (Task.split) this step
  DONE: 8, // + worker index: the generation the worker finished
  READY: 8 + 64, // + worker index: 1 once the worker is running
  ERR: 8 + 128, // + worker index: byte length of its error message (0 = none)
  SCORED: 8 + 192, // scored time steps (T words)
} as const;
/** Bytes of error text per worker. */
export const ERR_BYTES = 1024;
/** ctrl[CMD]: run a step. */
export const CMD_STEP = 1;
/** ctrl[CMD]: leave the loop (the worker exits). */
export const CMD_EXIT = 2;
/** Most worker threads (the control block's size). */
export const MAX_THREADS = 64;

/** What a worker is started with (structured-cloned into it). */
export interface WorkerInit {
  index: number;
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  arena: { start: number; end: number };
  family: string;
  config: unknown;
  /** The task (registry name) whose split computes the shards' targets, its config and setup (structured-cloned). */
  task?: { name: string; config: unknown; setup: unknown };
  /** Model tensors: name, shape, byte offset in the memory. */
  tensors: { name: string; shape: number[]; offset: number }[];
  layout: GradLayout;
  gradOffset: number;
  xOffset: number;
  xLength: number;
  targetOffset: number;
  targetLength: number;
  sseOffset: number;
  ctrlOffset: number;
  errOffset: number;
  batch: number;
  T: number;
  dIn: number;
  dOut: number;
  shards: number;
  first: number;
  last: number;
  /** Milliseconds to spin before sleeping while waiting for the next step (SPIN_MS, or 0 when threads > cores). */
  spinMs: number;
}

interface SharedInfo {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  regions: { start: number; end: number }[];
}
const sharedInfo = new WeakMap<Kernels, SharedInfo>();
let trainerModule: { module: WebAssembly.Module; build: string } | undefined;

type NodeRequire = (id: string) => any;
/** Node's built-in modules without a static import (undefined outside Node >= 20.16). */
function builtin(): NodeRequire | undefined {
  const p = (globalThis as { process?: { getBuiltinModule?: NodeRequire } }).process;
  return typeof p?.getBuiltinModule === "function" ? p.getBuiltinModule.bind(p) : undefined;
}

/** Per-thread arena bytes: 256 MiB each (untouched pages cost no memory), within the 4 GiB wasm32 limit. */
function regionBytes(threads: number): number {
  const cap = Math.floor((4096 * 1024 * 1024 - 2 * 65536) / threads / 65536) * 65536;
  return Math.min(256 * 1024 * 1024, cap);
}

/**
 * The compiled shared-memory kernels the trainer runs on (cached): build/kernels-relaxed-shared.wasm (fused
 * multiply-add through relaxed SIMD) when it was built and this engine accepts it (Node 20 after enabling V8's
 * --experimental-wasm-relaxed-simd, which this turns on; newer engines ship it), else build/kernels-shared.wasm.
 */
function trainerWasm(req: NodeRequire): { module: WebAssembly.Module; build: string } {
  if (trainerModule) return trainerModule;
  const fs = req("node:fs");
  const url = req("node:url");
  const path = (name: string): string => url.fileURLToPath(new URL(`../../build/${name}`, import.meta.url));
  const relaxed = path("kernels-relaxed-shared.wasm");
  if (fs.existsSync(relaxed)) {
    const bytes = fs.readFileSync(relaxed);
    try {
      if (!WebAssembly.validate(bytes)) req("node:v8").setFlagsFromString("--experimental-wasm-relaxed-simd");
      if (WebAssembly.validate(bytes)) trainerModule = { module: new WebAssembly.Module(bytes), build: "kernels-relaxed-shared.wasm" };
    } catch {
      trainerModule = undefined; // no relaxed SIMD here: the plain build below
    }
  }
  trainerModule ??= { module: new WebAssembly.Module(fs.readFileSync(path("kernels-shared.wasm"))), build: "kernels-shared.wasm" };
  return trainerModule;
}

/**
 * The kernels a trainer computes on, for `threads` threads. On the fast backend (in Node >= 20.16): a fresh fast-f32
 * instance of the trainer build (trainerWasm) over a new shared memory whose first arena is the calling thread's
 * and the others the workers' — for 1 thread too, so that 1 and 2 threads run the same instructions and give the
 * same numbers. Otherwise (reference backend, no shared memory) `k` itself on 1 thread, with a note when more were
 * asked for.
 */
export function kernelsForThreads(k: Kernels, threads: number): { k: Kernels; threads: number; note: string; build: string } {
  if (threads > MAX_THREADS) throw new Error(`threads: at most ${MAX_THREADS}, got ${threads}`);
  const one = (note: string) => ({ k, threads: 1, note: threads > 1 ? note : "", build: k.name });
  if (k.name !== "fast-f32") return one(`threads: the ${k.name} backend runs on 1 thread (the results are the same)`);
  const req = builtin();
  if (!req || typeof SharedArrayBuffer === "undefined") return one("threads: worker threads are not available here; running on 1 thread");
  try {
    const { module, build } = trainerWasm(req);
    const per = regionBytes(threads);
    const pages = (65536 + per * threads + 65536) / 65536;
    const memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
    const regions = Array.from({ length: threads }, (_, t) => ({ start: 65536 + t * per, end: 65536 + (t + 1) * per }));
    const main = createFastKernelsSync(module, { memory, arena: regions[0] });
    sharedInfo.set(main, { module, memory, regions });
    return { k: main, threads, note: "", build };
  } catch (e) {
    return one(`threads: cannot set up shared-memory kernels (${(e as Error).message}); running on 1 thread`);
  }
}

/** The URL of the worker script next to this file (worker.ts under tsx, worker.js once compiled). */
function workerUrl(): URL {
  return new URL(import.meta.url.endsWith(".ts") ? "./worker.ts" : "./worker.js", import.meta.url);
}

type WorkerCtor = new (what: string | URL, opts: { eval?: boolean; workerData: unknown }) => { terminate(): Promise<number>; unref(): void };

/** The import of tsx's API (ESM) for a worker, when this module can resolve it. */
function tsxApi(): string | undefined {
  try {
    return `import(${JSON.stringify(import.meta.resolve("tsx/esm/api"))})`;
  } catch {
    return undefined; // then Node loads worker.ts itself (type stripping) or reports why not
  }
}

/**
 * Starts worker.js (compiled) or worker.ts (sources; tsx's hooks do not reach worker threads on Node 20, so it is
 * imported through tsx's API) from a tiny eval'd bootstrap that writes a load failure into the worker's error slot:
 * the main thread, blocked in Atomics.wait, sees it at once instead of timing out.
 */
function spawnWorker(Worker: WorkerCtor, init: WorkerInit): { terminate(): Promise<number>; unref(): void } {
  const url = workerUrl().href;
  const api = url.endsWith(".ts") ? tsxApi() : undefined;
  const load = api ? `${api}.then((m) => m.tsImport(${JSON.stringify(url)}, ${JSON.stringify(url)}))` : `import(${JSON.stringify(url)})`;
  const slot = (CTRL.ERR + init.index) * 4;
  const code =
    `const { workerData: d } = require("node:worker_threads");\n` +
    `${load}.catch((e) => {\n` +
    `  const b = new TextEncoder().encode(String((e && e.stack) || e)).subarray(0, ${ERR_BYTES});\n` +
    `  new Uint8Array(d.memory.buffer, d.errOffset + d.index * ${ERR_BYTES}, ${ERR_BYTES}).set(b);\n` +
    `  const c = new Int32Array(d.memory.buffer, d.ctrlOffset + ${slot}, 1);\n` +
    `  Atomics.store(c, 0, Math.max(1, b.length));\n` +
    `  Atomics.notify(c, 0);\n` +
    `});\n`;
  return new Worker(code, { eval: true, workerData: init });
}

/** Milliseconds the main thread waits for a worker (start-up or one step) before giving up. */
const WORKER_TIMEOUT_MS = 120_000;

/**
 * Milliseconds a thread spins on Atomics.load before sleeping in Atomics.wait (the main thread waiting for the
 * workers' "done", a worker waiting for the next step): the gaps within a step are ~0.1-0.5 ms, and waking a
 * sleeping thread costs ~0.07-0.3 ms. No spinning when there are more threads than cores (a spinning thread would
 * take a core from one that computes).
 */
export const SPIN_MS = 1;

/**
 * Spins while Atomics.load(a, i) === value (or, with `until`, while it !== value) for at most `ms` milliseconds (not
 * at all for ms <= 0) and while stop() (checked every 256 loads) is false; returns the last value loaded. The caller
 * still sleeps in Atomics.wait when the spin ran out, so a wake-up is never lost.
 */
export function spinWhile(a: Int32Array, i: number, value: number, ms: number, until = false, stop?: () => boolean): number {
  let v = Atomics.load(a, i);
  if ((v === value) === until || ms <= 0) return v;
  const end = performance.now() + ms;
  for (let n = 1; ; n++) {
    v = Atomics.load(a, i);
    if ((v === value) === until) return v;
    if ((n & 255) === 0 && (performance.now() > end || stop?.())) return v;
  }
}

/**
 * The sharded step for a trainer: persistent batch and gradient buffers in k's memory, and (when k came from
 * kernelsForThreads with threads > 1) the worker threads.
 */
export function createShardEngine(spec: EngineSpec): ShardEngine {
  const { k, family, params, batch: B, T, dIn, dOut } = spec;
  const info = sharedInfo.get(k);
  const threads = info ? Math.min(spec.threads, info.regions.length) : 1;
  const rowFloats = family.cachedFloatsPerRow?.(params.config) ?? 0;
  const shards = shardCount(threads, B, T * rowFloats * 4);
  const layout = gradLayout(params);
  const xBuf = k.alloc(B * T * dIn);
  const tBuf = k.alloc(B * T * dOut);
  const gFlat = k.alloc(shards * layout.P);
  const gViews = Array.from({ length: shards }, (_, s) => gradViews(gFlat, layout, s));
  const sum = gViews[0];
  const sse = new Float64Array(shards);
  // shards compute their own targets: the task splits its batches and the target buffer rounds as the batch dtype does
  const split = spec.targets?.task.split;
  let fill: ShardInput["fill"];
  if (spec.targets && split && (tBuf instanceof Float32Array) === (spec.targets.dtype === "f32")) {
    const { config, setup } = spec.targets;
    fill = (x, target, b0, b1) => split.targets(config, setup, x, target, b0, b1);
  }
  const input = (s: number, scored: ArrayLike<number>, n: number, own: boolean): ShardInput => {
    const [b0, b1] = shardBounds(B, shards, s);
    return { x: xBuf, target: tBuf, scored, T, dIn, dOut, n, b0, b1, fill: own ? fill : undefined };
  };

  let pool: Pool | undefined;
  if (info && threads > 1) {
    let task: WorkerInit["task"];
    if (fill && spec.targets) {
      // the workers look the task up by name and get its config and setup by structured clone
      const { task: t, config, setup } = spec.targets;
      try {
        if (getTask(t.name) !== t) throw new Error("not the registry's task");
        structuredClone({ config, setup });
        task = { name: t.name, config, setup };
      } catch {
        fill = undefined; // the shards get their targets from the batch then
      }
    }
    pool = startPool(info, spec, layout, { xBuf, tBuf, gFlat }, shards, threads, task);
  }
  const [, mainLast] = threadShards(shards, threads, 0);
  let closed = false;

  return {
    shards,
    threads,
    note: spec.note ?? (spec.threads > threads ? `threads: running on ${threads}` : ""),
    kernels: spec.build ?? k.name,
    shardTargets: fill !== undefined,
    step(batch: Batch, ownTargets = false): ShardStepResult {
      if (closed) throw new Error("training step: the trainer's threads were closed");
      if (ownTargets && !fill) throw new Error("training step: this trainer's task cannot compute targets per shard");
      const [bb, tt] = batch.x.shape;
      if (bb !== B || tt !== T) throw new Error(`training step: batch is [${batch.x.shape.join(", ")}], the trainer was set up for [${B}, ${T}, ${dIn}]`);
      const S = batch.scored.length;
      const n = B * S * dOut;
      xBuf.set(batch.x.data);
      if (!ownTargets) tBuf.set(batch.target.subarray(0, B * S * dOut));
      if (pool) pool.start(batch.scored, ownTargets);
      for (let s = 0; s < mainLast; s++) sse[s] = runShard(family, params, k, input(s, batch.scored, n, ownTargets), gViews[s]);
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

interface Pool {
  /** Starts a step on the workers (`fill`: their shards compute their own targets). */
  start(scored: ArrayLike<number>, fill: boolean): void;
  /** Waits for every worker; copies their shards' squared-error sums into sse[from..]. */
  wait(sse: Float64Array, from: number): void;
  close(): void;
}

function byteOffset(a: Float): number {
  return a.byteOffset;
}

function startPool(
  info: SharedInfo, spec: EngineSpec, layout: GradLayout, bufs: { xBuf: Float; tBuf: Float; gFlat: Float },
  shards: number, threads: number, task?: WorkerInit["task"],
): Pool {
  const { k, params } = spec;
  const req = builtin()!;
  const { Worker } = req("node:worker_threads");
  const W = threads - 1;
  const os = req("node:os");
  const spinMs = threads <= (typeof os.availableParallelism === "function" ? os.availableParallelism() : os.cpus().length) ? SPIN_MS : 0;
  const ctrlF = k.alloc(CTRL.SCORED + spec.T + 16);
  const ctrl = new Int32Array(info.memory.buffer, byteOffset(ctrlF), CTRL.SCORED + spec.T);
  const sseF = k.alloc(2 * shards + 16);
  const sseOffset = Math.ceil(byteOffset(sseF) / 8) * 8;
  const sseShared = new Float64Array(info.memory.buffer, sseOffset, shards);
  const errF = k.alloc((W * ERR_BYTES) / 4);
  const errBytes = new Uint8Array(info.memory.buffer, byteOffset(errF), W * ERR_BYTES);
  const tensors = Object.entries(params.tensors).map(([name, t]) => {
    if (!(t.data instanceof Float32Array) || t.data.buffer !== info.memory.buffer) throw new Error(`threads: tensor "${name}" is not in the shared memory`);
    return { name, shape: [...t.shape], offset: t.data.byteOffset };
  });
  const workers: { terminate(): Promise<number>; unref(): void }[] = [];
  for (let w = 0; w < W; w++) {
    const [first, last] = threadShards(shards, threads, w + 1);
    const init: WorkerInit = {
      index: w, module: info.module, memory: info.memory, arena: info.regions[w + 1],
      family: spec.family.name, config: params.config, task, tensors, layout,
      gradOffset: byteOffset(bufs.gFlat), xOffset: byteOffset(bufs.xBuf), xLength: bufs.xBuf.length,
      targetOffset: byteOffset(bufs.tBuf), targetLength: bufs.tBuf.length, sseOffset, ctrlOffset: byteOffset(ctrlF),
      errOffset: byteOffset(errF), batch: spec.batch, T: spec.T, dIn: spec.dIn, dOut: spec.dOut, shards, first, last, spinMs,
    };
    const worker = spawnWorker(Worker, init);
    worker.unref();
    workers.push(worker);
  }
  let gen = 0;
  let ready = false;
  const decoder = new TextDecoder();

  const failure = (w: number): Error | undefined => {
    const len = Atomics.load(ctrl, CTRL.ERR + w);
    if (len === 0) return undefined;
    const msg = decoder.decode(errBytes.slice(w * ERR_BYTES, w * ERR_BYTES + len));
    Atomics.store(ctrl, CTRL.ERR + w, 0);
    return new Error(`worker thread ${w + 1}: ${msg}`);
  };
  /** Blocks until ctrl[slot] === want (or a worker reports an error), spinning spinMs first; throws after the timeout. */
  const waitFor = (slot: number, want: number, w: number, what: string): void => {
    if (spinWhile(ctrl, slot, want, spinMs, true, () => Atomics.load(ctrl, CTRL.ERR + w) !== 0) === want) return;
    const t0 = Date.now();
    for (;;) {
      const v = Atomics.load(ctrl, slot);
      if (v === want) return;
      const err = failure(w);
      if (err) throw err;
      if (Date.now() - t0 > WORKER_TIMEOUT_MS) throw new Error(`worker thread ${w + 1} did not ${what} within ${WORKER_TIMEOUT_MS / 1000} s`);
      Atomics.wait(ctrl, slot, v, 1000);
    }
  };

  return {
    start(scored, fill) {
      if (!ready) {
        for (let w = 0; w < W; w++) waitFor(CTRL.READY + w, 1, w, "start");
        ready = true;
      }
      Atomics.store(ctrl, CTRL.FILL, fill ? 1 : 0);
      Atomics.store(ctrl, CTRL.S, scored.length);
      for (let i = 0; i < scored.length; i++) ctrl[CTRL.SCORED + i] = scored[i];
      Atomics.store(ctrl, CTRL.CMD, CMD_STEP);
      gen = (gen + 1) | 0;
      Atomics.store(ctrl, CTRL.GEN, gen);
      Atomics.notify(ctrl, CTRL.GEN);
    },
    wait(sse, from) {
      let err: Error | undefined;
      for (let w = 0; w < W; w++) {
        try {
          waitFor(CTRL.DONE + w, gen, w, "finish a step");
        } catch (e) {
          err ??= e as Error;
        }
        err ??= failure(w);
      }
      if (err) throw err;
      for (let s = from; s < shards; s++) sse[s] = sseShared[s];
    },
    close() {
      Atomics.store(ctrl, CTRL.CMD, CMD_EXIT);
      gen = (gen + 1) | 0;
      Atomics.store(ctrl, CTRL.GEN, gen);
      Atomics.notify(ctrl, CTRL.GEN);
      for (const w of workers) void w.terminate();
    },
  };
}
