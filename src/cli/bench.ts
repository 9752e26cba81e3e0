/**
 * `gra bench`: the median milliseconds of one training step (the shards' targets, forward + backward + AdamW on a
 * pre-generated batch's inputs, data generation timed separately) after warm-up, GFLOP/s from the exact FLOP count, and peak RSS (src/bench/).
 * bench/torch_step.py measures the same step in PyTorch; bench/compare.mjs runs both side by side.
 */
import { runBench, runGroupBench } from "../bench/bench.ts";
import { checkLayerFamily } from "../models/registry.ts";
import { opt } from "./args.ts";
import { defineCommand } from "./commands.ts";
import { kernelsFor } from "../kernels/factory.ts";

/** `gra bench`: median ms of one training step, GFLOP/s = exact FLOPs / time, peak RSS (src/bench/bench.ts). */
export const benchCommand = defineCommand({
  name: "bench",
  summary: "time one training step (forward + backward + AdamW): ms/step, GFLOP/s, peak RSS",
  description:
    "Builds the trainer of `gra train` for --task/--model (the paper's config unless --hidden is given), runs --warmup\n" +
    "steps, then times --steps steps on one pre-generated batch's inputs (each shard computes its targets, as in\n" +
    "training) and prints the median. GFLOP/s counts the kernels' arithmetic of forward and backward exactly;\n" +
    "drawing the inputs (what each real step adds) is timed separately.\n" +
    "--runs R (or --device webgpu) times a run group instead: R runs of the config (seeds 0..R-1) stepped together\n" +
    "with fresh data every step; --json then reports ms_per_step for the group and ms_per_run_step = ms_per_step / R.\n" +
    "Timings depend on the machine and on other load: this is a measurement, not a test.",
  options: {
    task: opt.enum("task", ["teacher-student", "icl-regression"] as const, { default: "teacher-student" }),
    model: opt.string("model family: gated-rnn, gated-rnn-dense, lstm, gru, lru, lru-in-out, lru-in-skip, attention", { default: "gated-rnn" }),
    hidden: opt.int("hidden neurons N (default: the paper's for the task)", { min: 1, max: 1 << 14 }),
    outputGating: opt.int("output-gating rows M (gated-rnn; default = hidden)", { min: 1, max: 1 << 14 }),
    threads: opt.int("threads (main + worker threads over one shared memory)", { min: 1, max: 64, default: 1 }),
    steps: opt.int("timed steps", { min: 1, max: 1e6, default: 200 }),
    warmup: opt.int("untimed warm-up steps (continued for at least 1.5 s; 0 = none)", { min: 0, max: 1e6, default: 30 }),
    batch: opt.int("sequences per batch", { min: 1, max: 1 << 16, default: 64 }),
    runs: opt.int("time a run group of R runs (seeds 0..R-1) stepped together, data generation included", { min: 1, max: 4096 }),
    device: opt.enum("cpu, or webgpu (a GPU through WebGPU; implies a run group, --runs 1 by default)", ["cpu", "webgpu"] as const, { default: "cpu" }),
    json: opt.flag("print one JSON object"),
  },
  async run(o, ctx) {
    checkLayerFamily(o.model, "--model");
    let modelConfig: Record<string, unknown> | undefined;
    if (o.hidden !== undefined || o.outputGating !== undefined) {
      modelConfig = {};
      if (o.hidden !== undefined) modelConfig.hidden = o.hidden;
      if (o.outputGating !== undefined) modelConfig.output_gating = o.outputGating;
      else if (o.model.startsWith("gated-rnn") && o.hidden !== undefined) modelConfig.output_gating = o.hidden;
    }
    const base = { task: o.task, model: o.model, threads: o.threads, steps: o.steps, warmup: o.warmup, batch: o.batch, modelConfig };
    const grouped = o.runs !== undefined || o.device !== "cpu";
    const r = grouped ? await runGroupBench({ ...base, runs: o.runs ?? 1, device: o.device }, kernelsFor("f32")) : runBench(base, kernelsFor("f32"));
    if (o.json) {
      ctx.stdout(JSON.stringify(r) + "\n");
      return 0;
    }
    if (r.note) ctx.stderr(`gra bench: ${r.note}\n`);
    const group = grouped ? `, a group of ${r.runs} run${r.runs > 1 ? "s" : ""}: ${r.ms_per_run_step.toFixed(4)} ms per run-step` : "";
    ctx.stdout(
      `${r.task} ${r.model} (B=${r.batch}, T=${r.T}, ${r.params} parameters), ${r.threads} thread${r.threads > 1 ? "s" : ""}, ${r.shards} shards, ${r.device}\n` +
        `  ${r.ms_per_step.toFixed(3)} ms/step (median of ${o.steps}; min ${r.min_ms.toFixed(3)})${group}, ` +
        `${(r.flops / 1e6).toFixed(1)} MFLOP -> ${r.gflops.toFixed(1)} GFLOP/s (${r.gflops_per_core.toFixed(1)} per core)\n` +
        `  data generation ${r.data_in_step ? "included in each step" : `${r.data_ms.toFixed(3)} ms/batch (separate)`}, peak RSS ${r.rss_mb.toFixed(0)} MB; ${r.machine}, Node ${r.node}\n`,
    );
    return 0;
  },
});
