import assert from "node:assert/strict";
import { test } from "node:test";
import { gatedRnn, gatedRnnDense } from "../src/models/gated-rnn.ts";
import type { GatedRnnConfig } from "../src/models/gated-rnn.ts";
import type { Params } from "../src/models/types.ts";
import { fromArray } from "../src/tensor.ts";
import { assertClose, randn, Rng, runSteps } from "./helpers.ts";
import { naiveGatedRnn } from "./independent.ts";
import { checkGradients } from "./gradcheck.ts";

const cfg: GatedRnnConfig = { d_in: 3, hidden: 6, output_gating: 5, d_out: 2 };

test("gated RNN: hand-set weights give the values worked out by hand", () => {
  // d_in = 1, N = 2, M = 1, d_out = 1. z_t = [x_t, 1].
  // neuron 0: u = (x)(x) = x², lambda 1 (memory); neuron 1: u = (2x)(1) = 2x, lambda 0.5.
  // out row: (h0)(h1); readout 3.  x = [1, 2]:
  // t=0: h = [1, 2]            y = 3·1·2 = 6
  // t=1: h = [1+4, 0.5·2+4]    = [5, 5], y = 3·25 = 75
  const p: Params<GatedRnnConfig> = {
    family: "gated-rnn",
    config: { d_in: 1, hidden: 2, output_gating: 1, d_out: 1 },
    tensors: {
      in_x: fromArray([[1, 0], [2, 0]]),
      in_m: fromArray([[1, 0], [0, 1]]),
      lambda: fromArray([1, 0.5]),
      out_x: fromArray([[1, 0]]),
      out_m: fromArray([[0, 1]]),
      readout: fromArray([[3]]),
    },
  };
  const y = gatedRnn.forward(p, fromArray([[[1], [2]]]));
  assert.deepEqual(y.shape, [1, 2, 1]);
  assert.deepEqual([...y.data], [6, 75]);
});

test("gated RNN: sequence form equals an independent per-time-step loop (float64)", () => {
  const rng = Rng.fromSeed(1);
  const p = gatedRnn.init(rng.split(), cfg);
  const x = randn(rng, [3, 7, cfg.d_in]);
  assertClose(gatedRnn.forward(p, x).data, naiveGatedRnn(p, x), 1e-13, "forward vs naive loop");
});

test("gated RNN: one-step form equals the sequence form, diagonal and dense", () => {
  for (const fam of [gatedRnn, gatedRnnDense]) {
    const rng = Rng.fromSeed(2);
    const p = fam.init(rng.split(), cfg);
    const x = randn(rng, [3, 7, cfg.d_in]);
    assertClose(runSteps(fam, p, x).data, fam.forward(p, x).data, 1e-13, `${fam.name} step vs sequence`);
  }
});

test("gated RNN: dense recurrence A = diag(lambda) equals the diagonal model", () => {
  const rng = Rng.fromSeed(3);
  const p = gatedRnn.init(rng.split(), cfg);
  const N = cfg.hidden;
  const A = new Float64Array(N * N);
  for (let i = 0; i < N; i++) A[i * N + i] = p.tensors.lambda.data[i];
  const { lambda: _, ...rest } = p.tensors;
  const pd: Params<GatedRnnConfig> = { family: "gated-rnn-dense", config: p.config, tensors: { ...rest, A: { shape: [N, N], data: A } } };
  const x = randn(rng, [2, 9, cfg.d_in]);
  assertClose(gatedRnnDense.forward(pd, x).data, gatedRnn.forward(p, x).data, 1e-13, "dense diag vs diagonal");
});

test("gated RNN: init draws lambda in [0, 1) and is reproducible from the seed", () => {
  const a = gatedRnn.init(Rng.fromSeed(7), cfg);
  const b = gatedRnn.init(Rng.fromSeed(7), cfg);
  for (const name of Object.keys(a.tensors)) assert.deepEqual([...a.tensors[name].data], [...b.tensors[name].data], name);
  assert.ok([...a.tensors.lambda.data].every((l) => l >= 0 && l < 1));
  assert.deepEqual(a.tensors.in_x.shape, [6, 4]);
  const c = gatedRnn.init(Rng.fromSeed(8), cfg);
  assert.notDeepEqual([...a.tensors.in_x.data], [...c.tensors.in_x.data]);
});

test("gated RNN: float32 reference agrees with float64", () => {
  const rng = Rng.fromSeed(4);
  const p = gatedRnn.init(rng.split(), cfg);
  const p32 = { ...p, tensors: Object.fromEntries(Object.entries(p.tensors).map(([n, t]) => [n, { shape: t.shape, data: Float32Array.from(t.data) }])) };
  const x = randn(rng, [2, 5, cfg.d_in]);
  const y32 = gatedRnn.forward(p32, { shape: x.shape, data: Float32Array.from(x.data) });
  assert.ok(y32.data instanceof Float32Array);
  assertClose(y32.data, gatedRnn.forward(p, x).data, 1e-5, "f32 vs f64");
});

test("gated RNN: a wrong input shape is a one-line error", () => {
  const p = gatedRnn.init(Rng.fromSeed(5), cfg);
  assert.throws(() => gatedRnn.forward(p, randn(Rng.fromSeed(0), [2, 5, 4])), /^Error: gated-rnn: input must have shape \[B, T, 3\], got \[2, 5, 4\]$/);
});

test("gated RNN: gradients match central finite differences in float64, diagonal and dense", () => {
  for (const fam of [gatedRnn, gatedRnnDense]) {
    const rng = Rng.fromSeed(30);
    const p = fam.init(rng.split(), { d_in: 3, hidden: 5, output_gating: 4, d_out: 2 });
    const x = randn(rng, [2, 6, 3]);
    checkGradients(fam, p, x, rng);
  }
});
