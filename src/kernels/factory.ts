/**
 * Kernels that load themselves: the one place that picks a backend for a dtype or a run config, reads and compiles
 * the wasm builds (cached per process), and builds a trainer's kernels for its thread count (a fresh instance over a
 * shared memory with one arena per thread). Nothing else under src/ loads a wasm file.
 *
 * Platform-neutral: Node's fs, url and v8 are reached through `process.getBuiltinModule` only when a wasm file is
 * read, so the web page imports this module (through the training loop) and passes the kernels it built from fetched
 * bytes; there `trainingKernels` keeps them (1 thread).
 */
import { createFastKernelsSync } from "./fast.ts";
import type { FastKernels, FastKernelsOptions } from "./fast.ts";
import { ref32, ref64 } from "./reference.ts";
import type { Kernels } from "./types.ts";

type NodeRequire = (id: string) => any;

/** Node's built-in modules without a static import (undefined outside Node >= 20.16, e.g. in a browser). */
export function nodeBuiltin(): NodeRequire | undefined {
  const p = (globalThis as { process?: { getBuiltinModule?: NodeRequire } }).process;
  return typeof p?.getBuiltinModule === "function" ? p.getBuiltinModule.bind(p) : undefined;
}

function requireNode(what: string): NodeRequire {
  const req = nodeBuiltin();
  if (!req) throw new Error(`${what}: needs Node >= 20.16 (in a browser, build the kernels with createFastKernels from the wasm bytes)`);
  return req;
}

/** Absolute path of a kernels build in <package>/build/ (kernels.wasm, kernels-shared.wasm, ...), from src/ or dist/. */
export function kernelsBuildPath(file: string): string {
  return requireNode("kernels")("node:url").fileURLToPath(new URL(`../../build/${file}`, import.meta.url));
}

/** Compiled kernel modules by file path, shared by the synchronous loaders here and the async ones of node.ts. */
export const compiledKernels = new Map<string, WebAssembly.Module>();

/** The one-line error for a kernels file that cannot be read (missing: "run `npm run build:wasm`"). */
export function kernelsFileError(path: string, e: unknown): Error {
  if ((e as { code?: string })?.code === "ENOENT") return new Error(`fast kernels not built: run \`npm run build:wasm\` (missing ${path})`);
  return e as Error;
}

/** Compiles a kernels .wasm file synchronously (cached per path); throws "fast kernels not built: ..." when missing. */
export function compileKernelsFileSync(path: string): WebAssembly.Module {
  let mod = compiledKernels.get(path);
  if (!mod) {
    let bytes: BufferSource;
    try {
      bytes = requireNode("fast kernels")("node:fs").readFileSync(path);
    } catch (e) {
      throw kernelsFileError(path, e);
    }
    mod = new WebAssembly.Module(bytes);
    compiledKernels.set(path, mod);
  }
  return mod;
}

/** The compiled build/kernels.wasm (or kernels-shared.wasm), cached per process. */
export function loadFastKernelsModuleSync(shared = false): WebAssembly.Module {
  return compileKernelsFileSync(kernelsBuildPath(`kernels${shared ? "-shared" : ""}.wasm`));
}

/** Whether fast-kernel options ask for the shared build (a shared memory given, or shared: true). */
export function wantsShared(opts: FastKernelsOptions): boolean {
  if (opts.memory) return typeof SharedArrayBuffer !== "undefined" && opts.memory.buffer instanceof SharedArrayBuffer;
  return !!opts.shared;
}

/** A fast-f32 backend over a new memory (options as createFastKernels; shared picks kernels-shared.wasm). Node. */
export function loadFastKernelsSync(opts: FastKernelsOptions = {}): FastKernels {
  return createFastKernelsSync(loadFastKernelsModuleSync(wantsShared(opts)), opts);
}

let fast: Kernels | undefined;

/** The backend for a dtype: ref64 for "f64", the (lazily loaded, then shared) fast kernels for "f32". */
export function kernelsFor(dtype: "f32" | "f64"): Kernels {
  if (dtype === "f64") return ref64;
  fast ??= loadFastKernelsSync();
  return fast;
}

/** The kernels a training run's config asks for: fast f32, or the reference backend of its dtype. */
export function kernelsForRun(cfg: { backend: "fast" | "reference"; dtype: "f32" | "f64" }): Kernels {
  if (cfg.backend === "fast") return kernelsFor("f32");
  return cfg.dtype === "f64" ? ref64 : ref32;
}

// ------------------------------------------------------------------------------------------- a trainer's kernels

/** Most threads a trainer runs on (the worker pool's control block is sized for it). */
export const MAX_THREADS = 64;

/** A shared-memory build in use: its module and memory, and each thread's arena (thread 0 = the calling thread). */
export interface SharedKernels {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  regions: { start: number; end: number }[];
}

/** The kernels a trainer computes on (see trainingKernels). */
export interface TrainingKernels {
  /** The calling thread's kernels. */
  k: Kernels;
  /** Threads the trainer may use (1 unless `shared`). */
  threads: number;
  /** Why fewer threads run than were asked for ("" when none). */
  note: string;
  /** The build computing: kernels-relaxed-shared.wasm, kernels-shared.wasm, or the backend's name. */
  build: string;
  /** Present when `k` is a fresh instance over a shared memory that worker threads may join. */
  shared?: SharedKernels;
}

let trainerModule: { module: WebAssembly.Module; build: string } | undefined;

/**
 * The compiled shared-memory build trainers run on (cached): build/kernels-relaxed-shared.wasm (fused multiply-add
 * through relaxed SIMD) when it was built and this engine accepts it (Node 20 after enabling V8's
 * --experimental-wasm-relaxed-simd, which this turns on; newer engines ship it), else build/kernels-shared.wasm.
 */
function trainerWasm(req: NodeRequire): { module: WebAssembly.Module; build: string } {
  if (trainerModule) return trainerModule;
  const fs = req("node:fs");
  const relaxed = kernelsBuildPath("kernels-relaxed-shared.wasm");
  if (fs.existsSync(relaxed)) {
    const bytes = fs.readFileSync(relaxed);
    try {
      if (!WebAssembly.validate(bytes)) req("node:v8").setFlagsFromString("--experimental-wasm-relaxed-simd");
      if (WebAssembly.validate(bytes)) trainerModule = { module: new WebAssembly.Module(bytes), build: "kernels-relaxed-shared.wasm" };
    } catch {
      trainerModule = undefined; // no relaxed SIMD here: the plain build below
    }
  }
  trainerModule ??= { module: compileKernelsFileSync(kernelsBuildPath("kernels-shared.wasm")), build: "kernels-shared.wasm" };
  return trainerModule;
}

/** Per-thread arena bytes: 256 MiB each (untouched pages cost no memory), within the 4 GiB wasm32 limit. */
function regionBytes(threads: number): number {
  const cap = Math.floor((4096 * 1024 * 1024 - 2 * 65536) / threads / 65536) * 65536;
  return Math.min(256 * 1024 * 1024, cap);
}

/**
 * The kernels a trainer computes on, for `threads` threads, given the backend `k` its run asked for. On the fast
 * backend in Node >= 20.16: a fresh fast-f32 instance of the trainer build over a new shared memory whose first arena
 * is the calling thread's and the others the workers' — for 1 thread too, so that 1 and 2 threads run the same
 * instructions and give the same numbers (the trainer's buffers then live in that memory, not in `k`'s). Otherwise
 * (reference backend, a browser, no shared memory) `k` itself on 1 thread, with a note when more were asked for.
 */
export function trainingKernels(k: Kernels, threads: number): TrainingKernels {
  if (threads > MAX_THREADS) throw new Error(`threads: at most ${MAX_THREADS}, got ${threads}`);
  const one = (note: string): TrainingKernels => ({ k, threads: 1, note: threads > 1 ? note : "", build: k.name });
  if (k.name !== "fast-f32") return one(`threads: the ${k.name} backend runs on 1 thread (the results are the same)`);
  const req = nodeBuiltin();
  if (!req || typeof SharedArrayBuffer === "undefined") return one("threads: worker threads are not available here; running on 1 thread");
  try {
    const { module, build } = trainerWasm(req);
    const per = regionBytes(threads);
    const pages = (65536 + per * threads + 65536) / 65536;
    const memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
    const regions = Array.from({ length: threads }, (_, t) => ({ start: 65536 + t * per, end: 65536 + (t + 1) * per }));
    const main = createFastKernelsSync(module, { memory, arena: regions[0] });
    return { k: main, threads, note: "", build, shared: { module, memory, regions } };
  } catch (e) {
    return one(`threads: cannot set up shared-memory kernels (${(e as Error).message}); running on 1 thread`);
  }
}

/** A worker thread's kernels: the shared build over the trainer's memory, with the worker's own arena. */
export function workerKernels(shared: SharedKernels, thread: number): FastKernels {
  return createFastKernelsSync(shared.module, { memory: shared.memory, arena: shared.regions[thread] });
}
