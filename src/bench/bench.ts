/**
 * `gra bench`'s measurement (Node): the median wall time of one optimizer step of the real trainer (each shard's
 * targets, forward, loss, backward over the shards, nu chain rule, AdamW: `trainStepOn`) on a pre-generated batch's
 * inputs after warm-up, drawing the inputs timed separately (`task.inputs`, what a training step adds), the exact FLOP count of the step
 * (src/bench/flops.ts) and the process's peak RSS. Not a test: timings depend on the machine and its load.
 */
import { cpus } from "node:os";
import type { Kernels } from "../kernels/types.ts";
import type { Batch } from "../tasks/types.ts";
import { createGroupTrainer } from "../train/device.ts";
import type { TrainConfig } from "../train/loop.ts";
import { closeTrainer, createTrainer, parseTrainConfig, trainStepOn } from "../train/loop.ts";
import { stepFlops } from "./flops.ts";

/** One `gra bench` configuration. */
export interface BenchOptions {
  task: string;
  model: string;
  threads: number;
  /** Timed steps (default 200). */
  steps?: number;
  /** Untimed warm-up steps first (default 30), continued until warmupMs have passed (default 1500; 0 = no warm-up). */
  warmup?: number;
  warmupMs?: number;
  /** Sequences per batch (default 64). */
  batch?: number;
  /** Model config without widths, e.g. {hidden: 80, output_gating: 80}; default: the task's paper config. */
  modelConfig?: Record<string, unknown>;
  seed?: number;
}

/** What `gra bench --json` prints: ms_per_step = median step time, gflops = flops / ms_per_step, rss_mb = peak RSS. */
export interface BenchResult {
  task: string;
  model: string;
  /** Runs stepped together (a run group; 1 = one run). */
  runs: number;
  /** What computed (the group trainer's device line, or the kernels' build for one run on the CPU). */
  device: string;
  /** ms_per_step / runs. */
  ms_per_run_step: number;
  /** Whether ms_per_step includes drawing the batch (group timing: yes; one CPU run: no, see data_ms). */
  data_in_step: boolean;
  threads: number;
  shards: number;
  batch: number;
  T: number;
  params: number;
  /** FLOPs of one step (kernels' arithmetic of forward + backward). */
  flops: number;
  /** Median wall time of one step on the pre-generated batch's inputs (the shards' targets included, as in training). */
  ms_per_step: number;
  min_ms: number;
  /** flops / median time. */
  gflops: number;
  gflops_per_core: number;
  /** Median wall time of drawing one batch's inputs (Task.inputs: what every real training step adds). */
  data_ms: number;
  /** Peak resident set size of the process (MiB). */
  rss_mb: number;
  /** The wasm build the trainer ran (kernels-relaxed-shared.wasm, kernels-shared.wasm or the backend name). */
  kernels: string;
  note: string;
  machine: string;
  node: string;
}

/** The paper's model config for a task when none is given: gated-rnn 80/80 for icl-regression, else the defaults. */
export function paperModelConfig(task: string, model: string): Record<string, unknown> {
  return task === "icl-regression" && model === "gated-rnn" ? { hidden: 80, output_gating: 80 } : {};
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Measures one configuration on kernels k (fast kernels: the trainer runs its shared-memory build of them). */
export function runBench(o: BenchOptions, k: Kernels): BenchResult {
  const steps = o.steps ?? 200;
  const warmup = o.warmup ?? 30;
  const cfg = parseTrainConfig({
    task: o.task, model: o.model, threads: o.threads, batch: o.batch ?? 64, seed: o.seed ?? 0,
    steps: warmup + steps, model_config: o.modelConfig ?? paperModelConfig(o.task, o.model),
  });
  const tr = createTrainer(cfg, k);
  try {
    const { dIn, dOut, T } = tr.task.dims(cfg.task_config);
    const gen = (): Batch => tr.task.batch(tr.dataRng, cfg.task_config, tr.setup, cfg.batch, cfg.dtype);
    const batches: Batch[] = [];
    for (let i = 0; i < 20; i++) batches.push(gen());
    const batch = batches[batches.length - 1];
    const flops = stepFlops(tr.family, tr.params, tr.k, batch, dIn, dOut, tr.engine.shards);
    // warm-up: `warmup` steps and at least warmupMs of them (the workers' JavaScript must reach its optimised tier too)
    const w0 = performance.now();
    for (let i = 0; i < warmup || (warmup > 0 && performance.now() - w0 < (o.warmupMs ?? 1500)); i++) trainStepOn(tr, batches[i % batches.length]);
    const times: number[] = [];
    for (let i = 0; i < steps; i++) {
      const t0 = performance.now();
      trainStepOn(tr, batch);
      times.push(performance.now() - t0);
    }
    // data generation, timed once warm: what every real training step adds to ms_per_step
    const dataTimes: number[] = [];
    const draw = (): Batch => tr.task.inputs(tr.dataRng, cfg.task_config, tr.setup, cfg.batch, cfg.dtype);
    for (let i = 0; i < 100; i++) draw();
    for (let i = 0; i < 100; i++) {
      const t0 = performance.now();
      draw();
      dataTimes.push(performance.now() - t0);
    }
    const ms = median(times);
    const gflops = flops / ms / 1e6;
    return {
      task: cfg.task, model: cfg.model, runs: 1, device: `cpu: ${tr.engine.kernels}`, ms_per_run_step: round(ms, 4), data_in_step: false,
      threads: tr.engine.threads, shards: tr.engine.shards, batch: cfg.batch, T,
      params: Object.values(tr.trainable).reduce((a, b) => a + b.length, 0),
      flops, ms_per_step: round(ms, 4), min_ms: round(Math.min(...times), 4), gflops: round(gflops, 2),
      gflops_per_core: round(gflops / tr.engine.threads, 2), data_ms: round(median(dataTimes), 4),
      rss_mb: round(process.resourceUsage().maxRSS / 1024, 1), kernels: tr.engine.kernels, note: tr.engine.note,
      machine: cpus()[0]?.model ?? "unknown", node: process.version,
    };
  } finally {
    closeTrainer(tr);
  }
}

/** The configs of a benchmark group: R runs of `o`'s config with seeds seed, seed + 1, ... (steps = warm-up + timed). */
function benchConfigs(o: BenchOptions, runs: number, device: TrainConfig["device"]): TrainConfig[] {
  const steps = (o.warmup ?? 30) + (o.steps ?? 200);
  return Array.from({ length: runs }, (_, r) =>
    parseTrainConfig({
      task: o.task, model: o.model, threads: o.threads, batch: o.batch ?? 64, seed: (o.seed ?? 0) + r, device,
      steps: 10 * steps, eval_every: 10 * steps, model_config: o.modelConfig ?? paperModelConfig(o.task, o.model),
    }),
  );
}

/**
 * `gra bench --runs R [--device D]`: a run group of R runs (seeds seed..seed+R-1) on its device, stepped through
 * GroupTrainer.advance in blocks of its chunk (1 step on the CPU, many on a GPU); ms_per_step = median block time /
 * block steps for the whole group, data generation included (it is part of a GPU step), ms_per_run_step = that / R.
 * FLOPs are the CPU kernels' exact count for one run times R.
 */
export async function runGroupBench(o: BenchOptions & { runs: number; device: TrainConfig["device"] }, k: Kernels): Promise<BenchResult> {
  const cfgs = benchConfigs(o, o.runs, o.device);
  const probe = createTrainer({ ...cfgs[0], threads: 1 }, k);
  let flops: number;
  let params: number;
  let shards: number;
  let T: number;
  try {
    const { dIn, dOut } = probe.task.dims(cfgs[0].task_config);
    T = probe.task.dims(cfgs[0].task_config).T;
    const batch = probe.task.batch(probe.dataRng, cfgs[0].task_config, probe.setup, cfgs[0].batch, cfgs[0].dtype);
    flops = o.runs * stepFlops(probe.family, probe.params, probe.k, batch, dIn, dOut, probe.engine.shards);
    params = Object.values(probe.trainable).reduce((a, b) => a + b.length, 0);
    shards = probe.engine.shards;
  } finally {
    closeTrainer(probe);
  }
  const tr = await createGroupTrainer(cfgs, { kernels: () => k });
  try {
    const steps = o.steps ?? 200;
    const warmup = o.warmup ?? 30;
    const block = Math.max(1, Math.min(tr.chunk, steps));
    const w0 = performance.now();
    for (let i = 0; i < warmup || (warmup > 0 && performance.now() - w0 < (o.warmupMs ?? 1500) && i < 20 * warmup); i += block) await tr.advance(block);
    const times: number[] = [];
    for (let done = 0; done < steps; done += block) {
      const t0 = performance.now();
      await tr.advance(block);
      times.push((performance.now() - t0) / block);
    }
    const ms = median(times);
    const gflops = flops / ms / 1e6;
    const threads = o.device === "cpu" ? Math.min(o.threads, cpus().length) : 1;
    return {
      task: o.task, model: o.model, runs: o.runs, device: tr.device, ms_per_run_step: round(ms / o.runs, 4), data_in_step: true,
      threads, shards, batch: cfgs[0].batch, T, params, flops, ms_per_step: round(ms, 4), min_ms: round(Math.min(...times), 4),
      gflops: round(gflops, 2), gflops_per_core: round(gflops / threads, 2), data_ms: 0,
      rss_mb: round(process.resourceUsage().maxRSS / 1024, 1), kernels: tr.device, note: tr.note,
      machine: cpus()[0]?.model ?? "unknown", node: process.version,
    };
  } finally {
    tr.close();
  }
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
