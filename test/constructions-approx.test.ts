/**
 * Approximate constructions (App. A: LSTM A.2, LRU A.1, GRU A.3): values only. Each construction's error against
 * exact attention (eq. 1) falls like eps² (x100 per decade over eps = 1e-1, 1e-2, 1e-3) for d = 1..6, is small at
 * its default eps, and has the stated number of units; the two-layer LSTM also matches a gated RNN (eq. 2,
 * independent scalar evaluation) at O(eps²). Error = max|y_rnn - y_ref| / max|y_ref| on x ~ N(0, I), T = 8.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  approximateConstructions, attentionParams, epsSweep, epsSweepAgainst, forwardParams, sweepInput,
} from "../src/constructions/approximate.ts";
import type { EpsRow } from "../src/constructions/approximate.ts";
import { layerByLayerStack } from "./independent.ts";
import { compactConstruction } from "../src/constructions/gated-rnn.ts";
import type { AttentionWeights } from "../src/constructions/gated-rnn.ts";
import { cubeCoefficients, gruAttentionUnits, gruFromAttention } from "../src/constructions/gru.ts";
import { lruFromAttention, lruInOutFromAttention } from "../src/constructions/lru.ts";
import { LSTM2_DEFAULT_EPS, lstmAttentionUnits, lstmFromAttention, lstmFromGatedRnn, lstmGatedRnnSize } from "../src/constructions/lstm.ts";
import { attention, attentionConfig } from "../src/models/attention.ts";
import { gatedRnn } from "../src/models/gated-rnn.ts";
import type { GatedRnnConfig } from "../src/models/gated-rnn.ts";
import { gru } from "../src/models/gru.ts";
import { lstm } from "../src/models/lstm.ts";
import { getFamily } from "../src/models/registry.ts";
import type { Params } from "../src/models/types.ts";
import { maxAbs, relError } from "../src/tensor.ts";
import { Rng, runSteps } from "./helpers.ts";
import { naiveAttention, naiveGatedRnn } from "./independent.ts";

function teacher(d: number, seed = 100): AttentionWeights {
  const p = attention.init(Rng.fromSeed(seed + d), attentionConfig({ d }));
  return { d, W_V: p.tensors.W_V.data, W_K: p.tensors.W_K.data, W_Q: p.tensors.W_Q.data };
}

const fmt = (rows: EpsRow[]): string => rows.map((r) => `${r.eps.toExponential(0)}: ${r.max_rel_error.toExponential(2)}`).join(", ");

/** Errors at the first three eps of the sweep (1e-1, 1e-2, 1e-3 unless said) fall ~100x per decade (ratio in [50, 200]). */
function assertQuadratic(rows: EpsRow[], what: string): void {
  for (let k = 0; k + 1 < 3; k++) {
    const ratio = rows[k].max_rel_error / rows[k + 1].max_rel_error;
    assert.ok(ratio >= 50 && ratio <= 200, `${what}: error ratio ${ratio.toFixed(1)} between eps ${rows[k].eps} and ${rows[k + 1].eps} is not ~100 (${fmt(rows)})`);
  }
}

/** Error bounds at the default eps (measured errors are 3-10x below; rounding-dominated). */
const defaultBound: Record<string, number> = { lstm: 1e-6, "lstm-2": 1e-8, lru: 1e-8, "lru-in-out": 1e-8, gru: 1e-6 };

test("approximate constructions: error O(eps²) over 1e-1..1e-3 and small at the default eps, d = 1..6", () => {
  for (const [name, c] of Object.entries(approximateConstructions)) {
    for (let d = 1; d <= 6; d++) {
      const att = teacher(d);
      const x = sweepInput(d, 7 + d);
      const rows = epsSweep((eps) => c.build(att, eps), att, x, [1e-1, 1e-2, 1e-3, c.defaultEps]);
      assertQuadratic(rows, `${name} d=${d}`);
      assert.ok(rows[3].max_rel_error < defaultBound[name], `${name} d=${d}: error ${rows[3].max_rel_error} at default eps ${c.defaultEps}`);
    }
  }
});

test("approximate constructions: d = 4 at eps = 1e-3 within the notes' error tables", () => {
  // Notes (d = 4, their draw): LSTM 1.8e-5, LRU 3.1e-5, GRU 2.1e-4 (ours, with the readout gain, is ~10x lower).
  const bounds: Record<string, number> = { lstm: 3e-5, "lstm-2": 5e-5, lru: 5e-5, "lru-in-out": 5e-5, gru: 3e-4 };
  const att = teacher(4);
  const x = sweepInput(4, 11);
  for (const [name, c] of Object.entries(approximateConstructions)) {
    const [row] = epsSweep((eps) => c.build(att, eps), att, x, [1e-3]);
    assert.ok(row.max_rel_error < bounds[name], `${name}: ${row.max_rel_error} >= ${bounds[name]}`);
  }
});

test("approximate constructions: unit counts (LSTM 2d(d+1), GRU 4d² + d + 2·C(d+2,3), LRU d² states)", () => {
  const C3 = (n: number) => (n * (n - 1) * (n - 2)) / 6;
  for (let d = 1; d <= 6; d++) {
    const att = teacher(d);
    const l = lstmFromAttention(att, 1e-3);
    assert.equal(l.config.hidden, 2 * d * (d + 1));
    assert.equal(lstmAttentionUnits(d), 2 * d * (d + 1));
    const g = gruFromAttention(att, 1e-3);
    assert.equal(g.config.hidden, 4 * d * d + d + 2 * C3(d + 2));
    assert.equal(gruAttentionUnits(d), g.config.hidden);
    const r = lruFromAttention(att, 1e-3);
    assert.equal(r.config.layers, 2);
    assert.equal(r.config.width, d * d + d);
    assert.equal(r.tensors["layers.1.nu_log"].shape[0], d * d);
    const io = lruInOutFromAttention(att, 1e-3);
    assert.equal(io.config.layers, 1);
    assert.deepEqual(io.tensors["layers.0.W_in_a"].shape, [d * d + d, d * d + 1]);
    // Two-layer LSTM on the compact gated RNN: layer 1 = N + d + 1 (baselines per in_m row e_j, e_const),
    // layer 2 = d² + d (baselines per forget neuron).
    const s = lstmGatedRnnSize(compactConstruction(att));
    assert.equal(s.layer1, (d * (d + 1)) / 2 + d + d + 1);
    assert.equal(s.layer2, d * d + d);
  }
  assert.equal(gruAttentionUnits(4), 108);
  assert.equal(lstmAttentionUnits(4), 40);
});

test("LSTM (Table 4 left): V = 0, f = 1 (b_f = +inf), readout 16/eps³; one-step form and independent attention agree", () => {
  const d = 3;
  const att = teacher(d);
  const eps = 1e-3;
  const p = lstmFromAttention(att, eps);
  for (const q of ["f", "c", "g", "o"]) assert.equal(maxAbs(p.tensors[`V_${q}`].data), 0);
  assert.ok(p.tensors.b_f.data.every((b) => b === Infinity));
  assert.equal(maxAbs(p.tensors.readout.data), 16 / eps ** 3);
  const x = sweepInput(d, 3);
  const y = lstm.forward(p, x);
  assert.ok(relError(runSteps(lstm, p, x).data, y.data) < 1e-12);
  const e = relError(y.data, naiveAttention(attentionParams(att), x));
  assert.ok(e < 6e-5, `error ${e}`); // measured 3.0e-5 (d = 3, this draw)
});

test("two LSTM layers (Table 4 right) ≈ a gated RNN of eq. 2 at O(eps²): compact construction and random weights", () => {
  // Random weights (lambda ~ ring init, near 1) give hidden states ~10x larger, so eps = 1e-1 is outside the
  // linear regime there (e.g. 0.72 at d = 2); their eps² law is checked one decade lower.
  for (const d of [1, 2, 4, 6]) {
    const x = sweepInput(d, 20 + d);
    const random = gatedRnn.init(Rng.fromSeed(30 + d), { d_in: d, hidden: 8, output_gating: 10, d_out: 3 });
    for (const [what, g] of [["compact", compactConstruction(teacher(d))], ["random", random]] as [string, Params<GatedRnnConfig>][]) {
      const eps = what === "compact" ? [1e-1, 1e-2, 1e-3, LSTM2_DEFAULT_EPS] : [1e-2, 1e-3, 1e-4, LSTM2_DEFAULT_EPS];
      const yRef = { shape: [x.shape[0], x.shape[1], g.config.d_out], data: Float64Array.from(naiveGatedRnn(g, x)) };
      const rows = epsSweepAgainst((e) => lstmFromGatedRnn(g, e), yRef, x, eps);
      assertQuadratic(rows, `lstm-2 vs gated RNN (${what}) d=${d}`);
      assert.ok(rows[3].max_rel_error < 1e-8, `lstm-2 vs gated RNN (${what}) d=${d}: ${fmt(rows)}`);
    }
  }
  const bad = gatedRnn.init(Rng.fromSeed(1), { d_in: 2, hidden: 3, output_gating: 2, d_out: 2 });
  bad.tensors.lambda.data[1] = 1.5;
  assert.throws(() => lstmFromGatedRnn(bad, 1e-3), /lambda\[1\] = 1.5 is outside \[0, 1\]/);
});

test("the stack results are valid registry stacks: the registry's stack forward gives the same numbers", () => {
  const att = teacher(3);
  const x = sweepInput(3, 6);
  for (const name of ["lstm-2", "lru", "lru-in-out"]) {
    const p = approximateConstructions[name].build(att, 1e-3);
    assert.equal(p.family, "stack");
    const e = relError(getFamily("stack").forward(p, x).data, layerByLayerStack(p, x));
    assert.ok(e < 1e-12, `${name}: ${e}`);
  }
});

test("LRU: two Out layers and one In+Out layer compute the same numbers", () => {
  for (const d of [2, 5]) {
    const att = teacher(d);
    const x = sweepInput(d, 4);
    for (const eps of [1e-1, 1e-3]) {
      const a = forwardParams(lruFromAttention(att, eps), x).data;
      const b = forwardParams(lruInOutFromAttention(att, eps), x).data;
      assert.ok(relError(a, b) < 1e-10, `d=${d} eps=${eps}: ${relError(a, b)}`);
    }
  }
});

test("GRU: cube basis reproduces v (k·q) exactly; one-step form equals the sequence form", () => {
  for (const d of [1, 3, 6]) {
    const att = teacher(d);
    const { alphas, c } = cubeCoefficients(att);
    assert.equal(alphas.length, ((d + 2) * (d + 1) * d) / 6);
    const rng = Rng.fromSeed(d);
    const x = new Float64Array(d);
    rng.fillNormal(x);
    const lin = (W: ArrayLike<number>, i: number) => { let s = 0; for (let k = 0; k < d; k++) s += W[i * d + k] * x[k]; return s; };
    let kq = 0;
    for (let j = 0; j < d; j++) kq += lin(att.W_K, j) * lin(att.W_Q, j);
    for (let i = 0; i < d; i++) {
      let s = 0;
      alphas.forEach((a, m) => { let u = 0; for (let k = 0; k < d; k++) u += a[k] * x[k]; s += c[i * alphas.length + m] * u ** 3; });
      const want = lin(att.W_V, i) * kq;
      assert.ok(Math.abs(s - want) <= 1e-11 * (1 + Math.abs(want)), `d=${d} i=${i}: ${s} vs ${want}`);
    }
  }
  const att = teacher(3);
  const p = gruFromAttention(att, 1e-2);
  const x = sweepInput(3, 5);
  assert.ok(relError(runSteps(gru, p, x).data, gru.forward(p, x).data) < 1e-12);
});

test("epsSweep: rows {eps, max_abs_error, max_rel_error} with rel = abs / max|y_att|", () => {
  const att = teacher(2);
  const x = sweepInput(2);
  assert.deepEqual(x.shape, [4, 8, 2]);
  const rows = epsSweep((e) => lstmFromAttention(att, e), att, x, [1e-2, 1e-3]);
  const scale = maxAbs(naiveAttention(attentionParams(att), x));
  for (const r of rows) {
    assert.deepEqual(Object.keys(r).sort(), ["eps", "max_abs_error", "max_rel_error"]);
    assert.ok(Math.abs(r.max_rel_error - r.max_abs_error / scale) <= 1e-15 * r.max_rel_error);
  }
  assert.deepEqual(rows.map((r) => r.eps), [1e-2, 1e-3]);
});
