/**
 * Run directories (Node): a training run writes DIR/config.json (the full typed config), DIR/metrics.jsonl (one line
 * per log point: step, loss, val_loss, lr, elapsed_s), DIR/model.safetensors, the task's artifacts (the teacher's
 * DIR/attention.safetensors), DIR/checkpoint.safetensors (model + AdamW state + data-stream RNG + step, every log
 * point) and DIR/summary.json at the end. Every file is written atomically; `resume` continues from the checkpoint and
 * reproduces exactly the metrics an uninterrupted run writes.
 */
import { appendFile, mkdir, readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileExists, loadTensors, saveParams, saveTensors, writeFileAtomic } from "../io/files.ts";
import type { Kernels } from "../kernels/types.ts";
import type { Float, Tensor } from "../tensor.ts";
import type { TrainConfig, Trainer, TrainerSnapshot } from "./loop.ts";
import {
  closeTrainer, createTrainer, evaluate, exportParams, NonFiniteLossError, parseTrainConfig, snapshotTrainer, trainStep, zeroPredictorLoss,
} from "./loop.ts";
import { InputError } from "../errors.ts";

/** One metrics.jsonl line: `loss` is the mean training loss over the steps since the previous log point. */
export interface MetricsLine {
  step: number;
  loss: number;
  val_loss: number;
  lr: number;
  elapsed_s: number;
}

export interface Progress {
  step: number;
  steps: number;
  /** Latest training-batch loss. */
  loss: number;
  /** Latest validation loss (NaN before the first log point). */
  val_loss: number;
  lr: number;
  elapsed_s: number;
}

export interface RunOptions {
  out: string;
  /** Continue the run in `out` from its checkpoint. */
  resume?: boolean;
  /** The kernels for a run's (parsed) config, e.g. fast f32 or the reference backend of its dtype. */
  kernels: (cfg: TrainConfig) => Kernels;
  onProgress?: (p: Progress) => void;
  /** Called once per log point with the line just written. */
  onLog?: (m: MetricsLine) => void;
  /** When aborted (Ctrl-C), the run writes a checkpoint at the current step and returns `interrupted: true`. */
  signal?: AbortSignal;
}

export interface RunSummary {
  step: number;
  steps: number;
  interrupted: boolean;
  loss: number;
  val_loss: number;
  zero_val_loss: number;
  elapsed_s: number;
  out: string;
}

const CKPT = "checkpoint.safetensors";
const FORMAT = "gated-rnn-attention/checkpoint-1";

/** Keys of `explicit` whose values differ from `cfg` (comparing JSON), for the resume consistency check. */
function conflicting(cfg: TrainConfig, explicit: Record<string, unknown>): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(explicit)) {
    const have = (cfg as unknown as Record<string, unknown>)[k];
    if (v === undefined) continue;
    if (typeof v === "object" && v !== null && typeof have === "object" && have !== null) {
      for (const [kk, vv] of Object.entries(v)) if (JSON.stringify((have as Record<string, unknown>)[kk]) !== JSON.stringify(vv)) out.push(`${k}.${kk}`);
    } else if (JSON.stringify(have) !== JSON.stringify(v)) out.push(k);
  }
  return out;
}

/** Reads the checkpoint: trainer snapshot plus the loop's own state. */
async function readCheckpoint(dir: string): Promise<{ snap: TrainerSnapshot; lossSum: number; lossCount: number; elapsed: number }> {
  const path = join(dir, CKPT);
  const { tensors, metadata } = await loadTensors(path);
  if (metadata.format !== FORMAT) throw new InputError(`${path}: not a gated-rnn-attention checkpoint (format ${JSON.stringify(metadata.format)})`);
  const pick = (prefix: string) => {
    const r: Record<string, Float> = {};
    for (const [n, t] of Object.entries(tensors)) if (n.startsWith(prefix)) r[n.slice(prefix.length)] = t.data;
    return r;
  };
  let state: { step: number; rng: TrainerSnapshot["rng"]; loss_sum: number; loss_count: number; elapsed_s: number };
  try {
    state = JSON.parse(metadata.state);
  } catch {
    throw new InputError(`${path}: checkpoint state metadata is not valid JSON`);
  }
  return {
    snap: { step: state.step, rng: state.rng, trainable: pick("param."), m: pick("adam_m."), v: pick("adam_v.") },
    lossSum: state.loss_sum,
    lossCount: state.loss_count,
    elapsed: state.elapsed_s,
  };
}

async function writeCheckpoint(dir: string, tr: Trainer, lossSum: number, lossCount: number, elapsed: number): Promise<void> {
  const s = snapshotTrainer(tr);
  const tensors: Record<string, Tensor> = {};
  for (const [prefix, src] of [["param.", s.trainable], ["adam_m.", s.m], ["adam_v.", s.v]] as const) {
    for (const [n, data] of Object.entries(src)) tensors[prefix + n] = { shape: [data.length], data };
  }
  const state = { step: s.step, rng: s.rng, loss_sum: lossSum, loss_count: lossCount, elapsed_s: elapsed };
  await saveTensors(join(dir, CKPT), tensors, { format: FORMAT, state: JSON.stringify(state) });
}

/** Parses metrics.jsonl, dropping a torn last line and every line after `upTo` (the checkpoint's step). */
export function parseMetrics(text: string, upTo = Infinity): MetricsLine[] {
  const out: MetricsLine[] = [];
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    let m: MetricsLine;
    try {
      m = JSON.parse(line);
    } catch {
      break; // a line torn by a kill: everything after it is regenerated
    }
    if (m.step > upTo) break;
    out.push(m);
  }
  return out;
}

/**
 * Trains `raw` (a TrainConfig, parsed and validated here) in run directory `opts.out`. A new run refuses a non-empty
 * directory; `resume` loads config.json and the checkpoint and refuses `raw` keys that differ from the saved config.
 */
export async function runTraining(raw: Record<string, unknown>, opts: RunOptions): Promise<RunSummary> {
  const dir = opts.out;
  let cfg: TrainConfig;
  let restored: Awaited<ReturnType<typeof readCheckpoint>> | undefined;
  let metrics: MetricsLine[] = [];
  if (opts.resume) {
    let saved: unknown;
    try {
      saved = JSON.parse(await readFile(join(dir, "config.json"), "utf8"));
    } catch (e) {
      const missing = (e as NodeJS.ErrnoException).code === "ENOENT";
      throw new InputError(`${join(dir, "config.json")}: ${missing ? "missing: is this a run directory? (start a run without --resume)" : "not valid JSON"}`);
    }
    cfg = parseTrainConfig(saved);
    const diff = conflicting(cfg, raw);
    if (diff.length) throw new InputError(`--resume: ${diff.join(", ")} differ from the run's config.json; drop them or start a new run`);
    if (!(await fileExists(join(dir, CKPT)))) throw new InputError(`${dir}: no checkpoint to resume from (the run stopped before its first log point); start it again without --resume`);
    restored = await readCheckpoint(dir);
    let text = "";
    try {
      text = await readFile(join(dir, "metrics.jsonl"), "utf8");
    } catch {
      // no metrics yet
    }
    metrics = parseMetrics(text, restored.snap.step);
    await writeFileAtomic(join(dir, "metrics.jsonl"), metrics.map((m) => JSON.stringify(m) + "\n").join(""));
  } else {
    cfg = parseTrainConfig(raw);
    await mkdir(dir, { recursive: true });
    const entries = await readdir(dir);
    if (entries.length > 0) throw new InputError(`${dir} is not empty; use --resume to continue the run in it, or choose another --out`);
  }

  const k = opts.kernels(cfg);
  const arenaMark = k.mark();
  const tr = createTrainer(cfg, k, restored?.snap);
  try {
    return await trainIn(dir, cfg, tr, restored, metrics, opts);
  } finally {
    closeTrainer(tr); // stops its worker threads now rather than at garbage collection
    k.release(arenaMark); // the trainer's buffers live in the kernels' arena for this run only
  }
}

/** The step loop of runTraining for a created trainer: log points, checkpoints, interrupts, divergence. */
async function trainIn(
  dir: string, cfg: TrainConfig, tr: Trainer, restored: Awaited<ReturnType<typeof readCheckpoint>> | undefined,
  metrics: MetricsLine[], opts: RunOptions,
): Promise<RunSummary> {
  const zero = zeroPredictorLoss(tr);
  if (!opts.resume) {
    await writeFileAtomic(join(dir, "config.json"), JSON.stringify(cfg, null, 2) + "\n");
    for (const [file, params] of Object.entries(tr.task.artifacts(tr.setup, cfg.task_config))) await saveParams(join(dir, file), params);
    await writeFileAtomic(join(dir, "metrics.jsonl"), "");
  }

  let lossSum = restored?.lossSum ?? 0;
  let lossCount = restored?.lossCount ?? 0;
  const elapsed0 = restored?.elapsed ?? 0;
  const t0 = performance.now();
  const elapsed = () => elapsed0 + (performance.now() - t0) / 1000;
  let last = { loss: NaN, val: metrics.length ? metrics[metrics.length - 1].val_loss : NaN, lr: cfg.lr };
  let lastYield = performance.now();
  const summary = (interrupted: boolean): RunSummary => ({
    step: tr.opt.step, steps: cfg.steps, interrupted, loss: metrics.length ? metrics[metrics.length - 1].loss : NaN,
    val_loss: last.val, zero_val_loss: zero, elapsed_s: elapsed(), out: dir,
  });

  while (tr.opt.step < cfg.steps) {
    if (performance.now() - lastYield > 50) {
      await new Promise((r) => setImmediate(r));
      lastYield = performance.now();
    }
    if (opts.signal?.aborted) {
      await writeCheckpoint(dir, tr, lossSum, lossCount, elapsed());
      await saveParams(join(dir, "model.safetensors"), exportParams(tr));
      return summary(true);
    }
    let r: { loss: number; lr: number };
    try {
      r = trainStep(tr);
    } catch (e) {
      if (e instanceof NonFiniteLossError) {
        const good = metrics.length ? `the last good checkpoint (step ${metrics[metrics.length - 1].step}) is kept in ${dir}` : "no checkpoint was written yet";
        throw new Error(`training diverged: loss is ${e.loss} at step ${e.step}; ${good}; try a lower --lr`);
      }
      throw e;
    }
    lossSum += r.loss;
    lossCount++;
    last = { ...last, loss: r.loss, lr: r.lr };
    const step = tr.opt.step;
    if (step % cfg.eval_every === 0 || step === cfg.steps) {
      const val = evaluate(tr);
      if (!Number.isFinite(val)) {
        throw new Error(`training diverged: validation loss is ${val} at step ${step}; the last good checkpoint is kept in ${dir}; try a lower --lr`);
      }
      const line: MetricsLine = { step, loss: lossSum / lossCount, val_loss: val, lr: r.lr, elapsed_s: Math.round(elapsed() * 1000) / 1000 };
      metrics.push(line);
      lossSum = 0;
      lossCount = 0;
      last.val = val;
      await appendFile(join(dir, "metrics.jsonl"), JSON.stringify(line) + "\n");
      await saveParams(join(dir, "model.safetensors"), exportParams(tr));
      await writeCheckpoint(dir, tr, lossSum, lossCount, elapsed());
      opts.onLog?.(line);
    }
    opts.onProgress?.({ step, steps: cfg.steps, loss: r.loss, val_loss: last.val, lr: r.lr, elapsed_s: elapsed() });
  }
  const s = summary(false);
  await writeFileAtomic(join(dir, "summary.json"), JSON.stringify(s, null, 2) + "\n");
  return s;
}
