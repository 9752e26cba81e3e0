/**
 * Figure 2 data as plain arrays (for the report and the web page, which draw them as heatmaps): (A) the pruned,
 * canonically ordered gated-RNN weights, (B) the reference attention matrices, (C) the merged output-gating kernels;
 * and the heatmap colour scale of Figure 2: blue positive, red negative, grey zero.
 */
import type { AttentionConfig } from "../models/attention.ts";
import { attentionConfig } from "../models/attention.ts";
import type { GatedRnnConfig } from "../models/gated-rnn.ts";
import type { Params } from "../models/types.ts";
import type { NeuronGroup } from "./groups.ts";

/** A matrix as rows of numbers (row-major [rows][cols]). */
export type Matrix = number[][];

/** Row-major a [r, c] -> nested rows m[i][j] = a[i·c + j] (the figure arrays of Figure 2). */
export function toMatrix(a: ArrayLike<number>, r: number, c: number): Matrix {
  return Array.from({ length: r }, (_, i) => Array.from({ length: c }, (_, j) => a[i * c + j]));
}

/** Figure 2A: in_x, in_m [N, d+1], lambda [N] (as a column [N][1]), out_x, out_m [M, N], readout [d_out, M]. */
export interface WeightsFigure {
  in_x: Matrix;
  in_m: Matrix;
  lambda: Matrix;
  out_x: Matrix;
  out_m: Matrix;
  readout: Matrix;
  /** Group of each hidden neuron (row of in_x). */
  groups: NeuronGroup[];
  /** Per output-gating row: inside the memory x forget block structure. */
  block_rows: boolean[];
}

/** Figure 2A data of a (pruned, canonical) gated RNN: its eq. 2 tensors as nested rows, with groups and block rows. */
export function weightsFigure(p: Params<GatedRnnConfig>, groups: NeuronGroup[], blockRows: boolean[]): WeightsFigure {
  const { d_in: d, hidden: N, output_gating: M, d_out: dOut } = p.config;
  const t = p.tensors;
  return {
    in_x: toMatrix(t.in_x.data, N, d + 1),
    in_m: toMatrix(t.in_m.data, N, d + 1),
    lambda: toMatrix(t.lambda.data, N, 1),
    out_x: toMatrix(t.out_x.data, M, N),
    out_m: toMatrix(t.out_m.data, M, N),
    readout: toMatrix(t.readout.data, dOut, M),
    groups: [...groups],
    block_rows: [...blockRows],
  };
}

/** Figure 2B: W_V [d_out, d], W_K, W_Q [d_key, d] of each head. */
export function teacherFigure(att: Params<AttentionConfig>): { W_V: Matrix; W_K: Matrix; W_Q: Matrix }[] {
  const { d, heads, d_key: dk, d_out: dv } = attentionConfig(att.config);
  return Array.from({ length: heads }, (_, h) => ({
    W_V: toMatrix(att.tensors.W_V.data.subarray(h * dv * d, (h + 1) * dv * d), dv, d),
    W_K: toMatrix(att.tensors.W_K.data.subarray(h * dk * d, (h + 1) * dk * d), dk, d),
    W_Q: toMatrix(att.tensors.W_Q.data.subarray(h * dk * d, (h + 1) * dk * d), dk, d),
  }));
}

/**
 * Figure 2 colour of value v on a symmetric scale [-vmax, vmax]: grey "rgb(200,200,200)" when |v| <= zeroTol,
 * otherwise white -> blue (v > 0) or white -> red (v < 0) with intensity |v|/vmax (clamped to 1).
 */
export function heatmapColor(v: number, vmax: number, zeroTol = 0): string {
  if (!Number.isFinite(v) || Math.abs(v) <= zeroTol || vmax <= 0) return "rgb(200,200,200)";
  const s = Math.min(1, Math.abs(v) / vmax);
  const fade = (c: number) => Math.round(255 + (c - 255) * s);
  return v > 0 ? `rgb(${fade(33)},${fade(102)},${fade(172)})` : `rgb(${fade(178)},${fade(24)},${fade(43)})`;
}
