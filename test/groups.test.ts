import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { kernelsFor, kernelsForRun } from "../src/kernels/factory.ts";
import { commands } from "../src/cli/commands.ts";
import { runCli } from "../src/cli/main.ts";
import { collectAll, executePlan, planRuns } from "../src/experiments/driver.ts";
import { partitionGroups, runDir } from "../src/experiments/sweep.ts";
import type { RunSpec } from "../src/experiments/types.ts";
import type { Preset, RunRecord } from "../src/experiments/types.ts";
import { checkGroup, groupKey } from "../src/train/group.ts";
import { parseTrainConfig } from "../src/train/loop.ts";
import { runGroup, runTraining } from "../src/train/run.ts";

const root = await mkdtemp(join(tmpdir(), "gra-groups-"));
after(() => rm(root, { recursive: true, force: true }));

/** A tiny teacher-student config: d = 2, T = 6, a few dozen steps; per-run keys varied by the caller. */
const tiny = (extra: Record<string, unknown> = {}) => ({
  task: "teacher-student", task_config: { d: 2, T: 6 }, model: "gated-rnn", model_config: { hidden: 6, output_gating: 6 },
  steps: 40, batch: 8, eval_every: 10, val_size: 16, ...extra,
});

const metricsOf = async (dir: string) =>
  (await readFile(join(dir, "metrics.jsonl"), "utf8")).trim().split("\n").map((l) => { const { elapsed_s: _e, ...m } = JSON.parse(l); return m; });

test("run group: each run of a group gives the bits it gives alone (own seed, lr, final lr, decay, Adam eps)", async () => {
  const raws = [
    tiny({ seed: 1 }),
    tiny({ seed: 2, lr: 3e-3, weight_decay: 0.1 }),
    tiny({ seed: 3, adam_eps: 1e-4, lr_final: 1e-4 }),
  ];
  const summaries = await runGroup(raws.map((raw, r) => ({ raw, out: join(root, `group-${r}`) })), { kernels: kernelsForRun });
  assert.equal(summaries.length, 3);
  for (const [r, raw] of raws.entries()) {
    const alone = await runTraining(raw, { out: join(root, `alone-${r}`), kernels: kernelsForRun });
    assert.equal(summaries[r].val_loss, alone.val_loss);
    assert.equal(summaries[r].step, 40);
    assert.deepEqual(await metricsOf(join(root, `group-${r}`)), await metricsOf(join(root, `alone-${r}`)));
    for (const f of ["model.safetensors", "attention.safetensors", "config.json"]) {
      assert.deepEqual(await readFile(join(root, `group-${r}`, f)), await readFile(join(root, `alone-${r}`, f)), f);
    }
  }
  // the three runs did differ from each other
  assert.notEqual(summaries[0].val_loss, summaries[1].val_loss);
});

test("batched run group (one forward/backward for all runs): == alone for in-context regression, dense, LSTM, LRU and runs stepped in chunks (given and measured)", async () => {
  const icl = (seed: number, extra: Record<string, unknown> = {}) => ({
    task: "icl-regression", task_config: { d_x: 2, d_y: 2, T: 5 }, model: "gated-rnn", model_config: { hidden: 6, output_gating: 6 },
    steps: 20, batch: 8, eval_every: 10, val_size: 16, seed, ...extra,
  });
  for (const [name, raws] of [
    ["icl", [icl(1), icl(2, { lr: 2e-3 })]],
    ["dense", [tiny({ seed: 4, model: "gated-rnn-dense", steps: 20 }), tiny({ seed: 5, model: "gated-rnn-dense", steps: 20, weight_decay: 0.2 })]],
    ["lstm", [tiny({ seed: 4, model: "lstm", model_config: { hidden: 6 }, steps: 20 }), tiny({ seed: 5, model: "lstm", model_config: { hidden: 6 }, steps: 20, lr: 3e-3 })]],
    ["lru", [tiny({ seed: 4, model: "lru-in-skip", model_config: { hidden: 6 }, steps: 20 }), tiny({ seed: 5, model: "lru-in-skip", model_config: { hidden: 6 }, steps: 20, lr: 3e-3 })]],
    // 100/100 neurons, T = 32, B = 64: a run's shard of activations fills the cache alone, so the group steps run by run
    ["chunked", [tiny({ seed: 4, model_config: {}, task_config: { d: 2, T: 32 }, batch: 64, steps: 3, eval_every: 3 }), tiny({ seed: 5, model_config: {}, task_config: { d: 2, T: 32 }, batch: 64, steps: 3, eval_every: 3 })]],
    // LSTM 24, T = 32, B = 64: no cachedFloatsPerRow, so the chunk is measured on the first one (a run's ~0.7 MB: 1 run)
    ["chunked lstm", [4, 5].map((seed) => tiny({ seed, model: "lstm", model_config: { hidden: 24 }, task_config: { d: 2, T: 32 }, batch: 64, steps: 3, eval_every: 3 }))],
  ] as const) {
    let device = "";
    const group = await runGroup(raws.map((raw, r) => ({ raw, out: join(root, `${name}-g${r}`) })), { kernels: kernelsForRun, onDevice: (d) => (device = d) });
    assert.match(device, /batched group of 2/);
    for (const [r, raw] of raws.entries()) {
      const alone = await runTraining(raw, { out: join(root, `${name}-a${r}`), kernels: kernelsForRun });
      assert.equal(group[r].val_loss, alone.val_loss, `${name} run ${r}`);
      assert.deepEqual(await readFile(join(root, `${name}-g${r}`, "model.safetensors")), await readFile(join(root, `${name}-a${r}`, "model.safetensors")));
      assert.deepEqual(await metricsOf(join(root, `${name}-g${r}`)), await metricsOf(join(root, `${name}-a${r}`)));
    }
  }
});

test("run group: only per-run keys may differ; the error names the run", () => {
  const a = parseTrainConfig(tiny({ seed: 1 }));
  const b = parseTrainConfig(tiny({ seed: 2, lr: 1e-2, weight_decay: 0.3, adam_eps: 1e-6, lr_final: 0 }));
  const c = parseTrainConfig(tiny({ batch: 16 }));
  assert.equal(groupKey(a), groupKey(b));
  assert.notEqual(groupKey(a), groupKey(c));
  assert.notEqual(groupKey(a), groupKey(parseTrainConfig(tiny({ threads: 4 })))); // threads set the shard count
  assert.notEqual(groupKey(a), groupKey(parseTrainConfig(tiny({ model_config: { hidden: 8, output_gating: 6 } })))); // nested keys count
  checkGroup([a, b]);
  assert.throws(() => checkGroup([a, b, c]), /run 2 differs from run 0/);
  assert.throws(() => checkGroup([]), /no runs/);
});

test("run group: a group interrupted mid-way and resumed gives the runs an uninterrupted group gives", async () => {
  const raws = [tiny({ seed: 7 }), tiny({ seed: 8 })];
  const ref = await runGroup(raws.map((raw, r) => ({ raw, out: join(root, `ref-${r}`) })), { kernels: kernelsForRun });
  const ac = new AbortController();
  const part = await runGroup(raws.map((raw, r) => ({ raw, out: join(root, `int-${r}`) })), {
    kernels: kernelsForRun, signal: ac.signal, onProgress: (_r, p) => p.step >= 23 && ac.abort(),
  });
  assert.ok(part.every((s) => s.interrupted && s.step === 23));
  const done = await runGroup(raws.map((_raw, r) => ({ raw: {}, out: join(root, `int-${r}`), resume: true })), { kernels: kernelsForRun });
  for (let r = 0; r < 2; r++) {
    assert.equal(done[r].val_loss, ref[r].val_loss);
    assert.deepEqual(await metricsOf(join(root, `int-${r}`)), await metricsOf(join(root, `ref-${r}`)));
    assert.deepEqual(await readFile(join(root, `int-${r}`, "model.safetensors")), await readFile(join(root, `ref-${r}`, "model.safetensors")));
  }
});

/** Four runs of one shape plus one of another: a grouped reproduction makes a group of 4 and one of 1. */
const groupPreset: Preset = {
  name: "grouped",
  title: "Grouped test preset",
  paper: "nothing",
  runs: () => [0, 1, 2, 3].map((seed) => ({ slug: `g-s${seed}`, config: tiny({ seed }), tags: { seed } })).concat([{ slug: "g-wide", config: tiny({ model_config: { hidden: 8, output_gating: 8 } }), tags: { seed: 0 } }]),
  deviations: () => [],
  results: (records: RunRecord[]) => ({ numbers: { val: records.map((r) => r.val_loss) }, tables: [], figures: [], notes: [] }),
};

test("reproduce with groups: interrupted mid-way and resumed == one run at a time (results and every run's model)", async () => {
  const runs = planRuns([groupPreset], "quick").all;
  const single = join(root, "single");
  assert.equal(await executePlan(runs, { out: single, scale: "quick", kernels: kernelsForRun, groupSize: 1 }), true);
  const grouped = join(root, "grouped");
  const ac = new AbortController();
  const active = new Set<string>();
  const stopped = await executePlan(runs, {
    out: grouped, scale: "quick", kernels: kernelsForRun, signal: ac.signal,
    onEvent: (e) => {
      if (e.type === "start") active.add(e.id);
      if (e.type === "log" && e.line.step >= 20) ac.abort();
    },
  });
  assert.equal(stopped, false);
  assert.equal(active.size, 4); // the four runs of one shape started together, as one group
  assert.equal(await executePlan(runs, { out: grouped, scale: "quick", kernels: kernelsForRun }), true);
  const a = await collectAll([groupPreset], "quick", single, { png: false });
  const b = await collectAll([groupPreset], "quick", grouped, { png: false });
  assert.deepEqual(b[0].results.numbers, a[0].results.numbers);
  for (const r of runs) {
    assert.deepEqual(await readFile(join(runDir(grouped, r.id), "model.safetensors")), await readFile(join(runDir(single, r.id), "model.safetensors")), r.id);
  }
});

test("gra bench --runs R --json: a group's ms_per_step and ms_per_run_step = ms_per_step / R", async () => {
  let out = "";
  const code = await runCli(["bench", "--hidden", "4", "--runs", "3", "--steps", "4", "--warmup", "0", "--batch", "4", "--json"], commands, {
    stdout: (s) => (out += s), stderr: () => {},
  });
  assert.equal(code, 0);
  const r = JSON.parse(out);
  assert.equal(r.runs, 3);
  assert.equal(r.data_in_step, true);
  assert.match(r.device, /^cpu: /);
  assert.ok(r.ms_per_step > 0);
  assert.ok(Math.abs(r.ms_per_run_step - r.ms_per_step / 3) < 1e-3);
  assert.ok(kernelsFor("f32"));
});

test("local workers: a shape's runs spread evenly over the workers, grouped within each (at most --group-size)", () => {
  const runs = planRuns([groupPreset], "quick").all;
  const names = (shares: RunSpec[][]): string[][] => shares.map((sh) => sh.map((r) => r.id.replace(/-[0-9a-f]{10}$/, "")));
  const gRuns = (share: string[]): string[] => share.filter((x) => /^g-s\d$/.test(x));
  // two workers: two groups of two runs of the one shape, one per worker (never one worker with all four, the other idle)
  const two = names(partitionGroups(runs, 2, {}));
  assert.equal(two.length, 2);
  assert.deepEqual(two.map(gRuns).sort(), [["g-s0", "g-s1"], ["g-s2", "g-s3"]]);
  assert.equal(two.flat().filter((x) => x === "g-wide").length, 1);
  // one worker: everything in one share (then one group of four, see runSequential)
  assert.deepEqual(names(partitionGroups(runs, 1, {})).map(gRuns), [["g-s0", "g-s1", "g-s2", "g-s3"]]);
  // as many workers as runs: one run each
  assert.deepEqual(names(partitionGroups(runs, 5, {})).map((sh) => sh.length), [1, 1, 1, 1, 1]);
  // --group-size 1 on two workers: the four runs balanced over both
  assert.deepEqual(partitionGroups(runs, 2, { groupSize: 1 }).map((sh) => sh.length).sort(), [2, 3]);
});
