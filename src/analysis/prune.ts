/**
 * Pruning of dead neurons (Section 3.1, CONVENTIONS.md "Analysis"): a hidden neuron n of eq. 2 is dead when its
 * input-gating product is identically zero (the in_x row or the in_m row is all below the tolerance, constant column
 * included) or when no live output-gating row reads it (its out_x and out_m columns, over live rows, are all below
 * the tolerance); an output-gating row r is dead when its readout column is all below the tolerance, or when its
 * out_x row or its out_m row is (over live hidden neurons). The two rules are iterated to a fixpoint, so removing
 * everything dead changes the function only by the dropped sub-tolerance weights.
 */
import type { GatedRnnConfig } from "../models/gated-rnn.ts";
import type { Params } from "../models/types.ts";

type P = Params<GatedRnnConfig>;

/** What `pruneGatedRnn` removed: the pruned model, the kept original indices and the counts removed. */
export interface PruneResult {
  params: P;
  /** Original indices of the kept hidden neurons (increasing). */
  keptHidden: number[];
  /** Original indices of the kept output-gating rows (increasing). */
  keptRows: number[];
  /** Hidden neurons removed (the paper: 86 of 100). */
  prunedHidden: number;
  /** Output-gating rows removed (the paper: 87 of 100). */
  prunedOutputGating: number;
}

/**
 * The sub-model on hidden neurons `hidden` and output-gating rows `rows` (original indices, in the given order):
 * in_x, in_m [|hidden|, d+1], lambda [|hidden|], out_x, out_m [|rows|, |hidden|], readout [d_out, |rows|], float64.
 */
export function selectNeurons(p: P, hidden: readonly number[], rows: readonly number[]): P {
  const { d_in: d, hidden: N, output_gating: M, d_out: dOut } = p.config;
  const D = d + 1;
  const n = hidden.length;
  const m = rows.length;
  const t = p.tensors;
  const inX = new Float64Array(n * D), inM = new Float64Array(n * D), lambda = new Float64Array(n);
  const outX = new Float64Array(m * n), outM = new Float64Array(m * n), readout = new Float64Array(dOut * m);
  hidden.forEach((h, i) => {
    for (let c = 0; c < D; c++) {
      inX[i * D + c] = t.in_x.data[h * D + c];
      inM[i * D + c] = t.in_m.data[h * D + c];
    }
    lambda[i] = t.lambda.data[h];
  });
  rows.forEach((r, j) => {
    hidden.forEach((h, i) => {
      outX[j * n + i] = t.out_x.data[r * N + h];
      outM[j * n + i] = t.out_m.data[r * N + h];
    });
    for (let o = 0; o < dOut; o++) readout[o * m + j] = t.readout.data[o * M + r];
  });
  return {
    family: "gated-rnn",
    config: { d_in: d, hidden: n, output_gating: m, d_out: dOut },
    tensors: {
      in_x: { shape: [n, D], data: inX }, in_m: { shape: [n, D], data: inM }, lambda: { shape: [n], data: lambda },
      out_x: { shape: [m, n], data: outX }, out_m: { shape: [m, n], data: outM }, readout: { shape: [dOut, m], data: readout },
    },
  };
}

/**
 * Removes dead hidden neurons and output-gating rows (file comment; |w| <= tol counts as zero) and returns the
 * pruned float64 model [N', M'] with the kept indices. If nothing is alive, one hidden neuron and one row are kept
 * with zero weights (the model then outputs 0, as the original does up to the tolerance).
 */
export function pruneGatedRnn(p: P, tol: number): PruneResult {
  const { d_in: d, hidden: N, output_gating: M, d_out: dOut } = p.config;
  const D = d + 1;
  const t = p.tensors;
  const big = (v: number) => Math.abs(v) > tol;
  const hAlive = new Array<boolean>(N).fill(true);
  const rAlive = new Array<boolean>(M).fill(true);
  for (let n = 0; n < N; n++) {
    let ax = false, am = false;
    for (let c = 0; c < D; c++) {
      ax ||= big(t.in_x.data[n * D + c]);
      am ||= big(t.in_m.data[n * D + c]);
    }
    hAlive[n] = ax && am;
  }
  for (let r = 0; r < M; r++) {
    let any = false;
    for (let o = 0; o < dOut; o++) any ||= big(t.readout.data[o * M + r]);
    rAlive[r] = any;
  }
  for (let changed = true; changed; ) {
    changed = false;
    for (let r = 0; r < M; r++) {
      if (!rAlive[r]) continue;
      let gx = false, gm = false;
      for (let n = 0; n < N; n++) {
        if (!hAlive[n]) continue;
        gx ||= big(t.out_x.data[r * N + n]);
        gm ||= big(t.out_m.data[r * N + n]);
      }
      if (!(gx && gm)) {
        rAlive[r] = false;
        changed = true;
      }
    }
    for (let n = 0; n < N; n++) {
      if (!hAlive[n]) continue;
      let read = false;
      for (let r = 0; r < M && !read; r++) if (rAlive[r]) read = big(t.out_x.data[r * N + n]) || big(t.out_m.data[r * N + n]);
      if (!read) {
        hAlive[n] = false;
        changed = true;
      }
    }
  }
  const keptHidden = hAlive.flatMap((a, n) => (a ? [n] : []));
  const keptRows = rAlive.flatMap((a, r) => (a ? [r] : []));
  let params: P;
  if (keptHidden.length === 0 || keptRows.length === 0) {
    params = selectNeurons(p, [0], [0]);
    for (const tensor of Object.values(params.tensors)) tensor.data.fill(0);
  } else {
    params = selectNeurons(p, keptHidden, keptRows);
  }
  return { params, keptHidden, keptRows, prunedHidden: N - keptHidden.length, prunedOutputGating: M - keptRows.length };
}

/** What `functionalPrune` removed on top of its input model. */
export interface FunctionalPruneResult extends PruneResult {
  /** max|y_pruned - y_ref| / max|y_ref| at the evaluated positions. */
  relError: number;
}

/**
 * Functional pruning, an alternative to the weight rule for models trained too briefly for their dead weights to
 * reach zero: every hidden neuron and output-gating row of p gets its single-removal effect on the outputs
 * (row r: |readout[:, r] g_r|; neuron n: the change of y when h_n = 0, both as max over positions / max|y_ref|, exact
 * and computed in one pass), units are removed in increasing order of effect, and the longest prefix whose joint
 * removal keeps max|y - y_ref| / max|y_ref| <= budget is kept (bisection, rechecked on the joint removal).
 * `states(q)` gives the hidden states h [rows, N] of a model at the evaluated positions and `at`, the index of each
 * row's position in yRef [·, d_out] (zeros elsewhere). A unit's removal leaves every other neuron's state as it is
 * (eq. 2 is diagonal), so each candidate's outputs come from p's states, summed in the order a forward of the
 * pruned model sums them (the same bits as gatedRnnOutputsAt on it).
 */
export function functionalPrune(
  p: P, yRef: ArrayLike<number>, budget: number,
  states: (q: P) => { h: Float64Array; at: Int32Array },
): FunctionalPruneResult {
  const { hidden: N, output_gating: M, d_out: dOut } = p.config;
  const t = p.tensors;
  let scale = 0;
  for (let i = 0; i < yRef.length; i++) scale = Math.max(scale, Math.abs(yRef[i]));
  const { h, at } = states(p); // h [R, N] at the evaluated positions
  const R = at.length;
  const effHidden = new Float64Array(N), effRow = new Float64Array(M);
  const a = new Float64Array(M), m = new Float64Array(M), dy = new Float64Array(dOut);
  const ox = t.out_x.data, om = t.out_m.data, ro = t.readout.data;
  for (let s = 0; s < R; s++) {
    const hs = h.subarray(s * N, (s + 1) * N);
    for (let r = 0; r < M; r++) {
      let ax = 0, am = 0;
      for (let n = 0; n < N; n++) {
        ax += ox[r * N + n] * hs[n];
        am += om[r * N + n] * hs[n];
      }
      a[r] = ax;
      m[r] = am;
      for (let o = 0; o < dOut; o++) effRow[r] = Math.max(effRow[r], Math.abs(ro[o * M + r] * ax * am));
    }
    for (let n = 0; n < N; n++) {
      if (hs[n] === 0) continue;
      dy.fill(0);
      for (let r = 0; r < M; r++) {
        const dg = (a[r] - ox[r * N + n] * hs[n]) * (m[r] - om[r * N + n] * hs[n]) - a[r] * m[r];
        if (dg !== 0) for (let o = 0; o < dOut; o++) dy[o] += ro[o * M + r] * dg;
      }
      for (let o = 0; o < dOut; o++) effHidden[n] = Math.max(effHidden[n], Math.abs(dy[o]));
    }
  }
  const units = [
    ...Array.from({ length: N }, (_, n) => ({ kind: "h" as const, i: n, e: effHidden[n] })),
    ...Array.from({ length: M }, (_, r) => ({ kind: "r" as const, i: r, e: effRow[r] })),
  ].sort((u, v) => u.e - v.e);
  const without = (k: number) => {
    const gone = units.slice(0, k);
    const hs = Array.from({ length: N }, (_, n) => n).filter((n) => !gone.some((u) => u.kind === "h" && u.i === n));
    const rs = Array.from({ length: M }, (_, r) => r).filter((r) => !gone.some((u) => u.kind === "r" && u.i === r));
    return { hs, rs };
  };
  const g = new Float64Array(M);
  const errOf = (k: number) => {
    const kept = without(k);
    if (kept.hs.length === 0 || kept.rs.length === 0) return Infinity;
    const hs = Int32Array.from(kept.hs), rs = Int32Array.from(kept.rs);
    let d = 0;
    for (let s = 0; s < R; s++) {
      const h0 = s * N;
      for (let i = 0; i < rs.length; i++) {
        const w = rs[i] * N;
        let ax = 0, am = 0;
        for (let j = 0; j < hs.length; j++) {
          const n = hs[j];
          ax += ox[w + n] * h[h0 + n];
          am += om[w + n] * h[h0 + n];
        }
        g[i] = ax * am;
      }
      for (let o = 0; o < dOut; o++) {
        let v = 0;
        for (let i = 0; i < rs.length; i++) v += ro[o * M + rs[i]] * g[i];
        d = Math.max(d, Math.abs(v - yRef[at[s] * dOut + o]));
      }
    }
    return scale > 0 ? d / scale : d;
  };
  let lo = 0, hi = units.length; // errOf(lo) assumed within budget (checked below); find the largest such k
  const e0 = errOf(0);
  if (!(e0 <= budget)) hi = 0;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (errOf(mid) <= budget) lo = mid;
    else hi = mid - 1;
  }
  const { hs, rs } = without(lo);
  return {
    params: selectNeurons(p, hs, rs), keptHidden: hs, keptRows: rs, prunedHidden: N - hs.length, prunedOutputGating: M - rs.length,
    relError: errOf(lo),
  };
}
