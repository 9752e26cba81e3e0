/**
 * LRU layer (Orvieto et al. 2023), Appendix A.1, eqs. 6-9, with the paper's three variants. Per time step:
 *   x'_t = x_t                                   (Out)
 *   x'_t = σ(W_in_a x_t) ⊙ (W_in_b x_t)          (In+Out, In+Skip: nonlinear input gating before the recurrence)
 *   h_t  = lambda ⊙ h_{t-1} + gamma ⊙ (B x'_t),  h_0 = 0,  B = B_re + i B_im            (eq. 6)
 *   ỹ_t  = Re(C h_t) + D ⊙ x'_t = C_re h_re - C_im h_im + D ⊙ x'_t,  C = C_re + i C_im  (eq. 7)
 *   y_t  = σ(W_a ỹ_t) ⊙ (W_b ỹ_t)                (Out, In+Out: GLU, eq. 8)
 *   y_t  = σ(W_a ỹ_t) ⊙ (W_b x_t)                (In+Skip: the GLU's linear branch reads the raw layer input)
 *   lambda = exp(-exp(nu_log) + i exp(theta_log)),  gamma = exp(gamma_log)              (eq. 9)
 * Shapes (N = hidden complex states, H = width): nu_log, theta_log, gamma_log [N]; B_re, B_im [N, H];
 * C_re, C_im [H, N]; D [H]; W_in_a, W_in_b [H, d_in] (input-gated variants); W_a [d_out, H];
 * W_b [d_out, H] (In+Skip: [d_out, d_in]). State: h_re, h_im [B, N].
 * Config decision: `width` = 0 (the default) means H = d_in; the Out variant has no map from x to x', so it
 * requires H = d_in (any other width is a one-line error); init writes the resolved H into the config.
 * theta_log = -Infinity gives theta = exp(-inf) = 0 exactly, so lambda is exactly real (sin 0 = 0, cos 0 = 1):
 * the constructions' setting. nu_log = -Infinity gives |lambda| = 1 exactly, nu_log = +Infinity gives lambda = 0.
 * Training: forward, forwardCached and step share forwardCore; backwardCore returns the gradient of every tensor and
 * of x (complex reverse scan for eq. 6, chain rule through eq. 9 derived next to the code; exact zeros, not NaN, for
 * dtheta_log at theta_log = -Infinity and dnu_log at nu_log = +Infinity).
 * Run groups (Params.runs = R): R layers in lockstep, one kernel call per product/scan for all R (each kernel's run
 * count), every run's numbers bit for bit those it gets alone.
 */
import type { Schema } from "../config.ts";
import { int, num } from "../config.ts";
import type { Kernels } from "../kernels/types.ts";
import type { Rng } from "../rng.ts";
import type { DType, Float, Tensor } from "../tensor.ts";
import { allocFloat } from "../tensor.ts";
import { defaultKernels, normalInit, onBackend, paramsDtype, resultTensor, ringNuInit, runsOf, seqDims, stepDims } from "./common.ts";
import type { Cache, Gradients, ModelFamily, Params, State } from "./types.ts";

/** The three LRU layers of Appendix A.1: Out (original), In+Out and In+Skip (input gating added). */
export type LruVariant = "out" | "in-out" | "in-skip";

export interface LruConfig {
  /** Input width d_in. */
  d_in: number;
  /** Complex recurrent states N. */
  hidden: number;
  /** Recurrence width H (rows of x', columns of B, rows of C); 0 = d_in. The Out variant requires H = d_in. */
  width: number;
  /** Output width d_out (GLU rows). */
  d_out: number;
  /** Ring initialisation: smallest |lambda|. */
  r_min: number;
  /** Ring initialisation: largest |lambda|. */
  r_max: number;
  /** Initial phases arg(lambda) = theta ~ U(0, max_phase). */
  max_phase: number;
}

/** Config schema of the LRU families: {d_in, hidden N, width H (0 = d_in), d_out, r_min = 0, r_max = 1, max_phase = 2π}. */
export const lruSchema: Schema<LruConfig> = {
  d_in: int("input width d_in", { min: 1, max: 1 << 16 }),
  hidden: int("complex recurrent states N", { min: 1, max: 1 << 16, default: 100 }),
  width: int("recurrence width H (0 = d_in; the Out variant requires H = d_in)", { min: 0, max: 1 << 16, default: 0 }),
  d_out: int("output width d_out (GLU rows)", { min: 1, max: 1 << 16 }),
  r_min: num("ring init: smallest |lambda|", { min: 0, max: 1, default: 0 }),
  r_max: num("ring init: largest |lambda|", { min: 0, max: 1, default: 1 }),
  max_phase: num("ring init: initial phases theta ~ U(0, max_phase), radians", { min: 0, default: 2 * Math.PI }),
};

/** H of a config: `width`, or d_in when width = 0; Out (x' = x) requires H = d_in, else a one-line error naming `what`. */
export function lruWidth(c: LruConfig, variant: LruVariant, what = "lru"): number {
  const H = c.width === 0 ? c.d_in : c.width;
  if (variant === "out" && H !== c.d_in) {
    throw new Error(`${what}: width must equal d_in (${c.d_in}) for the Out variant (x' = x), got ${c.width}; omit it or use 0`);
  }
  return H;
}

/** lambda = exp(-exp(nu_log) + i exp(theta_log)) (eq. 9) as real and imaginary parts [N]; theta_log = -inf gives im = 0. */
export function lruLambda(nuLog: ArrayLike<number>, thetaLog: ArrayLike<number>): { re: Float64Array; im: Float64Array } {
  const n = nuLog.length;
  const re = new Float64Array(n);
  const im = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const mag = Math.exp(-Math.exp(nuLog[i]));
    const theta = Math.exp(thetaLog[i]);
    re[i] = mag * Math.cos(theta);
    im[i] = mag * Math.sin(theta);
  }
  return { re, im };
}

/** theta_log = log(theta), theta ~ U(0, max_phase) (minimal-LRU phase init, eq. 9); shape [N]. theta = 0 gives -inf. */
export function thetaLogInit(rng: Rng, n: number, dtype: DType, maxPhase = 2 * Math.PI): Tensor {
  const data = allocFloat(dtype, n);
  for (let i = 0; i < n; i++) data[i] = Math.log(rng.uniformIn(0, maxPhase));
  return { shape: [n], data };
}

/**
 * gamma_log = log(sqrt(1 - |lambda|²)) with |lambda| = exp(-exp(nu_log)) read from the (stored) nu_log [N], so gamma
 * normalises the lambda actually used (minimal-LRU, eq. 9); computed as ½ log(-expm1(-2 exp(nu))) for |lambda| ~ 1.
 */
export function gammaLogInit(nuLog: Tensor, dtype: DType): Tensor {
  const n = nuLog.data.length;
  const data = allocFloat(dtype, n);
  for (let i = 0; i < n; i++) data[i] = 0.5 * Math.log(-Math.expm1(-2 * Math.exp(nuLog.data[i])));
  return { shape: [n], data };
}

/** Tensor names and shapes of a variant (CONVENTIONS.md "Weight files"), in data-flow order. */
function shapesFor(c: LruConfig, variant: LruVariant, what: string): Record<string, number[]> {
  const N = c.hidden;
  const H = lruWidth(c, variant, what);
  return {
    ...(variant === "out" ? {} : { W_in_a: [H, c.d_in], W_in_b: [H, c.d_in] }),
    nu_log: [N],
    theta_log: [N],
    gamma_log: [N],
    B_re: [N, H],
    B_im: [N, H],
    C_re: [H, N],
    C_im: [H, N],
    D: [H],
    W_a: [c.d_out, H],
    W_b: [c.d_out, variant === "in-skip" ? c.d_in : H],
  };
}

/**
 * Minimal-LRU initialisation: ring nu_log, uniform phases, normalising gamma_log; B_re, B_im ~ N(0, 1/(2H)) (complex
 * N(0, 1/H)); C_re, C_im ~ N(0, 1/N) each (as minimal-LRU: C = (N(0,1) + i N(0,1)) / sqrt(N)); D ~ N(0, 1);
 * W_in_a, W_in_b, W_a, W_b ~ N(0, 1/fan_in).
 */
function initLru(rng: Rng, c: LruConfig, dtype: DType, variant: LruVariant, what: string): Record<string, Tensor> {
  if (c.r_min > c.r_max) throw new Error(`${what}: r_min (${c.r_min}) must not exceed r_max (${c.r_max})`);
  const s = shapesFor(c, variant, what);
  const N = c.hidden;
  const H = lruWidth(c, variant, what);
  const t: Record<string, Tensor> = {};
  if (variant !== "out") {
    t.W_in_a = normalInit(rng.split(), s.W_in_a, dtype);
    t.W_in_b = normalInit(rng.split(), s.W_in_b, dtype);
  }
  t.nu_log = ringNuInit(rng.split(), N, dtype, c.r_min, c.r_max);
  t.theta_log = thetaLogInit(rng.split(), N, dtype, c.max_phase);
  t.gamma_log = gammaLogInit(t.nu_log, dtype);
  t.B_re = normalInit(rng.split(), s.B_re, dtype, 1 / Math.sqrt(2 * H));
  t.B_im = normalInit(rng.split(), s.B_im, dtype, 1 / Math.sqrt(2 * H));
  t.C_re = normalInit(rng.split(), s.C_re, dtype);
  t.C_im = normalInit(rng.split(), s.C_im, dtype);
  t.D = normalInit(rng.split(), s.D, dtype, 1);
  t.W_a = normalInit(rng.split(), s.W_a, dtype);
  t.W_b = normalInit(rng.split(), s.W_b, dtype);
  return t;
}

/** The tensors on backend k ([runs, shape] each), lambda and gamma per run, the sizes; runs = R of the group. */
interface Views {
  WinA: Float | null; WinB: Float | null;
  Bre: Float; Bim: Float; Cre: Float; negCim: Float; D: Float; gamma: Float; lRe: Float; lIm: Float;
  Wa: Float; Wb: Float;
  /** lambda in float64 and the raw nu_log, theta_log [N] (for the eq. 9 chain rule of the backward pass). */
  lam: { re: Float64Array; im: Float64Array }; nuLog: Float; thetaLog: Float;
  N: number; H: number; dIn: number; dOut: number; skip: boolean; runs: number;
}

/** The parameters on backend k, with lambda and gamma = exp(gamma_log) evaluated (eq. 9) and -C_im for Re(C h). */
function views(k: Kernels, p: Params<LruConfig>, variant: LruVariant, what: string, runs: number): Views {
  const t = p.tensors;
  const c = p.config;
  const N = c.hidden;
  const H = lruWidth(c, variant, what);
  const lam = lruLambda(t.nu_log.data, t.theta_log.data); // elementwise: [runs, N]
  const lRe = k.alloc(runs * N);
  const lIm = k.alloc(runs * N);
  const gamma = k.alloc(runs * N);
  lRe.set(lam.re);
  lIm.set(lam.im);
  for (let i = 0; i < runs * N; i++) gamma[i] = Math.exp(t.gamma_log.data[i]);
  const Cim = onBackend(k, t.C_im.data);
  const negCim = k.alloc(runs * H * N);
  k.scale(negCim, Cim, -1, runs * H * N);
  const gated = variant !== "out";
  return {
    WinA: gated ? onBackend(k, t.W_in_a.data) : null,
    WinB: gated ? onBackend(k, t.W_in_b.data) : null,
    Bre: onBackend(k, t.B_re.data),
    Bim: onBackend(k, t.B_im.data),
    Cre: onBackend(k, t.C_re.data),
    negCim,
    D: onBackend(k, t.D.data),
    gamma,
    lRe,
    lIm,
    Wa: onBackend(k, t.W_a.data),
    Wb: onBackend(k, t.W_b.data),
    lam,
    nuLog: t.nu_log.data,
    thetaLog: t.theta_log.data,
    N,
    H,
    dIn: c.d_in,
    dOut: c.d_out,
    skip: variant === "in-skip",
    runs,
  };
}

/**
 * A [runs, rows, n] buffer on backend k whose every row of run q is v[q] (v [runs, n]; broadcasts a per-unit vector
 * for k.mul).
 */
function tileRows(k: Kernels, v: Float, rows: number, n: number, runs: number): Float {
  const out = k.alloc(runs * rows * n);
  for (let q = 0; q < runs; q++) {
    // the run's first row, then copies doubling the filled rows
    const base = q * rows * n;
    out.set(v.subarray(q * n, (q + 1) * n), base);
    for (let filled = 1; filled < rows; filled *= 2) {
      out.copyWithin(base + filled * n, base, base + Math.min(filled, rows - filled) * n);
    }
  }
  return out;
}

/** The factors of one GLU over R rows (eq. 8), all [R, n]: s = σ(a Waᵀ), lin = b Wbᵀ, out = s ⊙ lin. */
interface GluActs {
  out: Float; s: Float; lin: Float;
}

/**
 * GLU for R rows per run (eq. 8): out [R, n] = σ(a Waᵀ) ⊙ (b Wbᵀ), a [R, ka], Wa [n, ka], b [R, kb], Wb [n, kb] (every
 * buffer [runs, its shape]); keeps s, lin.
 */
function glu(k: Kernels, a: Float, Wa: Float, b: Float, Wb: Float, rows: number, ka: number, kb: number, n: number, runs: number): GluActs {
  const m = runs * rows * n;
  const s = k.alloc(m);
  k.mmNT(s, a, Wa, rows, ka, n, false, runs);
  k.sigmoid(s, s, m);
  const lin = k.alloc(m);
  k.mmNT(lin, b, Wb, rows, kb, n, false, runs);
  const out = k.alloc(m);
  k.mul(out, s, lin, m);
  return { out, s, lin };
}

/**
 * GLU backward (eq. 8) for R rows, given dout [R, n]: da = dout ⊙ lin ⊙ s(1 - s) and db = dout ⊙ s (the gradients of
 * the pre-activations a Waᵀ and b Wbᵀ, [R, n]); dWa = daᵀ a [n, ka], dWb = dbᵀ b [n, kb]. The caller maps da, db back
 * to a and b (da Wa, db Wb). Per run (every buffer [runs, its shape]).
 */
function gluBackward(
  k: Kernels, g: GluActs, dout: Float, a: Float, b: Float, rows: number, ka: number, kb: number, n: number, runs: number,
): { da: Float; db: Float; dWa: Float; dWb: Float } {
  const m = runs * rows * n;
  const db = k.alloc(m);
  k.mul(db, dout, g.s, m);
  const da = k.alloc(m);
  k.mul(da, g.s, g.s, m); // s²
  k.scale(da, da, -1, m);
  k.add(da, da, g.s, m); // s - s² = σ'
  k.mul(da, da, g.lin, m);
  k.mul(da, da, dout, m);
  const dWa = k.alloc(runs * n * ka);
  k.mmTN(dWa, da, a, n, rows, ka, false, runs);
  const dWb = k.alloc(runs * n * kb);
  k.mmTN(dWb, db, b, n, rows, kb, false, runs);
  return { da, db, dWa, dWb };
}

/** Activations of one forward pass over R = B*T rows per run (k's buffers, [runs, R, ·]), what backwardCore reads. */
interface LruCache {
  B: number; T: number;
  /** Layer input x [R, d_in]. */
  x: Float;
  /** Input-gating GLU (In+Out, In+Skip), null for Out. */
  inGlu: GluActs | null;
  /** x' [R, H] (x itself for Out). */
  xp: Float;
  /** u = gamma ⊙ (B x') and the states h, real and imaginary parts [R, N]. */
  uRe: Float; uIm: Float; hRe: Float; hIm: Float;
  /** ỹ = Re(C h) + D ⊙ x' [R, H]. */
  yt: Float;
  /** Output GLU, out = y [R, d_out]. */
  outGlu: GluActs;
}

/**
 * The layer over B sequences of T steps keeping its activations (eqs. 6-8, shared by forward, forwardCached and step):
 * x [B*T, d_in] -> x' [R, H] -> u = gamma ⊙ (B x') [R, N] -> h (scan, h_{-1} = h0 or 0) -> ỹ [R, H] -> y [R, d_out],
 * per run (x [runs, B*T, d_in], h0 [runs, B, N], y [runs, R, d_out]).
 */
function forwardCore(
  k: Kernels, v: Views, x: Float, B: number, T: number, h0Re?: Float, h0Im?: Float,
): { y: Float; cache: LruCache } {
  const R = B * T;
  const { N, H, runs } = v;
  const RR = runs * R; // every run's rows
  // x' [R, H]: the raw input (Out) or the input-gating GLU of every row at once.
  const inGlu = v.WinA && v.WinB ? glu(k, x, v.WinA, x, v.WinB, R, v.dIn, v.dIn, H, runs) : null;
  const xp = inGlu ? inGlu.out : x;
  // u = gamma ⊙ (B x'), real and imaginary parts [R, N].
  const uRe = k.alloc(RR * N);
  const uIm = k.alloc(RR * N);
  k.mmNT(uRe, xp, v.Bre, R, H, N, false, runs);
  k.mmNT(uIm, xp, v.Bim, R, H, N, false, runs);
  const g = tileRows(k, v.gamma, R, N, runs);
  k.mul(uRe, uRe, g, RR * N);
  k.mul(uIm, uIm, g, RR * N);
  // h_t = lambda ⊙ h_{t-1} + u_t (eq. 6).
  const hRe = k.alloc(RR * N);
  const hIm = k.alloc(RR * N);
  k.scanComplex(hRe, hIm, uRe, uIm, v.lRe, v.lIm, B, T, N, h0Re, h0Im, runs);
  // ỹ = C_re h_re - C_im h_im + D ⊙ x' (eq. 7), [R, H].
  const yt = k.alloc(RR * H);
  k.mmNT(yt, hRe, v.Cre, R, N, H, false, runs);
  k.mmNT(yt, hIm, v.negCim, R, N, H, true, runs);
  const dxp = tileRows(k, v.D, R, H, runs);
  k.mul(dxp, dxp, xp, RR * H);
  k.add(yt, yt, dxp, RR * H);
  // GLU (eq. 8); In+Skip's linear branch reads x.
  const outGlu = v.skip ? glu(k, yt, v.Wa, x, v.Wb, R, H, v.dIn, v.dOut, runs) : glu(k, yt, v.Wa, yt, v.Wb, R, H, H, v.dOut, runs);
  return { y: outGlu.out, cache: { B, T, x, inGlu, xp, uRe, uIm, hRe, hIm, yt, outGlu } };
}

/**
 * Backward of eqs. 6-9 (reverse order of forwardCore), dy [R, d_out] -> gradients of every tensor and dx [R, d_in]:
 *   output GLU: dW_a = daᵀ ỹ, dW_b = dbᵀ ỹ (In+Skip: dbᵀ x), dỹ = da W_a + db W_b (In+Skip: db W_b goes to dx);
 *   eq. 7: dC_re = dỹᵀ h_re, dC_im = -dỹᵀ h_im, dD = Σ_rows dỹ ⊙ x', dh_re = dỹ C_re, dh_im = -dỹ C_im,
 *          dx' = dỹ ⊙ D;
 *   eq. 6: g = dL/du by the complex reverse scan g_t = dh_t + conj(lambda) g_{t+1}; dB_re = (g_re ⊙ gamma)ᵀ x',
 *          dB_im = (g_im ⊙ gamma)ᵀ x', dx' += (g_re ⊙ gamma) B_re + (g_im ⊙ gamma) B_im,
 *          dgamma_log = Σ_rows (g_re ⊙ u_re + g_im ⊙ u_im)   (∂u/∂gamma_log = gamma ⊙ B x' = u);
 *   eq. 9: dL/dlambda, then nu_log and theta_log (derivation below);
 *   input GLU (In+Out, In+Skip): dW_in_a = daᵀ x, dW_in_b = dbᵀ x, dx = da W_in_a + db W_in_b (Out: dx = dx').
 * Per run: every buffer [runs, its shape].
 */
function backwardCore(k: Kernels, v: Views, c: LruCache, dy: Float): Gradients {
  const { B, T } = c;
  const R = B * T;
  const { N, H, dIn, dOut, runs } = v;
  const RR = runs * R; // every run's rows
  // Output GLU (eq. 8).
  const lin = v.skip ? c.x : c.yt;
  const kb = v.skip ? dIn : H;
  const go = gluBackward(k, c.outGlu, dy, c.yt, lin, R, H, kb, dOut, runs);
  const dyt = k.alloc(RR * H);
  k.mm(dyt, go.da, v.Wa, R, dOut, H, false, runs);
  if (!v.skip) k.mm(dyt, go.db, v.Wb, R, dOut, H, true, runs);
  // ỹ = C_re h_re - C_im h_im + D ⊙ x' (eq. 7).
  const dCre = k.alloc(runs * H * N);
  k.mmTN(dCre, dyt, c.hRe, H, R, N, false, runs);
  const dCim = k.alloc(runs * H * N);
  k.mmTN(dCim, dyt, c.hIm, H, R, N, false, runs);
  k.scale(dCim, dCim, -1, runs * H * N);
  const dhRe = k.alloc(RR * N);
  const dhIm = k.alloc(RR * N);
  k.mm(dhRe, dyt, v.Cre, R, H, N, false, runs);
  k.mm(dhIm, dyt, v.negCim, R, H, N, false, runs);
  const dD = k.alloc(runs * H);
  const tmpH = k.alloc(RR * H);
  k.mul(tmpH, dyt, c.xp, RR * H);
  k.sumRows(dD, tmpH, R, H, false, runs);
  const dxp = tileRows(k, v.D, R, H, runs);
  k.mul(dxp, dxp, dyt, RR * H);
  // h_t = lambda h_{t-1} + u_t (eq. 6). As real pairs: h_re,t = l_re h_re,t-1 - l_im h_im,t-1 + u_re,t and
  // h_im,t = l_re h_im,t-1 + l_im h_re,t-1 + u_im,t. g_t = dL/du_t = dL/dh_t (total) satisfies
  //   g_re,t = dh_re,t + l_re g_re,t+1 + l_im g_im,t+1,   g_im,t = dh_im,t - l_im g_re,t+1 + l_re g_im,t+1,
  // i.e. g_t = dh_t + conj(lambda) g_{t+1}: k.scanComplexReverse.
  const gRe = k.alloc(RR * N);
  const gIm = k.alloc(RR * N);
  k.scanComplexReverse(gRe, gIm, dhRe, dhIm, v.lRe, v.lIm, B, T, N, runs);
  // dL/dl_re = Σ_{b,t≥1} (g_re,t h_re,t-1 + g_im,t h_im,t-1),  dL/dl_im = Σ_{b,t≥1} (g_im,t h_re,t-1 - g_re,t h_im,t-1)
  // (as one complex number: dL/dl_re + i dL/dl_im = Σ g_t conj(h_{t-1})); h_{-1} = 0 so t = 0 contributes nothing.
  // One product per term over every row at once, the rows shifted by one (row t of g with row t-1 of h), then the rows
  // at t = 0 (which paired g[b,0] with h[b-1,T-1], or with the previous run's last row) set back to 0: the same
  // products element by element as per sequence, in 6 kernel calls instead of 6 per sequence.
  const pRe = k.alloc(RR * N);
  const pIm = k.alloc(RR * N);
  if (RR > 1) {
    const n = (RR - 1) * N;
    const tmp = k.alloc(n);
    const gr = gRe.subarray(N);
    const gi = gIm.subarray(N);
    const hr = c.hRe.subarray(0, n);
    const hi = c.hIm.subarray(0, n);
    const pr = pRe.subarray(N);
    const pi = pIm.subarray(N);
    k.mul(pr, gr, hr, n);
    k.mul(tmp, gi, hi, n);
    k.add(pr, pr, tmp, n);
    k.mul(pi, gi, hr, n);
    k.mul(tmp, gr, hi, n);
    k.axpy(pi, -1, tmp, n);
    for (let b = 0; b < runs * B; b++) {
      pRe.fill(0, b * T * N, (b * T + 1) * N);
      pIm.fill(0, b * T * N, (b * T + 1) * N);
    }
  }
  const dLre = k.alloc(runs * N);
  const dLim = k.alloc(runs * N);
  k.sumRows(dLre, pRe, R, N, false, runs);
  k.sumRows(dLim, pIm, R, N, false, runs);
  // dgamma_log = Σ_rows (g_re ⊙ u_re + g_im ⊙ u_im), reusing pRe, pIm.
  k.mul(pRe, gRe, c.uRe, RR * N);
  k.mul(pIm, gIm, c.uIm, RR * N);
  k.add(pRe, pRe, pIm, RR * N);
  const dGammaLog = k.alloc(runs * N);
  k.sumRows(dGammaLog, pRe, R, N, false, runs);
  // d(B x') = g ⊙ gamma; dB = d(B x')ᵀ x', dx' += d(B x') B.
  const gam = tileRows(k, v.gamma, R, N, runs);
  k.mul(gRe, gRe, gam, RR * N);
  k.mul(gIm, gIm, gam, RR * N);
  const dBre = k.alloc(runs * N * H);
  const dBim = k.alloc(runs * N * H);
  k.mmTN(dBre, gRe, c.xp, N, R, H, false, runs);
  k.mmTN(dBim, gIm, c.xp, N, R, H, false, runs);
  k.mm(dxp, gRe, v.Bre, R, N, H, true, runs);
  k.mm(dxp, gIm, v.Bim, R, N, H, true, runs);
  // lambda = exp(z), z = -exp(nu_log) + i exp(theta_log) (eq. 9): with e = exp(nu_log), theta = exp(theta_log),
  //   l_re = exp(-e) cos(theta), l_im = exp(-e) sin(theta), so
  //   ∂l_re/∂nu_log = -e l_re,  ∂l_im/∂nu_log = -e l_im,  ∂l_re/∂theta_log = -theta l_im,  ∂l_im/∂theta_log = theta l_re:
  //   dnu_log = -e (dl_re l_re + dl_im l_im),  dtheta_log = theta (dl_im l_re - dl_re l_im).
  // theta_log = -inf (real lambda) gives theta = 0 and dtheta_log = 0; nu_log = +inf gives e = inf and lambda = 0,
  // whose true limit is dnu_log = 0: both are written as exact zeros instead of 0·inf = NaN (or -0).
  const dNu = k.alloc(runs * N);
  const dTheta = k.alloc(runs * N);
  for (let i = 0; i < runs * N; i++) {
    const lr = v.lam.re[i];
    const li = v.lam.im[i];
    const e = Math.exp(v.nuLog[i]);
    const theta = Math.exp(v.thetaLog[i]);
    dNu[i] = lr === 0 && li === 0 ? 0 : -e * (dLre[i] * lr + dLim[i] * li);
    dTheta[i] = theta === 0 ? 0 : theta * (dLim[i] * lr - dLre[i] * li);
  }
  // Input GLU (In+Out, In+Skip) or x' = x (Out).
  const grads: Record<string, Float> = {};
  let dx: Float;
  if (c.inGlu && v.WinA && v.WinB) {
    const gi = gluBackward(k, c.inGlu, dxp, c.x, c.x, R, dIn, dIn, H, runs);
    dx = k.alloc(RR * dIn);
    k.mm(dx, gi.da, v.WinA, R, H, dIn, false, runs);
    k.mm(dx, gi.db, v.WinB, R, H, dIn, true, runs);
    grads.W_in_a = gi.dWa;
    grads.W_in_b = gi.dWb;
  } else {
    dx = dxp;
  }
  if (v.skip) k.mm(dx, go.db, v.Wb, R, dOut, dIn, true, runs);
  Object.assign(grads, {
    nu_log: dNu, theta_log: dTheta, gamma_log: dGammaLog, B_re: dBre, B_im: dBim, C_re: dCre, C_im: dCim, D: dD,
    W_a: go.dWa, W_b: go.dWb,
  });
  return { grads, dx };
}

function makeFamily(name: string, variant: LruVariant, summary: string): ModelFamily<LruConfig> {
  const family: ModelFamily<LruConfig> = {
    name,
    summary,
    schema: lruSchema,
    dims: (c) => ({ dIn: c.d_in, dOut: c.d_out }),
    widthKeys: ["d_in", "d_out"],
    shapes: (c) => shapesFor(c, variant, name),
    runs: true,
    init(rng, c, dtype = "f64") {
      const tensors = initLru(rng, c, dtype, variant, name);
      return { family: name, config: { ...c, width: lruWidth(c, variant, name) }, tensors };
    },
    forward(p, x, k = defaultKernels(p)) {
      const c = p.config;
      const runs = runsOf(p, family);
      const [B, T] = seqDims(x, c.d_in, name, runs);
      const mark = k.mark();
      try {
        const { y } = forwardCore(k, views(k, p, variant, name, runs), onBackend(k, x.data), B, T);
        return resultTensor(k, [runs * B, T, c.d_out], y);
      } finally {
        k.release(mark);
      }
    },
    forwardCached(p, x, k) {
      const runs = runsOf(p, family);
      const [B, T] = seqDims(x, p.config.d_in, name, runs);
      const { y, cache } = forwardCore(k, views(k, p, variant, name, runs), onBackend(k, x.data), B, T);
      return { y, cache: cache as unknown as Cache };
    },
    backward: (p, cache, dy, k) => backwardCore(k, views(k, p, variant, name, runsOf(p, family)), cache as unknown as LruCache, dy),
    // stored in trained form already (eq. 9's logs); the recurrent ones get no weight decay (App. B.1)
    trained: () => ({ reparams: {}, noDecay: ["nu_log", "theta_log", "gamma_log"] }),
    initState: (p, B) => {
      const dtype = paramsDtype(p);
      const n = runsOf(p, family) * B * p.config.hidden;
      return { h_re: allocFloat(dtype, n), h_im: allocFloat(dtype, n) };
    },
    step(p, s, x, k = defaultKernels(p)) {
      const c = p.config;
      const runs = runsOf(p, family);
      const B = stepDims(x, c.d_in, name, runs);
      const N = c.hidden;
      const rows = runs * B;
      if (!s.h_re || !s.h_im || s.h_re.length !== rows * N || s.h_im.length !== rows * N) {
        throw new Error(`${name}: state must hold h_re and h_im of shape [${rows}, ${N}] (B = ${rows} from x_t)`);
      }
      const mark = k.mark();
      try {
        const v = views(k, p, variant, name, runs);
        const r = forwardCore(k, v, onBackend(k, x.data), B, 1, onBackend(k, s.h_re), onBackend(k, s.h_im));
        const y = resultTensor(k, [rows, c.d_out], r.y);
        const state = { h_re: resultTensor(k, [rows, N], r.cache.hRe).data, h_im: resultTensor(k, [rows, N], r.cache.hIm).data };
        return { state, y };
      } finally {
        k.release(mark);
      }
    },
  };
  return family;
}

/** LRU Out (eqs. 6-9): h_t = lambda ⊙ h_{t-1} + gamma ⊙ (B x_t), y_t = GLU(Re(C h_t) + D ⊙ x_t); H = d_in. */
export const lru: ModelFamily<LruConfig> = makeFamily(
  "lru",
  "out",
  "LRU layer (Out, App. A.1 eqs. 6-9): complex diagonal recurrence, Re(C h) + D x, output GLU",
);

/** LRU In+Out (App. A.1): x'_t = σ(W_in_a x_t) ⊙ (W_in_b x_t) [H], then the Out layer on x' (B [N, H], D [H]). */
export const lruInOut: ModelFamily<LruConfig> = makeFamily(
  "lru-in-out",
  "in-out",
  "LRU In+Out (App. A.1): input-gating GLU, complex diagonal recurrence, output GLU",
);

/** LRU In+Skip (App. A.1): input gating as In+Out, output y_t = σ(W_a ỹ_t) ⊙ (W_b x_t), W_b [d_out, d_in]. */
export const lruInSkip: ModelFamily<LruConfig> = makeFamily(
  "lru-in-skip",
  "in-skip",
  "LRU In+Skip (App. A.1): input-gating GLU, complex recurrence, output GLU whose linear branch reads x_t",
);

export type { State };
