/**
 * `gra reproduce <preset|all>`: a table or figure of the paper end to end — plan the preset's runs, train this
 * shard's part (local worker processes with --workers, finished runs skipped, interrupted ones resumed), analyse,
 * and collect whatever has finished into results.csv / results.json, figures (SVG + PNG) and report.html.
 */
import { cpus, hostname } from "node:os";
import { join } from "node:path";
import { collectAll, executePlan, finishedCount, planRuns, shardRuns, writePlan } from "../experiments/driver.ts";
import { getPreset, presetNames, presets as allPresets } from "../experiments/presets.ts";
import { fmtDuration } from "../experiments/report.ts";
import type { SweepEvent } from "../experiments/sweep.ts";
import { parseShard, runState } from "../experiments/sweep.ts";
import type { ReportTable } from "../experiments/types.ts";
import { opt, UsageError } from "./args.ts";
import { defineCommand } from "./commands.ts";
import type { CommandContext } from "./commands.ts";
import { onInterrupt } from "./interrupt.ts";
import { kernelsForRun } from "../kernels/factory.ts";
import { progressView } from "./progress.ts";
import type { ProgressView } from "./progress.ts";

/** A ReportTable as aligned plain text. */
export function textTable(t: ReportTable): string {
  const rows = [t.columns, ...t.rows.map((r) => r.map(String))];
  const w = t.columns.map((_, j) => Math.max(...rows.map((r) => (r[j] ?? "").length)));
  const line = (r: string[]) => r.map((c, j) => (j === 0 ? c.padEnd(w[j]) : c.padStart(w[j]))).join("  ").trimEnd();
  return [t.title, line(rows[0]), ...rows.slice(1).map(line)].join("\n") + "\n";
}

/** Tracks a sweep's progress: runs done / total, cost-weighted ETA, and the current run's bar. */
class SweepProgress {
  private done = 0;
  private skipped = 0;
  private readonly t0 = performance.now();
  /** Runs in progress; step0 = the first step seen in this invocation (a resumed run's earlier steps are not timed here). */
  private readonly active = new Map<string, { step: number; step0?: number; steps: number; loss: number; val: number }>();
  private doneCost = 0;
  private bar?: ProgressView;
  private barId?: string;
  private lastRate = { t: performance.now(), step: 0, text: "" };

  constructor(private readonly runs: Map<string, { cost: number; steps: number }>, private readonly total: number, private readonly workers: number, private readonly ctx: CommandContext, private readonly quiet: boolean) {}

  private activeCost(): number {
    let c = 0;
    for (const [id, a] of this.active) c += ((this.runs.get(id)?.cost ?? 0) * (a.step - (a.step0 ?? a.step))) / Math.max(1, a.steps);
    return c;
  }

  /** Seconds left for the whole sweep (this invocation), from the cost done so far. */
  eta(): number {
    const todo = [...this.runs.values()].reduce((s, r) => s + r.cost, 0) - this.skippedCost;
    const done = this.doneCost + this.activeCost();
    if (done <= 0) return NaN;
    return ((performance.now() - this.t0) / 1000) * Math.max(0, todo - done) / done;
  }

  private skippedCost = 0;

  private stopBar(): void {
    this.bar?.stop();
    this.bar = undefined;
    this.barId = undefined;
  }

  handle(e: SweepEvent): void {
    if (e.type === "start") {
      this.active.set(e.id, { step: 0, steps: e.steps, loss: NaN, val: NaN });
      if (!this.quiet) {
        this.stopBar();
        this.ctx.stderr(`[${this.done + this.active.size}/${this.total}] ${e.resumed ? "resuming" : "training"} ${e.id}\n`);
      }
    } else if (e.type === "progress") {
      const a = this.active.get(e.id);
      if (a) {
        if (a.step0 === undefined) {
          // what a resumed run did before this invocation counts as skipped, not as done in this invocation's time
          a.step0 = e.step;
          this.skippedCost += ((this.runs.get(e.id)?.cost ?? 0) * e.step) / Math.max(1, e.steps);
        }
        Object.assign(a, { step: e.step, steps: e.steps, loss: e.loss, val: e.val_loss });
      }
      if (this.quiet) return;
      const eta = this.eta();
      const sweep = `${this.done}/${this.total} runs done, ETA ${Number.isFinite(eta) ? fmtDuration(eta) : "?"}`;
      if (this.workers <= 1 && this.active.size <= 1) {
        if (this.barId !== e.id) {
          this.stopBar();
          this.bar = progressView(e.steps, "run");
          this.barId = e.id;
          this.lastRate = { t: performance.now(), step: e.step, text: "" };
        }
        const now = performance.now();
        if (now - this.lastRate.t > 1000) this.lastRate = { t: now, step: e.step, text: `${((e.step - this.lastRate.step) / ((now - this.lastRate.t) / 1000)).toFixed(0)} steps/s` };
        this.bar!.update(e.step, { rate: this.lastRate.text, loss: e.loss.toExponential(2), val: Number.isNaN(e.val_loss) ? "-" : e.val_loss.toExponential(2), sweep });
      } else {
        const total = [...this.runs.values()].reduce((s, r) => s + r.steps, 0);
        if (!this.bar) {
          this.bar = progressView(total, "steps");
          this.barId = "*";
        }
        let value = 0;
        for (const [id, r] of this.runs) value += this.finished.has(id) ? r.steps : this.active.get(id)?.step ?? 0;
        const cur = [...this.active.entries()].map(([id, a]) => `${id.replace(/-[0-9a-f]{10}$/, "")} ${Math.round((100 * a.step) / Math.max(1, a.steps))}%`).join(", ");
        this.bar.update(value, { rate: sweep, active: cur });
      }
    } else if (e.type === "done") {
      const a = this.active.get(e.id);
      this.active.delete(e.id);
      this.finished.add(e.id);
      this.done++;
      if (e.skipped) {
        this.skipped++;
        this.skippedCost += this.runs.get(e.id)?.cost ?? 0;
      } else {
        // the part before a resume was counted as skipped at its first progress event
        const cost = this.runs.get(e.id)?.cost ?? 0;
        this.doneCost += a?.step0 !== undefined ? (cost * (a.steps - a.step0)) / Math.max(1, a.steps) : cost;
      }
      if (this.quiet) return;
      if (this.workers <= 1 || !e.skipped) this.stopBar();
      if (e.skipped) this.ctx.stderr(`[${this.done}/${this.total}] ${e.id}: finished earlier, skipped\n`);
      else {
        const eta = this.eta();
        this.ctx.stderr(`[${this.done}/${this.total}] ${e.id}: done in ${fmtDuration(e.elapsed_s)}, val loss ${(a?.val ?? e.val_loss).toExponential(3)}${this.done < this.total && Number.isFinite(eta) ? `; sweep ETA ${fmtDuration(eta)}` : ""}\n`);
      }
    } else if (e.type === "analysis-failed") {
      if (!this.quiet) {
        this.stopBar();
        this.ctx.stderr(`gra reproduce: analysis of ${e.id} failed: ${e.message}\n`);
      }
    }
  }

  private readonly finished = new Set<string>();

  stop(): void {
    this.stopBar();
  }
}

/** `gra reproduce`: plan, train (workers / shards), analyse and collect a preset of the paper. */
export const reproduceCommand = defineCommand({
  name: "reproduce",
  summary: "reproduce a table or figure of the paper end to end (runs, analysis, figures, report.html)",
  description:
    "Presets: table1 (+ fig2), table2, fig3a, fig3b, fig4a, fig4b, fig5, or all. --scale quick: minutes on a laptop,\n" +
    "same qualitative result (deviations listed in the report); --scale paper: the paper's protocol (App. B.1 / C.1).\n" +
    "Runs live in OUT/runs/<id> (id = name + hash of the config): finished runs are skipped, interrupted ones resume.\n" +
    "--workers N trains on N local processes; --shard i/n (0 <= i < n) trains only shard i, for batch systems\n" +
    "(Slurm: --shard $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT; Kubernetes Indexed Job: JOB_COMPLETION_INDEX)\n" +
    "writing to shared storage; then --collect aggregates whatever has finished into results.csv / results.json,\n" +
    "figures/ (SVG + PNG) and report.html. Without --shard the results are collected after the runs. Runs of one shape\n" +
    "train together as run groups (--group-size; a run in a group computes exactly what it computes alone).\n" +
    "--device webgpu moves the gated-RNN runs to a GPU (new run ids: another data stream); give it to --collect too.",
  options: {
    preset: opt.positional(`what to reproduce: ${[...presetNames, "all"].join(" | ")}`, { metavar: "PRESET", required: true }),
    scale: opt.enum("quick (minutes, documented deviations) or paper (the paper's protocol)", ["quick", "paper"] as const, { default: "quick" }),
    workers: opt.int("local worker processes (default: 1 for a single run, else the number of cores)", { min: 1, max: 256 }),
    shard: opt.string("run only shard i of n (0 <= i < n), e.g. --shard $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT"),
    collect: opt.flag("do not train: aggregate whatever has finished under --out into results and the report"),
    threads: opt.int("threads per run (default: 2 for a single run with one worker on a 2+-core machine, else 1)", { min: 1, max: 64 }),
    device: opt.enum("cpu, or webgpu: the gated-RNN runs train on a GPU (the others stay on the CPU); part of the run ids", ["cpu", "webgpu"] as const, { default: "cpu" }),
    groupSize: opt.int("most runs of one shape trained together as a run group (default: all of a shape, at most 8 on cpu, 64 on webgpu; 1 = one at a time)", { min: 1, max: 4096 }),
    list: opt.flag("print the planned runs (id, shard, steps, state) and exit"),
    out: opt.path("output directory (runs/, results, figures/, report.html)", { required: true }),
    json: opt.flag("print the preset's numbers as one JSON object"),
  },
  async run(o, ctx) {
    if (o.preset !== "all" && !presetNames.includes(o.preset)) throw new UsageError(`PRESET: expected one of ${[...presetNames, "all"].join("|")}, got ${JSON.stringify(o.preset)}`);
    let shard: { index: number; count: number } | undefined;
    if (o.shard !== undefined) {
      try {
        shard = parseShard(o.shard);
      } catch (e) {
        throw new UsageError(`--shard: ${(e as Error).message}`);
      }
    }
    if (o.collect && shard) throw new UsageError("--collect aggregates every shard's runs; drop --shard");
    const presets = o.preset === "all" ? [...allPresets] : [getPreset(o.preset)];
    const scale = o.scale;
    const { all } = planRuns(presets, scale, o.device);
    const mine = shardRuns(all, shard);

    if (o.list) {
      const lines = [`${all.length} runs (${presets.map((p) => p.name).join(", ")}, scale ${scale})${shard ? `; shard ${shard.index}/${shard.count} has ${mine.length}` : ""}`];
      const shardOf = new Map<string, number>();
      if (shard) shardRuns(all, shard).forEach((r) => shardOf.set(r.id, shard!.index));
      for (const r of all) lines.push(`${r.id}  ${r.steps} steps  ${r.params} params  ${await runState(o.out, r)}${shardOf.has(r.id) ? "  (this shard)" : ""}`);
      ctx.stdout(lines.join("\n") + "\n");
      return 0;
    }

    const cores = cpus().length;
    const workers = Math.max(1, Math.min(o.workers ?? (mine.length > 1 ? cores : 1), Math.max(1, mine.length)));
    const threads = o.threads ?? (workers === 1 && mine.length === 1 && cores >= 2 ? 2 : 1);
    const t0 = performance.now();
    let interrupted = false;
    if (!o.collect) {
      await writePlan(o.out, presets, scale, all, shard?.count ?? 1);
      const interrupt = onInterrupt(ctx, "gra reproduce: interrupted, writing checkpoints (Ctrl-C again to quit at once); run the same command again to resume");
      const progress = new SweepProgress(new Map(mine.map((r) => [r.id, { cost: r.cost, steps: r.steps }])), mine.length, workers, ctx, false);
      ctx.stderr(`gra reproduce ${o.preset} --scale ${scale}: ${mine.length} run(s)${shard ? ` in shard ${shard.index}/${shard.count} (of ${all.length})` : ""} on ${workers} worker(s) x ${threads} thread(s) -> ${o.out}\n`);
      try {
        const ok = await executePlan(all, {
          out: o.out, scale, shard, workers, threads, groupSize: o.groupSize, signal: interrupt.signal,
          kernels: kernelsForRun,
          onEvent: (e) => progress.handle(e),
        });
        interrupted = !ok;
      } finally {
        progress.stop();
        interrupt.dispose();
      }
      if (interrupted) {
        ctx.stderr(`gra reproduce: stopped; run the same command again to resume\n`);
        return 130;
      }
    }

    const finished = await finishedCount(o.out, all);
    if (shard && !o.collect && finished < all.length) {
      ctx.stderr(`shard ${shard.index}/${shard.count} done (${mine.length} runs, ${fmtDuration((performance.now() - t0) / 1000)}); ${finished}/${all.length} runs of the sweep finished. ` +
        `When every shard is done: gra reproduce ${o.preset} --scale ${scale} --out ${o.out} --collect\n`);
      return 0;
    }
    const context = {
      command: `gra reproduce ${o.preset} --scale ${scale}${shard ? ` --shard ${shard.index}/${shard.count}` : ""}${o.collect ? " --collect" : ""} --out ${o.out}`,
      host: `${hostname()} (${cores} cores, Node ${process.version})`,
      "wall-clock time of this invocation": fmtDuration((performance.now() - t0) / 1000),
      "workers x threads": `${workers} x ${threads}`,
    };
    const written = await collectAll(presets, scale, o.out, { context, device: o.device });
    if (o.json) {
      const numbers = written.map((w, i) => ({ ...w.results.numbers, report: w.report, preset: presets[i].name, runs_finished: w.records.filter((r) => r.finished).length, runs_planned: planRuns([presets[i]], scale, o.device).all.length }));
      ctx.stdout(JSON.stringify(numbers.length === 1 ? numbers[0] : Object.fromEntries(numbers.map((n) => [n.preset, n])), null, 1) + "\n");
      return 0;
    }
    for (const [i, w] of written.entries()) {
      for (const n of w.results.notes) ctx.stderr(`note (${presets[i].name}): ${n}\n`);
      for (const t of w.results.tables) ctx.stdout("\n" + textTable(t));
      const dev = presets[i].deviations(scale);
      if (dev.length) ctx.stdout(`\n${scale} scale deviates from the paper's protocol:\n${dev.map((d) => `  - ${d}`).join("\n")}\n`);
    }
    ctx.stdout(`\nreport: ${written.length === 1 ? written[0].report : join(o.out, "report.html")}\n`);
    return 0;
  },
});
