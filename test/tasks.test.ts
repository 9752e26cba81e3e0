import assert from "node:assert/strict";
import { test } from "node:test";
import { parseConfig } from "../src/config.ts";
import { inverse } from "../src/linalg.ts";
import { attention } from "../src/models/attention.ts";
import { Rng } from "../src/rng.ts";
import { etaStar, gdLoss, gdLossGrad, gdPredict, optimalGdLoss } from "../src/tasks/closed-forms.ts";
import { iclRegression } from "../src/tasks/icl-regression.ts";
import type { IclRegressionConfig } from "../src/tasks/icl-regression.ts";
import { getTask, taskNames } from "../src/tasks/registry.ts";
import { teacherStudent } from "../src/tasks/teacher-student.ts";
import type { TeacherStudentConfig } from "../src/tasks/teacher-student.ts";
import type { Batch } from "../src/tasks/types.ts";
import { mseLoss } from "../src/train/loss.ts";
import { fromArray } from "../src/tensor.ts";

/** Sample mean and the standard error of the mean. */
function meanSe(v: ArrayLike<number>): { mean: number; se: number } {
  const n = v.length;
  let m = 0;
  for (let i = 0; i < n; i++) m += v[i];
  m /= n;
  let s2 = 0;
  for (let i = 0; i < n; i++) s2 += (v[i] - m) ** 2;
  return { mean: m, se: Math.sqrt(s2 / (n - 1) / n) };
}

/** Asserts |mean(v) - expected| <= k · SE, computed from the samples themselves. */
function assertMean(v: ArrayLike<number>, expected: number, what: string, k = 4): { mean: number; se: number } {
  const r = meanSe(v);
  assert.ok(Math.abs(r.mean - expected) <= k * r.se, `${what}: mean ${r.mean} vs ${expected} (SE ${r.se.toExponential(2)}, |z| = ${(Math.abs(r.mean - expected) / r.se).toFixed(2)})`);
  return r;
}

const squares = (v: ArrayLike<number>) => Float64Array.from(v as ArrayLike<number>, (a) => a * a);

// ---------------------------------------------------------------------------------------------- registry, configs

test("registry: both tasks by name, one-line error listing the known names", () => {
  assert.deepEqual(taskNames(), ["teacher-student", "icl-regression"]);
  assert.equal(getTask("teacher-student"), teacherStudent);
  assert.equal(getTask("icl-regression"), iclRegression);
  assert.throws(() => getTask("nope"), (e: Error) => {
    assert.equal(e.message, 'unknown task "nope" (known: teacher-student, icl-regression)');
    return true;
  });
});

test("configs: the paper's defaults and the dims they imply", () => {
  const ts = parseConfig(teacherStudent.schema, {});
  assert.deepEqual(ts, { d: 4, T: 32 });
  assert.deepEqual(teacherStudent.dims(ts), { dIn: 4, dOut: 4, T: 32 });
  const icl = parseConfig(iclRegression.schema, {});
  assert.deepEqual(icl, { d_x: 3, d_y: 3, T: 12 });
  assert.deepEqual(iclRegression.dims(icl), { dIn: 6, dOut: 3, T: 13 });
  assert.throws(() => parseConfig(iclRegression.schema, { d_x: 0 }), /d_x/);
  assert.throws(() => parseConfig(teacherStudent.schema, { N: 3 }), /unknown key "N"/);
});

// ---------------------------------------------------------------------------------------------------- mseLoss

test("mseLoss: hand-computed value with an unscored position, dy zero there", () => {
  // B = 1, T = 3, dOut = 2, scored = [0, 2]: errors (1, 0) and (-1, -2) -> 1/2 · (1 + 0 + 1 + 4)/4 = 0.75
  const batch: Batch = { x: fromArray([[[0], [0], [0]]]), target: Float64Array.from([0, 2, 1, 1]), scored: [0, 2] };
  const y = Float64Array.from([1, 2, 5, 5, 0, -1]);
  const dy = new Float64Array(6).fill(7);
  assert.equal(mseLoss(y, batch, 2, dy), 0.75);
  assert.deepEqual([...dy], [0.25, 0, 0, 0, -0.25, -0.5]);
});

test("mseLoss: dy equals the central finite-difference gradient", () => {
  const rng = Rng.fromSeed(5);
  const [B, T, dOut] = [2, 4, 3];
  const batch: Batch = { x: { shape: [B, T, 1], data: new Float64Array(B * T) }, target: rng.fillNormal(new Float64Array(B * 2 * dOut)), scored: [1, 3] };
  const y = rng.fillNormal(new Float64Array(B * T * dOut));
  const dy = new Float64Array(y.length);
  mseLoss(y, batch, dOut, dy);
  const h = 1e-6;
  for (let i = 0; i < y.length; i++) {
    const y0 = y[i];
    y[i] = y0 + h;
    const lp = mseLoss(y, batch, dOut);
    y[i] = y0 - h;
    const lm = mseLoss(y, batch, dOut);
    y[i] = y0;
    assert.ok(Math.abs((lp - lm) / (2 * h) - dy[i]) < 1e-9, `dy[${i}] = ${dy[i]} vs ${(lp - lm) / (2 * h)}`);
  }
});

// ---------------------------------------------------------------------------------------------- teacher-student

const tsCfg: TeacherStudentConfig = { d: 4, T: 32 };

test("teacher-student: targets are the teacher's eq. 1 outputs at every step; artifacts are W_V, W_K, W_Q", () => {
  const root = Rng.fromSeed(1);
  const teacher = teacherStudent.setup(root.split(), tsCfg);
  const b = teacherStudent.batch(root.split(), tsCfg, teacher, 5, "f64");
  assert.deepEqual(b.x.shape, [5, 32, 4]);
  assert.deepEqual(b.scored, Array.from({ length: 32 }, (_, t) => t));
  assert.equal(b.target.length, 5 * 32 * 4);
  assert.deepEqual([...b.target], [...attention.forward(teacher, b.x).data]);
  // f32 batches: x stored in f32, targets the f32 rounding of the teacher on those inputs
  const b32 = teacherStudent.batch(root.split(), tsCfg, teacher, 3, "f32");
  assert.ok(b32.x.data instanceof Float32Array && b32.target instanceof Float32Array);
  assert.deepEqual([...b32.target], [...Float32Array.from(attention.forward(teacher, b32.x).data)]);
  const art = teacherStudent.artifacts(teacher, tsCfg);
  assert.deepEqual(Object.keys(art), ["attention.safetensors"]);
  assert.equal(art["attention.safetensors"], teacher);
  assert.equal(teacher.family, "attention");
  assert.deepEqual(Object.keys(teacher.tensors).sort(), ["W_K", "W_Q", "W_V"]);
  for (const t of Object.values(teacher.tensors)) assert.deepEqual(t.shape, [4, 4]);
});

test("teacher-student: x ~ N(0, I) (mean and variance within statistical bounds), also for validation", () => {
  const root = Rng.fromSeed(2);
  const teacher = teacherStudent.setup(root.split(), tsCfg);
  for (const [what, b] of [
    ["train", teacherStudent.batch(root.split(), tsCfg, teacher, 256, "f64")],
    ["validation", teacherStudent.validationBatch(root.split(), tsCfg, teacher, 256, "f64")],
  ] as const) {
    assertMean(b.x.data, 0, `${what} x mean`);
    assertMean(squares(b.x.data), 1, `${what} x second moment`);
    // independence across coordinates: E[x_0 x_1] = 0
    const prod = new Float64Array(b.x.data.length / 4);
    for (let r = 0; r < prod.length; r++) prod[r] = b.x.data[r * 4] * b.x.data[r * 4 + 1];
    assertMean(prod, 0, `${what} E[x_0 x_1]`);
  }
});

test("teacher-student: same seed -> identical teacher and batches, different seed -> different", () => {
  const draw = (seed: number) => {
    const root = Rng.fromSeed(seed);
    const teacher = teacherStudent.setup(root.split(), tsCfg);
    return { teacher, b: teacherStudent.batch(root.split(), tsCfg, teacher, 4, "f64"), v: teacherStudent.validationBatch(root.split(), tsCfg, teacher, 4, "f64") };
  };
  const [a, a2, c] = [draw(7), draw(7), draw(8)];
  assert.deepEqual([...a.teacher.tensors.W_Q.data], [...a2.teacher.tensors.W_Q.data]);
  assert.deepEqual([...a.b.x.data], [...a2.b.x.data]);
  assert.deepEqual([...a.b.target], [...a2.b.target]);
  assert.deepEqual([...a.v.x.data], [...a2.v.x.data]);
  assert.notDeepEqual([...a.teacher.tensors.W_Q.data], [...c.teacher.tensors.W_Q.data]);
  assert.notDeepEqual([...a.b.x.data], [...c.b.x.data]);
  assert.notDeepEqual([...a.b.x.data], [...a.v.x.data]); // validation comes from its own stream
});

test("inputs + targets over any shards of [0, B) is batch() bit for bit, rng state alike (teacher-student, icl-regression)", () => {
  const root = Rng.fromSeed(11);
  const teachers = [
    ["the task's teacher", teacherStudent.setup(root.split(), tsCfg)],
    // not the fast f64 single-head path: eq. 1 through attention.forward on each shard's sequences
    ["2-head teacher", attention.init(root.split(), { d: 4, heads: 2, d_key: 4, d_out: 4 }, "f64")],
    ["f32 teacher", attention.init(root.split(), { d: 4, heads: 1, d_key: 4, d_out: 4 }, "f32")],
  ] as const;
  for (const [what, teacher] of teachers) {
    for (const dtype of ["f32", "f64"] as const) {
      for (const B of [1, 7, 16]) {
        const seed = root.nextU32();
        const r1 = Rng.fromSeed(seed);
        const r2 = Rng.fromSeed(seed);
        const want = teacherStudent.batch(r1, tsCfg, teacher, B, dtype);
        const got = teacherStudent.inputs(r2, tsCfg, teacher, B, dtype);
        assert.deepEqual(r2.state(), r1.state(), `${what} ${dtype} B=${B}: rng state`);
        assert.deepEqual(got.x, want.x);
        assert.deepEqual(got.scored, want.scored);
        assert.equal(got.target.constructor, want.target.constructor);
        assert.ok(got.target.every((v: number) => v === 0), "inputs leave the targets to targets()");
        // shards in reverse order; rows outside [b0, b1) stay untouched
        const cuts = [0, Math.floor(B / 3), Math.floor((2 * B) / 3), B];
        for (let i = cuts.length - 2; i >= 0; i--) {
          const before = got.target.slice();
          teacherStudent.targets(tsCfg, teacher, got.x.data, got.target, cuts[i], cuts[i + 1]);
          const row = tsCfg.T * tsCfg.d;
          for (let j = 0; j < got.target.length; j++) {
            if (j < cuts[i] * row || j >= cuts[i + 1] * row) assert.equal(got.target[j], before[j], `${what}: element ${j} outside the shard`);
          }
        }
        assert.deepEqual(got.target, want.target, `${what} ${dtype} B=${B}: targets`);
      }
    }
  }
  // icl-regression: the targets need each sequence's W*, so inputs() draws them and targets() keeps them
  for (const dtype of ["f32", "f64"] as const) {
    const c = { d_x: 3, d_y: 2, T: 5 };
    const want = iclRegression.batch(Rng.fromSeed(4), c, null, 6, dtype);
    const r = Rng.fromSeed(4);
    const got = iclRegression.inputs(r, c, null, 6, dtype);
    iclRegression.targets(c, null, got.x.data, got.target, 0, 3);
    iclRegression.targets(c, null, got.x.data, got.target, 3, 6);
    assert.deepEqual(got, want, `icl ${dtype}`);
    assert.deepEqual(r.state(), (() => { const r2 = Rng.fromSeed(4); iclRegression.batch(r2, c, null, 6, dtype); return r2.state(); })());
    assert.ok(got.target.some((v: number) => v !== 0));
  }
});

test("teacher-student: teacher entries are N(0, 1/d)", () => {
  for (const d of [4, 16]) {
    const entries: number[] = [];
    const rng = Rng.fromSeed(3 + d);
    for (let i = 0; i < Math.ceil(6000 / (3 * d * d)); i++) {
      const t = teacherStudent.setup(rng.split(), { d, T: 8 });
      for (const n of ["W_V", "W_K", "W_Q"]) entries.push(...t.tensors[n].data);
    }
    assertMean(entries, 0, `d=${d} teacher mean`);
    assertMean(squares(entries), 1 / d, `d=${d} teacher variance`);
  }
});

// ---------------------------------------------------------------------------------------------- icl-regression

const iclCfg: IclRegressionConfig = { d_x: 3, d_y: 3, T: 12 };

/** W* of sequence b recovered from its first d_x observation tokens: W* = Y X⁻¹ with X = [x_0..x_{d_x-1}]. */
function recoverW(b: Batch, c: IclRegressionConfig, seq: number): Float64Array {
  const { d_x: dx, d_y: dy, T } = c;
  const d = dx + dy;
  const X = new Float64Array(dx * dx); // columns x_t
  const Y = new Float64Array(dy * dx);
  for (let t = 0; t < dx; t++) {
    const off = (seq * (T + 1) + t) * d;
    for (let j = 0; j < dx; j++) X[j * dx + t] = b.x.data[off + j];
    for (let i = 0; i < dy; i++) Y[i * dx + t] = b.x.data[off + dx + i];
  }
  const Xi = inverse(X, dx);
  const W = new Float64Array(dy * dx);
  for (let i = 0; i < dy; i++) for (let j = 0; j < dx; j++) for (let k = 0; k < dx; k++) W[i * dx + j] += Y[i * dx + k] * Xi[k * dx + j];
  return W;
}

test("icl-regression: token layout [x_t; W* x_t], query [x_q; 0], only the query scored with target W* x_q", () => {
  const c: IclRegressionConfig = { d_x: 3, d_y: 2, T: 7 };
  const b = iclRegression.batch(Rng.fromSeed(4), c, null, 50, "f64");
  const d = 5;
  assert.deepEqual(b.x.shape, [50, 8, d]);
  assert.deepEqual(b.scored, [7]);
  assert.equal(b.target.length, 50 * 2);
  let worst = 0;
  for (let s = 0; s < 50; s++) {
    const W = recoverW(b, c, s);
    for (let t = 0; t <= 7; t++) {
      const off = (s * 8 + t) * d;
      for (let i = 0; i < 2; i++) {
        let p = 0;
        for (let j = 0; j < 3; j++) p += W[i * 3 + j] * b.x.data[off + j];
        if (t < 7) worst = Math.max(worst, Math.abs(b.x.data[off + 3 + i] - p));
        else {
          assert.equal(b.x.data[off + 3 + i], 0, "the query's y part is exactly 0");
          worst = Math.max(worst, Math.abs(b.target[s * 2 + i] - p));
        }
      }
    }
  }
  assert.ok(worst < 1e-9, `y_t = W* x_t and target = W* x_q up to rounding: worst ${worst}`);
  assert.deepEqual(iclRegression.artifacts(null, c), {});
  // f32 batches hold the same identity to f32 precision
  const b32 = iclRegression.batch(Rng.fromSeed(4), c, null, 4, "f32");
  assert.ok(b32.x.data instanceof Float32Array && b32.target instanceof Float32Array);
  for (let s = 0; s < 4; s++) {
    const W = recoverW(b32, c, s);
    for (let i = 0; i < 2; i++) {
      let p = 0;
      for (let j = 0; j < 3; j++) p += W[i * 3 + j] * b32.x.data[(s * 8 + 7) * d + j];
      assert.ok(Math.abs(b32.target[s * 2 + i] - p) < 1e-5, `f32 target ${s},${i}`);
      assert.equal(b32.x.data[(s * 8 + 7) * d + 3 + i], 0);
    }
  }
});

test("icl-regression: x ~ U(-√3, √3) (bounds, mean 0, variance 1); validation W* has twice the training variance", () => {
  const c = iclCfg;
  const n = 3000;
  const tr = iclRegression.batch(Rng.fromSeed(10), c, null, n, "f64");
  const va = iclRegression.validationBatch(Rng.fromSeed(11), c, null, n, "f64");
  for (const [what, b] of [["train", tr], ["validation", va]] as const) {
    const xs: number[] = [];
    for (let r = 0; r < n * (c.T + 1); r++) for (let j = 0; j < c.d_x; j++) xs.push(b.x.data[r * 6 + j]);
    const r3 = Math.sqrt(3);
    assert.ok(xs.every((v) => v >= -r3 && v <= r3), `${what}: x within [-√3, √3]`);
    assert.ok(Math.min(...xs) < -r3 + 0.01 && Math.max(...xs) > r3 - 0.01, `${what}: x fills [-√3, √3]`);
    assertMean(xs, 0, `${what} x mean`);
    assertMean(squares(xs), 1, `${what} x variance`);
    assertMean(xs.map((v) => v ** 4), 9 / 5, `${what} x fourth moment (uniform)`);
  }
  const wTr: number[] = [];
  const wVa: number[] = [];
  for (let s = 0; s < n; s++) {
    wTr.push(...recoverW(tr, c, s));
    wVa.push(...recoverW(va, c, s));
  }
  assertMean(wTr, 0, "train W* mean");
  const vTr = assertMean(squares(wTr), 1 / 3, "train W* variance 1/d_x");
  const vVa = assertMean(squares(wVa), 2 / 3, "validation W* variance 2/d_x");
  const ratio = vVa.mean / vTr.mean;
  const seRatio = ratio * Math.hypot(vVa.se / vVa.mean, vTr.se / vTr.mean);
  assert.ok(Math.abs(ratio - 2) <= 4 * seRatio, `variance ratio ${ratio} ± ${seRatio}`);
  // W* differs from sequence to sequence
  assert.notDeepEqual(wTr.slice(0, 9), wTr.slice(9, 18));
});

test("icl-regression: deterministic per seed, different seeds differ", () => {
  const a = iclRegression.batch(Rng.fromSeed(3), iclCfg, null, 8, "f64");
  const a2 = iclRegression.batch(Rng.fromSeed(3), iclCfg, null, 8, "f64");
  const c = iclRegression.batch(Rng.fromSeed(4), iclCfg, null, 8, "f64");
  assert.deepEqual([...a.x.data], [...a2.x.data]);
  assert.deepEqual([...a.target], [...a2.target]);
  assert.notDeepEqual([...a.x.data], [...c.x.data]);
});

// ---------------------------------------------------------------------------------------------- closed forms

test("closed forms: eta* = 1/14.8 and L(eta*) = 0.0946 for T = 12, d_x = 3, sigma_W² = 1/3 (CONVENTIONS.md)", () => {
  assert.ok(Math.abs(etaStar(12, 3) - 1 / 14.8) < 1e-15);
  assert.equal(etaStar(12, 3).toFixed(5), "0.06757");
  const L = optimalGdLoss(12, 3, 1 / 3);
  assert.ok(Math.abs(L - (0.5 * (1 / 3) * 3 * 2.8) / 14.8) < 1e-14, `${L}`);
  assert.equal(L.toFixed(5), "0.09459");
  assert.ok(Math.abs(optimalGdLoss(12, 3, 2 / 3) - 2 * L) < 1e-14);
  assert.equal(gdLoss(0, 12, 3, 1 / 3), 0.5); // predicting 0: 1/2 sigma_W² d_x = 1/2 E[y²]
});

test("closed forms: eta* minimises gdLoss (derivative changes sign, equals the finite difference)", () => {
  for (const [T, dx, s2] of [[12, 3, 1 / 3], [5, 7, 2], [1, 1, 1]]) {
    const e = etaStar(T, dx);
    assert.ok(Math.abs(gdLossGrad(e, T, dx, s2)) < 1e-12);
    for (const k of [0.5, 0.9, 0.999]) assert.ok(gdLossGrad(k * e, T, dx, s2) < 0 && gdLoss(k * e, T, dx, s2) > gdLoss(e, T, dx, s2));
    for (const k of [1.001, 1.1, 2]) assert.ok(gdLossGrad(k * e, T, dx, s2) > 0 && gdLoss(k * e, T, dx, s2) > gdLoss(e, T, dx, s2));
    for (const eta of [0, 0.3 * e, 1.7 * e]) {
      const h = 1e-6;
      const fd = (gdLoss(eta + h, T, dx, s2) - gdLoss(eta - h, T, dx, s2)) / (2 * h);
      assert.ok(Math.abs(fd - gdLossGrad(eta, T, dx, s2)) < 1e-6 * Math.max(1, Math.abs(fd)));
    }
  }
});

test("gdPredict: hand example and eq. 4 at the query on a batch", () => {
  // d_x = 1, d_y = 1: tokens [1; 2], [3; 6], query [0.5; 0] -> ŷ_t = eta Σ_{s<t} y_s x_s x_t
  const x = fromArray([[[1, 2], [3, 6], [0.5, 0]]]);
  const p = gdPredict({ x }, 0.1, 1);
  assert.deepEqual(p.shape, [1, 3, 1]);
  const expected = [0, 0.1 * 2 * 1 * 3, 0.1 * (2 + 18) * 0.5];
  for (let t = 0; t < 3; t++) assert.ok(Math.abs(p.data[t] - expected[t]) < 1e-15);
  // on an icl batch: ŷ_q = eta W* (Σ_t x_t x_tᵀ) x_q, d_x inferred from the batch
  const c: IclRegressionConfig = { d_x: 2, d_y: 3, T: 5 };
  const b = iclRegression.batch(Rng.fromSeed(9), c, null, 6, "f64");
  const eta = 0.3;
  const g = gdPredict(b, eta);
  assert.deepEqual(g.shape, [6, 6, 3]);
  for (let s = 0; s < 6; s++) {
    const W = recoverW(b, c, s);
    const xq = [0, 1].map((j) => b.x.data[(s * 6 + 5) * 5 + j]);
    const Cxq = [0, 0];
    for (let t = 0; t < 5; t++) {
      const xt = [0, 1].map((j) => b.x.data[(s * 6 + t) * 5 + j]);
      const dot = xt[0] * xq[0] + xt[1] * xq[1];
      Cxq[0] += xt[0] * dot;
      Cxq[1] += xt[1] * dot;
    }
    for (let i = 0; i < 3; i++) {
      const want = eta * (W[i * 2] * Cxq[0] + W[i * 2 + 1] * Cxq[1]);
      assert.ok(Math.abs(g.data[(s * 6 + 5) * 3 + i] - want) < 1e-10, `seq ${s} output ${i}`);
    }
  }
  assert.deepEqual(gdPredict(b, eta, 2).data, g.data);
  assert.throws(() => gdPredict({ x: b.x }, eta), /pass d_x/);
});

/** Per-sequence losses (CONVENTIONS.md: 1/2 mean over d_y at the query) of the GD predictor at eta on n sequences. */
function gdMonteCarlo(seed: number, n: number, eta: number, validation: boolean): { perSeq: Float64Array; batchLoss: number } {
  const c = iclCfg;
  const rng = Rng.fromSeed(seed);
  const b = validation ? iclRegression.validationBatch(rng, c, null, n, "f64") : iclRegression.batch(rng, c, null, n, "f64");
  const y = gdPredict(b, eta, c.d_x);
  const batchLoss = mseLoss(y.data, b, c.d_y);
  const perSeq = new Float64Array(n);
  for (let s = 0; s < n; s++) {
    let e2 = 0;
    for (let i = 0; i < c.d_y; i++) e2 += (y.data[(s * (c.T + 1) + c.T) * c.d_y + i] - b.target[s * c.d_y + i]) ** 2;
    perSeq[s] = (0.5 * e2) / c.d_y;
  }
  return { perSeq, batchLoss };
}

test("Monte Carlo: one GD step's loss matches gdLoss within 3 SE (eta*, 0.5 eta*, 1.5 eta*; training and validation W*)", () => {
  const { T, d_x } = iclCfg;
  const n = 20000;
  const e = etaStar(T, d_x);
  const cases: [string, number, boolean, number][] = [
    ["train, eta*", e, false, 1 / 3],
    ["validation, eta*", e, true, 2 / 3],
    ["train, 0.5 eta*", 0.5 * e, false, 1 / 3],
    ["validation, 1.5 eta*", 1.5 * e, true, 2 / 3],
  ];
  let seed = 100;
  for (const [what, eta, validation, s2] of cases) {
    const { perSeq, batchLoss } = gdMonteCarlo(seed++, n, eta, validation);
    const r = meanSe(perSeq);
    assert.ok(Math.abs(r.mean - batchLoss) < 1e-12, `${what}: mseLoss equals the mean per-sequence loss`);
    const want = gdLoss(eta, T, d_x, s2);
    assertMean(perSeq, want, what, 3);
    assert.ok(r.se < 0.03 * want, `${what}: the test resolves 3% (SE ${r.se})`);
    if (process.env.TASKS_VERBOSE) console.log(`${what}: MC ${r.mean.toFixed(5)} ± ${r.se.toFixed(5)}, closed form ${want.toFixed(5)}`);
  }
  // eta* does at least as well as its neighbours on the same sequences (common random numbers)
  const at = (eta: number) => meanSe(gdMonteCarlo(200, 5000, eta, false).perSeq).mean;
  assert.ok(at(e) < at(0.8 * e) && at(e) < at(1.2 * e));
});
