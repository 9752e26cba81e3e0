/**
 * The training loop's pure core, platform-neutral (the CLI and the web page's worker both drive it): a typed
 * TrainConfig, model resolution from task dims, and a Trainer whose `trainStep` reads straight down: the task's
 * inputs -> the sharded step (engine.ts: per shard the task's targets, the model's forward/backward, loss.ts) -> the
 * family's chain rule into its trained form -> AdamW with the family's no-decay tensors. Files, checkpoints and
 * progress live in run.ts.
 */
import type { Schema } from "../config.ts";
import { int, num, oneOf, parseConfig } from "../config.ts";
import type { Field } from "../config.ts";
import { trainingKernels } from "../kernels/factory.ts";
import type { Kernels } from "../kernels/types.ts";
import { configFromWidths, trainedFormOf, withoutWidths } from "../models/common.ts";
import { getFamily } from "../models/registry.ts";
import type { ModelFamily, Params, TrainedForm } from "../models/types.ts";
import { Rng } from "../rng.ts";
import type { RngState } from "../rng.ts";
import { getTask } from "../tasks/registry.ts";
import type { Batch, Task } from "../tasks/types.ts";
import type { Float, Tensor } from "../tensor.ts";
import { allocFloat } from "../tensor.ts";
import type { AdamWConfig, AdamWState } from "./adamw.ts";
import { adamwInit, adamwUpdate } from "./adamw.ts";
import type { ShardEngine, ShardStepResult } from "./engine.ts";
import { createShardEngine } from "./engine.ts";
import { lossFromSse, mseLoss } from "./loss.ts";
import { cosine, warmup } from "./schedule.ts";

export interface TrainConfig {
  task: string;
  /** The task's config, every default written out (e.g. {d: 4, T: 32}). */
  task_config: Record<string, unknown>;
  /** Model family name (the layer family when layers >= 1). */
  model: string;
  /** The model family's config without input/output widths (they come from the task), e.g. {hidden: 100}. */
  model_config: Record<string, unknown>;
  /** 0: the family alone (eq. 2's gated RNN has its own readout); L >= 1: the Section 3.3 stack of L layers. */
  layers: number;
  /** Width of the stack's embedding (layers >= 1; 0 = the layer's `hidden`). */
  width: number;
  steps: number;
  batch: number;
  lr: number;
  lr_final: number;
  warmup: number;
  weight_decay: number;
  beta1: number;
  beta2: number;
  adam_eps: number;
  clip_norm: number;
  seed: number;
  threads: number;
  eval_every: number;
  val_size: number;
  dtype: "f32" | "f64";
  backend: "fast" | "reference";
  /** Where the run trains: "cpu" (the kernels above) or "webgpu" (src/train/webgpu-group.ts; f32, gated RNN only). */
  device: "cpu" | "webgpu";
}

const objectField = (doc: string): Field<Record<string, unknown>> => ({
  doc,
  default: {},
  parse(raw) {
    if (raw === null || typeof raw !== "object" || Array.isArray(raw)) throw new Error(`expected an object, got ${JSON.stringify(raw)}`);
    return raw as Record<string, unknown>;
  },
});
const nameField = (doc: string, def: string): Field<string> => ({
  doc,
  default: def,
  parse(raw) {
    if (typeof raw !== "string" || raw === "") throw new Error(`expected a name, got ${JSON.stringify(raw)}`);
    return raw;
  },
});

export const trainSchema: Schema<TrainConfig> = {
  task: nameField("task name: teacher-student | icl-regression", "teacher-student"),
  task_config: objectField("the task's config (defaults: the paper's)"),
  model: nameField("model family name", "gated-rnn"),
  model_config: objectField("the model family's config without its widths"),
  layers: int("0 = the family alone; L >= 1 = Section 3.3 stack of L layers", { min: 0, max: 16, default: 0 }),
  width: int("stack embedding width (0 = hidden)", { min: 0, max: 1 << 14, default: 0 }),
  steps: int("optimizer steps (0 = the paper's: 1M teacher-student, 300k icl-regression)", { min: 0, max: 1e9, default: 0 }),
  batch: int("sequences per batch", { min: 1, max: 1 << 16, default: 64 }),
  lr: num("initial learning rate", { min: 0, max: 1e6, default: 1e-3 }),
  lr_final: num("learning rate at the end of the cosine schedule", { min: 0, max: 1e6, default: 1e-6 }),
  warmup: int("linear warm-up steps", { min: 0, max: 1e9, default: 0 }),
  weight_decay: num("AdamW decoupled weight decay (not on recurrent parameters)", { min: 0, max: 1, default: 1e-4 }),
  beta1: num("AdamW beta1", { min: 0, max: 1, default: 0.9 }),
  beta2: num("AdamW beta2", { min: 0, max: 1, default: 0.999 }),
  adam_eps: num("AdamW epsilon", { min: 0, max: 1, default: 1e-8 }),
  clip_norm: num("global gradient-norm clipping (0 = off)", { min: 0, max: 1e9, default: 0 }),
  seed: int("random seed", { min: 0, max: Number.MAX_SAFE_INTEGER, default: 0 }),
  threads: int("worker threads", { min: 1, max: 64, default: 1 }),
  eval_every: int("steps between log points (metrics line, validation, checkpoint)", { min: 1, max: 1e9, default: 100 }),
  val_size: int("validation sequences (fixed per run)", { min: 1, max: 1 << 20, default: 512 }),
  dtype: oneOf("float type of parameters and kernels", ["f32", "f64"] as const, "f32"),
  backend: oneOf("kernels: fast (wasm SIMD, f32) or reference (plain TypeScript)", ["fast", "reference"] as const, "fast"),
  device: oneOf("where the run trains: cpu, or webgpu (a GPU through WebGPU; gated RNN, f32)", ["cpu", "webgpu"] as const, "cpu"),
};

/** The model family and its full config for a train config: widths from the task, a stack when layers >= 1. */
export function resolveModel(cfg: TrainConfig, dIn: number, dOut: number): { family: ModelFamily; config: unknown } {
  const fam = getFamily(cfg.model);
  if (cfg.layers === 0) return { family: fam, config: configFromWidths(fam, cfg.model_config, dIn, dOut, `model_config (${fam.name})`) };
  const stack = getFamily("stack");
  const hidden = Number(cfg.model_config.hidden ?? (fam.schema as Record<string, Field<unknown>>).hidden?.default ?? 0);
  const width = cfg.width || hidden;
  if (!width) throw new Error("width: set --width (or a hidden size) for a stack");
  const config = configFromWidths(stack, { width, layers: cfg.layers, layer: cfg.model, layer_config: cfg.model_config }, dIn, dOut, "stack");
  stack.shapes(config); // validates the layer config now, with its one-line error
  return { family: stack, config };
}

/** Parses a raw train config (unknown keys and bad values are one-line errors) and fills the task and model configs. */
export function parseTrainConfig(raw: unknown): TrainConfig {
  const cfg = parseConfig(trainSchema, raw, "train config");
  const task = getTask(cfg.task);
  cfg.task_config = parseConfig(task.schema, cfg.task_config, `task_config (${task.name})`) as Record<string, unknown>;
  if (cfg.steps === 0) cfg.steps = task.paperSteps;
  const { dIn, dOut } = task.dims(cfg.task_config);
  const { family, config } = resolveModel(cfg, dIn, dOut);
  // write every model default out, minus the widths the task (or the stack) sets
  if (cfg.layers === 0) cfg.model_config = withoutWidths(family, config);
  else {
    const layerFam = getFamily(cfg.model);
    const layerConfig = (config as { layer_config: Record<string, unknown> }).layer_config;
    cfg.model_config = { ...layerConfig, ...withoutWidths(layerFam, configFromWidths(layerFam, layerConfig, 1, 1)) };
  }
  if (family.name === "stack" && !cfg.width) cfg.width = (config as { width: number }).width;
  if (cfg.backend === "fast" && cfg.dtype !== "f32") throw new Error("dtype: the fast backend computes in f32; use --dtype f32 or --backend reference");
  return cfg;
}

/** Everything a run needs in memory: the model in trained form, optimizer state, data stream, validation set. */
export interface Trainer {
  cfg: TrainConfig;
  /** The kernels the trainer computes on (trainingKernels: for the fast backend, its own shared-memory instance). */
  k: Kernels;
  task: Task;
  setup: unknown;
  family: ModelFamily;
  /** The family's trained form: its reparametrised tensors and the tensors without weight decay. */
  form: TrainedForm;
  /** The model as the family sees it (reparametrised tensors, e.g. lambda, derived from the trained ones after each update). */
  params: Params;
  /** The optimizer's view: trained names (e.g. nu for lambda) -> buffers in k's memory. */
  trainable: Record<string, Float>;
  opt: AdamWState;
  adam: AdamWConfig;
  dataRng: Rng;
  validation: Batch[];
  dOut: number;
  /** The sharded forward/backward (src/train/engine.ts): shards, threads, and a note when fewer threads run than asked. */
  engine: ShardEngine;
}

/** Saved trainer state: what a checkpoint holds besides the config. */
export interface TrainerSnapshot {
  step: number;
  trainable: Record<string, Float>;
  m: Record<string, Float>;
  v: Record<string, Float>;
  rng: RngState;
}

/**
 * A trainer for `cfg` on the backend `kernels` (e.g. kernelsForRun(cfg)): streams split from the seed (setup, init,
 * validation, data), the model initialised by its family (or restored from `snapshot`) and held in its trained form,
 * AdamW with the cosine schedule lr -> lr_final over the run. The trainer computes on trainingKernels(kernels,
 * cfg.threads): on the fast backend in Node, a memory of its own (freed with the trainer, whatever the caller marks
 * in `kernels`); otherwise `kernels` itself, whose arena the caller brackets with mark/release around the trainer.
 */
export function createTrainer(cfg: TrainConfig, kernels: Kernels, snapshot?: TrainerSnapshot): Trainer {
  const { task, dims: { dIn, dOut, T }, family, config, setup, init, validation, dataRng } = startRun(cfg);
  const tk = trainingKernels(kernels, cfg.threads);
  const { k } = tk;
  const form = trainedFormOf(family, config);

  const trainable: Record<string, Float> = {};
  const tensors: Record<string, Tensor> = {};
  for (const [name, t] of Object.entries(init.tensors)) {
    const buf = k.alloc(t.data.length);
    const re = form.reparams[name];
    if (re) {
      re.toTrained(buf, t.data);
      tensors[name] = { shape: t.shape, data: k.alloc(t.data.length) };
    } else {
      buf.set(t.data);
      tensors[name] = { shape: t.shape, data: buf };
    }
    trainable[re ? re.name : name] = buf;
  }
  const opt = adamwInit(trainable, (n) => k.alloc(n));
  if (snapshot) {
    for (const [name, buf] of Object.entries(trainable)) {
      for (const [what, src] of [["parameter", snapshot.trainable], ["adam_m", snapshot.m], ["adam_v", snapshot.v]] as const) {
        const s = src[name];
        if (!s || s.length !== buf.length) throw new Error(`checkpoint: ${what} "${name}" is missing or has the wrong size`);
      }
      buf.set(snapshot.trainable[name]);
      opt.m[name].set(snapshot.m[name]);
      opt.v[name].set(snapshot.v[name]);
    }
    opt.step = snapshot.step;
  }
  const adam = adamConfig(cfg, form);
  const params: Params = { family: family.name, config, tensors };
  const engine = createShardEngine({
    kernels: tk, family, params, batch: cfg.batch, T, dIn, dOut, threads: cfg.threads,
    data: { task, config: cfg.task_config, setup, dtype: cfg.dtype },
  });
  const tr: Trainer = {
    cfg, k, task, setup, family, form, params,
    trainable, opt, adam,
    dataRng: snapshot ? Rng.fromState(snapshot.rng) : dataRng,
    validation, dOut, engine,
  };
  if (engine.threads > 1) engines.register(tr, engine);
  syncModel(tr);
  return tr;
}

/** A run's start: its task, dims and model, and what its seed fixes (the teacher, the initial model, the validation set, the data stream). */
export interface RunStart {
  task: Task;
  dims: { dIn: number; dOut: number; T: number };
  family: ModelFamily;
  config: unknown;
  setup: unknown;
  /** The family's initialisation (model form, the run's dtype). */
  init: Params;
  validation: Batch[];
  /** The training data stream (before any step). */
  dataRng: Rng;
}

/**
 * What cfg.seed fixes, drawn as every trainer draws it: the root stream split into setup, init, validation and data
 * streams, in that order; the task's setup (the teacher), the family's initialisation, the validation batches.
 */
export function startRun(cfg: TrainConfig): RunStart {
  const task = getTask(cfg.task);
  const dims = task.dims(cfg.task_config);
  const { family, config } = resolveModel(cfg, dims.dIn, dims.dOut);
  if (!family.backward) throw new Error(`model "${family.name}" cannot be trained yet (no backward pass)`);
  const root = Rng.fromSeed(cfg.seed);
  const setupRng = root.split();
  const initRng = root.split();
  const valRng = root.split();
  const dataRng = root.split();
  const setup = task.setup(setupRng, cfg.task_config);
  const init = family.init(initRng, config, cfg.dtype);
  const validation: Batch[] = [];
  for (let left = cfg.val_size; left > 0; left -= cfg.batch) {
    validation.push(task.validationBatch(valRng, cfg.task_config, setup, Math.min(cfg.batch, left), cfg.dtype));
  }
  return { task, dims, family, config, setup, init, validation, dataRng };
}

/** AdamW for a run: cosine lr -> lr_final over steps - warmup (after the linear warm-up), no decay on the family's noDecay tensors. */
export function adamConfig(cfg: TrainConfig, form: TrainedForm): AdamWConfig {
  const schedule = cosine(cfg.lr, cfg.lr_final, Math.max(1, cfg.steps - cfg.warmup));
  const noDecay = new Set(form.noDecay);
  return {
    lr: cfg.warmup > 0 ? warmup(cfg.warmup, schedule) : schedule,
    beta1: cfg.beta1,
    beta2: cfg.beta2,
    eps: cfg.adam_eps,
    weightDecay: cfg.weight_decay,
    decay: (name) => !noDecay.has(name),
    clipNorm: cfg.clip_norm,
  };
}

/** Worker threads of trainers nobody holds any more are stopped (closeTrainer does it at once). */
const engines = new FinalizationRegistry<ShardEngine>((e) => e.close());

/** Stops a trainer's worker threads (a no-op on 1 thread); the trainer cannot step afterwards. */
export function closeTrainer(tr: Trainer): void {
  tr.engine.close();
}

/** Recomputes every reparametrised model tensor from its trained form (e.g. lambda = exp(-exp(nu))). */
function syncModel(tr: Trainer): void {
  for (const [name, re] of Object.entries(tr.form.reparams)) re.fromTrained(tr.params.tensors[name].data, tr.trainable[re.name]);
}

/** Thrown when a loss is NaN or ±Inf; names the step. */
export class NonFiniteLossError extends Error {
  constructor(readonly step: number, readonly loss: number) {
    super(`loss is ${loss} at step ${step}`);
  }
}

/**
 * One optimizer step on the data stream's next batch: the task's inputs (Task.inputs), then over the batch's shards
 * (tr.engine, summed in shard order: the same numbers on 1 or 2 threads) each shard's targets (Task.targets, on the
 * thread running it), forward, loss (loss.ts) and backward; the family's chain rule into its trained form, AdamW.
 * Returns loss and lr. Bit for bit trainStepOn(tr, task.batch(...)) on the same data stream.
 */
export function trainStep(tr: Trainer): { loss: number; lr: number } {
  const { task, cfg } = tr;
  return trainStepOn(tr, task.inputs(tr.dataRng, cfg.task_config, tr.setup, cfg.batch, cfg.dtype));
}

/**
 * trainStep on a given batch (x [B, T, d_in], the trainer's B and T) instead of the next one of the data stream. Its
 * targets go through the task's per-shard targets step like every step's: a batch of the trainer's task (Task.batch
 * or Task.inputs) trains as drawn.
 */
export function trainStepOn(tr: Trainer, batch: Batch): { loss: number; lr: number } {
  return update(tr, tr.engine.step(batch));
}

/** The step after the engine's forward/backward: the loss, the family's chain rule, AdamW, the model from its trained form. */
function update(tr: Trainer, { sse, n, grads }: ShardStepResult): { loss: number; lr: number } {
  const { params, form } = tr;
  const loss = lossFromSse(sse, n);
  if (!Number.isFinite(loss)) throw new NonFiniteLossError(tr.opt.step + 1, loss);
  const g: Record<string, Float> = {};
  for (const name in grads) {
    const grad = grads[name];
    const re = form.reparams[name];
    if (re) re.chainRule(grad, tr.trainable[re.name], params.tensors[name].data);
    g[re ? re.name : name] = grad;
  }
  const lr = adamwUpdate(tr.adam, tr.opt, tr.trainable, g, tr.k);
  syncModel(tr);
  return { loss, lr };
}

/** Mean loss over the fixed validation set (sequence-weighted over its batches). */
export function evaluate(tr: Trainer): number {
  let sum = 0;
  let n = 0;
  for (const b of tr.validation) {
    const y = tr.family.forward(tr.params, b.x, tr.k);
    const B = b.x.shape[0];
    sum += mseLoss(y.data, b, tr.dOut) * B;
    n += B;
  }
  return sum / n;
}

/** Loss of the zero predictor on the validation set (the scale "100x below" is measured against). */
export function zeroPredictorLoss(tr: Trainer): number {
  let sum = 0;
  let n = 0;
  for (const b of tr.validation) {
    const [B, T] = b.x.shape;
    sum += mseLoss(new Float64Array(B * T * tr.dOut), b, tr.dOut) * B;
    n += B;
  }
  return sum / n;
}

/** The model's parameters as plain buffers (lambda form, the trainer's dtype), detached from the kernels' memory. */
export function exportParams(tr: Trainer): Params {
  const tensors: Record<string, Tensor> = {};
  for (const [name, t] of Object.entries(tr.params.tensors)) {
    const data = allocFloat(tr.cfg.dtype, t.data.length);
    data.set(t.data);
    tensors[name] = { shape: [...t.shape], data };
  }
  return { family: tr.params.family, config: structuredClone(tr.params.config), tensors };
}

/** The trainer's state for a checkpoint (copies, detached from the kernels' memory). */
export function snapshotTrainer(tr: Trainer): TrainerSnapshot {
  const copy = (r: Record<string, Float>) => Object.fromEntries(Object.entries(r).map(([n, b]) => [n, b.slice()]));
  return { step: tr.opt.step, trainable: copy(tr.trainable), m: copy(tr.opt.m), v: copy(tr.opt.v), rng: tr.dataRng.state() };
}
