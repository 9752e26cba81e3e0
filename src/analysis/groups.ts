/**
 * Neuron groups and a canonical ordering of a (pruned) gated RNN, Section 3.1 / Figure 2A: perfect memory neurons
 * (lambda ~ 1: they accumulate key-values), perfect forget neurons (lambda ~ 0: they hold the current query) and
 * the others. The ordering only applies Section 2.2's invariances (src/constructions/invariances.ts), so the
 * function is unchanged: hidden neurons memory -> forget -> other; for forget neurons the gating row with the larger
 * share on the constant input goes to in_m, scaled so its constant entry is 1 (in_x then holds the query); memory
 * neurons get balanced row norms; output-gating rows are oriented so out_x reads memory neurons and out_m the
 * others, scaled so the largest |out_m| entry is +1; rows of the block structure (out_x reads only memory, out_m
 * only forget neurons) come first, sorted by the forget neuron they read, the rows outside it (App. B.2) last.
 */
import { permuteHidden, permuteOutputRows, rescaleGatingRow, swapGatingRows } from "../constructions/invariances.ts";
import type { GatedRnnConfig } from "../models/gated-rnn.ts";
import type { Params } from "../models/types.ts";

type P = Params<GatedRnnConfig>;

/** "memory": |lambda - 1| <= tol; "forget": |lambda| <= tol; "other" otherwise. */
export type NeuronGroup = "memory" | "forget" | "other";

/** group_n = memory if |lambda_n - 1| <= tol, forget if |lambda_n| <= tol, else other (Section 3.1); lambda [N]. */
export function neuronGroups(lambda: ArrayLike<number>, tol: number): NeuronGroup[] {
  return Array.from(lambda, (l) => (Math.abs(l - 1) <= tol ? "memory" : Math.abs(l) <= tol ? "forget" : "other"));
}

/** #memory, #forget, #other neurons (Section 3.1: 10 and 4 remain in the paper's student, d = 4). */
export function groupCounts(groups: readonly NeuronGroup[]): Record<NeuronGroup, number> {
  const c = { memory: 0, forget: 0, other: 0 };
  for (const g of groups) c[g]++;
  return c;
}

/** The canonically ordered model (same function) and how it was obtained. */
export interface CanonicalModel {
  params: P;
  /** hiddenOrder[i] = index in the input model of hidden neuron i of the result. */
  hiddenOrder: number[];
  /** rowOrder[j] = index in the input model of output-gating row j of the result. */
  rowOrder: number[];
  /** Group of each hidden neuron of the result. */
  groups: NeuronGroup[];
  /** Per output-gating row of the result: true when it lies in the memory x forget block structure. */
  blockRows: boolean[];
}

function absSum(a: ArrayLike<number>, from: number, len: number, keep?: (i: number) => boolean): number {
  let s = 0;
  for (let i = 0; i < len; i++) if (!keep || keep(i)) s += Math.abs(a[from + i]);
  return s;
}

/** Index (within the slice) and value of the largest-magnitude entry of a[from .. from+len). */
function argmaxAbs(a: ArrayLike<number>, from: number, len: number): { i: number; v: number } {
  let i = 0;
  for (let k = 1; k < len; k++) if (Math.abs(a[from + k]) > Math.abs(a[from + i])) i = k;
  return { i, v: a[from + i] };
}

/**
 * Canonical ordering of a gated RNN (file comment) with groups from `lambdaTol`; `tol` decides which output rows
 * are in the block structure (weights outside it all <= tol). in_x, in_m [N, d+1], out_x, out_m [M, N].
 */
export function canonicalize(p: P, lambdaTol: number, tol: number): CanonicalModel {
  const N = p.config.hidden;
  const D = p.config.d_in + 1;
  const g0 = neuronGroups(p.tensors.lambda.data, lambdaTol);
  const rank: Record<NeuronGroup, number> = { memory: 0, forget: 1, other: 2 };
  const hiddenOrder = Array.from({ length: N }, (_, n) => n).sort((a, b) => rank[g0[a]] - rank[g0[b]] || a - b);
  let q = permuteHidden(p, hiddenOrder);
  const groups = hiddenOrder.map((n) => g0[n]);

  for (let n = 0; n < N; n++) {
    const X = q.tensors.in_x.data, Mt = q.tensors.in_m.data;
    if (groups[n] === "forget") {
      const share = (a: ArrayLike<number>) => {
        const s = absSum(a, n * D, D);
        return s > 0 ? Math.abs(a[n * D + D - 1]) / s : 0;
      };
      if (share(X) > share(Mt)) q = swapGatingRows(q, "in", n);
      const c = q.tensors.in_m.data[n * D + D - 1];
      if (c !== 0) q = rescaleGatingRow(q, "in", n, c);
    } else {
      const nx = Math.hypot(...X.subarray(n * D, (n + 1) * D));
      const nm = Math.hypot(...Mt.subarray(n * D, (n + 1) * D));
      if (nx > 0 && nm > 0) {
        const sign = argmaxAbs(X, n * D, D).v < 0 ? -1 : 1;
        q = rescaleGatingRow(q, "in", n, sign * Math.sqrt(nm / nx));
      }
    }
  }

  const M = q.config.output_gating;
  const isMem = (i: number) => groups[i] === "memory";
  const isForget = (i: number) => groups[i] === "forget";
  for (let r = 0; r < M; r++) {
    const X = q.tensors.out_x.data, Mt = q.tensors.out_m.data;
    const memShare = (a: ArrayLike<number>) => {
      const s = absSum(a, r * N, N);
      return s > 0 ? absSum(a, r * N, N, isMem) / s : 0;
    };
    if (memShare(Mt) > memShare(X)) q = swapGatingRows(q, "out", r);
    const c = argmaxAbs(q.tensors.out_m.data, r * N, N).v;
    if (c !== 0) q = rescaleGatingRow(q, "out", r, c);
  }
  const block: boolean[] = [];
  const keyOf: [number, number][] = [];
  for (let r = 0; r < M; r++) {
    const X = q.tensors.out_x.data, Mt = q.tensors.out_m.data;
    let ok = true;
    for (let n = 0; n < N; n++) {
      if (!isMem(n) && Math.abs(X[r * N + n]) > tol) ok = false;
      if (!isForget(n) && Math.abs(Mt[r * N + n]) > tol) ok = false;
    }
    block.push(ok);
    keyOf.push([argmaxAbs(Mt, r * N, N).i, argmaxAbs(X, r * N, N).i]);
  }
  const rowOrder = Array.from({ length: M }, (_, r) => r).sort((a, b) => {
    if (block[a] !== block[b]) return block[a] ? -1 : 1;
    if (!block[a]) return a - b;
    return keyOf[a][0] - keyOf[b][0] || keyOf[a][1] - keyOf[b][1] || a - b;
  });
  q = permuteOutputRows(q, rowOrder);
  return { params: q, hiddenOrder, rowOrder, groups, blockRows: rowOrder.map((r) => block[r]) };
}
