/**
 * AdamW (Loshchilov & Hutter 2019) with decoupled weight decay and a per-parameter decay mask by name (App. B.1:
 * decay 1e-4 on every parameter except the recurrent ones, which the model family names: ModelFamily.trained). The update is in place on the parameter buffers (the
 * training loop's hot path); the state is plain buffers plus a step counter, serialisable into a checkpoint.
 */
import { ref64 } from "../kernels/reference.ts";
import type { Kernels } from "../kernels/types.ts";
import type { Float } from "../tensor.ts";
import type { Schedule } from "./schedule.ts";

export interface AdamWConfig {
  lr: Schedule;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** True for the parameter names that get weight decay (the trainer: all but its family's TrainedForm.noDecay). */
  decay: (name: string) => boolean;
  /** Clip the global gradient norm to this value (0 = off, the default). */
  clipNorm: number;
}

export interface AdamWState {
  /** Number of updates applied so far. */
  step: number;
  m: Record<string, Float>;
  v: Record<string, Float>;
}

/** Zero first and second moments shaped like `params` (allocated with `alloc`). */
export function adamwInit(params: Record<string, Float>, alloc: (n: number) => Float): AdamWState {
  const m: Record<string, Float> = {};
  const v: Record<string, Float> = {};
  for (const [name, p] of Object.entries(params)) {
    m[name] = alloc(p.length);
    v[name] = alloc(p.length);
  }
  return { step: 0, m, v };
}

/** sqrt(sum of squared gradient entries) over all tensors. */
export function globalNorm(grads: Record<string, Float>): number {
  let s = 0;
  for (const g of Object.values(grads)) for (let i = 0; i < g.length; i++) s += g[i] * g[i];
  return Math.sqrt(s);
}

/**
 * One AdamW step at lr = cfg.lr(state.step), t = state.step + 1:
 *   m = b1 m + (1-b1) g,  v = b2 v + (1-b2) g²,  p -= lr · (m/(1-b1^t)) / (sqrt(v/(1-b2^t)) + eps) + lr · wd · p [if decayed].
 * Updates params, m, v in place (through k.adamw: every backend gives the same bits, the fast one twice as fast in wasm),
 * increments state.step and returns the lr used.
 */
export function adamwUpdate(
  cfg: AdamWConfig, state: AdamWState, params: Record<string, Float>, grads: Record<string, Float>, k: Kernels = ref64,
): number {
  const lr = cfg.lr(state.step);
  const t = state.step + 1;
  const c1 = 1 - Math.pow(cfg.beta1, t);
  const c2 = 1 - Math.pow(cfg.beta2, t);
  let scale = 1;
  if (cfg.clipNorm > 0) {
    const n = globalNorm(grads);
    if (n > cfg.clipNorm) scale = cfg.clipNorm / n;
  }
  const { beta1, beta2, eps } = cfg;
  for (const [name, p] of Object.entries(params)) {
    const g = grads[name];
    if (!g) throw new Error(`adamw: no gradient for parameter "${name}"`);
    const wd = cfg.decay(name) ? cfg.weightDecay : 0;
    k.adamw(p, g, state.m[name], state.v[name], p.length, { lr, beta1, beta2, c1, c2, eps, wd, scale });
  }
  state.step = t;
  return lr;
}
