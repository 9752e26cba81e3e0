/**
 * The canonical form of a gated RNN (eq. 2): an equivalent network with the construction's shape, derived from the
 * weights (not retrained). With z = [x; 1] (D = d+1 entries) every input-gating product is a quadratic form,
 * u_n = (a_n·z)(b_n·z) = sum_{i<=j} L[n,(i,j)] z_i z_j with L[n,(i,i)] = a_i b_i and L[n,(i,j)] = a_i b_j + a_j b_i.
 * With lambda rounded to 1 a memory neuron's state is h_n = <L_n, vec Z_t> for the running sums
 * Z_t[(i,j)] = sum_{s<=t} z_s,i z_s,j (Section 2.2 / App. A: the key-value store), with lambda rounded to 0 a forget
 * neuron's state is h_n = <L_n, m(z_t)> with the monomials m(z)[(i,j)] = z_i z_j. The output of eq. 2 is
 * y_o = hᵀ K_o h with the symmetric output kernel K_o = sum_r readout[o,r] sym(out_x[r] out_m[r]ᵀ) (App. B.2, eq. 20),
 * so its memory x forget part is y_o = vec(Z_t)ᵀ G_o m(z_t) with G_o = 2 L_Mᵀ K_o[M,F] L_F ([P, P], P = D(D+1)/2).
 * The construction's shape keeps G_o[(a,b), (c, 1)] for quadratic sums Z_ab (a <= b < d) times linear monomials
 * z_c (the query): the coefficient tensor C[o, (a,b), c] [d_out, d(d+1)/2, d]. One neuron per used basis element
 * ((e_a·z)(e_b·z), lambda = 1 for memory; (e_c·z)(1), lambda = 0 for queries) and gating rows from a rank
 * factorisation of C: slice-wise SVDs (per query neuron, per output or per memory neuron; per query <= d·d_out rows)
 * or through symmetric rank-one matrices (`symmetricFactors`: d(d+1)/2 rows for attention, the lower bound).
 * Everything else is dropped, each part with the output error its removal alone costs: lambda rounding, neurons
 * outside memory/forget, memory x memory and forget x forget terms, degree 0/1 memory sums (sum 1, sum x_a) and
 * degree 0/2 forget monomials, unused basis elements and the rows' factorisation residual. A neuron outside both
 * lambda tolerances is taken as memory, as forget or dropped, whichever keeps the outputs closest.
 */
import { svd } from "../linalg.ts";
import type { GatedRnnConfig } from "../models/gated-rnn.ts";
import type { Params } from "../models/types.ts";
import type { Tensor } from "../tensor.ts";
import { maxAbs, relError } from "../tensor.ts";
import { gatedRnnOutputsAt, gatedRnnStatesAt } from "./analyze.ts";
import type { NeuronGroup } from "./groups.ts";
import { neuronGroups } from "./groups.ts";

type P = Params<GatedRnnConfig>;

/** One part of the student the canonical form leaves out, with what its removal alone costs. */
export interface DroppedPart {
  /** Short name ("lambda rounding", "other neurons", "memory x memory", ...). */
  part: string;
  /** What it is, in words. */
  what: string;
  /** max |y_part| / max |y_student| over the scored positions of the fresh sequences (the error its removal costs). */
  cost: number;
}

/** How the output-gating rows were factorised: C[o, p, c] = sum_r readout[o,r] out_x[r,p] out_m[r,c]. */
export type RowFactorisation = "per-query" | "per-output" | "per-memory" | "symmetric";

/** The outcome of `compressGatedRnn`. */
export interface CompressedModel {
  /** The canonical gated RNN (float64): memory neurons first (pair order), then query neurons. */
  params: P;
  /** Pair (a, b), a <= b < d, of each memory neuron: it holds Z_ab = sum_s x_s,a x_s,b. */
  memory_basis: [number, number][];
  /** Coordinate c of each query neuron: it holds x_t,c. */
  query_basis: number[];
  memory_neurons: number;
  forget_neurons: number;
  output_gating_rows: number;
  /** Which factorisation gave the rows, and the rows each would need (per-query <= d·d_out). */
  row_factorisation: RowFactorisation;
  row_counts: Record<RowFactorisation, number | null>;
  /** The output error each factorisation's truncation costs (relative, as `DroppedPart.cost`). */
  row_costs: Record<RowFactorisation, number | null>;
  /** rank of C flattened along the memory mode: no factorisation needs fewer rows. */
  rows_lower_bound: number;
  /** max |y_canonical - y_student| / max |y_student| over the scored positions of the fresh sequences. */
  max_rel_error: number;
  dropped: DroppedPart[];
  /** C[o][(a,b)][c]: the kept coefficients of Z_ab x_t,c in output o. */
  coefficients: number[][][];
}

/** Options of `compressGatedRnn`. */
export interface CompressOptions {
  /** Memory neurons |lambda - 1| <= this, forget |lambda| <= this (rounded to 1 / 0). Default 1e-2. */
  lambdaTolerance?: number;
  /** A basis element whose contribution is <= this (relative to max|y_student|) is unused. Default 1e-10. */
  unusedTolerance?: number;
  /**
   * Neurons outside both lambda tolerances: true (default) = each becomes memory (lambda -> 1), forget (lambda -> 0)
   * or is dropped, whichever keeps the outputs closest in mean square (greedy, two passes); false = all dropped.
   */
  assignOther?: boolean;
}

/** Index of the pair (i, j), i <= j < D, in the row-major upper triangle (P = D(D+1)/2 pairs). */
export function pairIndex(i: number, j: number, D: number): number {
  const a = Math.min(i, j), b = Math.max(i, j);
  return a * D - (a * (a - 1)) / 2 + (b - a);
}

/** The pairs (i, j), i <= j < D, in `pairIndex` order. */
export function pairs(D: number): [number, number][] {
  const out: [number, number][] = [];
  for (let i = 0; i < D; i++) for (let j = i; j < D; j++) out.push([i, j]);
  return out;
}

/**
 * Quadratic-form coefficients L [N, P] of the input-gating products: (a_n·z)(b_n·z) = sum_{i<=j} L[n,(i,j)] z_i z_j
 * for in_x rows a_n, in_m rows b_n [N, D] (eq. 2's input gating; P = D(D+1)/2).
 */
export function inputQuadratics(p: P): Float64Array {
  const N = p.config.hidden, D = p.config.d_in + 1;
  const pr = pairs(D);
  const L = new Float64Array(N * pr.length);
  const A = p.tensors.in_x.data, B = p.tensors.in_m.data;
  for (let n = 0; n < N; n++) {
    pr.forEach(([i, j], k) => {
      const a = A[n * D + i], b = B[n * D + j];
      L[n * pr.length + k] = i === j ? a * b : a * b + A[n * D + j] * B[n * D + i];
    });
  }
  return L;
}

/** Symmetric output kernels K [d_out, N, N]: K_o = sum_r readout[o,r] (out_x[r] out_m[r]ᵀ + out_m[r] out_x[r]ᵀ)/2 (App. B.2, eq. 20). */
export function outputKernels(p: P): Float64Array {
  const { hidden: N, output_gating: M, d_out: dOut } = p.config;
  const { out_x, out_m, readout } = p.tensors;
  const K = new Float64Array(dOut * N * N);
  for (let o = 0; o < dOut; o++) {
    for (let r = 0; r < M; r++) {
      const w = readout.data[o * M + r] / 2;
      if (w === 0) continue;
      for (let a = 0; a < N; a++) {
        const ca = out_x.data[r * N + a], ea = out_m.data[r * N + a];
        if (ca === 0 && ea === 0) continue;
        for (let b = 0; b < N; b++) K[(o * N + a) * N + b] += w * (ca * out_m.data[r * N + b] + ea * out_x.data[r * N + b]);
      }
    }
  }
  return K;
}

/** The memory x forget coefficients G [d_out, P, P]: G_o = 2 L_Mᵀ K_o[M, F] L_F, y_o ⊃ vec(Z)ᵀ G_o m(z) (file comment). */
export function memoryForgetCoefficients(L: Float64Array, K: Float64Array, N: number, Pn: number, dOut: number, memory: readonly number[], forget: readonly number[]): Float64Array {
  const G = new Float64Array(dOut * Pn * Pn);
  const tmp = new Float64Array(Pn);
  for (let o = 0; o < dOut; o++) {
    for (const n of memory) {
      tmp.fill(0);
      for (const k of forget) {
        const w = 2 * K[(o * N + n) * N + k];
        if (w === 0) continue;
        for (let q = 0; q < Pn; q++) tmp[q] += w * L[k * Pn + q];
      }
      for (let pp = 0; pp < Pn; pp++) {
        const l = L[n * Pn + pp];
        if (l === 0) continue;
        for (let q = 0; q < Pn; q++) G[(o * Pn + pp) * Pn + q] += l * tmp[q];
      }
    }
  }
  return G;
}

/** Per scored position (sequence-major, R = B·|scored| rows): the running sums vec Z_t [R, P] and monomials m(z_t) [R, P] of z = [x; 1]. */
export function monomialFeatures(x: Tensor, scored: readonly number[]): { Z: Float64Array; m: Float64Array; rows: number } {
  const [B, T, d] = x.shape;
  const D = d + 1;
  const pr = pairs(D);
  const Pn = pr.length;
  const S = scored.length;
  const slot = new Int32Array(T).fill(-1);
  scored.forEach((t, i) => (slot[t] = i));
  const Z = new Float64Array(B * S * Pn), m = new Float64Array(B * S * Pn);
  const run = new Float64Array(Pn), mono = new Float64Array(Pn), z = new Float64Array(D);
  for (let b = 0; b < B; b++) {
    run.fill(0);
    for (let t = 0; t < T; t++) {
      for (let c = 0; c < d; c++) z[c] = x.data[(b * T + t) * d + c];
      z[d] = 1;
      pr.forEach(([i, j], k) => {
        mono[k] = z[i] * z[j];
        run[k] += mono[k];
      });
      if (slot[t] >= 0) {
        Z.set(run, (b * S + slot[t]) * Pn);
        m.set(mono, (b * S + slot[t]) * Pn);
      }
    }
  }
  return { Z, m, rows: B * S };
}

/** A rank-R factorisation C[o,p,c] ≈ sum_r U[o,r] A[p,r] Bq[c,r] (U [dOut,R], A [nM,R], Bq [nQ,R]). */
interface Factors {
  R: number;
  U: Float64Array;
  A: Float64Array;
  Bq: Float64Array;
}

/** Matrix of C [n0, n1, n2] with `mode` as rows: [n_mode, product of the other two]. */
function unfold(C: Float64Array, n: [number, number, number], mode: 0 | 1 | 2): Float64Array {
  const [n0, n1, n2] = n;
  const rows = n[mode];
  const cols = (n0 * n1 * n2) / rows;
  const out = new Float64Array(rows * cols);
  for (let i = 0; i < n0; i++) {
    for (let j = 0; j < n1; j++) {
      for (let k = 0; k < n2; k++) {
        const v = C[(i * n1 + j) * n2 + k];
        if (mode === 0) out[i * cols + j * n2 + k] = v;
        else if (mode === 1) out[j * cols + i * n2 + k] = v;
        else out[k * cols + i * n1 + j] = v;
      }
    }
  }
  return out;
}

/** Numerical rank: singular values > rtol · scale. */
function rankOf(s: Float64Array, scale: number, rtol: number): number {
  let r = 0;
  for (const v of s) if (v > rtol * scale) r++;
  return r;
}

/**
 * Rows from slice-wise SVDs: fix one mode (0 = output, 1 = memory, 2 = query) and factorise each slice; every rank-1
 * term of a slice is one gating row whose factor along the fixed mode is a unit vector.
 */
function sliceFactors(C: Float64Array, n: [number, number, number], mode: 0 | 1 | 2, scale: number, rtol: number): Factors {
  const [n0, n1, n2] = n;
  const others = ([0, 1, 2] as const).filter((k) => k !== mode) as (0 | 1 | 2)[];
  const [ra, rb] = [n[others[0]], n[others[1]]];
  const cols: { u: number[]; a: number[]; b: number[] }[] = [];
  for (let s = 0; s < n[mode]; s++) {
    const Mt = new Float64Array(ra * rb);
    for (let i = 0; i < ra; i++) {
      for (let j = 0; j < rb; j++) {
        const idx = [0, 0, 0];
        idx[mode] = s;
        idx[others[0]] = i;
        idx[others[1]] = j;
        Mt[i * rb + j] = C[(idx[0] * n1 + idx[1]) * n2 + idx[2]];
      }
    }
    const { U, S, V } = svd(Mt, ra, rb);
    const r = Math.min(ra, rb);
    for (let k = 0; k < r; k++) {
      if (!(S[k] > rtol * scale)) continue;
      const fac: number[][] = [[], [], []];
      fac[mode] = Array.from({ length: n[mode] }, (_, t) => (t === s ? 1 : 0));
      fac[others[0]] = Array.from({ length: ra }, (_, i) => S[k] * U[i * r + k]);
      fac[others[1]] = Array.from({ length: rb }, (_, j) => V[j * r + k]);
      cols.push({ u: fac[0], a: fac[1], b: fac[2] });
    }
  }
  return packFactors(cols, n0, n1, n2);
}

function packFactors(cols: { u: number[]; a: number[]; b: number[] }[], n0: number, n1: number, n2: number): Factors {
  const R = cols.length;
  const U = new Float64Array(n0 * R), A = new Float64Array(n1 * R), Bq = new Float64Array(n2 * R);
  cols.forEach((c, r) => {
    for (let i = 0; i < n0; i++) U[i * R + r] = c.u[i];
    for (let i = 0; i < n1; i++) A[i * R + r] = c.a[i];
    for (let i = 0; i < n2; i++) Bq[i * R + r] = c.b[i];
  });
  return { R, U, A, Bq };
}

/** C rebuilt from factors: sum_r U[o,r] A[p,r] Bq[c,r]. */
function rebuild(f: Factors, n: [number, number, number]): Float64Array {
  const [n0, n1, n2] = n;
  const C = new Float64Array(n0 * n1 * n2);
  for (let i = 0; i < n0; i++) for (let j = 0; j < n1; j++) for (let k = 0; k < n2; k++) {
    let s = 0;
    for (let r = 0; r < f.R; r++) s += f.U[i * f.R + r] * f.A[j * f.R + r] * f.Bq[k * f.R + r];
    C[(i * n1 + j) * n2 + k] = s;
  }
  return C;
}

/**
 * Rows through symmetric rank-one matrices: the used memory sums Z_U (pairs U) are written in the basis
 * w_(a,a) = e_aa, w_(a,b) = e_ab + e_aa + e_bb (the Z-coordinates of e_a e_aᵀ and (e_a + e_b)(e_a + e_b)ᵀ restricted to
 * U), Z_U = sum_r c_r(Z) w_r with c_(a,b) = Z_ab and c_(a,a) = Z_aa - sum_{b: (a,b) in U} Z_ab. Then
 * y = sum_r c_r(Z) F_r z with F_r = sum_p C[:, p, :] w_r[p] [d_out, nQ], and each rank-1 term of F_r is one row. For
 * attention, y = W_V (sum x xᵀ) M x, F for v vᵀ is (W_V v)(Mᵀ v)ᵀ: rank 1, so |U| = d(d+1)/2 rows, the lower bound.
 */
function symmetricFactors(C: Float64Array, n: [number, number, number], mem: [number, number][], scale: number, rtol: number, maxRank = Infinity): Factors {
  const [n0, n1, n2] = n;
  const at = new Map(mem.map(([a, b], i) => [`${a},${b}`, i]));
  const cols: { u: number[]; a: number[]; b: number[] }[] = [];
  mem.forEach(([a, b], i) => {
    const w = new Float64Array(n1); // w_r over the used pairs
    const read = new Float64Array(n1); // c_r(Z) as weights on the memory neurons
    w[i] = 1;
    read[i] = 1;
    if (a !== b) {
      for (const k of [at.get(`${a},${a}`), at.get(`${b},${b}`)]) if (k !== undefined) w[k] = 1;
    } else {
      mem.forEach(([c, e], k) => {
        if (c !== e && (c === a || e === a)) read[k] = -1;
      });
    }
    const F = new Float64Array(n0 * n2);
    for (let o = 0; o < n0; o++) for (let p = 0; p < n1; p++) if (w[p] !== 0) for (let c = 0; c < n2; c++) F[o * n2 + c] += w[p] * C[(o * n1 + p) * n2 + c];
    const { U, S, V } = svd(F, n0, n2);
    const r = Math.min(n0, n2);
    for (let k = 0; k < Math.min(r, maxRank); k++) {
      if (!(S[k] > rtol * scale)) continue;
      cols.push({ u: Array.from({ length: n0 }, (_, o) => S[k] * U[o * r + k]), a: Array.from(read), b: Array.from({ length: n2 }, (_, c) => V[c * r + k]) });
    }
  });
  return packFactors(cols, n0, n1, n2);
}

/**
 * Greedy role of each neuron in `outside` (groups updated in place): memory (state with lambda = 1), forget
 * (lambda = 0) or dropped (state 0), whichever gives the smallest mean (y - yStudent)² (steadier than the max), two passes, on
 * at most 16384 scored positions (all of them by default). Incremental: with a_r = out_x[r]·h, b_r = out_m[r]·h,
 * changing h_n by delta changes y_o by sum_r D_or (out_x[r,n] delta b_r + out_m[r,n] delta a_r + out_x[r,n]
 * out_m[r,n] delta²) (eq. 2's output).
 */
function assignOutside(p: P, groups: NeuronGroup[], outside: readonly number[], x: Tensor, scored: readonly number[], yStudent: ArrayLike<number>): void {
  const [B, T, d] = x.shape;
  const { hidden: N, output_gating: M, d_out: dOut } = p.config;
  const S = scored.length;
  const Bs = Math.max(1, Math.min(B, Math.floor(16384 / Math.max(1, S))));
  const xs: Tensor = { shape: [Bs, T, d], data: x.data.subarray(0, Bs * T * d) };
  const R = Bs * S;
  const ys = new Float64Array(R * dOut);
  for (let b = 0; b < Bs; b++) scored.forEach((t, i) => {
    for (let o = 0; o < dOut; o++) ys[(b * S + i) * dOut + o] = yStudent[(b * T + t) * dOut + o];
  });
  const scale = maxAbs(ys) || 1;
  const withLambda = (v: number): P => ({ ...p, tensors: { ...p.tensors, lambda: { shape: [N], data: new Float64Array(N).fill(v) } } });
  const H1 = gatedRnnStatesAt(withLambda(1), xs, scored), H0 = gatedRnnStatesAt(withLambda(0), xs, scored);
  const state = (n: number, role: NeuronGroup, r: number) => (role === "memory" ? H1[r * N + n] : role === "forget" ? H0[r * N + n] : 0);
  const ox = p.tensors.out_x.data, om = p.tensors.out_m.data, ro = p.tensors.readout.data;
  const A = new Float64Array(R * M), Bm = new Float64Array(R * M), y = new Float64Array(R * dOut);
  for (let r = 0; r < R; r++) {
    for (let j = 0; j < M; j++) {
      let a = 0, b = 0;
      for (let n = 0; n < N; n++) {
        const h = state(n, groups[n], r);
        a += ox[j * N + n] * h;
        b += om[j * N + n] * h;
      }
      A[r * M + j] = a;
      Bm[r * M + j] = b;
    }
    for (let o = 0; o < dOut; o++) {
      let v = 0;
      for (let j = 0; j < M; j++) v += ro[o * M + j] * A[r * M + j] * Bm[r * M + j];
      y[r * dOut + o] = v;
    }
  }
  // the search minimises the mean squared deviation (steadier than the max on few sequences; the max is reported)
  const errOf = (yy: Float64Array) => {
    let m = 0;
    for (let k = 0; k < yy.length; k++) m += (yy[k] - ys[k]) ** 2;
    return m / (scale * scale * yy.length);
  };
  let best = errOf(y);
  const trial = new Float64Array(R * dOut);
  for (let pass = 0; pass < 2; pass++) {
    for (const n of outside) {
      const rowsUsing = Int32Array.from({ length: M }, (_, j) => j).filter((j) => ox[j * N + n] !== 0 || om[j * N + n] !== 0);
      // the loop's factors gathered per used row (the same values, the same order of operations)
      const U = rowsUsing.length;
      const cxs = Float64Array.from(rowsUsing, (j) => ox[j * N + n]), cms = Float64Array.from(rowsUsing, (j) => om[j * N + n]);
      const cxcm = Float64Array.from(cxs, (cx, i) => cx * cms[i]);
      const roT = new Float64Array(U * dOut);
      for (let i = 0; i < U; i++) for (let o = 0; o < dOut; o++) roT[i * dOut + o] = ro[o * M + rowsUsing[i]];
      let choice: NeuronGroup | null = null;
      for (const role of ["memory", "forget", "other"] as const) {
        if (role === groups[n]) continue;
        trial.set(y);
        for (let r = 0; r < R; r++) {
          const delta = state(n, role, r) - state(n, groups[n], r);
          if (delta === 0) continue;
          const rm = r * M, rd = r * dOut;
          for (let i = 0; i < U; i++) {
            const j = rowsUsing[i];
            const dprod = cxs[i] * delta * Bm[rm + j] + cms[i] * delta * A[rm + j] + cxcm[i] * delta * delta;
            for (let o = 0; o < dOut; o++) trial[rd + o] += roT[i * dOut + o] * dprod;
          }
        }
        const err = errOf(trial);
        if (err < best) {
          best = err;
          choice = role;
        }
      }
      if (choice === null) continue;
      for (let r = 0; r < R; r++) {
        const delta = state(n, choice, r) - state(n, groups[n], r);
        if (delta === 0) continue;
        for (let i = 0; i < U; i++) {
          A[r * M + rowsUsing[i]] += cxs[i] * delta;
          Bm[r * M + rowsUsing[i]] += cms[i] * delta;
        }
      }
      groups[n] = choice;
      for (let r = 0; r < R; r++) for (let o = 0; o < dOut; o++) {
        let v = 0;
        for (let j = 0; j < M; j++) v += ro[o * M + j] * A[r * M + j] * Bm[r * M + j];
        y[r * dOut + o] = v;
      }
    }
  }
}

/**
 * Canonical form of gated-RNN parameters p (float64; usually the pruned student) against the outputs yStudent of the
 * student on x [B, T, d] at the `scored` positions ([B, T, d_out], zeros elsewhere): file comment. The rows come from
 * the factorisation with the fewest rows whose truncation costs at most max(1e-12, 10% of the error of the exact-row
 * form): per-query / per-output / per-memory slice SVDs (exact) or symmetric rank-one (exact for attention; also
 * tried with one row per direction, row_counts / row_costs then give that truncation).
 */
export function compressGatedRnn(p: P, x: Tensor, scored: readonly number[], yStudent: ArrayLike<number>, opts: CompressOptions = {}): CompressedModel {
  const lamTol = opts.lambdaTolerance ?? 1e-2;
  const unusedTol = opts.unusedTolerance ?? 1e-10;
  const { d_in: d, hidden: N, d_out: dOut } = p.config;
  const D = d + 1;
  const pr = pairs(D);
  const Pn = pr.length;
  const yScale = maxAbs(yStudent) || 1;
  const cost = (y: ArrayLike<number>) => maxAbs(y) / yScale;
  const groups: NeuronGroup[] = neuronGroups(p.tensors.lambda.data, lamTol);
  const outside = groups.flatMap((g, n) => (g === "other" ? [n] : []));
  const lam = p.tensors.lambda.data;
  if (outside.length > 0 && (opts.assignOther ?? true)) assignOutside(p, groups, outside, x, scored, yStudent);
  const memory = groups.flatMap((g, n) => (g === "memory" ? [n] : []));
  const forget = groups.flatMap((g, n) => (g === "forget" ? [n] : []));
  const other = groups.flatMap((g, n) => (g === "other" ? [n] : []));
  const toMem = outside.filter((n) => groups[n] === "memory"), toForget = outside.filter((n) => groups[n] === "forget");
  const dropped: DroppedPart[] = [];

  // 1. lambda rounded to exactly 1 (memory) and 0 (forget)
  const rounded: P = { ...p, tensors: { ...p.tensors, lambda: { shape: [N], data: Float64Array.from(lam, (l, n) => (groups[n] === "memory" ? 1 : groups[n] === "forget" ? 0 : l)) } } };
  const yP = gatedRnnOutputsAt(p, x, scored);
  const yRounded = gatedRnnOutputsAt(rounded, x, scored);
  const dy = new Float64Array(yP.length);
  for (let k = 0; k < dy.length; k++) dy[k] = yRounded[k] - yP[k];
  const lamList = (sel: readonly number[]) => sel.map((n) => lam[n].toFixed(3)).join(", ");
  const maxDev = (sel: readonly number[], target: number) => sel.reduce((s, n) => Math.max(s, Math.abs(lam[n] - target)), 0);
  dropped.push({
    part: "lambda rounding",
    what: `memory lambda -> 1 (max |lambda - 1| ${maxDev(memory, 1).toExponential(1)}), forget lambda -> 0 (max ${maxDev(forget, 0).toExponential(1)})` +
      (toMem.length ? `; ${toMem.length} neuron(s) outside the lambda tolerance taken as memory (lambda ${lamList(toMem)})` : "") +
      (toForget.length ? `; ${toForget.length} taken as forget (lambda ${lamList(toForget)})` : ""),
    cost: cost(dy),
  });

  // 2. hidden-state products: other neurons, memory x memory, forget x forget (states of the rounded model)
  const K = outputKernels(rounded);
  const h = gatedRnnStatesAt(rounded, x, scored);
  const R = h.length / N;
  const kernelPart = (inPart: (a: number, b: number) => boolean): Float64Array => {
    const y = new Float64Array(R * dOut);
    const idx: [number, number][] = [];
    for (let a = 0; a < N; a++) for (let b = 0; b < N; b++) if (inPart(a, b)) idx.push([a, b]);
    if (idx.length === 0) return y;
    for (let r = 0; r < R; r++) {
      for (let o = 0; o < dOut; o++) {
        let s = 0;
        for (const [a, b] of idx) s += K[(o * N + a) * N + b] * h[r * N + a] * h[r * N + b];
        y[r * dOut + o] = s;
      }
    }
    return y;
  };
  const g = (n: number) => groups[n];
  dropped.push({ part: "other neurons", what: `${other.length} neuron(s) with lambda neither ~1 nor ~0 dropped${other.length ? ` (lambda ${lamList(other)})` : ""}, every product they enter`, cost: cost(kernelPart((a, b) => g(a) === "other" || g(b) === "other")) });
  dropped.push({ part: "memory x memory", what: "output-gating products of two memory neurons", cost: cost(kernelPart((a, b) => g(a) === "memory" && g(b) === "memory")) });
  dropped.push({ part: "forget x forget", what: "output-gating products of two forget neurons", cost: cost(kernelPart((a, b) => g(a) === "forget" && g(b) === "forget")) });

  // 3. memory x forget through the monomial bases
  const L = inputQuadratics(rounded);
  const G = memoryForgetCoefficients(L, K, N, Pn, dOut, memory, forget);
  const feat = monomialFeatures(x, scored);
  const partOutputs = (coef: (o: number, pp: number, q: number) => number): Float64Array => {
    const Gm = new Float64Array(dOut * Pn * Pn);
    for (let o = 0; o < dOut; o++) for (let pp = 0; pp < Pn; pp++) for (let q = 0; q < Pn; q++) Gm[(o * Pn + pp) * Pn + q] = coef(o, pp, q);
    // per output, the pairs pp and coordinates q with a nonzero coefficient: the zero terms skipped add ±0 to sums
    // that are never -0, so the sums are the full loops' bits (a part often keeps one pair or one coordinate)
    const rowsOf: Int32Array[] = [], colsOf: Int32Array[] = [];
    for (let o = 0; o < dOut; o++) {
      const rowUsed = new Uint8Array(Pn), colUsed = new Uint8Array(Pn);
      for (let pp = 0; pp < Pn; pp++) for (let q = 0; q < Pn; q++) if (Gm[(o * Pn + pp) * Pn + q] !== 0) rowUsed[pp] = colUsed[q] = 1;
      const used = (flags: Uint8Array) => Int32Array.from({ length: Pn }, (_, i) => i).filter((i) => flags[i] === 1);
      rowsOf.push(used(rowUsed));
      colsOf.push(used(colUsed));
    }
    const y = new Float64Array(feat.rows * dOut);
    const v = new Float64Array(Pn);
    const Z = feat.Z, mm = feat.m;
    for (let r = 0; r < feat.rows; r++) {
      const z0 = r * Pn;
      for (let o = 0; o < dOut; o++) {
        const rows = rowsOf[o], cols = colsOf[o];
        for (let c = 0; c < cols.length; c++) v[cols[c]] = 0;
        for (let i = 0; i < rows.length; i++) {
          const pp = rows[i];
          const zp = Z[z0 + pp];
          if (zp === 0) continue;
          const off = (o * Pn + pp) * Pn;
          for (let c = 0; c < cols.length; c++) v[cols[c]] += zp * Gm[off + cols[c]];
        }
        let s = 0;
        for (let c = 0; c < cols.length; c++) s += v[cols[c]] * mm[z0 + cols[c]];
        y[r * dOut + o] = s;
      }
    }
    return y;
  };
  const Gat = (o: number, pp: number, q: number) => G[(o * Pn + pp) * Pn + q];
  const isQuad = (pp: number) => pr[pp][1] < d; // both indices on x
  const isLinear = (q: number) => pr[q][0] < d && pr[q][1] === d; // (c, const)
  const isConst = (q: number) => pr[q][0] === d;
  dropped.push({ part: "memory degree 0/1", what: "memory sums of degree 0 or 1 (sum 1, sum x_a) times forget neurons", cost: cost(partOutputs((o, pp, q) => (isQuad(pp) ? 0 : Gat(o, pp, q)))) });
  dropped.push({ part: "forget degree 0", what: "memory sums of degree 2 times the forget neurons' constant part", cost: cost(partOutputs((o, pp, q) => (isQuad(pp) && isConst(q) ? Gat(o, pp, q) : 0))) });
  dropped.push({ part: "forget degree 2", what: "memory sums of degree 2 times the forget neurons' quadratic part (x_c x_e)", cost: cost(partOutputs((o, pp, q) => (isQuad(pp) && !isConst(q) && !isLinear(q) ? Gat(o, pp, q) : 0))) });

  // 4. used basis elements: a memory pair / query coordinate whose contribution exceeds unusedTol
  const quadPairs = pr.map((_, k) => k).filter(isQuad);
  const linear = pr.map((_, k) => k).filter(isLinear);
  const usedMem = quadPairs.filter((pp) => cost(partOutputs((o, a, q) => (a === pp && isLinear(q) ? Gat(o, a, q) : 0))) > unusedTol);
  const usedQ = linear.filter((q) => cost(partOutputs((o, a, b) => (b === q && isQuad(a) ? Gat(o, a, b) : 0))) > unusedTol);
  const keptSet = (pp: number, q: number) => usedMem.includes(pp) && usedQ.includes(q);
  dropped.push({ part: "unused basis elements", what: `${quadPairs.length - usedMem.length} memory sum(s) and ${linear.length - usedQ.length} query coordinate(s) contributing <= ${unusedTol} (relative)`, cost: cost(partOutputs((o, pp, q) => (isQuad(pp) && isLinear(q) && !keptSet(pp, q) ? Gat(o, pp, q) : 0))) });

  // 5. the kept coefficients C [dOut, nM, nQ] and their factorisation into gating rows
  const nM = usedMem.length, nQ = usedQ.length;
  const dims: [number, number, number] = [dOut, nM, nQ];
  const C = new Float64Array(dOut * nM * nQ);
  for (let o = 0; o < dOut; o++) usedMem.forEach((pp, i) => usedQ.forEach((q, j) => (C[(o * nM + i) * nQ + j] = Gat(o, pp, q))));
  const scale = Math.sqrt(C.reduce((s, v) => s + v * v, 0));
  const rtol = 1e-12;
  const rowCounts: Record<RowFactorisation, number | null> = { "per-query": null, "per-output": null, "per-memory": null, symmetric: null };
  const rowCosts: Record<RowFactorisation, number | null> = { "per-query": null, "per-output": null, "per-memory": null, symmetric: null };
  const memPairs = usedMem.map((pp) => pr[pp]);
  const buildCanonical = (f: Factors): P => canonicalParams(d, dOut, memPairs, usedQ.map((q) => pr[q][0]), f);
  const residualOutputs = (f: Factors) => {
    const Cr = rebuild(f, dims);
    const Gr = new Float64Array(dOut * Pn * Pn);
    for (let o = 0; o < dOut; o++) usedMem.forEach((pp, i) => usedQ.forEach((q, j) => (Gr[(o * Pn + pp) * Pn + q] = C[(o * nM + i) * nQ + j] - Cr[(o * nM + i) * nQ + j])));
    return partOutputs((o, pp, q) => Gr[(o * Pn + pp) * Pn + q]);
  };
  let factors: Factors = { R: 0, U: new Float64Array(0), A: new Float64Array(0), Bq: new Float64Array(0) };
  let how: RowFactorisation = "per-query";
  let lowerBound = 0;
  let rowsCost = 0;
  if (C.length > 0 && scale > 0) {
    const exact = 1e-12;
    const cands: [RowFactorisation, Factors][] = [
      ["per-query", sliceFactors(C, dims, 2, scale, exact)], ["per-output", sliceFactors(C, dims, 0, scale, exact)], ["per-memory", sliceFactors(C, dims, 1, scale, exact)],
    ];
    const cost0 = cost(residualOutputs(cands[0][1]));
    // everything dropped so far, measured: the exact-row form against the student
    const before = relError(gatedRnnOutputsAt(buildCanonical(cands[0][1]), x, scored), yStudent);
    const budget = Math.max(1e-12, 0.1 * before);
    cands.push(["symmetric", symmetricFactors(C, dims, memPairs, scale, exact)]);
    // one row per symmetric rank-one direction (exact for attention; for a student, its truncation cost decides)
    const rankOne = symmetricFactors(C, dims, memPairs, scale, exact, 1);
    if (rankOne.R < cands[3][1].R) cands.push(["symmetric", rankOne]);
    let best: [RowFactorisation, Factors, number] = [cands[0][0], cands[0][1], cost0];
    for (const [k, f] of cands) {
      const c = f === cands[0][1] ? cost0 : cost(residualOutputs(f));
      if (rowCounts[k] === null || f.R < rowCounts[k]!) {
        rowCounts[k] = f.R;
        rowCosts[k] = c;
      }
      if (c <= budget && f.R < best[1].R) best = [k, f, c];
    }
    [how, factors, rowsCost] = best;
    const sm = svd(unfold(C, dims, 1), nM, dOut * nQ).S;
    lowerBound = rankOf(sm, sm[0], 1e-9);
  }
  const params = buildCanonical(factors);
  const yCan = gatedRnnOutputsAt(params, x, scored);
  dropped.push({ part: "gating-row factorisation", what: `${how} factorisation into ${factors.R} rows (truncation / fit residual)`, cost: rowsCost });

  return {
    params,
    memory_basis: usedMem.map((pp) => [pr[pp][0], pr[pp][1]]),
    query_basis: usedQ.map((q) => pr[q][0]),
    memory_neurons: nM,
    forget_neurons: nQ,
    output_gating_rows: factors.R,
    row_factorisation: how,
    row_counts: rowCounts,
    row_costs: rowCosts,
    rows_lower_bound: lowerBound,
    max_rel_error: relError(yCan, yStudent),
    dropped,
    coefficients: Array.from({ length: dOut }, (_, o) => Array.from({ length: nM }, (_, i) => Array.from({ length: nQ }, (_, j) => C[(o * nM + i) * nQ + j]))),
  };
}

/**
 * The canonical gated RNN: memory neuron i = (a, b) gets in_x = e_a, in_m = e_b, lambda = 1 (state Z_ab); query
 * neuron j = c gets in_x = e_c, in_m = e_const, lambda = 0 (state x_t,c); row r reads memory through A[:, r] and
 * queries through Bq[:, r], readout[:, r] = U[:, r], rescaled so max |out_x[r]| = max |out_m[r]| = 1.
 */
function canonicalParams(d: number, dOut: number, mem: [number, number][], qs: number[], f: Factors): P {
  const D = d + 1;
  const nM = mem.length, nQ = qs.length, N = nM + nQ, M = f.R;
  const inX = new Float64Array(N * D), inM = new Float64Array(N * D), lambda = new Float64Array(N);
  mem.forEach(([a, b], i) => {
    inX[i * D + a] = 1;
    inM[i * D + b] = 1;
    lambda[i] = 1;
  });
  qs.forEach((c, j) => {
    inX[(nM + j) * D + c] = 1;
    inM[(nM + j) * D + d] = 1;
  });
  const outX = new Float64Array(M * N), outM = new Float64Array(M * N), readout = new Float64Array(dOut * M);
  for (let r = 0; r < M; r++) {
    let ma = 0, mb = 0;
    for (let i = 0; i < nM; i++) ma = Math.max(ma, Math.abs(f.A[i * M + r]));
    for (let j = 0; j < nQ; j++) mb = Math.max(mb, Math.abs(f.Bq[j * M + r]));
    ma ||= 1;
    mb ||= 1;
    for (let i = 0; i < nM; i++) outX[r * N + i] = f.A[i * M + r] / ma;
    for (let j = 0; j < nQ; j++) outM[r * N + nM + j] = f.Bq[j * M + r] / mb;
    for (let o = 0; o < dOut; o++) readout[o * M + r] = f.U[o * M + r] * ma * mb;
  }
  return {
    family: "gated-rnn",
    config: { d_in: d, hidden: N, output_gating: M, d_out: dOut },
    tensors: {
      in_x: { shape: [N, D], data: inX }, in_m: { shape: [N, D], data: inM }, lambda: { shape: [N], data: lambda },
      out_x: { shape: [M, N], data: outX }, out_m: { shape: [M, N], data: outM }, readout: { shape: [dOut, M], data: readout },
    },
  };
}
