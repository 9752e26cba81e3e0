import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { commands } from "../src/cli/commands.ts";
import { kernelsFor } from "../src/kernels/factory.ts";
import { runCli } from "../src/cli/main.ts";
import { resultsCsv } from "../src/experiments/collect.ts";
import { collectAll, executePlan, planRuns, shardRuns } from "../src/experiments/driver.ts";
import { heatmapFigure, lineChart, renderPng, renderSvg } from "../src/experiments/figures.ts";
import { getPreset, presets } from "../src/experiments/presets.ts";
import type { SweepEvent } from "../src/experiments/sweep.ts";
import { canonicalJson, expandRuns, parseShard, partition, runDir, runOne, runState, runWorkers } from "../src/experiments/sweep.ts";
import type { Preset, RunRecord } from "../src/experiments/types.ts";

const root = await mkdtemp(join(tmpdir(), "gra-experiments-"));
after(() => rm(root, { recursive: true, force: true }));
const kernels = () => kernelsFor("f32");

/** A tiny teacher-student config: d = 2, T = 6, 6/6 neurons, a few dozen steps. */
const tinyConfig = (seed: number, hidden = 6, steps = 30) => ({
  task: "teacher-student", task_config: { d: 2, T: 6 }, model: "gated-rnn", model_config: { hidden, output_gating: hidden },
  steps, batch: 8, eval_every: 10, val_size: 16, seed,
});

/** A tiny custom preset: 5 runs (sizes x seeds), a table, a figure, numbers from records. */
const tinyPreset: Preset = {
  name: "tiny",
  title: "Tiny test preset",
  paper: "nothing",
  runs: () => [4, 6].flatMap((hidden) => [0, 1].map((seed) => ({ slug: `tiny-n${hidden}-s${seed}`, config: tinyConfig(seed, hidden), tags: { size: hidden, seed } }))).concat([
    { slug: "tiny-n8-s0", config: tinyConfig(0, 8, 40), tags: { size: 8, seed: 0 } },
  ]),
  deviations: (s) => (s === "quick" ? ["tiny"] : []),
  results: (records: RunRecord[]) => ({
    numbers: { val_losses: records.map((r) => r.val_loss), runs: records.length },
    tables: [{ title: "tiny", columns: ["id", "val"], rows: records.map((r) => [r.id, r.val_loss]) }],
    figures: [{ name: "tiny-loss", title: "tiny", caption: "c", spec: lineChart({ title: "t", data: records.map((r) => ({ size: r.tags.size, val: r.val_loss, seed: `s${r.seed}` })), x: { field: "size", title: "N", log: true }, y: { field: "val", title: "val", log: true }, color: { field: "seed", title: "seed" } }) }],
    notes: [],
  }),
};

test("run lists: deterministic, stable ids (config hash without threads), duplicates merged", () => {
  const a = expandRuns(tinyPreset.runs("quick"));
  const b = expandRuns(tinyPreset.runs("quick"));
  assert.deepEqual(a.map((r) => r.id), b.map((r) => r.id));
  assert.equal(a.length, 5);
  for (const r of a) assert.match(r.id, /^tiny-n\d-s\d-[0-9a-f]{10}$/);
  assert.equal(new Set(a.map((r) => r.id)).size, 5);
  // key order, explicit defaults and threads do not change an id; the seed does
  const base = { slug: "x", tags: {}, config: tinyConfig(0) };
  const [r0] = expandRuns([base]);
  const reordered = Object.fromEntries(Object.entries(tinyConfig(0)).reverse());
  assert.equal(expandRuns([{ ...base, config: { ...reordered, threads: 2, lr: 1e-3 } }])[0].id, r0.id);
  assert.notEqual(expandRuns([{ ...base, config: tinyConfig(1) }])[0].id, r0.id);
  assert.equal(expandRuns([base, { ...base, analyze: true }]).length, 1);
  assert.equal(expandRuns([base, { ...base, analyze: true }])[0].analyze, true);
  assert.equal(canonicalJson({ b: 1, a: [1, { d: 2, c: 3 }] }), '{"a":[1,{"c":3,"d":2}],"b":1}');
});

test("presets: every preset expands at both scales; table1 and fig2 share their run; quick table1 is one run", () => {
  for (const scale of ["quick", "paper"] as const) {
    for (const p of presets) {
      const runs = expandRuns(p.runs(scale));
      assert.ok(runs.length > 0, `${p.name} ${scale}`);
      assert.equal(new Set(runs.map((r) => r.id)).size, runs.length);
      assert.equal(p.deviations(scale).length > 0, scale === "quick" || p.name.startsWith("fig3") || p.name.startsWith("fig4") || p.name === "fig5", p.name);
    }
    assert.deepEqual(expandRuns(getPreset("table1").runs(scale)).map((r) => r.id), expandRuns(getPreset("fig2").runs(scale)).map((r) => r.id));
  }
  const t1 = expandRuns(getPreset("table1").runs("paper"))[0];
  assert.equal(t1.steps, 1_000_000);
  assert.equal((t1.parsed as { weight_decay: number }).weight_decay, 1e-4);
  assert.equal(expandRuns(getPreset("table2").runs("paper")).length, 4);
  const all = planRuns(presets, "quick").all;
  const fig5 = expandRuns(getPreset("fig5").runs("quick")).map((r) => r.id);
  for (const id of [...expandRuns(getPreset("fig4a").runs("quick")), ...expandRuns(getPreset("fig4b").runs("quick"))].map((r) => r.id)) assert.ok(fig5.includes(id));
  assert.equal(new Set(all.map((r) => r.id)).size, all.length);
});

test("shards: a deterministic, cost-balanced partition covering every run once", () => {
  const runs = Array.from({ length: 11 }, (_, i) => ({ id: `r${i}`, cost: 1 + ((i * 7) % 5) }));
  for (const n of [1, 2, 3, 4, 11, 13]) {
    const parts = partition(runs, n);
    assert.equal(parts.length, n);
    assert.deepEqual(parts.flat().map((r) => r.id).sort(), runs.map((r) => r.id).sort());
    assert.deepEqual(partition(runs, n), parts);
    for (const p of parts) assert.deepEqual(p, [...p].sort((a, b) => runs.indexOf(a) - runs.indexOf(b))); // run order kept
    if (n <= runs.length) {
      const loads = parts.map((p) => p.reduce((s, r) => s + r.cost, 0));
      assert.ok(Math.max(...loads) - Math.min(...loads) <= 5, `${n}: ${loads}`);
    }
  }
  assert.deepEqual(parseShard("2/3"), { index: 2, count: 3 });
  for (const bad of ["3/3", "1", "a/b", "-1/2", "0/0"]) assert.throws(() => parseShard(bad), /expected i\/n/);
});

const strip = (j: { runs: Record<string, unknown>[] } & Record<string, unknown>) => ({ ...j, runs: j.runs.map(({ elapsed_s: _e, ...r }) => r) });
const csvWithoutTimes = (csv: string) => {
  const lines = csv.trim().split("\n").map((l) => l.split(","));
  const k = lines[0].indexOf("elapsed_s");
  return lines.map((l) => l.filter((_, j) => j !== k).join(",")).join("\n");
};

test("3 shards then --collect give the same results as one unsharded invocation", async () => {
  const runs = planRuns([tinyPreset], "quick").all;
  const one = join(root, "unsharded");
  assert.equal(await executePlan(runs, { out: one, scale: "quick", kernels }), true);
  const w1 = await collectAll([tinyPreset], "quick", one, { png: false });
  const sharded = join(root, "sharded");
  const seen: string[] = [];
  for (let i = 0; i < 3; i++) {
    assert.ok(shardRuns(runs, { index: i, count: 3 }).length > 0);
    await executePlan(runs, { out: sharded, scale: "quick", shard: { index: i, count: 3 }, kernels, onEvent: (e) => e.type === "start" && seen.push(e.id) });
  }
  assert.deepEqual([...seen].sort(), runs.map((r) => r.id).sort()); // every run trained exactly once over the shards
  const w3 = await collectAll([tinyPreset], "quick", sharded, { png: false });
  const j1 = JSON.parse(await readFile(join(one, "tiny", "results.json"), "utf8"));
  const j3 = JSON.parse(await readFile(join(sharded, "tiny", "results.json"), "utf8"));
  assert.deepEqual(strip(j3), strip(j1));
  assert.equal(csvWithoutTimes(await readFile(join(sharded, "tiny", "results.csv"), "utf8")), csvWithoutTimes(await readFile(join(one, "tiny", "results.csv"), "utf8")));
  assert.equal(j1.runs.length, 5);
  assert.equal(j1.numbers.runs, 5);
  const svgOf = async (o: string) => (await readFile(join(o, "tiny", "figures", "tiny-loss.svg"), "utf8")).replace(/clip\d+/g, "clip"); // Vega numbers clip paths per process
  assert.equal(await svgOf(sharded), await svgOf(one));
  for (const w of [...w1, ...w3]) assert.ok(existsSync(w.report));

  // results.csv: header, one row per run, the run's numbers
  const csv = (await readFile(join(one, "tiny", "results.csv"), "utf8")).trim().split("\n");
  assert.equal(csv.length, 6);
  const cols = csv[0].split(",");
  for (const c of ["id", "tag.seed", "tag.size", "task", "model", "params", "steps", "finished", "train_loss", "val_loss", "elapsed_s"]) assert.ok(cols.includes(c), c);
  const row = Object.fromEntries(csv[1].split(",").map((v, j) => [cols[j], v]));
  assert.equal(row.id, runs[0].id);
  assert.equal(row.finished, "true");
  assert.equal(Number(row.steps), 30);
  assert.equal(Number(row.params), runs[0].params);
  const summary = JSON.parse(await readFile(join(runDir(one, runs[0].id), "summary.json"), "utf8"));
  assert.equal(Number(row.val_loss), summary.val_loss);
  assert.equal(j1.runs[0].val_loss, summary.val_loss);
  assert.equal(j1.preset, "tiny");
  assert.deepEqual(j1.deviations, ["tiny"]);
  const html = await readFile(join(one, "tiny", "report.html"), "utf8");
  assert.match(html, /<svg/);
  assert.match(html, /Tiny test preset/);
  assert.match(html, new RegExp(runs[0].id));
  assert.doesNotMatch(html, /<script/);
});

test("re-invocation skips finished runs; an interrupted run resumes to the uninterrupted result", async () => {
  const [spec] = expandRuns([{ slug: "resume", config: tinyConfig(5, 6, 50), tags: {} }]);
  const ref = join(root, "ref");
  await runOne(spec, { out: ref, kernels });
  const events: SweepEvent[] = [];
  await runOne(spec, { out: ref, kernels, onEvent: (e) => events.push(e) });
  assert.deepEqual(events.map((e) => e.type), ["done"]);
  assert.equal((events[0] as { skipped: boolean }).skipped, true);

  const out = join(root, "interrupted");
  const ac = new AbortController();
  const ok = await runOne(spec, { out, kernels, signal: ac.signal, onEvent: (e) => e.type === "progress" && e.step >= 23 && ac.abort() });
  assert.equal(ok, false);
  assert.equal(await runState(out, spec), "resumable");
  const ev2: SweepEvent[] = [];
  assert.equal(await runOne(spec, { out, kernels, onEvent: (e) => ev2.push(e) }), true);
  assert.deepEqual(ev2.find((e) => e.type === "start"), { type: "start", id: spec.id, steps: 50, resumed: true });
  const metrics = async (o: string) => (await readFile(join(runDir(o, spec.id), "metrics.jsonl"), "utf8")).trim().split("\n").map((l) => { const { elapsed_s: _e, ...m } = JSON.parse(l); return m; });
  assert.deepEqual(await metrics(out), await metrics(ref));
  assert.deepEqual(await readFile(join(runDir(out, spec.id), "model.safetensors")), await readFile(join(runDir(ref, spec.id), "model.safetensors")));

  // a directory without a checkpoint starts again; a directory with another config is refused
  const [other] = expandRuns([{ slug: "resume", config: tinyConfig(6, 6, 50), tags: {} }]);
  assert.equal(await runState(out, { ...other, id: spec.id }), "finished");
  await assert.rejects(runOne({ ...other, id: spec.id, analyze: true }, { out, kernels }), /differs from the preset's config/);
});

test("local workers: 2 processes give the same runs as one process", async () => {
  const runs = planRuns([tinyPreset], "quick").all.slice(0, 3);
  const out = join(root, "workers");
  const events: SweepEvent[] = [];
  assert.equal(await runWorkers(runs, 2, { out, kernels, onEvent: (e) => events.push(e) }), true);
  assert.deepEqual(events.filter((e) => e.type === "done").map((e) => e.id).sort(), runs.map((r) => r.id).sort());
  for (const r of runs) {
    assert.equal(await runState(out, r), "finished");
    const a = JSON.parse(await readFile(join(runDir(out, r.id), "summary.json"), "utf8"));
    const b = JSON.parse(await readFile(join(runDir(join(root, "unsharded"), r.id), "summary.json"), "utf8"));
    assert.equal(a.val_loss, b.val_loss);
  }
});

test("figures render to SVG (line marks, log axes, heatmap cells in the paper's colours) and PNG", async () => {
  const svg = await renderSvg(lineChart({ title: "T", data: [{ x: 1, y: 1e-3, c: "a" }, { x: 10, y: 1e-5, c: "a" }, { x: 100, y: 1e-7, c: "b" }], x: { field: "x", title: "N", log: true }, y: { field: "y", title: "loss", log: true }, color: { field: "c", title: "c" }, vrules: [{ x: 27, label: "construction" }] }));
  assert.match(svg, /^<svg/);
  assert.match(svg, /mark-line/);
  assert.match(svg, /mark-rule/);
  assert.match(svg, /construction/);
  assert.match(svg, /1e-5/); // log-axis tick labels
  const hm = await renderSvg(heatmapFigure({ title: "H", panels: [{ title: "W", matrix: [[1, -1], [0, 0.5]] }], zeroTol: 1e-3 }));
  assert.match(hm, /mark-rect/);
  assert.match(hm, /rgb\(200, ?200, ?200\)|#c8c8c8/i); // grey zero
  assert.match(hm, /rgb\(33, ?102, ?172\)|#2166ac/i); // full blue for the largest positive entry
  assert.match(hm, /rgb\(178, ?24, ?43\)|#b2182b/i); // full red for the most negative
  const png = renderPng(svg);
  assert.deepEqual([...png.subarray(0, 8)], [137, 80, 78, 71, 13, 10, 26, 10]);
});

test("results.csv: analysis scalars flattened, missing values empty", () => {
  const rec = (id: string, analysis?: Record<string, unknown>): RunRecord => ({
    id, tags: { seed: 0 }, task: "t", model: "m", layers: 0, seed: 0, params: 3, steps: 10, step: 10, finished: true, train_loss: 0.5, val_loss: NaN,
    zero_val_loss: 1, elapsed_s: 2, curve: [], ...(analysis ? { analysis } : {}),
  });
  const csv = resultsCsv([rec("a", { loss: 1e-3, gd_coefficients: [1, 2], figures: { x: 1 }, merge: null }), rec("b")]).trim().split("\n");
  const cols = csv[0].split(",");
  assert.ok(cols.includes("analysis.loss") && cols.includes("analysis.gd_coefficients") && !cols.includes("analysis.figures"));
  const a = Object.fromEntries(csv[1].split(",").map((v, j) => [cols[j], v]));
  const b = Object.fromEntries(csv[2].split(",").map((v, j) => [cols[j], v]));
  assert.equal(a["analysis.gd_coefficients"], "1;2");
  assert.equal(a.val_loss, "");
  assert.equal(b["analysis.loss"], "");
});

test("gra reproduce: usage errors exit 2; --list prints the plan", async () => {
  const run = async (args: string[]) => {
    let out = "";
    let err = "";
    const code = await runCli(args, commands, { stdout: (t) => void (out += t), stderr: (t) => void (err += t) });
    return { code, out, err };
  };
  const bad = await run(["reproduce", "table9", "--out", join(root, "x")]);
  assert.equal(bad.code, 2, bad.err);
  assert.match(bad.err, /PRESET/);
  const shard = await run(["reproduce", "table1", "--shard", "3/3", "--out", join(root, "x")]);
  assert.equal(shard.code, 2);
  assert.match(shard.err, /--shard/);
  const list = await run(["reproduce", "table2", "--scale", "paper", "--list", "--shard", "1/2", "--out", join(root, "x")]);
  assert.equal(list.code, 0, list.err);
  assert.match(list.out, /^4 runs \(table2, scale paper\); shard 1\/2 has 2/);
  assert.match(list.out, /table2-paper-s0-[0-9a-f]{10}  300000 steps/);
});
