import assert from "node:assert/strict";
import { test } from "node:test";
import { constructGatedRnn, constructionSize, gatedVariants, upperIndex } from "../src/constructions/gated-rnn.ts";
import type { AttentionWeights } from "../src/constructions/gated-rnn.ts";
import {
  permuteHidden, permuteOutputRows, rescaleGatingRow, swapGatingRows, transformNeuronGroup,
} from "../src/constructions/invariances.ts";
import { attention, attentionConfig } from "../src/models/attention.ts";
import type { AttentionConfig } from "../src/models/attention.ts";
import { gatedRnn } from "../src/models/gated-rnn.ts";
import type { Params } from "../src/models/types.ts";
import { relError } from "../src/tensor.ts";
import { randn, Rng } from "./helpers.ts";
import { naiveAttention, naiveGatedRnn } from "./independent.ts";

function teacher(d: number, seed: number): { att: AttentionWeights; params: Params<AttentionConfig> } {
  const params = attention.init(Rng.fromSeed(seed), attentionConfig({ d }));
  return { att: { d, W_V: params.tensors.W_V.data, W_K: params.tensors.W_K.data, W_Q: params.tensors.W_Q.data }, params };
}

test("constructions: full and compact gated RNNs equal attention to 1e-12 for d = 1..8 (independent evaluations)", () => {
  for (let d = 1; d <= 8; d++) {
    const { att, params } = teacher(d, 100 + d);
    const x = randn(Rng.fromSeed(200 + d), [2, 8, d]);
    const yAtt = naiveAttention(params, x);
    for (const variant of gatedVariants) {
      const rnn = constructGatedRnn(att, variant);
      const size = constructionSize(variant, d);
      assert.equal(rnn.config.hidden, size.hidden);
      assert.equal(rnn.config.output_gating, d * d);
      assert.equal(size.hidden, variant === "full" ? d * d + d : (d * (d + 1)) / 2 + d);
      const eIndependent = relError(naiveGatedRnn(rnn, x), yAtt);
      const eLibrary = relError(gatedRnn.forward(rnn, x).data, attention.forward(params, x).data);
      assert.ok(eIndependent <= 1e-12, `d=${d} ${variant}: independent error ${eIndependent}`);
      assert.ok(eLibrary <= 1e-12, `d=${d} ${variant}: library error ${eLibrary}`);
    }
  }
});

test("constructions: compact works for a singular W_V; paper-compact refuses it unless W_K = W_V", () => {
  const d = 3;
  const { att, params } = teacher(d, 7);
  const WV = Float64Array.from(att.W_V);
  for (let c = 0; c < d; c++) WV[2 * d + c] = WV[0 * d + c] + 2 * WV[1 * d + c]; // rank 2
  const singular = { ...att, W_V: WV };
  const p2: Params<AttentionConfig> = { ...params, tensors: { ...params.tensors, W_V: { shape: [d, d], data: WV } } };
  const x = randn(Rng.fromSeed(8), [2, 6, d]);
  assert.ok(relError(naiveGatedRnn(constructGatedRnn(singular, "compact"), x), naiveAttention(p2, x)) <= 1e-12);
  assert.throws(() => constructGatedRnn(singular, "paper-compact"), /paper-compact needs W_K = W_V or an invertible W_V/);
  const tied = { ...singular, W_K: WV };
  const p3: Params<AttentionConfig> = { ...p2, tensors: { ...p2.tensors, W_K: { shape: [d, d], data: WV } } };
  assert.ok(relError(naiveGatedRnn(constructGatedRnn(tied, "paper-compact"), x), naiveAttention(p3, x)) <= 1e-12);
});

test("constructions: Figure 1 structure (lambda = 1 key-value block, lambda = 0 query block fed by the constant)", () => {
  const d = 3;
  const { att } = teacher(d, 9);
  const p = constructGatedRnn(att, "full");
  const t = p.tensors;
  assert.deepEqual([...t.lambda.data], [...new Array(d * d).fill(1), ...new Array(d).fill(0)]);
  for (let n = 0; n < d * d; n++) assert.equal(t.in_m.data[n * (d + 1) + d], 0, "key-value neurons ignore the constant");
  for (let j = 0; j < d; j++) {
    const row = [...t.in_m.data.slice((d * d + j) * (d + 1), (d * d + j + 1) * (d + 1))];
    assert.deepEqual(row, [0, 0, 0, 1], "query neurons gate by the constant input");
  }
  // memory neuron indices of the compact variant enumerate the upper triangle
  assert.deepEqual([0, 1, 2, 3, 4, 5], [[0, 0], [0, 1], [0, 2], [1, 1], [1, 2], [2, 2]].map(([i, j]) => upperIndex(i, j, 3)));
  assert.equal(upperIndex(2, 1, 3), upperIndex(1, 2, 3));
});

test("invariances (Section 2.2) preserve the function to float64 rounding", () => {
  const d = 3;
  const { att } = teacher(d, 10);
  const rng = Rng.fromSeed(11);
  const x = randn(rng, [2, 7, d]);
  for (const variant of gatedVariants) {
    const p = constructGatedRnn(att, variant);
    const y = gatedRnn.forward(p, x).data;
    const N = p.config.hidden, M = p.config.output_gating;
    const shuffled = (n: number) => {
      const a = Array.from({ length: n }, (_, i) => i);
      for (let i = n - 1; i > 0; i--) { const j = rng.int(i + 1); [a[i], a[j]] = [a[j], a[i]]; }
      return a;
    };
    const queries = Array.from({ length: d }, (_, j) => N - d + j);
    const P = [2, 1, 0, -1, 1, 0.5, 0.3, 0, 1];
    const variants: [string, Params][] = [
      ["permuteHidden", permuteHidden(p, shuffled(N))],
      ["permuteOutputRows", permuteOutputRows(p, shuffled(M))],
      ["swap in rows", swapGatingRows(p, "in", 1)],
      ["swap out rows", swapGatingRows(p, "out", M - 1)],
      ["rescale in row", rescaleGatingRow(p, "in", 0, -3.5)],
      ["rescale out row", rescaleGatingRow(p, "out", 2, 0.125)],
      ["query P", transformNeuronGroup(p, queries, P)],
    ];
    for (const [name, q] of variants) {
      const e = relError(gatedRnn.forward(q as never, x).data, y);
      assert.ok(e <= 1e-13, `${variant} ${name}: ${e}`);
      assert.notDeepEqual([...Object.values(q.tensors).flatMap((t) => [...t.data])], [...Object.values(p.tensors).flatMap((t) => [...t.data])], `${name} changed no weight`);
    }
  }
});

test("invariances: bad arguments are one-line errors", () => {
  const p = constructGatedRnn(teacher(2, 12).att, "compact");
  assert.throws(() => permuteHidden(p, [0, 1]), /permuteHidden: expected a permutation of 0..4/);
  assert.throws(() => rescaleGatingRow(p, "in", 0, 0), /c must be finite and non-zero/);
  assert.throws(() => transformNeuronGroup(p, [3, 4], [1, 1, 1, 1]), /P is singular/);
  assert.throws(() => transformNeuronGroup(p, [0, 4], [1, 0, 0, 1]), /share one lambda/);
});
