/**
 * Approximate constructions (Appendix A: LSTM A.2, LRU A.1, GRU A.3) and their eps sweeps. Every construction here
 * is exact only in a limit (small weights eps, large readout ~eps^-k), with error O(eps²) until float64 rounding,
 * which grows as eps shrinks, takes over; `epsSweep` measures both, `approximateConstructions` lists each
 * construction with its default eps (where the measured error is smallest). Error = max|y_rnn - y_ref| / max|y_ref|
 * on x ~ N(0, I), T = 8 (shared/notes/constructions.md).
 */
import { attention, attentionConfig } from "../models/attention.ts";
import type { AttentionConfig } from "../models/attention.ts";
import { getFamily } from "../models/registry.ts";
import type { Params } from "../models/types.ts";
import { Rng } from "../rng.ts";
import type { Tensor } from "../tensor.ts";
import { maxAbs, maxAbsDiff, zeros } from "../tensor.ts";
import type { AttentionWeights } from "./gated-rnn.ts";
import { compactConstruction } from "./gated-rnn.ts";
import { GRU_DEFAULT_EPS, gruFromAttention, gruAttentionUnits } from "./gru.ts";
import { LRU_DEFAULT_EPS, lruFromAttention, lruInOutFromAttention } from "./lru.ts";
import { LSTM2_DEFAULT_EPS, LSTM_DEFAULT_EPS, lstmAttentionUnits, lstmFromAttention, lstmFromGatedRnn, lstmGatedRnnSize } from "./lstm.ts";

/** One row of an eps table: the construction's error against the exact reference at this eps. */
export interface EpsRow {
  eps: number;
  /** max |y_rnn - y_ref| over batch, time and coordinates. */
  max_abs_error: number;
  /** max |y_rnn - y_ref| / max |y_ref| (the notes' definition). */
  max_rel_error: number;
}

/** eps = 1e-1 .. 1e-6 (one per decade): the default sweep. */
export const defaultEpsList: readonly number[] = [1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6];

/** y [B, T, d_out] = the registered family's forward of any params object the constructions return (stacks included). */
export function forwardParams(p: Params, x: Tensor): Tensor {
  return getFamily(p.family).forward(p, x);
}

/** Attention params (family "attention", one head) [d, d] from AttentionWeights, for attention.forward (eq. 1). */
export function attentionParams(att: AttentionWeights): Params<AttentionConfig> {
  const { d } = att;
  const t = (w: ArrayLike<number>): Tensor => ({ shape: [d, d], data: Float64Array.from(w) });
  return { family: "attention", config: attentionConfig({ d }), tensors: { W_V: t(att.W_V), W_K: t(att.W_K), W_Q: t(att.W_Q) } };
}

/** The sweep's input: x ~ N(0, I) of shape [batch, T, d] (default T = 8, batch 4), from a seed. */
export function sweepInput(d: number, seed = 1, T = 8, batch = 4): Tensor {
  const x = zeros([batch, T, d]);
  Rng.fromSeed(seed).fillNormal(x.data);
  return x;
}

/** Errors of build(eps) against a fixed reference output yRef [B, T, d_out] on x, one row per eps. */
export function epsSweepAgainst(build: (eps: number) => Params, yRef: Tensor, x: Tensor, epsList: readonly number[] = defaultEpsList): EpsRow[] {
  const scale = maxAbs(yRef.data);
  return epsList.map((eps) => {
    const y = forwardParams(build(eps), x);
    const abs = maxAbsDiff(y.data, yRef.data);
    return { eps, max_abs_error: abs, max_rel_error: scale === 0 ? abs : abs / scale };
  });
}

/** eps table of a construction vs exact attention (eq. 1, attention.forward): [{eps, max_abs_error, max_rel_error}]. */
export function epsSweep(build: (eps: number) => Params, att: AttentionWeights, x: Tensor, epsList: readonly number[] = defaultEpsList): EpsRow[] {
  return epsSweepAgainst(build, attention.forward(attentionParams(att), x), x, epsList);
}

/** The row of smallest relative error (where O(eps²) truncation meets rounding). */
export function bestEps(rows: readonly EpsRow[]): EpsRow {
  return rows.reduce((a, b) => (b.max_rel_error < a.max_rel_error ? b : a));
}

/** An approximate construction from attention weights: family of the result, default eps, hidden-unit count. */
export interface ApproximateConstruction {
  /** Name for `gra construct --into <name>`. */
  name: string;
  /** One line: what is built (paper section, units, layers). */
  summary: string;
  /** eps with the smallest error in our sweeps (d = 2..6). */
  defaultEps: number;
  /** Recurrent units of the result for input width d (per layer for stacks). */
  units(d: number): number;
  build(att: AttentionWeights, eps: number): Params;
}

/** The approximate constructions from one attention layer (eq. 1), by `--into` name. */
export const approximateConstructions: Record<string, ApproximateConstruction> = {
  lstm: {
    name: "lstm",
    summary: "one LSTM layer (App. A.2, Table 4 left, shared-baseline recipe), 2d(d+1) units, O(eps²)",
    defaultEps: LSTM_DEFAULT_EPS,
    units: lstmAttentionUnits,
    build: lstmFromAttention,
  },
  "lstm-2": {
    name: "lstm-2",
    summary: "two LSTM layers implementing the compact gated RNN of eq. 2 (App. A.2, Table 4 right), O(eps²)",
    defaultEps: LSTM2_DEFAULT_EPS,
    units: (d) => lstmGatedRnnSize(compactConstruction(identityAttention(d))).hidden,
    build: (att, eps) => lstmFromGatedRnn(compactConstruction(att), eps),
  },
  lru: {
    name: "lru",
    summary: "two stacked LRU Out layers (App. A.1), linearised GLU, d² states, O(eps²)",
    defaultEps: LRU_DEFAULT_EPS,
    units: (d) => d * d,
    build: lruFromAttention,
  },
  "lru-in-out": {
    name: "lru-in-out",
    summary: "one LRU In+Out layer (App. A.1), input GLU makes key-values, d² states, O(eps²)",
    defaultEps: LRU_DEFAULT_EPS,
    units: (d) => d * d,
    build: lruInOutFromAttention,
  },
  gru: {
    name: "gru",
    summary: "one GRU layer (App. A.3; approximate only), 4d² + d + 2·C(d+2,3) units, O(eps²)",
    defaultEps: GRU_DEFAULT_EPS,
    units: gruAttentionUnits,
    build: gruFromAttention,
  },
};

/** Attention weights W_V = W_K = W_Q = I (only used for sizes, which do not depend on the weights' values). */
function identityAttention(d: number): AttentionWeights {
  const I = new Float64Array(d * d);
  for (let i = 0; i < d; i++) I[i * d + i] = 1;
  return { d, W_V: I, W_K: I, W_Q: I };
}
