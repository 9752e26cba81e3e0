/**
 * Gated diagonal linear RNN, eq. 2 (and its dense-recurrence variant, Figure 4 "dense"). With z_t = [x_t; 1]:
 *   u_t = (in_x z_t) ⊙ (in_m z_t),   h_t = lambda ⊙ h_{t-1} + u_t  (dense: h_t = A h_{t-1} + u_t),   h_0 = 0,
 *   y_t = readout ((out_x h_t) ⊙ (out_m h_t)).
 * Shapes: in_x, in_m [N, d_in+1]; lambda [N] (dense: A [N, N]); out_x, out_m [M, N]; readout [d_out, M].
 * Trained models keep lambda in [0, 1] through lambda = exp(-exp(nu)) (the family's `trained` form: nu is what the
 * optimizer updates, without weight decay); the stored tensor is `lambda` itself, as CONVENTIONS.md names it.
 * Run groups (Params.runs = R): R models in lockstep, one kernel call per product/scan for all R (each kernel's run
 * count), every run's numbers bit for bit those it gets alone.
 */
import type { Schema } from "../config.ts";
import { int } from "../config.ts";
import type { Kernels } from "../kernels/types.ts";
import type { Rng } from "../rng.ts";
import type { DType, Float, Tensor } from "../tensor.ts";
import { allocFloat } from "../tensor.ts";
import { appendOne, defaultKernels, normalInit, onBackend, paramsDtype, resultTensor, runsOf, seqDims, stepDims } from "./common.ts";
import type { Cache, Gradients, ModelFamily, Params, Reparam, State, TrainedForm } from "./types.ts";

export interface GatedRnnConfig {
  /** Input width d_in (the layer sees d_in + 1 inputs: the constant 1 is appended). */
  d_in: number;
  /** Hidden (recurrent) neurons N. */
  hidden: number;
  /** Output-gating rows M. */
  output_gating: number;
  /** Output width d_out. */
  d_out: number;
}

export const gatedRnnSchema: Schema<GatedRnnConfig> = {
  d_in: int("input width d_in", { min: 1, max: 1 << 16 }),
  hidden: int("hidden neurons N", { min: 1, max: 1 << 16, default: 100 }),
  output_gating: int("output-gating rows M", { min: 1, max: 1 << 16, default: 100 }),
  d_out: int("output width d_out", { min: 1, max: 1 << 16 }),
};

/** The constant 1 is appended as the last input coordinate: z_t = [x_t; 1] has width d_in + 1. */
function shapesFor(c: GatedRnnConfig, dense: boolean): Record<string, number[]> {
  const N = c.hidden;
  return {
    in_x: [N, c.d_in + 1],
    in_m: [N, c.d_in + 1],
    ...(dense ? { A: [N, N] } : { lambda: [N] }),
    out_x: [c.output_gating, N],
    out_m: [c.output_gating, N],
    readout: [c.d_out, c.output_gating],
  };
}

/** lambda_i = exp(-exp(nu_i)) with the ring initialisation |lambda| = sqrt(U(0, 1)) (CONVENTIONS.md), shape [N]. */
export function ringLambdaInit(rng: Rng, n: number, dtype: DType, rMin = 0, rMax = 1): Tensor {
  const data = allocFloat(dtype, n);
  for (let i = 0; i < n; i++) data[i] = Math.sqrt(rng.uniformIn(rMin * rMin, rMax * rMax));
  return { shape: [n], data };
}

function initGated(rng: Rng, c: GatedRnnConfig, dtype: DType, dense: boolean): Tensor[] {
  const N = c.hidden;
  const M = c.output_gating;
  const inX = normalInit(rng.split(), [N, c.d_in + 1], dtype);
  const inM = normalInit(rng.split(), [N, c.d_in + 1], dtype);
  let rec: Tensor;
  if (dense) {
    // A = diag(ring lambda) + N(0, 1/N) off-diagonal noise scaled down so the recurrence starts stable.
    const lam = ringLambdaInit(rng.split(), N, dtype);
    rec = normalInit(rng.split(), [N, N], dtype, 0.1 / Math.sqrt(N));
    for (let i = 0; i < N; i++) rec.data[i * N + i] += lam.data[i];
  } else {
    rec = ringLambdaInit(rng.split(), N, dtype);
  }
  const outX = normalInit(rng.split(), [M, N], dtype);
  const outM = normalInit(rng.split(), [M, N], dtype);
  const readout = normalInit(rng.split(), [c.d_out, M], dtype);
  return [inX, inM, rec, outX, outM, readout];
}

/** The tensors on backend k ([runs, shape] each) and the sizes; `runs` = R of the run group (1: a single model). */
interface Views {
  inX: Float; inM: Float; rec: Float; outX: Float; outM: Float; readout: Float;
  N: number; M: number; dIn: number; dOut: number; runs: number;
}

function views(k: Kernels, p: Params<GatedRnnConfig>, dense: boolean, runs: number): Views {
  const t = p.tensors;
  return {
    runs,
    inX: onBackend(k, t.in_x.data),
    inM: onBackend(k, t.in_m.data),
    rec: onBackend(k, (dense ? t.A : t.lambda).data),
    outX: onBackend(k, t.out_x.data),
    outM: onBackend(k, t.out_m.data),
    readout: onBackend(k, t.readout.data),
    N: p.config.hidden,
    M: p.config.output_gating,
    dIn: p.config.d_in,
    dOut: p.config.d_out,
  };
}

/** Output stage of eq. 2 per run: y [runs, rows, d_out] = readout ((out_x h) ⊙ (out_m h)) from h [runs, rows, N]. */
function readoutRows(k: Kernels, v: Views, h: Float, rows: number): Float {
  const g = k.alloc(v.runs * rows * v.M);
  k.gate(g, h, v.outX, v.outM, rows, v.N, v.M, undefined, undefined, v.runs);
  const y = k.alloc(v.runs * rows * v.dOut);
  k.mmNT(y, g, v.readout, rows, v.M, v.dOut, false, v.runs);
  return y;
}

/**
 * Dense recurrence h[b,t] = A h[b,t-1] + u[b,t] for B sequences of length T per run (h0 = given state [runs, B, N] or
 * 0; h, u [runs, B, T, N], A [runs, N, N]).
 */
function denseScan(k: Kernels, h: Float, u: Float, A: Float, B: number, T: number, N: number, h0: Float | undefined, runs: number): void {
  const rows = runs * B; // a run is B more sequences with their own A
  const prev = k.alloc(rows * N);
  if (h0) prev.set(h0.subarray(0, rows * N));
  const cur = k.alloc(rows * N);
  for (let t = 0; t < T; t++) {
    k.mmNT(cur, prev, A, B, N, N, false, runs); // cur[b,:] = A · prev[b,:]
    for (let b = 0; b < rows; b++) {
      const o = (b * T + t) * N;
      for (let i = 0; i < N; i++) {
        const v = cur[b * N + i] + u[o + i];
        h[o + i] = v;
        prev[b * N + i] = v;
      }
    }
  }
}

/** Activations of one training forward pass (all [runs, rows, width] row-major in k's buffers; B per run). */
interface GatedCache {
  B: number; T: number;
  z: Float; gxIn: Float; gmIn: Float; h: Float; gxOut: Float; gmOut: Float; g: Float;
}

/**
 * Forward of eq. 2 over B sequences of length T per run keeping the activations: z = [x; 1], (gxIn, gmIn) =
 * (z in_xᵀ, z in_mᵀ), h = scan(gxIn ⊙ gmIn), (gxOut, gmOut) = (h out_xᵀ, h out_mᵀ), g = gxOut ⊙ gmOut,
 * y = g readoutᵀ [runs, B*T, d_out]; x [runs, B*T, d_in].
 */
function forwardCore(k: Kernels, v: Views, x: Float, B: number, T: number, dense: boolean): { y: Float; cache: GatedCache } {
  const R = B * T;
  const D = v.dIn + 1;
  const runs = v.runs;
  const z = appendOne(k, x, runs * R, v.dIn);
  const gxIn = k.allocUninit(runs * R * v.N);
  const gmIn = k.allocUninit(runs * R * v.N);
  const h = k.allocUninit(runs * R * v.N);
  k.gate(h, z, v.inX, v.inM, R, D, v.N, gxIn, gmIn, runs);
  if (dense) denseScan(k, h, h, v.rec, B, T, v.N, undefined, runs);
  else k.scan(h, h, v.rec, B, T, v.N, undefined, runs);
  const gxOut = k.allocUninit(runs * R * v.M);
  const gmOut = k.allocUninit(runs * R * v.M);
  const g = k.allocUninit(runs * R * v.M);
  k.gate(g, h, v.outX, v.outM, R, v.N, v.M, gxOut, gmOut, runs);
  const y = k.allocUninit(runs * R * v.dOut);
  k.mmNT(y, g, v.readout, R, v.M, v.dOut, false, runs);
  return { y, cache: { B, T, z, gxIn, gmIn, h, gxOut, gmOut, g } };
}

/** Gradients of one gating product out = (A Xᵀ) ⊙ (A Mᵀ): dFx, dFm [r, n] w.r.t. its two factors; dX, dM [n, kd]. */
interface GateGrads { dFx: Float; dFm: Float; dX: Float; dM: Float }

/**
 * Backward of the gating product of eq. 2 per run given dOut [r, n] and the forward factors gx = A Xᵀ, gm = A Mᵀ:
 * dFx = dOut ⊙ gm, dFm = dOut ⊙ gx, dX = dFxᵀ A, dM = dFmᵀ A (A [r, kd]; every buffer [runs, its shape]).
 */
function gateBackward(k: Kernels, dOut: Float, gx: Float, gm: Float, A: Float, r: number, kd: number, n: number, runs: number): GateGrads {
  const dFx = k.allocUninit(runs * r * n);
  const dFm = k.allocUninit(runs * r * n);
  k.mul(dFx, dOut, gm, runs * r * n);
  k.mul(dFm, dOut, gx, runs * r * n);
  const dX = k.allocUninit(runs * n * kd);
  const dM = k.allocUninit(runs * n * kd);
  k.mmTN(dX, dFx, A, n, r, kd, false, runs);
  k.mmTN(dM, dFm, A, n, r, kd, false, runs);
  return { dFx, dFm, dX, dM };
}

/** The gating product's input gradient per run: dA [runs, r, kd] = dFx X + dFm M. */
function gateInputGrad(k: Kernels, g: GateGrads, X: Float, M: Float, r: number, kd: number, n: number, runs: number): Float {
  const dA = k.allocUninit(runs * r * kd);
  k.mm(dA, g.dFx, X, r, n, kd, false, runs);
  k.mm(dA, g.dFm, M, r, n, kd, true, runs);
  return dA;
}

/**
 * Backward of eq. 2 (reverse order of forwardCore): dreadout = dyᵀ g; dg = dy readout; d(out_x) = (dg ⊙ gmOut)ᵀ h,
 * d(out_m) = (dg ⊙ gxOut)ᵀ h; dh = (dg ⊙ gmOut) out_x + (dg ⊙ gxOut) out_m; du = reverse scan of dh;
 * dlambda_i = sum_{b,t} du[b,t,i] h[b,t-1,i] (dense: dA = sum_t du_t h_{t-1}ᵀ); d(in_x) = (du ⊙ gmIn)ᵀ z,
 * d(in_m) = (du ⊙ gxIn)ᵀ z; dz = (du ⊙ gmIn) in_x + (du ⊙ gxIn) in_m, dx = dz without the constant column (computed
 * when `dx` is first read). Per run: every buffer [runs, its shape], dy [runs, B*T, d_out].
 */
function backwardCore(k: Kernels, v: Views, c: GatedCache, dy: Float, dense: boolean): Gradients {
  const { B, T } = c;
  const R = B * T;
  const { N, M, dIn, dOut, runs } = v;
  const D = dIn + 1;
  const dReadout = k.allocUninit(runs * dOut * M);
  k.mmTN(dReadout, dy, c.g, dOut, R, M, false, runs);
  const dg = k.allocUninit(runs * R * M);
  k.mm(dg, dy, v.readout, R, dOut, M, false, runs);
  const gOut = gateBackward(k, dg, c.gxOut, c.gmOut, c.h, R, N, M, runs);
  const du = gateInputGrad(k, gOut, v.outX, v.outM, R, N, M, runs);
  const recSize = dense ? N * N : N;
  const dRec = k.alloc(runs * recSize);
  if (dense) {
    denseScanReverse(k, du, du, v.rec, B, T, N, runs);
    // dA = sum_{b,t>=1} du[b,t] h[b,t-1]ᵀ (per run: sequence b of the group belongs to run floor(b / B))
    for (let b = 0; b < runs * B; b++) {
      if (T < 2) continue;
      const o = b * T * N;
      const q = Math.floor(b / B) * recSize;
      k.mmTN(dRec.subarray(q, q + recSize), du.subarray(o + N, o + T * N), c.h.subarray(o, o + (T - 1) * N), N, T - 1, N, true);
    }
  } else {
    k.scanReverse(du, du, v.rec, B, T, N, runs);
    // prod[b,t] = du[b,t] ⊙ h[b,t-1] for t >= 1 and 0 at t = 0: one product of the rows shifted by one, then the
    // rows at t = 0 (which paired du[b,0] with h[b-1,T-1], or with the previous run's last row) zeroed
    const rows = runs * R;
    const prod = k.allocUninit(rows * N);
    if (rows > 1) k.mul(prod.subarray(N), du.subarray(N), c.h, (rows - 1) * N);
    for (let b = 0; b < runs * B; b++) prod.fill(0, b * T * N, (b * T + 1) * N);
    k.sumRows(dRec, prod, R, N, false, runs);
  }
  const gIn = gateBackward(k, du, c.gxIn, c.gmIn, c.z, R, D, N, runs);
  // dx on first use only: training a single layer never reads it (saves two [R, N]·[N, d+1] products); a stack reads
  // it at once, within the caller's arena scope like every other buffer here
  let dx: Float | undefined;
  const inputGrad = (): Float => {
    if (dx) return dx;
    const dz = gateInputGrad(k, gIn, v.inX, v.inM, R, D, N, runs);
    dx = k.allocUninit(runs * R * dIn);
    for (let r = 0; r < runs * R; r++) for (let j = 0; j < dIn; j++) dx[r * dIn + j] = dz[r * D + j];
    return dx;
  };
  return {
    grads: { in_x: gIn.dX, in_m: gIn.dM, [dense ? "A" : "lambda"]: dRec, out_x: gOut.dX, out_m: gOut.dM, readout: dReadout },
    get dx() {
      return inputGrad();
    },
  };
}

/** Reverse of denseScan per run: g[b,t] = dh[b,t] + Aᵀ g[b,t+1] (g may alias dh). */
function denseScanReverse(k: Kernels, g: Float, dh: Float, A: Float, B: number, T: number, N: number, runs: number): void {
  const rows = runs * B;
  const next = k.alloc(rows * N);
  const cur = k.alloc(rows * N);
  for (let t = T - 1; t >= 0; t--) {
    k.mm(cur, next, A, B, N, N, false, runs); // cur[b,:] = Aᵀ next[b,:]  (row vector times A)
    for (let b = 0; b < rows; b++) {
      const o = (b * T + t) * N;
      for (let i = 0; i < N; i++) {
        const val = dh[o + i] + cur[b * N + i];
        g[o + i] = val;
        next[b * N + i] = val;
      }
    }
  }
}

/** nu = log(-log lambda), lambda clamped into [1e-30, 1 - 1e-16] so that lambda = 0 or 1 stay finite. */
export function nuFromLambda(out: Float, lambda: ArrayLike<number>): void {
  for (let i = 0; i < lambda.length; i++) {
    const l = Math.min(Math.max(lambda[i], 1e-30), 1 - 1e-16);
    out[i] = Math.log(-Math.log(l));
  }
}

/** lambda = exp(-exp(nu)). */
export function lambdaFromNu(out: Float, nu: ArrayLike<number>): void {
  for (let i = 0; i < nu.length; i++) out[i] = Math.exp(-Math.exp(nu[i]));
}

/** Chain rule dL/dnu = dL/dlambda · dlambda/dnu = -dL/dlambda · exp(nu) · lambda, in place on `g`. */
export function nuGradient(g: Float, nu: ArrayLike<number>, lambda: ArrayLike<number>): void {
  for (let i = 0; i < g.length; i++) g[i] = -g[i] * Math.exp(nu[i]) * lambda[i];
}

/**
 * The trained parametrisation of a diagonal recurrence (CONVENTIONS.md, App. B.1): the optimizer sees `nu` where the
 * model stores `lambda`, lambda = exp(-exp(nu)), which keeps lambda in [0, 1].
 */
export const lambdaAsNu: Reparam = { name: "nu", toTrained: nuFromLambda, fromTrained: lambdaFromNu, chainRule: nuGradient };

/** The gated RNN's trained form: lambda through nu, no weight decay on nu; dense: A as stored, no decay on A. */
function gatedTrained(dense: boolean): TrainedForm {
  return dense ? { reparams: {}, noDecay: ["A"] } : { reparams: { lambda: lambdaAsNu }, noDecay: ["nu"] };
}

function makeFamily(name: string, dense: boolean, summary: string): ModelFamily<GatedRnnConfig> {
  const family: ModelFamily<GatedRnnConfig> = {
    name,
    summary,
    schema: gatedRnnSchema,
    dims: (c) => ({ dIn: c.d_in, dOut: c.d_out }),
    widthKeys: ["d_in", "d_out"],
    shapes: (c) => shapesFor(c, dense),
    runs: true,
    init(rng, c, dtype = "f64") {
      const [in_x, in_m, rec, out_x, out_m, readout] = initGated(rng, c, dtype, dense);
      return { family: name, config: { ...c }, tensors: { in_x, in_m, [dense ? "A" : "lambda"]: rec, out_x, out_m, readout } };
    },
    forward(p, x, k = defaultKernels(p)) {
      const runs = runsOf(p, family);
      const [B, T] = seqDims(x, p.config.d_in, name, runs);
      const mark = k.mark();
      try {
        const { y } = forwardCore(k, views(k, p, dense, runs), onBackend(k, x.data), B, T, dense);
        return resultTensor(k, [runs * B, T, p.config.d_out], y);
      } finally {
        k.release(mark);
      }
    },
    forwardCached(p, x, k) {
      const runs = runsOf(p, family);
      const [B, T] = seqDims(x, p.config.d_in, name, runs);
      const { y, cache } = forwardCore(k, views(k, p, dense, runs), onBackend(k, x.data), B, T, dense);
      return { y, cache: cache as unknown as Cache };
    },
    backward: (p, cache, dy, k) => backwardCore(k, views(k, p, dense, runsOf(p, family)), cache as unknown as GatedCache, dy, dense),
    // GatedCache per row: z [d_in + 1], gxIn, gmIn, h [N each], gxOut, gmOut, g [M each]
    cachedFloatsPerRow: (c) => c.d_in + 1 + 3 * c.hidden + 3 * c.output_gating,
    trained: () => gatedTrained(dense),
    initState: (p, B) => ({ h: allocFloat(paramsDtype(p), runsOf(p, family) * B * p.config.hidden) }),
    step(p, s, x, k = defaultKernels(p)) {
      const c = p.config;
      const runs = runsOf(p, family);
      const B = stepDims(x, c.d_in, name, runs);
      const mark = k.mark();
      try {
        const v = views(k, p, dense, runs);
        const z = appendOne(k, onBackend(k, x.data), runs * B, c.d_in);
        const h = k.alloc(runs * B * v.N);
        k.gate(h, z, v.inX, v.inM, B, c.d_in + 1, v.N, undefined, undefined, runs);
        const h0 = onBackend(k, s.h);
        if (dense) denseScan(k, h, h, v.rec, B, 1, v.N, h0, runs);
        else k.scan(h, h, v.rec, B, 1, v.N, h0, runs);
        const y = resultTensor(k, [runs * B, c.d_out], readoutRows(k, v, h, B));
        return { state: { h: resultTensor(k, [runs * B, v.N], h).data }, y };
      } finally {
        k.release(mark);
      }
    },
  };
  return family;
}

/** Gated diagonal linear RNN of eq. 2: y_t = D((out_x h_t) ⊙ (out_m h_t)), h_t = lambda ⊙ h_{t-1} + (in_x z_t) ⊙ (in_m z_t). */
export const gatedRnn: ModelFamily<GatedRnnConfig> = makeFamily(
  "gated-rnn",
  false,
  "gated diagonal linear RNN of eq. 2 (input gating, diagonal recurrence lambda, output gating, readout)",
);

/** Dense variant of eq. 2 (Figure 4): h_t = A h_{t-1} + (in_x z_t) ⊙ (in_m z_t), A [N, N]. */
export const gatedRnnDense: ModelFamily<GatedRnnConfig> = makeFamily(
  "gated-rnn-dense",
  true,
  "gated linear RNN with a dense recurrence A (Figure 4's dense baseline)",
);

export type { State };
