/**
 * Explicit, seeded, splittable randomness. xoshiro128** (32-bit, exact in JS) seeded through splitmix32; `split`
 * derives an independent child stream, so every `init` and data generator takes its own Rng and runs are
 * reproducible bit for bit. The state is four uint32 words plus a cached normal: serialisable for checkpoints.
 */

export interface RngState {
  s: [number, number, number, number];
  /** A second Box-Muller normal kept for the next call, or null. */
  spare: number | null;
}

function splitmix32(x: number): [number, number] {
  x = (x + 0x9e3779b9) | 0;
  let z = x;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  z ^= z >>> 16;
  return [x, z >>> 0];
}

/** A seeded pseudo-random stream: uniform, normal and integer draws, and independent child streams. */
export class Rng {
  private s: Uint32Array;
  private spare: number | null = null;

  private constructor(s: Uint32Array) {
    this.s = s;
  }

  /** Rng(seed): a stream determined by an integer seed (any safe integer; negative allowed). */
  static fromSeed(seed: number): Rng {
    if (!Number.isSafeInteger(seed)) throw new Error(`rng seed must be an integer, got ${seed}`);
    const lo = seed >>> 0;
    const hi = Math.floor(seed / 4294967296) >>> 0;
    let x = lo ^ Math.imul(hi, 0x27d4eb2d);
    const s = new Uint32Array(4);
    for (let i = 0; i < 4; i++) {
      const [nx, z] = splitmix32(x);
      x = nx;
      s[i] = z;
    }
    if ((s[0] | s[1] | s[2] | s[3]) === 0) s[0] = 1;
    return new Rng(s);
  }

  /** The stream from a saved state (see `state()`). */
  static fromState(state: RngState): Rng {
    const r = new Rng(Uint32Array.from(state.s));
    r.spare = state.spare;
    return r;
  }

  /** The full state, a plain JSON-serialisable object. */
  state(): RngState {
    return { s: [this.s[0], this.s[1], this.s[2], this.s[3]], spare: this.spare };
  }

  /** Next uint32 (xoshiro128**). */
  nextU32(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1], 5), 7), 9) >>> 0;
    const t = s[1] << 9;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  }

  /** Uniform on [0, 1) with 53 random bits. */
  uniform(): number {
    const a = this.nextU32() >>> 5;
    const b = this.nextU32() >>> 6;
    return (a * 67108864 + b) / 9007199254740992;
  }

  /** Uniform on [lo, hi). */
  uniformIn(lo: number, hi: number): number {
    return lo + (hi - lo) * this.uniform();
  }

  /** Standard normal N(0, 1) by Box-Muller. */
  normal(): number {
    if (this.spare !== null) {
      const v = this.spare;
      this.spare = null;
      return v;
    }
    let u = 0;
    while (u === 0) u = this.uniform();
    const v = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** Integer uniform on {0, ..., n-1}. */
  int(n: number): number {
    return Math.floor(this.uniform() * n);
  }

  /** An independent child stream, seeded from four draws of this one (the parent advances). */
  split(): Rng {
    const s = new Uint32Array(4);
    for (let i = 0; i < 4; i++) {
      const [, z] = splitmix32(this.nextU32() ^ Math.imul(i + 1, 0x9e3779b9));
      s[i] = z;
    }
    if ((s[0] | s[1] | s[2] | s[3]) === 0) s[0] = 1;
    return new Rng(s);
  }

  /**
   * Fill `out` with i.i.d. N(0, std²) draws, out[i] = std · normal(); returns `out`. Bit for bit `out.length` calls
   * of normal() (same uniform draws in the same order, same Box-Muller arithmetic, same spare left behind), with the
   * xoshiro128** state held in locals for the loop and written back at the end.
   */
  fillNormal<A extends { length: number; [i: number]: number }>(out: A, std = 1): A {
    const n = out.length;
    if (n === 0) return out;
    const st = this.s;
    // int32 locals: every operation below is a 32-bit one, the Uint32Array store at the end wraps them back
    let s0 = st[0] | 0, s1 = st[1] | 0, s2 = st[2] | 0, s3 = st[3] | 0;
    let spare = this.spare;
    let i = 0;
    if (spare !== null) {
      out[0] = std * spare;
      spare = null;
      i = 1;
    }
    for (; i < n; i += 2) {
      // four nextU32() draws as normal() makes them: uniform() = (hi · 2^26 + lo) / 2^53 from two draws, first u
      // (redrawn while it is 0), then v
      let u = 0, v = 0, hi = 0;
      for (let k = 0; k < 4; k++) {
        const m = Math.imul(s1, 5);
        const t = s1 << 9;
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3; s2 ^= t; s3 = (s3 << 11) | (s3 >>> 21);
        const x = Math.imul((m << 7) | (m >>> 25), 9) >>> 0;
        if ((k & 1) === 0) {
          hi = x >>> 5;
          continue;
        }
        const w = (hi * 67108864 + (x >>> 6)) / 9007199254740992;
        if (k === 3) v = w;
        else if (w === 0) k = -1; // u = 0: draw u again
        else u = w;
      }
      const r = Math.sqrt(-2 * Math.log(u));
      const sin = r * Math.sin(2 * Math.PI * v);
      out[i] = std * (r * Math.cos(2 * Math.PI * v));
      if (i + 1 < n) out[i + 1] = std * sin;
      else spare = sin;
    }
    st[0] = s0;
    st[1] = s1;
    st[2] = s2;
    st[3] = s3;
    this.spare = spare;
    return out;
  }

  /** Fill `out` with i.i.d. U(lo, hi) draws; returns `out`. */
  fillUniform<A extends { length: number; [i: number]: number }>(out: A, lo: number, hi: number): A {
    // uniformIn per element with the state in int32 locals (as fillNormal): the same draws, the same bits
    const st = this.s;
    let s0 = st[0] | 0, s1 = st[1] | 0, s2 = st[2] | 0, s3 = st[3] | 0;
    const span = hi - lo;
    for (let i = 0; i < out.length; i++) {
      let a = 0;
      for (let k = 0; k < 2; k++) {
        const m = Math.imul(s1, 5);
        const t = s1 << 9;
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3; s2 ^= t; s3 = (s3 << 11) | (s3 >>> 21);
        const x = Math.imul((m << 7) | (m >>> 25), 9) >>> 0;
        if (k === 0) a = x >>> 5;
        else out[i] = lo + span * ((a * 67108864 + (x >>> 6)) / 9007199254740992);
      }
    }
    st[0] = s0;
    st[1] = s1;
    st[2] = s2;
    st[3] = s3;
    return out;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
