import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { kernelsFor } from "../src/kernels/factory.ts";
import { loadParams, loadTensors } from "../src/io/files.ts";
import { ref64 } from "../src/kernels/reference.ts";
import { attention } from "../src/models/attention.ts";
import type { AttentionConfig } from "../src/models/attention.ts";
import { getFamily } from "../src/models/registry.ts";
import type { Params } from "../src/models/types.ts";
import { Rng } from "../src/rng.ts";
import { teacherStudent } from "../src/tasks/teacher-student.ts";
import { mseLoss } from "../src/train/loss.ts";
import { gatedRnn, gatedRnnDense, lambdaFromNu, nuFromLambda, nuGradient } from "../src/models/gated-rnn.ts";
import { lru } from "../src/models/lru.ts";
import { lstm } from "../src/models/lstm.ts";
import { trainedFormOf } from "../src/models/common.ts";
import { adamwInit, adamwUpdate } from "../src/train/adamw.ts";
import { parseTrainConfig } from "../src/train/loop.ts";
import { runTraining } from "../src/train/run.ts";
import type { MetricsLine } from "../src/train/run.ts";
import { constant, cosine, warmup } from "../src/train/schedule.ts";

const root = await mkdtemp(join(tmpdir(), "gra-train-"));
after(() => rm(root, { recursive: true, force: true }));
let n = 0;
const dir = () => join(root, `run${n++}`);

/** A tiny teacher-student config: d = 2, T = 8, 8 hidden / 8 output-gating neurons. */
const tiny = {
  task: "teacher-student", task_config: { d: 2, T: 8 }, model: "gated-rnn", model_config: { hidden: 8, output_gating: 8 },
  steps: 40, batch: 16, eval_every: 10, val_size: 32, seed: 3,
};
const kernels = () => kernelsFor("f32");
const strip = (ms: MetricsLine[]) => ms.map(({ elapsed_s: _, ...rest }) => rest);
const metricsOf = async (d: string): Promise<MetricsLine[]> =>
  (await readFile(join(d, "metrics.jsonl"), "utf8")).trim().split("\n").map((l) => JSON.parse(l));

test("schedules: cosine from 1e-3 to 1e-6, warm-up, constant", () => {
  const s = cosine(1e-3, 1e-6, 100);
  assert.equal(s(0), 1e-3);
  assert.ok(Math.abs(s(100) - 1e-6) < 1e-18);
  assert.ok(Math.abs(s(50) - (1e-6 + 0.5 * (1e-3 - 1e-6))) < 1e-18);
  assert.equal(s(1000), s(100));
  const w = warmup(10, s);
  assert.ok(Math.abs(w(0) - 1e-4) < 1e-18);
  assert.ok(Math.abs(w(9) - 1e-3) < 1e-18);
  assert.equal(w(10), s(0));
  assert.equal(constant(0.5)(123), 0.5);
});

test("AdamW: one step worked out by hand, decoupled decay only where the mask says", () => {
  const params = { w: new Float64Array([1, -2]), nu: new Float64Array([0.5]) };
  const grads = { w: new Float64Array([0.1, 0.2]), nu: new Float64Array([-1]) };
  const st = adamwInit(params, (k) => new Float64Array(k));
  const cfg = { lr: constant(0.01), beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.1, decay: (n: string) => n !== "nu", clipNorm: 0 };
  const lr = adamwUpdate(cfg, st, params, grads);
  assert.equal(lr, 0.01);
  // first step: m̂ = g, v̂ = g², update = g/(|g| + eps) ≈ sign(g)
  const upd = (g: number) => g / (Math.abs(g) + 1e-8);
  assert.ok(Math.abs(params.w[0] - (1 - 0.01 * (upd(0.1) + 0.1 * 1))) < 1e-15);
  assert.ok(Math.abs(params.w[1] - (-2 - 0.01 * (upd(0.2) + 0.1 * -2))) < 1e-15);
  assert.ok(Math.abs(params.nu[0] - (0.5 - 0.01 * upd(-1))) < 1e-15, "no decay on nu");
  assert.equal(st.step, 1);
  assert.ok(Math.abs(st.m.w[0] - 0.01) < 1e-17 && Math.abs(st.v.w[1] - 0.001 * 0.04) < 1e-18);
});

test("trained forms: each family states its reparametrisation and its tensors without weight decay; stacks delegate", () => {
  const form = (fam: Parameters<typeof trainedFormOf>[0], config: unknown) => {
    const f = trainedFormOf(fam, config);
    return { reparams: Object.fromEntries(Object.entries(f.reparams).map(([n, r]) => [n, r.name])), noDecay: f.noDecay };
  };
  const g = { d_in: 2, hidden: 3, output_gating: 3, d_out: 2 };
  assert.deepEqual(form(gatedRnn, g), { reparams: { lambda: "nu" }, noDecay: ["nu"] });
  assert.deepEqual(form(gatedRnnDense, g), { reparams: {}, noDecay: ["A"] });
  assert.deepEqual(form(lru, { d_in: 2, hidden: 3, d_out: 2 }), { reparams: {}, noDecay: ["nu_log", "theta_log", "gamma_log"] });
  assert.deepEqual(form(lstm, { d_in: 2, hidden: 3, d_out: 2 }), { reparams: {}, noDecay: [] });
  const stack = getFamily("stack");
  const sc = { d_in: 2, d_out: 2, width: 4, layers: 2, layer: "gated-rnn", layer_config: { hidden: 3, output_gating: 3 } };
  assert.deepEqual(form(stack, sc), { reparams: { "layers.0.lambda": "layers.0.nu", "layers.1.lambda": "layers.1.nu" }, noDecay: ["layers.0.nu", "layers.1.nu"] });
  // the stack's reparams are the layer's maps
  const lam = new Float64Array([0.3]);
  const a = new Float64Array(1), b = new Float64Array(1);
  trainedFormOf(stack, sc).reparams["layers.1.lambda"].toTrained(a, lam);
  nuFromLambda(b, lam);
  assert.deepEqual(a, b);
});

test("nu parametrisation: lambda = exp(-exp(nu)) round trip, chain rule matches finite differences", () => {
  const lam = new Float64Array([0.01, 0.5, 0.9, 0.999]);
  const nu = new Float64Array(4);
  nuFromLambda(nu, lam);
  const back = new Float64Array(4);
  lambdaFromNu(back, nu);
  for (let i = 0; i < 4; i++) assert.ok(Math.abs(back[i] - lam[i]) < 1e-12);
  const g = new Float64Array([1, 1, 1, 1]);
  nuGradient(g, nu, lam);
  for (let i = 0; i < 4; i++) {
    const h = 1e-6;
    const fd = (Math.exp(-Math.exp(nu[i] + h)) - Math.exp(-Math.exp(nu[i] - h))) / (2 * h);
    assert.ok(Math.abs(g[i] - fd) < 1e-8, `${g[i]} vs ${fd}`);
  }
});

test("train config: every default written out, unknown keys and bad values are one-line errors", () => {
  const c = parseTrainConfig({ task: "teacher-student" });
  assert.equal(c.steps, 1_000_000, "the paper's 1M steps by default");
  assert.equal(c.batch, 64);
  assert.deepEqual(c.task_config, { d: 4, T: 32 });
  assert.deepEqual(c.model_config, { hidden: 100, output_gating: 100 });
  assert.equal(parseTrainConfig({ task: "icl-regression" }).steps, 300_000);
  assert.throws(() => parseTrainConfig({ stepz: 3 }), /^Error: train config: unknown key "stepz"/);
  assert.throws(() => parseTrainConfig({ batch: "many" }), /train config.batch: expected an integer/);
  assert.throws(() => parseTrainConfig({ model: "transformer" }), /unknown model family "transformer"/);
  assert.throws(() => parseTrainConfig({ model_config: { hiden: 3 } }), /model_config \(gated-rnn\): unknown key "hiden"/);
  const s = parseTrainConfig({ model: "lstm", layers: 2, model_config: { hidden: 6 } });
  assert.equal(s.width, 6);
});

test("runs: same seed -> identical metrics; the reported loss is what an independent evaluation of the saved files finds", async () => {
  const [a, b, c] = [dir(), dir(), dir()];
  await runTraining({ ...tiny, lr: 1e-2, steps: 400, eval_every: 100, val_size: 256 }, { out: a, kernels });
  await runTraining({ ...tiny, lr: 1e-2, steps: 400, eval_every: 100, val_size: 256 }, { out: b, kernels });
  await runTraining({ ...tiny, lr: 1e-2, steps: 400, eval_every: 100, val_size: 256, seed: 4 }, { out: c, kernels });
  const [ma, mb, mc] = await Promise.all([metricsOf(a), metricsOf(b), metricsOf(c)]);
  assert.deepEqual(strip(ma), strip(mb));
  assert.notDeepEqual(strip(ma), strip(mc));
  assert.deepEqual(ma.map((m) => m.step), [100, 200, 300, 400]);
  assert.ok(ma[3].val_loss < ma[0].val_loss, "the loss decreases");
  const cfg = JSON.parse(await readFile(join(a, "config.json"), "utf8"));
  assert.equal(cfg.lr_final, 1e-6);
  assert.equal(cfg.weight_decay, 1e-4);
  // independent evaluation: saved student vs saved teacher on fresh sequences, float64 reference kernels
  const student = await loadParams(join(a, "model.safetensors"), { dtype: "f64" });
  const teacher = await loadParams<AttentionConfig>(join(a, "attention.safetensors"), { family: "attention" });
  const batch = teacherStudent.validationBatch(Rng.fromSeed(999), { d: 2, T: 8 }, teacher, 2048, "f64");
  assert.deepEqual([...batch.target.slice(0, 4)], [...attention.forward(teacher, batch.x, ref64).data.slice(0, 4)]);
  const y = getFamily(student.family).forward(student as Params, batch.x, ref64);
  const loss = mseLoss(y.data, batch, 2);
  const summary = JSON.parse(await readFile(join(a, "summary.json"), "utf8"));
  assert.ok(Math.abs(loss - summary.val_loss) / summary.val_loss < 0.25, `independent ${loss} vs reported ${summary.val_loss}`);
  assert.ok(summary.zero_val_loss > 20 * summary.val_loss, `zero predictor ${summary.zero_val_loss} vs ${summary.val_loss}`);
});

test("runs: 1 and 2 threads (each shard's targets on its thread) give identical metrics, model and checkpoint tensors", async () => {
  const [one, two] = [dir(), dir()];
  await runTraining({ ...tiny, threads: 1 }, { out: one, kernels });
  await runTraining({ ...tiny, threads: 2 }, { out: two, kernels });
  assert.deepEqual(strip(await metricsOf(two)), strip(await metricsOf(one)));
  assert.deepEqual(await readFile(join(two, "model.safetensors")), await readFile(join(one, "model.safetensors")));
  // the checkpoint: parameters, AdamW moments and the data stream's state (its metadata also holds elapsed_s)
  const [c1, c2] = await Promise.all([one, two].map((d) => loadTensors(join(d, "checkpoint.safetensors"))));
  assert.deepEqual(c2.tensors, c1.tensors);
  const state = (c: typeof c1) => ({ ...JSON.parse(c.metadata.state), elapsed_s: 0 });
  assert.deepEqual(state(c2), state(c1));
});

test("runs: an interrupted run (Ctrl-C path) resumes to exactly the uninterrupted metrics", async () => {
  const [full, part] = [dir(), dir()];
  await runTraining(tiny, { out: full, kernels });
  const ac = new AbortController();
  const s1 = await runTraining(tiny, { out: part, kernels, signal: ac.signal, onProgress: (p) => { if (p.step === 23) ac.abort(); } });
  assert.equal(s1.interrupted, true);
  assert.equal(s1.step, 23);
  const s2 = await runTraining({}, { out: part, kernels, resume: true });
  assert.equal(s2.interrupted, false);
  assert.deepEqual(strip(await metricsOf(part)), strip(await metricsOf(full)));
  assert.deepEqual(await readFile(join(part, "model.safetensors")), await readFile(join(full, "model.safetensors")));
});

/** Runs `gra train` as a child process; resolves when it exits, or calls `whenCheckpoint` once a checkpoint exists. */
function child(args: string[], whenCheckpoint?: (kill: (sig: NodeJS.Signals) => void) => void): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, ["--import", "tsx", "src/cli/main.ts", "train", ...args], { cwd: join(import.meta.dirname, "..") });
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (d) => (stdout += d));
    p.stderr.on("data", (d) => (stderr += d));
    const out = args[args.indexOf("--out") + 1];
    let timer: NodeJS.Timeout | undefined;
    if (whenCheckpoint) {
      timer = setInterval(() => {
        if (existsSync(join(out, "checkpoint.safetensors"))) {
          clearInterval(timer);
          whenCheckpoint((sig) => p.kill(sig));
        }
      }, 20);
    }
    p.on("exit", (code, signal) => {
      clearInterval(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

test("runs: kill -9 mid-run, then --resume, reproduces the uninterrupted metrics; SIGINT checkpoints and exits 130", async () => {
  const [full, killed, interrupted] = [dir(), dir(), dir()];
  const config = join(root, "tiny.json");
  await writeFile(config, JSON.stringify({ ...tiny, steps: 3000, eval_every: 20 }));
  await runTraining({ ...tiny, steps: 3000, eval_every: 20 }, { out: full, kernels });
  const k = await child(["--config", config, "--out", killed], (kill) => kill("SIGKILL"));
  assert.equal(k.signal, "SIGKILL");
  const before = await metricsOf(killed).catch(() => []);
  assert.ok(before.length < 150, "the kill interrupted the run");
  await runTraining({}, { out: killed, kernels, resume: true });
  assert.deepEqual(strip(await metricsOf(killed)), strip(await metricsOf(full)));
  const i = await child(["--config", config, "--out", interrupted], (kill) => setTimeout(() => kill("SIGINT"), 50));
  assert.equal(i.code, 130, i.stderr);
  assert.match(i.stdout, /interrupted at step \d+\/3000; continue with: gra train --out .* --resume/);
  const r = await child(["--out", interrupted, "--resume"]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(strip(await metricsOf(interrupted)), strip(await metricsOf(full)));
});

test("runs: refuse a non-empty --out, a missing run on --resume, changed options on --resume", async () => {
  const d = dir();
  await runTraining({ ...tiny, steps: 10 }, { out: d, kernels });
  await assert.rejects(runTraining(tiny, { out: d, kernels }), /is not empty; use --resume to continue the run in it, or choose another --out$/);
  await assert.rejects(runTraining({}, { out: join(root, "nope"), kernels, resume: true }), /config.json: missing: is this a run directory\?/);
  await assert.rejects(runTraining({ lr: 0.5 }, { out: d, kernels, resume: true }), /--resume: lr differ from the run's config.json/);
  const s = await runTraining({ steps: 10 }, { out: d, kernels, resume: true });
  assert.equal(s.step, 10, "resuming a finished run is a no-op");
  const corrupt = dir();
  await runTraining({ ...tiny, steps: 10 }, { out: corrupt, kernels });
  await writeFile(join(corrupt, "checkpoint.safetensors"), "garbage!garbage!");
  await assert.rejects(runTraining({}, { out: corrupt, kernels, resume: true }), /checkpoint.safetensors: header length \d+ exceeds file size 16/);
});

test("runs: a diverging run stops naming the step and keeps the last good checkpoint", async () => {
  const d = dir();
  const err = await runTraining({ ...tiny, lr: 1e4, lr_final: 1e4, steps: 500, eval_every: 1 }, { out: d, kernels }).then(
    () => assert.fail("should diverge"),
    (e: Error) => e,
  );
  assert.match(err.message, /^training diverged: (validation )?loss is (NaN|-?Infinity) at step (\d+); /);
  const step = Number(/at step (\d+)/.exec(err.message)![1]);
  const metrics = await metricsOf(d);
  assert.equal(metrics[metrics.length - 1].step, step - 1);
  assert.ok(metrics.every((m) => Number.isFinite(m.loss)));
  const ckpt = await runTraining({}, { out: d, kernels, resume: true, signal: AbortSignal.abort() });
  assert.equal(ckpt.step, step - 1, "the checkpoint is the last good step");
});
