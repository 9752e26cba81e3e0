/**
 * Approximate LSTM constructions (Appendix A.2, Table 4), O(eps²) in the small-weight / large-readout limit.
 * The cell is the project's LSTM (src/models/lstm.ts, eqs. 10-15, the paper's naming):
 *   c_t = f ⊙ c_{t-1} + g ⊙ c̃,  g = σ(U_g x + b_g) (update gate),  c̃ = tanh(U_c x + b_c) (candidate),
 *   h_t = o ⊙ tanh(c_t),  y_t = readout h_t,  all V = 0 here.
 * Table 4 as printed does not work: it ignores that σ(small) ≈ 1/2 + z/4 (the paper writes "+ z"), so the 1/2
 * offsets of g and o are never cancelled and the error grows like eps⁻² (shared/notes/constructions.md). Both
 * recipes below cancel every offset with *baseline* units that differ from a "main" unit only in having the gate's
 * input weights set to 0 (gate = σ(0) = 1/2 exactly), and subtract them in a readout.
 *
 * Two facts used throughout (Taylor, |z| small):
 *   σ(eps a) = 1/2 + eps a/4 - eps³ a³/48 + O(eps⁵),   tanh(eps b) = eps b - eps³ b³/3 + O(eps⁵),
 *   so (σ(eps a) - 1/2) tanh(eps b) = eps² a b / 4 · (1 + O(eps²))                       (*)
 * and tanh(c + Δ) - tanh(c) = Δ (1 - c² + O(c⁴ + Δ)) = Δ (1 + O(eps²)) when c = O(eps), Δ = O(eps²).
 */
import type { GatedRnnConfig } from "../models/gated-rnn.ts";
import type { LstmConfig } from "../models/lstm.ts";
import type { StackConfig } from "../models/stack.ts";
import type { Params } from "../models/types.ts";
import type { Tensor } from "../tensor.ts";
import { zeros } from "../tensor.ts";
import type { AttentionWeights } from "./gated-rnn.ts";

/**
 * Default eps of lstmFromAttention: O(eps²) truncation meets ~1e-16/eps² rounding; measured median error over
 * d = 2..6 (4 draws each) 6e-8 at 1e-4 (5e-6 at 1e-3, 1.4e-7 at 5e-5, 3e-6 at 1e-5).
 */
export const LSTM_DEFAULT_EPS = 1e-4;
/**
 * Default eps of lstmFromGatedRnn (two layers, applied to the compact gated RNN): rounding grows only like
 * 1e-16/eps; measured median error 2.5e-10 at 3e-6 (2e-9 at 1e-5, 5e-10 at 1e-6).
 */
export const LSTM2_DEFAULT_EPS = 3e-6;

/** Hidden units of lstmFromAttention: 2 d (d + 1) (units (i, j, s), i in 0..d, j < d, s in {Q, H}). */
export function lstmAttentionUnits(d: number): number {
  return 2 * d * (d + 1);
}

/** Zero LSTM tensors (eqs. 10-15 shapes) for N units, input d_in, output d_out. */
function blankLstm(dIn: number, N: number, dOut: number): Record<string, Tensor> {
  const t: Record<string, Tensor> = {};
  for (const q of ["f", "c", "g", "o"]) {
    t[`U_${q}`] = zeros([N, dIn]);
    t[`V_${q}`] = zeros([N, N]);
    t[`b_${q}`] = zeros([N]);
  }
  t.readout = zeros([dOut, N]);
  return t;
}

/**
 * One LSTM layer ≈ attention (Table 4 left, "shared baseline" recipe), y ≈ W_V (Σ_{s≤t} x_s x_sᵀ) W_Kᵀ W_Q x_t;
 * App. A.2; d_in = d_out = d, N = 2d(d+1) units, V = 0, b_f = +inf (f = 1), readout [d, N] of size 16/eps³.
 *
 * Derivation. Unit (i, j, s) with i in 0..d (i = 0 the value baseline, i ≥ 1 output row i-1), j < d, s in {Q, H}:
 *   c̃ = tanh(eps k_j),  g = σ(eps v_i) (i ≥ 1) or 1/2 (i = 0),  f = 1 so c = Σ_{s≤t} g c̃,
 *   o = σ(eps q_j) (s = Q) or 1/2 (s = H).
 * By (*), c(i,j) - c(0,j) = eps²/4 · S_ij (1 + O(eps²)) with S_ij = Σ_s v_i,s k_j,s (the eps k/2 and the eps³ k³
 * terms are shared and cancel), and h(i,j,Q) - h(i,j,H) = (σ(eps q_j) - 1/2) tanh(c(i,j)). Hence
 *   h(i,j,Q) - h(i,j,H) - h(0,j,Q) + h(0,j,H) = (eps q_j / 4)(tanh c(i,j) - tanh c(0,j)) (1 + O(eps²))
 *                                              = eps³/16 · S_ij q_j (1 + O(eps²)),
 * so y_i = 16/eps³ Σ_j [...] = Σ_j S_ij q_j + O(eps²) (= attention, including the current token).
 * Rounding: the signal is eps³ below unit values of size eps, so ~1e-16/eps² relative.
 */
export function lstmFromAttention(att: AttentionWeights, eps: number): Params<LstmConfig> {
  const { d } = att;
  if (!(eps > 0)) throw new Error(`lstmFromAttention: eps must be > 0, got ${eps}`);
  const N = lstmAttentionUnits(d);
  const t = blankLstm(d, N, d);
  const unit = (i: number, j: number, s: number): number => (i * d + j) * 2 + s; // s = 0: Q, s = 1: H
  const r = 16 / eps ** 3;
  for (let i = 0; i <= d; i++) {
    for (let j = 0; j < d; j++) {
      for (let s = 0; s < 2; s++) {
        const n = unit(i, j, s);
        t.b_f.data[n] = Infinity; // f = 1: the cell accumulates
        for (let c = 0; c < d; c++) {
          t.U_c.data[n * d + c] = eps * att.W_K[j * d + c];
          if (i >= 1) t.U_g.data[n * d + c] = eps * att.W_V[(i - 1) * d + c];
          if (s === 0) t.U_o.data[n * d + c] = eps * att.W_Q[j * d + c];
        }
      }
    }
  }
  for (let i = 1; i <= d; i++) {
    for (let j = 0; j < d; j++) {
      const row = (i - 1) * N;
      t.readout.data[row + unit(i, j, 0)] += r;
      t.readout.data[row + unit(i, j, 1)] -= r;
      t.readout.data[row + unit(0, j, 0)] -= r;
      t.readout.data[row + unit(0, j, 1)] += r;
    }
  }
  return { family: "lstm", config: { d_in: d, hidden: N, d_out: d }, tensors: t };
}

/** logit(λ) = log(λ / (1 - λ)), so σ(logit λ) = λ; ±inf at λ = 1 / 0 (exact f = 1 / f = 0). */
function logit(l: number): number {
  if (l === 1) return Infinity;
  if (l === 0) return -Infinity;
  return Math.log(l / (1 - l));
}

/**
 * Main/baseline unit bookkeeping of one layer: main unit n gets σ(eps a_n) tanh(eps b_n); its baseline (shared by all
 * mains with the same candidate row b and forget bias) gets (1/2) tanh(eps b_n). Returns the baseline of every main.
 */
function baselines(keys: string[], first: number): { base: number[]; count: number } {
  const seen = new Map<string, number>();
  const base: number[] = [];
  for (const k of keys) {
    let b = seen.get(k);
    if (b === undefined) {
      b = first + seen.size;
      seen.set(k, b);
    }
    base.push(b);
  }
  return { base, count: seen.size };
}

/** Hidden units per layer and width of lstmFromGatedRnn for a gated RNN (see that function). */
export function lstmGatedRnnSize(p: Params<GatedRnnConfig>): { width: number; hidden: number; layer1: number; layer2: number } {
  const { d_in: d, hidden: Ng, output_gating: M, d_out } = p.config;
  const D = d + 1;
  const inM = p.tensors.in_m.data;
  const lam = p.tensors.lambda.data;
  const keys1: string[] = [];
  for (let n = 0; n < Ng; n++) keys1.push(`${lam[n]}|${Array.from(inM.subarray(n * D, (n + 1) * D)).join(",")}`);
  const outM = p.tensors.out_m.data;
  const keys2: string[] = [];
  for (let r = 0; r < M; r++) keys2.push(Array.from(outM.subarray(r * Ng, (r + 1) * Ng)).join(","));
  const layer1 = Ng + baselines(keys1, Ng).count;
  const layer2 = M + baselines(keys2, M).count;
  return { width: Math.max(d, Ng, d_out), hidden: Math.max(layer1, layer2), layer1, layer2 };
}

/**
 * Two stacked LSTM layers ≈ a diagonal gated RNN of eq. 2 (Table 4 right), O(eps²): a "stack" of 2 "lstm" layers,
 * embed [W, d_in] and readout [d_out, W] identity/zero-padding, W = max(d_in, N, d_out); App. A.2. Needs λ in [0, 1].
 *
 * Derivation (our recipe; the printed table is garbled and leaves the 1/2 offsets uncancelled). With z = [x; 1],
 * a_n = in_x[n]·z, b_n = in_m[n]·z (the constant column becomes the LSTM bias):
 *   Layer 1, per gated-RNN neuron n a main unit: g = σ(eps a_n), c̃ = tanh(eps b_n), f = λ_n (b_f = logit λ_n),
 *     o = 1 (b_o = +inf); and a baseline unit with g = 1/2 (U_g = b_g = 0), same c̃ and f, shared by all n with the
 *     same (in_m row, λ). By (*) the cell difference obeys Δ_t = λ_n Δ_{t-1} + eps²/4 · a_n b_n (1 + O(eps²)), i.e.
 *     Δ = eps²/4 · h_n (1 + O(eps²)), and tanh(c_main) - tanh(c_base) = Δ (1 + O(eps²)) (c_base = O(eps)).
 *     Layer-1 readout row n = (4/eps²)(e_main(n) - e_base(n)): layer 1 outputs h̃ = h + O(eps²) (the gated
 *     RNN's hidden state, eq. 2's u_t = a b accumulated with λ).
 *   Layer 2, per output-gating row r a main unit: g = σ(eps out_x[r]·h̃), c̃ = tanh(eps out_m[r]·h̃), f = 0
 *     (b_f = -inf), o = 1; baselines (g = 1/2) shared by rows with the same out_m row. Now c = g c̃ (no memory)
 *     and tanh(c_main) - tanh(c_base) = eps²/4 (out_x h)(out_m h)(1 + O(eps²)); layer-2 readout
 *     = readout_g · (4/eps²)(e_main(r) - e_base(r)) gives y = readout_g((out_x h) ⊙ (out_m h)) + O(eps²).
 * Rounding: each layer's signal is eps below unit values of size eps·O(1), so only ~1e-16/eps relative: the best
 * eps is smaller than for one layer (see LSTM2_DEFAULT_EPS).
 * Units: layer 1 N + #distinct (in_m row, λ); layer 2 M + #distinct out_m rows; both layers get the larger count
 * (a stack shares one layer config), the spare units are dead (all weights 0: c̃ = 0, so c = h = 0).
 */
export function lstmFromGatedRnn(p: Params<GatedRnnConfig>, eps: number): Params<StackConfig> {
  if (p.family !== "gated-rnn") throw new Error(`lstmFromGatedRnn: expects a diagonal "gated-rnn", got "${p.family}"`);
  if (!(eps > 0)) throw new Error(`lstmFromGatedRnn: eps must be > 0, got ${eps}`);
  const { d_in: d, hidden: Ng, output_gating: M, d_out: dOut } = p.config;
  const D = d + 1;
  const g = p.tensors;
  for (let n = 0; n < Ng; n++) {
    const l = g.lambda.data[n];
    if (!(l >= 0 && l <= 1)) throw new Error(`lstmFromGatedRnn: lambda[${n}] = ${l} is outside [0, 1] (an LSTM forget gate cannot represent it)`);
  }
  const size = lstmGatedRnnSize(p);
  const W = size.width;
  const NL = size.hidden;

  // Layer 1: reads x from the first d coordinates of the width-W embedding.
  const t1 = blankLstm(W, NL, W);
  const keys1: string[] = [];
  for (let n = 0; n < Ng; n++) keys1.push(`${g.lambda.data[n]}|${Array.from(g.in_m.data.subarray(n * D, (n + 1) * D)).join(",")}`);
  const b1 = baselines(keys1, Ng).base;
  const r1 = 4 / eps ** 2;
  for (let n = 0; n < Ng; n++) {
    const bf = logit(g.lambda.data[n]);
    for (const [u, main] of [[n, true], [b1[n], false]] as [number, boolean][]) {
      t1.b_f.data[u] = bf;
      t1.b_o.data[u] = Infinity;
      for (let c = 0; c < d; c++) {
        t1.U_c.data[u * W + c] = eps * g.in_m.data[n * D + c];
        if (main) t1.U_g.data[u * W + c] = eps * g.in_x.data[n * D + c];
      }
      t1.b_c.data[u] = eps * g.in_m.data[n * D + d];
      if (main) t1.b_g.data[u] = eps * g.in_x.data[n * D + d];
    }
    t1.readout.data[n * NL + n] += r1;
    t1.readout.data[n * NL + b1[n]] -= r1;
  }

  // Layer 2: reads h̃ from the first Ng coordinates.
  const t2 = blankLstm(W, NL, W);
  const keys2: string[] = [];
  for (let r = 0; r < M; r++) keys2.push(Array.from(g.out_m.data.subarray(r * Ng, (r + 1) * Ng)).join(","));
  const b2 = baselines(keys2, M).base;
  const r2 = 4 / eps ** 2;
  for (let r = 0; r < M; r++) {
    for (const [u, main] of [[r, true], [b2[r], false]] as [number, boolean][]) {
      t2.b_f.data[u] = -Infinity;
      t2.b_o.data[u] = Infinity;
      for (let c = 0; c < Ng; c++) {
        t2.U_c.data[u * W + c] = eps * g.out_m.data[r * Ng + c];
        if (main) t2.U_g.data[u * W + c] = eps * g.out_x.data[r * Ng + c];
      }
    }
    for (let o = 0; o < dOut; o++) {
      const w = g.readout.data[o * M + r] * r2;
      t2.readout.data[o * NL + r] += w;
      t2.readout.data[o * NL + b2[r]] -= w;
    }
  }

  const tensors: Record<string, Tensor> = { embed: zeros([W, d]) };
  for (let c = 0; c < d; c++) tensors.embed.data[c * d + c] = 1;
  for (const [name, x] of Object.entries(t1)) tensors[`layers.0.${name}`] = x;
  for (const [name, x] of Object.entries(t2)) tensors[`layers.1.${name}`] = x;
  tensors.readout = zeros([dOut, W]);
  for (let o = 0; o < dOut; o++) tensors.readout.data[o * W + o] = 1;
  return {
    family: "stack",
    config: { d_in: d, width: W, d_out: dOut, layers: 2, layer: "lstm", layer_config: { hidden: NL } },
    tensors,
  };
}
