/**
 * `gra reproduce <preset|all>`: a table or figure of the paper end to end — plan the preset's runs, train this
 * shard's part (local worker processes with --workers, finished runs skipped, interrupted ones resumed), analyse,
 * and collect whatever has finished into results.csv / results.json, figures (SVG + PNG) and report.html.
 */
import { cpus, hostname } from "node:os";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { collectAll, executePlan, finishedCount, planRuns, shardRuns, writePlan } from "../experiments/driver.ts";
import { getPreset, presetNames, presets as allPresets } from "../experiments/presets.ts";
import { fmtDuration } from "../experiments/report.ts";
import { parseShard, runState } from "../experiments/sweep.ts";
import { opt, UsageError } from "./args.ts";
import { defineCommand } from "./commands.ts";
import { onInterrupt } from "./interrupt.ts";
import { kernelsForRun } from "../kernels/factory.ts";
import { commandStatus, SweepProgress } from "./progress.ts";
import { textTable } from "./text.ts";

/**
 * Parses --shard i/n with a message that says what to fix: the usual mistakes are an empty index (the batch system's
 * variable is unset: the script ran outside the scheduler) and a count taken from the array's size at submission
 * (Slurm's SLURM_ARRAY_TASK_COUNT is 1 when one task is resubmitted, making `17/1`).
 */
export function shardOption(text: string): { index: number; count: number } {
  try {
    return parseShard(text);
  } catch {
    // the messages below
  }
  const m = /^\s*(\d*)\s*\/\s*(\d*)\s*$/.exec(text);
  const hint = "(see docs/cluster.md)";
  if (m && m[1] === "") throw new UsageError(`--shard ${JSON.stringify(text)}: the shard index before the "/" is empty: is the batch system's index variable ($SLURM_ARRAY_TASK_ID, $JOB_COMPLETION_INDEX) set? Submit the script to the scheduler, or give --shard i/n by hand`);
  if (m && m[2] === "") throw new UsageError(`--shard ${JSON.stringify(text)}: the shard count after the "/" is empty: write the total number of shards into the script, e.g. --shard "$SLURM_ARRAY_TASK_ID/64" ${hint}`);
  if (m && Number(m[2]) === 0) throw new UsageError(`--shard ${text.trim()}: the shard count must be at least 1`);
  if (m) {
    throw new UsageError(
      `--shard ${text.trim()}: shard index ${Number(m[1])} is not below the shard count ${Number(m[2])}; n must be the total number of shards, ` +
        `fixed in the script (e.g. --shard "$SLURM_ARRAY_TASK_ID/64"), not $SLURM_ARRAY_TASK_COUNT, which is 1 when one array task is resubmitted ${hint}`,
    );
  }
  throw new UsageError(`--shard ${JSON.stringify(text)}: expected i/n, shard i of n (0 <= i < n), e.g. --shard 3/64`);
}

/**
 * Refuses a shard count other than the one OUT/plan.json records for the same runs (> 1 shards): tasks of two
 * different splits would train some runs twice at the same time. Deleting plan.json (once no task of the old
 * split runs) allows a new split.
 */
async function checkShardCount(out: string, all: readonly { id: string }[], shard: { index: number; count: number }): Promise<void> {
  let plan: { shards?: number; runs?: { id: string }[] };
  try {
    plan = JSON.parse(await readFile(join(out, "plan.json"), "utf8"));
  } catch {
    return; // no plan yet (or an unreadable one, which writePlan replaces)
  }
  const ids = new Set((plan.runs ?? []).map((r) => r.id));
  const same = ids.size === all.length && all.every((r) => ids.has(r.id));
  if (same && typeof plan.shards === "number" && plan.shards > 1 && plan.shards !== shard.count) {
    throw new UsageError(
      `--shard ${shard.index}/${shard.count}: ${join(out, "plan.json")} splits these runs into ${plan.shards} shards, and tasks of two splits would train some runs twice at once; ` +
        `use --shard i/${plan.shards}, or delete plan.json when no task of the ${plan.shards}-shard split is running`,
    );
  }
}

/** `gra reproduce`: plan, train (workers / shards), analyse and collect a preset of the paper. */
export const reproduceCommand = defineCommand({
  name: "reproduce",
  summary: "reproduce a table or figure of the paper end to end (runs, analysis, figures, report.html)",
  description:
    "Presets: table1 (+ fig2), table2, fig3a, fig3b, fig4a, fig4b, fig5, or all; smoke: four tiny runs (a minute) for\n" +
    "trying a setup, not in all. --scale quick: minutes on a laptop, same qualitative result (deviations listed in the\n" +
    "report); --scale paper: the paper's protocol (App. B.1 / C.1).\n" +
    "Runs live in OUT/runs/<id> (id = name + hash of the config): finished runs are skipped, interrupted ones resume;\n" +
    "SIGTERM or Ctrl-C writes checkpoints and stops. --workers N trains on N local processes; --shard i/n (0 <= i < n)\n" +
    "trains only shard i, for batch systems, n fixed in the job script (Slurm array: --shard \"$SLURM_ARRAY_TASK_ID/64\";\n" +
    "Kubernetes Indexed Job: $(JOB_COMPLETION_INDEX)/64; recipes in docs/cluster.md) and OUT on shared storage;\n" +
    "then --collect aggregates whatever has finished into results.csv / results.json, figures/ (SVG + PNG) and\n" +
    "report.html. Without --shard the results are collected after the runs. Runs of one shape train together as run\n" +
    "groups (--group-size; a run in a group computes exactly what it computes alone).\n" +
    "--device webgpu moves the gated-RNN runs to a GPU (new run ids: another data stream); give it to --collect too.",
  options: {
    preset: opt.positional(`what to reproduce: ${[...presetNames, "all"].join(" | ")}`, { metavar: "PRESET", required: true }),
    scale: opt.enum("quick (minutes, documented deviations) or paper (the paper's protocol)", ["quick", "paper"] as const, { default: "quick" }),
    workers: opt.int("local worker processes (default: 1 for a single run, else the number of cores)", { min: 1, max: 256 }),
    shard: opt.string("run only shard i of n (0 <= i < n), n = the total shard count written into the job script, e.g. --shard \"$SLURM_ARRAY_TASK_ID/64\""),
    collect: opt.flag("do not train: aggregate whatever has finished under --out into results and the report"),
    threads: opt.int("threads per run (default: 2 for a single run with one worker on a 2+-core machine, else 1)", { min: 1, max: 64 }),
    device: opt.enum("cpu, or webgpu: the gated-RNN runs train on a GPU (the others stay on the CPU); part of the run ids", ["cpu", "webgpu"] as const, { default: "cpu" }),
    groupSize: opt.int("most runs of one shape trained together as a run group (default: all of a shape on a worker, a shape spread evenly over --workers first; at most 8 on cpu, 64 on webgpu; 1 = one at a time)", { min: 1, max: 4096 }),
    list: opt.flag("print the planned runs (id, shard, steps, state) and exit"),
    out: opt.path("output directory (runs/, results, figures/, report.html)", { required: true }),
    json: opt.flag("print the preset's numbers as one JSON object"),
  },
  async run(o, ctx) {
    if (o.preset !== "all" && !presetNames.includes(o.preset)) throw new UsageError(`PRESET: expected one of ${[...presetNames, "all"].join("|")}, got ${JSON.stringify(o.preset)}`);
    const shard = o.shard === undefined ? undefined : shardOption(o.shard);
    if (o.collect && shard) throw new UsageError("--collect aggregates every shard's runs; drop --shard");
    const presets = o.preset === "all" ? [...allPresets] : [getPreset(o.preset)];
    const scale = o.scale;
    const { all } = planRuns(presets, scale, o.device);
    const mine = shardRuns(all, shard);
    if (shard && !o.list) await checkShardCount(o.out, all, shard);

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
      const status = commandStatus(ctx);
      const interrupt = onInterrupt(ctx, "gra reproduce: interrupted, writing checkpoints (Ctrl-C again to quit at once)", (l) => status.log(l));
      const progress = new SweepProgress(new Map(mine.map((r) => [r.id, { cost: r.cost, steps: r.steps }])), mine.length, workers, status);
      ctx.stderr(`gra reproduce ${o.preset} --scale ${scale}: ${mine.length} run(s)${shard ? ` in shard ${shard.index}/${shard.count} (of ${all.length})` : ""} on ${workers} worker(s) x ${threads} thread(s) -> ${o.out}\n`);
      try {
        const ok = await executePlan(all, {
          out: o.out, scale, shard, workers, threads, groupSize: o.groupSize, signal: interrupt.signal,
          kernels: kernelsForRun,
          onEvent: (e) => progress.handle(e),
        });
        // a signal that came while the last run was finishing (its summary, its analysis) stops here too, before
        // the collection: every run directory is complete or resumable, and the same command again finishes the job
        interrupted = !ok || interrupt.signal.aborted;
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
      for (const t of w.results.tables) ctx.stdout("\n" + textTable(t, ctx.stdoutColumns));
      const dev = presets[i].deviations(scale);
      if (dev.length) ctx.stdout(`\n${scale} scale deviates from the paper's protocol:\n${dev.map((d) => `  - ${d}`).join("\n")}\n`);
    }
    ctx.stdout(`\nreport: ${written.length === 1 ? written[0].report : join(o.out, "report.html")}\n`);
    return 0;
  },
});
