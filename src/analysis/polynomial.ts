/**
 * Exact polynomial expansion of the gated RNN (eq. 2) and of linear self-attention (eq. 1) on symbolic inputs
 * (Section 3.1 "instantaneous polynomial", Section 4.2 / Table 2). Nothing is fitted: every coefficient is computed
 * by expanding products of linear forms in the input coordinates, so a construction matches attention to float64
 * rounding.
 *
 * A polynomial over `nv` variables of degree <= maxDeg is a dense coefficient vector over a graded monomial basis
 * (degree 0, then degree 1, ... ; within a degree lexicographic in the exponents), so a polynomial of degree <= k is
 * a prefix of length `basis.sizeUpTo[k]`. A "symbolic sequence" is a list of tokens whose coordinates are
 * polynomials of degree <= 1 (a variable, or a constant such as 0); the model maps it to d_out polynomials, the
 * output at the last token.
 */
import type { AttentionConfig } from "../models/attention.ts";
import { attentionConfig } from "../models/attention.ts";
import type { GatedRnnConfig } from "../models/gated-rnn.ts";
import type { Params } from "../models/types.ts";

/** Graded monomial basis over nv variables up to total degree maxDeg (the index of every monomial and its exponents). */
export class MonomialBasis {
  readonly nv: number;
  readonly maxDeg: number;
  /** Exponent vector of monomial i. */
  readonly exps: Int32Array[];
  /** Total degree of monomial i. */
  readonly degree: Int32Array;
  /** sizeUpTo[k] = number of monomials of degree <= k (k = 0..maxDeg). */
  readonly sizeUpTo: number[];
  /** Numeric key sum_v e_v (maxDeg+1)^v of monomial i: keys add when monomials multiply. */
  readonly keys: Float64Array;
  private readonly index = new Map<number, number>();

  /** The basis of all monomials of degree <= maxDeg in nv variables: C(nv + maxDeg, maxDeg) of them. */
  constructor(nv: number, maxDeg: number) {
    if (!(Number.isInteger(nv) && nv >= 1 && Number.isInteger(maxDeg) && maxDeg >= 0)) throw new Error(`MonomialBasis: bad nv=${nv} maxDeg=${maxDeg}`);
    if (Math.pow(maxDeg + 1, nv) > Number.MAX_SAFE_INTEGER) throw new Error(`MonomialBasis: ${nv} variables of degree ${maxDeg} is too many`);
    this.nv = nv;
    this.maxDeg = maxDeg;
    const exps: Int32Array[] = [];
    const sizes: number[] = [];
    for (let deg = 0; deg <= maxDeg; deg++) {
      // all exponent vectors with sum deg, lexicographically descending (x0^deg first)
      const rec = (v: number, left: number, cur: number[]) => {
        if (v === nv - 1) {
          exps.push(Int32Array.from([...cur, left]));
          return;
        }
        for (let e = left; e >= 0; e--) rec(v + 1, left - e, [...cur, e]);
      };
      rec(0, deg, []);
      sizes.push(exps.length);
    }
    this.exps = exps;
    this.sizeUpTo = sizes;
    this.degree = Int32Array.from(exps.map((e) => e.reduce((a, b) => a + b, 0)));
    this.keys = new Float64Array(exps.length);
    for (let i = 0; i < exps.length; i++) {
      let key = 0;
      for (let v = nv - 1; v >= 0; v--) key = key * (maxDeg + 1) + exps[i][v];
      this.keys[i] = key;
      this.index.set(key, i);
    }
  }

  /** Number of monomials (degree <= maxDeg). */
  get size(): number {
    return this.exps.length;
  }

  /** Index of the monomial with these exponents (length nv), or -1 when its degree exceeds maxDeg. */
  indexOf(exp: ArrayLike<number>): number {
    let key = 0;
    for (let v = this.nv - 1; v >= 0; v--) key = key * (this.maxDeg + 1) + exp[v];
    return this.index.get(key) ?? -1;
  }

  /** Index of the product of monomials i and j (their degrees must sum to <= maxDeg). */
  mulIndex(i: number, j: number): number {
    const k = this.index.get(this.keys[i] + this.keys[j]);
    if (k === undefined) throw new Error(`MonomialBasis: product of degree ${this.degree[i] + this.degree[j]} exceeds ${this.maxDeg}`);
    return k;
  }

  /** Human name of monomial i, e.g. "x_q,1 x_t,1 y_t,1" or "x1^2 x3" (names[v] per variable; "1" for the constant). */
  name(i: number, names?: readonly string[]): string {
    const parts: string[] = [];
    this.exps[i].forEach((e, v) => {
      if (e === 0) return;
      const n = names?.[v] ?? `x${v + 1}`;
      parts.push(e === 1 ? n : `${n}^${e}`);
    });
    return parts.length ? parts.join(" ") : "1";
  }
}

/** A polynomial of degree <= deg: coefficients c over the first basis.sizeUpTo[deg] monomials. */
export interface Poly {
  deg: number;
  c: Float64Array;
}

/** The constant polynomial v (degree 0). */
export function polyConst(basis: MonomialBasis, v: number): Poly {
  const c = new Float64Array(basis.sizeUpTo[0]);
  c[0] = v;
  return { deg: 0, c };
}

/** The variable x_v as a degree-1 polynomial. */
export function polyVar(basis: MonomialBasis, v: number): Poly {
  const c = new Float64Array(basis.sizeUpTo[1]);
  const e = new Int32Array(basis.nv);
  e[v] = 1;
  c[basis.indexOf(e)] = 1;
  return { deg: 1, c };
}

/** The zero polynomial of degree <= deg. */
export function polyZero(basis: MonomialBasis, deg: number): Poly {
  return { deg, c: new Float64Array(basis.sizeUpTo[deg]) };
}

/** acc += w · p in place (acc.deg must be >= p.deg). */
export function polyAxpy(acc: Poly, w: number, p: Poly): void {
  if (w === 0) return;
  if (p.deg > acc.deg) throw new Error(`polyAxpy: degree ${p.deg} into an accumulator of degree ${acc.deg}`);
  for (let i = 0; i < p.c.length; i++) acc.c[i] += w * p.c[i];
}

/** sum_i w_i p_i as a polynomial of degree max_i deg(p_i) (weights w over the same index as ps). */
export function polyLinComb(basis: MonomialBasis, w: ArrayLike<number>, ps: readonly Poly[]): Poly {
  let deg = 0;
  for (let i = 0; i < ps.length; i++) if (w[i] !== 0) deg = Math.max(deg, ps[i].deg);
  const acc = polyZero(basis, deg);
  for (let i = 0; i < ps.length; i++) if (w[i] !== 0) polyAxpy(acc, w[i], ps[i]);
  return acc;
}

/** p · q exactly, degree deg(p) + deg(q) (<= basis.maxDeg). */
export function polyMul(basis: MonomialBasis, p: Poly, q: Poly): Poly {
  const out = polyZero(basis, p.deg + q.deg);
  for (let i = 0; i < p.c.length; i++) {
    const a = p.c[i];
    if (a === 0) continue;
    for (let j = 0; j < q.c.length; j++) {
      const b = q.c[j];
      if (b !== 0) out.c[basis.mulIndex(i, j)] += a * b;
    }
  }
  return out;
}

/** The coefficients of p over the whole basis (zero-padded to basis.size). */
export function polyFull(basis: MonomialBasis, p: Poly): Float64Array {
  const c = new Float64Array(basis.size);
  c.set(p.c);
  return c;
}

/** p(x) at a point x [nv] (for tests and spot checks). */
export function polyEval(basis: MonomialBasis, p: Poly, x: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < p.c.length; i++) {
    if (p.c[i] === 0) continue;
    let m = p.c[i];
    const e = basis.exps[i];
    for (let v = 0; v < basis.nv; v++) for (let k = 0; k < e[v]; k++) m *= x[v];
    s += m;
  }
  return s;
}

/** A symbolic sequence: tokens[t][j] = coordinate j of token t, each a polynomial of degree <= 1. */
export type SymbolicSequence = Poly[][];

/** The token [x_first .. x_first+d-1] (variables): the one-step input of Section 3.1's instantaneous polynomial. */
export function variableToken(basis: MonomialBasis, d: number, first = 0): Poly[] {
  return Array.from({ length: d }, (_, j) => polyVar(basis, first + j));
}

/**
 * Eq. 2 on a symbolic sequence from the empty state, output at the last token L-1 (d_out polynomials, degree <= 4):
 * h_n = sum_s lambda_n^(L-1-s) (in_x[n]·z_s)(in_m[n]·z_s) with z_s = [token_s; 1], y = readout ((out_x h) ⊙ (out_m h)).
 * Shapes: in_x, in_m [N, d+1], lambda [N], out_x, out_m [M, N], readout [d_out, M]; basis.maxDeg >= 4.
 */
export function gatedRnnPolynomial(p: Params<GatedRnnConfig>, seq: SymbolicSequence, basis: MonomialBasis): Poly[] {
  const { d_in: d, hidden: N, output_gating: M, d_out: dOut } = p.config;
  const D = d + 1;
  const t = p.tensors;
  const L = seq.length;
  if (L === 0) throw new Error("gatedRnnPolynomial: empty sequence");
  for (const tok of seq) if (tok.length !== d) throw new Error(`gatedRnnPolynomial: tokens must have ${d} coordinates, got ${tok.length}`);
  const one = polyConst(basis, 1);
  const h: Poly[] = [];
  for (let n = 0; n < N; n++) h.push(polyZero(basis, 2));
  for (let s = 0; s < L; s++) {
    const z = [...seq[s], one];
    for (let n = 0; n < N; n++) {
      const decay = Math.pow(t.lambda.data[n], L - 1 - s);
      if (decay === 0) continue;
      const a = polyLinComb(basis, t.in_x.data.subarray(n * D, (n + 1) * D), z);
      const b = polyLinComb(basis, t.in_m.data.subarray(n * D, (n + 1) * D), z);
      polyAxpy(h[n], decay, polyMul(basis, a, b));
    }
  }
  const y: Poly[] = Array.from({ length: dOut }, () => polyZero(basis, 4));
  for (let r = 0; r < M; r++) {
    let used = false;
    for (let o = 0; o < dOut; o++) if (t.readout.data[o * M + r] !== 0) used = true;
    if (!used) continue;
    const gx = polyLinComb(basis, t.out_x.data.subarray(r * N, (r + 1) * N), h);
    const gm = polyLinComb(basis, t.out_m.data.subarray(r * N, (r + 1) * N), h);
    const g = polyMul(basis, gx, gm);
    for (let o = 0; o < dOut; o++) polyAxpy(y[o], t.readout.data[o * M + r], g);
  }
  return y;
}

/**
 * Eq. 1 on a symbolic sequence, output at the last token L-1 (d_out polynomials, degree <= 3):
 * y = sum_heads W_V (sum_{s<=L-1} e_s e_sᵀ) W_Kᵀ W_Q e_{L-1}. Shapes W_V [(heads,) d_out, d], W_K, W_Q [(heads,) d_key, d].
 */
export function attentionPolynomial(p: Params<AttentionConfig>, seq: SymbolicSequence, basis: MonomialBasis): Poly[] {
  const c = attentionConfig(p.config);
  const { d, heads, d_key: dk, d_out: dv } = c;
  const L = seq.length;
  if (L === 0) throw new Error("attentionPolynomial: empty sequence");
  for (const tok of seq) if (tok.length !== d) throw new Error(`attentionPolynomial: tokens must have ${d} coordinates, got ${tok.length}`);
  const y: Poly[] = Array.from({ length: dv }, () => polyZero(basis, 3));
  const proj = (W: ArrayLike<number>, rows: number, h: number, tok: Poly[]): Poly[] =>
    Array.from({ length: rows }, (_, i) => polyLinComb(basis, Array.from({ length: d }, (_, j) => W[(h * rows + i) * d + j]), tok));
  for (let h = 0; h < heads; h++) {
    const q = proj(p.tensors.W_Q.data, dk, h, seq[L - 1]);
    for (let s = 0; s < L; s++) {
      const k = proj(p.tensors.W_K.data, dk, h, seq[s]);
      const v = proj(p.tensors.W_V.data, dv, h, seq[s]);
      const score = polyZero(basis, 2);
      for (let j = 0; j < dk; j++) polyAxpy(score, 1, polyMul(basis, k[j], q[j]));
      for (let i = 0; i < dv; i++) polyAxpy(y[i], 1, polyMul(basis, v[i], score));
    }
  }
  return y;
}

/**
 * Polynomial distance (CONVENTIONS.md, Table 1): mean over output units o of ||c_o - r_o|| / ||r_o|| over the
 * coefficients of every monomial of degree <= basis.maxDeg (a unit whose reference is 0 contributes ||c_o||).
 */
export function polynomialDistance(basis: MonomialBasis, model: readonly Poly[], reference: readonly Poly[]): number {
  if (model.length !== reference.length) throw new Error(`polynomialDistance: ${model.length} vs ${reference.length} output units`);
  let sum = 0;
  for (let o = 0; o < model.length; o++) {
    const a = polyFull(basis, model[o]);
    const b = polyFull(basis, reference[o]);
    let num = 0, den = 0;
    for (let i = 0; i < a.length; i++) {
      num += (a[i] - b[i]) ** 2;
      den += b[i] ** 2;
    }
    sum += den > 0 ? Math.sqrt(num / den) : Math.sqrt(num);
  }
  return sum / model.length;
}

/** Per degree k = 0..maxDeg: mean_o ||(c_o - r_o) restricted to degree k|| / ||r_o|| (Table 1's distance split by degree). */
export function polynomialErrorByDegree(basis: MonomialBasis, model: readonly Poly[], reference: readonly Poly[]): number[] {
  const out = new Array<number>(basis.maxDeg + 1).fill(0);
  for (let o = 0; o < model.length; o++) {
    const a = polyFull(basis, model[o]);
    const b = polyFull(basis, reference[o]);
    let den = 0;
    for (let i = 0; i < b.length; i++) den += b[i] ** 2;
    const per = new Array<number>(basis.maxDeg + 1).fill(0);
    for (let i = 0; i < a.length; i++) per[basis.degree[i]] += (a[i] - b[i]) ** 2;
    for (let k = 0; k <= basis.maxDeg; k++) out[k] += (den > 0 ? Math.sqrt(per[k] / den) : Math.sqrt(per[k])) / model.length;
  }
  return out;
}

/**
 * The instantaneous polynomials of Section 3.1 (one time step from the empty state, input x = variables 0..d-1):
 * gated RNN (degree 4) and attention (degree 3) over the degree-<=4 basis in d variables, and their distance.
 */
export function instantaneousPolynomials(model: Params<GatedRnnConfig>, reference: Params<AttentionConfig>): {
  basis: MonomialBasis; rnn: Poly[]; attention: Poly[]; distance: number; errorByDegree: number[];
} {
  const d = model.config.d_in;
  const ref = attentionConfig(reference.config);
  if (ref.d !== d || ref.d_out !== model.config.d_out) {
    throw new Error(`instantaneous polynomial: model maps ${d} -> ${model.config.d_out} but the attention layer maps ${ref.d} -> ${ref.d_out}`);
  }
  const basis = new MonomialBasis(d, 4);
  const seq = [variableToken(basis, d)];
  const rnn = gatedRnnPolynomial(model, seq, basis);
  const attention = attentionPolynomial(reference, seq, basis);
  return { basis, rnn, attention, distance: polynomialDistance(basis, rnn, attention), errorByDegree: polynomialErrorByDegree(basis, rnn, attention) };
}

/**
 * A check of the recurrence that the one-step polynomial cannot see (it ignores lambda): the output at t = T-1 of a
 * length-T sequence whose tokens 0 and T-1 are variables (x_0 = variables 0..d-1, x_{T-1} = d..2d-1) and whose
 * other tokens are 0 — exactly the monomials of the whole-sequence polynomial that involve only the first and last
 * tokens — for the gated RNN and attention, over the degree-<=4 basis in 2d variables, and their distance.
 */
export function firstLastPolynomials(model: Params<GatedRnnConfig>, reference: Params<AttentionConfig>, T: number): {
  basis: MonomialBasis; rnn: Poly[]; attention: Poly[]; distance: number;
} {
  const d = model.config.d_in;
  const basis = new MonomialBasis(2 * d, 4);
  const zero = Array.from({ length: d }, () => polyConst(basis, 0));
  const seq: SymbolicSequence = Array.from({ length: Math.max(T, 2) }, (_, t) => (t === 0 ? variableToken(basis, d, 0) : zero));
  seq[seq.length - 1] = variableToken(basis, d, d);
  const rnn = gatedRnnPolynomial(model, seq, basis);
  const attention = attentionPolynomial(reference, seq, basis);
  return { basis, rnn, attention, distance: polynomialDistance(basis, rnn, attention) };
}
