/**
 * Run groups in the model families (issue 12): Params with runs = R (tensors [R, shape], x [R·B, T, d_in]) give every
 * run, bit for bit, the outputs, gradients and input gradients it gets alone (forward, forwardCached + backward, step),
 * on the fast backend (plain and relaxed-SIMD builds) and on both reference backends; the group's gradients match
 * finite differences. Needs `npm run build:wasm`.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { setFlagsFromString } from "node:v8";
import { describe, it } from "node:test";
import { createFastKernelsSync } from "../src/kernels/fast.ts";
import { fastKernelsWasmPath, loadFastKernelsSync } from "../src/kernels/node.ts";
import { ref32, ref64 } from "../src/kernels/reference.ts";
import type { Kernels } from "../src/kernels/types.ts";
import { runParams, runsOf, stackRuns } from "../src/models/common.ts";
import { gatedRnn, gatedRnnDense } from "../src/models/gated-rnn.ts";
import { getFamily } from "../src/models/registry.ts";
import type { ModelFamily, Params } from "../src/models/types.ts";
import { Rng } from "../src/rng.ts";
import type { DType, Float, Tensor } from "../src/tensor.ts";
import { checkGradients } from "./gradcheck.ts";

setFlagsFromString("--experimental-wasm-relaxed-simd");
const relaxed = createFastKernelsSync(
  new WebAssembly.Module(readFileSync(fastKernelsWasmPath().replace(/kernels\.wasm$/, "kernels-relaxed.wasm"))),
  { memoryBytes: 64 * 1024 * 1024 },
);
const BACKENDS: [string, Kernels][] = [
  ["fast", loadFastKernelsSync({ memoryBytes: 64 * 1024 * 1024 })],
  ["fast relaxed", relaxed],
  ["reference-f32", ref32],
  ["reference-f64", ref64],
];

/** Families with run groups, each with configs of odd sizes (and the d = 4, hidden 8 shape of the small sweeps). */
const FAMILIES: [ModelFamily, object[]][] = [
  [gatedRnn, [{ d_in: 3, hidden: 6, output_gating: 5, d_out: 2 }, { d_in: 4, hidden: 8, output_gating: 8, d_out: 4 }]],
  [gatedRnnDense, [{ d_in: 3, hidden: 5, output_gating: 7, d_out: 2 }, { d_in: 4, hidden: 8, output_gating: 8, d_out: 4 }]],
];

function randn(rng: Rng, n: number, dtype: DType): Float {
  const a = dtype === "f32" ? new Float32Array(n) : new Float64Array(n);
  return rng.fillNormal(a);
}

/** The arrays concatenated (same dtype as the first). */
function concat(parts: Float[]): Float {
  const n = parts.reduce((s, p) => s + p.length, 0);
  const out = parts[0] instanceof Float32Array ? new Float32Array(n) : new Float64Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Same bits (Object.is per element). */
function assertSameBits(a: Float, b: Float, what: string): void {
  assert.equal(a.length, b.length, `${what}: length`);
  for (let i = 0; i < a.length; i++) {
    if (!Object.is(a[i], b[i])) assert.fail(`${what}: element ${i}: group ${a[i]} vs alone ${b[i]}`);
  }
}

/** forwardCached + backward (dy given) of p on x: y, every gradient and dx as plain copies. */
function trainPass(fam: ModelFamily, p: Params, x: Tensor, dy: Float, k: Kernels): Record<string, Float> {
  const mark = k.mark();
  try {
    const { y, cache } = fam.forwardCached!(p, x, k);
    const dyK = k.alloc(dy.length);
    dyK.set(dy);
    const g = fam.backward!(p, cache, dyK, k);
    const out: Record<string, Float> = { y: y.slice(), dx: g.dx.slice() };
    for (const [name, v] of Object.entries(g.grads)) out[name] = v.slice();
    return out;
  } finally {
    k.release(mark);
  }
}

const B = 3;
const T = 7;

describe("run groups: R runs in one pass == each run alone, bit for bit", () => {
  for (const [fam, configs] of FAMILIES) {
    for (const [bname, k] of BACKENDS) {
      it(`${fam.name} on ${bname}: forward, forwardCached + backward (all gradients, dx) and step, R = 1, 2, 5`, () => {
        const dtype = k.dtype;
        for (const cfg of configs) {
          for (const R of [1, 2, 5]) {
            const rng = Rng.fromSeed(100 + R);
            const ps = Array.from({ length: R }, () => fam.init(rng.split(), cfg, dtype));
            const group = stackRuns(ps);
            assert.equal(runsOf(group, fam), R);
            const { dIn, dOut } = fam.dims(cfg);
            const xs = ps.map(() => randn(rng, B * T * dIn, dtype));
            const dys = ps.map(() => randn(rng, B * T * dOut, dtype));
            const x: Tensor = { shape: [R * B, T, dIn], data: concat(xs) };
            const what = `${fam.name} ${JSON.stringify(cfg)} R=${R} ${bname}`;

            const got = trainPass(fam, group, x, concat(dys), k);
            const alone = ps.map((p, r) => trainPass(fam, p, { shape: [B, T, dIn], data: xs[r] }, dys[r], k));
            for (const name of Object.keys(got)) {
              assertSameBits(got[name], concat(alone.map((a) => a[name])), `${what} ${name}`);
            }
            // runParams gives back run r's tensors
            for (let r = 0; r < R; r++) {
              for (const [name, t] of Object.entries(runParams(group, r).tensors)) assertSameBits(t.data, ps[r].tensors[name].data, `runParams ${name}`);
            }

            const y = fam.forward(group, x, k);
            assert.deepEqual(y.shape, [R * B, T, dOut]);
            assertSameBits(y.data, concat(ps.map((p, r) => fam.forward(p, { shape: [B, T, dIn], data: xs[r] }, k).data)), `${what} forward`);
            assertSameBits(y.data, got.y, `${what} forward vs forwardCached`);

            // two steps of the one-step form from the empty state: x_t of every sequence, [B, d_in] per run
            let sg = fam.initState(group, B);
            let sa = ps.map((p) => fam.initState(p, B));
            for (let t = 0; t < 2; t++) {
              const rowsOf = (xr: Float) => concat(Array.from({ length: B }, (_, b) => xr.slice((b * T + t) * dIn, (b * T + t + 1) * dIn)));
              const xtRuns = xs.map(rowsOf);
              const og = fam.step(group, sg, { shape: [R * B, dIn], data: concat(xtRuns) }, k);
              const oa = ps.map((p, r) => fam.step(p, sa[r], { shape: [B, dIn], data: xtRuns[r] }, k));
              assertSameBits(og.y.data, concat(oa.map((o) => o.y.data)), `${what} step ${t} y`);
              for (const key of Object.keys(og.state)) assertSameBits(og.state[key], concat(oa.map((o) => o.state[key])), `${what} step ${t} state ${key}`);
              sg = og.state;
              sa = oa.map((o) => o.state);
            }
          }
        }
      });
    }

    it(`${fam.name}: a group of 3 runs' gradients match central finite differences (float64)`, () => {
      const rng = Rng.fromSeed(31);
      const cfg = { d_in: 3, hidden: 5, output_gating: 4, d_out: 2 };
      const group = stackRuns([0, 1, 2].map(() => fam.init(rng.split(), cfg)));
      const x: Tensor = { shape: [3 * 2, 6, 3], data: randn(rng, 3 * 2 * 6 * 3, "f64") };
      checkGradients(fam, group, x, rng, 1e-6, 24);
    });
  }

  it("runsOf: checks the count and the tensor sizes; families without run groups refuse R > 1", () => {
    const p = gatedRnn.init(Rng.fromSeed(1), { d_in: 2, hidden: 3, output_gating: 2, d_out: 1 });
    assert.equal(runsOf(p, gatedRnn), 1);
    assert.throws(() => runsOf({ ...p, runs: 2 }, gatedRnn), /^Error: gated-rnn: tensor in_x holds 9 floats, 2 runs of \[3, 3\] need 18$/);
    assert.throws(() => runsOf({ ...p, runs: 0 }, gatedRnn), /runs must be a positive integer, got 0/);
    const g = stackRuns([p, p]);
    assert.throws(() => gatedRnn.forward(g, { shape: [3, 4, 2], data: new Float64Array(24) }), /^Error: gated-rnn: 3 sequences do not split into 2 runs$/);
    const fake = { name: "no-groups" };
    assert.throws(() => runsOf(g, fake), /^Error: no-groups: run groups \(runs = 2\) are not supported by this family yet$/);
    assert.ok(getFamily("gated-rnn").runs);
  });
});
