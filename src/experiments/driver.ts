/**
 * The reproduction driver (Node), what `gra reproduce` calls: plan the runs of one or more presets at a scale (the
 * union of their drafts, deduplicated by run id, so Table 1 and Figure 2 share their run), execute this shard's part
 * (in this process or on local worker processes), and collect whatever has finished into per-preset results.
 *
 * Layout of OUT: `runs/<id>/` (one run directory each, shared by all presets), `plan.json` (the planned runs and
 * their shard assignment), and per preset `OUT/<preset>/{results.csv, results.json, figures/, report.html}`; with
 * several presets (`all`) an index `OUT/report.html` links their reports.
 */
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { writeFileAtomic } from "../io/files.ts";
import type { Kernels } from "../kernels/types.ts";
import { webgpuRefusal } from "../train/device.ts";
import type { TrainConfig } from "../train/loop.ts";
import { parseTrainConfig } from "../train/loop.ts";
import type { Written } from "./collect.ts";
import { writeResults } from "./collect.ts";
import { esc } from "./report.ts";
import type { SweepEvent } from "./sweep.ts";
import { expandRuns, partition, runSequential, runState, runWorkers } from "./sweep.ts";
import type { Preset, RunDraft, RunSpec, Scale } from "./types.ts";

/** The runs of `presets` at `scale`: every preset's drafts expanded, duplicates (same id) kept once, in order. */
export function planRuns(presets: readonly Preset[], scale: Scale, device: TrainConfig["device"] = "cpu"): { all: RunSpec[]; byPreset: Map<string, RunSpec[]> } {
  const drafts = (p: Preset) => p.runs(scale).map((d) => onDevice(d, device));
  const byPreset = new Map<string, RunSpec[]>();
  for (const p of presets) byPreset.set(p.name, expandRuns(drafts(p)));
  const all = expandRuns(presets.flatMap(drafts));
  return { all, byPreset };
}

/** A draft moved to `device` where that device trains its model (webgpu: the gated RNN; the rest stays on the CPU). */
function onDevice(d: RunDraft, device: TrainConfig["device"]): RunDraft {
  if (device === "cpu") return d;
  const cfg = parseTrainConfig({ ...d.config, threads: 1 });
  return webgpuRefusal(cfg) ? d : { ...d, config: { ...d.config, device } };
}

/** The runs shard `index` of `count` executes (the cost partition of sweep.ts `partition`). */
export function shardRuns(runs: readonly RunSpec[], shard?: { index: number; count: number }): RunSpec[] {
  if (!shard || shard.count <= 1) return [...runs];
  return partition(runs, shard.count)[shard.index];
}

/** Where a preset's results go: OUT/<preset> (presets sharing OUT, e.g. fig4a and fig5, never overwrite each other). */
export function resultsDir(out: string, preset: Preset): string {
  return join(out, preset.name);
}

/** Options of `executePlan`. */
export interface ExecutePlanOptions {
  out: string;
  scale: Scale;
  shard?: { index: number; count: number };
  /** Local worker processes (1 = this process). */
  workers?: number;
  threads?: number;
  /** Most runs per run group (see sweep.ts runSequential; default defaultGroupSize of the runs' device). */
  groupSize?: number;
  kernels: (cfg: TrainConfig) => Kernels;
  signal?: AbortSignal;
  onEvent?: (e: SweepEvent) => void;
}

/** Writes OUT/plan.json: scale, presets, and every run with its shard (for `count` shards) and config. */
export async function writePlan(out: string, presets: readonly Preset[], scale: Scale, runs: readonly RunSpec[], count = 1): Promise<void> {
  const shards = partition(runs, Math.max(1, count));
  const shardOf = new Map<string, number>();
  shards.forEach((s, i) => s.forEach((r) => shardOf.set(r.id, i)));
  const plan = {
    scale,
    presets: presets.map((p) => p.name),
    shards: count,
    runs: runs.map((r) => ({ id: r.id, shard: shardOf.get(r.id), steps: r.steps, params: r.params, tags: r.tags, analyze: !!r.analyze, config: r.parsed })),
  };
  await mkdir(out, { recursive: true });
  await writeFileAtomic(join(out, "plan.json"), JSON.stringify(plan, null, 1) + "\n");
}

/** Runs this shard's part of `runs` (finished ones are skipped, interrupted ones resume). Resolves false when interrupted. */
export async function executePlan(runs: readonly RunSpec[], opts: ExecutePlanOptions): Promise<boolean> {
  const mine = shardRuns(runs, opts.shard);
  const exec = { out: opts.out, kernels: opts.kernels, threads: opts.threads, groupSize: opts.groupSize, signal: opts.signal, onEvent: opts.onEvent };
  if ((opts.workers ?? 1) > 1) return runWorkers(mine, opts.workers!, exec);
  return runSequential(mine, exec);
}

/** Counts of finished runs among `runs` under `out`. */
export async function finishedCount(out: string, runs: readonly RunSpec[]): Promise<number> {
  let n = 0;
  for (const r of runs) if ((await runState(out, r)) === "finished") n++;
  return n;
}

/** Collects every preset from `out` (whatever has finished) and writes its results; an index report when several. */
export async function collectAll(
  presets: readonly Preset[], scale: Scale, out: string, opts: { png?: boolean; context?: Record<string, string>; device?: TrainConfig["device"] } = {},
): Promise<Written[]> {
  const { byPreset } = planRuns(presets, scale, opts.device);
  const several = presets.length > 1;
  const written: Written[] = [];
  for (const p of presets) {
    written.push(await writeResults(p, byPreset.get(p.name)!, out, { dir: resultsDir(out, p), scale, png: opts.png, context: opts.context }));
  }
  if (several) {
    const items = written.map((w, i) => `<li><a href="${esc(presets[i].name)}/report.html">${esc(presets[i].title)}</a>${w.results.notes.length ? ` <em>(${esc(w.results.notes[0])})</em>` : ""}</li>`);
    await writeFileAtomic(
      join(out, "report.html"),
      `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Reproduction (${esc(scale)})</title></head><body style="font:15px system-ui,sans-serif;max-width:900px;margin:2em auto">` +
        `<h1>Gated recurrent neural networks discover attention: reproduction at scale ${esc(scale)}</h1><ul>${items.join("\n")}</ul></body></html>\n`,
    );
  }
  return written;
}
