/**
 * The numeric kernels every model is written against. Two implementations share this interface:
 * `reference` (plain TypeScript, float64 or float32: the oracle) and `fast` (AssemblyScript SIMD, float32).
 * All matrices are row-major; `m, k, n` follow `C[m,n] = A[m,k] · B[k,n]`. A kernel writes only its output
 * argument(s); inputs are never modified. Outputs must not alias inputs unless the doc says so.
 *
 * Runs (run groups: R runs of one shape in lockstep): every kernel but the elementwise ones and `adamw` takes a
 * trailing `runs` (default 1) and then solves `runs` independent problems whose operands lie back to back, each
 * operand [runs, its per-run size] (e.g. mm: A [runs, m, k], B [runs, k, n], C [runs, m, n]; scan: lambda [runs, N]).
 * Each run's result is bit for bit that of a call with runs = 1 on that run's slices alone (same code, same
 * summation order). The elementwise kernels (mul, add, axpy, scale, sigmoid, tanh) take n·runs: their value at an
 * element does not depend on where it lies in the buffer. `adamw` works per tensor (its scalars are one run's).
 */
import type { DType, Float } from "../tensor.ts";

/** The scalars of one AdamW update (src/train/adamw.ts): lr, betas, bias corrections c1 = 1-b1^t, c2 = 1-b2^t. */
export interface AdamWStep {
  lr: number;
  beta1: number;
  beta2: number;
  /** 1 - beta1^t. */
  c1: number;
  /** 1 - beta2^t. */
  c2: number;
  eps: number;
  /** Decoupled weight decay of this tensor (0 = none). */
  wd: number;
  /** Gradient scale (global-norm clipping; 1 = none). */
  scale: number;
}

/**
 * Fast backend only: the elementwise gating products (`mul`, the ⊙ of `gate`) and the scans flush results below
 * 2^-63 in magnitude to 0 (NaN and ±Inf kept). WebAssembly has no flush-to-zero mode and denormal arithmetic costs a
 * microcode assist per operation on Intel: without the flush a trained model's step ran ~10x slower (asm/kernels.ts,
 * TINY). Such values are ~17 orders of magnitude below the signal; the reference backends stay exact.
 */
export const FAST_FLUSH_BELOW = 2 ** -63;

/**
 * Fast backend only: sigmoid and tanh are vectorised approximations (Cephes' expf and tanhf polynomials in f32x4,
 * asm/kernels.ts), not the reference's float64 Math.exp / Math.tanh rounded to float32: each output is within
 * FAST_SIGMOID_TANH_ULPS units in the last place of the exact value (measured over every 97th float32 in [-120, 120]:
 * sigmoid 2.7, tanh 1.5), except that sigmoid(x) for x < -87 (exact value below 1.7e-38) is 0. ±0, ±Inf and NaN give
 * the exact results (tanh(-0) = -0). Every wasm build gives the same bits; the reference backends stay exact.
 */
export const FAST_SIGMOID_TANH_ULPS = 3;

export interface Kernels {
  /** "reference-f64", "reference-f32" or "fast-f32". */
  readonly name: string;
  /** Element type of the buffers this backend computes on. */
  readonly dtype: DType;

  /** A zero-filled buffer of n elements that this backend uses without copying (fast: inside its wasm memory). */
  alloc(n: number): Float;
  /**
   * A buffer of n elements for an output the next kernel overwrites entirely: like `alloc`, but its contents are
   * whatever the memory held (fast: saves a memory pass per buffer; reference: = alloc, zero-filled).
   */
  allocUninit(n: number): Float;
  /** An allocation mark: buffers allocated after it are released by `release(mark)` (no-op on reference). */
  mark(): number;
  /** Release every buffer allocated since `mark` (fast backend arena; no-op on reference). */
  release(mark: number): void;

  /** Per run: C[m,n] = (acc ? C : 0) + A[m,k] · B[k,n]; A [runs,m,k], B [runs,k,n], C [runs,m,n]. */
  mm(C: Float, A: Float, B: Float, m: number, k: number, n: number, acc?: boolean, runs?: number): void;
  /** Per run: C[m,n] = (acc ? C : 0) + A[m,k] · B[n,k]ᵀ; A [runs,m,k], B [runs,n,k], C [runs,m,n]. */
  mmNT(C: Float, A: Float, B: Float, m: number, k: number, n: number, acc?: boolean, runs?: number): void;
  /** Per run: C[m,n] = (acc ? C : 0) + A[k,m]ᵀ · B[k,n]; A [runs,k,m], B [runs,k,n], C [runs,m,n]. */
  mmTN(C: Float, A: Float, B: Float, m: number, k: number, n: number, acc?: boolean, runs?: number): void;

  /**
   * Gating product (eq. 2), per run: out[r,n] = (A[r,k]·X[n,k]ᵀ) ⊙ (A[r,k]·M[n,k]ᵀ). When given, gx and gm [r,n]
   * receive the two factors A·Xᵀ and A·Mᵀ (needed by the backward pass). A [runs,r,k], X, M [runs,n,k], out, gx, gm
   * [runs,r,n].
   */
  gate(out: Float, A: Float, X: Float, M: Float, r: number, k: number, n: number, gx?: Float, gm?: Float, runs?: number): void;

  /**
   * Diagonal linear scan (eq. 2): h[b,t,i] = lambda[i] · h[b,t-1,i] + u[b,t,i] for b < B, t < T, i < N, with
   * h[b,-1,:] = h0[b,:] (zero when h0 is omitted). h may alias u. Per run: h, u [runs,B,T,N], lambda [runs,N],
   * h0 [runs,B,N].
   */
  scan(h: Float, u: Float, lambda: Float, B: number, T: number, N: number, h0?: Float, runs?: number): void;
  /**
   * Reverse scan (the scan's backward): g[b,t,i] = dh[b,t,i] + lambda[i] · g[b,t+1,i], g[b,T,:] = 0; g is dL/du
   * when dh is dL/dh. g may alias dh. Per run: g, dh [runs,B,T,N], lambda [runs,N].
   */
  scanReverse(g: Float, dh: Float, lambda: Float, B: number, T: number, N: number, runs?: number): void;
  /**
   * Complex diagonal scan (LRU, eq. 6): h = lambda · h_{t-1} + u in complex arithmetic, real and imaginary parts in
   * separate [B,T,N] buffers, lambda as lRe, lIm [N], h[b,-1] = (h0Re, h0Im) [B,N] or 0; per run (each buffer
   * [runs, its size]).
   */
  scanComplex(
    hRe: Float, hIm: Float, uRe: Float, uIm: Float, lRe: Float, lIm: Float,
    B: number, T: number, N: number, h0Re?: Float, h0Im?: Float, runs?: number,
  ): void;
  /**
   * Complex reverse scan: g[t] = dh[t] + conj(lambda) · g[t+1] (dL/du for real L, with dL/dh = dhRe + i dhIm); per
   * run (g, dh [runs,B,T,N], lRe, lIm [runs,N]).
   */
  scanComplexReverse(
    gRe: Float, gIm: Float, dhRe: Float, dhIm: Float, lRe: Float, lIm: Float, B: number, T: number, N: number, runs?: number,
  ): void;

  /** out[i] = a[i] · b[i], i < n (out may alias a or b). */
  mul(out: Float, a: Float, b: Float, n: number): void;
  /** out[i] = a[i] + b[i], i < n (out may alias a or b). */
  add(out: Float, a: Float, b: Float, n: number): void;
  /** y[i] += alpha · x[i], i < n. */
  axpy(y: Float, alpha: number, x: Float, n: number): void;
  /** out[i] = alpha · a[i], i < n (out may alias a). */
  scale(out: Float, a: Float, alpha: number, n: number): void;
  /** out[i] = 1 / (1 + exp(-a[i])), i < n (out may alias a; fast: within FAST_SIGMOID_TANH_ULPS). */
  sigmoid(out: Float, a: Float, n: number): void;
  /** out[i] = tanh(a[i]), i < n (out may alias a; fast: within FAST_SIGMOID_TANH_ULPS). */
  tanh(out: Float, a: Float, n: number): void;
  /** Column sums per run: out[j] = (acc ? out[j] : 0) + sum_i A[i,j] for A [runs,m,n], out [runs,n]. */
  sumRows(out: Float, A: Float, m: number, n: number, acc?: boolean, runs?: number): void;
  /** Row sums per run: out[i] = (acc ? out[i] : 0) + sum_j A[i,j] for A [runs,m,n], out [runs,m]. */
  sumCols(out: Float, A: Float, m: number, n: number, acc?: boolean, runs?: number): void;

  /**
   * Eq. 1 in float64 for one head (the teacher of the teacher-student task), per sequence b < B:
   * y[b,t,:] = Σ_{s≤t} v_s (q_t · k_s) with v_s = W_V x_s, k_s = W_K x_s, q_t = W_Q x_t; x [B,T,d] in this backend's
   * dtype, W_V [dv,d] and W_K, W_Q [dk,d] float64, y [B,T,dv] rounded once to the backend's dtype. Every backend gives
   * the same bits: each product and sum in float64 in the order of reference.ts's `causalAttention64` (IEEE-exact).
   */
  causalAttention64(y: Float, x: Float, WV: Float64Array, WK: Float64Array, WQ: Float64Array, B: number, T: number, d: number, dk: number, dv: number): void;

  /**
   * AdamW on n parameters in place, each element in float64 exactly as written (so every backend gives the same bits
   * on float32 buffers): g' = scale·g, m = b1·m + (1-b1)·g', v = b2·v + (1-b2)·g'·g',
   * p = p - lr·((m/c1) / (sqrt(v/c2) + eps) + wd·p), with m, v unrounded in the last line.
   */
  adamw(p: Float, g: Float, m: Float, v: Float, n: number, s: AdamWStep): void;
}
