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

/**
 * Checks x is [R·B, T, d] with d = dIn (and the data length) for R = `runs` runs, returns [B, T] (B per run); one-line
 * error otherwise.
 */
export function seqDims(x: Tensor, dIn: number, what: string, runs = 1): [number, number] {
  if (x.shape.length !== 3 || x.shape[2] !== dIn || x.data.length !== numel(x.shape)) {
    throw new Error(`${what}: input must have shape [B, T, ${dIn}], got [${x.shape.join(", ")}]`);
  }
  if (x.shape[0] % runs !== 0) throw new Error(`${what}: ${x.shape[0]} sequences do not split into ${runs} runs`);
  return [x.shape[0] / runs, x.shape[1]];
}

/** Checks x_t is [R·B, d] with d = dIn for R = `runs` runs, returns B (per run). */
export function stepDims(x: Tensor, dIn: number, what: string, runs = 1): number {
  if (x.shape.length !== 2 || x.shape[1] !== dIn || x.data.length !== numel(x.shape)) {
    throw new Error(`${what}: step input must have shape [B, ${dIn}], got [${x.shape.join(", ")}]`);
  }
  if (x.shape[0] % runs !== 0) throw new Error(`${what}: ${x.shape[0]} sequences do not split into ${runs} runs`);
  return x.shape[0] / runs;
}

/**
 * The run count R of params (1 when absent), checked: a positive integer, every tensor holding R · numel(shape)
 * floats, and R = 1 unless the family accepts run groups (`family.runs`).
 */
export function runsOf(p: Params, family: { name: string; runs?: boolean }): number {
  const R = p.runs ?? 1;
  if (!(Number.isInteger(R) && R >= 1)) throw new Error(`${family.name}: runs must be a positive integer, got ${R}`);
  if (R === 1) return 1;
  if (!family.runs) throw new Error(`${family.name}: run groups (runs = ${R}) are not supported by this family yet`);
  for (const [name, t] of Object.entries(p.tensors)) {
    if (t.data.length !== R * numel(t.shape)) {
      throw new Error(`${family.name}: tensor ${name} holds ${t.data.length} floats, ${R} runs of [${t.shape.join(", ")}] need ${R * numel(t.shape)}`);
    }
  }
  return R;
}

/** The R parameter objects `ps` (one config, one family, runs = 1 each) as one run group: tensors concatenated. */
export function stackRuns<C>(ps: Params<C>[]): Params<C> {
  if (ps.length === 0) throw new Error("stackRuns: no runs");
  const first = ps[0];
  const tensors: Record<string, Tensor> = {};
  for (const [name, t] of Object.entries(first.tensors)) {
    const n = numel(t.shape);
    const data = allocFloat(dtypeOf(t.data), ps.length * n);
    ps.forEach((p, r) => {
      const s = p.tensors[name];
      if ((p.runs ?? 1) !== 1 || !s || s.data.length !== n || dtypeOf(s.data) !== dtypeOf(t.data)) {
        throw new Error(`stackRuns: run ${r} does not match run 0 (tensor ${name}, one run each, same dtype)`);
      }
      data.set(s.data, r * n);
    });
    tensors[name] = { shape: [...t.shape], data };
  }
  return { family: first.family, config: first.config, tensors, runs: ps.length };
}

/** Run r of a run group as a plain one-run Params (tensors are views into the group's buffers, not copies). */
export function runParams<C>(p: Params<C>, r: number): Params<C> {
  const R = p.runs ?? 1;
  if (!(Number.isInteger(r) && r >= 0 && r < R)) throw new Error(`runParams: run ${r} out of range [0, ${R})`);
  const tensors: Record<string, Tensor> = {};
  for (const [name, t] of Object.entries(p.tensors)) {
    const n = numel(t.shape);
    tensors[name] = { shape: [...t.shape], data: t.data.subarray(r * n, (r + 1) * n) };
  }
  return { family: p.family, config: p.config, tensors };
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
