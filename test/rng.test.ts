import assert from "node:assert/strict";
import { test } from "node:test";
import { Rng } from "../src/rng.ts";
import type { RngState } from "../src/rng.ts";

/** n draws of std · normal() one call at a time: what fillNormal must equal bit for bit. */
const byCalls = (r: Rng, n: number, std: number): number[] => Array.from({ length: n }, () => std * r.normal());

/** Asserts fillNormal on a copy of `state` equals n normal() calls on another copy, values and final state alike. */
function assertSame(state: RngState, n: number, std: number, what: string): void {
  const a = Rng.fromState(state);
  const b = Rng.fromState(state);
  const got = a.fillNormal(new Float64Array(n), std);
  const want = byCalls(b, n, std);
  for (let i = 0; i < n; i++) assert.ok(Object.is(got[i], want[i]), `${what}: [${i}] ${got[i]} vs ${want[i]}`);
  assert.deepEqual(a.state(), b.state(), `${what}: state afterwards`);
  // and the streams go on alike
  assert.ok(Object.is(a.normal(), b.normal()), `${what}: the next normal`);
  assert.equal(a.nextU32(), b.nextU32(), `${what}: the next uint32`);
}

test("fillNormal equals repeated normal() bit for bit: even and odd lengths, with and without a pending spare, any std", () => {
  for (const seed of [0, 1, 42, -7]) {
    for (const n of [0, 1, 2, 3, 7, 64, 101]) {
      for (const std of [1, 0.5, 3]) {
        const fresh = Rng.fromSeed(seed);
        assertSame(fresh.state(), n, std, `seed ${seed}, n ${n}, std ${std}`);
        const pending = Rng.fromSeed(seed);
        pending.normal(); // leaves a spare
        assert.notEqual(pending.state().spare, null);
        assertSame(pending.state(), n, std, `seed ${seed}, n ${n}, std ${std}, pending spare`);
      }
    }
  }
});

test("fillNormal: consecutive odd fills hand the spare on; plain arrays and Float32Array store the same draws", () => {
  const a = Rng.fromSeed(3);
  const b = Rng.fromSeed(3);
  const parts = [5, 3, 1, 8, 9].map((n) => Array.from(a.fillNormal(new Float64Array(n), 2)));
  assert.deepEqual(parts.flat(), byCalls(b, 26, 2));
  assert.deepEqual(a.state(), b.state());
  const c = Rng.fromSeed(9);
  const d = Rng.fromSeed(9);
  const e = Rng.fromSeed(9);
  assert.deepEqual(c.fillNormal(new Array<number>(11).fill(0)), byCalls(d, 11, 1));
  assert.deepEqual(e.fillNormal(new Float32Array(11)), Float32Array.from(byCalls(Rng.fromSeed(9), 11, 1)));
});

test("fillNormal redraws a zero uniform exactly as normal() does", () => {
  // xoshiro128** outputs 0 when s1 = 0, and again next when s2 = s0: the first uniform is exactly 0
  const state: RngState = { s: [0x1234567, 0, 0x1234567, 0x89abcdef], spare: null };
  assert.equal(Rng.fromState(state).uniform(), 0);
  for (const n of [1, 2, 5]) assertSame(state, n, 1, `zero uniform, n ${n}`);
});

test("rng: the stream from seed 0 is pinned (uint32 and normal draws, state with its spare)", () => {
  const r = Rng.fromSeed(0);
  assert.deepEqual([r.nextU32(), r.nextU32(), r.nextU32()], [3809008728, 1133695204, 53579671]);
  const f = Rng.fromSeed(0);
  assert.deepEqual(Array.from(f.fillNormal(new Float64Array(3))), [0.48854632132701026, 0.03837218016081414, 2.5868475608858597]);
  assert.deepEqual(f.state(), { s: [2445186478, 2630378388, 233408357, 2276848731], spare: 0.39985963088890797 });
});

test("fillUniform equals repeated uniformIn() bit for bit (values, final state, pending spare kept); Float32Array rounds the same draws", () => {
  for (const [seed, n, lo, hi] of [[1, 0, 0, 1], [2, 1, -1, 1], [3, 7, -2.5, 3], [4, 40, 0, 1e-3]] as const) {
    const a = Rng.fromSeed(seed), b = Rng.fromSeed(seed);
    a.normal(); b.normal(); // leaves a spare pending: fillUniform must not touch it
    const got = a.fillUniform(new Float64Array(n), lo, hi);
    const want = Float64Array.from({ length: n }, () => b.uniformIn(lo, hi));
    assert.deepEqual(got, want, `seed ${seed} n ${n}`);
    assert.deepEqual(a.state(), b.state());
    assert.deepEqual(Rng.fromSeed(seed).fillUniform(new Float32Array(n), lo, hi), Float32Array.from(Rng.fromSeed(seed).fillUniform(new Float64Array(n), lo, hi)));
  }
});
