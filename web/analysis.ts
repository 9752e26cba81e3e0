/**
 * What the page computes live about a gated RNN (eq. 2), platform-neutral and pure: neuron roles (lambda and how
 * linear each neuron's input is), memory/forget counts, neuron orderings that make the block structure visible, and
 * the instantaneous-polynomial distance to an attention layer (CONVENTIONS.md, "Analysis"; an independent second
 * implementation of src/analysis/polynomial.ts, cheap enough to run on every weight update). The full analysis
 * after training (pruning, KV/Q scores, canonical order) is src/analysis, run in the training worker.
 */

/** Gated-RNN weights as the page handles them (row-major, shapes of CONVENTIONS.md). */
export interface GatedWeights {
  /** Input width d (the layer sees d + 1 inputs: the constant 1 is last). */
  d: number;
  /** Hidden neurons N. */
  N: number;
  /** Output-gating rows M. */
  M: number;
  /** Output width. */
  dOut: number;
  in_x: ArrayLike<number>;
  in_m: ArrayLike<number>;
  lambda: ArrayLike<number>;
  out_x: ArrayLike<number>;
  out_m: ArrayLike<number>;
  readout: ArrayLike<number>;
}

/** Attention weights [d, d] row-major. */
export interface AttWeights {
  d: number;
  W_V: ArrayLike<number>;
  W_K: ArrayLike<number>;
  W_Q: ArrayLike<number>;
}

/** Builds GatedWeights from named tensors (shapes read off in_x [N, d+1], out_x [M, N], readout [dOut, M]). */
export function gatedWeightsFrom(t: Record<string, { shape: readonly number[]; data: ArrayLike<number> }>): GatedWeights {
  for (const n of ["in_x", "in_m", "lambda", "out_x", "out_m", "readout"]) if (!t[n]) throw new Error(`not a gated RNN: tensor "${n}" is missing`);
  const [N, D] = t.in_x.shape;
  const [M] = t.out_x.shape;
  const [dOut] = t.readout.shape;
  return { d: D - 1, N, M, dOut, in_x: t.in_x.data, in_m: t.in_m.data, lambda: t.lambda.data, out_x: t.out_x.data, out_m: t.out_m.data, readout: t.readout.data };
}

/**
 * Share of the linear part in hidden neuron n's input u_n(x) = (a·x + a0)(b·x + b0): with the quadratic part
 * sym(a bᵀ) and the linear part a0 b + b0 a, returns |lin|² / (|lin|² + |quad|_F²) in [0, 1] (0.5 when both vanish).
 * Memory (key-value) neurons of the construction have 0, query neurons 1.
 */
export function linearShare(w: GatedWeights, n: number): number {
  const D = w.d + 1;
  const a = (c: number) => w.in_x[n * D + c];
  const b = (c: number) => w.in_m[n * D + c];
  const a0 = a(w.d);
  const b0 = b(w.d);
  let lin = 0;
  let quad = 0;
  for (let i = 0; i < w.d; i++) {
    const l = a0 * b(i) + b0 * a(i);
    lin += l * l;
    for (let j = 0; j < w.d; j++) {
      const s = 0.5 * (a(i) * b(j) + a(j) * b(i));
      quad += s * s;
    }
  }
  return lin + quad === 0 ? 0.5 : lin / (lin + quad);
}

/** Per hidden neuron: lambda and linear share (see linearShare). */
export function neuronRoles(w: GatedWeights): { lambda: number[]; linear: number[] } {
  const lambda: number[] = [];
  const linear: number[] = [];
  for (let n = 0; n < w.N; n++) {
    lambda.push(w.lambda[n]);
    linear.push(linearShare(w, n));
  }
  return { lambda, linear };
}

/** Thresholds of "perfect memory" (lambda >= memoryAbove) and "perfect forget" (lambda <= forgetBelow) neurons. */
export interface RoleThresholds {
  memoryAbove: number;
  forgetBelow: number;
}

/** Default thresholds: lambda >= 0.95 is memory, lambda <= 0.05 is forget. */
export const DEFAULT_ROLES: RoleThresholds = { memoryAbove: 0.95, forgetBelow: 0.05 };

/** Counts of memory, forget and other neurons among `alive` (all when omitted). */
export function roleCounts(lambda: ArrayLike<number>, t: RoleThresholds = DEFAULT_ROLES, alive?: readonly number[]): { memory: number; forget: number; other: number } {
  const idx = alive ?? Array.from({ length: lambda.length }, (_, i) => i);
  let memory = 0;
  let forget = 0;
  for (const n of idx) {
    if (lambda[n] >= t.memoryAbove) memory++;
    else if (lambda[n] <= t.forgetBelow) forget++;
  }
  return { memory, forget, other: idx.length - memory - forget };
}

/** Histogram of values in [lo, hi] with `bins` equal bins (values outside are clamped into the end bins). */
export function histogram(values: ArrayLike<number>, bins = 20, lo = 0, hi = 1): number[] {
  const h = new Array<number>(bins).fill(0);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isFinite(v)) continue;
    h[Math.min(bins - 1, Math.max(0, Math.floor(((v - lo) / (hi - lo)) * bins)))]++;
  }
  return h;
}

/** Hidden neurons sorted for display: memory-like first (lambda descending), ties by linear share ascending. */
export function hiddenOrder(w: GatedWeights, alive?: readonly number[]): number[] {
  const idx = alive ? [...alive] : Array.from({ length: w.N }, (_, i) => i);
  const lin = idx.map((n) => linearShare(w, n));
  const key = new Map(idx.map((n, i) => [n, lin[i]]));
  return idx.sort((p, q) => w.lambda[q] - w.lambda[p] || key.get(p)! - key.get(q)!);
}

/**
 * Output-gating rows sorted for display: grouped by the position (in `hidden`, the displayed hidden order) of the
 * hidden neuron each row's out_m weights most, then of its out_x argmax; rows absent from `alive` are dropped.
 */
export function gatingOrder(w: GatedWeights, hidden: readonly number[], alive?: readonly number[]): number[] {
  const rows = alive ? [...alive] : Array.from({ length: w.M }, (_, i) => i);
  const argmax = (W: ArrayLike<number>, r: number) => {
    let best = 0;
    let bv = -1;
    hidden.forEach((n, pos) => {
      const v = Math.abs(W[r * w.N + n]);
      if (v > bv) {
        bv = v;
        best = pos;
      }
    });
    return best;
  };
  const km = new Map(rows.map((r) => [r, argmax(w.out_m, r)]));
  const kx = new Map(rows.map((r) => [r, argmax(w.out_x, r)]));
  return rows.sort((a, b) => km.get(a)! - km.get(b)! || kx.get(a)! - kx.get(b)!);
}

/** The network restricted to the given hidden neurons and output-gating rows (in the given order). */
export function subNetwork(w: GatedWeights, hidden: readonly number[], gating: readonly number[]): GatedWeights {
  const D = w.d + 1;
  const N = hidden.length;
  const M = gating.length;
  const in_x = new Float64Array(N * D);
  const in_m = new Float64Array(N * D);
  const lambda = new Float64Array(N);
  const out_x = new Float64Array(M * N);
  const out_m = new Float64Array(M * N);
  const readout = new Float64Array(w.dOut * M);
  hidden.forEach((n, i) => {
    for (let c = 0; c < D; c++) {
      in_x[i * D + c] = w.in_x[n * D + c];
      in_m[i * D + c] = w.in_m[n * D + c];
    }
    lambda[i] = w.lambda[n];
  });
  gating.forEach((r, j) => {
    hidden.forEach((n, i) => {
      out_x[j * N + i] = w.out_x[r * w.N + n];
      out_m[j * N + i] = w.out_m[r * w.N + n];
    });
    for (let o = 0; o < w.dOut; o++) readout[o * M + j] = w.readout[o * w.M + r];
  });
  return { d: w.d, N, M, dOut: w.dOut, in_x, in_m, lambda, out_x, out_m, readout };
}

/** Monomials of degree <= 4 in d variables, as sorted index tuples ([] is the constant), and their lookup. */
export function monomials(d: number, maxDegree = 4): { list: number[][]; index: Map<string, number> } {
  const list: number[][] = [];
  const rec = (start: number, cur: number[]) => {
    list.push([...cur]);
    if (cur.length === maxDegree) return;
    for (let i = start; i < d; i++) rec(i, [...cur, i]);
  };
  rec(0, []);
  return { list, index: new Map(list.map((m, i) => [m.join(","), i])) };
}

/**
 * Coefficients of the one-step map x -> y of the gated RNN from an empty state (a degree-4 polynomial):
 * [dOut][monomial] over monomials(d, 4).
 */
export function rnnPolynomial(w: GatedWeights): Float64Array[] {
  const { d, N, M } = w;
  const D = d + 1;
  const { list, index } = monomials(d);
  // monomial index of z_i z_j z_k z_l (z_d = 1 drops out), over (d+1)^4 index tuples
  const D2 = D * D;
  const mon = new Int32Array(D2 * D2);
  for (let q = 0; q < D2 * D2; q++) {
    const idx = [Math.floor(q / (D2 * D)), Math.floor(q / D2) % D, Math.floor(q / D) % D, q % D].filter((v) => v < d).sort((a, b) => a - b);
    mon[q] = index.get(idx.join(","))!;
  }
  const g = Array.from({ length: M }, () => new Float64Array(list.length));
  const P = new Float64Array(D2);
  const Q = new Float64Array(D2);
  for (let m = 0; m < M; m++) {
    P.fill(0);
    Q.fill(0);
    for (let n = 0; n < N; n++) {
      const ox = w.out_x[m * N + n];
      const om = w.out_m[m * N + n];
      if (ox === 0 && om === 0) continue;
      for (let i = 0; i < D; i++) {
        const a = w.in_x[n * D + i];
        if (a === 0) continue;
        for (let j = 0; j < D; j++) {
          const ab = a * w.in_m[n * D + j];
          P[i * D + j] += ox * ab;
          Q[i * D + j] += om * ab;
        }
      }
    }
    const gm = g[m];
    for (let ij = 0; ij < D2; ij++) {
      const p = P[ij];
      if (p === 0) continue;
      for (let kl = 0; kl < D2; kl++) gm[mon[ij * D2 + kl]] += p * Q[kl];
    }
  }
  return Array.from({ length: w.dOut }, (_, o) => {
    const c = new Float64Array(list.length);
    for (let m = 0; m < M; m++) {
      const r = w.readout[o * M + m];
      if (r === 0) continue;
      const gm = g[m];
      for (let k = 0; k < c.length; k++) c[k] += r * gm[k];
    }
    return c;
  });
}

/** Coefficients of attention's one-step map y = W_V x (xᵀ W_Kᵀ W_Q x) (degree 3) over monomials(d, 4). */
export function attentionPolynomial(a: AttWeights): Float64Array[] {
  const { d } = a;
  const { list, index } = monomials(d);
  const A = new Float64Array(d * d); // W_Kᵀ W_Q
  for (let j = 0; j < d; j++) for (let k = 0; k < d; k++) {
    let s = 0;
    for (let r = 0; r < d; r++) s += a.W_K[r * d + j] * a.W_Q[r * d + k];
    A[j * d + k] = s;
  }
  return Array.from({ length: d }, (_, o) => {
    const c = new Float64Array(list.length);
    for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) for (let k = 0; k < d; k++) {
      c[index.get([i, j, k].sort((p, q) => p - q).join(","))!] += a.W_V[o * d + i] * A[j * d + k];
    }
    return c;
  });
}

/** Polynomial distance: mean over output units of |c_rnn - c_att| / |c_att| (CONVENTIONS.md). */
export function polynomialDistance(w: GatedWeights, a: AttWeights): number {
  if (w.d !== a.d || w.dOut !== a.d) throw new Error(`polynomial distance: RNN d=${w.d}, d_out=${w.dOut} vs attention d=${a.d}`);
  const cr = rnnPolynomial(w);
  const ca = attentionPolynomial(a);
  let sum = 0;
  for (let o = 0; o < a.d; o++) {
    let num = 0;
    let den = 0;
    for (let k = 0; k < ca[o].length; k++) {
      num += (cr[o][k] - ca[o][k]) ** 2;
      den += ca[o][k] ** 2;
    }
    sum += Math.sqrt(num) / Math.sqrt(den || 1);
  }
  return sum / a.d;
}
