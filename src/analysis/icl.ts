/**
 * In-context regression analysis (Section 4.2, Table 2): the gated RNN's query output against one step of gradient
 * descent, y_hat = eta* sum_t y_t x_tᵀ x_q (eq. 4, App. C.2), compared as exact polynomials.
 *
 * Which polynomial. The query output y_T (tokens e_t = [x_t; y_t], t = 0..T-1, query e_T = [x_q; 0]) of eq. 2 is
 * y = readout((out_x h) ⊙ (out_m h)) with h = sum_t lambda^(T-t) ⊙ u(e_t) + u(e_T), u(e) = (in_x z) ⊙ (in_m z):
 * quadratic in h, and h is a sum of per-token quadratics. Write u(e) = u(0) + ũ(e) (ũ without constant term) and
 * H_0 = sum_t lambda^(T-t) ⊙ u(0); then y = Q(v_q + sum_t w_t) with v_q = H_0 + u(e_T), w_t = lambda^(T-t) ⊙ ũ(e_t)
 * and Q quadratic, so y = Q(v_q) + sum_t 2B(w_t, v_q) + sum_t Q(w_t) + sum_{s≠t} 2B(w_s, w_t). Every monomial of
 * the full polynomial in all tokens' coordinates therefore involves at most two tokens, and the monomials involving
 * only the query and token t are exactly P_t(e_t, x_q) := y_T on the sequence whose other observations are 0
 * (their constant inputs u(0) still accumulate into H_0). P_t is what we expand (variables x_t, y_t, x_q; the
 * query's y part is 0 as in the task), for every t: one GD step gives P_t = eta sum_i x_q,i x_t,i y_t,o for output
 * o, the same for every t. Table 2's entries are the coefficients of x_q,i x_t,i y_t,1 (averaged over t; they differ
 * across t only if lambda is not exactly 0 or 1) and the norm of all other coefficients of P_t (the "residual").
 * The terms pairing two observations, 2B(w_s, w_t), are zero for GD; their norm is reported for one pair
 * (s, t) = (0, T-1) by inclusion-exclusion: P_{s,t} - P_s - P_t + P_none.
 */
import type { GatedVariant } from "../constructions/gated-rnn.ts";
import { constructGatedRnn } from "../constructions/gated-rnn.ts";
import type { AttentionConfig } from "../models/attention.ts";
import type { GatedRnnConfig } from "../models/gated-rnn.ts";
import type { Params } from "../models/types.ts";
import type { Poly, SymbolicSequence } from "./polynomial.ts";
import {
  attentionPolynomial, gatedRnnPolynomial, MonomialBasis, polyConst, polyFull, polynomialDistance, polyVar,
} from "./polynomial.ts";

/**
 * One GD step as linear self-attention (von Oswald et al. 2023): tokens [x; y] of width d = d_x + d_y,
 * W_V [d_y, d] = [0, eta I], W_K = W_Q [d_x, d] = [I, 0], so y_T = eta sum_{t<=T} y_t x_tᵀ x_q (eq. 4; the query adds 0).
 */
export function gdAttention(d_x: number, d_y: number, eta: number): Params<AttentionConfig> {
  const d = d_x + d_y;
  const WV = new Float64Array(d_y * d), WK = new Float64Array(d_x * d), WQ = new Float64Array(d_x * d);
  for (let i = 0; i < d_y; i++) WV[i * d + d_x + i] = eta;
  for (let i = 0; i < d_x; i++) WK[i * d + i] = WQ[i * d + i] = 1;
  return {
    family: "attention",
    config: { d, heads: 1, d_key: d_x, d_out: d_y },
    tensors: { W_V: { shape: [d_y, d], data: WV }, W_K: { shape: [d_x, d], data: WK }, W_Q: { shape: [d_x, d], data: WQ } },
  };
}

/**
 * The exact gated RNN of `gdAttention` (d -> d_y): the construction `variant` (full or compact; W_V is singular)
 * of the square-padded weights W_V = [[0, 0], [0, eta I]], W_K = W_Q = [[I, 0], [0, 0]] ([d, d]), readout rows
 * d_x..d-1 kept. Compact: 21 + 6 hidden neurons and 36 rows for d_x = d_y = 3, of which 9 + 3 and 9 are alive.
 */
export function gdGatedRnn(d_x: number, d_y: number, eta: number, variant: GatedVariant = "compact"): Params<GatedRnnConfig> {
  const d = d_x + d_y;
  const WV = new Float64Array(d * d), WK = new Float64Array(d * d);
  for (let i = 0; i < d_y; i++) WV[(d_x + i) * d + d_x + i] = eta;
  for (let i = 0; i < d_x; i++) WK[i * d + i] = 1;
  const full = constructGatedRnn({ d, W_V: WV, W_K: WK, W_Q: WK }, variant);
  const M = full.config.output_gating;
  const readout = new Float64Array(d_y * M);
  readout.set(full.tensors.readout.data.subarray(d_x * M, d * M));
  return { ...full, config: { ...full.config, d_out: d_y }, tensors: { ...full.tensors, readout: { shape: [d_y, M], data: readout } } };
}

/** The exact per-token polynomial comparison of a model's query output with one GD step (file comment). */
export interface IclPolynomialReport {
  eta: number;
  /** Variable names: x_t,1.., y_t,1.., x_q,1.. (1-based as in Table 2). */
  variables: string[];
  /** terms[t][o][i]: coefficient of x_q,i x_t,i y_t,o in P_t of output o (GD: eta). */
  terms: number[][][];
  /** residual[t][o]: norm of every other coefficient of P_t of output o (GD: 0). */
  residual: number[][];
  /** distance[t]: polynomial distance of P_t to GD's, mean over outputs. */
  distance: number[];
  /** cross[o]: norm of the coefficients pairing observations 0 and T-1 in output o (GD: 0). */
  cross: number[];
}

/** P_t(x_t, y_t, x_q) for t = 0..T-1 of `evalPoly` (any model on symbolic sequences) vs eta Σ_i x_q,i x_t,i y_t,o (Table 2, file comment). */
export function iclPolynomials(
  evalPoly: (seq: SymbolicSequence, basis: MonomialBasis) => Poly[], d_x: number, d_y: number, T: number, eta: number,
): IclPolynomialReport {
  const d = d_x + d_y;
  const basis = new MonomialBasis(d + d_x, 4);
  const names = [
    ...Array.from({ length: d_x }, (_, i) => `x_t,${i + 1}`), ...Array.from({ length: d_y }, (_, i) => `y_t,${i + 1}`),
    ...Array.from({ length: d_x }, (_, i) => `x_q,${i + 1}`),
  ];
  const zero = () => Array.from({ length: d }, () => polyConst(basis, 0));
  const query = [...Array.from({ length: d_x }, (_, i) => polyVar(basis, d + i)), ...Array.from({ length: d_y }, () => polyConst(basis, 0))];
  const gd = gdAttention(d_x, d_y, eta);
  const gdTerm = (o: number, i: number) => {
    const e = new Int32Array(basis.nv);
    e[d + i] = 1;
    e[i] = 1;
    e[d_x + o] = 1;
    return basis.indexOf(e);
  };
  const terms: number[][][] = [], residual: number[][] = [], distance: number[] = [];
  for (let t = 0; t < T; t++) {
    const seq: SymbolicSequence = Array.from({ length: T }, (_, s) => (s === t ? Array.from({ length: d }, (_, j) => polyVar(basis, j)) : zero()));
    seq.push(query);
    const y = evalPoly(seq, basis);
    const ref = attentionPolynomial(gd, seq, basis);
    distance.push(polynomialDistance(basis, y, ref));
    const tt: number[][] = [], rr: number[] = [];
    for (let o = 0; o < d_y; o++) {
      const c = polyFull(basis, y[o]);
      const idx = Array.from({ length: d_x }, (_, i) => gdTerm(o, i));
      tt.push(idx.map((k) => c[k]));
      let s = 0;
      for (let k = 0; k < c.length; k++) if (!idx.includes(k)) s += c[k] * c[k];
      rr.push(Math.sqrt(s));
    }
    terms.push(tt);
    residual.push(rr);
  }
  // cross terms between observations 0 and T-1: variables of token 0 = 0..d-1, of token T-1 = a second copy
  const cross: number[] = new Array(d_y).fill(0);
  if (T >= 2) {
    const b2 = new MonomialBasis(2 * d + d_x, 4);
    const q2 = [...Array.from({ length: d_x }, (_, i) => polyVar(b2, 2 * d + i)), ...Array.from({ length: d_y }, () => polyConst(b2, 0))];
    const z2 = () => Array.from({ length: d }, () => polyConst(b2, 0));
    const tok = (first: number) => Array.from({ length: d }, (_, j) => polyVar(b2, first + j));
    const run = (a: boolean, b: boolean) => {
      const seq: SymbolicSequence = Array.from({ length: T }, (_, s) => (s === 0 && a ? tok(0) : s === T - 1 && b ? tok(d) : z2()));
      seq.push(q2);
      return evalPoly(seq, b2).map((p) => polyFull(b2, p));
    };
    const both = run(true, true), first = run(true, false), last = run(false, true), none = run(false, false);
    for (let o = 0; o < d_y; o++) {
      let s = 0;
      for (let k = 0; k < b2.size; k++) s += (both[o][k] - first[o][k] - last[o][k] + none[o][k]) ** 2;
      cross[o] = Math.sqrt(s);
    }
  }
  return { eta, variables: names, terms, residual, distance, cross };
}

/** `iclPolynomials` for a gated RNN of eq. 2 (Section 4.2; d_in = d_x + d_y, d_out = d_y). */
export function gatedRnnIclPolynomials(p: Params<GatedRnnConfig>, d_x: number, d_y: number, T: number, eta: number): IclPolynomialReport {
  if (p.config.d_in !== d_x + d_y || p.config.d_out !== d_y) {
    throw new Error(`icl analysis: model maps ${p.config.d_in} -> ${p.config.d_out}, the task needs ${d_x + d_y} -> ${d_y}`);
  }
  return iclPolynomials((seq, basis) => gatedRnnPolynomial(p, seq, basis), d_x, d_y, T, eta);
}
