/**
 * Causal linear self-attention, eq. 1 (including the current token):
 *   y_t = sum_h W_V^h (sum_{s<=t} x_s x_sᵀ) W_K^hᵀ W_Q^h x_t = sum_h sum_{s<=t} v_s^h (k_s^h · q_t^h).
 * One head: W_V [d_out, d], W_K [d_key, d], W_Q [d_key, d]. Several heads: the same with a leading [heads] axis,
 * head outputs summed. The recurrent (one-step) form keeps S_t = S_{t-1} + v_t k_tᵀ per head and emits S_t q_t.
 */
import type { Schema } from "../config.ts";
import { int } from "../config.ts";
import type { Kernels } from "../kernels/types.ts";
import type { Float } from "../tensor.ts";
import { allocFloat } from "../tensor.ts";
import { defaultKernels, normalInit, onBackend, paramsDtype, resultTensor, seqDims, stepDims } from "./common.ts";
import type { Cache, Gradients, ModelFamily, Params } from "./types.ts";

export interface AttentionConfig {
  /** Input width d. */
  d: number;
  /** Number of heads (outputs summed). */
  heads: number;
  /** Key/query width (default d). */
  d_key: number;
  /** Output width (default d). */
  d_out: number;
}

export const attentionSchema: Schema<AttentionConfig> = {
  d: int("input width d", { min: 1, max: 4096 }),
  heads: int("number of heads", { min: 1, max: 256, default: 1 }),
  d_key: int("key/query width (0 = d)", { min: 0, max: 4096, default: 0 }),
  d_out: int("output width (0 = d)", { min: 0, max: 4096, default: 0 }),
};

/** Fills in d_key = d_out = d where they are 0 (the schema's "same as d" default). */
export function attentionConfig(c: Partial<AttentionConfig> & { d: number }): AttentionConfig {
  return { d: c.d, heads: c.heads ?? 1, d_key: c.d_key || c.d, d_out: c.d_out || c.d };
}

function shapes(c: AttentionConfig): Record<string, number[]> {
  const { d, heads } = c;
  const dk = c.d_key || d;
  const dv = c.d_out || d;
  const lead = heads === 1 ? [] : [heads];
  return { W_V: [...lead, dv, d], W_K: [...lead, dk, d], W_Q: [...lead, dk, d] };
}

interface AttentionCache {
  B: number; T: number;
  x: Float; v: Float; kk: Float; q: Float;
}

/** Per-head slices of a [heads, rows, d] weight. */
function head(W: Float, h: number, rows: number, d: number): Float {
  return W.subarray(h * rows * d, (h + 1) * rows * d);
}

/** scores[t, s] = q_t · k_s for s <= t, 0 above the diagonal, for sequence b ([T, T] into `scores`). */
function causalScores(k: Kernels, scores: Float, q: Float, kk: Float, b: number, T: number, dk: number): void {
  k.mmNT(scores, q.subarray(b * T * dk, (b + 1) * T * dk), kk.subarray(b * T * dk, (b + 1) * T * dk), T, dk, T);
  for (let t = 0; t < T; t++) for (let s = t + 1; s < T; s++) scores[t * T + s] = 0;
}

/**
 * Eq. 1 over B sequences: per head v = x W_Vᵀ, k = x W_Kᵀ, q = x W_Qᵀ [B*T, .], y_b += tril(q_b k_bᵀ) v_b; heads summed.
 * Keeps v, k, q per head ([heads, B*T, .]) for the backward pass.
 */
function forwardCore(k: Kernels, p: Params<AttentionConfig>, x: Float, B: number, T: number): { y: Float; cache: AttentionCache } {
  const { d, heads, d_key: dk, d_out: dv } = attentionConfig(p.config);
  const [WV, WK, WQ] = ["W_V", "W_K", "W_Q"].map((n) => onBackend(k, p.tensors[n].data));
  const R = B * T;
  const y = k.alloc(R * dv);
  const v = k.alloc(heads * R * dv);
  const kk = k.alloc(heads * R * dk);
  const q = k.alloc(heads * R * dk);
  const scores = k.alloc(T * T);
  for (let h = 0; h < heads; h++) {
    const vh = head(v, h, R, dv), kh = head(kk, h, R, dk), qh = head(q, h, R, dk);
    k.mmNT(vh, x, head(WV, h, dv, d), R, d, dv);
    k.mmNT(kh, x, head(WK, h, dk, d), R, d, dk);
    k.mmNT(qh, x, head(WQ, h, dk, d), R, d, dk);
    for (let b = 0; b < B; b++) {
      causalScores(k, scores, qh, kh, b, T, dk);
      k.mm(y.subarray(b * T * dv, (b + 1) * T * dv), scores, vh.subarray(b * T * dv, (b + 1) * T * dv), T, T, dv, h > 0);
    }
  }
  return { y, cache: { B, T, x, v, kk, q } };
}

/**
 * Backward of eq. 1 per head and sequence, with S = tril(q kᵀ): dS = tril(dy vᵀ), dv = Sᵀ dy, dq = dS k, dk = dSᵀ q;
 * dW_V = dvᵀ x, dW_K = dkᵀ x, dW_Q = dqᵀ x; dx = dv W_V + dk W_K + dq W_Q (summed over heads).
 */
function backwardCore(k: Kernels, p: Params<AttentionConfig>, c: AttentionCache, dy: Float): Gradients {
  const { d, heads, d_key: dk, d_out: dv } = attentionConfig(p.config);
  const { B, T } = c;
  const R = B * T;
  const [WV, WK, WQ] = ["W_V", "W_K", "W_Q"].map((n) => onBackend(k, p.tensors[n].data));
  const gV = k.alloc(heads * dv * d), gK = k.alloc(heads * dk * d), gQ = k.alloc(heads * dk * d);
  const dx = k.alloc(R * d);
  const scores = k.alloc(T * T), dS = k.alloc(T * T);
  const dvh = k.alloc(R * dv), dkh = k.alloc(R * dk), dqh = k.alloc(R * dk);
  for (let h = 0; h < heads; h++) {
    const vh = head(c.v, h, R, dv), kh = head(c.kk, h, R, dk), qh = head(c.q, h, R, dk);
    for (let b = 0; b < B; b++) {
      const sl = (a: Float, w: number) => a.subarray(b * T * w, (b + 1) * T * w);
      causalScores(k, scores, qh, kh, b, T, dk);
      k.mmNT(dS, sl(dy, dv), sl(vh, dv), T, dv, T);
      for (let t = 0; t < T; t++) for (let s = t + 1; s < T; s++) dS[t * T + s] = 0;
      k.mmTN(sl(dvh, dv), scores, sl(dy, dv), T, T, dv);
      k.mm(sl(dqh, dk), dS, sl(kh, dk), T, T, dk);
      k.mmTN(sl(dkh, dk), dS, sl(qh, dk), T, T, dk);
    }
    k.mmTN(head(gV, h, dv, d), dvh, c.x, dv, R, d);
    k.mmTN(head(gK, h, dk, d), dkh, c.x, dk, R, d);
    k.mmTN(head(gQ, h, dk, d), dqh, c.x, dk, R, d);
    k.mm(dx, dvh, head(WV, h, dv, d), R, dv, d, h > 0);
    k.mm(dx, dkh, head(WK, h, dk, d), R, dk, d, true);
    k.mm(dx, dqh, head(WQ, h, dk, d), R, dk, d, true);
  }
  return { grads: { W_V: gV, W_K: gK, W_Q: gQ }, dx };
}

/** Linear self-attention family (eq. 1): tensors W_V, W_K, W_Q; state S = sum_s v_s k_sᵀ per head. */
export const attention: ModelFamily<AttentionConfig> = {
  name: "attention",
  summary: "causal linear self-attention of eq. 1 (W_V, W_K, W_Q; optionally several heads, summed)",
  schema: attentionSchema,
  dims: (c) => ({ dIn: c.d, dOut: c.d_out || c.d }),
  widthKeys: ["d", "d_out"],
  shapes,
  init(rng, config, dtype = "f64") {
    const c = attentionConfig(config);
    const s = shapes(c);
    // The teacher's distribution: entries i.i.d. N(0, 1/d) (CONVENTIONS.md).
    const std = 1 / Math.sqrt(c.d);
    return {
      family: "attention",
      config: c,
      tensors: {
        W_V: normalInit(rng.split(), s.W_V, dtype, std),
        W_K: normalInit(rng.split(), s.W_K, dtype, std),
        W_Q: normalInit(rng.split(), s.W_Q, dtype, std),
      },
    };
  },
  forward(p, x, k = defaultKernels(p)) {
    const [B, T] = seqDims(x, p.config.d, "attention");
    const mark = k.mark();
    try {
      return resultTensor(k, [B, T, attentionConfig(p.config).d_out], forwardCore(k, p, onBackend(k, x.data), B, T).y);
    } finally {
      k.release(mark);
    }
  },
  forwardCached(p, x, k) {
    const [B, T] = seqDims(x, p.config.d, "attention");
    const { y, cache } = forwardCore(k, p, onBackend(k, x.data), B, T);
    return { y, cache: cache as unknown as Cache };
  },
  backward: (p, cache, dy, k) => backwardCore(k, p, cache as unknown as AttentionCache, dy),
  initState(p, B) {
    const c = attentionConfig(p.config);
    return { S: allocFloat(paramsDtype(p), B * c.heads * c.d_out * c.d_key) };
  },
  step(p, state, x, k = defaultKernels(p)) {
    const c = attentionConfig(p.config);
    const B = stepDims(x, c.d, "attention");
    const { d, heads, d_key: dk, d_out: dv } = c;
    const mark = k.mark();
    try {
      const xs = onBackend(k, x.data);
      const S = k.alloc(B * heads * dv * dk);
      S.set(state.S);
      const v = k.alloc(B * dv);
      const kk = k.alloc(B * dk);
      const q = k.alloc(B * dk);
      const y = k.alloc(B * dv);
      const WV = onBackend(k, p.tensors.W_V.data);
      const WK = onBackend(k, p.tensors.W_K.data);
      const WQ = onBackend(k, p.tensors.W_Q.data);
      for (let h = 0; h < heads; h++) {
        k.mmNT(v, xs, WV.subarray(h * dv * d, (h + 1) * dv * d), B, d, dv);
        k.mmNT(kk, xs, WK.subarray(h * dk * d, (h + 1) * dk * d), B, d, dk);
        k.mmNT(q, xs, WQ.subarray(h * dk * d, (h + 1) * dk * d), B, d, dk);
        for (let b = 0; b < B; b++) {
          const Sb = S.subarray((b * heads + h) * dv * dk, (b * heads + h + 1) * dv * dk);
          // S += v_t k_tᵀ, then y_t += S q_t
          k.mm(Sb, v.subarray(b * dv, (b + 1) * dv), kk.subarray(b * dk, (b + 1) * dk), dv, 1, dk, true);
          k.mm(y.subarray(b * dv, (b + 1) * dv), Sb, q.subarray(b * dk, (b + 1) * dk), dv, dk, 1, h > 0);
        }
      }
      return { state: { S: resultTensor(k, [S.length], S).data }, y: resultTensor(k, [B, dv], y) };
    } finally {
      k.release(mark);
    }
  },
};
