/**
 * Collecting (Node): reads whatever runs have finished under OUT/runs back into RunRecords, and writes a preset's
 * results: results.json (records without curves, the preset's numbers and tables), results.csv (one row per run:
 * tags, losses, timings and the analysis' scalar fields), figures/<name>.svg + .png + .vl.json (the Vega-Lite spec),
 * and report.html.
 * Nothing here depends on which machine or shard produced a run: collecting after 3 shards gives the same files as
 * collecting after one unsharded invocation (timings aside).
 */
import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { writeFileAtomic } from "../io/files.ts";
import { renderPng, renderSvg } from "./figures.ts";
import { htmlReport } from "./report.ts";
import { readMetrics, runDir } from "./sweep.ts";
import type { Preset, PresetResults, RunRecord, RunSpec, Scale } from "./types.ts";

async function readJson(path: string): Promise<Record<string, unknown> | undefined> {
  try {
    return JSON.parse(await readFile(path, "utf8"));
  } catch {
    return undefined;
  }
}

/** Keeps at most `n` points of a curve (evenly spaced, always the last). */
function thin<T>(a: T[], n: number): T[] {
  if (a.length <= n) return a;
  const out: T[] = [];
  for (let i = 0; i < n - 1; i++) out.push(a[Math.floor((i * (a.length - 1)) / (n - 1))]);
  out.push(a[a.length - 1]);
  return out;
}

/** The record of run `spec` under `out`, or undefined when it has not started (no metrics yet). */
export async function readRecord(out: string, spec: RunSpec): Promise<RunRecord | undefined> {
  const dir = runDir(out, spec.id);
  const metrics = await readMetrics(dir);
  const summary = await readJson(join(dir, "summary.json"));
  if (!metrics.length && !summary) return undefined;
  const last = metrics[metrics.length - 1];
  const k = Math.max(1, Math.min(10, Math.ceil(metrics.length / 10)));
  const tail = metrics.slice(-k);
  const p = spec.parsed as { task: string; model: string; layers: number; seed: number };
  const analysis = await readJson(join(dir, "analysis.json"));
  return {
    id: spec.id,
    tags: spec.tags,
    task: p.task,
    model: p.model,
    layers: p.layers,
    seed: p.seed,
    params: spec.params,
    steps: spec.steps,
    step: summary ? spec.steps : last?.step ?? 0,
    finished: !!summary,
    train_loss: tail.length ? tail.reduce((s, m) => s + m.loss, 0) / tail.length : NaN,
    val_loss: summary ? Number(summary.val_loss) : last?.val_loss ?? NaN,
    zero_val_loss: summary ? Number(summary.zero_val_loss) : NaN,
    elapsed_s: summary ? Number(summary.elapsed_s) : last?.elapsed_s ?? 0,
    curve: thin(metrics.map((m) => ({ step: m.step, loss: m.loss, val_loss: m.val_loss })), 200),
    ...(analysis ? { analysis } : {}),
  };
}

/** Records of `runs` in order; runs that have not started are left out. */
export async function readRecords(out: string, runs: readonly RunSpec[]): Promise<RunRecord[]> {
  const recs: RunRecord[] = [];
  for (const r of runs) {
    const rec = await readRecord(out, r);
    if (rec) recs.push(rec);
  }
  return recs;
}

/** Scalar fields of an analysis report for results.csv (numbers, number arrays joined by ";", numbers of nested objects as a.b.c). */
export function analysisScalars(a: Record<string, unknown> | undefined): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  if (!a) return out;
  for (const [k, v] of Object.entries(a)) {
    if (typeof v === "number") out[`analysis.${k}`] = v;
    else if (v === null) out[`analysis.${k}`] = "";
    else if (Array.isArray(v) && v.every((x) => typeof x === "number")) out[`analysis.${k}`] = v.join(";");
    else if (k !== "figures" && typeof v === "object" && !Array.isArray(v)) {
      // one level down: the canonical form's numbers (analysis.compressed.max_rel_error, ...), the pruning criteria
      for (const [k2, v2] of Object.entries(v as Record<string, unknown>)) {
        if (typeof v2 === "number") out[`analysis.${k}.${k2}`] = v2;
        else if (v2 !== null && typeof v2 === "object" && !Array.isArray(v2)) {
          for (const [k3, v3] of Object.entries(v2 as Record<string, unknown>)) if (typeof v3 === "number") out[`analysis.${k}.${k2}.${k3}`] = v3;
        }
      }
    }
  }
  return out;
}

/** One CSV cell: numbers as JSON numbers (NaN empty), strings quoted when needed. */
function csvCell(v: unknown): string {
  if (v === undefined || v === null) return "";
  if (typeof v === "number") return Number.isFinite(v) ? String(v) : "";
  const s = String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** results.csv text: one row per record; columns = id, tags, run fields, analysis scalars (union over rows, sorted). */
export function resultsCsv(records: readonly RunRecord[]): string {
  const rows = records.map((r) => ({
    id: r.id,
    ...Object.fromEntries(Object.entries(r.tags).map(([k, v]) => [`tag.${k}`, v])),
    task: r.task, model: r.model, layers: r.layers, seed: r.seed, params: r.params, steps: r.steps, step: r.step, finished: r.finished,
    train_loss: r.train_loss, val_loss: r.val_loss, zero_val_loss: r.zero_val_loss, elapsed_s: r.elapsed_s,
    ...analysisScalars(r.analysis),
  }) as Record<string, unknown>);
  const fixed = ["id", "task", "model", "layers", "seed", "params", "steps", "step", "finished", "train_loss", "val_loss", "zero_val_loss", "elapsed_s"];
  const extra = [...new Set(rows.flatMap((r) => Object.keys(r)))].filter((k) => !fixed.includes(k)).sort();
  const tagCols = extra.filter((k) => k.startsWith("tag."));
  const cols = [fixed[0], ...tagCols, ...fixed.slice(1), ...extra.filter((k) => !k.startsWith("tag."))];
  return [cols.join(","), ...rows.map((r) => cols.map((c) => csvCell(r[c])).join(","))].join("\n") + "\n";
}

/** Everything `writeResults` wrote, for the CLI's summary line. */
export interface Written {
  dir: string;
  report: string;
  figures: string[];
  results: PresetResults;
  records: RunRecord[];
}

/** Options of writeResults beyond the preset and its runs. */
export interface WriteOptions {
  /** Where results.csv/json, figures/ and report.html go. */
  dir: string;
  scale: Scale;
  /** Also write PNG copies of the figures (default true). */
  png?: boolean;
  /** Extra lines for the report's "Run" section (command line, host...). */
  context?: Record<string, string>;
}

/** Collects `preset`'s runs from `out` and writes results.csv, results.json, figures and report.html into `opts.dir`. */
export async function writeResults(preset: Preset, runs: readonly RunSpec[], out: string, opts: WriteOptions): Promise<Written> {
  const records = await readRecords(out, runs);
  const finished = records.filter((r) => r.finished);
  const results = preset.results(finished, opts.scale);
  const missing = runs.length - finished.length;
  if (missing > 0) results.notes.unshift(`${missing} of ${runs.length} runs have not finished yet; the results below use the ${finished.length} that have.`);
  await mkdir(join(opts.dir, "figures"), { recursive: true });
  const figures: string[] = [];
  const svgs: Record<string, string> = {};
  for (const f of results.figures) {
    const svg = await renderSvg(f.spec);
    svgs[f.name] = svg;
    const path = join(opts.dir, "figures", `${f.name}.svg`);
    await writeFileAtomic(path, svg);
    await writeFileAtomic(join(opts.dir, "figures", `${f.name}.vl.json`), JSON.stringify(f.spec) + "\n"); // for vega-embed (web page)
    figures.push(path);
    if (opts.png !== false) {
      const pngPath = join(opts.dir, "figures", `${f.name}.png`);
      await writeFileAtomic(pngPath, renderPng(svg));
      figures.push(pngPath);
    }
  }
  const json = {
    preset: preset.name,
    scale: opts.scale,
    deviations: preset.deviations(opts.scale),
    numbers: results.numbers,
    tables: results.tables,
    notes: results.notes,
    runs: records.map(({ curve: _c, analysis, ...r }) => ({ ...r, analysis: analysis ? stripFigures(analysis) : undefined })),
  };
  await writeFileAtomic(join(opts.dir, "results.json"), JSON.stringify(json, null, 1) + "\n");
  await writeFileAtomic(join(opts.dir, "results.csv"), resultsCsv(records));
  const report = join(opts.dir, "report.html");
  await writeFileAtomic(report, htmlReport({ preset, scale: opts.scale, results, records, runs, svgs, context: opts.context ?? {} }));
  return { dir: opts.dir, report, figures, results, records };
}

/** An analysis report without its bulky figure arrays (they live in analysis.json of the run). */
function stripFigures(a: Record<string, unknown>): Record<string, unknown> {
  const { figures: _f, ...rest } = a;
  return rest;
}
