import assert from "node:assert/strict";
import { after, test } from "node:test";
import type { FastKernels } from "../src/kernels/fast.ts";
import { kernelsFor, kernelsForRun, trainingKernels } from "../src/kernels/factory.ts";
import { ref32, ref64 } from "../src/kernels/reference.ts";
import type { Kernels } from "../src/kernels/types.ts";
import { getFamily } from "../src/models/registry.ts";
import { Rng } from "../src/rng.ts";
import { teacherStudent } from "../src/tasks/teacher-student.ts";
import { mseLoss, shardLoss } from "../src/train/loss.ts";
import type { Float } from "../src/tensor.ts";
import type { Trainer } from "../src/train/loop.ts";
import { closeTrainer, createTrainer, parseTrainConfig, resolveModel, trainStep, trainStepOn } from "../src/train/loop.ts";
import { spinWhile } from "../src/train/pool.ts";
import { shardBounds, shardCount, threadShards } from "../src/train/shards.ts";

const open: Trainer[] = [];
after(() => open.forEach(closeTrainer));
const trainer = (raw: Record<string, unknown>, k: Kernels = kernelsFor("f32")): Trainer => {
  const tr = createTrainer(parseTrainConfig(raw), k);
  open.push(tr);
  return tr;
};
const tiny = (model: string, extra: Record<string, unknown> = {}) => ({
  task: "teacher-student", task_config: { d: 2, T: 8 }, model,
  model_config: model === "gated-rnn" ? { hidden: 8, output_gating: 8 } : { hidden: 8 }, steps: 100, batch: 16, seed: 5, val_size: 16, ...extra,
});
/** Runs n steps, returns the losses and a copy of the trained parameters. */
const run = (tr: Trainer, n: number, step: (tr: Trainer) => { loss: number } = trainStep) => {
  const losses: number[] = [];
  for (let i = 0; i < n; i++) losses.push(step(tr).loss);
  return { losses, params: Object.fromEntries(Object.entries(tr.trainable).map(([k, v]) => [k, Array.from(v)])) };
};
/** The old path: the task's full batch (targets included) from the trainer's data stream, then trainStepOn. */
const fullBatchStep = (tr: Trainer) => trainStepOn(tr, tr.task.batch(tr.dataRng, tr.cfg.task_config, tr.setup, tr.cfg.batch, tr.cfg.dtype));
/** Asserts two runs' losses are the same doubles and their parameters the same floats. */
const assertSameRun = (a: ReturnType<typeof run>, b: ReturnType<typeof run>, what: string) => {
  assert.ok(a.losses.every((l, i) => Object.is(l, b.losses[i])), `${what}: losses differ`);
  assert.deepEqual(a.params, b.params, `${what}: parameters differ`);
};

test("shards: fixed count for 1 and 2 threads, contiguous bounds covering the batch, threads take shards in order", () => {
  assert.equal(shardCount(1, 64), 2);
  assert.equal(shardCount(2, 64), 2);
  assert.equal(shardCount(4, 64), 4);
  assert.equal(shardCount(2, 1), 1);
  // cache-sized: the paper's teacher-student gated RNN (T = 32, 5 + 300 + 300 floats per row) -> 4.7 MiB -> 8 shards
  const row = 32 * (5 + 3 * 100 + 3 * 100) * 4;
  assert.equal(shardCount(1, 64, row), 8);
  assert.equal(shardCount(2, 64, row), 8);
  assert.equal(shardCount(16, 64, row), 16);
  assert.equal(shardCount(1, 4, row), 2); // 1.2 MiB over 4 sequences: 2 shards
  assert.equal(shardCount(1, 64, 13 * (5 + 480) * 4), 2); // in-context regression 80/80: 1.5 MiB -> the default 2
  assert.equal(shardCount(1, 3, 1 << 30), 3); // never more shards than sequences
  for (const [B, S] of [[64, 2], [15, 2], [7, 4], [1, 1]]) {
    let next = 0;
    for (let s = 0; s < S; s++) {
      const [b0, b1] = shardBounds(B, S, s);
      assert.equal(b0, next);
      assert.ok(b1 - b0 >= Math.floor(B / S) && b1 - b0 <= Math.ceil(B / S));
      next = b1;
    }
    assert.equal(next, B);
  }
  assert.deepEqual([0, 1].map((t) => threadShards(2, 2, t)), [[0, 1], [1, 2]]);
  assert.deepEqual(threadShards(2, 1, 0), [0, 2]);
});

test("shardLoss: the shards' squared-error sums give mseLoss and its dL/dy, for all and for query-only scoring", () => {
  const rng = Rng.fromSeed(1);
  for (const scored of [[0, 1, 2, 3, 4], [4]]) {
    const B = 5, T = 5, dOut = 3, S = scored.length;
    const y = rng.fillNormal(new Float64Array(B * T * dOut));
    const batch = { x: { shape: [B, T, 2], data: new Float64Array(B * T * 2) }, target: rng.fillNormal(new Float64Array(B * S * dOut)), scored };
    const want = new Float64Array(y.length);
    const loss = mseLoss(y, batch, dOut, want);
    const n = B * S * dOut;
    let sse = 0;
    const dy = new Float64Array(y.length);
    for (let s = 0; s < 2; s++) {
      const [b0, b1] = shardBounds(B, 2, s);
      sse += shardLoss(y.subarray(b0 * T * dOut, b1 * T * dOut), batch.target.subarray(b0 * S * dOut, b1 * S * dOut), scored, b1 - b0, T, dOut, n, dy.subarray(b0 * T * dOut, b1 * T * dOut));
    }
    assert.ok(Math.abs((0.5 * sse) / n - loss) <= 1e-15 * loss);
    assert.deepEqual(dy, want);
  }
});

test("training at 1 and 2 threads is identical bit for bit (gated RNN, LSTM on an odd batch)", () => {
  for (const [model, extra] of [["gated-rnn", {}], ["lstm", { batch: 15 }]] as const) {
    const one = trainer({ ...tiny(model, extra), threads: 1 });
    const two = trainer({ ...tiny(model, extra), threads: 2 });
    assert.equal(one.engine.threads, 1);
    assert.equal(two.engine.threads, 2, two.engine.note);
    assert.equal(one.engine.shards, two.engine.shards);
    assert.equal(one.engine.kernels, two.engine.kernels);
    const a = run(one, 25);
    const b = run(two, 25);
    assert.ok(a.losses.every((l, i) => Object.is(l, b.losses[i])), `${model}: losses differ`);
    assert.deepEqual(a.params, b.params, `${model}: parameters differ`);
    const mean = (xs: number[]) => xs.reduce((u, v) => u + v, 0) / xs.length;
    assert.ok(mean(a.losses.slice(-5)) < mean(a.losses.slice(0, 5)), `${model}: the loss decreases`);
  }
});

test("per-shard targets: trainStep (targets on the shards' threads) is trainStepOn with full batches bit for bit, 1 and 2 threads", () => {
  for (const [model, extra] of [["gated-rnn", {}], ["lstm", { batch: 15 }]] as const) {
    const runs = [1, 2].map((threads) => {
      const own = trainer({ ...tiny(model, extra), threads });
      const full = trainer({ ...tiny(model, extra), threads });
      assert.equal(own.engine.threads, threads, own.engine.note);
      const a = run(own, 20);
      const b = run(full, 20, fullBatchStep);
      assertSameRun(a, b, `${model}, ${threads} thread(s)`);
      assert.deepEqual(own.dataRng.state(), full.dataRng.state(), "the same data stream");
      return a;
    });
    assertSameRun(runs[0], runs[1], `${model}: 1 vs 2 threads`);
  }
  // the float32 reference backend too (its target buffer rounds as f32 batches do)
  const a = run(trainer({ ...tiny("gru"), backend: "reference" }, ref32), 5);
  const b = run(trainer({ ...tiny("gru"), backend: "reference" }, ref32), 5, fullBatchStep);
  assertSameRun(a, b, "gru on ref32");
});

test("one data path: every shard's targets come from the task's targets step, on its thread; icl-regression's come with its inputs", () => {
  const copy = (g: Record<string, Float>) => Object.fromEntries(Object.entries(g).map(([k, v]) => [k, Array.from(v)]));
  // teacher-student: Task.inputs' zero targets are filled per shard as Task.batch's are
  const a = trainer({ ...tiny("gated-rnn"), threads: 2 });
  const b = trainer({ ...tiny("gated-rnn"), threads: 2 });
  const args = [a.cfg.task_config, a.setup, a.cfg.batch, a.cfg.dtype] as const;
  const ra = a.engine.step(a.task.inputs(Rng.fromSeed(77), ...args));
  const ga = copy(ra.grads);
  const rb = b.engine.step(b.task.batch(Rng.fromSeed(77), ...args));
  assert.ok(Number.isFinite(ra.sse) && Object.is(ra.sse, rb.sse), `${ra.sse} vs ${rb.sse}`);
  assert.deepEqual(ga, copy(rb.grads));
  // icl-regression: 1 and 2 threads, trainStep and full batches, the same bits
  const icl = { task: "icl-regression", task_config: { d_x: 2, d_y: 2, T: 4 }, model: "gated-rnn", model_config: { hidden: 8, output_gating: 8 }, batch: 8, val_size: 8 };
  const one = run(trainer({ ...icl, threads: 1 }), 5);
  const two = trainer({ ...icl, threads: 2 });
  assert.equal(two.engine.threads, 2, two.engine.note);
  assertSameRun(one, run(two, 5), "icl-regression 1 vs 2 threads");
  assertSameRun(one, run(trainer(icl), 5, fullBatchStep), "icl-regression trainStep vs full batches");
  // f32 batches on float64 kernels: the targets round to f32 as the batch's do
  const mixed = run(trainer({ ...tiny("gated-rnn"), backend: "reference" }, ref64), 3);
  assertSameRun(mixed, run(trainer({ ...tiny("gated-rnn"), backend: "reference" }, ref64), 3, fullBatchStep), "f32 batches on ref64");
});

test("spinWhile: returns the new value at once, the old one when the budget or stop() ends the spin", () => {
  const a = new Int32Array(new SharedArrayBuffer(8));
  a[1] = 5;
  assert.equal(spinWhile(a, 1, 4, 1000), 5, "differs already");
  assert.equal(spinWhile(a, 1, 5, 1000, true), 5, "equal already (until)");
  assert.equal(spinWhile(a, 1, 5, 0.2), 5, "no change within the budget");
  assert.equal(spinWhile(a, 1, 6, 0.2, true), 5, "never equal within the budget");
  assert.equal(spinWhile(a, 1, 5, 60_000, false, () => true), 5, "stop() ends the spin");
});

test("fast-kernel training follows the float32 reference kernels over 100 steps", () => {
  for (const model of ["gated-rnn", "lru"]) {
    const fast = trainer(tiny(model));
    const ref = trainer({ ...tiny(model), backend: "reference" }, ref32);
    const a = run(fast, 100);
    const b = run(ref, 100);
    for (let i = 0; i < 100; i++) assert.ok(Math.abs(a.losses[i] - b.losses[i]) <= 1e-5 * b.losses[i], `${model} step ${i + 1}: ${a.losses[i]} vs ${b.losses[i]}`);
    for (const [name, p] of Object.entries(a.params)) {
      const q = b.params[name];
      for (let i = 0; i < p.length; i++) assert.ok(Math.abs(p[i] - q[i]) <= 1e-5 * Math.max(1, Math.abs(q[i])), `${model} ${name}[${i}]: ${p[i]} vs ${q[i]}`);
    }
    assert.ok(a.losses[99] < 0.5 * a.losses[0], `${model}: trains`);
  }
});

test("fast float32 gradients match the float64 reference for every trainable family within 1e-3", () => {
  const fast = trainingKernels(kernelsFor("f32"), 1).k; // the build training runs on
  const rng = Rng.fromSeed(9);
  const cases: [string, Record<string, unknown>][] = [
    ["gated-rnn", { model_config: { hidden: 12, output_gating: 10 } }],
    ["gated-rnn-dense", { model_config: { hidden: 6, output_gating: 5 } }],
    ["attention", {}],
    ["lru", { model_config: { hidden: 7 } }],
    ["lru-in-out", { model_config: { hidden: 7, width: 5 } }],
    ["lru-in-skip", { model_config: { hidden: 7, width: 5 } }],
    ["lstm", { model_config: { hidden: 9 } }],
    ["gru", { model_config: { hidden: 9 } }],
    ["gated-rnn", { layers: 2, width: 6, model_config: { hidden: 7, output_gating: 5 } }],
  ];
  for (const [model, extra] of cases) {
    const cfg = parseTrainConfig({ task: "teacher-student", task_config: { d: 3, T: 6 }, model, ...extra });
    const { family, config } = resolveModel(cfg, 3, 3);
    const p64 = family.init(rng.split(), config, "f64");
    const p32 = { ...p64, tensors: Object.fromEntries(Object.entries(p64.tensors).map(([n, t]) => [n, { shape: t.shape, data: Float32Array.from(t.data) }])) };
    for (const t of Object.values(p64.tensors)) t.data.set(Float32Array.from(t.data)); // the same (f32-representable) weights
    const x = Float32Array.from(rng.fillNormal(new Float64Array(4 * 6 * 3)));
    const dy = Float32Array.from(rng.fillNormal(new Float64Array(4 * 6 * 3)));
    const grads = (k: Kernels, params: typeof p64, xs: Float, d: Float) => {
      const { cache } = family.forwardCached!(params, { shape: [4, 6, 3], data: xs }, k);
      const g = family.backward!(params, cache, d, k).grads;
      return Object.fromEntries(Object.entries(g).map(([n, v]) => [n, Float64Array.from(v)]));
    };
    const mark = fast.mark();
    const want = grads(ref64, p64, Float64Array.from(x), Float64Array.from(dy));
    const got = grads(fast, p32, x, dy);
    fast.release(mark);
    let total = 0;
    for (const g of Object.values(want)) for (const v of g) total += v * v;
    for (const [name, g] of Object.entries(want)) {
      let num = 0;
      let den = 0;
      for (let i = 0; i < g.length; i++) {
        num += (got[name][i] - g[i]) ** 2;
        den += g[i] ** 2;
      }
      const rel = Math.sqrt(num) / Math.max(Math.sqrt(den), 1e-3 * Math.sqrt(total));
      assert.ok(rel <= 1e-3, `${model}${extra.layers ? " stack" : ""} d${name}: relative error ${rel}`);
    }
  }
});

test("teacher-student targets: the fast teacher is eq. 1 of the float64 reference bit for bit", () => {
  const c = { d: 4, T: 32 };
  const teacher = teacherStudent.setup(Rng.fromSeed(1), c);
  const attention = getFamily("attention");
  for (const dtype of ["f32", "f64"] as const) {
    const b = teacherStudent.batch(Rng.fromSeed(2), c, teacher, 8, dtype);
    const y = attention.forward(teacher, b.x).data;
    assert.deepEqual(Array.from(b.target), Array.from(dtype === "f32" ? Float32Array.from(y) : y));
  }
});

test("threads: a trainer that was closed refuses to step; the reference backend runs its shards on 1 thread", () => {
  const tr = trainer({ ...tiny("gated-rnn"), threads: 2 });
  trainStep(tr);
  closeTrainer(tr);
  assert.throws(() => trainStep(tr), /threads were closed/);
  const ref = trainer({ ...tiny("gated-rnn"), backend: "reference", threads: 2 }, ref32);
  assert.equal(ref.engine.threads, 1);
  assert.match(ref.engine.note, /1 thread/);
});

test("kernel factory: backends by dtype and run config; a trainer's fast kernels are its own shared memory, the reference ones the caller's", () => {
  assert.equal(kernelsFor("f64"), ref64);
  assert.equal(kernelsFor("f32").name, "fast-f32");
  assert.equal(kernelsFor("f32"), kernelsFor("f32"), "loaded once, then shared");
  assert.equal(kernelsForRun({ backend: "reference", dtype: "f32" }), ref32);
  assert.equal(kernelsForRun({ backend: "fast", dtype: "f32" }), kernelsFor("f32"));
  const given = kernelsFor("f32") as FastKernels;
  const used = given.used();
  const two = trainingKernels(given, 2);
  assert.equal(two.threads, 2, two.note);
  assert.ok(two.shared && two.k !== given && (two.k as FastKernels).memory === two.shared.memory);
  assert.ok(two.shared.memory.buffer instanceof SharedArrayBuffer);
  assert.equal(two.shared.regions.length, 2);
  assert.match(two.build, /^kernels(-relaxed)?-shared\.wasm$/);
  assert.equal(given.used(), used, "the given kernels' arena is untouched");
  const ref = trainingKernels(ref32, 2);
  assert.deepEqual({ k: ref.k, threads: ref.threads, shared: ref.shared, build: ref.build }, { k: ref32, threads: 1, shared: undefined, build: "reference-f32" });
  assert.match(ref.note, /reference-f32 backend runs on 1 thread/);
  assert.equal(trainingKernels(ref32, 1).note, "");
  assert.throws(() => trainingKernels(given, 65), /threads: at most 64, got 65/);
  // allocUninit is part of every backend: the reference one zero-fills like alloc
  assert.deepEqual(Array.from(ref64.allocUninit(3)), [0, 0, 0]);
});
