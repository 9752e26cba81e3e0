/**
 * Exact constructions: any linear self-attention layer (eq. 1) -> a gated RNN (eq. 2) computing the same function.
 *   full (Figure 1):  d² key-value neurons (lambda = 1) storing S = sum_s v_s k_sᵀ and d query neurons (lambda = 0)
 *                     holding q_t = W_Q x_t (fed through the constant input); d² output-gating rows S_ij · q_j,
 *                     readout summing row (i, j) into output i.            N = d² + d,       M = d².
 *   compact (any W):  since sum_s v_s k_sᵀ = W_V (sum_s x_s x_sᵀ) W_Kᵀ, d(d+1)/2 memory neurons store the symmetric
 *                     sum_s x_s x_sᵀ (upper triangle), d forget neurons hold W_Kᵀ W_Q x_t, W_V moves into the
 *                     readout.                                              N = d(d+1)/2 + d, M = d².
 *   paper-compact:    Section 2.2: with W_K = W_V the key-value matrix is symmetric; for invertible W_V the
 *                     reparametrisation W_K' = W_V, W_Q' = W_V⁻ᵀ W_Kᵀ W_Q reduces any layer to that case.
 *                                                                            N = d(d+1)/2 + d, M = d².
 * Input convention z_t = [x_t; 1] (CONVENTIONS.md); attention weights are [d, d] row-major.
 */
import { inverse, matmul, transpose } from "../linalg.ts";
import type { GatedRnnConfig } from "../models/gated-rnn.ts";
import type { Params } from "../models/types.ts";
import type { Tensor } from "../tensor.ts";

/** The three attention matrices of one head, each [d, d] row-major (float64). */
export interface AttentionWeights {
  d: number;
  W_V: ArrayLike<number>;
  W_K: ArrayLike<number>;
  W_Q: ArrayLike<number>;
}

export type GatedVariant = "full" | "compact" | "paper-compact";
export const gatedVariants: readonly GatedVariant[] = ["full", "compact", "paper-compact"];

/** Neuron counts of a construction: hidden N and output-gating rows M for input width d. */
export function constructionSize(variant: GatedVariant, d: number): { hidden: number; output_gating: number } {
  const memory = variant === "full" ? d * d : (d * (d + 1)) / 2;
  return { hidden: memory + d, output_gating: d * d };
}

/** Index of the compact memory neuron storing S_min(i,j),max(i,j) (upper triangle, row-major). */
export function upperIndex(i: number, j: number, d: number): number {
  const a = Math.min(i, j);
  const b = Math.max(i, j);
  return a * d - (a * (a - 1)) / 2 + (b - a);
}

/** Blank gated-RNN parameters of the given size (float64 zeros). */
function blank(d: number, hidden: number, M: number): Params<GatedRnnConfig> {
  const z = (shape: number[]): Tensor => ({ shape, data: new Float64Array(shape.reduce((a, b) => a * b, 1)) });
  return {
    family: "gated-rnn",
    config: { d_in: d, hidden, output_gating: M, d_out: d },
    tensors: {
      in_x: z([hidden, d + 1]), in_m: z([hidden, d + 1]), lambda: z([hidden]),
      out_x: z([M, hidden]), out_m: z([M, hidden]), readout: z([d, M]),
    },
  };
}

/**
 * Figure 1: neuron (i, j) = i·d + j gets in_x = [W_V[i]; 0], in_m = [W_K[j]; 0], lambda = 1 (stores S_ij); query
 * neuron d² + j gets in_x = [W_Q[j]; 0], in_m = e_const, lambda = 0; row (i, j) gates S_ij by q_j; readout[i,(i,j)] = 1.
 */
export function fullConstruction(att: AttentionWeights): Params<GatedRnnConfig> {
  const { d } = att;
  const D = d + 1;
  const p = blank(d, d * d + d, d * d);
  const t = p.tensors;
  for (let i = 0; i < d; i++) {
    for (let j = 0; j < d; j++) {
      const n = i * d + j;
      for (let c = 0; c < d; c++) {
        t.in_x.data[n * D + c] = att.W_V[i * d + c];
        t.in_m.data[n * D + c] = att.W_K[j * d + c];
      }
      t.lambda.data[n] = 1;
      t.out_x.data[n * p.config.hidden + n] = 1;
      t.out_m.data[n * p.config.hidden + d * d + j] = 1;
      t.readout.data[i * d * d + n] = 1;
    }
  }
  for (let j = 0; j < d; j++) {
    const n = d * d + j;
    for (let c = 0; c < d; c++) t.in_x.data[n * D + c] = att.W_Q[j * d + c];
    t.in_m.data[n * D + d] = 1;
    t.lambda.data[n] = 0;
  }
  return p;
}

/**
 * Shared compact layout: memory neuron upperIndex(i,j) stores sum_s a_s,i b_s,j with in_x row A[i], in_m row A[j]
 * (A = I: sum x xᵀ; A = W_V: sum v vᵀ), forget neuron m + j holds (Q x_t)_j, row (i, j) gates memory (i,j) by
 * forget neuron j, readout[:, (i,j)] = R[:, i]. So y = R (sum_s A x_s x_sᵀ Aᵀ) Q x_t.
 */
function compactLayout(d: number, A: ArrayLike<number>, Q: ArrayLike<number>, R: ArrayLike<number>): Params<GatedRnnConfig> {
  const D = d + 1;
  const m = (d * (d + 1)) / 2;
  const p = blank(d, m + d, d * d);
  const t = p.tensors;
  const N = p.config.hidden;
  for (let i = 0; i < d; i++) {
    for (let j = i; j < d; j++) {
      const n = upperIndex(i, j, d);
      for (let c = 0; c < d; c++) {
        t.in_x.data[n * D + c] = A[i * d + c];
        t.in_m.data[n * D + c] = A[j * d + c];
      }
      t.lambda.data[n] = 1;
    }
  }
  for (let j = 0; j < d; j++) {
    for (let c = 0; c < d; c++) t.in_x.data[(m + j) * D + c] = Q[j * d + c];
    t.in_m.data[(m + j) * D + d] = 1;
  }
  for (let i = 0; i < d; i++) {
    for (let j = 0; j < d; j++) {
      const row = i * d + j;
      t.out_x.data[row * N + upperIndex(i, j, d)] = 1;
      t.out_m.data[row * N + m + j] = 1;
      for (let o = 0; o < d; o++) t.readout.data[o * d * d + row] = R[o * d + i];
    }
  }
  return p;
}

function identity(d: number): Float64Array {
  const I = new Float64Array(d * d);
  for (let i = 0; i < d; i++) I[i * d + i] = 1;
  return I;
}

/** Compact, any weights: memory stores sum x xᵀ, forget neurons hold W_Kᵀ W_Q x_t, readout carries W_V. */
export function compactConstruction(att: AttentionWeights): Params<GatedRnnConfig> {
  const { d } = att;
  const KtQ = matmul(transpose(att.W_K, d, d), att.W_Q, d, d, d);
  return compactLayout(d, identity(d), KtQ, att.W_V);
}

/**
 * Paper's compact variant (Section 2.2): memory stores sum v vᵀ (symmetric), query neurons hold W_Q' x with
 * W_Q' = W_Q when W_K = W_V, else W_Q' = W_V⁻ᵀ W_Kᵀ W_Q (requires an invertible W_V); readout[i,(i,j)] = 1.
 */
export function paperCompactConstruction(att: AttentionWeights): Params<GatedRnnConfig> {
  const { d } = att;
  let same = true;
  for (let i = 0; i < d * d; i++) if (att.W_K[i] !== att.W_V[i]) same = false;
  let Qp: ArrayLike<number> = att.W_Q;
  if (!same) {
    let inv: Float64Array;
    try {
      inv = inverse(att.W_V, d, "W_V");
    } catch {
      throw new Error("paper-compact needs W_K = W_V or an invertible W_V; use the compact variant, which takes any weights");
    }
    Qp = matmul(transpose(inv, d, d), matmul(transpose(att.W_K, d, d), att.W_Q, d, d, d), d, d, d);
  }
  return compactLayout(d, att.W_V, Qp, identity(d));
}

/** The construction of the given variant (see the file comment). */
export function constructGatedRnn(att: AttentionWeights, variant: GatedVariant = "compact"): Params<GatedRnnConfig> {
  switch (variant) {
    case "full": return fullConstruction(att);
    case "compact": return compactConstruction(att);
    case "paper-compact": return paperCompactConstruction(att);
  }
}
