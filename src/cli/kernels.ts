/** Kernel backend selection for CLI commands: f64 -> the reference oracle; f32 -> the fast wasm kernels when built. */
import { loadFastKernelsSync } from "../kernels/node.ts";
import { ref32, ref64 } from "../kernels/reference.ts";
import type { Kernels } from "../kernels/types.ts";

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
