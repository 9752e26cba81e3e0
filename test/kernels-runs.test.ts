/**
 * The run count of every kernel (run groups, issue 12): a call with `runs` = R on operands laid out back to back
 * ([R, per-run size] each) gives each run exactly the bits of a call with runs = 1 on that run's slices alone, on the
 * fast backend (plain and relaxed-SIMD builds) and on both reference backends; the batched fast call agrees with the
 * batched float64 reference within float32 tolerance. Odd shapes that reach every tile edge and the special paths
 * (narrow products, transposed mmTN), optional outputs and initial states, acc. Needs `npm run build:wasm`.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { setFlagsFromString } from "node:v8";
import { describe, it } from "node:test";
import { createFastKernelsSync } from "../src/kernels/fast.ts";
import type { FastKernels } from "../src/kernels/fast.ts";
import { fastKernelsWasmPath, loadFastKernelsSync } from "../src/kernels/node.ts";
import { ref32, ref64 } from "../src/kernels/reference.ts";
import type { Kernels } from "../src/kernels/types.ts";
import { Rng } from "../src/rng.ts";
import type { Float } from "../src/tensor.ts";
import { relError } from "../src/tensor.ts";

const TOL = 1e-5;
const RUNS = [1, 2, 5];

function relaxedKernels(): FastKernels {
  setFlagsFromString("--experimental-wasm-relaxed-simd");
  const bytes = readFileSync(fastKernelsWasmPath().replace(/kernels\.wasm$/, "kernels-relaxed.wasm"));
  return createFastKernelsSync(new WebAssembly.Module(bytes), { memoryBytes: 64 * 1024 * 1024 });
}
const FAST: FastKernels[] = [loadFastKernelsSync({ memoryBytes: 64 * 1024 * 1024 }), relaxedKernels()];
const BUILDS = ["kernels.wasm", "kernels-relaxed.wasm"];

/** One operand of a kernel call: its per-run element count, whether the kernel writes it, its random entries. */
interface Operand {
  size: number;
  written: boolean;
  /** Entries uniform in [-range, range] (default: standard normal). */
  range?: number;
}

/** A kernel call on operands `a` (in Operand order); `runs` undefined means the kernel's default (one run). */
interface Case {
  what: string;
  ops: Operand[];
  call(k: Kernels, a: Float[], runs?: number): void;
}

const inp = (size: number, range?: number): Operand => ({ size, written: false, range });
const out = (size: number): Operand => ({ size, written: true });

/** The per-run operands of every kernel on a few odd shapes. */
function cases(): Case[] {
  const cs: Case[] = [];
  // [m, k, n]: general tiles with edges, narrow outputs (n <= 4, m >= 8: mm's dot path, mmNT's dot path), mmTN's
  // transposed path (n < 8 <= m), single rows, k over one 128 block
  const mmShapes = [[7, 5, 9], [9, 7, 4], [13, 33, 3], [1, 2, 3], [10, 3, 17], [6, 131, 11]];
  for (const [m, k, n] of mmShapes) {
    for (const acc of [false, true]) {
      cs.push({ what: `mm m=${m} k=${k} n=${n} acc=${acc}`, ops: [out(m * n), inp(m * k), inp(k * n)],
        call: (K, [C, A, B], r) => K.mm(C, A, B, m, k, n, acc, r) });
      cs.push({ what: `mmNT m=${m} k=${k} n=${n} acc=${acc}`, ops: [out(m * n), inp(m * k), inp(n * k)],
        call: (K, [C, A, B], r) => K.mmNT(C, A, B, m, k, n, acc, r) });
      cs.push({ what: `mmTN m=${m} k=${k} n=${n} acc=${acc}`, ops: [out(m * n), inp(k * m), inp(k * n)],
        call: (K, [C, A, B], r) => K.mmTN(C, A, B, m, k, n, acc, r) });
    }
  }
  for (const [r, k, n] of [[7, 5, 9], [11, 3, 4], [2, 9, 6], [33, 8, 13]]) {
    cs.push({ what: `gate r=${r} k=${k} n=${n} with gx, gm`, ops: [out(r * n), inp(r * k), inp(n * k), inp(n * k), out(r * n), out(r * n)],
      call: (K, [o, A, X, M, gx, gm], q) => K.gate(o, A, X, M, r, k, n, gx, gm, q) });
    cs.push({ what: `gate r=${r} k=${k} n=${n} without factors`, ops: [out(r * n), inp(r * k), inp(n * k), inp(n * k)],
      call: (K, [o, A, X, M], q) => K.gate(o, A, X, M, r, k, n, undefined, undefined, q) });
  }
  for (const [B, T, N] of [[3, 5, 7], [2, 4, 8], [1, 6, 1], [4, 3, 13]]) {
    const n = B * T * N;
    cs.push({ what: `scan B=${B} T=${T} N=${N}`, ops: [out(n), inp(n), inp(N, 1)],
      call: (K, [h, u, l], r) => K.scan(h, u, l, B, T, N, undefined, r) });
    cs.push({ what: `scan B=${B} T=${T} N=${N} with h0`, ops: [out(n), inp(n), inp(N, 1), inp(B * N)],
      call: (K, [h, u, l, h0], r) => K.scan(h, u, l, B, T, N, h0, r) });
    cs.push({ what: `scanReverse B=${B} T=${T} N=${N}`, ops: [out(n), inp(n), inp(N, 1)],
      call: (K, [g, d, l], r) => K.scanReverse(g, d, l, B, T, N, r) });
    cs.push({ what: `scanComplex B=${B} T=${T} N=${N}`, ops: [out(n), out(n), inp(n), inp(n), inp(N, 0.7), inp(N, 0.7)],
      call: (K, [hr, hi, ur, ui, lr, li], r) => K.scanComplex(hr, hi, ur, ui, lr, li, B, T, N, undefined, undefined, r) });
    cs.push({ what: `scanComplex B=${B} T=${T} N=${N} with h0`, ops: [out(n), out(n), inp(n), inp(n), inp(N, 0.7), inp(N, 0.7), inp(B * N), inp(B * N)],
      call: (K, [hr, hi, ur, ui, lr, li, h0r, h0i], r) => K.scanComplex(hr, hi, ur, ui, lr, li, B, T, N, h0r, h0i, r) });
    cs.push({ what: `scanComplexReverse B=${B} T=${T} N=${N}`, ops: [out(n), out(n), inp(n), inp(n), inp(N, 0.7), inp(N, 0.7)],
      call: (K, [gr, gi, dr, di, lr, li], r) => K.scanComplexReverse(gr, gi, dr, di, lr, li, B, T, N, r) });
  }
  for (const [m, n] of [[7, 9], [33, 3], [1, 17], [5, 16], [9, 21]]) {
    for (const acc of [false, true]) {
      cs.push({ what: `sumRows m=${m} n=${n} acc=${acc}`, ops: [out(n), inp(m * n)], call: (K, [o, A], r) => K.sumRows(o, A, m, n, acc, r) });
      cs.push({ what: `sumCols m=${m} n=${n} acc=${acc}`, ops: [out(m), inp(m * n)], call: (K, [o, A], r) => K.sumCols(o, A, m, n, acc, r) });
    }
  }
  // elementwise kernels take n·runs: per-run n odd so runs split vectors
  for (const n of [7, 13, 1]) {
    const all = (r?: number) => n * (r ?? 1);
    cs.push({ what: `mul n=${n}`, ops: [out(n), inp(n), inp(n)], call: (K, [o, a, b], r) => K.mul(o, a, b, all(r)) });
    cs.push({ what: `add n=${n}`, ops: [out(n), inp(n), inp(n)], call: (K, [o, a, b], r) => K.add(o, a, b, all(r)) });
    cs.push({ what: `axpy n=${n}`, ops: [out(n), inp(n)], call: (K, [y, x], r) => K.axpy(y, 0.37, x, all(r)) });
    cs.push({ what: `scale n=${n}`, ops: [out(n), inp(n)], call: (K, [o, a], r) => K.scale(o, a, -1.3, all(r)) });
    cs.push({ what: `sigmoid n=${n}`, ops: [out(n), inp(n)], call: (K, [o, a], r) => K.sigmoid(o, a, all(r)) });
    cs.push({ what: `tanh n=${n}`, ops: [out(n), inp(n)], call: (K, [o, a], r) => K.tanh(o, a, all(r)) });
  }
  return cs;
}

/** Random contents of each operand for R runs (float32 values, so every backend starts from the same numbers). */
function draw(rng: Rng, c: Case, R: number): Float32Array[] {
  return c.ops.map((o) => {
    const a = new Float32Array(R * o.size);
    return o.range === undefined ? rng.fillNormal(a) : rng.fillUniform(a, -o.range, o.range);
  });
}

/** The operands in backend K's dtype (fast: arena buffers, zero copy) . */
function onK(K: Kernels, data: Float32Array[]): Float[] {
  return data.map((d) => {
    const a = K.alloc(d.length);
    a.set(d);
    return a;
  });
}

/** One batched call: every operand after the call, as plain arrays. */
function batched(K: Kernels, c: Case, data: Float32Array[], R: number): Float[] {
  const mark = K.mark();
  try {
    const a = onK(K, data);
    c.call(K, a, R);
    return a.map((x) => x.slice());
  } finally {
    K.release(mark);
  }
}

/** R calls with the default run count on each run's slices (fresh foreign arrays), outputs put back in run order. */
function perRun(K: Kernels, c: Case, data: Float32Array[], R: number): Float[] {
  const res = data.map((d) => (K.dtype === "f32" ? d.slice() : Float64Array.from(d)));
  for (let r = 0; r < R; r++) {
    const mark = K.mark();
    try {
      const a = c.ops.map((o, i) => res[i].slice(r * o.size, (r + 1) * o.size));
      c.call(K, a);
      c.ops.forEach((o, i) => res[i].set(a[i], r * o.size));
    } finally {
      K.release(mark);
    }
  }
  return res;
}

/** Same bits (Object.is per element: -0 and +0 differ, NaN equals NaN). */
function assertSameBits(a: Float, b: Float, what: string): void {
  assert.equal(a.length, b.length, `${what}: length`);
  for (let i = 0; i < a.length; i++) {
    if (!Object.is(a[i], b[i])) assert.fail(`${what}: element ${i}: batched ${a[i]} vs per run ${b[i]}`);
  }
}

const rng = Rng.fromSeed(20261204);
const CASES = cases();

describe("kernels with a run count: batched == per-run calls bit for bit, fast == reference", () => {
  for (const [name, K] of [...BUILDS.map((b, i) => [`fast ${b}`, FAST[i]] as const), ["reference-f32", ref32] as const, ["reference-f64", ref64] as const]) {
    it(`${name}: every kernel, R = ${RUNS.join(", ")}: a call with runs = R equals R calls of one run each, bit for bit`, () => {
      for (const c of CASES) {
        for (const R of RUNS) {
          const data = draw(rng, c, R);
          const got = batched(K, c, data, R);
          const want = perRun(K, c, data, R);
          c.ops.forEach((o, i) => {
            if (o.written) assertSameBits(got[i], want[i], `${name} ${c.what} R=${R} operand ${i}`);
            else assertSameBits(got[i], data[i], `${name} ${c.what} R=${R} input ${i} left unchanged`);
          });
        }
      }
    });
  }

  for (const [i, K] of FAST.entries()) {
    it(`fast ${BUILDS[i]}: batched calls agree with the batched float64 reference within ${TOL}`, () => {
      for (const c of CASES) {
        for (const R of RUNS) {
          const data = draw(rng, c, R);
          const got = batched(K, c, data, R);
          const want = batched(ref64, c, data, R);
          c.ops.forEach((o, j) => {
            if (!o.written) return;
            const e = relError(got[j], want[j]);
            assert.ok(e <= TOL, `${c.what} R=${R} operand ${j}: relative error ${e} > ${TOL}`);
          });
        }
      }
    });
  }

  it("fast: runs must be a positive integer; operands shorter than runs × size are refused", () => {
    const K = FAST[0];
    const A = K.alloc(12);
    assert.throws(() => K.mm(K.alloc(4), A, A, 2, 3, 2, false, 0), /^Error: fast mm: runs must be a positive integer, got 0$/);
    assert.throws(() => K.scan(K.alloc(6), K.alloc(6), K.alloc(3), 1, 2, 3, undefined, 1.5), /runs must be a positive integer/);
    assert.throws(() => K.mm(K.alloc(8), A, A, 2, 3, 2, false, 3), /^Error: fast mm: A has 12 elements, needs 18$/);
  });
});
