/**
 * Section 2.2's invariances of the gated RNN (eq. 2): maps between parameter sets that compute the same function.
 * Each takes gated-RNN parameters and returns new ones (inputs are not modified); the tests show each preserves the
 * output to float64 rounding, which is why exact weight retrieval from a trained student is impossible.
 */
import { inverse, matmul } from "../linalg.ts";
import type { GatedRnnConfig } from "../models/gated-rnn.ts";
import type { Params } from "../models/types.ts";
import { cloneTensor } from "../tensor.ts";

type P = Params<GatedRnnConfig>;
/** Which gating stage: "in" = (in_x, in_m) rows act on z_t, "out" = (out_x, out_m) rows act on h_t. */
export type Stage = "in" | "out";

function clone(p: P): P {
  return { family: p.family, config: { ...p.config }, tensors: Object.fromEntries(Object.entries(p.tensors).map(([n, t]) => [n, cloneTensor(t)])) };
}

function checkPerm(perm: readonly number[], n: number, what: string): void {
  const seen = new Set(perm);
  if (perm.length !== n || seen.size !== n || perm.some((v) => !Number.isInteger(v) || v < 0 || v >= n)) {
    throw new Error(`${what}: expected a permutation of 0..${n - 1}`);
  }
}

/** Hidden neuron n of the result is neuron perm[n] of p: rows of in_x, in_m, lambda and columns of out_x, out_m move. */
export function permuteHidden(p: P, perm: readonly number[]): P {
  const N = p.config.hidden;
  checkPerm(perm, N, "permuteHidden");
  const q = clone(p);
  const D = p.config.d_in + 1;
  const M = p.config.output_gating;
  for (let n = 0; n < N; n++) {
    const o = perm[n];
    for (let c = 0; c < D; c++) {
      q.tensors.in_x.data[n * D + c] = p.tensors.in_x.data[o * D + c];
      q.tensors.in_m.data[n * D + c] = p.tensors.in_m.data[o * D + c];
    }
    q.tensors.lambda.data[n] = p.tensors.lambda.data[o];
    for (let r = 0; r < M; r++) {
      q.tensors.out_x.data[r * N + n] = p.tensors.out_x.data[r * N + o];
      q.tensors.out_m.data[r * N + n] = p.tensors.out_m.data[r * N + o];
    }
  }
  return q;
}

/** Output-gating row r of the result is row perm[r] of p: rows of out_x, out_m and columns of readout move. */
export function permuteOutputRows(p: P, perm: readonly number[]): P {
  const M = p.config.output_gating;
  checkPerm(perm, M, "permuteOutputRows");
  const q = clone(p);
  const N = p.config.hidden;
  const dOut = p.config.d_out;
  for (let r = 0; r < M; r++) {
    const o = perm[r];
    for (let n = 0; n < N; n++) {
      q.tensors.out_x.data[r * N + n] = p.tensors.out_x.data[o * N + n];
      q.tensors.out_m.data[r * N + n] = p.tensors.out_m.data[o * N + n];
    }
    for (let i = 0; i < dOut; i++) q.tensors.readout.data[i * M + r] = p.tensors.readout.data[i * M + o];
  }
  return q;
}

function stageTensors(q: P, stage: Stage): { X: Float64Array | Float32Array; Mt: Float64Array | Float32Array; cols: number; rows: number } {
  return stage === "in"
    ? { X: q.tensors.in_x.data, Mt: q.tensors.in_m.data, cols: q.config.d_in + 1, rows: q.config.hidden }
    : { X: q.tensors.out_x.data, Mt: q.tensors.out_m.data, cols: q.config.hidden, rows: q.config.output_gating };
}

/** Swaps row `row` between the two gating matrices of a stage ((a·z)(b·z) = (b·z)(a·z)). */
export function swapGatingRows(p: P, stage: Stage, row: number): P {
  const q = clone(p);
  const { X, Mt, cols, rows } = stageTensors(q, stage);
  if (!Number.isInteger(row) || row < 0 || row >= rows) throw new Error(`swapGatingRows: row ${row} out of range [0, ${rows})`);
  for (let c = 0; c < cols; c++) [X[row * cols + c], Mt[row * cols + c]] = [Mt[row * cols + c], X[row * cols + c]];
  return q;
}

/** Multiplies row `row` of the stage's first gating matrix by c and of the second by 1/c (c != 0). */
export function rescaleGatingRow(p: P, stage: Stage, row: number, c: number): P {
  if (!(c !== 0 && Number.isFinite(c))) throw new Error(`rescaleGatingRow: c must be finite and non-zero, got ${c}`);
  const q = clone(p);
  const { X, Mt, cols, rows } = stageTensors(q, stage);
  if (!Number.isInteger(row) || row < 0 || row >= rows) throw new Error(`rescaleGatingRow: row ${row} out of range [0, ${rows})`);
  for (let k = 0; k < cols; k++) {
    X[row * cols + k] *= c;
    Mt[row * cols + k] /= c;
  }
  return q;
}

/**
 * Left-multiplies the in_x rows of a group of neurons by an invertible P [k,k] (k = neurons.length) and reads them
 * out through P⁻¹ (out_x[:, group] ← out_x[:, group] P⁻¹, same for out_m). Exact when the group shares one in_m row
 * and one lambda, e.g. the query neurons (in_m = e_const, lambda = 0) of Section 2.2: then h_group becomes P h_group.
 */
export function transformNeuronGroup(p: P, neurons: readonly number[], Pm: ArrayLike<number>): P {
  const k = neurons.length;
  const N = p.config.hidden;
  const D = p.config.d_in + 1;
  const M = p.config.output_gating;
  if (new Set(neurons).size !== k || neurons.some((n) => !Number.isInteger(n) || n < 0 || n >= N)) {
    throw new Error(`transformNeuronGroup: neurons must be distinct indices in [0, ${N})`);
  }
  if (Pm.length !== k * k) throw new Error(`transformNeuronGroup: P must be [${k}, ${k}], got ${Pm.length} entries`);
  const t = p.tensors;
  for (const n of neurons) {
    if (t.lambda.data[n] !== t.lambda.data[neurons[0]]) throw new Error("transformNeuronGroup: the neurons must share one lambda");
    for (let c = 0; c < D; c++) {
      if (t.in_m.data[n * D + c] !== t.in_m.data[neurons[0] * D + c]) throw new Error("transformNeuronGroup: the neurons must share one in_m row");
    }
  }
  const Pinv = inverse(Pm, k, "P");
  const q = clone(p);
  // in_x[group] ← P · in_x[group]
  const rowsIn = new Float64Array(k * D);
  for (let a = 0; a < k; a++) for (let c = 0; c < D; c++) rowsIn[a * D + c] = t.in_x.data[neurons[a] * D + c];
  const mixed = matmul(Pm, rowsIn, k, k, D);
  for (let a = 0; a < k; a++) for (let c = 0; c < D; c++) q.tensors.in_x.data[neurons[a] * D + c] = mixed[a * D + c];
  // out_*[:, group] ← out_*[:, group] · P⁻¹
  for (const name of ["out_x", "out_m"] as const) {
    const cols = new Float64Array(M * k);
    for (let r = 0; r < M; r++) for (let a = 0; a < k; a++) cols[r * k + a] = t[name].data[r * N + neurons[a]];
    const res = matmul(cols, Pinv, M, k, k);
    for (let r = 0; r < M; r++) for (let a = 0; a < k; a++) q.tensors[name].data[r * N + neurons[a]] = res[r * k + a];
  }
  return q;
}
