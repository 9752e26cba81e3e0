/**
 * The page's training worker: the CLI's training core (src/train/loop.ts) on the CLI's SIMD kernels (the same
 * kernels.wasm, fetched next to the page; an embedded copy when the page is opened from a file), or, with the page's
 * "use the GPU" switch, the WebGPU run group of `--device webgpu` (src/train/webgpu-group.ts, R = 1: the same WGSL
 * kernels, navigator.gpu), stepping in ~100 ms slices so pause messages get through, posting progress, validation
 * losses and weight snapshots.
 */
import { analyzeGatedRnn } from "../src/analysis/analyze.ts";
import { createFastKernels } from "../src/kernels/fast.ts";
import { ref32 } from "../src/kernels/reference.ts";
import type { Kernels } from "../src/kernels/types.ts";
import type { AttentionConfig } from "../src/models/attention.ts";
import type { GatedRnnConfig } from "../src/models/gated-rnn.ts";
import type { Params } from "../src/models/types.ts";
import type { Trainer } from "../src/train/loop.ts";
import { createTrainer, evaluate, exportParams, parseTrainConfig, trainStep, zeroPredictorLoss } from "../src/train/loop.ts";
import type { TrainConfig } from "../src/train/loop.ts";
import { createWebGpuGroup } from "../src/train/webgpu-group.ts";
import type { FromWorker, ToWorker, TrainSettings, WireTensor } from "./protocol.ts";
import { trainConfigFor } from "./protocol.ts";

/** Base64 of build/kernels.wasm, injected by scripts/build-web.mjs (for pages opened from file://). */
declare const __KERNELS_WASM_BASE64__: string | undefined;

interface WorkerScope {
  postMessage(msg: FromWorker, transfer?: Transferable[]): void;
  onmessage: ((e: MessageEvent<ToWorker>) => void) | null;
}
const scope = self as unknown as WorkerScope;

const SLICE_MS = 100;
const WEIGHTS_EVERY_MS = 400;
const VAL_EVERY_MS = 1500;

/** What the worker trains on: the CPU trainer or the WebGPU group of one run, behind one asynchronous face. */
interface Engine {
  readonly backend: string;
  readonly cfg: TrainConfig;
  readonly setup: unknown;
  step(): number;
  /** Trains for about `ms` milliseconds (at least one step): the steps taken, their loss sum and the last lr. */
  train(ms: number): Promise<{ n: number; sum: number; lr: number }>;
  evaluate(): Promise<number>;
  zero(): number;
  params(): Promise<Params>;
  close(): void;
}

function cpuEngine(t: Trainer, backend: string): Engine {
  return {
    backend, cfg: t.cfg, setup: t.setup,
    step: () => t.opt.step,
    async train(ms) {
      const t0 = performance.now();
      let n = 0, sum = 0, lr = 0;
      while (t.opt.step < t.cfg.steps && performance.now() - t0 < ms) {
        const r = trainStep(t);
        sum += r.loss;
        lr = r.lr;
        n++;
      }
      return { n, sum, lr };
    },
    evaluate: async () => evaluate(t),
    zero: () => zeroPredictorLoss(t),
    params: async () => exportParams(t),
    close() {},
  };
}

async function gpuEngine(cfg: TrainConfig): Promise<Engine> {
  const g = await createWebGpuGroup([{ ...cfg, device: "webgpu" }]);
  let block = 4;
  return {
    backend: g.device, cfg, setup: g.artifacts(0)["attention.safetensors"],
    step: () => g.step,
    async train(ms) {
      const n = Math.max(1, Math.min(block, cfg.steps - g.step));
      const t0 = performance.now();
      const a = await g.advance(n);
      const took = performance.now() - t0;
      // steps per call follow the GPU's speed: about `ms` per call
      block = Math.max(1, Math.min(4096, Math.round((n * ms) / Math.max(1, took))));
      return { n, sum: a.lossSum[0], lr: a.lr[0] };
    },
    evaluate: async () => (await g.evaluate())[0],
    zero: () => g.zeroPredictorLoss()[0],
    params: () => g.exportParams(0),
    close: () => g.close(),
  };
}

let tr: Engine | null = null;
let running = false;
let timer: ReturnType<typeof setTimeout> | null = null;
let trainMs = 0;
let lastWeights = 0;
let lastVal = 0;
let wasmModule: WebAssembly.Module | null = null;

function post(m: FromWorker, transfer?: Transferable[]): void {
  scope.postMessage(m, transfer);
}

function embeddedWasm(): ArrayBuffer | null {
  if (typeof __KERNELS_WASM_BASE64__ === "undefined" || !__KERNELS_WASM_BASE64__) return null;
  const bin = atob(__KERNELS_WASM_BASE64__);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out.buffer;
}

/** The fast kernels over a fresh 64 MiB memory, or the plain TypeScript float32 reference when wasm fails. */
async function kernels(wasmUrl: string): Promise<Kernels> {
  try {
    if (!wasmModule) {
      let bytes: ArrayBuffer | null = null;
      if (wasmUrl) {
        try {
          const r = await fetch(wasmUrl);
          if (r.ok) bytes = await r.arrayBuffer();
        } catch {
          bytes = null;
        }
      }
      bytes ??= embeddedWasm();
      if (!bytes) throw new Error("kernels.wasm not found");
      wasmModule = await WebAssembly.compile(bytes);
    }
    return await createFastKernels(wasmModule, { memoryBytes: 64 * 1024 * 1024 });
  } catch {
    return ref32;
  }
}

async function weights(t: Engine): Promise<Record<string, WireTensor>> {
  const p = await t.params();
  const out: Record<string, WireTensor> = {};
  for (const [n, x] of Object.entries(p.tensors)) out[n] = { shape: [...x.shape], data: x.data };
  return out;
}

function transferList(w: Record<string, WireTensor>): Transferable[] {
  return Object.values(w).map((t) => t.data.buffer as ArrayBuffer);
}

async function postWeights(t: Engine): Promise<void> {
  const w = await weights(t);
  post({ type: "weights", step: t.step(), weights: w }, transferList(w));
}

async function init(settings: TrainSettings, wasmUrl: string): Promise<void> {
  stop();
  tr?.close();
  tr = null;
  trainMs = 0;
  const cfg = parseTrainConfig(trainConfigFor(settings));
  let t: Engine;
  if (settings.gpu) t = await gpuEngine(cfg);
  else {
    const k = await kernels(wasmUrl);
    t = cpuEngine(createTrainer(cfg, k), k.name);
  }
  tr = t;
  const teacher = t.setup as { tensors: Record<string, { data: ArrayLike<number> }> };
  const w = await weights(t);
  post(
    {
      type: "ready",
      backend: t.backend,
      teacher: { d: settings.d, W_V: Array.from(teacher.tensors.W_V.data), W_K: Array.from(teacher.tensors.W_K.data), W_Q: Array.from(teacher.tensors.W_Q.data) },
      weights: w,
      val_loss: await t.evaluate(),
      zero_loss: t.zero(),
    },
    transferList(w),
  );
}

function stop(): void {
  running = false;
  if (timer !== null) clearTimeout(timer);
  timer = null;
}

async function slice(): Promise<void> {
  timer = null;
  const t = tr;
  if (!running || !t) return;
  const t0 = performance.now();
  let r: { n: number; sum: number; lr: number };
  try {
    r = await t.train(SLICE_MS);
  } catch (e) {
    stop();
    post({ type: "error", message: e instanceof Error ? e.message : String(e) });
    return;
  }
  const now = performance.now();
  trainMs += now - t0;
  const step = t.step();
  if (r.n > 0) post({ type: "progress", step, steps: t.cfg.steps, loss: r.sum / r.n, lr: r.lr, elapsed_s: trainMs / 1000, steps_per_s: (r.n * 1000) / Math.max(1, now - t0) });
  const finished = step >= t.cfg.steps;
  if (finished || now - lastVal >= VAL_EVERY_MS) {
    lastVal = now;
    post({ type: "val", step, val_loss: await t.evaluate() });
  }
  if (finished || now - lastWeights >= WEIGHTS_EVERY_MS) {
    lastWeights = now;
    await postWeights(t);
  }
  if (finished) {
    stop();
    post({ type: "done", step });
    return;
  }
  if (running && tr === t) timer = setTimeout(() => void slice(), 0);
}

scope.onmessage = (e) => {
  const m = e.data;
  if (m.type === "init") {
    init(m.settings, m.wasmUrl).catch((err: unknown) => post({ type: "error", message: err instanceof Error ? err.message : String(err) }));
  } else if (m.type === "run") {
    if (!tr || running) return;
    running = true;
    lastWeights = lastVal = performance.now();
    timer = setTimeout(() => void slice(), 0);
  } else if (m.type === "analyze") {
    if (!tr || running) return;
    const t = tr;
    const t0 = performance.now();
    t.params().then((p) => {
      const report = analyzeGatedRnn(p as Params<GatedRnnConfig>, t.setup as Params<AttentionConfig>, { kind: "teacher-student", T: Number(t.cfg.task_config.T) }, {
        tolerance: m.tolerance, lambdaTolerance: m.lambdaTolerance, sequences: 128,
      });
      post({ type: "analysis", step: t.step(), report, ms: performance.now() - t0 });
    }).catch((e: unknown) => post({ type: "analysis-error", step: t.step(), message: e instanceof Error ? e.message : String(e) }));
  } else if (m.type === "pause") {
    const was = running;
    stop();
    const t = tr;
    if (t && was) {
      (async () => {
        await postWeights(t);
        post({ type: "val", step: t.step(), val_loss: await t.evaluate() });
        post({ type: "paused", step: t.step() });
      })().catch((e: unknown) => post({ type: "error", message: e instanceof Error ? e.message : String(e) }));
    }
  }
};
