/**
 * GRU ≈ linear self-attention (Appendix A.3), one layer, O(eps²).
 *
 * Why no EXACT construction exists (App. A.3): the GRU's only multiplicative input interaction is
 * h_t = (1 - z_t) ⊙ h_{t-1} + z_t ⊙ h̃_t, so one branch of a gating product must come from z_t and the other from
 * h̃_t; but any gate z_t != 0 also lets (1 - z_t) ⊙ h_{t-1} mix the old state into the product, so a product
 * (W_x x) ⊙ (W_m x) is never produced exactly (Table 3: "GRU: -").
 * This file shows that under the same small-weight / large-readout limit the paper grants the LSTM and the LRU,
 * one GRU layer does approximate attention with error O(eps²): Table 3's "-" holds for exact constructions only.
 *
 * Cell (src/models/gru.ts, eqs. 16-19, the paper's z convention): r = σ(U_r x + V_r h + b_r),
 * h̃ = tanh(U_h x + V_h (r ⊙ h_{t-1}) + b_h), z = σ(U_z x + V_z h + b_z), h_t = (1 - z) h_{t-1} + z h̃. Here V_r = V_z = 0.
 * Notation: v = W_V x_t, k = W_K x_t, q = W_Q x_t, M_t = Σ_{s≤t} v_s k_sᵀ, attention y_t = M_t q_t
 *   = M_{t-1} q_t + v_t (k_t · q_t).
 *
 * 1. Leaky accumulators, 4d² units acc(i, j, σ1, σ2), σ1, σ2 in {+1, -1}:
 *      z = σ(log eps² + σ1 eps v_i)   (b_z = log eps², U_z = σ1 eps W_V[i]),
 *      h̃ = tanh(eps k_j)              (U_h = eps W_K[j], V_h row 0),
 *      r = σ(σ2 eps q_j)               (U_r = σ2 eps W_Q[j]; r only acts where the readout units read this unit).
 *    With e^{L} = eps²: σ(L + w) = eps² e^w (1 + O(eps²)), so z ≈ eps² (≪ 1: the unit keeps its state, leak
 *    (1 - z)^T = 1 + O(T eps²)) and z(σ1 = +) - z(σ1 = -) = 2 eps³ v_i (1 + O(eps²)). Both units of a ± pair
 *    accumulate h ≈ Σ_s z h̃ = O(eps³); their difference (the leak terms differ only at O(eps⁶)) is
 *      D_ij := h(i,j,+,σ2) - h(i,j,-,σ2) = 2 eps⁴ (M_t)_ij (1 + O(eps²))   (the same for both σ2).
 * 2. Readout units, d units ro(i): z = 1 (b_z = +inf, so h_t = h̃_t: no memory), U_h = 0,
 *      V_h[ro(i), acc(i,j,σ1,σ2)] = G σ1 σ2 / eps⁴, so the candidate's argument is
 *      (G/eps⁴) Σ_j Σ_σ2 σ2 σ(σ2 eps q_j) D_ij(t-1) = (G/eps⁴) Σ_j (σ(eps q_j) - σ(-eps q_j)) · 2 eps⁴ (M_{t-1})_ij
 *      = G eps (M_{t-1} q_t)_i (1 + O(eps²))          (σ(a) - σ(-a) = tanh(a/2) = a/2 + O(a³)).
 *    The reset gate is what multiplies the stored key-values by the current query (V_h acts on r ⊙ h_{t-1}); the
 *    σ2 = - copies cancel its 1/2 offset. h(ro(i)) = tanh(G eps (M_{t-1} q_t)_i), readout weight 1/(G eps).
 *    G = READOUT_GAIN = 1/10: M q sums T cubic terms and reaches ~50 for d = 6, T = 8, so with G = 1 the tanh
 *    saturates already at eps = 0.1 (measured: error 0.65 at d = 6, and only 12x smaller at eps = 0.01); with
 *    G = 1/10 this unit's error is dominated by the accumulators' own O(eps²) terms and the eps² law holds from
 *    eps = 0.1 on (cost: 10x more rounding in this unit, immaterial at the default eps).
 * 3. The current token, v_t (k_t · q_t), is a cubic form in x_t: p_i(x) = Σ_{a,b,c} W_V[i,a] (W_Kᵀ W_Q)[b,c] x_a x_b x_c.
 *    The cubes (α·x)³ of the C(d+2, 3) linear forms α in N^d with |α| = 3 (the principal lattice of the simplex)
 *    are a basis of the cubic forms, so p_i = Σ_α c_iα (α·x)³ with c solved from the monomial coefficients. Each
 *    cube is made by two units with z = 1, V_h = 0 and h̃ = tanh(2 s u) or tanh(s u), u = α·x, s = eps/3
 *    (CUBE_SCALE; with s = eps the cube units' O(s² u²) error is 9x larger at the same eps):
 *      -(tanh(2 s u) - 2 tanh(s u)) / (2 s³) = u³ - 2 s² u⁵ + O(s⁴)  (tanh y = y - y³/3 + 2y⁵/15 - ...),
 *    i.e. readout weights -c_iα / (2 s³) and c_iα / s³. (s = eps/3 puts s u at the scale of eps x.)
 * Units: 4d² + d + 2·C(d+2, 3) (d = 4: 108). Rounding: every stage cancels O(1/eps²)-amplified terms, so the
 * rounding error grows like ~1e-16/eps² (measured best eps ~5e-5, see GRU_DEFAULT_EPS).
 */
import { inverse } from "../linalg.ts";
import type { GruConfig } from "../models/gru.ts";
import type { Params } from "../models/types.ts";
import type { Tensor } from "../tensor.ts";
import { zeros } from "../tensor.ts";
import type { AttentionWeights } from "./gated-rnn.ts";

/** Gain G of the readout units' candidate argument G eps (M_{t-1} q_t)_i (see the file comment, step 2). */
export const READOUT_GAIN = 0.1;
/** Cube units use s = CUBE_SCALE · eps (step 3): |α·x| <= 3 max|x|, so s u stays at the scale of eps x. */
export const CUBE_SCALE = 1 / 3;

/**
 * Default eps of gruFromAttention: O(eps²) truncation meets ~1e-16/eps² rounding; measured median error over
 * d = 2..6 (4 draws each) 5e-8 at 5e-5 (1e-7 at 1e-4, 1.4e-7 at 3e-5, 1e-6 at 1e-5).
 */
export const GRU_DEFAULT_EPS = 5e-5;

/** C(n, k) for small n. */
function binom(n: number, k: number): number {
  if (k < 0 || k > n) return 0;
  let r = 1;
  for (let i = 1; i <= k; i++) r = (r * (n - k + i)) / i;
  return Math.round(r);
}

/** Hidden units of gruFromAttention: 4d² accumulators + d readout units + 2·C(d+2, 3) cube units. */
export function gruAttentionUnits(d: number): number {
  return 4 * d * d + d + 2 * binom(d + 2, 3);
}

/** All multi-indices α in N^d with |α| = 3, in lexicographic order (C(d+2, 3) of them). */
export function cubicMultiIndices(d: number): number[][] {
  const out: number[][] = [];
  for (let a = 0; a < d; a++) for (let b = a; b < d; b++) for (let c = b; c < d; c++) {
    const alpha = new Array<number>(d).fill(0);
    alpha[a]++;
    alpha[b]++;
    alpha[c]++;
    out.push(alpha);
  }
  return out;
}

/**
 * Coefficients c [d, m] (m = C(d+2,3)) with Σ_α c_iα (α·x)³ = (W_V x)_i (W_K x · W_Q x) for all x: solves
 * G c_i = p_i, G[β, α] = (3!/β!) α^β (the monomial-x^β coefficient of (α·x)³), p_i[β] = coefficient of x^β in p_i.
 */
export function cubeCoefficients(att: AttentionWeights): { alphas: number[][]; c: Float64Array } {
  const { d } = att;
  const alphas = cubicMultiIndices(d);
  const m = alphas.length;
  const index = new Map(alphas.map((a, k) => [a.join(","), k]));
  const fact = [1, 1, 2, 6];
  const G = new Float64Array(m * m);
  for (let bi = 0; bi < m; bi++) {
    const beta = alphas[bi];
    let multinomial = 6;
    for (const e of beta) multinomial /= fact[e];
    for (let ai = 0; ai < m; ai++) {
      let prod = multinomial;
      for (let k = 0; k < d; k++) prod *= alphas[ai][k] ** beta[k];
      G[bi * m + ai] = prod;
    }
  }
  // A = W_Kᵀ W_Q: k·q = xᵀ A x.
  const A = new Float64Array(d * d);
  for (let j = 0; j < d; j++) for (let b = 0; b < d; b++) for (let c = 0; c < d; c++) A[b * d + c] += att.W_K[j * d + b] * att.W_Q[j * d + c];
  const P = new Float64Array(d * m); // P[i, β]
  for (let i = 0; i < d; i++) {
    for (let a = 0; a < d; a++) for (let b = 0; b < d; b++) for (let c = 0; c < d; c++) {
      const beta = new Array<number>(d).fill(0);
      beta[a]++;
      beta[b]++;
      beta[c]++;
      P[i * m + (index.get(beta.join(",")) as number)] += att.W_V[i * d + a] * A[b * d + c];
    }
  }
  const Ginv = inverse(G, m, "cube basis");
  const c = new Float64Array(d * m);
  for (let i = 0; i < d; i++) for (let a = 0; a < m; a++) {
    let s = 0;
    for (let b = 0; b < m; b++) s += Ginv[a * m + b] * P[i * m + b];
    c[i * m + a] = s;
  }
  return { alphas, c };
}

/**
 * One GRU layer ≈ attention, y_t = h_ro/(G eps) + Σ_α c_α (h_s - h_2s/2)/s³ ≈ M_{t-1} q_t + v_t (k_t·q_t) + O(eps²);
 * App. A.3 (approximate; corrects Table 3's "GRU: -" for approximate constructions); d_in = d_out = d,
 * N = 4d² + d + 2·C(d+2,3) (see the file comment for the derivation), readout [d, N].
 */
export function gruFromAttention(att: AttentionWeights, eps: number): Params<GruConfig> {
  const { d } = att;
  if (!(eps > 0)) throw new Error(`gruFromAttention: eps must be > 0, got ${eps}`);
  const N = gruAttentionUnits(d);
  const t: Record<string, Tensor> = {};
  for (const q of ["r", "z", "h"]) {
    t[`U_${q}`] = zeros([N, d]);
    t[`V_${q}`] = zeros([N, N]);
    t[`b_${q}`] = zeros([N]);
  }
  t.readout = zeros([d, N]);
  const acc = (i: number, j: number, s1: number, s2: number): number => ((i * d + j) * 2 + s1) * 2 + s2; // s = 0: +, 1: -
  const sign = (s: number): number => (s === 0 ? 1 : -1);
  const ro = (i: number): number => 4 * d * d + i;
  const L = Math.log(eps * eps);
  // 1. accumulators
  for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) for (let s1 = 0; s1 < 2; s1++) for (let s2 = 0; s2 < 2; s2++) {
    const n = acc(i, j, s1, s2);
    t.b_z.data[n] = L;
    for (let c = 0; c < d; c++) {
      t.U_z.data[n * d + c] = sign(s1) * eps * att.W_V[i * d + c];
      t.U_h.data[n * d + c] = eps * att.W_K[j * d + c];
      t.U_r.data[n * d + c] = sign(s2) * eps * att.W_Q[j * d + c];
    }
    t.V_h.data[ro(i) * N + n] = (READOUT_GAIN * sign(s1) * sign(s2)) / eps ** 4;
  }
  // 2. readout units
  for (let i = 0; i < d; i++) {
    t.b_z.data[ro(i)] = Infinity;
    t.readout.data[i * N + ro(i)] = 1 / (READOUT_GAIN * eps);
  }
  // 3. cube units
  const { alphas, c } = cubeCoefficients(att);
  const m = alphas.length;
  const s = CUBE_SCALE * eps;
  for (let a = 0; a < m; a++) {
    const u2 = 4 * d * d + d + 2 * a; // tanh(2 s u)
    const u1 = u2 + 1; // tanh(s u)
    t.b_z.data[u2] = Infinity;
    t.b_z.data[u1] = Infinity;
    for (let k = 0; k < d; k++) {
      t.U_h.data[u2 * d + k] = 2 * s * alphas[a][k];
      t.U_h.data[u1 * d + k] = s * alphas[a][k];
    }
    for (let i = 0; i < d; i++) {
      t.readout.data[i * N + u2] = -c[i * m + a] / (2 * s ** 3);
      t.readout.data[i * N + u1] = c[i * m + a] / s ** 3;
    }
  }
  return { family: "gru", config: { d_in: d, hidden: N, d_out: d }, tensors: t };
}
