/**
 * The worker pool of a trainer with threads > 1 (Node worker_threads, src/train/worker.ts): `threads - 1` workers
 * over the trainer's shared WebAssembly.Memory (src/kernels/factory.ts, trainingKernels), each with its own arena.
 * Parameters, the batch, the per-shard gradient buffers and a control block live in that memory. A step is two
 * Atomics barriers: the main thread bumps a generation counter (workers wake and run their shards), runs its own
 * shards, then waits for every worker's "done" word; both sides spin on Atomics.load for a short while (SPIN_MS)
 * before sleeping in Atomics.wait, since a sleeping thread takes ~0.1-0.3 ms to wake. A worker's error is written
 * into the control block, where the main thread (blocked in Atomics.wait) reads it at once.
 *
 * Platform-neutral to import: Node modules are reached through `process.getBuiltinModule` when a pool starts.
 */
import { MAX_THREADS, nodeBuiltin } from "../kernels/factory.ts";
import type { SharedKernels } from "../kernels/factory.ts";
import type { Kernels } from "../kernels/types.ts";
import type { GradLayout } from "./shards.ts";

/** Control block (Int32 words) shared with the workers. */
export const CTRL = {
  GEN: 0, // step generation: bumped by the main thread to start a step
  CMD: 1, // 1 = step, 2 = exit
  S: 2, // scored steps this batch
  DONE: 8, // + worker index: the generation the worker finished
  READY: 8 + MAX_THREADS, // + worker index: 1 once the worker is running
  ERR: 8 + 2 * MAX_THREADS, // + worker index: byte length of its error message (0 = none)
  SCORED: 8 + 3 * MAX_THREADS, // scored time steps (T words)
} as const;
/** Bytes of error text per worker. */
export const ERR_BYTES = 1024;
/** ctrl[CMD]: run a step. */
export const CMD_STEP = 1;
/** ctrl[CMD]: leave the loop (the worker exits). */
export const CMD_EXIT = 2;

/** What every worker computes (structured-cloned into it): the model, the task's targets step, the step's buffers. */
export interface ShardWork {
  family: string;
  config: unknown;
  /** The task (registry name) whose `targets` fills the shards' targets, with its config and setup. */
  task: { name: string; config: unknown; setup: unknown };
  /** Model tensors: name, shape, byte offset in the memory. */
  tensors: { name: string; shape: number[]; offset: number }[];
  layout: GradLayout;
  gradOffset: number;
  xOffset: number;
  xLength: number;
  targetOffset: number;
  targetLength: number;
  batch: number;
  T: number;
  dIn: number;
  dOut: number;
  shards: number;
}

/** What a worker is started with: the shared work, its memory and place, and the pool's control words. */
export interface WorkerInit extends ShardWork {
  index: number;
  shared: SharedKernels;
  sseOffset: number;
  ctrlOffset: number;
  errOffset: number;
  /** The worker's shards [first, last). */
  first: number;
  last: number;
  /** Milliseconds to spin before sleeping while waiting for the next step (SPIN_MS, or 0 when threads > cores). */
  spinMs: number;
}

/** A running pool: start a step, wait for it, stop. */
export interface Pool {
  /** Starts a step on the workers with the batch's scored steps. */
  start(scored: ArrayLike<number>): void;
  /** Waits for every worker; copies their shards' squared-error sums into sse[from..]. */
  wait(sse: Float64Array, from: number): void;
  /** Stops the workers (the pool cannot start steps afterwards). */
  close(): void;
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

/** The URL of the worker script next to this file (worker.ts under tsx, worker.js once compiled). */
function workerUrl(): URL {
  return new URL(import.meta.url.endsWith(".ts") ? "./worker.ts" : "./worker.js", import.meta.url);
}

type WorkerHandle = { terminate(): Promise<number>; unref(): void };
type WorkerCtor = new (what: string | URL, opts: { eval?: boolean; workerData: unknown }) => WorkerHandle;

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
function spawnWorker(Worker: WorkerCtor, init: WorkerInit): WorkerHandle {
  const url = workerUrl().href;
  const api = url.endsWith(".ts") ? tsxApi() : undefined;
  const load = api ? `${api}.then((m) => m.tsImport(${JSON.stringify(url)}, ${JSON.stringify(url)}))` : `import(${JSON.stringify(url)})`;
  const slot = (CTRL.ERR + init.index) * 4;
  const code =
    `const { workerData: d } = require("node:worker_threads");\n` +
    `${load}.catch((e) => {\n` +
    `  const b = new TextEncoder().encode(String((e && e.stack) || e)).subarray(0, ${ERR_BYTES});\n` +
    `  new Uint8Array(d.shared.memory.buffer, d.errOffset + d.index * ${ERR_BYTES}, ${ERR_BYTES}).set(b);\n` +
    `  const c = new Int32Array(d.shared.memory.buffer, d.ctrlOffset + ${slot}, 1);\n` +
    `  Atomics.store(c, 0, Math.max(1, b.length));\n` +
    `  Atomics.notify(c, 0);\n` +
    `});\n`;
  return new Worker(code, { eval: true, workerData: init });
}

/**
 * Starts `threads - 1` workers for `work` split into `work.shards` shards (thread t runs threadShards' range; thread 0
 * is the caller), their control block, error slots and squared-error sums allocated with `k` (the calling thread's
 * kernels over `shared.memory`). Node only.
 */
export function startPool(shared: SharedKernels, k: Kernels, work: ShardWork, threads: number, shardsOf: (t: number) => [number, number]): Pool {
  const req = nodeBuiltin();
  if (!req) throw new Error("threads: worker threads need Node >= 20.16");
  const { Worker } = req("node:worker_threads");
  const os = req("node:os");
  const W = threads - 1;
  const buf = shared.memory.buffer;
  const spinMs = threads <= (typeof os.availableParallelism === "function" ? os.availableParallelism() : os.cpus().length) ? SPIN_MS : 0;
  const ctrlF = k.alloc(CTRL.SCORED + work.T + 16);
  const ctrl = new Int32Array(buf, ctrlF.byteOffset, CTRL.SCORED + work.T);
  const sseF = k.alloc(2 * work.shards + 16);
  const sseOffset = Math.ceil(sseF.byteOffset / 8) * 8;
  const sseShared = new Float64Array(buf, sseOffset, work.shards);
  const errF = k.alloc((W * ERR_BYTES) / 4);
  const errBytes = new Uint8Array(buf, errF.byteOffset, W * ERR_BYTES);
  const workers: WorkerHandle[] = [];
  for (let w = 0; w < W; w++) {
    const [first, last] = shardsOf(w + 1);
    const init: WorkerInit = { ...work, index: w, shared, sseOffset, ctrlOffset: ctrlF.byteOffset, errOffset: errF.byteOffset, first, last, spinMs };
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
  const command = (cmd: number): void => {
    Atomics.store(ctrl, CTRL.CMD, cmd);
    gen = (gen + 1) | 0;
    Atomics.store(ctrl, CTRL.GEN, gen);
    Atomics.notify(ctrl, CTRL.GEN);
  };

  return {
    start(scored) {
      if (!ready) {
        for (let w = 0; w < W; w++) waitFor(CTRL.READY + w, 1, w, "start");
        ready = true;
      }
      Atomics.store(ctrl, CTRL.S, scored.length);
      for (let i = 0; i < scored.length; i++) ctrl[CTRL.SCORED + i] = scored[i];
      command(CMD_STEP);
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
      for (let s = from; s < work.shards; s++) sse[s] = sseShared[s];
    },
    close() {
      command(CMD_EXIT);
      for (const w of workers) void w.terminate();
    },
  };
}
