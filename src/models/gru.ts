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
import { cellInit, cellShapes, cellViews, cellWeightGrads, inputProjections, onesOf, regroup, sigmoidPrime, toBatchMajor, toTimeMajor } from "./gate-cell.ts";

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
type Views = CellViews<Gate>;
const shapesFor = (c: GruConfig) => cellShapes(GATES, c);
const views = (k: Kernels, p: Params<GruConfig>): Views => cellViews(k, p, GATES);



/**
 * One step of eqs. 16-19 for B rows per run: a[q] [runs, B, N] holds U_q x_t + b_q on entry and r_t, z_t, h̃_t on
 * exit; reads h_{t-1} [runs, B, N], writes rh = r_t ⊙ h_{t-1} and h_t [runs, B, N] (hOut may alias hPrev; tmp, ones
 * [runs, B, N] are scratch and all ones). (1 - z) ⊙ h + z ⊙ h̃ is evaluated literally, so z = 1 gives h̃ and z = 0
 * gives h exactly.
 */
function cell(
  k: Kernels, v: Views, a: Record<Gate, Float>, hPrev: Float, hOut: Float, rh: Float, tmp: Float, ones: Float, B: number, runs: number,
): void {
  const n = runs * B * v.N;
  k.mmNT(a.r, hPrev, v.V.r, B, v.N, v.N, true, runs);
  k.sigmoid(a.r, a.r, n); // r_t                     (16)
  k.mmNT(a.z, hPrev, v.V.z, B, v.N, v.N, true, runs);
  k.sigmoid(a.z, a.z, n); // z_t                     (18)
  k.mul(rh, a.r, hPrev, n); // r_t ⊙ h_{t-1}
  k.mmNT(a.h, rh, v.V.h, B, v.N, v.N, true, runs);
  k.tanh(a.h, a.h, n); // h̃_t                       (17)
  k.scale(tmp, a.z, -1, n);
  k.add(tmp, tmp, ones, n); // 1 - z_t (exact: -z + 1)
  k.mul(hOut, tmp, hPrev, n); // (1 - z_t) ⊙ h_{t-1}
  k.mul(tmp, a.z, a.h, n); // z_t ⊙ h̃_t
  k.add(hOut, hOut, tmp, n); // h_t                  (19)
}




/**
 * Activations of one training forward, time-major: row t·B + b is sequence b at step t+1. act[q] [T·B, N] are r, z,
 * h̃; RH [T·B, N] = r_t ⊙ h_{t-1}; Hs [(T+1)·B, N] holds h_0 = 0 in block 0 and h_t in block t. With runs = R:
 * xT and H (h_1..h_T) run-major [R, T·B, ·], the rest step-major (rows t·R·B + r·B + b).
 */
interface GruCache {
  B: number;
  T: number;
  runs: number;
  xT: Float;
  H: Float;
  act: Record<Gate, Float>;
  RH: Float;
  Hs: Float;
}

/**
 * Forward of eqs. 16-19 over B sequences of length T keeping the activations (the one core of forward and
 * forwardCached): P_q = x U_qᵀ + b_q for all T·B rows at once, then per step the cell; y = H readoutᵀ [B·T, d_out]
 * (batch-major, like x).
 */
function forwardCore(k: Kernels, v: Views, x: Float, B: number, T: number, runs: number): { y: Float; cache: GruCache } {
  const { N, dIn, dOut } = v;
  const R = B * T;
  const S = runs * B * N; // one time step's block (every run's)
  const xT = k.alloc(runs * R * dIn);
  toTimeMajor(xT, x, B, T, dIn, runs);
  const P = inputProjections(k, v, GATES, xT, R, runs); // pre-activations, turned into activations step by step
  const act = {} as Record<Gate, Float>;
  for (const q of GATES) act[q] = regroup(k, P[q], runs, T, B * N); // step-major
  const RH = k.alloc(T * S);
  const Hs = k.alloc(T * S + S);
  const tmp = k.alloc(S);
  const ones = onesOf(k, S);
  const blk = (buf: Float, t: number): Float => buf.subarray(t * S, (t + 1) * S);
  const a = {} as Record<Gate, Float>;
  for (let t = 0; t < T; t++) {
    for (const q of GATES) a[q] = blk(act[q], t);
    cell(k, v, a, blk(Hs, t), blk(Hs, t + 1), blk(RH, t), tmp, ones, B, runs);
  }
  const H = regroup(k, Hs.subarray(S), T, runs, B * N); // run-major h_1..h_T
  const yT = k.alloc(runs * R * dOut);
  k.mmNT(yT, H, v.readout, R, N, dOut, false, runs); // y_t = readout h_t
  const y = k.alloc(runs * R * dOut);
  toBatchMajor(y, yT, B, T, dOut, runs);
  return { y, cache: { B, T, runs, xT, H, act, RH, Hs } };
}

/**
 * Backpropagation through time of eqs. 16-19 (reverse order of forwardCore). With dH = dy readout and, per step
 * from t = T down to 1, dh_t = dH_t + dhRec:
 *   dA_h = dh_t ⊙ z_t ⊙ (1 - h̃_t²), dA_z = dh_t ⊙ (h̃_t - h_{t-1}) ⊙ σ'_z, drh = dA_h V_h, dA_r = drh ⊙ h_{t-1} ⊙ σ'_r,
 *   dhRec = dh_t ⊙ (1 - z_t) + drh ⊙ r_t + dA_r V_r + dA_z V_z;
 * then over all rows: dU_q = dA_qᵀ x, dV_r = dA_rᵀ h_{t-1}, dV_z = dA_zᵀ h_{t-1}, dV_h = dA_hᵀ (r ⊙ h_{t-1}),
 * db_q = Σ_rows dA_q, dreadout = dyᵀ H, dx = Σ_q dA_q U_q. σ' = s(1 - s) and 1 - h̃² are exactly 0 where a bias is
 * ±inf, so those gradients are 0 and nothing becomes NaN.
 */
function backwardCore(k: Kernels, v: Views, c: GruCache, dy: Float): Gradients {
  const { B, T, runs, xT, H, act, RH, Hs } = c;
  const { N, dIn, dOut } = v;
  const R = B * T;
  const S = runs * B * N;
  const n = runs * R * N; // every run's rows
  const Hprev = Hs.subarray(0, n); // h_{t-1} (step-major)
  const dyT = k.alloc(runs * R * dOut);
  toTimeMajor(dyT, dy, B, T, dOut, runs);
  const dReadout = k.alloc(runs * dOut * N);
  k.mmTN(dReadout, dyT, H, dOut, R, N, false, runs); // dreadout = dyᵀ H
  const dHr = k.alloc(n);
  k.mm(dHr, dyT, v.readout, R, dOut, N, false, runs); // dL/dh_t through y_t only
  const dH = regroup(k, dHr, runs, T, B * N); // step-major
  // Local derivative factors for all rows at once (they do not depend on the recurrence).
  const ones = onesOf(k, n);
  const Kh = k.alloc(n); // z_t ⊙ (1 - h̃_t²)
  k.mul(Kh, act.h, act.h, n);
  k.scale(Kh, Kh, -1, n);
  k.add(Kh, Kh, ones, n);
  k.mul(Kh, Kh, act.z, n);
  const sp = k.alloc(n);
  const Kz = k.alloc(n); // (h̃_t - h_{t-1}) ⊙ σ'(z)
  k.scale(Kz, Hprev, -1, n);
  k.add(Kz, Kz, act.h, n);
  sigmoidPrime(k, sp, act.z, ones, n);
  k.mul(Kz, Kz, sp, n);
  const Kr = k.alloc(n); // h_{t-1} ⊙ σ'(r)
  sigmoidPrime(k, Kr, act.r, ones, n);
  k.mul(Kr, Kr, Hprev, n);
  const omz = k.alloc(n); // 1 - z_t
  k.scale(omz, act.z, -1, n);
  k.add(omz, omz, ones, n);
  // The recurrence, one step at a time from the last.
  const dA = {} as Record<Gate, Float>;
  for (const q of GATES) dA[q] = k.alloc(n);
  const dhRec = k.alloc(S);
  const drh = k.alloc(S);
  const tmp = k.alloc(S);
  const blk = (buf: Float, t: number): Float => buf.subarray(t * S, (t + 1) * S);
  for (let t = T - 1; t >= 0; t--) {
    const dh = blk(dH, t);
    k.add(dh, dh, dhRec, S); // dh_t = dH_t + dL/dh_t through step t+1
    k.mul(blk(dA.h, t), dh, blk(Kh, t), S);
    k.mul(blk(dA.z, t), dh, blk(Kz, t), S);
    k.mm(drh, blk(dA.h, t), v.V.h, B, N, N, false, runs); // dL/d(r_t ⊙ h_{t-1})
    k.mul(blk(dA.r, t), drh, blk(Kr, t), S);
    if (t === 0) break; // h_0 = 0 is a constant
    k.mul(dhRec, dh, blk(omz, t), S); // through (1 - z_t) ⊙ h_{t-1}
    k.mul(tmp, drh, blk(act.r, t), S); // through r_t ⊙ h_{t-1}
    k.add(dhRec, dhRec, tmp, S);
    k.mm(dhRec, blk(dA.r, t), v.V.r, B, N, N, true, runs); // through the reset gate
    k.mm(dhRec, blk(dA.z, t), v.V.z, B, N, N, true, runs); // through the update gate
  }
  // Weight and input gradients over all T·B rows of each run (run-major).
  const grads: Record<string, Float> = { readout: dReadout };
  const dAr = {} as Record<Gate, Float>;
  for (const q of GATES) dAr[q] = regroup(k, dA[q], T, runs, B * N);
  const HprevR = regroup(k, Hprev, T, runs, B * N);
  const RHr = regroup(k, RH, T, runs, B * N);
  const dxT = cellWeightGrads(k, v, GATES, dAr, xT, (q) => (q === "h" ? RHr : HprevR), R, grads, runs);
  const dx = k.alloc(runs * R * dIn);
  toBatchMajor(dx, dxT, B, T, dIn, runs);
  return { grads, dx };
}

/**
 * GRU layer of Appendix A.3 (eqs. 16-19) with a linear readout: y_t = readout h_t,
 * h_t = (1 - z_t) ⊙ h_{t-1} + z_t ⊙ h̃_t; x [B, T, d_in] -> y [B, T, d_out]; state {h: [B, N]}.
 * Init: U, V, readout ~ N(0, 1/fan_in); biases 0.
 */
export const gru: ModelFamily<GruConfig> = {
  name: "gru",
  runs: true,
  summary: "GRU layer of App. A.3 (eqs. 16-19: reset r, update z, candidate h̃) with a linear readout",
  schema: gruSchema,
  dims: (c) => ({ dIn: c.d_in, dOut: c.d_out }),
  widthKeys: ["d_in", "d_out"],
  shapes: shapesFor,
  init: (rng, c, dtype = "f64") => ({ family: "gru", config: { ...c }, tensors: cellInit(rng, GATES, c, dtype, () => 0) }),
  forward(p, x, k = defaultKernels(p)) {
    const runs = runsOf(p, gru);
    const [B, T] = seqDims(x, p.config.d_in, "gru", runs);
    const mark = k.mark();
    try {
      const { y } = forwardCore(k, views(k, p), x.data, B, T, runs);
      return resultTensor(k, [runs * B, T, p.config.d_out], y);
    } finally {
      k.release(mark);
    }
  },
  forwardCached(p, x, k) {
    const runs = runsOf(p, gru);
    const [B, T] = seqDims(x, p.config.d_in, "gru", runs);
    const { y, cache } = forwardCore(k, views(k, p), x.data, B, T, runs);
    return { y, cache: cache as unknown as Cache };
  },
  backward: (p, cache, dy, k) => backwardCore(k, views(k, p), cache as unknown as GruCache, dy),
  initState: (p, B) => ({ h: allocFloat(paramsDtype(p), runsOf(p, gru) * B * p.config.hidden) }),
  step(p, state, x, k = defaultKernels(p)) {
    const cfg = p.config;
    const runs = runsOf(p, gru);
    const B = stepDims(x, cfg.d_in, "gru", runs);
    const mark = k.mark();
    try {
      const v = views(k, p);
      const N = v.N;
      const rows = runs * B;
      const a = inputProjections(k, v, GATES, onBackend(k, x.data), B, runs); // U_q x_t + b_q, the step's pre-activation
      const h = k.alloc(rows * N);
      h.set(state.h.subarray(0, rows * N));
      cell(k, v, a, h, h, k.alloc(rows * N), k.alloc(rows * N), onesOf(k, rows * N), B, runs); // in place: h becomes h_t
      const y = k.alloc(rows * v.dOut);
      k.mmNT(y, h, v.readout, B, N, v.dOut, false, runs);
      return { state: { h: resultTensor(k, [rows, N], h).data }, y: resultTensor(k, [rows, cfg.d_out], y) };
    } finally {
      k.release(mark);
    }
  },
};
