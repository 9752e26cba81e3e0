/**
 * Run directories (Node): a training run writes DIR/config.json (the full typed config), DIR/metrics.jsonl (one line
 * per log point: step, loss, val_loss, lr, elapsed_s), DIR/model.safetensors, the task's artifacts (the teacher's
 * DIR/attention.safetensors), DIR/checkpoint.safetensors (model + AdamW state + data-stream RNG + step, every log
 * point) and DIR/summary.json at the end. Every file is written atomically; `resume` continues from the checkpoint and
 * reproduces exactly the metrics an uninterrupted run writes. `runGroup` trains a run group (src/train/group.ts) into
 * one such directory per run; `runTraining` is a group of one.
 */
import { appendFile, mkdir, readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileExists, loadTensors, saveParams, saveTensors, writeFileAtomic } from "../io/files.ts";
import type { Kernels } from "../kernels/types.ts";
import type { Float, Tensor } from "../tensor.ts";
import { createGroupTrainer } from "./device.ts";
import type { Advanced, GroupTrainer, RunSnapshot } from "./group.ts";
import { GroupDivergedError } from "./group.ts";
import type { TrainConfig } from "./loop.ts";
import { parseTrainConfig } from "./loop.ts";
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
  /** Called once with the trainer's device line (e.g. "cpu: kernels-relaxed-shared.wasm, 2 threads") and its note. */
  onDevice?: (device: string, note: string) => void;
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

/** A checkpoint's content: the run's optimizer state plus the driver's own counters. */
interface Restored {
  snap: RunSnapshot;
  lossSum: number;
  lossCount: number;
  elapsed: number;
}

/** Reads the checkpoint: the run's snapshot plus the loop's own state. */
async function readCheckpoint(dir: string): Promise<Restored> {
  const path = join(dir, CKPT);
  const { tensors, metadata } = await loadTensors(path);
  if (metadata.format !== FORMAT) throw new InputError(`${path}: not a gated-rnn-attention checkpoint (format ${JSON.stringify(metadata.format)})`);
  const pick = (prefix: string) => {
    const r: Record<string, Float> = {};
    for (const [n, t] of Object.entries(tensors)) if (n.startsWith(prefix)) r[n.slice(prefix.length)] = t.data;
    return r;
  };
  let state: { step: number; rng?: RunSnapshot["rng"]; loss_sum: number; loss_count: number; elapsed_s: number };
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

async function writeCheckpoint(dir: string, s: RunSnapshot, lossSum: number, lossCount: number, elapsed: number): Promise<void> {
  const tensors: Record<string, Tensor> = {};
  for (const [prefix, src] of [["param.", s.trainable], ["adam_m.", s.m], ["adam_v.", s.v]] as const) {
    for (const [n, data] of Object.entries(src)) tensors[prefix + n] = { shape: [data.length], data };
  }
  const state = { step: s.step, rng: s.rng, loss_sum: lossSum, loss_count: lossCount, elapsed_s: elapsed };
  await saveTensors(join(dir, CKPT), tensors, { format: FORMAT, state: JSON.stringify(state) });
}

/** The step of DIR's checkpoint (for grouping resumable runs: a group's runs continue from one step). */
export async function checkpointStep(dir: string): Promise<number> {
  return (await readCheckpoint(dir)).snap.step;
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

/** One run of a group: its raw config (new runs) or the keys to check against its config.json (resume), and its directory. */
export interface GroupMember {
  raw: Record<string, unknown>;
  out: string;
  /** Continue the run in `out` from its checkpoint. */
  resume?: boolean;
}

/** RunOptions for a group: progress and log callbacks name the run (its index in the group). */
export interface GroupRunOptions extends Omit<RunOptions, "out" | "resume" | "onProgress" | "onLog"> {
  onProgress?: (run: number, p: Progress) => void;
  onLog?: (run: number, m: MetricsLine) => void;
}

/**
 * Trains `raw` (a TrainConfig, parsed and validated here) in run directory `opts.out`. A new run refuses a non-empty
 * directory; `resume` loads config.json and the checkpoint and refuses `raw` keys that differ from the saved config.
 * A group of one run (runGroup).
 */
export async function runTraining(raw: Record<string, unknown>, opts: RunOptions): Promise<RunSummary> {
  const { out, resume, onProgress, onLog, ...rest } = opts;
  const [s] = await runGroup([{ raw, out, resume }], {
    ...rest,
    onProgress: onProgress && ((_r, p) => onProgress(p)),
    onLog: onLog && ((_r, m) => onLog(m)),
  });
  return s;
}

/** A member's parsed config, checkpoint and metrics so far (resume), or its parsed config in a fresh empty directory. */
async function openMember(m: GroupMember): Promise<{ cfg: TrainConfig; restored?: Restored; metrics: MetricsLine[] }> {
  const dir = m.out;
  if (!m.resume) {
    const cfg = parseTrainConfig(m.raw);
    await mkdir(dir, { recursive: true });
    const entries = await readdir(dir);
    if (entries.length > 0) throw new InputError(`${dir} is not empty; use --resume to continue the run in it, or choose another --out`);
    return { cfg, metrics: [] };
  }
  let saved: unknown;
  try {
    saved = JSON.parse(await readFile(join(dir, "config.json"), "utf8"));
  } catch (e) {
    const missing = (e as NodeJS.ErrnoException).code === "ENOENT";
    throw new InputError(`${join(dir, "config.json")}: ${missing ? "missing: is this a run directory? (start a run without --resume)" : "not valid JSON"}`);
  }
  const cfg = parseTrainConfig(saved);
  const diff = conflicting(cfg, m.raw);
  if (diff.length) throw new InputError(`--resume: ${diff.join(", ")} differ from the run's config.json; drop them or start a new run`);
  if (!(await fileExists(join(dir, CKPT)))) throw new InputError(`${dir}: no checkpoint to resume from (the run stopped before its first log point); start it again without --resume`);
  const restored = await readCheckpoint(dir);
  let text = "";
  try {
    text = await readFile(join(dir, "metrics.jsonl"), "utf8");
  } catch {
    // no metrics yet
  }
  const metrics = parseMetrics(text, restored.snap.step);
  await writeFileAtomic(join(dir, "metrics.jsonl"), metrics.map((l) => JSON.stringify(l) + "\n").join(""));
  return { cfg, restored, metrics };
}

/**
 * Trains a run group (src/train/group.ts): R runs of one shape in lockstep on their device, each in its own run
 * directory written exactly as a run trained alone writes it (config, metrics, model, teacher, checkpoint every log
 * point, summary). Members are all new or all resumed at the same step. Returns each run's summary, in order.
 */
export async function runGroup(members: readonly GroupMember[], opts: GroupRunOptions): Promise<RunSummary[]> {
  const opened = [];
  for (const m of members) opened.push(await openMember(m));
  const tr = await createGroupTrainer(opened.map((o) => o.cfg), { kernels: opts.kernels, snapshots: opened.map((o) => o.restored?.snap) });
  try {
    opts.onDevice?.(tr.device, tr.note);
    return await trainGroup(tr, members, opened, opts);
  } finally {
    tr.close(); // stops worker threads / frees GPU buffers now rather than at garbage collection
  }
}

/** The step loop of runGroup: log points, checkpoints, interrupts, divergence, for every run of the group. */
async function trainGroup(
  tr: GroupTrainer, members: readonly GroupMember[], opened: { cfg: TrainConfig; restored?: Restored; metrics: MetricsLine[] }[], opts: GroupRunOptions,
): Promise<RunSummary[]> {
  const R = members.length;
  const cfg = opened[0].cfg; // steps, eval_every: shared by the group
  const dirs = members.map((m) => m.out);
  const zero = tr.zeroPredictorLoss();
  for (let r = 0; r < R; r++) {
    if (members[r].resume) continue;
    await writeFileAtomic(join(dirs[r], "config.json"), JSON.stringify(opened[r].cfg, null, 2) + "\n");
    for (const [file, params] of Object.entries(tr.artifacts(r))) await saveParams(join(dirs[r], file), params);
    await writeFileAtomic(join(dirs[r], "metrics.jsonl"), "");
  }
  const lossSum = opened.map((o) => o.restored?.lossSum ?? 0);
  const lossCount = opened.map((o) => o.restored?.lossCount ?? 0);
  const metrics = opened.map((o) => o.metrics);
  const t0 = performance.now();
  const elapsed = (r: number) => (opened[r].restored?.elapsed ?? 0) + (performance.now() - t0) / 1000;
  const lastVal = metrics.map((m) => (m.length ? m[m.length - 1].val_loss : NaN));
  const summary = (r: number, interrupted: boolean): RunSummary => ({
    step: tr.step, steps: cfg.steps, interrupted, loss: metrics[r].length ? metrics[r][metrics[r].length - 1].loss : NaN,
    val_loss: lastVal[r], zero_val_loss: zero[r], elapsed_s: elapsed(r), out: dirs[r],
  });
  const save = async (r: number) => {
    await saveParams(join(dirs[r], "model.safetensors"), await tr.exportParams(r));
    await writeCheckpoint(dirs[r], await tr.snapshot(r), lossSum[r], lossCount[r], elapsed(r));
  };
  const where = (r: number) => (R > 1 ? `run ${dirs[r]}: ` : "");
  let lastYield = performance.now();

  while (tr.step < cfg.steps) {
    if (performance.now() - lastYield > 50) {
      await new Promise((res) => setImmediate(res));
      lastYield = performance.now();
    }
    if (opts.signal?.aborted) {
      for (let r = 0; r < R; r++) await save(r);
      return dirs.map((_, r) => summary(r, true));
    }
    const nextLog = Math.min(cfg.steps, (Math.floor(tr.step / cfg.eval_every) + 1) * cfg.eval_every);
    const n = Math.min(tr.chunk, nextLog - tr.step);
    let a: Advanced;
    try {
      a = await tr.advance(n);
    } catch (e) {
      if (e instanceof GroupDivergedError) {
        const m = metrics[e.run];
        const good = m.length ? `the last good checkpoint (step ${m[m.length - 1].step}) is kept in ${dirs[e.run]}` : "no checkpoint was written yet";
        throw new Error(`${where(e.run)}training diverged: loss is ${e.loss} at step ${e.step}; ${good}; try a lower --lr`);
      }
      throw e;
    }
    const step = tr.step;
    for (let r = 0; r < R; r++) {
      lossSum[r] += a.lossSum[r];
      lossCount[r] += n;
    }
    if (step % cfg.eval_every === 0 || step === cfg.steps) {
      const val = await tr.evaluate();
      for (let r = 0; r < R; r++) {
        if (!Number.isFinite(val[r])) {
          throw new Error(`${where(r)}training diverged: validation loss is ${val[r]} at step ${step}; the last good checkpoint is kept in ${dirs[r]}; try a lower --lr`);
        }
      }
      for (let r = 0; r < R; r++) {
        const line: MetricsLine = { step, loss: lossSum[r] / lossCount[r], val_loss: val[r], lr: a.lr[r], elapsed_s: Math.round(elapsed(r) * 1000) / 1000 };
        metrics[r].push(line);
        lossSum[r] = 0;
        lossCount[r] = 0;
        lastVal[r] = val[r];
        await appendFile(join(dirs[r], "metrics.jsonl"), JSON.stringify(line) + "\n");
        await save(r);
        opts.onLog?.(r, line);
      }
    }
    for (let r = 0; r < R; r++) opts.onProgress?.(r, { step, steps: cfg.steps, loss: a.lossSum[r] / n, val_loss: lastVal[r], lr: a.lr[r], elapsed_s: elapsed(r) });
  }
  const out = dirs.map((_, r) => summary(r, false));
  for (let r = 0; r < R; r++) await writeFileAtomic(join(dirs[r], "summary.json"), JSON.stringify(out[r], null, 2) + "\n");
  return out;
}
