/**
 * KV and Q scores (Section 3.1, Table 1, CONVENTIONS.md): 1 - R² of least-squares linear regressions (with an
 * intercept, as scikit-learn's LinearRegression) predicting the reference attention's key-values v_t k_tᵀ
 * (flattened) from the memory neurons' inputs u_t = (in_x z_t) ⊙ (in_m z_t), and its queries q_t from the forget
 * neurons' inputs, over every token of fresh sequences. R² is averaged uniformly over target columns as
 * scikit-learn's r2_score does, except that constant target columns (always-zero entries of a sparse reference such
 * as the GD construction's) are left out: they carry no information and would count as perfectly predicted.
 */
import { lstsq } from "../linalg.ts";
import type { AttentionConfig } from "../models/attention.ts";
import { attentionConfig } from "../models/attention.ts";
import type { GatedRnnConfig } from "../models/gated-rnn.ts";
import type { Params } from "../models/types.ts";
import type { Tensor } from "../tensor.ts";

/**
 * Least squares of targets Y [m,k] on [F, 1] (F [m,p] features plus an intercept): 1 - R² = mean over the
 * non-constant columns c of SS_res,c / SS_tot,c (1 when p = 0, 0 when every column is constant), and the numerical
 * rank of [F, 1]. Inputs of eq. 2's neurons are quadratics in z = [x; 1], a space of dimension (d+1)(d+2)/2: when the
 * rank reaches it, every quadratic target is fitted exactly and the score says nothing about the neurons.
 */
export function regressionFit(F: ArrayLike<number>, Y: ArrayLike<number>, m: number, p: number, k: number): { oneMinusR2: number; rank: number } {
  const A = new Float64Array(m * (p + 1));
  for (let r = 0; r < m; r++) {
    for (let j = 0; j < p; j++) A[r * (p + 1) + j] = F[r * p + j];
    A[r * (p + 1) + p] = 1;
  }
  const { residual, rank } = lstsq(A, Y, m, p + 1, k);
  let sum = 0;
  let cols = 0;
  for (let c = 0; c < k; c++) {
    let mean = 0, scale = 0;
    for (let r = 0; r < m; r++) {
      mean += Y[r * k + c];
      scale = Math.max(scale, Math.abs(Y[r * k + c]));
    }
    mean /= m;
    let tot = 0, res = 0;
    for (let r = 0; r < m; r++) {
      tot += (Y[r * k + c] - mean) ** 2;
      res += residual[r * k + c] ** 2;
    }
    if (tot <= m * (1e-15 * scale) ** 2) continue; // constant column
    sum += res / tot;
    cols++;
  }
  return { oneMinusR2: cols === 0 ? 0 : sum / cols, rank };
}

/** 1 - R² of `regressionFit` (Table 1's score): targets Y [m,k] from features F [m,p] with an intercept. */
export function oneMinusR2(F: ArrayLike<number>, Y: ArrayLike<number>, m: number, p: number, k: number): number {
  return regressionFit(F, Y, m, p, k).oneMinusR2;
}

/** Input-gating products u [R, |neurons|] = (in_x z) ⊙ (in_m z) at every token of x [B, T, d] (z = [x; 1], eq. 2). */
export function gateInputs(p: Params<GatedRnnConfig>, x: Tensor, neurons: readonly number[]): Float64Array {
  const d = p.config.d_in;
  const D = d + 1;
  const R = x.data.length / d;
  const k = neurons.length;
  const u = new Float64Array(R * k);
  const { in_x, in_m } = p.tensors;
  for (let r = 0; r < R; r++) {
    for (let a = 0; a < k; a++) {
      const n = neurons[a];
      let sx = in_x.data[n * D + d], sm = in_m.data[n * D + d];
      for (let c = 0; c < d; c++) {
        const xv = x.data[r * d + c];
        sx += in_x.data[n * D + c] * xv;
        sm += in_m.data[n * D + c] * xv;
      }
      u[r * k + a] = sx * sm;
    }
  }
  return u;
}

/**
 * The reference's per-token key-values and queries over x [B, T, d]: kv [R, heads·d_out·d_key] with
 * kv[(h, i, j)] = v_i k_j (v = W_V^h x, k = W_K^h x), q [R, heads·d_key] (q = W_Q^h x), R = B·T (eq. 1).
 */
export function keyValuesAndQueries(att: Params<AttentionConfig>, x: Tensor): { kv: Float64Array; q: Float64Array; kvWidth: number; qWidth: number } {
  const { d, heads, d_key: dk, d_out: dv } = attentionConfig(att.config);
  const R = x.data.length / d;
  const kvWidth = heads * dv * dk;
  const qWidth = heads * dk;
  const kv = new Float64Array(R * kvWidth);
  const q = new Float64Array(R * qWidth);
  const { W_V, W_K, W_Q } = att.tensors;
  const v = new Float64Array(dv), kk = new Float64Array(dk);
  for (let r = 0; r < R; r++) {
    for (let h = 0; h < heads; h++) {
      for (let i = 0; i < dv; i++) {
        let s = 0;
        for (let c = 0; c < d; c++) s += W_V.data[(h * dv + i) * d + c] * x.data[r * d + c];
        v[i] = s;
      }
      for (let j = 0; j < dk; j++) {
        let s = 0, sq = 0;
        for (let c = 0; c < d; c++) {
          s += W_K.data[(h * dk + j) * d + c] * x.data[r * d + c];
          sq += W_Q.data[(h * dk + j) * d + c] * x.data[r * d + c];
        }
        kk[j] = s;
        q[r * qWidth + h * dk + j] = sq;
      }
      for (let i = 0; i < dv; i++) for (let j = 0; j < dk; j++) kv[r * kvWidth + (h * dv + i) * dk + j] = v[i] * kk[j];
    }
  }
  return { kv, q, kvWidth, qWidth };
}

/** Table 1's scores and the ranks of their regressions (with the intercept; see `regressionFit`). */
export interface KvqScores {
  kv_score: number;
  q_score: number;
  kv_rank: number;
  q_rank: number;
}

/**
 * KV score = 1 - R² of v_t k_tᵀ from the memory neurons' inputs; Q score = 1 - R² of q_t from the forget neurons'
 * inputs (Table 1), over every token of x [B, T, d]; `memory` and `forget` are hidden-neuron indices of p.
 */
export function kvqScores(p: Params<GatedRnnConfig>, att: Params<AttentionConfig>, x: Tensor, memory: readonly number[], forget: readonly number[]): KvqScores {
  const R = x.data.length / p.config.d_in;
  const { kv, q, kvWidth, qWidth } = keyValuesAndQueries(att, x);
  const a = regressionFit(gateInputs(p, x, memory), kv, R, memory.length, kvWidth);
  const b = regressionFit(gateInputs(p, x, forget), q, R, forget.length, qWidth);
  return { kv_score: a.oneMinusR2, q_score: b.oneMinusR2, kv_rank: a.rank, q_rank: b.rank };
}
