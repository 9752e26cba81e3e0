/**
 * The fast (AssemblyScript SIMD, float32) kernels against the float64 reference oracle, on seeded random inputs:
 * every kernel, edge sizes, acc, optional outputs and initial states, documented aliasing, arena vs foreign arrays
 * and subarray views (bitwise identical), the arena allocator and its errors, and the shared-memory build.
 * Needs `npm run build:wasm`.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { setFlagsFromString } from "node:v8";
import { describe, it } from "node:test";
import { createFastKernels, createFastKernelsSync } from "../src/kernels/fast.ts";
import type { FastKernels } from "../src/kernels/fast.ts";
import {
  compileKernelsFile,
  fastKernelsWasmPath,
  loadFastKernels,
  loadFastKernelsModuleSync,
  loadFastKernelsSync,
} from "../src/kernels/node.ts";
import { ref32, ref64 } from "../src/kernels/reference.ts";
import { FAST_FLUSH_BELOW, FAST_SIGMOID_TANH_ULPS } from "../src/kernels/types.ts";
import { Rng } from "../src/rng.ts";
import { relError } from "../src/tensor.ts";

const TOL = 1e-5;
const K0: FastKernels = loadFastKernelsSync({ memoryBytes: 64 * 1024 * 1024 });
const K = K0;
const rng = Rng.fromSeed(20240611);

const randn = (n: number, std = 1): Float32Array => rng.fillNormal(new Float32Array(n), std);
const randu = (n: number, lo: number, hi: number): Float32Array => rng.fillUniform(new Float32Array(n), lo, hi);
const f64 = (a: Float32Array): Float64Array => Float64Array.from(a);

function close(fast: Float32Array, ref: Float64Array, what: string): void {
  assert.equal(fast.length, ref.length, `${what}: length`);
  const e = relError(fast, ref);
  assert.ok(e <= TOL, `${what}: relative error ${e} > ${TOL}`);
}

/** A copy of a in the arena (zero-copy for the kernels). */
function inArena(a: Float32Array): Float32Array {
  const v = K.alloc(a.length);
  v.set(a);
  return v;
}

type Place = "foreign" | "arena" | "arena-view" | "foreign-view";
const PLACES: Place[] = ["foreign", "arena", "arena-view", "foreign-view"];

/** A copy of a placed as asked: a plain array, an arena buffer, or a subarray view at an odd offset of either. */
function place(a: Float32Array, where: Place): Float32Array {
  let v: Float32Array;
  if (where === "foreign") v = new Float32Array(a.length);
  else if (where === "arena") v = K.alloc(a.length);
  else if (where === "arena-view") v = K.alloc(a.length + 5).subarray(3, 3 + a.length);
  else v = new Float32Array(a.length + 7).subarray(1, 1 + a.length);
  v.set(a);
  return v;
}

const ROWS = [1, 3, 5, 7, 33, 100, 2048];
const DIMS = [1, 3, 4, 5, 8, 17, 100];

type MM = "mm" | "mmNT" | "mmTN";
/** Element counts of A and B for a product op. */
function mmSizes(op: MM, m: number, k: number, n: number): [number, number] {
  return [m * k, k * n];
}

/**
 * The relaxed-SIMD build (one fused multiply-add per f32x4 madd; what the trainer runs when the engine accepts it):
 * Node 20 validates it only behind V8's flag, which the trainer turns on the same way.
 */
function relaxedKernels(): FastKernels {
  setFlagsFromString("--experimental-wasm-relaxed-simd");
  const bytes = readFileSync(fastKernelsWasmPath().replace(/kernels\.wasm$/, "kernels-relaxed.wasm"));
  return createFastKernelsSync(new WebAssembly.Module(bytes), { memoryBytes: 64 * 1024 * 1024 });
}

for (const [build, K] of [["kernels.wasm", K0], ["kernels-relaxed.wasm", relaxedKernels()]] as const) {
  const inArena = (a: Float32Array): Float32Array => {
    const v = K.alloc(a.length);
    v.set(a);
    return v;
  };
  describe(`fast kernels (${build}): matrix products`, () => {
    for (const op of ["mm", "mmNT", "mmTN"] as MM[]) {
      it(`${op} matches the float64 reference for rows ${ROWS.join(",")} x dims ${DIMS.join(",")}, acc false/true`, () => {
        for (const rows of ROWS) {
          for (const d1 of DIMS) {
            for (const d2 of DIMS) {
              // mm, mmNT: rows = m (the long dimension); mmTN: rows = k (the reduction of a weight gradient).
              const [m, k, n] = op === "mmTN" ? [d1, rows, d2] : [rows, d1, d2];
              const [na, nb] = mmSizes(op, m, k, n);
              const A = randn(na);
              const B = randn(nb);
              const R = new Float64Array(m * n);
              ref64[op](R, f64(A), f64(B), m, k, n);
              const mk = K.mark();
              const C = K.alloc(m * n);
              C.fill(Number.NaN); // acc=false must not read C
              K[op](C, inArena(A), inArena(B), m, k, n);
              close(C, R, `${op} m=${m} k=${k} n=${n}`);
              if (rows <= 100 || (d1 === 100 && d2 === 5)) {
                const C0 = randn(m * n);
                const R1 = f64(C0);
                ref64[op](R1, f64(A), f64(B), m, k, n, true);
                const C1 = C0.slice(); // foreign output, read and written
                K[op](C1, A, B, m, k, n, true);
                close(C1, R1, `${op} acc m=${m} k=${k} n=${n}`);
              }
              K.release(mk);
            }
          }
        }
      });
    }

    it("every small m, n (1..17) and k in {1, 2, 7, 9}: all tile edges of mm, mmNT, mmTN, acc false/true", () => {
      for (const op of ["mm", "mmNT", "mmTN"] as MM[]) {
        for (let m = 1; m <= 17; m++) {
          for (let n = 1; n <= 17; n++) {
            for (const k of [1, 2, 7, 9]) {
              const A = randn(m * k);
              const B = randn(k * n);
              const C0 = randn(m * n);
              for (const acc of [false, true]) {
                const R = f64(C0);
                ref64[op](R, f64(A), f64(B), m, k, n, acc);
                const C = C0.slice();
                K[op](C, A, B, m, k, n, acc);
                close(C, R, `${op} m=${m} k=${k} n=${n} acc=${acc}`);
              }
            }
          }
        }
      }
    });

    it("mm, mmNT, mmTN with k = 0 give 0 (acc false) or leave C unchanged (acc true); m = 0 or n = 0 write nothing", () => {
      for (const op of ["mm", "mmNT", "mmTN"] as MM[]) {
        for (const [m, n] of [[3, 5], [4, 8], [1, 1], [7, 17]]) {
          const C = K.alloc(m * n);
          C.fill(2.5);
          K[op](C, K.alloc(0), K.alloc(0), m, 0, n, true);
          assert.ok(C.every((x) => x === 2.5), `${op} k=0 acc`);
          K[op](C, K.alloc(0), K.alloc(0), m, 0, n);
          assert.ok(C.every((x) => x === 0), `${op} k=0`);
        }
        const guard = K.alloc(8);
        guard.fill(7);
        K[op](guard.subarray(0, 0), randn(12), randn(12), 0, 3, 4);
        K[op](guard.subarray(0, 0), randn(12), randn(12), 4, 3, 0);
        assert.ok(guard.every((x) => x === 7), `${op} empty output`);
      }
    });

    it("long reductions (k = 2048, 4096) stay within tolerance, and products never touch their inputs", () => {
      for (const op of ["mm", "mmNT", "mmTN"] as MM[]) {
        for (const [m, k, n] of [[17, 4096, 9], [100, 2048, 4], [4, 2048, 100]]) {
          const [na, nb] = mmSizes(op, m, k, n);
          const A = randn(na);
          const B = randn(nb);
          const A0 = A.slice();
          const B0 = B.slice();
          const R = new Float64Array(m * n);
          ref64[op](R, f64(A), f64(B), m, k, n);
          const C = new Float32Array(m * n);
          K[op](C, A, B, m, k, n);
          close(C, R, `${op} m=${m} k=${k} n=${n}`);
          assert.deepEqual(A, A0);
          assert.deepEqual(B, B0);
        }
      }
    });
  });
}

describe("fast kernels: gate", () => {
  it("gate matches the reference with and without the gx/gm factor outputs", () => {
    const shapes = [[1, 1, 1], [3, 5, 7], [7, 4, 8], [33, 17, 3], [100, 100, 5], [5, 3, 100], [2048, 100, 100], [2048, 5, 4]];
    for (const [r, k, n] of shapes) {
      const A = randn(r * k);
      const X = randn(n * k);
      const M = randn(n * k);
      const out = new Float64Array(r * n);
      const gx = new Float64Array(r * n);
      const gm = new Float64Array(r * n);
      ref64.gate(out, f64(A), f64(X), f64(M), r, k, n, gx, gm);
      for (const [useGx, useGm] of [[false, false], [true, true], [true, false], [false, true]]) {
        const mk = K.mark();
        const fo = K.alloc(r * n);
        const fgx = useGx ? K.alloc(r * n) : undefined;
        const fgm = useGm ? new Float32Array(r * n) : undefined; // one factor foreign, one in the arena
        K.gate(fo, inArena(A), X, inArena(M), r, k, n, fgx, fgm);
        const what = `gate r=${r} k=${k} n=${n} gx=${useGx} gm=${useGm}`;
        close(fo, out, what);
        if (fgx) close(fgx, gx, `${what}: gx`);
        if (fgm) close(fgm, gm, `${what}: gm`);
        K.release(mk);
      }
    }
  });
});

describe("fast kernels: scans", () => {
  const shapes = [[1, 1, 1], [1, 7, 3], [3, 33, 4], [2, 5, 5], [3, 7, 8], [2, 33, 17], [3, 32, 100]];

  it("scan and scanReverse match the reference, with and without h0, in place (h = u, g = dh) too", () => {
    for (const [B, T, N] of shapes) {
      const u = randn(B * T * N);
      const lambda = randu(N, -1, 1);
      const h0 = randn(B * N);
      for (const withH0 of [false, true]) {
        const R = new Float64Array(B * T * N);
        ref64.scan(R, f64(u), f64(lambda), B, T, N, withH0 ? f64(h0) : undefined);
        const what = `scan B=${B} T=${T} N=${N} h0=${withH0}`;
        const h = new Float32Array(B * T * N);
        K.scan(h, u, lambda, B, T, N, withH0 ? h0 : undefined);
        close(h, R, what);
        for (const where of ["foreign", "arena"] as Place[]) {
          const io = place(u, where);
          K.scan(io, io, place(lambda, where), B, T, N, withH0 ? place(h0, where) : undefined);
          assert.deepEqual(io, h, `${what}: in place (${where})`);
        }
      }
      const G = new Float64Array(B * T * N);
      ref64.scanReverse(G, f64(u), f64(lambda), B, T, N);
      const g = K.alloc(B * T * N);
      K.scanReverse(g, inArena(u), inArena(lambda), B, T, N);
      close(g, G, `scanReverse B=${B} T=${T} N=${N}`);
      for (const where of ["foreign", "arena"] as Place[]) {
        const io = place(u, where);
        K.scanReverse(io, io, lambda, B, T, N);
        assert.deepEqual(io, g, `scanReverse in place (${where})`);
      }
    }
  });

  it("scanComplex and scanComplexReverse match the reference, with h0Re and/or h0Im", () => {
    for (const [B, T, N] of shapes) {
      const n = B * T * N;
      const uRe = randn(n);
      const uIm = randn(n);
      // |lambda| < 1 as in the LRU.
      const rad = randu(N, 0.3, 0.99);
      const ang = randu(N, -Math.PI, Math.PI);
      const lRe = rad.map((r, i) => r * Math.cos(ang[i]));
      const lIm = rad.map((r, i) => r * Math.sin(ang[i]));
      const h0Re = randn(B * N);
      const h0Im = randn(B * N);
      for (const [useRe, useIm] of [[false, false], [true, true], [true, false], [false, true]]) {
        const Rr = new Float64Array(n);
        const Ri = new Float64Array(n);
        ref64.scanComplex(Rr, Ri, f64(uRe), f64(uIm), f64(lRe), f64(lIm), B, T, N, useRe ? f64(h0Re) : undefined, useIm ? f64(h0Im) : undefined);
        const hr = K.alloc(n);
        const hi = new Float32Array(n);
        K.scanComplex(hr, hi, uRe, inArena(uIm), lRe, lIm, B, T, N, useRe ? h0Re : undefined, useIm ? inArena(h0Im) : undefined);
        const what = `scanComplex B=${B} T=${T} N=${N} h0=${useRe},${useIm}`;
        close(hr, Rr, `${what}: re`);
        close(hi, Ri, `${what}: im`);
      }
      const Gr = new Float64Array(n);
      const Gi = new Float64Array(n);
      ref64.scanComplexReverse(Gr, Gi, f64(uRe), f64(uIm), f64(lRe), f64(lIm), B, T, N);
      const gr = new Float32Array(n);
      const gi = K.alloc(n);
      K.scanComplexReverse(gr, gi, inArena(uRe), uIm, inArena(lRe), lIm, B, T, N);
      close(gr, Gr, `scanComplexReverse B=${B} T=${T} N=${N}: re`);
      close(gi, Gi, `scanComplexReverse B=${B} T=${T} N=${N}: im`);
    }
  });
});

describe("fast kernels: elementwise and reductions", () => {
  const SIZES = [0, 1, 3, 4, 5, 17, 100, 1001];

  it("mul, gate and the scans flush results below 2^-63 to 0 (no denormals reach the products); NaN and Inf pass", () => {
    const t = FAST_FLUSH_BELOW;
    const a = new Float32Array([1e-20, -1e-20, 1e-9, Math.fround(t), 3e-20, Number.NaN, Infinity, 2, 1e-30]);
    const b = new Float32Array([1e-20, 1e-20, 1e-9, 1, 1, 1, 1, 1e-19, 1]);
    for (const Kb of [K, relaxedKernels()]) {
      const out = new Float32Array(a.length);
      Kb.mul(out, a, b, a.length);
      // 1e-40 (denormal) -> 0, 1e-18 kept, t itself kept, 3e-20 < t -> 0, NaN and Inf kept, 2e-19 kept, 1e-30 -> 0
      assert.deepEqual([...out], [0, 0, Math.fround(Math.fround(1e-9) * Math.fround(1e-9)), Math.fround(t), 0, Number.NaN, Infinity, Math.fround(2e-19), 0]);
      const h = new Float32Array(6);
      Kb.scan(h, new Float32Array([1e-10, 0, 0, 1e-30, 0, 0]), new Float32Array([1e-5]), 2, 3, 1);
      assert.deepEqual([...h], [Math.fround(1e-10), Math.fround(Math.fround(1e-5) * Math.fround(1e-10)), 0, 0, 0, 0]);
      const g = new Float32Array(5);
      Kb.gate(g, new Float32Array([1e-12, 1e-3, 1, 1, 1]), new Float32Array([1]), new Float32Array([1e-9]), 5, 1, 1);
      assert.deepEqual([...g], [0, Math.fround(Math.fround(1e-3) * Math.fround(Math.fround(1e-3) * Math.fround(1e-9))), ...[1, 1, 1].map(() => Math.fround(1e-9))]);
    }
  });

  it("adamw equals the float32 reference bit for bit (both builds; decay, clipping scale, early and late steps, foreign buffers)", () => {
    for (const Kb of [K, relaxedKernels()]) {
      for (const n of SIZES) {
        for (const [t, wd, scale] of [[1, 0, 1], [7, 1e-4, 1], [12345, 0.38, 0.25]] as const) {
          const s = { lr: 3e-3, beta1: 0.9, beta2: 0.999, c1: 1 - 0.9 ** t, c2: 1 - 0.999 ** t, eps: 1e-8, wd, scale };
          const p = randn(n), g = randn(n, 1e-3), m = randn(n, 1e-4), v = randu(n, 0, 1e-6);
          const want = [p, m, v].map((a) => a.slice());
          ref32.adamw(want[0], g, want[1], want[2], n, s);
          const got = [p, m, v].map((a) => place(a, "arena"));
          Kb.adamw(got[0], place(g, "arena"), got[1], got[2], n, s);
          for (let i = 0; i < 3; i++) assert.deepEqual(got[i], want[i], `adamw ${["p", "m", "v"][i]} n=${n} t=${t}`);
          const foreign = [p, m, v].map((a) => a.slice()); // copied in and out around the call
          Kb.adamw(foreign[0], g, foreign[1], foreign[2], n, s);
          for (let i = 0; i < 3; i++) assert.deepEqual(foreign[i], want[i], `adamw foreign n=${n}`);
          if (n > 0) assert.ok(want[0].some((x, i) => x !== p[i]), "the update moved the parameters");
        }
      }
    }
  });

  it("mul, add, scale equal the float32 reference bit for bit; axpy matches float64", () => {
    for (const n of SIZES) {
      const a = randn(n, 3);
      const b = randn(n, 3);
      const alpha = Math.fround(rng.normal());
      for (const op of ["mul", "add"] as const) {
        const want = new Float32Array(n);
        ref32[op](want, a, b, n);
        const out = K.alloc(n);
        K[op](out, inArena(a), b, n);
        assert.deepEqual(out, want, `${op} n=${n}`);
        const x = place(a, "arena");
        K[op](x, x, b, n); // out aliases a
        assert.deepEqual(x, want, `${op} n=${n} out=a`);
        const y = place(b, "foreign");
        K[op](y, a, y, n); // out aliases b
        assert.deepEqual(y, want, `${op} n=${n} out=b`);
      }
      const want = new Float32Array(n);
      ref32.scale(want, a, alpha, n);
      const s = place(a, "foreign");
      K.scale(s, s, alpha, n);
      assert.deepEqual(s, want, `scale n=${n}`);
      const Y = f64(b);
      ref64.axpy(Y, alpha, f64(a), n);
      for (const where of ["foreign", "arena"] as Place[]) {
        const y = place(b, where);
        K.axpy(y, alpha, a, n);
        close(y, Y, `axpy n=${n} (${where})`);
      }
    }
  });

  it(`sigmoid and tanh are within ${FAST_SIGMOID_TANH_ULPS} ulp of float64 over a dense sweep; ±0, ±Inf, NaN exact; one bits for every build and position`, () => {
    // every 997th float32 bit pattern up to |x| = 120, both signs, plus the specials and the branch/floor edges
    const bits = new Uint32Array(1);
    const f = new Float32Array(bits.buffer);
    const xs: number[] = [0, -0, Infinity, -Infinity, Number.NaN, 1e-45, -1e-45, 0.625, -0.625, Math.fround(0.625) - 2 ** -24, -87, -87.00001, -88, 87, 88, 89, 1e30, -1e30];
    for (let b = 0; b < 0x80000000; b += 997) {
      bits[0] = b;
      if (f[0] > 120) break;
      xs.push(f[0], -f[0]);
    }
    const x = Float32Array.from(xs);
    const n = x.length;
    const exact = { sigmoid: (v: number) => (v >= 0 ? 1 / (1 + Math.exp(-v)) : Math.exp(v) / (1 + Math.exp(v))), tanh: Math.tanh };
    const ulp = (v: number): number => 2 ** (Math.max(Math.floor(Math.log2(Math.abs(v))), -126) - 23);
    for (const op of ["sigmoid", "tanh"] as const) {
      const out = new Float32Array(n);
      K[op](out, x, n);
      let worst = 0;
      for (let i = 0; i < n; i++) {
        const e = exact[op](x[i]);
        if (Number.isNaN(e) || !Number.isFinite(x[i]) || e === 0) {
          assert.ok(Object.is(out[i], Math.fround(e)), `${op}(${x[i]}) = ${out[i]}, want ${e}`);
        } else if (op === "sigmoid" && x[i] < -87) {
          assert.equal(out[i], 0, `sigmoid(${x[i]}) below the floor gives 0`);
        } else {
          worst = Math.max(worst, Math.abs(out[i] - e) / ulp(e));
        }
      }
      assert.ok(worst <= FAST_SIGMOID_TANH_ULPS, `${op}: worst error ${worst} ulp > ${FAST_SIGMOID_TANH_ULPS}`);
      assert.ok(worst > 0.5, `${op}: the sweep reached the approximation's error (${worst} ulp)`);
      assert.ok(Object.is(out[1], op === "sigmoid" ? 0.5 : -0), `${op}(-0)`);
      // the relaxed build gives the same bits; so does every element alone (the tail path) and in place
      const relaxed = new Float32Array(n);
      relaxedKernels()[op](relaxed, x, n);
      assert.deepEqual(relaxed, out, `${op}: relaxed build`);
      for (const m of [1, 3, 5, 17]) {
        for (let s = 0; s + m <= 64; s += 7) {
          const io = place(x.subarray(s, s + m), "arena");
          K[op](io, io, m);
          assert.deepEqual(io, out.subarray(s, s + m), `${op}: n=${m} at ${s}, in place`);
        }
      }
    }
  });

  it("sumRows and sumCols match the reference, acc false/true", () => {
    for (const m of [1, 3, 5, 33, 2048]) {
      for (const n of [1, 3, 4, 5, 16, 17, 100]) {
        const A = randn(m * n);
        for (const acc of [false, true]) {
          const r0 = randn(n);
          const c0 = randn(m);
          const R = f64(r0);
          const Cc = f64(c0);
          ref64.sumRows(R, f64(A), m, n, acc);
          ref64.sumCols(Cc, f64(A), m, n, acc);
          const r = place(r0, acc ? "foreign" : "arena");
          const c = place(c0, acc ? "arena" : "foreign");
          K.sumRows(r, inArena(A), m, n, acc);
          K.sumCols(c, A, m, n, acc);
          close(r, R, `sumRows m=${m} n=${n} acc=${acc}`);
          close(c, Cc, `sumCols m=${m} n=${n} acc=${acc}`);
        }
      }
    }
  });
});

describe("fast kernels: causalAttention64 (teacher targets)", () => {
  it("equals the reference bit for bit: d = 4 and general widths, odd and even B, zeros and -0 in x, any placement", () => {
    const bits = (a: Float32Array): Uint32Array => new Uint32Array(a.buffer, a.byteOffset, a.length);
    for (const [d, dk, dv] of [[4, 4, 4], [3, 2, 5], [1, 1, 1], [5, 4, 4], [4, 4, 3], [6, 6, 6], [2, 3, 9]]) {
      for (const B of [1, 2, 5, 8]) {
        for (const T of [1, 3, 32]) {
          const x = randn(B * T * d);
          x[0] = 0;
          x[Math.min(x.length - 1, d + 1)] = -0;
          const rows = x.length >= d * T ? d * T : 0; // a whole sequence of zeros (all products zero)
          if (B > 1) x.fill(0, (B - 1) * T * d, (B - 1) * T * d + rows);
          const WV = Float64Array.from(randn(dv * d), (v) => v / Math.sqrt(d));
          const WK = Float64Array.from(randn(dk * d), (v) => v / Math.sqrt(d));
          const WQ = Float64Array.from(randn(dk * d), (v) => v / Math.sqrt(d));
          const want = new Float32Array(B * T * dv);
          ref32.causalAttention64(want, x, WV, WK, WQ, B, T, d, dk, dv);
          const want64 = new Float64Array(B * T * dv);
          ref64.causalAttention64(want64, Float64Array.from(x), WV, WK, WQ, B, T, d, dk, dv);
          assert.deepEqual(want, Float32Array.from(want64), "the f32 reference is the f64 one rounded once");
          for (const where of ["foreign", "arena-view"] as const) {
            const y = place(new Float32Array(B * T * dv).fill(NaN), where);
            K.causalAttention64(y, place(x, where === "foreign" ? "arena" : "foreign-view"), WV, WK, WQ, B, T, d, dk, dv);
            assert.deepEqual(bits(y), bits(want), `d=${d} dk=${dk} dv=${dv} B=${B} T=${T} ${where}`);
          }
        }
      }
    }
  });

  it("is eq. 1: matches a direct float64 sum over s <= t of v_s (q_t . k_s)", () => {
    const B = 3, T = 7, d = 3, dk = 2, dv = 4;
    const x = Float64Array.from(randn(B * T * d));
    const WV = Float64Array.from(randn(dv * d)), WK = Float64Array.from(randn(dk * d)), WQ = Float64Array.from(randn(dk * d));
    const y = new Float64Array(B * T * dv);
    ref64.causalAttention64(y, x, WV, WK, WQ, B, T, d, dk, dv);
    const proj = (W: Float64Array, rows: number, b: number, t: number, j: number): number => {
      let s = 0;
      for (let p = 0; p < d; p++) s += W[j * d + p] * x[(b * T + t) * d + p];
      return s;
    };
    for (let b = 0; b < B; b++) {
      for (let t = 0; t < T; t++) {
        for (let j = 0; j < dv; j++) {
          let want = 0;
          for (let s = 0; s <= t; s++) {
            let w = 0;
            for (let p = 0; p < dk; p++) w += proj(WQ, dk, b, t, p) * proj(WK, dk, b, s, p);
            want += w * proj(WV, dv, b, s, j);
          }
          assert.ok(Math.abs(y[(b * T + t) * dv + j] - want) <= 1e-12 * (1 + Math.abs(want)), `b=${b} t=${t} j=${j}`);
        }
      }
    }
  });
});

describe("fast kernels: argument placement", () => {
  /** Runs op on inputs placed at `where` and returns its outputs as fresh Float32Arrays. */
  function runPlaced(where: Place, ins: Float32Array[], outs: Float32Array[], op: (a: Float32Array[], o: Float32Array[]) => void): Float32Array[] {
    const mk = K.mark();
    const a = ins.map((x) => place(x, where));
    const o = outs.map((x) => place(x, where));
    const before = a.map((x) => x.slice());
    op(a, o);
    a.forEach((x, i) => assert.deepEqual(x, before[i], `input ${i} modified (${where})`));
    const res = o.map((x) => x.slice());
    K.release(mk);
    return res;
  }

  it("foreign arrays, arena arrays and subarray views of either give bitwise identical results", () => {
    const m = 37, k = 19, n = 23, B = 3, T = 9, N = 13;
    const cases: [string, Float32Array[], Float32Array[], (a: Float32Array[], o: Float32Array[]) => void][] = [
      ["mm acc", [randn(m * k), randn(k * n)], [randn(m * n)], (a, o) => K.mm(o[0], a[0], a[1], m, k, n, true)],
      ["mmNT", [randn(m * k), randn(n * k)], [randn(m * n)], (a, o) => K.mmNT(o[0], a[0], a[1], m, k, n)],
      ["mmNT n=4 acc", [randn(m * k), randn(4 * k)], [randn(m * 4)], (a, o) => K.mmNT(o[0], a[0], a[1], m, k, 4, true)],
      ["mmTN acc", [randn(k * m), randn(k * n)], [randn(m * n)], (a, o) => K.mmTN(o[0], a[0], a[1], m, k, n, true)],
      ["gate", [randn(m * k), randn(n * k), randn(n * k)], [randn(m * n), randn(m * n), randn(m * n)],
        (a, o) => K.gate(o[0], a[0], a[1], a[2], m, k, n, o[1], o[2])],
      ["gate without factors", [randn(m * k), randn(n * k), randn(n * k)], [randn(m * n)], (a, o) => K.gate(o[0], a[0], a[1], a[2], m, k, n)],
      ["scan h0", [randn(B * T * N), randu(N, -1, 1), randn(B * N)], [randn(B * T * N)], (a, o) => K.scan(o[0], a[0], a[1], B, T, N, a[2])],
      ["scanReverse", [randn(B * T * N), randu(N, -1, 1)], [randn(B * T * N)], (a, o) => K.scanReverse(o[0], a[0], a[1], B, T, N)],
      ["scanComplex", [randn(B * T * N), randn(B * T * N), randu(N, -0.7, 0.7), randu(N, -0.7, 0.7), randn(B * N), randn(B * N)],
        [randn(B * T * N), randn(B * T * N)], (a, o) => K.scanComplex(o[0], o[1], a[0], a[1], a[2], a[3], B, T, N, a[4], a[5])],
      ["scanComplexReverse", [randn(B * T * N), randn(B * T * N), randu(N, -0.7, 0.7), randu(N, -0.7, 0.7)],
        [randn(B * T * N), randn(B * T * N)], (a, o) => K.scanComplexReverse(o[0], o[1], a[0], a[1], a[2], a[3], B, T, N)],
      ["mul", [randn(101), randn(101)], [randn(101)], (a, o) => K.mul(o[0], a[0], a[1], 101)],
      ["add", [randn(101), randn(101)], [randn(101)], (a, o) => K.add(o[0], a[0], a[1], 101)],
      ["axpy", [randn(101)], [randn(101)], (a, o) => K.axpy(o[0], 0.37, a[0], 101)],
      ["scale", [randn(101)], [randn(101)], (a, o) => K.scale(o[0], a[0], -1.25, 101)],
      ["sigmoid", [randn(101)], [randn(101)], (a, o) => K.sigmoid(o[0], a[0], 101)],
      ["tanh", [randn(101)], [randn(101)], (a, o) => K.tanh(o[0], a[0], 101)],
      ["sumRows acc", [randn(m * n)], [randn(n)], (a, o) => K.sumRows(o[0], a[0], m, n, true)],
      ["sumCols acc", [randn(m * n)], [randn(m)], (a, o) => K.sumCols(o[0], a[0], m, n, true)],
    ];
    for (const [name, ins, outs, op] of cases) {
      const used = K.used();
      const base = runPlaced("arena", ins, outs, op);
      for (const where of PLACES) {
        assert.deepEqual(runPlaced(where, ins, outs, op), base, `${name}: ${where} differs from arena`);
      }
      assert.equal(K.used(), used, `${name}: scratch not released`);
    }
  });

  it("a kernel given only part of a longer array reads and writes just its prefix", () => {
    const A = randn(6 * 4);
    const B = randn(4 * 5);
    const big = new Float32Array(6 * 5 + 10).fill(9);
    K.mm(big, A, B, 6, 4, 5);
    const R = new Float64Array(30);
    ref64.mm(R, f64(A), f64(B), 6, 4, 5);
    close(big.subarray(0, 30), R, "mm prefix");
    assert.ok(big.subarray(30).every((x) => x === 9), "wrote past m*n");
  });

  it("refuses Float64Array buffers, too short buffers and bad sizes with clear errors", () => {
    assert.throws(() => K.mm(new Float64Array(4), new Float32Array(4), new Float32Array(4), 2, 2, 2), /fast kernels compute in float32/);
    assert.throws(() => K.sigmoid(new Float32Array(4), new Float64Array(4), 4), /fast kernels compute in float32/);
    assert.throws(() => K.mm(new Float32Array(4), new Float32Array(3), new Float32Array(4), 2, 2, 2), /mm: A has 3 elements, needs 4/);
    assert.throws(() => K.add(new Float32Array(4), new Float32Array(4), new Float32Array(4), 2.5), /non-negative integers/);
  });
});

describe("fast kernels: arena", () => {
  it("alloc is zero-filled and 64-byte aligned; release(mark) reuses the same memory; marks are stack ordered", () => {
    const start = K.mark();
    const a = K.alloc(100);
    assert.ok(K.owns(a));
    assert.equal(a.byteOffset % 64, 0);
    assert.ok(a.byteOffset >= K.arenaStart && a.byteOffset + 400 <= K.arenaEnd);
    a.fill(3);
    const inner = K.mark();
    const b = K.alloc(5);
    assert.ok(b.byteOffset >= a.byteOffset + 400, "allocations overlap");
    K.release(inner);
    K.release(start);
    assert.equal(K.mark(), start);
    const c = K.alloc(100);
    assert.equal(c.byteOffset, a.byteOffset, "released memory not reused");
    assert.ok(c.every((x) => x === 0), "alloc not zero-filled after reuse");
    assert.throws(() => K.release(start + 1_000_000), /not a live mark/);
    K.release(start);
    assert.ok(!K.owns(new Float32Array(4)));
    assert.ok(!K.owns(new Float64Array(4)));
    // Views into the memory outside [64 KiB, end - 64) are copied rather than passed (module data, end guard).
    const bytes = K.memory.buffer.byteLength;
    const low = new Float32Array(K.memory.buffer, 1024, 4);
    const high = new Float32Array(K.memory.buffer, bytes - 16, 4);
    assert.ok(!K.owns(low) && !K.owns(high));
    const saved = high.slice();
    high.set([1, 2, 3, 4]);
    K.scale(high, high, 2, 4);
    assert.deepEqual([...high], [2, 4, 6, 8]);
    high.set(saved);
  });

  it("a full arena throws one line naming the requested bytes and memoryBytes, and leaves the arena usable", () => {
    const small = createFastKernelsSync(loadFastKernelsModuleSync(), { memoryBytes: 256 * 1024 });
    assert.equal(small.memory.buffer.byteLength, 256 * 1024);
    const cap = small.arenaEnd - small.arenaStart;
    small.alloc(1000);
    const used = small.used();
    const err = (() => {
      try {
        small.alloc(cap / 4);
      } catch (e) {
        return e as Error;
      }
      return null;
    })();
    assert.ok(err, "no error");
    assert.match(err.message, new RegExp(`requested ${cap} bytes`));
    assert.match(err.message, /memoryBytes/);
    assert.ok(!err.message.includes("\n"));
    assert.equal(small.used(), used);
    // Scratch for foreign arguments also respects the limit and is released on failure.
    const big = new Float32Array(cap / 8 + 64);
    assert.throws(() => small.add(big, big, new Float32Array(big.length), big.length), /arena full/);
    assert.equal(small.used(), used);
    const x = small.alloc(10);
    small.add(x, x, new Float32Array(10).fill(1), 10);
    assert.ok(x.every((v) => v === 1));
  });

  it("two instances share one memory with disjoint arenas", () => {
    const memory = new WebAssembly.Memory({ initial: 64, maximum: 64 });
    const half = 32 * 65536;
    const mod = loadFastKernelsModuleSync();
    const k1 = createFastKernelsSync(mod, { memory, arena: { start: 65536, end: half } });
    const k2 = createFastKernelsSync(mod, { memory, arena: { start: half, end: 64 * 65536 - 64 } });
    const a = k1.alloc(50);
    const b = k2.alloc(50);
    assert.ok(a.byteOffset < half && b.byteOffset >= half);
    assert.ok(k1.owns(b) && k2.owns(a), "same memory: zero copy either way");
    const A = randn(5 * 10);
    a.set(A);
    k2.mmNT(b.subarray(0, 25), a, a, 5, 10, 5);
    const R = new Float64Array(25);
    ref64.mmNT(R, f64(A), f64(A), 5, 10, 5);
    close(b.subarray(0, 25), R, "mmNT across instances");
    assert.throws(() => createFastKernelsSync(mod, { memory, arena: { start: 0, end: half } }), /arena/);
  });
});

describe("fast kernels: loading", () => {
  it("loads asynchronously from bytes and from the Node loader", async () => {
    const bytes = readFileSync(fastKernelsWasmPath());
    const k1 = await createFastKernels(bytes, { memoryBytes: 1 << 20 });
    const k2 = await loadFastKernels({ memoryBytes: 1 << 20 });
    for (const k of [k1, k2]) {
      assert.equal(k.name, "fast-f32");
      assert.equal(k.dtype, "f32");
      const out = k.alloc(3);
      k.add(out, new Float32Array([1, 2, 3]), new Float32Array([4, 5, 6]), 3);
      assert.deepEqual([...out], [5, 7, 9]);
    }
    const mod = WebAssembly.Module.imports(new WebAssembly.Module(bytes));
    assert.deepEqual(mod.map((i) => `${i.module}.${i.name}:${i.kind}`), ["env.memory:memory"]);
  });

  it("says how to build when the wasm file is missing", async () => {
    await assert.rejects(compileKernelsFile("/nonexistent/kernels.wasm"), /^Error: fast kernels not built: run `npm run build:wasm`/);
  });

  it("shared: true runs on a SharedArrayBuffer memory (kernels-shared.wasm); a mismatched build is refused", () => {
    const ks = loadFastKernelsSync({ shared: true, memoryBytes: 4 << 20 });
    assert.ok(ks.memory.buffer instanceof SharedArrayBuffer);
    const m = 33, k = 17, n = 9;
    const A = randn(m * k);
    const B = randn(k * n);
    const C = ks.alloc(m * n);
    assert.ok(ks.owns(C));
    const Aa = ks.alloc(m * k);
    Aa.set(A);
    ks.mm(C, Aa, B, m, k, n);
    const R = new Float64Array(m * n);
    ref64.mm(R, f64(A), f64(B), m, k, n);
    close(C, R, "shared mm");
    assert.throws(() => createFastKernelsSync(loadFastKernelsModuleSync(false), { shared: true, memoryBytes: 1 << 20 }), /kernels-shared\.wasm/);
    assert.throws(() => createFastKernelsSync(loadFastKernelsModuleSync(true), { memoryBytes: 1 << 20 }), /non-shared/);
  });
});
