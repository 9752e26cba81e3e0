/** Small free functions shared by the model files: initialisers (minimal-LRU style), shape checks, helpers. */
import type { Kernels } from "../kernels/types.ts";
import { ref32, ref64 } from "../kernels/reference.ts";
import type { Rng } from "../rng.ts";
import type { DType, Float, Tensor } from "../tensor.ts";
import { allocFloat, dtypeOf, numel } from "../tensor.ts";
import { parseConfig } from "../config.ts";
import type { ModelFamily, Params, Reparam, TrainedForm } from "./types.ts";

/** Entries i.i.d. N(0, std²) as a tensor of `shape` (default std = 1/sqrt(fan_in), fan_in = last dim). */
export function normalInit(rng: Rng, shape: number[], dtype: DType, std = 1 / Math.sqrt(shape[shape.length - 1])): Tensor {
  const data = allocFloat(dtype, numel(shape));
  rng.fillNormal(data, std);
  return { shape: [...shape], data };
}

/** A tensor of `shape` with every entry equal to `value`. */
export function constInit(shape: number[], dtype: DType, value = 0): Tensor {
  const data = allocFloat(dtype, numel(shape));
  if (value !== 0) data.fill(value);
  return { shape: [...shape], data };
}

/**
 * Ring initialisation (LRU, Orvieto et al. 2023): |lambda| = sqrt(u), u ~ U(rMin², rMax²); returned as
 * nu = log(-log|lambda|) so that lambda = exp(-exp(nu)) (CONVENTIONS.md). Shape [N].
 */
export function ringNuInit(rng: Rng, n: number, dtype: DType, rMin = 0, rMax = 1): Tensor {
  const data = allocFloat(dtype, n);
  for (let i = 0; i < n; i++) {
    const u = rng.uniformIn(rMin * rMin, rMax * rMax);
    const mag = Math.sqrt(u);
    data[i] = Math.log(-Math.log(mag));
  }
  return { shape: [n], data };
}

/** The reference backend matching the params' dtype (the default `k` of every forward). */
export function defaultKernels(params: Params): Kernels {
  const first = Object.values(params.tensors)[0];
  return first && dtypeOf(first.data) === "f32" ? ref32 : ref64;
}

/** The dtype of a parameter object (that of its first tensor). */
export function paramsDtype(params: Params): DType {
  const first = Object.values(params.tensors)[0];
  return first ? dtypeOf(first.data) : "f64";
}

/** Checks x is [B, T, d] with d = dIn (and the data length), returns [B, T]; one-line error otherwise. */
export function seqDims(x: Tensor, dIn: number, what: string): [number, number] {
  if (x.shape.length !== 3 || x.shape[2] !== dIn || x.data.length !== numel(x.shape)) {
    throw new Error(`${what}: input must have shape [B, T, ${dIn}], got [${x.shape.join(", ")}]`);
  }
  return [x.shape[0], x.shape[1]];
}

/** Checks x_t is [B, d] with d = dIn, returns B. */
export function stepDims(x: Tensor, dIn: number, what: string): number {
  if (x.shape.length !== 2 || x.shape[1] !== dIn || x.data.length !== numel(x.shape)) {
    throw new Error(`${what}: step input must have shape [B, ${dIn}], got [${x.shape.join(", ")}]`);
  }
  return x.shape[0];
}

/** `src` in backend k's dtype: the buffer itself when the dtypes match, else a converted copy in k's memory. */
export function onBackend(k: Kernels, src: Float): Float {
  if (dtypeOf(src) === k.dtype) return src;
  const out = k.alloc(src.length);
  out.set(src);
  return out;
}

/** z = [x; 1]: appends the constant input of eq. 2 to each of the R rows of x [R, d] -> [R, d+1]. */
export function appendOne(k: Kernels, x: Float, rows: number, d: number): Float {
  const z = k.alloc(rows * (d + 1));
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < d; j++) z[r * (d + 1) + j] = x[r * d + j];
    z[r * (d + 1) + d] = 1;
  }
  return z;
}

/** A result tensor in a plain (non-arena) buffer of backend k's dtype, copied from `data`. */
export function resultTensor(k: Kernels, shape: number[], data: Float): Tensor {
  const out = allocFloat(k.dtype, numel(shape));
  out.set(data.subarray(0, out.length));
  return { shape, data: out };
}

/** A family's trained form for a config: what its `trained` states, or every tensor as stored with weight decay. */
export function trainedFormOf(family: ModelFamily, config: unknown): TrainedForm {
  return family.trained?.(config) ?? { reparams: {}, noDecay: [] };
}

/** A trained form with every tensor name (model and trained) prefixed, e.g. "layers.0." in a stack. */
export function prefixTrainedForm(form: TrainedForm, prefix: string): TrainedForm {
  const reparams: Record<string, Reparam> = {};
  for (const [name, r] of Object.entries(form.reparams)) reparams[prefix + name] = { ...r, name: prefix + r.name };
  return { reparams, noDecay: form.noDecay.map((n) => prefix + n) };
}

/** The full config of `family` from its width-free part `rest` and the widths (parsed: one-line errors under `where`). */
export function configFromWidths(family: ModelFamily, rest: Record<string, unknown>, dIn: number, dOut: number, where?: string): unknown {
  const [inKey, outKey] = family.widthKeys;
  return parseConfig(family.schema, { ...rest, [inKey]: dIn, [outKey]: dOut }, where);
}

/** A config without its width keys (what a train config's model_config or a stack's layer_config holds). */
export function withoutWidths(family: ModelFamily, config: unknown): Record<string, unknown> {
  const rest = { ...(config as Record<string, unknown>) };
  for (const k of family.widthKeys) delete rest[k];
  return rest;
}
