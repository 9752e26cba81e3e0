/**
 * Rank-1 merge of the output-gating rows outside the block structure (App. B.2, eq. 20, Figure 2C). Rows J
 * contribute sum_{j in J} D_ij (c_j·h)(e_j·h) = hᵀ K_i h to output i, with the kernel K_i = sum_j D_ij c_j e_jᵀ
 * (c_j = out_x row, e_j = out_m row). Only the symmetric part S_i = (K_i + K_iᵀ)/2 matters to the function (and it
 * does not depend on which of the two gating rows is called out_x), so the test is on S_i:
 *  - proportional: the stacked vec(S_i) have rank 1, S_i = alpha_i S (measured by sigma_2 / sigma_1 of the stack);
 *  - rank 1 as a gating product: S = sym(p qᵀ) for some p, q, i.e. S has at most one positive and one negative
 *    eigenvalue (measured by the largest remaining |eigenvalue| over the largest); then
 *    p = sqrt(mu+) u+ + sqrt(-mu-) u-, q = sqrt(mu+) u+ - sqrt(-mu-) u- give sym(p qᵀ) = mu+ u+u+ᵀ + mu- u-u-ᵀ.
 * The rows J are replaced by one row (out_x = the vector reading more memory neurons, out_m = the other,
 * readout column alpha).
 */
import { svd, symEig } from "../linalg.ts";
import type { GatedRnnConfig } from "../models/gated-rnn.ts";
import type { Params } from "../models/types.ts";
import type { NeuronGroup } from "./groups.ts";
import { selectNeurons } from "./prune.ts";

type P = Params<GatedRnnConfig>;

/** The outcome of `mergeRows`. */
export interface MergeResult {
  /** Rows of the input model that were merged. */
  rows: number[];
  /** sigma_2 / sigma_1 of the stacked symmetric kernels (0 = exactly proportional). */
  proportionality: number;
  /** Largest |eigenvalue| of S beyond one positive and one negative, over the largest (0 = exactly one gating row). */
  rank_residual: number;
  /** Eigenvalues of the common kernel S, descending. */
  eigenvalues: number[];
  /** alpha [d_out]: S_i ≈ alpha_i S (the merged row's readout column). */
  alpha: number[];
  /** The merged row: out_x = p, out_m = q [N]. */
  p: number[];
  q: number[];
  /** Symmetric kernels S_i [d_out][N][N] of the rows before merging (Figure 2C). */
  kernels: number[][][];
  /** p qᵀ [N][N]: the merged kernel (rows read memory neurons, columns forget neurons when the structure is found). */
  merged_kernel: number[][];
  /** The model with rows J replaced by the merged row (last). */
  params: P;
}

const toRows = (a: ArrayLike<number>, r: number, c: number): number[][] => Array.from({ length: r }, (_, i) => Array.from({ length: c }, (_, j) => a[i * c + j]));

/**
 * Merges output-gating rows `rows` of p (out_x, out_m [M, N], readout [d_out, M]) into one (file comment); groups
 * (per hidden neuron) orient the merged row. Throws when `rows` is empty.
 */
export function mergeRows(p: P, rows: readonly number[], groups: readonly NeuronGroup[]): MergeResult {
  if (rows.length === 0) throw new Error("mergeRows: no rows to merge");
  const { hidden: N, output_gating: M, d_out: dOut } = p.config;
  const t = p.tensors;
  const Z = new Float64Array(dOut * N * N);
  for (let i = 0; i < dOut; i++) {
    for (const j of rows) {
      const w = t.readout.data[i * M + j];
      if (w === 0) continue;
      for (let a = 0; a < N; a++) {
        const ca = t.out_x.data[j * N + a], ea = t.out_m.data[j * N + a];
        for (let b = 0; b < N; b++) Z[(i * N + a) * N + b] += (w * (ca * t.out_m.data[j * N + b] + ea * t.out_x.data[j * N + b])) / 2;
      }
    }
  }
  const { U, S: sig, V } = svd(Z, dOut, N * N);
  const r = Math.min(dOut, N * N);
  const proportionality = sig[0] > 0 && r > 1 ? sig[1] / sig[0] : 0;
  const S = new Float64Array(N * N);
  for (let k = 0; k < N * N; k++) S[k] = sig[0] * V[k * r];
  const alpha = Array.from({ length: dOut }, (_, i) => U[i * r]);
  const { values, vectors } = symEig(S, N);
  const muPlus = values[0] > 0 ? values[0] : 0;
  const muMinus = values[N - 1] < 0 ? values[N - 1] : 0;
  const top = Math.max(Math.abs(values[0]), Math.abs(values[N - 1]));
  let rest = 0;
  for (let k = 0; k < N; k++) {
    if ((k === 0 && muPlus > 0) || (k === N - 1 && muMinus < 0)) continue;
    rest = Math.max(rest, Math.abs(values[k]));
  }
  const a = Math.sqrt(muPlus), b = Math.sqrt(-muMinus);
  let pv = Array.from({ length: N }, (_, k) => a * vectors[k * N] + b * vectors[k * N + N - 1]);
  let qv = Array.from({ length: N }, (_, k) => a * vectors[k * N] - b * vectors[k * N + N - 1]);
  const memShare = (v: number[]) => {
    const all = v.reduce((s, x) => s + Math.abs(x), 0);
    return all > 0 ? v.reduce((s, x, k) => s + (groups[k] === "memory" ? Math.abs(x) : 0), 0) / all : 0;
  };
  if (memShare(qv) > memShare(pv)) [pv, qv] = [qv, pv];

  const keep = Array.from({ length: M }, (_, j) => j).filter((j) => !rows.includes(j));
  const base = selectNeurons(p, Array.from({ length: N }, (_, n) => n), keep);
  const M2 = keep.length + 1;
  const outX = new Float64Array(M2 * N), outM = new Float64Array(M2 * N), readout = new Float64Array(dOut * M2);
  outX.set(base.tensors.out_x.data);
  outM.set(base.tensors.out_m.data);
  for (let k = 0; k < N; k++) {
    outX[keep.length * N + k] = pv[k];
    outM[keep.length * N + k] = qv[k];
  }
  for (let i = 0; i < dOut; i++) {
    for (let j = 0; j < keep.length; j++) readout[i * M2 + j] = base.tensors.readout.data[i * keep.length + j];
    readout[i * M2 + keep.length] = alpha[i];
  }
  const params: P = {
    family: "gated-rnn",
    config: { ...p.config, output_gating: M2 },
    tensors: {
      ...base.tensors,
      out_x: { shape: [M2, N], data: outX }, out_m: { shape: [M2, N], data: outM }, readout: { shape: [dOut, M2], data: readout },
    },
  };
  const merged = new Float64Array(N * N);
  for (let i = 0; i < N; i++) for (let j = 0; j < N; j++) merged[i * N + j] = pv[i] * qv[j];
  return {
    rows: [...rows],
    proportionality,
    rank_residual: top > 0 ? rest / top : 0,
    eigenvalues: Array.from(values),
    alpha,
    p: pv,
    q: qv,
    kernels: Array.from({ length: dOut }, (_, i) => toRows(Z.subarray(i * N * N, (i + 1) * N * N), N, N)),
    merged_kernel: toRows(merged, N, N),
    params,
  };
}
