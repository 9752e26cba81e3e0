/**
 * Sweeps (Node): a preset's run drafts -> RunSpecs with stable ids -> run directories OUT/runs/<id>.
 *
 * - Ids: `<slug>-<hash>`, the hash being the first 10 hex digits of sha256 over the canonical JSON of the parsed
 *   TrainConfig without `threads` (1 and 2 threads train bit-identically), so the same config and seed always land
 *   in the same directory, on any machine, in any shard.
 * - Shards: `partition(runs, n)` assigns runs to n shards greedily by cost (largest first, to the least loaded shard,
 *   ties to the lowest index): deterministic, balanced, the same on every machine of a batch job.
 * - A run directory is finished when it has summary.json (and analysis.json when the run asks for the analysis);
 *   a directory with a checkpoint resumes (`runTraining --resume`), one without is started again from scratch.
 * - Local workers: `runSweep` with `workers > 1` forks that many processes (src/experiments/worker.ts), each running
 *   its share of the runs (the same cost partition as shards) and reporting progress over IPC.
 */
import { createHash } from "node:crypto";
import { fork } from "node:child_process";
import { mkdir, readFile, readdir, rm } from "node:fs/promises";
import { cpus } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { fileExists, writeFileAtomic } from "../io/files.ts";
import type { Kernels } from "../kernels/types.ts";
import { getTask } from "../tasks/registry.ts";
import { canonicalJson } from "../config.ts";
import { groupKey } from "../train/group.ts";
import type { MetricsLine, Progress } from "../train/run.ts";
import { checkpointStep, parseMetrics, runGroup } from "../train/run.ts";
import { parseTrainConfig, resolveModel } from "../train/loop.ts";
import type { TrainConfig } from "../train/loop.ts";
import { analyzeRun } from "./analysis.ts";
import type { RunDraft, RunSpec } from "./types.ts";

export { canonicalJson };

/** The parsed config of a draft, every default written out, without `threads` and a `device` of "cpu" (not part of a run's identity). */
export function identityConfig(raw: Record<string, unknown>): Record<string, unknown> {
  const { threads: _t, device, ...rest } = parseTrainConfig({ ...raw, threads: 1 }) as unknown as Record<string, unknown>;
  // device "cpu" (the default) is left out so that ids of runs planned before the key existed stay the same
  return device === "cpu" ? rest : { ...rest, device };
}

/** Trainable parameter count of a parsed TrainConfig's model (sum of its tensor sizes). */
export function paramCount(cfg: TrainConfig): number {
  const { dIn, dOut } = getTask(cfg.task).dims(cfg.task_config);
  const { family, config } = resolveModel(cfg, dIn, dOut);
  let n = 0;
  for (const shape of Object.values(family.shapes(config as never))) n += shape.reduce((a, b) => a * b, 1);
  return n;
}

/** A draft's stable id: `<slug>-<10 hex digits of sha256(canonical identity config)>`. */
export function runId(draft: RunDraft): string {
  const h = createHash("sha256").update(canonicalJson(identityConfig(draft.config))).digest("hex").slice(0, 10);
  return `${draft.slug}-${h}`;
}

/** Drafts -> RunSpecs (ids, parsed configs, costs), duplicates (same id) dropped, order kept. */
export function expandRuns(drafts: readonly RunDraft[]): RunSpec[] {
  const out: RunSpec[] = [];
  const seen = new Set<string>();
  for (const d of drafts) {
    const parsed = identityConfig(d.config);
    const id = `${d.slug}-${createHash("sha256").update(canonicalJson(parsed)).digest("hex").slice(0, 10)}`;
    if (seen.has(id)) {
      const prev = out.find((r) => r.id === id)!;
      prev.analyze ||= d.analyze;
      continue;
    }
    seen.add(id);
    const cfg = parseTrainConfig({ ...d.config, threads: 1 });
    const params = paramCount(cfg);
    const T = Number((cfg.task_config as { T?: number }).T ?? 1);
    out.push({ ...d, id, parsed, steps: cfg.steps, params, cost: cfg.steps * cfg.batch * T * (params + 2000) }); // + per-step overhead that does not scale with size
  }
  return out;
}

/** Parses `i/n` (0 <= i < n) as given to `--shard`; throws a one-line message otherwise. */
export function parseShard(text: string): { index: number; count: number } {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  if (!m) throw new Error(`expected i/n with 0 <= i < n (e.g. 0/4), got ${JSON.stringify(text)}`);
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (count < 1 || index >= count) throw new Error(`expected i/n with 0 <= i < n (e.g. 0/4), got ${JSON.stringify(text)}`);
  return { index, count };
}

/** Splits runs into n shards: largest cost first to the least-loaded shard (ties: lowest index); each shard keeps run order. */
export function partition<T extends { cost: number }>(runs: readonly T[], n: number): T[][] {
  const order = runs.map((r, i) => i).sort((a, b) => runs[b].cost - runs[a].cost || a - b);
  const load = new Array<number>(n).fill(0);
  const owner = new Array<number>(runs.length);
  for (const i of order) {
    let best = 0;
    for (let s = 1; s < n; s++) if (load[s] < load[best]) best = s;
    owner[i] = best;
    load[best] += runs[i].cost;
  }
  const shards: T[][] = Array.from({ length: n }, () => []);
  runs.forEach((r, i) => shards[owner[i]].push(r));
  return shards;
}

/** State of a run directory: absent, finished (summary + analysis if asked), trained (analysis missing), resumable, or stale (no checkpoint). */
export type RunState = "absent" | "finished" | "trained" | "resumable" | "stale";

/** Where a run lives: OUT/runs/<id>. */
export function runDir(out: string, id: string): string {
  return join(out, "runs", id);
}

/** The state of run `spec`'s directory under `out` (see RunState). */
export async function runState(out: string, spec: Pick<RunSpec, "id" | "analyze">): Promise<RunState> {
  const dir = runDir(out, spec.id);
  if (!(await fileExists(dir))) return "absent";
  if (await fileExists(join(dir, "summary.json"))) return spec.analyze && !(await fileExists(join(dir, "analysis.json"))) ? "trained" : "finished";
  if (await fileExists(join(dir, "checkpoint.safetensors"))) return "resumable";
  return "stale";
}

/** Progress events of a sweep (in-process or from a worker over IPC). */
export type SweepEvent =
  | { type: "start"; id: string; steps: number; resumed: boolean }
  | { type: "progress"; id: string; step: number; steps: number; loss: number; val_loss: number }
  | { type: "log"; id: string; line: MetricsLine }
  | { type: "done"; id: string; skipped: boolean; elapsed_s: number; val_loss: number }
  | { type: "analysis-failed"; id: string; message: string };

/** How runOne / runSequential execute runs. */
export interface ExecOptions {
  out: string;
  kernels: (cfg: TrainConfig) => Kernels;
  /** Threads per run (TrainConfig.threads; bit-identical results for 1 and 2). */
  threads?: number;
  /** Most runs per run group (runs of one shape trained in lockstep; 1 = one run at a time). Default: defaultGroupSize. */
  groupSize?: number;
  signal?: AbortSignal;
  onEvent?: (e: SweepEvent) => void;
}

/**
 * Default run-group size on a device: as many runs of one shape as the plan has, capped for memory at 8 on the CPU
 * (every run keeps its own trainer and activations) and 64 on a GPU (64 paper-size teacher-student runs hold ~0.4 GB
 * of activations).
 */
export function defaultGroupSize(device: TrainConfig["device"]): number {
  return device === "webgpu" ? 64 : 8;
}

/**
 * Brings one run to "finished": skips it if finished, resumes it if it has a checkpoint, starts it again if its
 * directory holds no checkpoint, then runs the analysis when asked. Refuses a directory trained with another config.
 * Returns false when interrupted by the signal. (runSequential with a group of one.)
 */
export async function runOne(spec: RunSpec, opts: ExecOptions): Promise<boolean> {
  return runSequential([spec], { ...opts, groupSize: 1 });
}

/** Throws when DIR/config.json is not the config `spec` describes (a run id collision or a hand-edited directory). */
async function checkSameConfig(dir: string, spec: RunSpec): Promise<void> {
  let saved: Record<string, unknown>;
  try {
    saved = JSON.parse(await readFile(join(dir, "config.json"), "utf8"));
  } catch {
    return; // runTraining reports a missing or broken config.json itself
  }
  if (canonicalJson(identityConfig(saved)) !== canonicalJson(spec.parsed)) {
    throw new Error(`${dir}: config.json differs from the preset's config for ${spec.id}; move the directory away or use another --out`);
  }
}

/** Runs the analysis of a trained run when its spec asks for it (a failure is an event, not an error), then "done". */
async function finishRun(spec: RunSpec, opts: ExecOptions, t0: number): Promise<void> {
  const dir = runDir(opts.out, spec.id);
  if (spec.analyze) {
    try {
      const a = await analyzeRun(dir);
      if (a) await writeFileAtomic(join(dir, "analysis.json"), JSON.stringify(a, null, 1) + "\n");
    } catch (e) {
      opts.onEvent?.({ type: "analysis-failed", id: spec.id, message: (e as Error).message.split("\n")[0] });
    }
  }
  const summary = JSON.parse(await readFile(join(dir, "summary.json"), "utf8")) as { val_loss: number };
  opts.onEvent?.({ type: "done", id: spec.id, skipped: false, elapsed_s: (performance.now() - t0) / 1000, val_loss: summary.val_loss });
}

/**
 * Runs `runs` in this process, in plan order, as run groups: finished runs are skipped, runs needing only their
 * analysis get it, and the rest are grouped by shape (groupKey) and starting step (0, or a resumable run's checkpoint
 * step) into groups of at most `groupSize` runs trained in lockstep (runGroup; a run in a group computes exactly what
 * it computes alone). Stops early (returning false) when the signal aborts.
 */
export async function runSequential(runs: readonly RunSpec[], opts: ExecOptions): Promise<boolean> {
  const todo: { spec: RunSpec; resume: boolean; key: string }[] = [];
  for (const spec of runs) {
    if (opts.signal?.aborted) return false;
    const dir = runDir(opts.out, spec.id);
    const state = await runState(opts.out, spec);
    if (state === "finished") {
      opts.onEvent?.({ type: "done", id: spec.id, skipped: true, elapsed_s: 0, val_loss: NaN });
      continue;
    }
    if (state === "resumable" || state === "trained") await checkSameConfig(dir, spec);
    if (state === "trained") {
      await finishRun(spec, opts, performance.now());
      continue;
    }
    if (state === "stale") await rm(dir, { recursive: true, force: true });
    const resume = state === "resumable";
    const cfg = parseTrainConfig({ ...spec.config, threads: opts.threads ?? 1 });
    todo.push({ spec, resume, key: `${groupKey(cfg)}@${resume ? await checkpointStep(dir) : 0}` });
  }
  const groups: (typeof todo)[] = [];
  const open = new Map<string, typeof todo>();
  for (const t of todo) {
    const cap = Math.max(1, opts.groupSize ?? defaultGroupSize(parseTrainConfig(t.spec.config).device));
    let g = open.get(t.key);
    if (!g || g.length >= cap) {
      g = [];
      groups.push(g);
      open.set(t.key, g);
    }
    g.push(t);
  }
  await mkdir(join(opts.out, "runs"), { recursive: true });
  for (const g of groups) {
    if (opts.signal?.aborted) return false;
    const t0 = performance.now();
    for (const t of g) opts.onEvent?.({ type: "start", id: t.spec.id, steps: t.spec.steps, resumed: t.resume });
    const ids = g.map((t) => t.spec.id);
    let lastShown = -Infinity;
    let shown = true;
    const summaries = await runGroup(
      g.map((t) => ({ raw: t.resume ? {} : { ...t.spec.config, threads: opts.threads ?? 1 }, out: runDir(opts.out, t.spec.id), resume: t.resume })),
      {
        kernels: opts.kernels,
        signal: opts.signal,
        onProgress: (r, p: Progress) => {
          // a group reports every run's progress at most every 200 ms (and at the end), a single run every step
          if (g.length > 1 && r === 0) {
            const now = performance.now();
            shown = now - lastShown > 200 || p.step === p.steps;
            if (shown) lastShown = now;
          }
          if (g.length === 1 || shown) opts.onEvent?.({ type: "progress", id: ids[r], step: p.step, steps: p.steps, loss: p.loss, val_loss: p.val_loss });
        },
        onLog: (r, line) => opts.onEvent?.({ type: "log", id: ids[r], line }),
      },
    );
    if (summaries.some((s) => s.interrupted)) return false;
    for (const t of g) await finishRun(t.spec, opts, t0);
  }
  return true;
}

/** Default worker count: one per core (each run single-threaded). */
export function defaultWorkers(): number {
  return Math.max(1, cpus().length);
}

/** The worker module next to this file (.ts under tsx, .js in dist/). */
function workerPath(): string {
  const here = fileURLToPath(import.meta.url);
  return join(here, "..", here.endsWith(".ts") ? "worker.ts" : "worker.js");
}

/**
 * The shares of `workers` local processes: the runs of each shape (groupKey) spread evenly over the workers first,
 * in would-be run groups of at most min(groupSize, ceil(runs of the shape / workers)) runs in plan order, and those
 * partitioned by cost (partition): runs that can train together land in one process, but never at the price of a
 * worker left idle (a group runs its runs on one core, so two runs of a shape on two workers finish in half the time).
 * Each share keeps plan order.
 */
export function partitionGroups(runs: readonly RunSpec[], workers: number, opts: Pick<ExecOptions, "groupSize" | "threads">): RunSpec[][] {
  const byShape = new Map<string, { runs: RunSpec[]; cap: number }>();
  for (const r of runs) {
    const cfg = parseTrainConfig({ ...r.config, threads: opts.threads ?? 1 });
    const key = groupKey(cfg);
    let g = byShape.get(key);
    if (!g) byShape.set(key, (g = { runs: [], cap: Math.max(1, opts.groupSize ?? defaultGroupSize(cfg.device)) }));
    g.runs.push(r);
  }
  const chunks: { runs: RunSpec[]; cost: number }[] = [];
  for (const { runs: rs, cap } of byShape.values()) {
    const size = Math.max(1, Math.min(cap, Math.ceil(rs.length / Math.max(1, workers))));
    for (let i = 0; i < rs.length; i += size) {
      const part = rs.slice(i, i + size);
      chunks.push({ runs: part, cost: part.reduce((a, r) => a + r.cost, 0) });
    }
  }
  const order = new Map(runs.map((r, i) => [r.id, i]));
  return partition(chunks, Math.max(1, Math.min(workers, chunks.length))).map((share) => share.flatMap((c) => c.runs).sort((a, b) => order.get(a.id)! - order.get(b.id)!));
}

/**
 * Runs `runs` on `workers` local processes (forked src/experiments/worker.ts; shares by partitionGroups, so runs of
 * one shape stay together), forwarding their events. Resolves true when every worker finished its share; false when
 * interrupted; rejects on a worker's error (the other workers finish their current run's checkpoint first).
 */
export async function runWorkers(runs: readonly RunSpec[], workers: number, opts: ExecOptions & { kernelsName?: string }): Promise<boolean> {
  const shares = partitionGroups(runs, workers, opts).filter((s) => s.length > 0);
  if (shares.length <= 1) return runSequential(shares[0] ?? [], opts);
  const results = await Promise.allSettled(
    shares.map(
      (share) =>
        new Promise<boolean>((resolve, reject) => {
          const child = fork(workerPath(), [], { execArgv: process.execArgv, stdio: ["ignore", "inherit", "inherit", "ipc"] });
          let failed: string | undefined;
          let ok = false;
          const abort = () => child.connected && child.send({ type: "abort" });
          opts.signal?.addEventListener("abort", abort, { once: true });
          child.on("message", (m: { type: string; message?: string; ok?: boolean } & Record<string, unknown>) => {
            if (m.type === "error") failed = m.message;
            else if (m.type === "finished") ok = !!m.ok;
            else opts.onEvent?.(m as unknown as SweepEvent);
          });
          child.on("exit", (code) => {
            opts.signal?.removeEventListener("abort", abort);
            if (failed !== undefined) reject(new Error(failed));
            else if (code !== 0 && !opts.signal?.aborted) reject(new Error(`a worker process exited with code ${code}`));
            else resolve(ok);
          });
          child.send({ type: "run", runs: share, out: opts.out, threads: opts.threads ?? 1, groupSize: opts.groupSize });
        }),
    ),
  );
  const err = results.find((r) => r.status === "rejected") as PromiseRejectedResult | undefined;
  if (err) throw err.reason;
  return results.every((r) => r.status === "fulfilled" && r.value);
}

/** Reads a run's metrics.jsonl (empty when missing). */
export async function readMetrics(dir: string): Promise<MetricsLine[]> {
  try {
    return parseMetrics(await readFile(join(dir, "metrics.jsonl"), "utf8"));
  } catch {
    return [];
  }
}

/** Run ids present under OUT/runs (finished or not). */
export async function listRunDirs(out: string): Promise<string[]> {
  try {
    return (await readdir(join(out, "runs"))).sort();
  } catch {
    return [];
  }
}
