/**
 * Approximate LRU constructions of linear self-attention (Appendix A.1), O(eps²), shared/notes/constructions.md.
 * All recurrences are real and exact: theta_log = -inf (theta = 0), gamma_log = 0 (gamma = 1), nu_log = -inf
 * (lambda = 1, the key-value memory) or +inf (lambda = 0, unused states). Only the GLUs are linearised:
 *   σ(eps a) · b = b/2 + eps a b/4 + O(eps³ |a|³ |b|)            (σ(z) = 1/2 + z/4 - z³/48 + ...; the paper writes
 *                                                                 "1/2 + z", the 1/4 is needed)
 * and every 1/2 offset is removed linearly (a subtraction in B, or a baseline GLU neuron and the readout).
 *
 * Key-value stage (a GLU over x, width d² + d): neuron (i, j) = i·d + j: W_a = eps W_K[j], W_b = W_V[i], so
 *   g_ij = σ(eps k_j) v_i = v_i/2 + eps v_i k_j/4 + O(eps³);  pass-through neuron d² + c: W_a = 0, W_b = 2 e_c, so
 *   σ(0)·2x_c = x_c exactly.
 * Memory stage (recurrence, d² states, lambda = 1): B row ij = (4/eps)(e_ij - 1/2 W_V[i] on the pass-through
 *   coordinates), so B x' = (4/eps)(g_ij - v_i/2) = v_i k_j + O(eps²) and h_ij = S_ij = Σ_{s≤t} v_i,s k_j,s + O(eps²);
 *   C_re = identity onto coordinates ij, D = 1 on the pass-through coordinates: ỹ = [S; x].
 * Query stage (output GLU, width d² + 1): neuron ij: W_a = eps e_ij, W_b = (4/eps) W_Q[j] (on the x coordinates),
 *   giving σ(eps S_ij)(4/eps) q_j = 2 q_j/eps + S_ij q_j + O(eps²); baseline neuron d²: W_a = 0,
 *   W_b = (4/eps) Σ_j W_Q[j], giving 2 Σ_j q_j / eps. The stack readout y_i = Σ_j out_ij - out_baseline then
 *   equals Σ_j S_ij q_j + O(eps²) = attention (current token included).
 * Rounding: the 2q/eps and (4/eps)·v/2 terms cancel to O(1), so the rounding error is ~1e-16/eps (the best eps is
 * around 1e-5..1e-6, error ~1e-10).
 * Composition: results are "stack" params (Section 3.3: embed -> layers -> readout) because the y_i sum above
 * needs a linear readout after the last GLU, which an LRU layer does not have; embed is the identity onto the first
 * d coordinates of the width. A stack shares one layer config, so both LRU Out layers have d² states (layer 1's
 * are unused: B = C = 0, lambda = 0).
 */
import type { LruConfig } from "../models/lru.ts";
import type { StackConfig } from "../models/stack.ts";
import type { Params } from "../models/types.ts";
import type { Tensor } from "../tensor.ts";
import { zeros } from "../tensor.ts";
import type { AttentionWeights } from "./gated-rnn.ts";

/**
 * Default eps of both LRU constructions: measured median error over d = 2..6 (4 draws each) 1.7e-10 at 3e-6
 * (1.4e-9 at 1e-5, 2.5e-10 at 1e-6: rounding ~1e-16/eps takes over below).
 */
export const LRU_DEFAULT_EPS = 3e-6;

/** Zero tensors of an LRU layer: N states, recurrence width H, input d_in, output d_out (gated: W_in_a, W_in_b). */
function blankLru(dIn: number, N: number, H: number, dOut: number, gated: boolean): Record<string, Tensor> {
  const t: Record<string, Tensor> = {};
  if (gated) {
    t.W_in_a = zeros([H, dIn]);
    t.W_in_b = zeros([H, dIn]);
  }
  t.nu_log = zeros([N]);
  t.theta_log = zeros([N]);
  t.theta_log.data.fill(-Infinity); // theta = 0: real lambda
  t.gamma_log = zeros([N]); // gamma = 1
  t.B_re = zeros([N, H]);
  t.B_im = zeros([N, H]);
  t.C_re = zeros([H, N]);
  t.C_im = zeros([H, N]);
  t.D = zeros([H]);
  t.W_a = zeros([dOut, H]);
  t.W_b = zeros([dOut, H]);
  return t;
}

/**
 * The key-value GLU (rows [d² + d] of an [., ldA] weight pair reading x from columns 0..d-1):
 * row ij: W_a = eps W_K[j], W_b = W_V[i]; row d² + c: W_a = 0, W_b = 2 e_c.
 */
function keyValueGlu(att: AttentionWeights, eps: number, Wa: Float64Array | Float32Array, Wb: Float64Array | Float32Array, ld: number): void {
  const { d } = att;
  for (let i = 0; i < d; i++) {
    for (let j = 0; j < d; j++) {
      const row = i * d + j;
      for (let c = 0; c < d; c++) {
        Wa[row * ld + c] = eps * att.W_K[j * d + c];
        Wb[row * ld + c] = att.W_V[i * d + c];
      }
    }
  }
  for (let c = 0; c < d; c++) Wb[(d * d + c) * ld + c] = 2;
}

/**
 * The memory and query stages on x' = [g (d²); x (d)] of width H = d² + d (see the file comment): d² states with
 * lambda = 1, B = (4/eps)(e_ij - W_V[i]/2 on x), C_re = I onto ij, D = 1 on x; output GLU rows ij and baseline d².
 */
function memoryAndQuery(att: AttentionWeights, eps: number, t: Record<string, Tensor>, H: number): void {
  const { d } = att;
  const N = d * d;
  t.nu_log.data.fill(-Infinity); // lambda = exp(-exp(-inf)) = 1
  for (let i = 0; i < d; i++) {
    for (let j = 0; j < d; j++) {
      const n = i * d + j;
      t.B_re.data[n * H + n] = 4 / eps;
      for (let c = 0; c < d; c++) t.B_re.data[n * H + N + c] = (-2 / eps) * att.W_V[i * d + c];
      t.C_re.data[n * N + n] = 1;
      t.W_a.data[n * H + n] = eps;
      for (let c = 0; c < d; c++) t.W_b.data[n * H + N + c] = (4 / eps) * att.W_Q[j * d + c];
    }
  }
  for (let c = 0; c < d; c++) {
    t.D.data[N + c] = 1;
    let s = 0;
    for (let j = 0; j < d; j++) s += att.W_Q[j * d + c];
    t.W_b.data[N * H + N + c] = (4 / eps) * s; // baseline neuron: σ(0) · (4/eps) Σ_j q_j
  }
}

/** Stack readout [d, W]: y_i = Σ_j out_ij - out_baseline (baseline at column d²). */
function attentionReadout(d: number, W: number): Tensor {
  const r = zeros([d, W]);
  for (let i = 0; i < d; i++) {
    for (let j = 0; j < d; j++) r.data[i * W + i * d + j] = 1;
    r.data[i * W + d * d] = -1;
  }
  return r;
}

/** Embedding [W, d]: x onto the first d coordinates. */
function padEmbed(d: number, W: number): Tensor {
  const e = zeros([W, d]);
  for (let c = 0; c < d; c++) e.data[c * d + c] = 1;
  return e;
}

/**
 * Two LRU Out layers ≈ attention, y_i = Σ_j σ(eps S_ij)(4/eps) q_j - baseline = (W_V Σ_s x_s x_sᵀ W_Kᵀ W_Q x_t)_i
 * + O(eps²); App. A.1; a "stack" of 2 "lru" layers, width W = d² + d, d² states each, embed [W, d], readout [d, W].
 * Layer 1: B = C = 0, D = 1 (ỹ = x), output GLU = the key-value GLU; layer 2: memory and query stages.
 */
export function lruFromAttention(att: AttentionWeights, eps: number): Params<StackConfig> {
  const { d } = att;
  if (!(eps > 0)) throw new Error(`lruFromAttention: eps must be > 0, got ${eps}`);
  const N = d * d;
  const W = N + d;
  const l1 = blankLru(W, N, W, W, false);
  l1.nu_log.data.fill(Infinity); // lambda = 0 (unused: B = C = 0)
  l1.D.data.fill(1);
  keyValueGlu(att, eps, l1.W_a.data, l1.W_b.data, W);
  const l2 = blankLru(W, N, W, W, false);
  memoryAndQuery(att, eps, l2, W);
  const tensors: Record<string, Tensor> = { embed: padEmbed(d, W) };
  for (const [name, x] of Object.entries(l1)) tensors[`layers.0.${name}`] = x;
  for (const [name, x] of Object.entries(l2)) tensors[`layers.1.${name}`] = x;
  tensors.readout = attentionReadout(d, W);
  return { family: "stack", config: { d_in: d, width: W, d_out: d, layers: 2, layer: "lru", layer_config: { hidden: N } }, tensors };
}

/**
 * One LRU In+Out layer ≈ attention (same formula as lruFromAttention, the input GLU is the key-value stage);
 * App. A.1; a "stack" of 1 "lru-in-out" layer: width W = d² + 1, layer width H = d² + d, d² states,
 * W_in_a, W_in_b [H, W], W_a, W_b [W, H], embed [W, d], readout [d, W].
 */
export function lruInOutFromAttention(att: AttentionWeights, eps: number): Params<StackConfig> {
  const { d } = att;
  if (!(eps > 0)) throw new Error(`lruInOutFromAttention: eps must be > 0, got ${eps}`);
  const N = d * d;
  const H = N + d;
  const W = N + 1;
  const l = blankLru(W, N, H, W, true);
  keyValueGlu(att, eps, l.W_in_a.data, l.W_in_b.data, W);
  memoryAndQuery(att, eps, l, H);
  const tensors: Record<string, Tensor> = { embed: padEmbed(d, W) };
  for (const [name, x] of Object.entries(l)) tensors[`layers.0.${name}`] = x;
  tensors.readout = attentionReadout(d, W);
  const layerConfig: Partial<LruConfig> = { hidden: N, width: H };
  return { family: "stack", config: { d_in: d, width: W, d_out: d, layers: 1, layer: "lru-in-out", layer_config: layerConfig }, tensors };
}
