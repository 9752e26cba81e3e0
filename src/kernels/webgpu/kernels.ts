/**
 * WGSL compute kernels of one training step of the gated RNN of eq. 2 over a run group (R runs of one shape), each
 * generated for its shape (sizes baked in as constants). Layouts (all f32, run-major, row i = b·T + t of a run):
 *   P, G, Mo, Vo [R, PS]: parameters in trained form (in_x [N,D], in_m [N,D], nu [N], out_x [M,N], out_m [M,N],
 *     readout [O,M], D = d_in + 1), gradients, AdamW moments;  X [R,B,T,d_in], TG [R,B,S,O] the step's batch;
 *   H [R,B·T,N] the states;  GO [R,B·T,2M] = H [out_x; out_m]ᵀ;  DY [R,B·T,O];  DF [R,B·T,2M] = dL/d(GO);
 *   DH [R,B·T,N] = DF [out_x; out_m];  PART [R,B,N,2D+1] per-sequence partial gradients of in_x, in_m, lambda;
 *   PK [R,KS,2MN+OM] split-K partial gradients of out_x, out_m, readout;  SSE [R,B·T] squared error per row.
 * One step = 8 dispatches: fwdIn (data + input gating + scan, per sequence), gemm GO, loss (per row), gemm DH,
 * bwdScan (reverse scan + input-gating gradients, per sequence), gemm dW, gemm dReadout, adamw (+ the step's loss).
 */
import { PHILOX_WGSL, STREAM } from "./philox.ts";

/** Shape of a group's step: batch B, length T, widths, the task's data source and scoring. */
export interface StepShape {
  B: number;
  T: number;
  dIn: number;
  N: number;
  M: number;
  O: number;
  /** True when every time step is scored (teacher-student), false when only the last one is (icl-regression). */
  scoredAll: boolean;
}

/** Offsets (floats) of the tensors inside one run's parameter block, and its size PS. */
export interface ParamLayout {
  D: number;
  inX: number;
  inM: number;
  nu: number;
  outX: number;
  outM: number;
  readout: number;
  PS: number;
}

/** The trained-form layout of eq. 2's tensors for a shape: in_x, in_m, nu, out_x, out_m, readout. */
export function paramLayout(s: Pick<StepShape, "dIn" | "N" | "M" | "O">): ParamLayout {
  const D = s.dIn + 1;
  const inX = 0, inM = s.N * D, nu = 2 * s.N * D, outX = nu + s.N, outM = outX + s.M * s.N, readout = outM + s.M * s.N;
  return { D, inX, inM, nu, outX, outM, readout, PS: readout + s.O * s.M };
}

/** Rows per split-K chunk of the weight-gradient products (a constant of the shape, never of R: runs stay independent). */
export const KCHUNK = 256;

/** A WGSL f32 literal for x (always with a point or exponent). */
export function f32lit(x: number): string {
  if (!Number.isFinite(x)) throw new Error(`f32lit: ${x}`);
  const s = String(x);
  return /[.eE]/.test(s) ? s : `${s}.0`;
}

/** The per-dispatch uniform slot (256-byte aligned, bound with a dynamic offset): global step, local step, chunk, runs R. */
export const SLOT_WGSL = `struct Slot { step: u32, s: u32, chunk: u32, runs: u32 }
@group(0) @binding(0) var<uniform> U: Slot;`;

/** A binding of a generated kernel: index, WGSL name, read-only or read-write storage. */
export interface BindingSpec {
  name: string;
  write: boolean;
}

/** A generated kernel: WGSL source, its storage bindings (1..k, binding 0 = the slot) and workgroup counts. */
export interface KernelSource {
  label: string;
  code: string;
  bindings: BindingSpec[];
  groups: [number, number, number];
}

function decls(bindings: BindingSpec[]): string {
  return bindings
    .map((b, i) => `@group(0) @binding(${i + 1}) var<storage, ${b.write ? "read_write" : "read"}> ${b.name}: array<${b.name === "SEEDS" ? "u32" : "f32"}>;`)
    .join("\n");
}

/**
 * A batched tiled product C[z][i, j] = Σ_k A(z, i, k) B(z, k, j) over i < rows, j < cols, k in the z's split-K range
 * (KS chunks of kChunk along K; z = batch · KS + ks), 64x64 tiles, 16 k per stage, 16x16 threads of 4x4 outputs.
 * `a`/`b` are WGSL expressions in (bi, i, k) / (bi, k, j); `store` a statement in (bi, ks, i, j, v). aFastK / bFastK:
 * whether consecutive k are adjacent in memory (chooses the coalesced load order).
 */
export interface GemmSpec {
  label: string;
  rows: number;
  cols: number;
  K: number;
  batch: number;
  kChunk?: number;
  a: string;
  b: string;
  aFastK: boolean;
  bFastK: boolean;
  store: string;
  bindings: BindingSpec[];
  consts?: string;
}

/** WGSL of a GemmSpec (see there); dispatch [ceil(cols/64), ceil(rows/64), batch · KS]. */
export function gemmKernel(g: GemmSpec): KernelSource {
  const KC = g.kChunk ?? g.K;
  const KS = Math.max(1, Math.ceil(g.K / KC));
  const load = (fast: boolean, what: "A" | "B") => {
    // e in [0, 1024): (kk, o) with o the tile's row (A) or column (B); fastK: consecutive threads walk k
    const idx = fast ? `let kk = e % 16u; let o = e / 16u;` : `let kk = e / 64u; let o = e % 64u;`;
    const expr = what === "A" ? g.a.replace(/\bi\b/g, "(i0 + o)").replace(/\bk\b/g, "(k0 + kk)") : g.b.replace(/\bj\b/g, "(j0 + o)").replace(/\bk\b/g, "(k0 + kk)");
    const lim = what === "A" ? "i0 + o < ROWS" : "j0 + o < COLS";
    return `for (var q = 0u; q < 4u; q++) {
      let e = tid + q * 256u; ${idx}
      var val = 0.0;
      if (${lim} && k0 + kk < kend) { val = ${expr}; }
      ${what}s[kk * 64u + o] = val;
    }`;
  };
  const code = `${SLOT_WGSL}
${decls(g.bindings)}
const ROWS = ${g.rows}u; const COLS = ${g.cols}u; const K = ${g.K}u; const KC = ${KC}u; const KS = ${KS}u;
${g.consts ?? ""}
var<workgroup> As: array<f32, 1024>;
var<workgroup> Bs: array<f32, 1024>;
@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let bi = wg.z / KS; let ks = wg.z % KS;
  let i0 = wg.y * 64u; let j0 = wg.x * 64u;
  let tid = lid.y * 16u + lid.x;
  let kbeg = ks * KC; let kend = min(K, kbeg + KC);
  var acc0 = vec4<f32>(); var acc1 = vec4<f32>(); var acc2 = vec4<f32>(); var acc3 = vec4<f32>();
  for (var k0 = kbeg; k0 < kend; k0 += 16u) {
    ${load(g.aFastK, "A")}
    ${load(g.bFastK, "B")}
    workgroupBarrier();
    for (var kk = 0u; kk < 16u; kk++) {
      let ao = kk * 64u + lid.y; let bo = kk * 64u + lid.x;
      let bv = vec4<f32>(Bs[bo], Bs[bo + 16u], Bs[bo + 32u], Bs[bo + 48u]);
      acc0 = fma(vec4<f32>(As[ao]), bv, acc0);
      acc1 = fma(vec4<f32>(As[ao + 16u]), bv, acc1);
      acc2 = fma(vec4<f32>(As[ao + 32u]), bv, acc2);
      acc3 = fma(vec4<f32>(As[ao + 48u]), bv, acc3);
    }
    workgroupBarrier();
  }
  let accs = array<vec4<f32>, 4>(acc0, acc1, acc2, acc3);
  for (var x = 0u; x < 4u; x++) {
    for (var y = 0u; y < 4u; y++) {
      let i = i0 + lid.y + 16u * x; let j = j0 + lid.x + 16u * y;
      if (i < ROWS && j < COLS) { let v = accs[x][y]; ${g.store} }
    }
  }
}`;
  return { label: g.label, code, bindings: g.bindings, groups: [Math.ceil(g.cols / 64), Math.ceil(g.rows / 64), g.batch * KS] };
}

/** Where fwdIn takes the batch from: drawn on the GPU for a task, or copied from uploaded buffers (UX, UT). */
export type DataSource = { kind: "teacher-student" } | { kind: "icl-regression"; dx: number; dy: number; wStd: number } | { kind: "upload"; seqs: number };

const wgConsts = (s: StepShape, L: ParamLayout, R: number) => `const B = ${s.B}u; const T = ${s.T}u; const DIN = ${s.dIn}u; const D = ${L.D}u;
const N = ${s.N}u; const M = ${s.M}u; const O = ${s.O}u; const PS = ${L.PS}u;
const OFF_INX = ${L.inX}u; const OFF_INM = ${L.inM}u; const OFF_NU = ${L.nu}u; const OFF_OUTX = ${L.outX}u; const OFF_RO = ${L.readout}u;
const S = ${s.scoredAll ? s.T : 1}u; const SCORED_ALL = ${s.scoredAll};`;

/**
 * fwdIn, one workgroup per (sequence b, run r): the batch (drawn: teacher-student x ~ N(0, I) by Philox and the run's
 * attention teacher's eq. 1 targets; icl-regression W*, x, tokens and target; or copied from UX/UT at chunk U.chunk),
 * then per neuron n: lambda = exp(-exp(nu_n)), h_t = lambda h_{t-1} + (in_x z_t)(in_m z_t), z_t = [x_t; 1] -> H.
 */
export function fwdInKernel(s: StepShape, L: ParamLayout, R: number, src: DataSource): KernelSource {
  const bindings: BindingSpec[] = [
    { name: "P", write: false }, { name: "X", write: true }, { name: "TG", write: true }, { name: "H", write: true },
    { name: "AUX", write: false }, { name: "AUX2", write: false }, { name: "SEEDS", write: false },
  ];
  let data: string;
  if (src.kind === "teacher-student") {
    data = `let key = vec2<u32>(SEEDS[2u * r], SEEDS[2u * r + 1u]);
  for (var e = tid; e < T * DIN; e += 64u) { X[xo + e] = normalAt(key, U.step, ${STREAM.tsX}u, b * T * DIN + e); }
  storageBarrier(); workgroupBarrier();
  let tw = r * 3u * DIN * DIN; // teacher W_V, W_K, W_Q [d, d] of run r in AUX
  for (var t = tid; t < T; t += 64u) {
    var qv: array<f32, ${s.dIn}>;
    for (var p = 0u; p < DIN; p++) { var a = 0.0; for (var j = 0u; j < DIN; j++) { a += X[xo + t * DIN + j] * AUX[tw + 2u * DIN * DIN + p * DIN + j]; } qv[p] = a; }
    var acc: array<f32, ${s.dIn}>;
    for (var o = 0u; o < DIN; o++) { acc[o] = 0.0; }
    for (var u = 0u; u <= t; u++) {
      var w = 0.0;
      for (var p = 0u; p < DIN; p++) { var a = 0.0; for (var j = 0u; j < DIN; j++) { a += X[xo + u * DIN + j] * AUX[tw + DIN * DIN + p * DIN + j]; } w += qv[p] * a; }
      for (var o = 0u; o < DIN; o++) { var a = 0.0; for (var j = 0u; j < DIN; j++) { a += X[xo + u * DIN + j] * AUX[tw + o * DIN + j]; } acc[o] += w * a; }
    }
    for (var o = 0u; o < DIN; o++) { TG[((r * B + b) * T + t) * DIN + o] = acc[o]; }
  }`;
  } else if (src.kind === "icl-regression") {
    const { dx, dy } = src;
    data = `let key = vec2<u32>(SEEDS[2u * r], SEEDS[2u * r + 1u]);
  for (var t = tid; t < T; t += 64u) {
    var w: array<f32, ${dx * dy}>;
    for (var e = 0u; e < ${dx * dy}u; e++) { w[e] = ${f32lit(src.wStd)} * normalAt(key, U.step, ${STREAM.iclW}u, b * ${dx * dy}u + e); }
    var xt: array<f32, ${dx}>;
    for (var j = 0u; j < ${dx}u; j++) {
      xt[j] = uniformAt(key, U.step, ${STREAM.iclX}u, (b * T + t) * ${dx}u + j, -1.7320508075688772, 1.7320508075688772);
      X[xo + t * DIN + j] = xt[j];
    }
    for (var i = 0u; i < ${dy}u; i++) {
      var a = 0.0;
      for (var j = 0u; j < ${dx}u; j++) { a += w[i * ${dx}u + j] * xt[j]; }
      if (t + 1u < T) { X[xo + t * DIN + ${dx}u + i] = a; } else { X[xo + t * DIN + ${dx}u + i] = 0.0; TG[(r * B + b) * O + i] = a; }
    }
  }`;
  } else {
    data = `let sq = r * ${src.seqs}u + U.chunk * B + b;
  for (var e = tid; e < T * DIN; e += 64u) { X[xo + e] = AUX[sq * T * DIN + e]; }
  for (var e = tid; e < S * O; e += 64u) { TG[(r * B + b) * S * O + e] = AUX2[sq * S * O + e]; }`;
  }
  const code = `${SLOT_WGSL}
${decls(bindings)}
${wgConsts(s, L, R)}
${PHILOX_WGSL}
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let b = wg.x; let r = wg.y; let tid = lid.x;
  let xo = (r * B + b) * T * DIN;
  ${data}
  storageBarrier(); workgroupBarrier();
  let p0 = r * PS;
  for (var n = tid; n < N; n += 64u) {
    let lam = exp(-exp(P[p0 + OFF_NU + n]));
    var h = 0.0;
    for (var t = 0u; t < T; t++) {
      var gx = 0.0; var gm = 0.0;
      for (var j = 0u; j < DIN; j++) { let z = X[xo + t * DIN + j]; gx += z * P[p0 + OFF_INX + n * D + j]; gm += z * P[p0 + OFF_INM + n * D + j]; }
      gx += P[p0 + OFF_INX + n * D + DIN]; gm += P[p0 + OFF_INM + n * D + DIN];
      h = lam * h + gx * gm;
      H[((r * B + b) * T + t) * N + n] = h;
    }
  }
}`;
  return { label: `fwdIn-${src.kind}`, code, bindings, groups: [s.B, R, 1] };
}

/** GO [R, B·T, 2M] = H [out_x; out_m]ᵀ (the output gating's two factors, one product over both). */
export function fwdOutKernel(s: StepShape, L: ParamLayout, R: number): KernelSource {
  const RB = s.B * s.T;
  return gemmKernel({
    label: "gemm-GO", rows: RB, cols: 2 * s.M, K: s.N, batch: R,
    a: `H[(bi * ${RB}u + i) * ${s.N}u + k]`, aFastK: true,
    b: `P[bi * ${L.PS}u + ${L.outX}u + j * ${s.N}u + k]`, bFastK: true,
    store: `GO[(bi * ${RB}u + i) * ${2 * s.M}u + j] = v;`,
    bindings: [{ name: "H", write: false }, { name: "P", write: false }, { name: "GO", write: true }],
  });
}

/**
 * loss, one workgroup per (row i, run r): g = gxo ⊙ gmo, y = readout g; at scored rows e = y - target, SSE[r, row] =
 * Σ e², dy = e / (B S O) (0 elsewhere) -> DY; backward: dg = readoutᵀ dy, DF = [dg ⊙ gmo, dg ⊙ gxo].
 * `sseStride`: floats per run of SSE (training B·T; evaluation: the padded validation rows, at row offset U.chunk·B·T).
 */
export function lossKernel(s: StepShape, L: ParamLayout, R: number, backward: boolean, sseStride: number): KernelSource {
  const bindings: BindingSpec[] = [
    { name: "P", write: false }, { name: "GO", write: false }, { name: "TG", write: false }, { name: "SSE", write: true },
    { name: "DY", write: true }, { name: "DF", write: true },
  ];
  const nTot = s.B * (s.scoredAll ? s.T : 1) * s.O;
  const code = `${SLOT_WGSL}
${decls(bindings)}
${wgConsts(s, L, R)}
const RB = B * T;
var<workgroup> red: array<f32, ${64 * s.O}>;
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let row = wg.x; let r = wg.y; let tid = lid.x;
  let gi = r * RB + row; let po = r * PS + OFF_RO;
  var part: array<f32, ${s.O}>;
  for (var m = tid; m < M; m += 64u) {
    let g = GO[gi * 2u * M + m] * GO[gi * 2u * M + M + m];
    for (var o = 0u; o < O; o++) { part[o] += P[po + o * M + m] * g; }
  }
  for (var o = 0u; o < O; o++) { red[o * 64u + tid] = part[o]; }
  workgroupBarrier();
  for (var w = 32u; w > 0u; w >>= 1u) {
    if (tid < w) { for (var o = 0u; o < O; o++) { red[o * 64u + tid] += red[o * 64u + tid + w]; } }
    workgroupBarrier();
  }
  let b = row / T; let t = row % T;
  let scored = SCORED_ALL || t + 1u == T;
  var si = 0u; if (SCORED_ALL) { si = t; }
  var dy: array<f32, ${s.O}>;
  var sse = 0.0;
  for (var o = 0u; o < O; o++) {
    if (scored) {
      let e = red[o * 64u] - TG[((r * B + b) * S + si) * O + o];
      sse += e * e;
      dy[o] = e / ${f32lit(nTot)};
    }
  }
  workgroupBarrier();
  if (tid == 0u) {
    SSE[r * ${sseStride}u + ${backward ? "" : "U.chunk * RB + "}row] = sse;
    ${backward ? "for (var o = 0u; o < O; o++) { DY[gi * O + o] = dy[o]; }" : ""}
  }
  ${backward ? `for (var m = tid; m < M; m += 64u) {
    var dg = 0.0;
    for (var o = 0u; o < O; o++) { dg += P[po + o * M + m] * dy[o]; }
    DF[gi * 2u * M + m] = dg * GO[gi * 2u * M + M + m];
    DF[gi * 2u * M + M + m] = dg * GO[gi * 2u * M + m];
  }` : ""}
}`;
  return { label: backward ? "loss" : "loss-eval", code, bindings, groups: [s.B * s.T, R, 1] };
}

/** DH [R, B·T, N] = DF [out_x; out_m]: dL/dh_t through the output gating (K = 2M). */
export function bwdHKernel(s: StepShape, L: ParamLayout, R: number): KernelSource {
  const RB = s.B * s.T;
  return gemmKernel({
    label: "gemm-DH", rows: RB, cols: s.N, K: 2 * s.M, batch: R,
    a: `DF[(bi * ${RB}u + i) * ${2 * s.M}u + k]`, aFastK: true,
    b: `P[bi * ${L.PS}u + ${L.outX}u + k * ${s.N}u + j]`, bFastK: false,
    store: `DH[(bi * ${RB}u + i) * ${s.N}u + j] = v;`,
    bindings: [{ name: "DF", write: false }, { name: "P", write: false }, { name: "DH", write: true }],
  });
}

/**
 * bwdScan, one workgroup per (sequence b, run r), per neuron n: du_t = dh_t + lambda du_{t+1} (reverse scan),
 * dlambda = Σ_{t>=1} du_t h_{t-1}, d(in_x)[n, :] = Σ_t du_t (in_m z_t) z_t, d(in_m)[n, :] = Σ_t du_t (in_x z_t) z_t
 * -> PART [R, B, N, 2D+1] (summed over b by adamw).
 */
export function bwdScanKernel(s: StepShape, L: ParamLayout, R: number): KernelSource {
  const bindings: BindingSpec[] = [
    { name: "P", write: false }, { name: "X", write: false }, { name: "H", write: false }, { name: "DH", write: false }, { name: "PART", write: true },
  ];
  const code = `${SLOT_WGSL}
${decls(bindings)}
${wgConsts(s, L, R)}
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let b = wg.x; let r = wg.y; let tid = lid.x;
  let xo = (r * B + b) * T * DIN; let p0 = r * PS;
  for (var n = tid; n < N; n += 64u) {
    let lam = exp(-exp(P[p0 + OFF_NU + n]));
    var du = 0.0; var dl = 0.0;
    // zeroed explicitly: SwiftShader keeps a loop-body array's values from the previous iteration
    var ax: array<f32, ${L.D}>; var am: array<f32, ${L.D}>;
    for (var j = 0u; j < D; j++) { ax[j] = 0.0; am[j] = 0.0; }
    for (var tt = 0u; tt < T; tt++) {
      let t = T - 1u - tt;
      let hi = ((r * B + b) * T + t) * N + n;
      du = DH[hi] + lam * du;
      if (t > 0u) { dl += du * H[hi - N]; }
      var gx = 0.0; var gm = 0.0;
      for (var j = 0u; j < DIN; j++) { let z = X[xo + t * DIN + j]; gx += z * P[p0 + OFF_INX + n * D + j]; gm += z * P[p0 + OFF_INM + n * D + j]; }
      gx += P[p0 + OFF_INX + n * D + DIN]; gm += P[p0 + OFF_INM + n * D + DIN];
      let fx = du * gm; let fm = du * gx;
      for (var j = 0u; j < DIN; j++) { let z = X[xo + t * DIN + j]; ax[j] += fx * z; am[j] += fm * z; }
      ax[DIN] += fx; am[DIN] += fm;
    }
    let o = ((r * B + b) * N + n) * (2u * D + 1u);
    for (var j = 0u; j < D; j++) { PART[o + j] = ax[j]; PART[o + D + j] = am[j]; }
    PART[o + 2u * D] = dl;
  }
}`;
  return { label: "bwdScan", code, bindings, groups: [s.B, R, 1] };
}

/** Split-K chunks of the weight-gradient products for a shape (ceil(B·T / KCHUNK)). */
export function splitK(s: StepShape): number {
  return Math.ceil((s.B * s.T) / KCHUNK);
}

/** Floats per (run, split-K chunk) of PK: d[out_x; out_m] [2M, N] then d(readout) [O, M] (the parameter order). */
export function pkStride(s: StepShape): number {
  return 2 * s.M * s.N + s.O * s.M;
}

/** PK partials of d[out_x; out_m] [2M, N] = DFᵀ H, summed over the rows of each split-K chunk. */
export function wgradKernel(s: StepShape, _L: ParamLayout, R: number): KernelSource {
  const RB = s.B * s.T;
  const KS = splitK(s);
  return gemmKernel({
    label: "gemm-dW", rows: 2 * s.M, cols: s.N, K: RB, batch: R, kChunk: KCHUNK,
    a: `DF[(bi * ${RB}u + k) * ${2 * s.M}u + i]`, aFastK: false,
    b: `H[(bi * ${RB}u + k) * ${s.N}u + j]`, bFastK: false,
    store: `PK[(bi * ${KS}u + ks) * ${pkStride(s)}u + i * ${s.N}u + j] = v;`,
    bindings: [{ name: "DF", write: false }, { name: "H", write: false }, { name: "PK", write: true }],
  });
}

/** PK partials of d(readout) [O, M] = DYᵀ (gxo ⊙ gmo), per split-K chunk. */
export function rgradKernel(s: StepShape, _L: ParamLayout, R: number): KernelSource {
  const RB = s.B * s.T;
  const KS = splitK(s);
  const M2 = 2 * s.M;
  return gemmKernel({
    label: "gemm-dReadout", rows: s.O, cols: s.M, K: RB, batch: R, kChunk: KCHUNK,
    a: `DY[(bi * ${RB}u + k) * ${s.O}u + i]`, aFastK: false,
    b: `(GO[(bi * ${RB}u + k) * ${M2}u + j] * GO[(bi * ${RB}u + k) * ${M2}u + ${s.M}u + j])`, bFastK: false,
    store: `PK[(bi * ${KS}u + ks) * ${pkStride(s)}u + ${2 * s.M * s.N}u + i * ${s.M}u + j] = v;`,
    bindings: [{ name: "DY", write: false }, { name: "GO", write: false }, { name: "PK", write: true }],
  });
}

/** Per-step scalars of the LRT table: [c1, c2, lr_0 .. lr_{R-1}] per local step (c = 1 - beta^t). */
export function lrtStride(R: number): number {
  return R + 2;
}

/**
 * adamw, workgroups (x < ceil(PS/256), run r): the gradient g (PART summed over b for in_x, in_m, lambda; PK summed over
 * split-K chunks for out_x, out_m, readout), nu's chain rule g_nu = -g_lambda exp(nu) lambda, written to G; then
 * m = b1 m + (1-b1) g, v = b2 v + (1-b2) g², p -= lr ((m/c1) / (sqrt(v/c2) + eps) + wd p) (wd = 0 for nu) with
 * lr/c1/c2 from LRT[U.s] and eps/wd from RUNF[r]. The workgroup x = ceil(PS/256) of each run instead writes the
 * step's loss ½ Σ SSE / (B S O) to LOSS[r, U.s].
 */
export function adamwKernel(s: StepShape, L: ParamLayout, R: number, beta1: number, beta2: number, maxChunk: number): KernelSource {
  const bindings: BindingSpec[] = [
    { name: "P", write: true }, { name: "G", write: true }, { name: "MO", write: true }, { name: "VO", write: true },
    { name: "PART", write: false }, { name: "PK", write: false }, { name: "LRT", write: false }, { name: "RUNF", write: false },
    { name: "SSE", write: false }, { name: "LOSS", write: true },
  ];
  const nTot = s.B * (s.scoredAll ? s.T : 1) * s.O;
  const NPW = Math.ceil(L.PS / 256);
  const code = `${SLOT_WGSL}
${decls(bindings)}
${wgConsts(s, L, R)}
const NPW = ${NPW}u; const KS = ${splitK(s)}u; const PKS = ${pkStride(s)}u; const PW = 2u * D + 1u;
var<workgroup> red: array<f32, 256>;
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let r = wg.y; let tid = lid.x;
  if (wg.x == NPW) {
    var a = 0.0;
    for (var i = tid; i < B * T; i += 256u) { a += SSE[r * B * T + i]; }
    red[tid] = a;
    workgroupBarrier();
    for (var w = 128u; w > 0u; w >>= 1u) { if (tid < w) { red[tid] += red[tid + w]; } workgroupBarrier(); }
    if (tid == 0u) { LOSS[r * ${maxChunk}u + U.s] = 0.5 * red[0] / ${f32lit(nTot)}; }
    return;
  }
  let p = wg.x * 256u + tid;
  if (p >= PS) { return; }
  let gp = r * PS + p;
  var g = 0.0; var wd = RUNF[2u * r + 1u];
  if (p < OFF_OUTX) {
    var n = 0u; var slot = 0u;
    if (p < OFF_INM) { n = p / D; slot = p % D; } else if (p < OFF_NU) { n = (p - OFF_INM) / D; slot = D + (p - OFF_INM) % D; } else { n = p - OFF_NU; slot = 2u * D; }
    for (var b = 0u; b < B; b++) { g += PART[((r * B + b) * N + n) * PW + slot]; }
    if (p >= OFF_NU) {
      let e = exp(P[gp]);
      g = -g * e * exp(-e);
      wd = 0.0;
    }
  } else {
    for (var ks = 0u; ks < KS; ks++) { g += PK[(r * KS + ks) * PKS + p - OFF_OUTX]; }
  }
  G[gp] = g;
  let lo = U.s * (U.runs + 2u);
  let c1 = LRT[lo]; let c2 = LRT[lo + 1u]; let lr = LRT[lo + 2u + r];
  let m = ${f32lit(beta1)} * MO[gp] + ${f32lit(1 - beta1)} * g;
  let v = ${f32lit(beta2)} * VO[gp] + ${f32lit(1 - beta2)} * g * g;
  MO[gp] = m; VO[gp] = v;
  P[gp] = P[gp] - lr * ((m / c1) / (sqrt(v / c2) + RUNF[2u * r]) + wd * P[gp]);
}`;
  return { label: "adamw", code, bindings, groups: [NPW + 1, R, 1] };
}
