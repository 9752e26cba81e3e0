/**
 * The WebGPU backend against the CPU, run as its own process (test/webgpu.test.ts spawns it with SwiftShader's env;
 * on a GPU machine run it directly: node --import tsx test/gpu/webgpu.checks.ts). Exits 77 with the reason when no
 * adapter can be created. Tiny odd shapes (SwiftShader is slow): tiles, split-K and loops cross their edges.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { ref32 } from "../../src/kernels/reference.ts";
import { acquireGpu } from "../../src/kernels/webgpu/device.ts";
import { normalAt, seedKey, STREAM, uniformAt } from "../../src/kernels/webgpu/philox.ts";
import { attention } from "../../src/models/attention.ts";
import type { AttentionConfig } from "../../src/models/attention.ts";
import type { Params } from "../../src/models/types.ts";
import { mseLoss } from "../../src/train/loss.ts";
import type { Batch } from "../../src/tasks/types.ts";
import type { TrainConfig, Trainer } from "../../src/train/loop.ts";
import { createTrainer, evaluate, exportParams, parseTrainConfig, trainStepOn } from "../../src/train/loop.ts";
import type { WebGpuGroupTrainer } from "../../src/train/webgpu-group.ts";
import { createWebGpuGroup } from "../../src/train/webgpu-group.ts";

let gpuLine: string;
try {
  const gpu = await acquireGpu();
  gpuLine = gpu.adapter;
  console.log(`# adapter: ${gpu.adapter}`);
} catch (e) {
  console.log(`# no WebGPU adapter: ${(e as Error).message}`);
  process.exit(77);
}

/** Teacher-student at odd sizes: N = 65, 2M = 66 (two 64-wide tiles each), B·T = 261 rows (2 split-K chunks). */
const TS = { task: "teacher-student", task_config: { d: 3, T: 9 }, model_config: { hidden: 65, output_gating: 33 }, batch: 29, steps: 300, val_size: 20, eval_every: 50, device: "webgpu", backend: "reference" };
/** In-context regression at odd sizes (d_x = 2, d_y = 3, T = 6 observations: only the query scored). */
const ICL = { task: "icl-regression", task_config: { d_x: 2, d_y: 3, T: 6 }, model_config: { hidden: 9, output_gating: 70 }, batch: 5, steps: 300, val_size: 20, eval_every: 50, device: "webgpu", backend: "reference" };

const cfgOf = (raw: object, over: object = {}): TrainConfig => parseTrainConfig({ ...raw, ...over });
const cpuTrainer = (cfg: TrainConfig): Trainer => createTrainer({ ...cfg, device: "cpu" }, ref32);

/** max |got - want| / max(|want|, floor): float32 tolerance relative to the reference's scale. */
function close(what: string, got: ArrayLike<number>, want: ArrayLike<number>, rtol: number, floor = 1e-6): void {
  assert.equal(got.length, want.length, `${what}: length`);
  let d = 0, s = floor;
  for (let i = 0; i < want.length; i++) {
    d = Math.max(d, Math.abs(got[i] - want[i]));
    s = Math.max(s, Math.abs(want[i]));
  }
  assert.ok(d / s <= rtol, `${what}: max error ${d.toExponential(2)} against scale ${s.toExponential(2)} (rtol ${rtol})`);
}

const bits = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

/** The CPU's forward/backward intermediates on one batch (before the step) in the GPU buffers' layouts. */
function cpuStep(tr: Trainer, b: Batch) {
  const p = tr.params as Params<{ hidden: number; output_gating: number; d_out: number }>;
  const { hidden: N, output_gating: M, d_out: O } = p.config;
  const { y, cache } = tr.family.forwardCached!(p, b.x, ref32);
  const c = cache as unknown as Record<string, Float32Array>;
  const rows = b.x.shape[0] * b.x.shape[1];
  const dy = new Float32Array(y.length);
  const loss = mseLoss(y, b, O, dy);
  const grads = tr.family.backward!(p, cache, dy, ref32).grads;
  const go = new Float32Array(rows * 2 * M), df = new Float32Array(rows * 2 * M), dh = new Float32Array(rows * N);
  const ro = p.tensors.readout.data, ox = p.tensors.out_x.data, om = p.tensors.out_m.data;
  for (let i = 0; i < rows; i++) {
    for (let m = 0; m < M; m++) {
      const gx = c.gxOut[i * M + m], gm = c.gmOut[i * M + m];
      go[i * 2 * M + m] = gx;
      go[i * 2 * M + M + m] = gm;
      let dg = 0;
      for (let o = 0; o < O; o++) dg += dy[i * O + o] * ro[o * M + m];
      df[i * 2 * M + m] = dg * gm;
      df[i * 2 * M + M + m] = dg * gx;
    }
    for (let n = 0; n < N; n++) {
      let a = 0;
      for (let m = 0; m < M; m++) a += df[i * 2 * M + m] * ox[m * N + n] + df[i * 2 * M + M + m] * om[m * N + n];
      dh[i * N + n] = a;
    }
  }
  // the trained-form gradient (nu's chain rule) in parameter-block order
  const lam = p.tensors.lambda.data, nu = tr.trainable.nu;
  const gnu = Float64Array.from(grads.lambda, (g, i) => -g * Math.exp(nu[i]) * lam[i]);
  const g = [grads.in_x, grads.in_m, gnu, grads.out_x, grads.out_m, grads.readout].flatMap((a) => Array.from(a));
  return { loss, h: c.h, go, dy, df, dh, g };
}

async function kernelCheck(raw: object): Promise<void> {
  const cfg = cfgOf(raw);
  const g = await createWebGpuGroup([cfg]);
  try {
    const tr = cpuTrainer(cfg);
    const b = tr.task.batch(tr.dataRng, cfg.task_config, tr.setup, cfg.batch, "f32");
    const want = cpuStep(tr, b);
    const a = await g.stepOn([[b]]);
    const s = trainStepOn(tr, b);
    close("loss", [a[0][0]], [want.loss], 1e-5);
    assert.deepEqual(bits(await g.read("X", 0)), bits(b.x.data as Float32Array), "X: the uploaded batch");
    close("H (fwdIn: input gating + scan)", await g.read("H", 0), want.h, 2e-5);
    close("GO (gemm H [out_x; out_m]ᵀ)", await g.read("GO", 0), want.go, 2e-5);
    close("DY (loss)", await g.read("DY", 0), want.dy, 2e-5);
    close("DF (loss backward)", await g.read("DF", 0), want.df, 2e-5);
    close("DH (gemm DF [out_x; out_m])", await g.read("DH", 0), want.dh, 2e-5);
    const G = await g.read("G", 0);
    const L = g.layout;
    const parts: [string, number, number][] = [["in_x", L.inX, L.inM], ["in_m", L.inM, L.nu], ["nu", L.nu, L.outX], ["out_x", L.outX, L.outM], ["out_m", L.outM, L.readout], ["readout", L.readout, L.PS]];
    if (process.env.DEBUG13) for (const [name, lo, hi] of parts) { const bad: string[] = []; for (let i = lo; i < hi; i++) if (Math.abs(G[i] - want.g[i]) > 1e-3 * Math.max(1, Math.abs(want.g[i]))) bad.push(`${i - lo}:${G[i].toFixed(3)}/${want.g[i].toFixed(3)}`); console.log(name, bad.length, bad.slice(0, 12).join(" ")); }
    for (const [name, lo, hi] of parts) close(`gradient ${name}`, G.subarray(lo, hi), want.g.slice(lo, hi), 1e-4);
    const P = await g.read("P", 0);
    for (const [name, lo, hi] of parts) close(`AdamW step ${name}`, P.subarray(lo, hi), tr.trainable[name], 1e-5);
    assert.ok(Number.isFinite(s.loss));
  } finally {
    g.close();
  }
}

test(`every kernel of one step against the reference kernels, teacher-student (${"odd shapes"})`, async () => kernelCheck(TS));
test("every kernel of one step against the reference kernels, icl-regression (query-only loss)", async () => kernelCheck(ICL));

test("the GPU data: Philox + Box-Muller as the TypeScript twin, eq. 1 teacher targets, icl tokens", async () => {
  for (const raw of [TS, ICL]) {
    const cfg = cfgOf(raw, { seed: 5 });
    const g = await createWebGpuGroup([cfg]);
    try {
      await g.advance(3); // the batch of step 2 stays in X, TG
      const x = await g.read("X", 0), tg = await g.read("TG", 0);
      const tr = cpuTrainer(cfg);
      const key = seedKey(5);
      const { dIn, dOut, T } = tr.task.dims(cfg.task_config);
      const B = cfg.batch;
      if (cfg.task === "teacher-student") {
        // the same Philox bits; WGSL's f32 log/cos/sin may differ from Math's by ~2^-21 absolute (more in r near u = 1)
        const want = Array.from(x, (_, e) => normalAt(key, 2, STREAM.tsX, e));
        const err = Math.max(...Array.from(x, (v, e) => Math.abs(v - want[e])));
        assert.ok(err < 3e-3, `x ~ N(0, I) (Philox stream 0, step 2) as the TypeScript twin: max error ${err}`);
        const y = attention.forward(tr.setup as Params<AttentionConfig>, { shape: [B, T, dIn], data: Float64Array.from(x) });
        close("teacher targets (eq. 1)", tg, y.data, 1e-5);
        let m = 0, v = 0;
        for (const e of x) { m += e / x.length; v += (e * e) / x.length; }
        assert.ok(Math.abs(m) < 0.1 && Math.abs(v - 1) < 0.15, `moments ${m} ${v}`);
      } else {
        const { d_x: dx, d_y: dy } = cfg.task_config as { d_x: number; d_y: number };
        const std = Math.sqrt(1 / dx);
        for (let b = 0; b < B; b++) {
          const W = Array.from({ length: dx * dy }, (_, e) => std * normalAt(key, 2, STREAM.iclW, b * dx * dy + e));
          for (let t = 0; t < T; t++) {
            const o = (b * T + t) * dIn;
            const xt = Array.from({ length: dx }, (_, j) => uniformAt(key, 2, STREAM.iclX, (b * T + t) * dx + j, -Math.sqrt(3), Math.sqrt(3)));
            close(`icl x[${b},${t}]`, x.subarray(o, o + dx), xt, 1e-6, 1);
            const yt = Array.from({ length: dy }, (_, i) => xt.reduce((a, xj, j) => a + W[i * dx + j] * xj, 0));
            if (t < T - 1) close(`icl y[${b},${t}] = W* x (W* normals: f32 transcendentals)`, x.subarray(o + dx, o + dIn), yt, 3e-3);
            else {
              assert.deepEqual(Array.from(x.subarray(o + dx, o + dIn)), new Array(dy).fill(0), "query's y part is 0");
              close(`icl target[${b}] = W* x_q`, tg.subarray(b * dOut, (b + 1) * dOut), yt, 3e-3);
            }
          }
        }
      }
    } finally {
      g.close();
    }
  }
});

test("100 training steps on the CPU generator's batches against the CPU trainer (reference kernels)", async () => {
  const cfg = cfgOf(TS, { seed: 3, lr: 3e-3 });
  const g = await createWebGpuGroup([cfg]);
  try {
    const tr = cpuTrainer(cfg);
    close("validation loss at init", await g.evaluate(), [evaluate(tr)], 1e-5);
    const batches = Array.from({ length: 100 }, () => tr.task.batch(tr.dataRng, cfg.task_config, tr.setup, cfg.batch, "f32"));
    const lc = batches.map((b) => trainStepOn(tr, b).loss);
    const lg = (await g.stepOn(batches.map((b) => [b]))).map((l) => l[0]);
    close("training losses", lg, lc, 2e-3);
    assert.ok(lc[99] < 0.5 * lc[0], `the loss falls: ${lc[0]} -> ${lc[99]}`);
    const gp = await g.exportParams(0), cp = exportParams(tr);
    assert.deepEqual(Object.keys(gp.tensors), Object.keys(cp.tensors));
    for (const [n, t] of Object.entries(cp.tensors)) {
      assert.deepEqual(gp.tensors[n].shape, t.shape, n);
      close(`parameters after 100 steps: ${n}`, gp.tensors[n].data, t.data, 5e-3);
    }
    close("validation loss after 100 steps", await g.evaluate(), [evaluate(tr)], 5e-3);
  } finally {
    g.close();
  }
});

test("R runs together give each run's bits alone; the same seed twice gives the same bits", async () => {
  const over = [{ seed: 1 }, { seed: 2, lr: 2e-3, weight_decay: 0.01 }, { seed: 3, lr_final: 1e-4, adam_eps: 1e-6 }];
  const cfgs = over.map((o) => cfgOf(ICL, o));
  const g = await createWebGpuGroup(cfgs);
  const together = await g.advance(20);
  const val = await g.evaluate();
  const P = await Promise.all(cfgs.map((_, r) => g.read("P", r)));
  g.close();
  for (let r = 0; r < cfgs.length; r++) {
    const a = await createWebGpuGroup([cfgs[r]]);
    const alone = await a.advance(20);
    assert.equal(alone.lossSum[0], together.lossSum[r], `run ${r}: loss`);
    assert.equal(alone.lr[0], together.lr[r], `run ${r}: lr`);
    assert.equal((await a.evaluate())[0], val[r], `run ${r}: validation loss`);
    assert.ok(bits(await a.read("P", 0)).equals(bits(P[r])), `run ${r}: parameters`);
    a.close();
  }
  assert.ok(!bits(P[0]).equals(bits(P[1])), "different seeds differ");
});

test("snapshot -> restore -> continue == uninterrupted (bits)", async () => {
  const cfg = cfgOf(ICL, { seed: 9 });
  const a = await createWebGpuGroup([cfg]);
  await a.advance(30);
  const straight = await a.advance(30);
  const Pa = await a.read("P", 0), Ma = await a.read("VO", 0);
  a.close();
  const b = await createWebGpuGroup([cfg]);
  await b.advance(30);
  const snap = await b.snapshot(0);
  assert.equal(snap.step, 30);
  assert.equal(snap.rng, undefined);
  b.close();
  const c = await createWebGpuGroup([cfg], { snapshots: [snap] });
  assert.equal(c.step, 30);
  const resumed = await c.advance(30);
  assert.equal(resumed.lossSum[0], straight.lossSum[0]);
  assert.ok(bits(await c.read("P", 0)).equals(bits(Pa)), "parameters");
  assert.ok(bits(await c.read("VO", 0)).equals(bits(Ma)), "second moments");
  const ex = await c.exportParams(0);
  const nu = snap.trainable.nu;
  assert.ok(ex.tensors.lambda.data.every((l) => l >= 0 && l <= 1));
  assert.equal(ex.tensors.lambda.data.length, nu.length);
  c.close();
});

test("adapter line", () => assert.ok(gpuLine.length > 0));
