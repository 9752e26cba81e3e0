import assert from "node:assert/strict";
import { test } from "node:test";
import { gatedRnn } from "../src/models/gated-rnn.ts";
import type { GatedRnnConfig } from "../src/models/gated-rnn.ts";
import { getFamily } from "../src/models/registry.ts";
import type { StackConfig } from "../src/models/stack.ts";
import type { Params } from "../src/models/types.ts";
import { assertClose, randn, Rng, runSteps } from "./helpers.ts";
import { checkGradients } from "./gradcheck.ts";

const stack = getFamily("stack");

test("stack: identity embedding and readout around one gated-RNN layer equal the layer itself", () => {
  const rng = Rng.fromSeed(21);
  const cfg: StackConfig = { d_in: 3, width: 3, d_out: 3, layers: 1, layer: "gated-rnn", layer_config: { hidden: 5, output_gating: 4 } };
  const p = stack.init(rng.split(), cfg) as Params<StackConfig>;
  const eye = new Float64Array([1, 0, 0, 0, 1, 0, 0, 0, 1]);
  p.tensors.embed.data.set(eye);
  p.tensors.readout.data.set(eye);
  const layer: Params<GatedRnnConfig> = {
    family: "gated-rnn",
    config: { d_in: 3, hidden: 5, output_gating: 4, d_out: 3 },
    tensors: Object.fromEntries(Object.entries(p.tensors).filter(([n]) => n.startsWith("layers.0.")).map(([n, t]) => [n.slice(9), t])),
  };
  const x = randn(rng, [2, 6, 3]);
  assertClose(stack.forward(p, x).data, gatedRnn.forward(layer, x).data, 1e-15, "stack vs layer");
});

test("stack: two layers, tensor names and shapes follow the layers.<i>. convention, step form equals sequence form", () => {
  const rng = Rng.fromSeed(22);
  const cfg: StackConfig = { d_in: 2, width: 4, d_out: 3, layers: 2, layer: "gated-rnn", layer_config: { hidden: 6, output_gating: 5 } };
  const shapes = stack.shapes(cfg);
  assert.deepEqual(shapes.embed, [4, 2]);
  assert.deepEqual(shapes["layers.1.in_x"], [6, 5]);
  assert.deepEqual(shapes["layers.0.readout"], [4, 5]);
  assert.deepEqual(shapes.readout, [3, 4]);
  const p = stack.init(rng.split(), cfg);
  assert.deepEqual(Object.keys(p.tensors).sort(), Object.keys(shapes).sort());
  const x = randn(rng, [2, 5, 2]);
  assertClose(runSteps(stack, p, x).data, stack.forward(p, x).data, 1e-13, "step vs sequence");
});

test("stack: layer_config may not set the widths, unknown families are named", () => {
  const base: StackConfig = { d_in: 2, width: 4, d_out: 3, layers: 1, layer: "gated-rnn", layer_config: { d_in: 3 } };
  assert.throws(() => stack.shapes(base), /stack.layer_config: "d_in" is set by the stack/);
  assert.throws(() => stack.shapes({ ...base, layer: "transformer", layer_config: {} }), /unknown model family "transformer"/);
  assert.throws(() => stack.shapes({ ...base, layer_config: { hidden: "many" } }), /stack.layer_config \(gated-rnn\).hidden: expected an integer/);
});

test("stack: gradients of a two-layer gated-RNN stack match central finite differences", () => {
  const rng = Rng.fromSeed(23);
  const cfg: StackConfig = { d_in: 2, width: 3, d_out: 2, layers: 2, layer: "gated-rnn", layer_config: { hidden: 4, output_gating: 3 } };
  const p = stack.init(rng.split(), cfg);
  checkGradients(stack, p, randn(rng, [2, 4, 2]), rng);
});
