/**
 * GRU cell, Appendix A.3, eqs. 16-19 (reset applied before V_h, as in Cho et al. 2014):
 *   r_t = σ(U_r x_t + V_r h_{t-1} + b_r)                 (16)  reset gate
 *   h̃_t = tanh(U_h x_t + V_h (r_t ⊙ h_{t-1}) + b_h)       (17)  update candidate
 *   z_t = σ(U_z x_t + V_z h_{t-1} + b_z)                 (18)  update gate
 *   h_t = (1 - z_t) ⊙ h_{t-1} + z_t ⊙ h̃_t                (19)
 *   y_t = readout h_t,   h_0 = 0.
 * Shapes: U_r, U_z, U_h [N, d_in]; V_r, V_z, V_h [N, N]; b_r, b_z, b_h [N]; readout [d_out, N].
 * Note the paper's convention: z weights the candidate (z = 1 replaces the state, z = 0 keeps it), the reverse of
 * Cho et al. 2014 and PyTorch nn.GRU (h = z ⊙ h_{t-1} + (1 - z) ⊙ h̃; map by negating U_z, V_z, b_z). PyTorch also
 * applies r after V_h (r ⊙ (W_hn h + b_hn)), a different cell, so its weights do not load as-is.
 * The cell sees x_t itself (it has biases); a bias may be ±Infinity (σ(±inf) = 1 / 0 exactly).
 */
import type { Schema } from "../config.ts";
import { int } from "../config.ts";
import type { Kernels } from "../kernels/types.ts";
import type { Float } from "../tensor.ts";
import { allocFloat } from "../tensor.ts";
import { constInit, defaultKernels, normalInit, onBackend, paramsDtype, resultTensor, seqDims, stepDims } from "./common.ts";
import type { ModelFamily, Params } from "./types.ts";

/** Config of one GRU layer (eqs. 16-19) with a linear readout: x_t [d_in] -> h_t [hidden] -> y_t [d_out]. */
export interface GruConfig {
  /** Input width d_in (the cell sees x_t itself). */
  d_in: number;
  /** Hidden neurons N. */
  hidden: number;
  /** Output width d_out. */
  d_out: number;
}

/** Config schema of the GRU family (eqs. 16-19): d_in, hidden N (default 100), d_out. */
export const gruSchema: Schema<GruConfig> = {
  d_in: int("input width d_in", { min: 1, max: 1 << 16 }),
  hidden: int("hidden neurons N", { min: 1, max: 1 << 16, default: 100 }),
  d_out: int("output width d_out", { min: 1, max: 1 << 16 }),
};

/** Reset gate r, update gate z, candidate h (the tensor-name suffixes of eqs. 16-18). */
const GATES = ["r", "z", "h"] as const;
type Gate = (typeof GATES)[number];

function shapesFor(c: GruConfig): Record<string, number[]> {
  const N = c.hidden;
  const out: Record<string, number[]> = {};
  for (const q of GATES) out[`U_${q}`] = [N, c.d_in];
  for (const q of GATES) out[`V_${q}`] = [N, N];
  for (const q of GATES) out[`b_${q}`] = [N];
  out.readout = [c.d_out, N];
  return out;
}

interface Views {
  U: Record<Gate, Float>;
  V: Record<Gate, Float>;
  b: Record<Gate, Float>;
  readout: Float;
  N: number;
  dIn: number;
  dOut: number;
}

function views(k: Kernels, p: Params<GruConfig>): Views {
  const t = p.tensors;
  const U = {} as Record<Gate, Float>;
  const V = {} as Record<Gate, Float>;
  const b = {} as Record<Gate, Float>;
  for (const q of GATES) {
    U[q] = onBackend(k, t[`U_${q}`].data);
    V[q] = onBackend(k, t[`V_${q}`].data);
    b[q] = onBackend(k, t[`b_${q}`].data);
  }
  return { U, V, b, readout: onBackend(k, t.readout.data), N: p.config.hidden, dIn: p.config.d_in, dOut: p.config.d_out };
}

/**
 * Input half of every pre-activation for R rows of x [R, d_in]: P_q [R, N] = x U_qᵀ + b_q, q in r, z, h.
 * The bias is broadcast with one rank-1 product (a column of ones times b_qᵀ), so ±inf biases stay ±inf.
 */
function inputProjections(k: Kernels, v: Views, x: Float, rows: number): Record<Gate, Float> {
  const ones = k.alloc(rows);
  ones.fill(1);
  const P = {} as Record<Gate, Float>;
  for (const q of GATES) {
    P[q] = k.alloc(rows * v.N);
    k.mmNT(P[q], x, v.U[q], rows, v.dIn, v.N); // x U_qᵀ
    k.mmNT(P[q], ones, v.b[q], rows, 1, v.N, true); // + b_q in every row
  }
  return P;
}

/** Scratch buffers [B, N] of one cell step; `ones` is all ones (for 1 - z). */
interface Scratch {
  a: Record<Gate, Float>;
  rh: Float;
  tmp: Float;
  ones: Float;
}

function scratch(k: Kernels, B: number, N: number, a?: Record<Gate, Float>): Scratch {
  if (!a) {
    a = {} as Record<Gate, Float>;
    for (const q of GATES) a[q] = k.alloc(B * N);
  }
  const ones = k.alloc(B * N);
  ones.fill(1);
  return { a, rh: k.alloc(B * N), tmp: k.alloc(B * N), ones };
}

/**
 * One step of eqs. 16-19 for B rows, in place: s.a[q] holds U_q x_t + b_q on entry; h [B, N] holds h_{t-1} on
 * entry and h_t on exit. (1 - z) ⊙ h + z ⊙ h̃ is evaluated literally, so z = 1 gives h̃ and z = 0 gives h exactly.
 */
function cell(k: Kernels, v: Views, s: Scratch, h: Float, B: number): void {
  const n = B * v.N;
  const { a, rh, tmp, ones } = s;
  k.mmNT(a.r, h, v.V.r, B, v.N, v.N, true);
  k.sigmoid(a.r, a.r, n); // r_t                     (16)
  k.mmNT(a.z, h, v.V.z, B, v.N, v.N, true);
  k.sigmoid(a.z, a.z, n); // z_t                     (18)
  k.mul(rh, a.r, h, n); // r_t ⊙ h_{t-1}
  k.mmNT(a.h, rh, v.V.h, B, v.N, v.N, true);
  k.tanh(a.h, a.h, n); // h̃_t                       (17)
  k.scale(tmp, a.z, -1, n);
  k.add(tmp, tmp, ones, n); // 1 - z_t (exact: -z + 1)
  k.mul(h, tmp, h, n); // (1 - z_t) ⊙ h_{t-1}
  k.mul(tmp, a.z, a.h, n); // z_t ⊙ h̃_t
  k.add(h, h, tmp, n); // h_t                        (19)
}

/** Copies rows (b, t) of a batch-major [B, T, N] buffer into / out of a [B, N] buffer (plain glue, no arithmetic). */
function gather(dst: Float, src: Float, t: number, B: number, T: number, N: number): void {
  for (let b = 0; b < B; b++) dst.set(src.subarray((b * T + t) * N, (b * T + t + 1) * N), b * N);
}
function scatter(dst: Float, src: Float, t: number, B: number, T: number, N: number): void {
  for (let b = 0; b < B; b++) dst.set(src.subarray(b * N, (b + 1) * N), (b * T + t) * N);
}

/**
 * GRU layer of Appendix A.3 (eqs. 16-19) with a linear readout: y_t = readout h_t,
 * h_t = (1 - z_t) ⊙ h_{t-1} + z_t ⊙ h̃_t; x [B, T, d_in] -> y [B, T, d_out]; state {h: [B, N]}.
 * Init: U, V, readout ~ N(0, 1/fan_in); biases 0.
 */
export const gru: ModelFamily<GruConfig> = {
  name: "gru",
  summary: "GRU layer of App. A.3 (eqs. 16-19: reset r, update z, candidate h̃) with a linear readout",
  schema: gruSchema,
  dims: (c) => ({ dIn: c.d_in, dOut: c.d_out }),
  shapes: shapesFor,
  init(rng, c, dtype = "f64") {
    const N = c.hidden;
    const tensors: Params<GruConfig>["tensors"] = {};
    for (const q of GATES) tensors[`U_${q}`] = normalInit(rng.split(), [N, c.d_in], dtype);
    for (const q of GATES) tensors[`V_${q}`] = normalInit(rng.split(), [N, N], dtype);
    for (const q of GATES) tensors[`b_${q}`] = constInit([N], dtype, 0);
    tensors.readout = normalInit(rng.split(), [c.d_out, N], dtype);
    return { family: "gru", config: { ...c }, tensors };
  },
  forward(p, x, k = defaultKernels(p)) {
    const cfg = p.config;
    const [B, T] = seqDims(x, cfg.d_in, "gru");
    const mark = k.mark();
    try {
      const v = views(k, p);
      const N = v.N;
      const R = B * T;
      const P = inputProjections(k, v, onBackend(k, x.data), R); // [B, T, N] per gate
      const s = scratch(k, B, N);
      const h = k.alloc(B * N);
      const H = k.alloc(R * N); // h_t for every (b, t), batch-major
      for (let t = 0; t < T; t++) {
        for (const q of GATES) gather(s.a[q], P[q], t, B, T, N);
        cell(k, v, s, h, B);
        scatter(H, h, t, B, T, N);
      }
      const y = k.alloc(R * v.dOut);
      k.mmNT(y, H, v.readout, R, N, v.dOut); // y_t = readout h_t
      return resultTensor(k, [B, T, cfg.d_out], y);
    } finally {
      k.release(mark);
    }
  },
  initState: (p, B) => ({ h: allocFloat(paramsDtype(p), B * p.config.hidden) }),
  step(p, state, x, k = defaultKernels(p)) {
    const cfg = p.config;
    const B = stepDims(x, cfg.d_in, "gru");
    const mark = k.mark();
    try {
      const v = views(k, p);
      const N = v.N;
      const s = scratch(k, B, N, inputProjections(k, v, onBackend(k, x.data), B));
      const h = k.alloc(B * N);
      h.set(state.h.subarray(0, B * N));
      cell(k, v, s, h, B);
      const y = k.alloc(B * v.dOut);
      k.mmNT(y, h, v.readout, B, N, v.dOut);
      return { state: { h: resultTensor(k, [B, N], h).data }, y: resultTensor(k, [B, cfg.d_out], y) };
    } finally {
      k.release(mark);
    }
  },
};
