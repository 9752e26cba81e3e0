/**
 * Node loader of the fast kernels: reads build/kernels.wasm (or build/kernels-shared.wasm for `shared: true`)
 * relative to the package root, from src/kernels (tsx) as from dist/kernels (compiled), compiles it once per process
 * and instantiates it over a fresh memory per call.
 */
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { createFastKernels, createFastKernelsSync } from "./fast.ts";
import type { FastKernels, FastKernelsOptions } from "./fast.ts";

/** Absolute path of the built module: <package>/build/kernels.wasm, or kernels-shared.wasm when shared. */
export function fastKernelsWasmPath(shared = false): string {
  return fileURLToPath(new URL(`../../build/kernels${shared ? "-shared" : ""}.wasm`, import.meta.url));
}

const compiled = new Map<string, WebAssembly.Module>();

function notBuilt(path: string, e: unknown): Error {
  if ((e as NodeJS.ErrnoException)?.code === "ENOENT") {
    return new Error(`fast kernels not built: run \`npm run build:wasm\` (missing ${path})`);
  }
  return e as Error;
}

function wantsShared(opts: FastKernelsOptions): boolean {
  if (opts.memory) return typeof SharedArrayBuffer !== "undefined" && opts.memory.buffer instanceof SharedArrayBuffer;
  return !!opts.shared;
}

function readOrExplain(path: string) {
  try {
    return readFileSync(path);
  } catch (e) {
    throw notBuilt(path, e);
  }
}

/** Compile a kernels .wasm file (cached per path); throws "fast kernels not built: ..." when it is missing. */
export async function compileKernelsFile(path: string): Promise<WebAssembly.Module> {
  let mod = compiled.get(path);
  if (!mod) {
    const bytes = await readFile(path).catch((e: unknown) => {
      throw notBuilt(path, e);
    });
    mod = compiled.get(path) ?? (await WebAssembly.compile(bytes));
    compiled.set(path, mod);
  }
  return mod;
}

/** compileKernelsFile, synchronously. */
export function compileKernelsFileSync(path: string): WebAssembly.Module {
  let mod = compiled.get(path);
  if (!mod) {
    mod = new WebAssembly.Module(readOrExplain(path));
    compiled.set(path, mod);
  }
  return mod;
}

/** The compiled build/kernels.wasm (or kernels-shared.wasm), cached per process. */
export function loadFastKernelsModule(shared = false): Promise<WebAssembly.Module> {
  return compileKernelsFile(fastKernelsWasmPath(shared));
}

/** loadFastKernelsModule, synchronously. */
export function loadFastKernelsModuleSync(shared = false): WebAssembly.Module {
  return compileKernelsFileSync(fastKernelsWasmPath(shared));
}

/** A fast-f32 Kernels backend over a new memory (opts as in createFastKernels; shared picks kernels-shared.wasm). */
export async function loadFastKernels(opts: FastKernelsOptions = {}): Promise<FastKernels> {
  return createFastKernels(await loadFastKernelsModule(wantsShared(opts)), opts);
}

/** loadFastKernels, synchronously. */
export function loadFastKernelsSync(opts: FastKernelsOptions = {}): FastKernels {
  return createFastKernelsSync(loadFastKernelsModuleSync(wantsShared(opts)), opts);
}
