/**
 * The web page's pure logic in Node (no browser): the explorer's computation for every d and variant, the live
 * analysis (neuron roles, counts, orderings, the polynomial distance against src/analysis' implementation), the
 * colour scale, chart ticks, the runs view's parsers and the page's train config.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { instantaneousPolynomials } from "../src/analysis/polynomial.ts";
import { constructGatedRnn } from "../src/constructions/gated-rnn.ts";
import { attention, attentionConfig } from "../src/models/attention.ts";
import type { GatedRnnConfig } from "../src/models/gated-rnn.ts";
import { gatedRnn } from "../src/models/gated-rnn.ts";
import type { Params } from "../src/models/types.ts";
import { Rng } from "../src/rng.ts";
import { parseTrainConfig } from "../src/train/loop.ts";
import {
  attentionPolynomial, gatedWeightsFrom, gatingOrder, hiddenOrder, histogram, linearShare, monomials, neuronRoles, polynomialDistance, rnnPolynomial, roleCounts, subNetwork,
} from "../web/analysis.ts";
import { NEGATIVE, POSITIVE, valueColor, ZERO } from "../web/colors.ts";
import { evaluateExplorer, formatMatrix, hiddenLabels, parseMatrix, parseSequence } from "../web/explorer.ts";
import { figureToChart, tickLabel, ticks } from "../web/plot.ts";
import { DEFAULT_SETTINGS, trainConfigFor } from "../web/protocol.ts";
import { defaultRun, figureFiles, flatten, parseMetrics, tableJsonFiles } from "../web/runs.ts";
import { fmt } from "../web/heatmap.ts";
import type { ListedRun } from "../src/serve/server.ts";

const att = (d: number, seed: number) => {
  const p = attention.init(Rng.fromSeed(seed), attentionConfig({ d }), "f64");
  return { p, w: { d, W_V: p.tensors.W_V.data, W_K: p.tensors.W_K.data, W_Q: p.tensors.W_Q.data } };
};

describe("explorer", () => {
  test("every d in 1..8 and every variant: the construction matches attention to float64 rounding", () => {
    for (let d = 1; d <= 8; d++) {
      for (const variant of ["full", "compact", "paper-compact"] as const) {
        const r = evaluateExplorer({ d, variant, seed: d, typedWeights: null, T: 12, seqSeed: 7, typedSequence: null });
        assert.ok(r.maxRelError < 1e-12, `d=${d} ${variant}: ${r.maxRelError}`);
        assert.ok(r.polyDistance < 1e-12, `d=${d} ${variant}: poly ${r.polyDistance}`);
        assert.equal(r.stepErrors.length, 12);
        assert.equal(hiddenLabels(variant, d).length, (r.rnn.config as GatedRnnConfig).hidden);
      }
    }
  });

  test("typed weights and sequences: parsed, checked, and a wrong count is a one-line error", () => {
    const I = "1 0\n0 1";
    const r = evaluateExplorer({ d: 2, variant: "full", seed: 0, typedWeights: { W_V: I, W_K: I, W_Q: "2, 0, 0, 2" }, T: 0, seqSeed: 0, typedSequence: "1 0\n0 1\n1 1" });
    // y_t = (sum_s x_s x_sᵀ) 2 x_t; t = 3: S = [[2,1],[1,2]], x = [1,1] -> 2 S x = [6, 6]
    assert.deepEqual(Array.from(r.yAtt.slice(4)), [6, 6]);
    assert.ok(r.maxRelError < 1e-15);
    assert.throws(() => parseMatrix("1 2 3", 2, "W_V"), /^Error: W_V: expected 2×2 = 4 numbers, got 3$/);
    assert.throws(() => parseMatrix("1 2 x 4", 2, "W_K"), /^Error: W_K: "x" is not a number$/);
    assert.throws(() => parseSequence("1 2 3", 2), /^Error: sequence: expected tokens of d = 2 numbers, got 3 numbers$/);
    assert.deepEqual(parseMatrix(formatMatrix([1.23456, -2, 0, 4], 2, 2), 2, "W"), [1.235, -2, 0, 4]);
  });

  test("paper-compact refuses a singular W_V with its message", () => {
    const Z = "0 0\n0 0";
    assert.throws(() => evaluateExplorer({ d: 2, variant: "paper-compact", seed: 0, typedWeights: { W_V: Z, W_K: "1 0\n0 1", W_Q: "1 0\n0 1" }, T: 3, seqSeed: 0, typedSequence: null }), /invertible W_V/);
  });
});

describe("live analysis (web/analysis.ts)", () => {
  test("the polynomial of the one-step map matches the model and attention on random points", () => {
    const { p, w } = att(3, 5);
    const rnn = constructGatedRnn(w, "full");
    const g = gatedWeightsFrom(rnn.tensors);
    const { list } = monomials(3);
    const cr = rnnPolynomial(g);
    const ca = attentionPolynomial(w);
    const rng = Rng.fromSeed(9);
    for (let k = 0; k < 5; k++) {
      const x = rng.fillNormal(new Float64Array(3));
      const evalPoly = (c: Float64Array) => list.reduce((s, m, i) => s + c[i] * m.reduce((q, v) => q * x[v], 1), 0);
      const yr = gatedRnn.forward(rnn, { shape: [1, 1, 3], data: x }).data;
      const ya = attention.forward(p, { shape: [1, 1, 3], data: x }).data;
      for (let o = 0; o < 3; o++) {
        assert.ok(Math.abs(evalPoly(cr[o]) - yr[o]) < 1e-12, `rnn o=${o}`);
        assert.ok(Math.abs(evalPoly(ca[o]) - ya[o]) < 1e-12, `att o=${o}`);
      }
    }
  });

  test("polynomial distance agrees with src/analysis on a random (untrained) gated RNN", () => {
    const { p, w } = att(4, 2);
    const rnn = gatedRnn.init(Rng.fromSeed(4), { d_in: 4, hidden: 20, output_gating: 12, d_out: 4 }, "f64") as Params<GatedRnnConfig>;
    const mine = polynomialDistance(gatedWeightsFrom(rnn.tensors), w);
    const theirs = instantaneousPolynomials(rnn, p).distance;
    assert.ok(Math.abs(mine - theirs) <= 1e-9 * Math.max(1, theirs), `${mine} vs ${theirs}`);
    assert.ok(mine > 0.1);
  });

  test("construction neurons: memory neurons have λ = 1 and a quadratic input, query neurons λ = 0 and a linear one", () => {
    const { w } = att(4, 1);
    for (const variant of ["full", "compact"] as const) {
      const g = gatedWeightsFrom(constructGatedRnn(w, variant).tensors);
      const roles = neuronRoles(g);
      const mem = variant === "full" ? 16 : 10;
      for (let n = 0; n < g.N; n++) {
        if (n < mem) assert.ok(roles.lambda[n] === 1 && roles.linear[n] < 1e-12, `${variant} memory ${n}`);
        else assert.ok(roles.lambda[n] === 0 && Math.abs(roles.linear[n] - 1) < 1e-12, `${variant} query ${n}`);
      }
      assert.deepEqual(roleCounts(g.lambda), { memory: mem, forget: 4, other: 0 });
      assert.deepEqual(hiddenOrder(g), Array.from({ length: g.N }, (_, i) => i));
    }
  });

  test("linear share, histogram, orderings and sub-networks", () => {
    const g = { d: 1, N: 3, M: 2, dOut: 1, in_x: [1, 0, 0, 2, 0, 0], in_m: [1, 0, 0, 3, 0, 0], lambda: [0.2, 0.9, 0.5], out_x: [0, 1, 0, 1, 0, 0], out_m: [1, 0, 0, 0, 0, 1], readout: [1, 2] };
    assert.equal(linearShare(g, 0), 0);
    assert.equal(linearShare(g, 2), 0.5);
    assert.deepEqual(histogram([0, 0.04, 0.5, 1, 1.2, NaN], 4), [2, 0, 1, 2]);
    const order = hiddenOrder(g);
    assert.deepEqual(order, [1, 2, 0]);
    assert.deepEqual(gatingOrder(g, order), [1, 0]);
    const s = subNetwork(g, [2, 0], [1]);
    assert.deepEqual([s.N, s.M, Array.from(s.lambda), Array.from(s.out_m), Array.from(s.readout)], [2, 1, [0.5, 0.2], [1, 0], [2]]);
  });
});

describe("colours, charts, runs view, train config", () => {
  test("heatmap colours: grey zero, blue positive, red negative", () => {
    assert.deepEqual(valueColor(0, 1), ZERO);
    assert.deepEqual(valueColor(5, 1), POSITIVE);
    assert.deepEqual(valueColor(-1, 1), NEGATIVE);
    const half = valueColor(0.5, 1);
    assert.ok(half[2] > half[0], "positive leans blue");
    assert.deepEqual(valueColor(1, 0), ZERO);
  });

  test("ticks: decades on log axes, 1-2-5 steps on linear ones", () => {
    assert.deepEqual(ticks(1e-3, 10, true), [1e-3, 1e-2, 1e-1, 1, 10]);
    assert.deepEqual(ticks(0, 1, false), [0, 0.2, 0.4, 0.6, 0.8, 1]);
    assert.deepEqual(ticks(0, 20000, false), [0, 5000, 10000, 15000, 20000]);
    assert.equal(tickLabel(1e-5, true), "1e-5");
    assert.equal(tickLabel(0.01, true), "0.01");
    assert.equal(tickLabel(15000, false), "15k");
    assert.throws(() => figureToChart({ x: {}, y: {}, series: [{ name: "a", x: [1, 2], y: [1] }] }), /equal length/);
  });

  test("runs view: metrics lines (a partial last line is skipped) and flattened JSON", () => {
    assert.deepEqual(parseMetrics('{"step":1,"loss":2}\n\n{"step":2,"loss":1}\n{"step":3,"lo'), [{ step: 1, loss: 2 }, { step: 2, loss: 1 }]);
    assert.deepEqual(flatten({ a: 1.23456789, b: { c: "x", d: [1, 2] }, e: new Array(20).fill(0) }), [["a", "1.235"], ["b.c", "x"], ["b.d", "1, 2"], ["e", "[20 items]"]]);
  });

  test("numbers in the page: integers as they are, other numbers to 4 significant digits or in exponent notation", () => {
    assert.deepEqual([12345, 20000, 21504, 100, -3, 0, 1e15].map(fmt), ["12345", "20000", "21504", "100", "-3", "0", "1.00e+15"]);
    assert.deepEqual([0.85341234, 1.23456789, 3.295, 106.51, 4.97e-8, 12345.6, -2.5e-4, NaN].map(fmt), ["0.8534", "1.235", "3.295", "106.5", "4.97e-8", "1.23e+4", "-2.50e-4", "NaN"]);
    assert.deepEqual(flatten({ seed: 12345, steps: 20000, params: 21504, lr: 0.003 }), [["seed", "12345"], ["steps", "20000"], ["params", "21504"], ["lr", "0.003"]]);
  });

  test("runs view: a reproduction shows its figures once (SVG over its PNG twin), no Vega-Lite specs as tables; opens on a reproduction", () => {
    const file = (name: string) => ({ name, size: 10 });
    const repro: ListedRun = { path: "out/table1", kind: "reproduction", mtime_ms: 0, files: ["figures/a.png", "figures/a.svg", "figures/a.vl.json", "figures/b.png", "loss.figure.json", "plan.json", "report.html", "results.csv", "results.json", "summary.json"].map(file) };
    assert.deepEqual(figureFiles(repro), ["figures/a.svg", "figures/b.png"]);
    assert.deepEqual(tableJsonFiles(repro), ["summary.json"]);
    const run: ListedRun = { path: "out/runs/x", kind: "run", mtime_ms: 0, files: [file("config.json")] };
    const sweep: ListedRun = { path: "", kind: "sweep", mtime_ms: 0, files: [file("plan.json")] };
    assert.equal(defaultRun([sweep, run, repro]), repro);
    assert.equal(defaultRun([sweep, run]), run);
    assert.equal(defaultRun([sweep]), sweep);
    assert.equal(defaultRun([]), undefined);
  });

  test("the page's train config is a valid teacher-student config with the paper's student", () => {
    const cfg = parseTrainConfig(trainConfigFor(DEFAULT_SETTINGS));
    assert.equal(cfg.task, "teacher-student");
    assert.deepEqual(cfg.task_config, { d: 4, T: 32 });
    assert.equal(cfg.model_config.hidden, 100);
    assert.equal(cfg.model_config.output_gating, 100);
    assert.equal(cfg.backend, "fast");
  });
});
