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
 */
import type { Schema } from "../config.ts";
import { int, num } from "../config.ts";
import type { Kernels } from "../kernels/types.ts";
import type { Rng } from "../rng.ts";
import type { DType, Float, Tensor } from "../tensor.ts";
import { allocFloat } from "../tensor.ts";
import { defaultKernels, normalInit, onBackend, paramsDtype, resultTensor, ringNuInit, seqDims, stepDims } from "./common.ts";
import type { ModelFamily, Params, State } from "./types.ts";

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

interface Views {
  WinA: Float | null; WinB: Float | null;
  Bre: Float; Bim: Float; Cre: Float; negCim: Float; D: Float; gamma: Float; lRe: Float; lIm: Float;
  Wa: Float; Wb: Float;
  N: number; H: number; dIn: number; dOut: number; skip: boolean;
}

/** The parameters on backend k, with lambda and gamma = exp(gamma_log) evaluated (eq. 9) and -C_im for Re(C h). */
function views(k: Kernels, p: Params<LruConfig>, variant: LruVariant, what: string): Views {
  const t = p.tensors;
  const c = p.config;
  const N = c.hidden;
  const H = lruWidth(c, variant, what);
  const lam = lruLambda(t.nu_log.data, t.theta_log.data);
  const lRe = k.alloc(N);
  const lIm = k.alloc(N);
  const gamma = k.alloc(N);
  lRe.set(lam.re);
  lIm.set(lam.im);
  for (let i = 0; i < N; i++) gamma[i] = Math.exp(t.gamma_log.data[i]);
  const Cim = onBackend(k, t.C_im.data);
  const negCim = k.alloc(H * N);
  k.scale(negCim, Cim, -1, H * N);
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
    N,
    H,
    dIn: c.d_in,
    dOut: c.d_out,
    skip: variant === "in-skip",
  };
}

/** A [rows, n] buffer on backend k whose every row is v [n] (broadcasts a per-unit vector for k.mul). */
function tileRows(k: Kernels, v: Float, rows: number, n: number): Float {
  const out = k.alloc(rows * n);
  for (let r = 0; r < rows; r++) for (let j = 0; j < n; j++) out[r * n + j] = v[j];
  return out;
}

/** GLU for R rows (eq. 8): out [R, n] = σ(a Waᵀ) ⊙ (b Wbᵀ), a [R, ka], Wa [n, ka], b [R, kb], Wb [n, kb]. */
function glu(k: Kernels, a: Float, Wa: Float, b: Float, Wb: Float, rows: number, ka: number, kb: number, n: number): Float {
  const g = k.alloc(rows * n);
  k.mmNT(g, a, Wa, rows, ka, n);
  k.sigmoid(g, g, rows * n);
  const lin = k.alloc(rows * n);
  k.mmNT(lin, b, Wb, rows, kb, n);
  k.mul(g, g, lin, rows * n);
  return g;
}

/** The layer over B sequences of T steps, x [B*T, d_in] -> y [B*T, d_out] and h_re, h_im [B*T, N] (h_{-1} = h0 or 0). */
function run(k: Kernels, v: Views, x: Float, B: number, T: number, h0Re?: Float, h0Im?: Float): { y: Float; hRe: Float; hIm: Float } {
  const R = B * T;
  const { N, H } = v;
  // x' [R, H]: the raw input (Out) or the input-gating GLU of every row at once.
  const xp = v.WinA && v.WinB ? glu(k, x, v.WinA, x, v.WinB, R, v.dIn, v.dIn, H) : x;
  // u = gamma ⊙ (B x'), real and imaginary parts [R, N].
  const uRe = k.alloc(R * N);
  const uIm = k.alloc(R * N);
  k.mmNT(uRe, xp, v.Bre, R, H, N);
  k.mmNT(uIm, xp, v.Bim, R, H, N);
  const g = tileRows(k, v.gamma, R, N);
  k.mul(uRe, uRe, g, R * N);
  k.mul(uIm, uIm, g, R * N);
  // h_t = lambda ⊙ h_{t-1} + u_t (eq. 6).
  const hRe = k.alloc(R * N);
  const hIm = k.alloc(R * N);
  k.scanComplex(hRe, hIm, uRe, uIm, v.lRe, v.lIm, B, T, N, h0Re, h0Im);
  // ỹ = C_re h_re - C_im h_im + D ⊙ x' (eq. 7), [R, H].
  const yt = k.alloc(R * H);
  k.mmNT(yt, hRe, v.Cre, R, N, H);
  k.mmNT(yt, hIm, v.negCim, R, N, H, true);
  const dx = tileRows(k, v.D, R, H);
  k.mul(dx, dx, xp, R * H);
  k.add(yt, yt, dx, R * H);
  // GLU (eq. 8); In+Skip's linear branch reads x.
  const y = v.skip ? glu(k, yt, v.Wa, x, v.Wb, R, H, v.dIn, v.dOut) : glu(k, yt, v.Wa, yt, v.Wb, R, H, H, v.dOut);
  return { y, hRe, hIm };
}

function makeFamily(name: string, variant: LruVariant, summary: string): ModelFamily<LruConfig> {
  return {
    name,
    summary,
    schema: lruSchema,
    dims: (c) => ({ dIn: c.d_in, dOut: c.d_out }),
    shapes: (c) => shapesFor(c, variant, name),
    init(rng, c, dtype = "f64") {
      const tensors = initLru(rng, c, dtype, variant, name);
      return { family: name, config: { ...c, width: lruWidth(c, variant, name) }, tensors };
    },
    forward(p, x, k = defaultKernels(p)) {
      const c = p.config;
      const [B, T] = seqDims(x, c.d_in, name);
      const mark = k.mark();
      try {
        const v = views(k, p, variant, name);
        const { y } = run(k, v, onBackend(k, x.data), B, T);
        return resultTensor(k, [B, T, c.d_out], y);
      } finally {
        k.release(mark);
      }
    },
    initState: (p, B) => {
      const dtype = paramsDtype(p);
      return { h_re: allocFloat(dtype, B * p.config.hidden), h_im: allocFloat(dtype, B * p.config.hidden) };
    },
    step(p, s, x, k = defaultKernels(p)) {
      const c = p.config;
      const B = stepDims(x, c.d_in, name);
      const N = c.hidden;
      if (!s.h_re || !s.h_im || s.h_re.length !== B * N || s.h_im.length !== B * N) {
        throw new Error(`${name}: state must hold h_re and h_im of shape [${B}, ${N}] (B = ${B} from x_t)`);
      }
      const mark = k.mark();
      try {
        const v = views(k, p, variant, name);
        const r = run(k, v, onBackend(k, x.data), B, 1, onBackend(k, s.h_re), onBackend(k, s.h_im));
        const y = resultTensor(k, [B, c.d_out], r.y);
        return { state: { h_re: resultTensor(k, [B, N], r.hRe).data, h_im: resultTensor(k, [B, N], r.hIm).data }, y };
      } finally {
        k.release(mark);
      }
    },
  };
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
