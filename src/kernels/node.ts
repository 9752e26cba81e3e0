/**
 * Node loaders of the fast kernels, async and sync: read build/kernels.wasm (or build/kernels-shared.wasm for
 * `shared: true`) relative to the package root, from src/kernels (tsx) as from dist/kernels (compiled), compile it
 * once per process (the cache of src/kernels/factory.ts, which holds the synchronous loaders) and instantiate it over
 * a fresh memory per call.
 */
import { readFile } from "node:fs/promises";
import { createFastKernels } from "./fast.ts";
import type { FastKernels, FastKernelsOptions } from "./fast.ts";
import { compiledKernels, kernelsBuildPath, kernelsFileError, wantsShared } from "./factory.ts";

export { compileKernelsFileSync, loadFastKernelsModuleSync, loadFastKernelsSync } from "./factory.ts";

/** Absolute path of the built module: <package>/build/kernels.wasm, or kernels-shared.wasm when shared. */
export function fastKernelsWasmPath(shared = false): string {
  return kernelsBuildPath(`kernels${shared ? "-shared" : ""}.wasm`);
}

/** Compile a kernels .wasm file (cached per path); throws "fast kernels not built: ..." when it is missing. */
export async function compileKernelsFile(path: string): Promise<WebAssembly.Module> {
  let mod = compiledKernels.get(path);
  if (!mod) {
    const bytes = await readFile(path).catch((e: unknown) => {
      throw kernelsFileError(path, e);
    });
    mod = compiledKernels.get(path) ?? (await WebAssembly.compile(bytes));
    compiledKernels.set(path, mod);
  }
  return mod;
}

/** The compiled build/kernels.wasm (or kernels-shared.wasm), cached per process. */
export function loadFastKernelsModule(shared = false): Promise<WebAssembly.Module> {
  return compileKernelsFile(fastKernelsWasmPath(shared));
}

/** A fast-f32 Kernels backend over a new memory (opts as in createFastKernels; shared picks kernels-shared.wasm). */
export async function loadFastKernels(opts: FastKernelsOptions = {}): Promise<FastKernels> {
  return createFastKernels(await loadFastKernelsModule(wantsShared(opts)), opts);
}
