/**
 * LSTM (App. A.2, eqs. 10-15) and GRU (App. A.3, eqs. 16-19): hand-worked values, closed forms with saturated
 * gates (±inf biases), one-step == sequence form, an independent scalar loop, float32 vs float64, shape errors.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ref32, ref64 } from "../src/kernels/reference.ts";
import type { Kernels } from "../src/kernels/types.ts";
import { gru } from "../src/models/gru.ts";
import type { GruConfig } from "../src/models/gru.ts";
import { lstm } from "../src/models/lstm.ts";
import type { LstmConfig } from "../src/models/lstm.ts";
import type { ModelFamily, Params } from "../src/models/types.ts";
import { Rng } from "../src/rng.ts";
import type { Tensor } from "../src/tensor.ts";
import { cloneTensor, fromArray, maxAbsDiff, relError } from "../src/tensor.ts";
import type { Float } from "../src/tensor.ts";
import { checkGradients } from "./gradcheck.ts";

const sig = (z: number): number => 1 / (1 + Math.exp(-z));

/** Params from plain nested arrays (float64). */
function params<C>(family: string, config: C, t: Record<string, unknown>): Params<C> {
  const tensors: Record<string, Tensor> = {};
  for (const [name, v] of Object.entries(t)) tensors[name] = fromArray(v);
  return { family, config, tensors };
}

/** Random x [B, T, d] ~ N(0, 1). */
function randomX(rng: Rng, B: number, T: number, d: number): Tensor {
  const data = new Float64Array(B * T * d);
  rng.fillNormal(data);
  return { shape: [B, T, d], data };
}

/** Row t of every batch element of x [B, T, d] as a step input [B, d]. */
function stepInput(x: Tensor, t: number): Tensor {
  const [B, T, d] = x.shape;
  const data = new Float64Array(B * d);
  for (let b = 0; b < B; b++) data.set(x.data.subarray((b * T + t) * d, (b * T + t + 1) * d), b * d);
  return { shape: [B, d], data };
}

/** Randomised biases (init sets them to constants), so every term of the equations is exercised. */
function randomiseBiases(p: Params, rng: Rng, std = 0.5): void {
  for (const [name, t] of Object.entries(p.tensors)) if (name.startsWith("b_")) rng.fillNormal(t.data, std);
}

// ---- independent scalar references (plain JS numbers, no kernels) ----

/** W [n, m] row-major times v [m]. */
function matvec(W: ArrayLike<number>, v: number[], n: number, m: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < m; j++) s += W[i * m + j] * v[j];
    out.push(s);
  }
  return out;
}

/** Naive LSTM over one sequence xs[t] (eqs. 10-15); returns y_t and the states of every step. */
function naiveLstm(p: Params<LstmConfig>, xs: number[][]): { y: number[][]; h: number[][]; c: number[][] } {
  const { d_in: D, hidden: N, d_out: O } = p.config;
  const T = p.tensors;
  let h = new Array<number>(N).fill(0);
  let c = new Array<number>(N).fill(0);
  const ys: number[][] = [];
  const hs: number[][] = [];
  const cs: number[][] = [];
  const pre = (q: string, x: number[], hp: number[]): number[] => {
    const u = matvec(T[`U_${q}`].data, x, N, D);
    const w = matvec(T[`V_${q}`].data, hp, N, N);
    return u.map((ui, i) => ui + w[i] + T[`b_${q}`].data[i]);
  };
  for (const x of xs) {
    const f = pre("f", x, h).map(sig);
    const ct = pre("c", x, h).map(Math.tanh);
    const g = pre("g", x, h).map(sig);
    const o = pre("o", x, h).map(sig);
    c = c.map((ci, i) => f[i] * ci + g[i] * ct[i]);
    h = c.map((ci, i) => o[i] * Math.tanh(ci));
    ys.push(matvec(T.readout.data, h, O, N));
    hs.push(h);
    cs.push(c);
  }
  return { y: ys, h: hs, c: cs };
}

/** Naive GRU over one sequence xs[t] (eqs. 16-19); returns y_t and h_t of every step. */
function naiveGru(p: Params<GruConfig>, xs: number[][], h0?: number[]): { y: number[][]; h: number[][]; hTilde: number[][] } {
  const { d_in: D, hidden: N, d_out: O } = p.config;
  const T = p.tensors;
  let h = h0 ? [...h0] : new Array<number>(N).fill(0);
  const ys: number[][] = [];
  const hs: number[][] = [];
  const hts: number[][] = [];
  const pre = (q: string, x: number[], hp: number[]): number[] => {
    const u = matvec(T[`U_${q}`].data, x, N, D);
    const w = matvec(T[`V_${q}`].data, hp, N, N);
    return u.map((ui, i) => ui + w[i] + T[`b_${q}`].data[i]);
  };
  for (const x of xs) {
    const r = pre("r", x, h).map(sig);
    const z = pre("z", x, h).map(sig);
    const rh = h.map((hi, i) => r[i] * hi);
    const ht = pre("h", x, rh).map(Math.tanh);
    h = h.map((hi, i) => (1 - z[i]) * hi + z[i] * ht[i]);
    ys.push(matvec(T.readout.data, h, O, N));
    hs.push(h);
    hts.push(ht);
  }
  return { y: ys, h: hs, hTilde: hts };
}

/** Sequence b of x [B, T, d] as number[][]. */
function seqOf(x: Tensor, b: number): number[][] {
  const [, T, d] = x.shape;
  const out: number[][] = [];
  for (let t = 0; t < T; t++) out.push(Array.from(x.data.subarray((b * T + t) * d, (b * T + t + 1) * d)));
  return out;
}

/** y [B, T, d_out] from per-sequence naive outputs. */
function flatY(ys: number[][][]): number[] {
  return ys.flat(2);
}

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what: string): void {
  const d = maxAbsDiff(actual, expected);
  assert.ok(d <= tol, `${what}: max |diff| = ${d} > ${tol}`);
}

// ---- LSTM ----

describe("lstm (App. A.2, eqs. 10-15)", () => {
  it("shapes and init follow CONVENTIONS.md (b_f = 1, other biases 0)", () => {
    const c = { d_in: 3, hidden: 5, d_out: 2 };
    const p = lstm.init(Rng.fromSeed(1), c);
    const shapes = lstm.shapes(c);
    assert.deepEqual(Object.keys(shapes).sort(), [
      "U_c", "U_f", "U_g", "U_o", "V_c", "V_f", "V_g", "V_o", "b_c", "b_f", "b_g", "b_o", "readout",
    ]);
    assert.deepEqual(shapes.U_g, [5, 3]);
    assert.deepEqual(shapes.V_o, [5, 5]);
    assert.deepEqual(shapes.readout, [2, 5]);
    for (const [name, s] of Object.entries(shapes)) assert.deepEqual(p.tensors[name].shape, s, name);
    assert.deepEqual(Array.from(p.tensors.b_f.data), [1, 1, 1, 1, 1]);
    for (const q of ["c", "g", "o"]) assert.deepEqual(Array.from(p.tensors[`b_${q}`].data), [0, 0, 0, 0, 0]);
    assert.deepEqual(lstm.dims(c), { dIn: 3, dOut: 2 });
  });

  it("hand-worked values: d_in = 2, N = 1, V = 0, 3 steps, readout [2, 1]", () => {
    // U_q x = u_q1 x1 + u_q2 x2; with V = 0 every gate depends on x_t only.
    const p = params<LstmConfig>("lstm", { d_in: 2, hidden: 1, d_out: 2 }, {
      U_f: [[0.5, -0.25]], U_c: [[1.5, 0.5]], U_g: [[-0.75, 1.0]], U_o: [[0.2, 0.3]],
      V_f: [[0]], V_c: [[0]], V_g: [[0]], V_o: [[0]],
      b_f: [0.1], b_c: [-0.2], b_g: [0.3], b_o: [-0.4],
      readout: [[2], [-1]],
    });
    const x = fromArray([[[0.3, -0.6], [-0.7, 0.2], [1.2, 0.9]]]);
    // step 1: x = (0.3, -0.6); c_0 = 0 so f_1 does not matter.
    const ct1 = Math.tanh(1.5 * 0.3 + 0.5 * -0.6 - 0.2);
    const g1 = sig(-0.75 * 0.3 + 1.0 * -0.6 + 0.3);
    const o1 = sig(0.2 * 0.3 + 0.3 * -0.6 - 0.4);
    const c1 = g1 * ct1;
    const h1 = o1 * Math.tanh(c1);
    // step 2: x = (-0.7, 0.2)
    const f2 = sig(0.5 * -0.7 - 0.25 * 0.2 + 0.1);
    const ct2 = Math.tanh(1.5 * -0.7 + 0.5 * 0.2 - 0.2);
    const g2 = sig(-0.75 * -0.7 + 1.0 * 0.2 + 0.3);
    const o2 = sig(0.2 * -0.7 + 0.3 * 0.2 - 0.4);
    const c2 = f2 * c1 + g2 * ct2;
    const h2 = o2 * Math.tanh(c2);
    // step 3: x = (1.2, 0.9)
    const f3 = sig(0.5 * 1.2 - 0.25 * 0.9 + 0.1);
    const ct3 = Math.tanh(1.5 * 1.2 + 0.5 * 0.9 - 0.2);
    const g3 = sig(-0.75 * 1.2 + 1.0 * 0.9 + 0.3);
    const o3 = sig(0.2 * 1.2 + 0.3 * 0.9 - 0.4);
    const c3 = f3 * c2 + g3 * ct3;
    const h3 = o3 * Math.tanh(c3);
    const expected = [2 * h1, -h1, 2 * h2, -h2, 2 * h3, -h3];
    const y = lstm.forward(p, x);
    assert.deepEqual(y.shape, [1, 3, 2]);
    assertClose(y.data, expected, 1e-12, "lstm hand values");
    // and the one-step form exposes c_t, h_t themselves
    let s = lstm.initState(p, 1);
    const cs = [c1, c2, c3];
    const hs = [h1, h2, h3];
    for (let t = 0; t < 3; t++) {
      s = lstm.step(p, s, stepInput(x, t)).state;
      assertClose(s.c, [cs[t]], 1e-12, `c_${t + 1}`);
      assertClose(s.h, [hs[t]], 1e-12, `h_${t + 1}`);
    }
  });

  it("hand-worked values with recurrence: d_in = 1, N = 1, V ≠ 0, 2 steps", () => {
    const p = params<LstmConfig>("lstm", { d_in: 1, hidden: 1, d_out: 1 }, {
      U_f: [[0.4]], U_c: [[0.9]], U_g: [[0.6]], U_o: [[-0.5]],
      V_f: [[0.7]], V_c: [[-1.1]], V_g: [[0.8]], V_o: [[1.3]],
      b_f: [0], b_c: [0.05], b_g: [-0.1], b_o: [0.2],
      readout: [[1.5]],
    });
    const x = fromArray([[[0.8], [-1.4]]]);
    const c1 = sig(0.6 * 0.8 - 0.1) * Math.tanh(0.9 * 0.8 + 0.05);
    const h1 = sig(-0.5 * 0.8 + 0.2) * Math.tanh(c1);
    const f2 = sig(0.4 * -1.4 + 0.7 * h1);
    const ct2 = Math.tanh(0.9 * -1.4 - 1.1 * h1 + 0.05);
    const g2 = sig(0.6 * -1.4 + 0.8 * h1 - 0.1);
    const o2 = sig(-0.5 * -1.4 + 1.3 * h1 + 0.2);
    const c2 = f2 * c1 + g2 * ct2;
    const h2 = o2 * Math.tanh(c2);
    assertClose(lstm.forward(p, x).data, [1.5 * h1, 1.5 * h2], 1e-12, "lstm recurrent hand values");
  });

  it("b_f = +inf (f = 1) with V = 0 accumulates exactly: c_t = sum_s g_s ⊙ c̃_s, h_t = o_t ⊙ tanh(c_t)", () => {
    const D = 2, N = 3, T = 6;
    const rng = Rng.fromSeed(7);
    const eps = 1e-3;
    const p = lstm.init(rng.split(), { d_in: D, hidden: N, d_out: N });
    for (const q of ["f", "c", "g", "o"]) {
      p.tensors[`V_${q}`].data.fill(0);
      const U = p.tensors[`U_${q}`].data;
      for (let i = 0; i < U.length; i++) U[i] *= eps; // tiny weights: the small-weight regime of App. A.2
    }
    p.tensors.b_f.data.fill(Infinity);
    p.tensors.b_c.data.fill(0);
    p.tensors.b_g.data.fill(0);
    p.tensors.b_o.data.fill(0);
    // readout = I so y_t = h_t
    p.tensors.readout.data.fill(0);
    for (let i = 0; i < N; i++) p.tensors.readout.data[i * N + i] = 1;
    p.tensors.U_f.data.fill(-5); // irrelevant: +inf bias saturates f whatever U_f x is
    const x = randomX(rng.split(), 1, T, D);
    const Ux = (q: string, t: number, i: number): number => {
      let s = 0;
      for (let j = 0; j < D; j++) s += p.tensors[`U_${q}`].data[i * D + j] * x.data[t * D + j];
      return s;
    };
    const y = lstm.forward(p, x);
    let s = lstm.initState(p, 1);
    for (let t = 0; t < T; t++) {
      s = lstm.step(p, s, stepInput(x, t)).state;
      for (let i = 0; i < N; i++) {
        let c = 0;
        let approx = 0;
        for (let r = 0; r <= t; r++) {
          c += sig(Ux("g", r, i)) * Math.tanh(Ux("c", r, i));
          // small-weight expansion: σ(a) ≈ 1/2 + a/4, tanh(a) ≈ a, error O(eps³) per term
          approx += (0.5 + Ux("g", r, i) / 4) * Ux("c", r, i);
        }
        const h = sig(Ux("o", t, i)) * Math.tanh(c);
        assert.ok(Math.abs(s.c[i] - c) <= 1e-15, `c[${t},${i}] = ${s.c[i]} vs ${c}`);
        assert.ok(Math.abs(s.h[i] - h) <= 1e-15, `h[${t},${i}]`);
        assert.ok(Math.abs(y.data[t * N + i] - h) <= 1e-15, `y[${t},${i}]`);
        assert.ok(Math.abs(c - approx) <= 10 * (t + 1) * eps ** 3, `linearisation c[${t},${i}]: ${c} vs ${approx}`);
      }
    }
  });

  it("b_f = +inf, b_o = -inf: finite everywhere, f = 1 keeps c, o = 0 silences y", () => {
    const rng = Rng.fromSeed(11);
    const p = lstm.init(rng.split(), { d_in: 2, hidden: 4, d_out: 3 });
    p.tensors.b_f.data.fill(Infinity);
    p.tensors.b_o.data.fill(-Infinity);
    const x = randomX(rng.split(), 2, 5, 2);
    const y = lstm.forward(p, x);
    assert.ok(y.data.every((v) => v === 0), "o = σ(-inf) = 0 gives y = 0 exactly");
    let s = lstm.initState(p, 2);
    for (let t = 0; t < 5; t++) {
      s = lstm.step(p, s, stepInput(x, t)).state;
      assert.ok(s.c.every(Number.isFinite), "c finite");
      assert.ok(s.h.every((v) => v === 0), "h = 0");
    }
  });

  it("one-step form == sequence form (B = 3, T = 7, float64)", () => {
    const rng = Rng.fromSeed(3);
    const p = lstm.init(rng.split(), { d_in: 3, hidden: 6, d_out: 2 });
    randomiseBiases(p, rng.split());
    const x = randomX(rng.split(), 3, 7, 3);
    const y = lstm.forward(p, x);
    let s = lstm.initState(p, 3);
    for (let t = 0; t < 7; t++) {
      const before = { h: Float64Array.from(s.h), c: Float64Array.from(s.c) };
      const r = lstm.step(p, s, stepInput(x, t));
      assert.deepEqual(Array.from(s.h), Array.from(before.h), "step must not mutate its state");
      assert.deepEqual(Array.from(s.c), Array.from(before.c), "step must not mutate its state");
      assert.deepEqual(r.y.shape, [3, 2]);
      for (let b = 0; b < 3; b++) {
        for (let o = 0; o < 2; o++) {
          const d = Math.abs(r.y.data[b * 2 + o] - y.data[(b * 7 + t) * 2 + o]);
          assert.ok(d <= 1e-12, `y[${b},${t},${o}] differs by ${d}`);
        }
      }
      s = r.state;
    }
  });

  it("sequence form == an independent scalar loop (random weights and biases)", () => {
    const rng = Rng.fromSeed(5);
    const p = lstm.init(rng.split(), { d_in: 3, hidden: 5, d_out: 4 });
    randomiseBiases(p, rng.split());
    const x = randomX(rng.split(), 3, 7, 3);
    const y = lstm.forward(p, x);
    const expected = flatY([0, 1, 2].map((b) => naiveLstm(p, seqOf(x, b)).y));
    assertClose(y.data, expected, 1e-12, "lstm vs naive");
  });

  it("float32 (reference f32) agrees with float64 within 1e-5 relative", () => {
    const c = { d_in: 4, hidden: 16, d_out: 3 };
    const p32 = lstm.init(Rng.fromSeed(9), c, "f32");
    randomiseBiases(p32, Rng.fromSeed(10));
    assert.ok(p32.tensors.U_f.data instanceof Float32Array);
    const p64: Params<LstmConfig> = { ...p32, tensors: Object.fromEntries(Object.entries(p32.tensors).map(([n, t]) => [n, cloneTensor(t, "f64")])) };
    const x = randomX(Rng.fromSeed(12), 2, 12, 4);
    const y32 = lstm.forward(p32, x, ref32);
    const y64 = lstm.forward(p64, x, ref64);
    assert.ok(y32.data instanceof Float32Array);
    const e = relError(y32.data, y64.data);
    assert.ok(e <= 1e-5, `relative error ${e}`);
    // the default backend of f32 params is reference-f32, and the one-step form agrees too
    assert.ok(relError(lstm.forward(p32, x).data, y64.data) <= 1e-5);
    const s = lstm.step(p32, lstm.initState(p32, 2), stepInput(x, 0));
    assert.ok(s.state.h instanceof Float32Array);
  });

  it("bad input shapes give the one-line errors of seqDims / stepDims", () => {
    const p = lstm.init(Rng.fromSeed(1), { d_in: 2, hidden: 3, d_out: 1 });
    assert.throws(() => lstm.forward(p, { shape: [3, 2], data: new Float64Array(6) }), {
      message: "lstm: input must have shape [B, T, 2], got [3, 2]",
    });
    assert.throws(() => lstm.forward(p, { shape: [1, 2, 3], data: new Float64Array(6) }), {
      message: "lstm: input must have shape [B, T, 2], got [1, 2, 3]",
    });
    assert.throws(() => lstm.step(p, lstm.initState(p, 1), { shape: [1, 3], data: new Float64Array(3) }), {
      message: "lstm: step input must have shape [B, 2], got [1, 3]",
    });
  });
});

// ---- GRU ----

describe("gru (App. A.3, eqs. 16-19)", () => {
  it("shapes and init follow CONVENTIONS.md (biases 0)", () => {
    const c = { d_in: 3, hidden: 4, d_out: 2 };
    const p = gru.init(Rng.fromSeed(1), c);
    const shapes = gru.shapes(c);
    assert.deepEqual(Object.keys(shapes).sort(), ["U_h", "U_r", "U_z", "V_h", "V_r", "V_z", "b_h", "b_r", "b_z", "readout"]);
    assert.deepEqual(shapes.U_z, [4, 3]);
    assert.deepEqual(shapes.V_h, [4, 4]);
    assert.deepEqual(shapes.readout, [2, 4]);
    for (const [name, s] of Object.entries(shapes)) assert.deepEqual(p.tensors[name].shape, s, name);
    for (const q of ["r", "z", "h"]) assert.deepEqual(Array.from(p.tensors[`b_${q}`].data), [0, 0, 0, 0]);
  });

  it("hand-worked values: d_in = 1, N = 1, V ≠ 0, 3 steps", () => {
    const p = params<GruConfig>("gru", { d_in: 1, hidden: 1, d_out: 1 }, {
      U_r: [[0.7]], U_z: [[-0.4]], U_h: [[1.2]],
      V_r: [[0.5]], V_z: [[0.9]], V_h: [[-0.8]],
      b_r: [0.1], b_z: [0.2], b_h: [-0.3],
      readout: [[-2]],
    });
    const x = fromArray([[[0.5], [-1.0], [2.0]]]);
    // step 1: h_0 = 0, so r_1 has no effect and h_1 = z_1 h̃_1
    const z1 = sig(-0.4 * 0.5 + 0.2);
    const ht1 = Math.tanh(1.2 * 0.5 - 0.3);
    const h1 = z1 * ht1;
    // step 2
    const r2 = sig(0.7 * -1.0 + 0.5 * h1 + 0.1);
    const ht2 = Math.tanh(1.2 * -1.0 - 0.8 * (r2 * h1) - 0.3);
    const z2 = sig(-0.4 * -1.0 + 0.9 * h1 + 0.2);
    const h2 = (1 - z2) * h1 + z2 * ht2;
    // step 3
    const r3 = sig(0.7 * 2.0 + 0.5 * h2 + 0.1);
    const ht3 = Math.tanh(1.2 * 2.0 - 0.8 * (r3 * h2) - 0.3);
    const z3 = sig(-0.4 * 2.0 + 0.9 * h2 + 0.2);
    const h3 = (1 - z3) * h2 + z3 * ht3;
    assertClose(gru.forward(p, x).data, [-2 * h1, -2 * h2, -2 * h3], 1e-12, "gru hand values");
    let s = gru.initState(p, 1);
    const hs = [h1, h2, h3];
    for (let t = 0; t < 3; t++) {
      s = gru.step(p, s, stepInput(x, t)).state;
      assertClose(s.h, [hs[t]], 1e-12, `h_${t + 1}`);
    }
  });

  it("hand-worked values: d_in = 2, N = 2, V = 0 (orientation of U and readout)", () => {
    const p = params<GruConfig>("gru", { d_in: 2, hidden: 2, d_out: 1 }, {
      U_r: [[0, 0], [0, 0]], U_z: [[1, 0], [0, -1]], U_h: [[0.5, 2], [-1, 0.25]],
      V_r: [[0, 0], [0, 0]], V_z: [[0, 0], [0, 0]], V_h: [[0, 0], [0, 0]],
      b_r: [0, 0], b_z: [0, 0.5], b_h: [0.1, 0],
      readout: [[1, 3]],
    });
    const x = fromArray([[[0.2, -0.4], [0.6, 0.1]]]);
    // neuron 1: z = σ(x1), h̃ = tanh(0.5 x1 + 2 x2 + 0.1); neuron 2: z = σ(-x2 + 0.5), h̃ = tanh(-x1 + 0.25 x2)
    const a1 = sig(0.2) * Math.tanh(0.5 * 0.2 + 2 * -0.4 + 0.1);
    const b1 = sig(0.4 + 0.5) * Math.tanh(-0.2 + 0.25 * -0.4);
    const za2 = sig(0.6);
    const zb2 = sig(-0.1 + 0.5);
    const a2 = (1 - za2) * a1 + za2 * Math.tanh(0.5 * 0.6 + 2 * 0.1 + 0.1);
    const b2 = (1 - zb2) * b1 + zb2 * Math.tanh(-0.6 + 0.25 * 0.1);
    assertClose(gru.forward(p, x).data, [a1 + 3 * b1, a2 + 3 * b2], 1e-12, "gru 2x2 hand values");
  });

  it("b_z = +inf (z = 1): h_t = h̃_t = tanh(U_h x_t + V_h (r_t ⊙ h_{t-1}) + b_h)", () => {
    const rng = Rng.fromSeed(21);
    const p = gru.init(rng.split(), { d_in: 2, hidden: 4, d_out: 4 });
    randomiseBiases(p, rng.split());
    p.tensors.b_z.data.fill(Infinity);
    p.tensors.readout.data.fill(0);
    for (let i = 0; i < 4; i++) p.tensors.readout.data[i * 4 + i] = 1;
    const x = randomX(rng.split(), 1, 6, 2);
    const naive = naiveGru(p, seqOf(x, 0));
    const y = gru.forward(p, x);
    let s = gru.initState(p, 1);
    for (let t = 0; t < 6; t++) {
      s = gru.step(p, s, stepInput(x, t)).state;
      // the candidate of step t, computed independently from the model's own h_{t-1}
      assertClose(s.h, naive.hTilde[t], 1e-12, `h_${t} vs h̃_${t}`);
      assertClose(naive.h[t], naive.hTilde[t], 0, "reference: z = 1 gives h = h̃ exactly");
      assertClose(y.data.subarray(t * 4, (t + 1) * 4), naive.hTilde[t], 1e-12, `y_${t}`);
    }
  });

  it("b_z = -inf (z = 0): the state never changes (exactly), from zero and from a nonzero state", () => {
    const rng = Rng.fromSeed(22);
    const p = gru.init(rng.split(), { d_in: 3, hidden: 5, d_out: 2 });
    randomiseBiases(p, rng.split());
    p.tensors.b_z.data.fill(-Infinity);
    const x = randomX(rng.split(), 2, 8, 3);
    assert.ok(gru.forward(p, x).data.every((v) => v === 0), "h stays 0, so y = 0");
    let s = gru.initState(p, 2);
    rng.fillNormal(s.h);
    const h0 = Array.from(s.h);
    for (let t = 0; t < 8; t++) {
      s = gru.step(p, s, stepInput(x, t)).state;
      assert.deepEqual(Array.from(s.h), h0, `h changed at step ${t}`);
    }
  });

  it("one-step form == sequence form (B = 3, T = 7, float64)", () => {
    const rng = Rng.fromSeed(23);
    const p = gru.init(rng.split(), { d_in: 3, hidden: 6, d_out: 2 });
    randomiseBiases(p, rng.split());
    const x = randomX(rng.split(), 3, 7, 3);
    const y = gru.forward(p, x);
    let s = gru.initState(p, 3);
    for (let t = 0; t < 7; t++) {
      const before = Float64Array.from(s.h);
      const r = gru.step(p, s, stepInput(x, t));
      assert.deepEqual(Array.from(s.h), Array.from(before), "step must not mutate its state");
      for (let b = 0; b < 3; b++) {
        for (let o = 0; o < 2; o++) {
          const d = Math.abs(r.y.data[b * 2 + o] - y.data[(b * 7 + t) * 2 + o]);
          assert.ok(d <= 1e-12, `y[${b},${t},${o}] differs by ${d}`);
        }
      }
      s = r.state;
    }
  });

  it("sequence form == an independent scalar loop (random weights and biases)", () => {
    const rng = Rng.fromSeed(24);
    const p = gru.init(rng.split(), { d_in: 3, hidden: 5, d_out: 4 });
    randomiseBiases(p, rng.split());
    const x = randomX(rng.split(), 3, 7, 3);
    const y = gru.forward(p, x);
    const expected = flatY([0, 1, 2].map((b) => naiveGru(p, seqOf(x, b)).y));
    assertClose(y.data, expected, 1e-12, "gru vs naive");
  });

  it("float32 (reference f32) agrees with float64 within 1e-5 relative", () => {
    const c = { d_in: 4, hidden: 16, d_out: 3 };
    const p32 = gru.init(Rng.fromSeed(25), c, "f32");
    randomiseBiases(p32, Rng.fromSeed(26));
    const p64: Params<GruConfig> = { ...p32, tensors: Object.fromEntries(Object.entries(p32.tensors).map(([n, t]) => [n, cloneTensor(t, "f64")])) };
    const x = randomX(Rng.fromSeed(27), 2, 12, 4);
    const y32 = gru.forward(p32, x, ref32);
    const y64 = gru.forward(p64, x, ref64);
    assert.ok(y32.data instanceof Float32Array);
    const e = relError(y32.data, y64.data);
    assert.ok(e <= 1e-5, `relative error ${e}`);
  });

  it("bad input shapes give the one-line errors of seqDims / stepDims", () => {
    const p = gru.init(Rng.fromSeed(1), { d_in: 2, hidden: 3, d_out: 1 });
    assert.throws(() => gru.forward(p, { shape: [2, 4], data: new Float64Array(8) }), {
      message: "gru: input must have shape [B, T, 2], got [2, 4]",
    });
    assert.throws(() => gru.step(p, gru.initState(p, 2), { shape: [2, 2, 2], data: new Float64Array(8) }), {
      message: "gru: step input must have shape [B, 2], got [2, 2, 2]",
    });
  });
});

// ---- backward (backpropagation through time) ----

/** Every entry of every sampled tensor (the instances are small). */
const ALL = 1 << 20;
const small = { d_in: 3, hidden: 4, d_out: 2 };

/** The same params with every tensor converted to `dtype`. */
function withDtype<C>(p: Params<C>, dtype: "f32" | "f64"): Params<C> {
  return { ...p, tensors: Object.fromEntries(Object.entries(p.tensors).map(([n, t]) => [n, cloneTensor(t, dtype)])) };
}

/** ||a - b|| / ||b|| (Euclidean, the whole tensor). */
function normRel(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d2 = 0;
  let n2 = 0;
  for (let i = 0; i < b.length; i++) {
    d2 += (a[i] - b[i]) ** 2;
    n2 += b[i] ** 2;
  }
  return n2 === 0 ? Math.sqrt(d2) : Math.sqrt(d2 / n2);
}

/** forwardCached + backward on backend k with dL/dy = w; the buffers are copied out before the release. */
function gradsOf(fam: ModelFamily, p: Params, x: Tensor, w: Float, k: Kernels): { y: number[]; grads: Record<string, number[]>; dx: number[] } {
  const mark = k.mark();
  try {
    const { y, cache } = fam.forwardCached!(p, x, k);
    const dy = k.alloc(w.length);
    dy.set(w);
    const g = fam.backward!(p, cache, dy, k);
    const grads = Object.fromEntries(Object.entries(g.grads).map(([n, a]) => [n, Array.from(a)]));
    return { y: Array.from(y), grads, dx: Array.from(g.dx) };
  } finally {
    k.release(mark);
  }
}

for (const fam of [lstm, gru] as ModelFamily[]) {
  describe(`${fam.name} backward (BPTT, llm.c style)`, () => {
    it("forwardCached gives the forward's y exactly (one shared core), batch-major", () => {
      const rng = Rng.fromSeed(40);
      const p = fam.init(rng.split(), { d_in: 3, hidden: 5, d_out: 2 });
      randomiseBiases(p, rng.split());
      const x = randomX(rng.split(), 3, 6, 3);
      const { y } = fam.forwardCached!(p, x, ref64);
      assert.equal(y.length, 3 * 6 * 2);
      assert.deepEqual(Array.from(y), Array.from(fam.forward(p, x).data));
    });

    it("finite differences, float64, as initialised (B = 2, T = 5, d_in = 3, N = 4, d_out = 2)", (t) => {
      const rng = Rng.fromSeed(41);
      const p = fam.init(rng.split(), small);
      const x = randomX(rng.split(), 2, 5, 3);
      const worst = checkGradients(fam, p, x, rng, 1e-6, ALL);
      t.diagnostic(`worst relative error ${worst.toExponential(2)}`);
    });

    it("finite differences, float64, non-zero biases and a stronger recurrence V", (t) => {
      const rng = Rng.fromSeed(42);
      const p = fam.init(rng.split(), small);
      randomiseBiases(p, rng.split(), 0.8);
      for (const [name, tensor] of Object.entries(p.tensors)) {
        if (name.startsWith("V_")) for (let i = 0; i < tensor.data.length; i++) tensor.data[i] *= 2;
      }
      const x = randomX(rng.split(), 2, 5, 3);
      const worst = checkGradients(fam, p, x, rng, 1e-6, ALL);
      t.diagnostic(`worst relative error ${worst.toExponential(2)}`);
    });

    it("float32 reference gradients agree with float64 within 1e-4 (normwise per tensor)", (t) => {
      const rng = Rng.fromSeed(43);
      const p32 = withDtype(fam.init(rng.split(), { d_in: 4, hidden: 16, d_out: 3 }), "f32");
      randomiseBiases(p32, rng.split());
      assert.ok(Object.values(p32.tensors).every((t) => t.data instanceof Float32Array));
      const p64 = withDtype(p32, "f64"); // the same values in float64
      const x = randomX(rng.split(), 2, 12, 4);
      const w = new Float64Array(2 * 12 * 3);
      rng.fillNormal(w);
      const g32 = gradsOf(fam, p32, x, w, ref32);
      const g64 = gradsOf(fam, p64, x, w, ref64);
      let worst = normRel(g32.y, g64.y);
      assert.ok(worst <= 1e-5, `y: ${worst}`);
      for (const name of Object.keys(p64.tensors)) {
        const e = normRel(g32.grads[name], g64.grads[name]);
        worst = Math.max(worst, e);
        assert.ok(e <= 1e-4, `d/d${name}: float32 vs float64 relative error ${e.toExponential(3)}`);
      }
      const e = normRel(g32.dx, g64.dx);
      assert.ok(e <= 1e-4, `d/dx: float32 vs float64 relative error ${e.toExponential(3)}`);
      t.diagnostic(`worst float32 vs float64 relative error ${Math.max(worst, e).toExponential(2)}`);
    });

    it("±inf biases: gradients finite everywhere, exactly 0 for the infinite entries, finite differences pass", (t) => {
      const rng = Rng.fromSeed(44);
      const p = fam.init(rng.split(), small);
      randomiseBiases(p, rng.split());
      const inf: [string, number, number][] =
        fam.name === "lstm"
          ? [["b_f", 0, Infinity], ["b_f", 1, Infinity], ["b_f", 2, Infinity], ["b_f", 3, Infinity], ["b_o", 0, -Infinity], ["b_g", 1, -Infinity], ["b_c", 2, Infinity], ["b_g", 3, Infinity]]
          : [["b_z", 0, Infinity], ["b_z", 1, -Infinity], ["b_r", 2, -Infinity], ["b_h", 3, Infinity], ["b_r", 0, Infinity], ["b_h", 1, -Infinity]];
      for (const [name, i, val] of inf) p.tensors[name].data[i] = val;
      const x = randomX(rng.split(), 2, 5, 3);
      const w = new Float64Array(2 * 5 * 2);
      rng.fillNormal(w);
      for (const [k, dt] of [[ref64, "f64"], [ref32, "f32"]] as const) {
        const g = gradsOf(fam, withDtype(p, dt), x, w, k);
        assert.ok(g.y.every(Number.isFinite), `${k.name}: y finite`);
        for (const [name, a] of Object.entries(g.grads)) assert.ok(a.every(Number.isFinite), `${k.name}: d/d${name} finite`);
        assert.ok(g.dx.every(Number.isFinite), `${k.name}: d/dx finite`);
        for (const [name, i] of inf) assert.equal(g.grads[name][i], 0, `${k.name}: d/d${name}[${i}] (infinite bias) must be 0`);
      }
      const worst = checkGradients(fam, p, x, rng, 1e-6, ALL); // the finite entries still match (infinite ones skipped)
      t.diagnostic(`worst relative error ${worst.toExponential(2)}`);
    });
  });
}
