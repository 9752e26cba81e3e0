/**
 * `gra bench`'s measurement (Node): the median wall time of one optimizer step of the real trainer (forward, loss,
 * backward over the shards, nu chain rule, AdamW: `trainStepOn`) on a pre-generated batch after warm-up, the data
 * generation timed separately (`task.batch`, what a training step adds), the exact FLOP count of the step
 * (src/bench/flops.ts) and the process's peak RSS. Not a test: timings depend on the machine and its load.
 */
import { cpus } from "node:os";
import type { Kernels } from "../kernels/types.ts";
import type { Batch } from "../tasks/types.ts";
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
  threads: number;
  shards: number;
  batch: number;
  T: number;
  params: number;
  /** FLOPs of one step (kernels' arithmetic of forward + backward). */
  flops: number;
  /** Median wall time of one step on the pre-generated batch. */
  ms_per_step: number;
  min_ms: number;
  /** flops / median time. */
  gflops: number;
  gflops_per_core: number;
  /** Median wall time of generating one batch (added to every real training step). */
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
    for (let i = 0; i < 100; i++) gen();
    for (let i = 0; i < 100; i++) {
      const t0 = performance.now();
      gen();
      dataTimes.push(performance.now() - t0);
    }
    const ms = median(times);
    const gflops = flops / ms / 1e6;
    return {
      task: cfg.task, model: cfg.model, threads: tr.engine.threads, shards: tr.engine.shards, batch: cfg.batch, T,
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

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
