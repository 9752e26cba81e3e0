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
 * Run groups (Params.runs = R): one kernel call per step for all R runs (gate-cell.ts: run-major products, step-major
 * recurrence), every run's numbers bit for bit those it gets alone.
 */
import type { Schema } from "../config.ts";
import { int } from "../config.ts";
import type { Kernels } from "../kernels/types.ts";
import type { Float } from "../tensor.ts";
import { allocFloat } from "../tensor.ts";
import { defaultKernels, onBackend, paramsDtype, resultTensor, runsOf, seqDims, stepDims } from "./common.ts";
import type { Cache, Gradients, ModelFamily, Params } from "./types.ts";
import type { CellViews } from "./gate-cell.ts";
import { cellInit, cellShapes, cellViews, cellWeightGrads, inputProjections, onesOf, regroup, sigmoidPrime, tanhPrime, toBatchMajor, toTimeMajor } from "./gate-cell.ts";

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
type Views = CellViews<Gate>;
const shapesFor = (c: LstmConfig) => cellShapes(GATES, c);
const views = (k: Kernels, p: Params<LstmConfig>): Views => cellViews(k, p, GATES);



/**
 * One step of eqs. 10-15 for B rows per run: a[q] [runs, B, N] holds U_q x_t + b_q on entry and the gate activations
 * f_t, c̃_t, g_t, o_t on exit; reads h_{t-1}, c_{t-1} [runs, B, N] and writes h_t, c_t and tanh(c_t) [runs, B, N].
 * hOut may alias hPrev and cOut may alias cPrev; tc must alias nothing else.
 */
function cell(
  k: Kernels, v: Views, a: Record<Gate, Float>, hPrev: Float, cPrev: Float, hOut: Float, cOut: Float, tc: Float, B: number, runs: number,
): void {
  const n = runs * B * v.N;
  for (const q of GATES) k.mmNT(a[q], hPrev, v.V[q], B, v.N, v.N, true, runs); // + V_q h_{t-1} (all gates before h changes)
  k.sigmoid(a.f, a.f, n); // f_t       (10)
  k.tanh(a.c, a.c, n); // c̃_t          (11)
  k.sigmoid(a.g, a.g, n); // g_t       (12)
  k.sigmoid(a.o, a.o, n); // o_t       (14)
  k.mul(cOut, a.f, cPrev, n); // f_t ⊙ c_{t-1}
  k.mul(tc, a.g, a.c, n); // g_t ⊙ c̃_t (tc as scratch)
  k.add(cOut, cOut, tc, n); // c_t     (13)
  k.tanh(tc, cOut, n); // tanh(c_t)
  k.mul(hOut, a.o, tc, n); // h_t = o_t ⊙ tanh(c_t)   (15)
}



/**
 * Activations of one training forward, time-major: row t·B + b is sequence b at step t+1. act[q] [T·B, N] are the
 * gates f, c̃, g, o; Hs, Cs [(T+1)·B, N] hold h_0 = c_0 = 0 in block 0 and h_t, c_t in block t; tanhC [T·B, N].
 * With runs = R: xT and H (h_1..h_T) run-major [R, T·B, ·], the rest step-major (rows t·R·B + r·B + b).
 */
interface LstmCache {
  B: number;
  T: number;
  runs: number;
  xT: Float;
  H: Float;
  act: Record<Gate, Float>;
  Hs: Float;
  Cs: Float;
  tanhC: Float;
}

/**
 * Forward of eqs. 10-15 over B sequences of length T keeping the activations (the one core of forward and
 * forwardCached): P_q = x U_qᵀ + b_q for all T·B rows at once, then per step the cell; y = H readoutᵀ [B·T, d_out]
 * (batch-major, like x).
 */
function forwardCore(k: Kernels, v: Views, x: Float, B: number, T: number, runs: number): { y: Float; cache: LstmCache } {
  const { N, dIn, dOut } = v;
  const R = B * T;
  const S = runs * B * N; // one time step's block (every run's)
  const xT = k.alloc(runs * R * dIn);
  toTimeMajor(xT, x, B, T, dIn, runs);
  const P = inputProjections(k, v, GATES, xT, R, runs); // pre-activations, turned into activations step by step
  const act = {} as Record<Gate, Float>;
  for (const q of GATES) act[q] = regroup(k, P[q], runs, T, B * N); // step-major
  const Hs = k.alloc(T * S + S);
  const Cs = k.alloc(T * S + S);
  const tanhC = k.alloc(T * S);
  const blk = (buf: Float, t: number): Float => buf.subarray(t * S, (t + 1) * S);
  const a = {} as Record<Gate, Float>;
  for (let t = 0; t < T; t++) {
    for (const q of GATES) a[q] = blk(act[q], t);
    cell(k, v, a, blk(Hs, t), blk(Cs, t), blk(Hs, t + 1), blk(Cs, t + 1), blk(tanhC, t), B, runs);
  }
  const H = regroup(k, Hs.subarray(S), T, runs, B * N); // run-major h_1..h_T
  const yT = k.alloc(runs * R * dOut);
  k.mmNT(yT, H, v.readout, R, N, dOut, false, runs); // y_t = readout h_t
  const y = k.alloc(runs * R * dOut);
  toBatchMajor(y, yT, B, T, dOut, runs);
  return { y, cache: { B, T, runs, xT, H, act, Hs, Cs, tanhC } };
}

/**
 * Backpropagation through time of eqs. 10-15 (reverse order of forwardCore). With dH = dy readout and, per step
 * from t = T down to 1, dh_t = dH_t + dhRec, dc_t = dcRec + dh_t ⊙ o_t ⊙ (1 - tanh²c_t):
 *   dA_o = dh_t ⊙ tanh(c_t) ⊙ σ'_o, dA_f = dc_t ⊙ c_{t-1} ⊙ σ'_f, dA_g = dc_t ⊙ c̃_t ⊙ σ'_g,
 *   dA_c = dc_t ⊙ g_t ⊙ (1 - c̃_t²), dcRec = dc_t ⊙ f_t, dhRec = Σ_q dA_q V_q;
 * then over all rows: dU_q = dA_qᵀ x, dV_q = dA_qᵀ h_{t-1}, db_q = Σ_rows dA_q, dreadout = dyᵀ H, dx = Σ_q dA_q U_q.
 * σ' = s(1 - s) is exactly 0 where a bias is ±inf, so those gradients are 0 and nothing becomes NaN.
 */
function backwardCore(k: Kernels, v: Views, c: LstmCache, dy: Float): Gradients {
  const { B, T, runs, xT, H, act, Hs, Cs, tanhC } = c;
  const { N, dIn, dOut } = v;
  const R = B * T;
  const S = runs * B * N;
  const n = runs * R * N; // every run's rows
  const Cprev = Cs.subarray(0, n); // c_{t-1} (step-major)
  const dyT = k.alloc(runs * R * dOut);
  toTimeMajor(dyT, dy, B, T, dOut, runs);
  const dReadout = k.alloc(runs * dOut * N);
  k.mmTN(dReadout, dyT, H, dOut, R, N, false, runs); // dreadout = dyᵀ H
  const dHr = k.alloc(n);
  k.mm(dHr, dyT, v.readout, R, dOut, N, false, runs); // dL/dh_t through y_t only
  const dH = regroup(k, dHr, runs, T, B * N); // step-major
  // Local derivative factors for all rows at once (they do not depend on the recurrence).
  const ones = onesOf(k, n);
  const Ko = k.alloc(n); // tanh(c_t) ⊙ σ'(o)
  sigmoidPrime(k, Ko, act.o, ones, n);
  k.mul(Ko, Ko, tanhC, n);
  const Kc = k.alloc(n); // o_t ⊙ (1 - tanh²c_t)
  tanhPrime(k, Kc, tanhC, ones, n);
  k.mul(Kc, Kc, act.o, n);
  const Kf = k.alloc(n); // c_{t-1} ⊙ σ'(f)
  sigmoidPrime(k, Kf, act.f, ones, n);
  k.mul(Kf, Kf, Cprev, n);
  const Kg = k.alloc(n); // c̃_t ⊙ σ'(g)
  sigmoidPrime(k, Kg, act.g, ones, n);
  k.mul(Kg, Kg, act.c, n);
  const Kct = k.alloc(n); // g_t ⊙ (1 - c̃_t²)
  tanhPrime(k, Kct, act.c, ones, n);
  k.mul(Kct, Kct, act.g, n);
  // The recurrence, one step at a time from the last.
  const dA = {} as Record<Gate, Float>;
  for (const q of GATES) dA[q] = k.alloc(n);
  const dhRec = k.alloc(S);
  const dcRec = k.alloc(S);
  const dc = k.alloc(S);
  const blk = (buf: Float, t: number): Float => buf.subarray(t * S, (t + 1) * S);
  for (let t = T - 1; t >= 0; t--) {
    const dh = blk(dH, t);
    k.add(dh, dh, dhRec, S); // dh_t = dH_t + dL/dh_t through step t+1
    k.mul(blk(dA.o, t), dh, blk(Ko, t), S);
    k.mul(dc, dh, blk(Kc, t), S);
    k.add(dc, dc, dcRec, S); // dc_t
    k.mul(blk(dA.f, t), dc, blk(Kf, t), S);
    k.mul(blk(dA.g, t), dc, blk(Kg, t), S);
    k.mul(blk(dA.c, t), dc, blk(Kct, t), S);
    if (t === 0) break; // h_0 = c_0 = 0 are constants
    k.mul(dcRec, dc, blk(act.f, t), S); // dL/dc_{t-1} through c_t
    GATES.forEach((q, i) => k.mm(dhRec, blk(dA[q], t), v.V[q], B, N, N, i > 0, runs)); // dL/dh_{t-1} through the gates
  }
  // Weight and input gradients over all T·B rows of each run (run-major).
  const grads: Record<string, Float> = { readout: dReadout };
  const dAr = {} as Record<Gate, Float>;
  for (const q of GATES) dAr[q] = regroup(k, dA[q], T, runs, B * N);
  const Hprev = regroup(k, Hs.subarray(0, n), T, runs, B * N); // h_{t-1}
  const dxT = cellWeightGrads(k, v, GATES, dAr, xT, () => Hprev, R, grads, runs);
  const dx = k.alloc(runs * R * dIn);
  toBatchMajor(dx, dxT, B, T, dIn, runs);
  return { grads, dx };
}

/**
 * LSTM layer of Appendix A.2 (eqs. 10-15) with a linear readout: y_t = readout h_t, h_t = o_t ⊙ tanh(c_t),
 * c_t = f_t ⊙ c_{t-1} + g_t ⊙ c̃_t; x [B, T, d_in] -> y [B, T, d_out]; state {h, c: [B, N]}.
 * Init: U, V, readout ~ N(0, 1/fan_in); biases 0 except b_f = 1 (a common forget-gate bias that starts the cell
 * remembering, f ≈ σ(1) ≈ 0.73).
 */
export const lstm: ModelFamily<LstmConfig> = {
  name: "lstm",
  runs: true,
  summary: "LSTM layer of App. A.2 (eqs. 10-15: gates f, g, o, candidate c̃) with a linear readout",
  schema: lstmSchema,
  dims: (c) => ({ dIn: c.d_in, dOut: c.d_out }),
  widthKeys: ["d_in", "d_out"],
  shapes: shapesFor,
  init: (rng, c, dtype = "f64") => ({ family: "lstm", config: { ...c }, tensors: cellInit(rng, GATES, c, dtype, (q) => (q === "f" ? 1 : 0)) }),
  forward(p, x, k = defaultKernels(p)) {
    const runs = runsOf(p, lstm);
    const [B, T] = seqDims(x, p.config.d_in, "lstm", runs);
    const mark = k.mark();
    try {
      const { y } = forwardCore(k, views(k, p), x.data, B, T, runs);
      return resultTensor(k, [runs * B, T, p.config.d_out], y);
    } finally {
      k.release(mark);
    }
  },
  forwardCached(p, x, k) {
    const runs = runsOf(p, lstm);
    const [B, T] = seqDims(x, p.config.d_in, "lstm", runs);
    const { y, cache } = forwardCore(k, views(k, p), x.data, B, T, runs);
    return { y, cache: cache as unknown as Cache };
  },
  backward: (p, cache, dy, k) => backwardCore(k, views(k, p), cache as unknown as LstmCache, dy),
  initState(p, B) {
    const dt = paramsDtype(p);
    const n = runsOf(p, lstm) * B * p.config.hidden;
    return { h: allocFloat(dt, n), c: allocFloat(dt, n) };
  },
  step(p, state, x, k = defaultKernels(p)) {
    const cfg = p.config;
    const runs = runsOf(p, lstm);
    const B = stepDims(x, cfg.d_in, "lstm", runs);
    const mark = k.mark();
    try {
      const v = views(k, p);
      const N = v.N;
      const rows = runs * B;
      const a = inputProjections(k, v, GATES, onBackend(k, x.data), B, runs); // U_q x_t + b_q, the step's pre-activation
      const h = k.alloc(rows * N);
      const c = k.alloc(rows * N);
      h.set(state.h.subarray(0, rows * N));
      c.set(state.c.subarray(0, rows * N));
      cell(k, v, a, h, c, h, c, k.alloc(rows * N), B, runs); // in place: h, c become h_t, c_t
      const y = k.alloc(rows * v.dOut);
      k.mmNT(y, h, v.readout, B, N, v.dOut, false, runs);
      return {
        state: { h: resultTensor(k, [rows, N], h).data, c: resultTensor(k, [rows, N], c).data },
        y: resultTensor(k, [rows, cfg.d_out], y),
      };
    } finally {
      k.release(mark);
    }
  },
};
