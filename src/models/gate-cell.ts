/**
 * What the LSTM (eqs. 10-15) and GRU (eqs. 16-19) cells share: per-gate tensors U_q [N, d_in], V_q [N, N], b_q [N]
 * plus readout [d_out, N], the input projections x U_qᵀ + b_q over all rows at once, the time-major layout their
 * step loops use, and the derivatives of σ and tanh from their outputs.
 *
 * Run groups (Params.runs = R): the products over all T·B rows of a run (input projections, readout, weight
 * gradients) work on run-major buffers [R, T·B, n] (each run's rows time-major, exactly as alone); the recurrence
 * works step by step on step-major buffers [T, R·B, n] (block t = every run's B rows of step t, [R, B, n]), so that
 * one kernel call per step serves all R runs. `regroup` converts between the two (no copy when R = 1).
 */
import type { Kernels } from "../kernels/types.ts";
import type { Float } from "../tensor.ts";
import type { Rng } from "../rng.ts";
import type { DType } from "../tensor.ts";
import { constInit, normalInit, onBackend } from "./common.ts";
import type { Params } from "./types.ts";

/** The widths every gate cell config has. */
export interface CellConfig {
  d_in: number;
  hidden: number;
  d_out: number;
}

/** Tensor shapes of a gate cell: U_q [N, d_in], V_q [N, N], b_q [N] for each gate q, readout [d_out, N]. */
export function cellShapes(gates: readonly string[], c: CellConfig): Record<string, number[]> {
  const N = c.hidden;
  const out: Record<string, number[]> = {};
  for (const q of gates) out[`U_${q}`] = [N, c.d_in];
  for (const q of gates) out[`V_${q}`] = [N, N];
  for (const q of gates) out[`b_${q}`] = [N];
  out.readout = [c.d_out, N];
  return out;
}

/** A gate cell's parameters as k's buffers, by gate. */
export interface CellViews<G extends string> {
  U: Record<G, Float>;
  V: Record<G, Float>;
  b: Record<G, Float>;
  readout: Float;
  N: number;
  dIn: number;
  dOut: number;
}

/** The parameter buffers of a gate cell in backend k's dtype. */
export function cellViews<G extends string>(k: Kernels, p: Params<CellConfig>, gates: readonly G[]): CellViews<G> {
  const t = p.tensors;
  const U = {} as Record<G, Float>;
  const V = {} as Record<G, Float>;
  const b = {} as Record<G, Float>;
  for (const q of gates) {
    U[q] = onBackend(k, t[`U_${q}`].data);
    V[q] = onBackend(k, t[`V_${q}`].data);
    b[q] = onBackend(k, t[`b_${q}`].data);
  }
  return { U, V, b, readout: onBackend(k, t.readout.data), N: p.config.hidden, dIn: p.config.d_in, dOut: p.config.d_out };
}

/** A buffer of n ones in k's memory. */
export function onesOf(k: Kernels, n: number): Float {
  const o = k.alloc(n);
  o.fill(1);
  return o;
}

/**
 * Input half of every gate's pre-activation for `rows` rows of x [runs, rows, d_in] per run: P_q [runs, rows, N] =
 * x U_qᵀ + b_q. The bias is broadcast with one rank-1 product (a column of ones times b_qᵀ), so ±inf biases stay ±inf.
 */
export function inputProjections<G extends string>(
  k: Kernels, v: CellViews<G>, gates: readonly G[], x: Float, rows: number, runs = 1,
): Record<G, Float> {
  const ones = onesOf(k, runs * rows);
  const P = {} as Record<G, Float>;
  for (const q of gates) {
    P[q] = k.alloc(runs * rows * v.N);
    k.mmNT(P[q], x, v.U[q], rows, v.dIn, v.N, false, runs); // x U_qᵀ
    k.mmNT(P[q], ones, v.b[q], rows, 1, v.N, true, runs); // + b_q in every row
  }
  return P;
}

/**
 * Batch-major [B, T, n] -> time-major [T, B, n] per run (row (b, t) to row t·B + b; src [runs, B, T, n], dst
 * [runs, T, B, n]; plain copy, converts dtype).
 */
export function toTimeMajor(dst: Float, src: Float, B: number, T: number, n: number, runs = 1): void {
  transposeRows(dst, src, B, T, n, runs);
}

/** Time-major [T, B, n] -> batch-major [B, T, n] per run (the inverse copy of toTimeMajor). */
export function toBatchMajor(dst: Float, src: Float, B: number, T: number, n: number, runs = 1): void {
  transposeRows(dst, src, T, B, n, runs);
}

/** Per run, src [a, b, n] copied as dst [b, a, n] (row (i, j) to row j·a + i), element by element. */
function transposeRows(dst: Float, src: Float, a: number, b: number, n: number, runs: number): void {
  const m = a * b * n;
  // element copies: a subarray per row of n (often 6-24) floats cost more than the copy itself
  for (let r = 0; r < runs; r++) {
    for (let i = 0; i < a; i++) {
      for (let j = 0; j < b; j++) {
        const s0 = r * m + (i * b + j) * n, d0 = r * m + (j * a + i) * n;
        for (let e = 0; e < n; e++) dst[d0 + e] = src[s0 + e];
      }
    }
  }
}

/**
 * src [a, b, blk] as [b, a, blk] (dst[j, i] = src[i, j], blocks of blk floats): run-major [R, T, B·n] <-> step-major
 * [T, R, B·n] (a, b = R, T or T, R). Returns src itself when a = 1 or b = 1 (the layouts coincide), else a new buffer.
 */
export function regroup(k: Kernels, src: Float, a: number, b: number, blk: number): Float {
  if (a === 1 || b === 1) return src;
  const dst = k.alloc(a * b * blk);
  for (let i = 0; i < a; i++) {
    for (let j = 0; j < b; j++) dst.set(src.subarray((i * b + j) * blk, (i * b + j + 1) * blk), (j * a + i) * blk);
  }
  return dst;
}

/** out = s ⊙ (1 - s) = σ'(a) for s = σ(a), n entries (0 exactly where s is 0 or 1, i.e. a = ±inf). */
export function sigmoidPrime(k: Kernels, out: Float, s: Float, ones: Float, n: number): void {
  k.scale(out, s, -1, n);
  k.add(out, out, ones, n);
  k.mul(out, out, s, n);
}

/** out = 1 - t ⊙ t = tanh'(a) for t = tanh(a), n entries (0 exactly where t = ±1). */
export function tanhPrime(k: Kernels, out: Float, t: Float, ones: Float, n: number): void {
  k.mul(out, t, t, n);
  k.scale(out, out, -1, n);
  k.add(out, out, ones, n);
}

/**
 * Fresh gate-cell tensors: U_q, V_q, readout ~ N(0, 1/fan_in), b_q = bias(q) (drawn in the order U, V, readout so a
 * seed gives the same weights as before this helper existed).
 */
export function cellInit(rng: Rng, gates: readonly string[], c: CellConfig, dtype: DType, bias: (q: string) => number): Params["tensors"] {
  const N = c.hidden;
  const tensors: Params["tensors"] = {};
  for (const q of gates) tensors[`U_${q}`] = normalInit(rng.split(), [N, c.d_in], dtype);
  for (const q of gates) tensors[`V_${q}`] = normalInit(rng.split(), [N, N], dtype);
  for (const q of gates) tensors[`b_${q}`] = constInit([N], dtype, bias(q));
  tensors.readout = normalInit(rng.split(), [c.d_out, N], dtype);
  return tensors;
}

/**
 * Weight and input gradients of a gate cell from the pre-activation gradients dA_q [R, N] (time-major rows), per run
 * (every buffer [runs, its shape], run-major): dU_q = dA_qᵀ x, dV_q = dA_qᵀ hPrev(q) (what V_q multiplied),
 * db_q = sum_rows dA_q, dx = sum_q dA_q U_q [R, d_in]. Writes into `grads` under the tensor names and returns dx
 * (time-major).
 */
export function cellWeightGrads<G extends string>(
  k: Kernels, v: CellViews<G>, gates: readonly G[], dA: Record<G, Float>, xT: Float, hPrev: (q: G) => Float, R: number,
  grads: Record<string, Float>, runs = 1,
): Float {
  const { N, dIn } = v;
  const dxT = k.alloc(runs * R * dIn);
  gates.forEach((q, i) => {
    grads[`U_${q}`] = k.alloc(runs * N * dIn);
    k.mmTN(grads[`U_${q}`], dA[q], xT, N, R, dIn, false, runs);
    grads[`V_${q}`] = k.alloc(runs * N * N);
    k.mmTN(grads[`V_${q}`], dA[q], hPrev(q), N, R, N, false, runs);
    grads[`b_${q}`] = k.alloc(runs * N);
    k.sumRows(grads[`b_${q}`], dA[q], R, N, false, runs);
    k.mm(dxT, dA[q], v.U[q], R, N, dIn, i > 0, runs);
  });
  return dxT;
}
