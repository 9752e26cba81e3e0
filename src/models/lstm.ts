/**
 * LSTM cell, Appendix A.2, eqs. 10-15, in the paper's naming (g is the update gate, c̃ the candidate):
 *   f_t = σ(U_f x_t + V_f h_{t-1} + b_f)            (10)  forget gate
 *   c̃_t = tanh(U_c x_t + V_c h_{t-1} + b_c)          (11)  cell update candidate
 *   g_t = σ(U_g x_t + V_g h_{t-1} + b_g)            (12)  candidate gate (PyTorch's "input gate" i)
 *   c_t = f_t ⊙ c_{t-1} + g_t ⊙ c̃_t                 (13)
 *   o_t = σ(U_o x_t + V_o h_{t-1} + b_o)            (14)  output gate
 *   h_t = o_t ⊙ tanh(c_t)                           (15)
 *   y_t = readout h_t,   h_0 = c_0 = 0.
 * Shapes: U_f, U_c, U_g, U_o [N, d_in]; V_f, V_c, V_g, V_o [N, N]; b_f, b_c, b_g, b_o [N]; readout [d_out, N].
 * Loading PyTorch nn.LSTM weights: its gate order is (i, f, g, o) = this file's (g, f, c, o), and its two biases
 * b_ih + b_hh sum to one b here. The cell sees x_t itself (no appended 1: it has biases).
 * A bias may be ±Infinity (Table 4 uses b_f = +inf, so f = σ(+inf) = 1 exactly and c_t accumulates); the
 * pre-activation is then ±inf and σ/tanh saturate exactly.
 */
import type { Schema } from "../config.ts";
import { int } from "../config.ts";
import type { Kernels } from "../kernels/types.ts";
import type { Float } from "../tensor.ts";
import { allocFloat } from "../tensor.ts";
import { constInit, defaultKernels, normalInit, onBackend, paramsDtype, resultTensor, seqDims, stepDims } from "./common.ts";
import type { ModelFamily, Params } from "./types.ts";

/** Config of one LSTM layer (eqs. 10-15) with a linear readout: x_t [d_in] -> h_t, c_t [hidden] -> y_t [d_out]. */
export interface LstmConfig {
  /** Input width d_in (the cell sees x_t itself). */
  d_in: number;
  /** Hidden / cell neurons N. */
  hidden: number;
  /** Output width d_out. */
  d_out: number;
}

/** Config schema of the LSTM family (eqs. 10-15): d_in, hidden N (default 100), d_out. */
export const lstmSchema: Schema<LstmConfig> = {
  d_in: int("input width d_in", { min: 1, max: 1 << 16 }),
  hidden: int("hidden neurons N", { min: 1, max: 1 << 16, default: 100 }),
  d_out: int("output width d_out", { min: 1, max: 1 << 16 }),
};

/** The four gates of eqs. 10-14, in the order of the tensor names: forget, candidate, candidate gate, output. */
const GATES = ["f", "c", "g", "o"] as const;
type Gate = (typeof GATES)[number];

function shapesFor(c: LstmConfig): Record<string, number[]> {
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

function views(k: Kernels, p: Params<LstmConfig>): Views {
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
 * Input half of every gate's pre-activation for R rows of x [R, d_in]: P_q [R, N] = x U_qᵀ + b_q, q in f, c, g, o.
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

/** Scratch buffers [B, N] of one cell step (allocated once per forward/step). */
interface Scratch {
  a: Record<Gate, Float>;
  tmp: Float;
}

function scratch(k: Kernels, B: number, N: number): Scratch {
  const a = {} as Record<Gate, Float>;
  for (const q of GATES) a[q] = k.alloc(B * N);
  return { a, tmp: k.alloc(B * N) };
}

/**
 * One step of eqs. 10-15 for B rows, in place: s.a[q] holds U_q x_t + b_q on entry; h, c [B, N] hold h_{t-1},
 * c_{t-1} on entry and h_t, c_t on exit.
 */
function cell(k: Kernels, v: Views, s: Scratch, h: Float, c: Float, B: number): void {
  const n = B * v.N;
  const { a, tmp } = s;
  for (const q of GATES) k.mmNT(a[q], h, v.V[q], B, v.N, v.N, true); // + V_q h_{t-1} (all gates before h changes)
  k.sigmoid(a.f, a.f, n); // f_t       (10)
  k.tanh(a.c, a.c, n); // c̃_t          (11)
  k.sigmoid(a.g, a.g, n); // g_t       (12)
  k.sigmoid(a.o, a.o, n); // o_t       (14)
  k.mul(c, a.f, c, n); // f_t ⊙ c_{t-1}
  k.mul(tmp, a.g, a.c, n); // g_t ⊙ c̃_t
  k.add(c, c, tmp, n); // c_t         (13)
  k.tanh(tmp, c, n);
  k.mul(h, a.o, tmp, n); // h_t = o_t ⊙ tanh(c_t)   (15)
}

/** Copies rows (b, t) of a batch-major [B, T, N] buffer into / out of a [B, N] buffer (plain glue, no arithmetic). */
function gather(dst: Float, src: Float, t: number, B: number, T: number, N: number): void {
  for (let b = 0; b < B; b++) dst.set(src.subarray((b * T + t) * N, (b * T + t + 1) * N), b * N);
}
function scatter(dst: Float, src: Float, t: number, B: number, T: number, N: number): void {
  for (let b = 0; b < B; b++) dst.set(src.subarray(b * N, (b + 1) * N), (b * T + t) * N);
}

/**
 * LSTM layer of Appendix A.2 (eqs. 10-15) with a linear readout: y_t = readout h_t, h_t = o_t ⊙ tanh(c_t),
 * c_t = f_t ⊙ c_{t-1} + g_t ⊙ c̃_t; x [B, T, d_in] -> y [B, T, d_out]; state {h, c: [B, N]}.
 * Init: U, V, readout ~ N(0, 1/fan_in); biases 0 except b_f = 1 (a common forget-gate bias that starts the cell
 * remembering, f ≈ σ(1) ≈ 0.73).
 */
export const lstm: ModelFamily<LstmConfig> = {
  name: "lstm",
  summary: "LSTM layer of App. A.2 (eqs. 10-15: gates f, g, o, candidate c̃) with a linear readout",
  schema: lstmSchema,
  dims: (c) => ({ dIn: c.d_in, dOut: c.d_out }),
  shapes: shapesFor,
  init(rng, c, dtype = "f64") {
    const N = c.hidden;
    const tensors: Params<LstmConfig>["tensors"] = {};
    for (const q of GATES) tensors[`U_${q}`] = normalInit(rng.split(), [N, c.d_in], dtype);
    for (const q of GATES) tensors[`V_${q}`] = normalInit(rng.split(), [N, N], dtype);
    for (const q of GATES) tensors[`b_${q}`] = constInit([N], dtype, q === "f" ? 1 : 0);
    tensors.readout = normalInit(rng.split(), [c.d_out, N], dtype);
    return { family: "lstm", config: { ...c }, tensors };
  },
  forward(p, x, k = defaultKernels(p)) {
    const cfg = p.config;
    const [B, T] = seqDims(x, cfg.d_in, "lstm");
    const mark = k.mark();
    try {
      const v = views(k, p);
      const N = v.N;
      const R = B * T;
      const P = inputProjections(k, v, onBackend(k, x.data), R); // [B, T, N] per gate
      const s = scratch(k, B, N);
      const h = k.alloc(B * N);
      const c = k.alloc(B * N);
      const H = k.alloc(R * N); // h_t for every (b, t), batch-major
      for (let t = 0; t < T; t++) {
        for (const q of GATES) gather(s.a[q], P[q], t, B, T, N);
        cell(k, v, s, h, c, B);
        scatter(H, h, t, B, T, N);
      }
      const y = k.alloc(R * v.dOut);
      k.mmNT(y, H, v.readout, R, N, v.dOut); // y_t = readout h_t
      return resultTensor(k, [B, T, cfg.d_out], y);
    } finally {
      k.release(mark);
    }
  },
  initState(p, B) {
    const dt = paramsDtype(p);
    return { h: allocFloat(dt, B * p.config.hidden), c: allocFloat(dt, B * p.config.hidden) };
  },
  step(p, state, x, k = defaultKernels(p)) {
    const cfg = p.config;
    const B = stepDims(x, cfg.d_in, "lstm");
    const mark = k.mark();
    try {
      const v = views(k, p);
      const N = v.N;
      const P = inputProjections(k, v, onBackend(k, x.data), B);
      const s: Scratch = { a: P, tmp: k.alloc(B * N) }; // P_q = U_q x_t + b_q is the step's pre-activation
      const h = k.alloc(B * N);
      const c = k.alloc(B * N);
      h.set(state.h.subarray(0, B * N));
      c.set(state.c.subarray(0, B * N));
      cell(k, v, s, h, c, B);
      const y = k.alloc(B * v.dOut);
      k.mmNT(y, h, v.readout, B, N, v.dOut);
      return {
        state: { h: resultTensor(k, [B, N], h).data, c: resultTensor(k, [B, N], c).data },
        y: resultTensor(k, [B, cfg.d_out], y),
      };
    } finally {
      k.release(mark);
    }
  },
};
