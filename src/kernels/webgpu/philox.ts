/**
 * Philox4x32-10 (Salmon et al. 2011, Random123), the counter-based generator of the GPU data streams: a pure function
 * of (counter [4 x u32], key [2 x u32]), so every element of a batch is drawn independently from (run seed, step,
 * stream, element). The TypeScript twin here is the oracle the WGSL version (PHILOX_WGSL) is tested against.
 */

const M0 = 0xd2511f53;
const M1 = 0xcd9e8d57;
const W0 = 0x9e3779b9;
const W1 = 0xbb67ae85;

/** [hi, lo] of the 64-bit product a·b of two u32 (16-bit halves, as the WGSL twin computes it). */
function mulhilo(a: number, b: number): [number, number] {
  const a0 = a & 0xffff, a1 = a >>> 16, b0 = b & 0xffff, b1 = b >>> 16;
  const p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
  const mid = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
  const hi = (p11 + (p01 >>> 16) + (p10 >>> 16) + (mid >>> 16)) >>> 0;
  return [hi, Math.imul(a, b) >>> 0];
}

/** Philox4x32-10 of counter c [4] under key k [2] -> 4 u32 (Random123's philox4x32(ctr, key)). */
export function philox4x32(c: ArrayLike<number>, k: ArrayLike<number>): Uint32Array {
  let x0 = c[0] >>> 0, x1 = c[1] >>> 0, x2 = c[2] >>> 0, x3 = c[3] >>> 0;
  let k0 = k[0] >>> 0, k1 = k[1] >>> 0;
  for (let i = 0; i < 10; i++) {
    const [h0, l0] = mulhilo(M0, x0);
    const [h1, l1] = mulhilo(M1, x2);
    [x0, x1, x2, x3] = [(h1 ^ x1 ^ k0) >>> 0, l1, (h0 ^ x3 ^ k1) >>> 0, l0];
    k0 = (k0 + W0) >>> 0;
    k1 = (k1 + W1) >>> 0;
  }
  return Uint32Array.of(x0, x1, x2, x3);
}

/** The Philox key of a run seed (an integer below 2^53): [low 32 bits, high bits]. */
export function seedKey(seed: number): [number, number] {
  return [seed >>> 0, Math.floor(seed / 2 ** 32) >>> 0];
}

/** Stream ids (the counter's third word): teacher-student inputs, icl-regression W*, icl-regression x. */
export const STREAM = { tsX: 0, iclW: 1, iclX: 2 } as const;

/** u in (0, 1) from a u32: (floor(x / 2^8) + 0.5) / 2^24 (exact in f32). */
export function unit01(x: number): number {
  return ((x >>> 8) + 0.5) / 16777216;
}

/**
 * Element e of a stream's normal draws at (key, step): Box-Muller on the Philox block of counter (e div 4, step,
 * stream, 0): lanes (u0, u1) -> N0 = r cos θ, N1 = r sin θ, lanes (u2, u3) -> N2, N3 with r = sqrt(-2 ln u), θ = 2π u'.
 */
export function normalAt(key: ArrayLike<number>, step: number, stream: number, e: number): number {
  const q = philox4x32([Math.floor(e / 4), step, stream, 0], key);
  const lane = e % 4;
  const pair = lane >> 1;
  const r = Math.sqrt(-2 * Math.log(unit01(q[2 * pair])));
  const th = 2 * Math.PI * unit01(q[2 * pair + 1]);
  return lane & 1 ? r * Math.sin(th) : r * Math.cos(th);
}

/** Element e of a stream's uniform draws in (lo, hi): lo + (hi - lo) · unit01(lane e mod 4 of block e div 4). */
export function uniformAt(key: ArrayLike<number>, step: number, stream: number, e: number, lo: number, hi: number): number {
  const q = philox4x32([Math.floor(e / 4), step, stream, 0], key);
  return lo + (hi - lo) * unit01(q[e % 4]);
}

/** WGSL of philox4x32(c, k), normalAt and uniformAt (f32), for the data kernels. */
export const PHILOX_WGSL = /* wgsl */ `
fn mulhilo(a: u32, b: u32) -> vec2<u32> {
  let a0 = a & 0xffffu; let a1 = a >> 16u; let b0 = b & 0xffffu; let b1 = b >> 16u;
  let p00 = a0 * b0; let p01 = a0 * b1; let p10 = a1 * b0; let p11 = a1 * b1;
  let mid = (p00 >> 16u) + (p01 & 0xffffu) + (p10 & 0xffffu);
  return vec2<u32>(p11 + (p01 >> 16u) + (p10 >> 16u) + (mid >> 16u), a * b);
}
fn philox(c: vec4<u32>, k: vec2<u32>) -> vec4<u32> {
  var x = c; var key = k;
  for (var i = 0u; i < 10u; i++) {
    let p0 = mulhilo(0xd2511f53u, x.x); let p1 = mulhilo(0xcd9e8d57u, x.z);
    x = vec4<u32>(p1.x ^ x.y ^ key.x, p1.y, p0.x ^ x.w ^ key.y, p0.y);
    key = key + vec2<u32>(0x9e3779b9u, 0xbb67ae85u);
  }
  return x;
}
fn unit01(x: u32) -> f32 { return (f32(x >> 8u) + 0.5) * (1.0 / 16777216.0); }
fn normalAt(key: vec2<u32>, step: u32, stream: u32, e: u32) -> f32 {
  let q = philox(vec4<u32>(e / 4u, step, stream, 0u), key);
  let lane = e % 4u;
  var a = q.x; var b = q.y;
  if (lane >= 2u) { a = q.z; b = q.w; }
  // max(0, .): WGSL's log has an absolute error up to 2^-21 near 1, which could make -2 ln u slightly negative
  let r = sqrt(max(0.0, -2.0 * log(unit01(a))));
  let th = 6.283185307179586 * unit01(b);
  if ((lane & 1u) == 1u) { return r * sin(th); }
  return r * cos(th);
}
fn uniformAt(key: vec2<u32>, step: u32, stream: u32, e: u32, lo: f32, hi: f32) -> f32 {
  let q = philox(vec4<u32>(e / 4u, step, stream, 0u), key);
  return lo + (hi - lo) * unit01(q[e % 4u]);
}
`;
