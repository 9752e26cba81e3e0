import assert from "node:assert/strict";
import { test } from "node:test";
import { attention, attentionConfig } from "../src/models/attention.ts";
import type { AttentionConfig } from "../src/models/attention.ts";
import type { Params } from "../src/models/types.ts";
import { fromArray } from "../src/tensor.ts";
import { assertClose, randn, Rng, runSteps } from "./helpers.ts";
import { naiveAttention } from "./independent.ts";
import { checkGradients } from "./gradcheck.ts";

test("attention: d = 1 closed form y_t = W_V W_K W_Q x_t sum_{s<=t} x_s²", () => {
  const p: Params<AttentionConfig> = {
    family: "attention",
    config: attentionConfig({ d: 1 }),
    tensors: { W_V: fromArray([[2]]), W_K: fromArray([[3]]), W_Q: fromArray([[-0.5]]) },
  };
  const y = attention.forward(p, fromArray([[[1], [2], [-1]]]));
  // -3 x_t · cumsum(x²): cumsum = 1, 5, 6
  assert.deepEqual([...y.data], [-3 * 1 * 1, -3 * 2 * 5, -3 * -1 * 6]);
});

test("attention: hand-set d = 2 example (identity value and key, swapped query)", () => {
  // W_V = W_K = I, W_Q = [[0,1],[1,0]]: y_t = (sum_s x_s x_sᵀ) [x_t,2; x_t,1]
  const p: Params<AttentionConfig> = {
    family: "attention",
    config: attentionConfig({ d: 2 }),
    tensors: { W_V: fromArray([[1, 0], [0, 1]]), W_K: fromArray([[1, 0], [0, 1]]), W_Q: fromArray([[0, 1], [1, 0]]) },
  };
  const y = attention.forward(p, fromArray([[[1, 0], [1, 1]]]));
  // t=0: S = [[1,0],[0,0]], q = [0,1] -> y = [0, 0]. t=1: S = [[2,1],[1,1]], q = [1,1] -> y = [3, 2]
  assert.deepEqual([...y.data], [0, 0, 3, 2]);
});

test("attention: forward equals an independent evaluation of eq. 1, one and several heads", () => {
  for (const cfg of [attentionConfig({ d: 4 }), attentionConfig({ d: 3, heads: 3, d_key: 2, d_out: 5 })]) {
    const rng = Rng.fromSeed(11);
    const p = attention.init(rng.split(), cfg);
    const x = randn(rng, [3, 6, cfg.d]);
    assertClose(attention.forward(p, x).data, naiveAttention(p, x), 1e-13, `heads=${cfg.heads}`);
  }
});

test("attention: the recurrent one-step form equals the sequence form", () => {
  const cfg = attentionConfig({ d: 3, heads: 2, d_key: 4 });
  const rng = Rng.fromSeed(12);
  const p = attention.init(rng.split(), cfg);
  const x = randn(rng, [2, 8, 3]);
  assertClose(runSteps(attention, p, x).data, attention.forward(p, x).data, 1e-13, "step vs sequence");
});

test("attention: multi-head output is the sum of the single heads", () => {
  const rng = Rng.fromSeed(13);
  const p = attention.init(rng.split(), attentionConfig({ d: 3, heads: 2 }));
  const x = randn(rng, [1, 5, 3]);
  const head = (h: number): Params<AttentionConfig> => ({
    family: "attention",
    config: attentionConfig({ d: 3 }),
    tensors: Object.fromEntries(["W_V", "W_K", "W_Q"].map((n) => [n, { shape: [3, 3], data: p.tensors[n].data.slice(h * 9, h * 9 + 9) }])),
  });
  const y0 = attention.forward(head(0), x).data;
  const y1 = attention.forward(head(1), x).data;
  assertClose(attention.forward(p, x).data, y0.map((v, i) => v + y1[i]), 1e-14, "sum of heads");
});

test("attention: teacher init has entries with variance 1/d", () => {
  const p = attention.init(Rng.fromSeed(14), attentionConfig({ d: 64 }));
  const w = p.tensors.W_V.data;
  let s2 = 0;
  for (const v of w) s2 += v * v;
  const variance = s2 / w.length;
  // 4096 draws: standard error of the variance estimate ≈ sqrt(2/4096)/64
  assert.ok(Math.abs(variance - 1 / 64) < 4 * Math.sqrt(2 / 4096) / 64, `variance ${variance}`);
});

test("attention: gradients match central finite differences in float64, one and several heads", () => {
  for (const cfg of [attentionConfig({ d: 3 }), attentionConfig({ d: 3, heads: 2, d_key: 2, d_out: 4 })]) {
    const rng = Rng.fromSeed(15);
    const p = attention.init(rng.split(), cfg);
    checkGradients(attention, p, randn(rng, [2, 5, 3]), rng);
  }
});
