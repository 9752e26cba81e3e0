/**
 * The page's training worker: the CLI's training core (src/train/loop.ts) on the CLI's SIMD kernels (the same
 * kernels.wasm, fetched next to the page; an embedded copy when the page is opened from a file), stepping in
 * ~100 ms slices so pause messages get through, posting progress, validation losses and weight snapshots.
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

let tr: Trainer | null = null;
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

function weights(t: Trainer): Record<string, WireTensor> {
  const p = exportParams(t);
  const out: Record<string, WireTensor> = {};
  for (const [n, x] of Object.entries(p.tensors)) out[n] = { shape: [...x.shape], data: x.data };
  return out;
}

function transferList(w: Record<string, WireTensor>): Transferable[] {
  return Object.values(w).map((t) => t.data.buffer as ArrayBuffer);
}

function postWeights(t: Trainer): void {
  const w = weights(t);
  post({ type: "weights", step: t.opt.step, weights: w }, transferList(w));
}

async function init(settings: TrainSettings, wasmUrl: string): Promise<void> {
  stop();
  tr = null;
  trainMs = 0;
  const cfg = parseTrainConfig(trainConfigFor(settings));
  const k = await kernels(wasmUrl);
  const t = createTrainer(cfg, k);
  tr = t;
  const teacher = t.setup as { tensors: Record<string, { data: ArrayLike<number> }> };
  const w = weights(t);
  post(
    {
      type: "ready",
      backend: k.name,
      teacher: { d: settings.d, W_V: Array.from(teacher.tensors.W_V.data), W_K: Array.from(teacher.tensors.W_K.data), W_Q: Array.from(teacher.tensors.W_Q.data) },
      weights: w,
      val_loss: evaluate(t),
      zero_loss: zeroPredictorLoss(t),
    },
    transferList(w),
  );
}

function stop(): void {
  running = false;
  if (timer !== null) clearTimeout(timer);
  timer = null;
}

function slice(): void {
  timer = null;
  const t = tr;
  if (!running || !t) return;
  const t0 = performance.now();
  let sum = 0;
  let n = 0;
  let lr = 0;
  try {
    while (t.opt.step < t.cfg.steps && performance.now() - t0 < SLICE_MS) {
      const r = trainStep(t);
      sum += r.loss;
      lr = r.lr;
      n++;
    }
  } catch (e) {
    stop();
    post({ type: "error", message: e instanceof Error ? e.message : String(e) });
    return;
  }
  const now = performance.now();
  trainMs += now - t0;
  if (n > 0) post({ type: "progress", step: t.opt.step, steps: t.cfg.steps, loss: sum / n, lr, elapsed_s: trainMs / 1000, steps_per_s: (n * 1000) / Math.max(1, now - t0) });
  const finished = t.opt.step >= t.cfg.steps;
  if (finished || now - lastVal >= VAL_EVERY_MS) {
    lastVal = now;
    post({ type: "val", step: t.opt.step, val_loss: evaluate(t) });
  }
  if (finished || now - lastWeights >= WEIGHTS_EVERY_MS) {
    lastWeights = now;
    postWeights(t);
  }
  if (finished) {
    stop();
    post({ type: "done", step: t.opt.step });
    return;
  }
  timer = setTimeout(slice, 0);
}

scope.onmessage = (e) => {
  const m = e.data;
  if (m.type === "init") {
    init(m.settings, m.wasmUrl).catch((err: unknown) => post({ type: "error", message: err instanceof Error ? err.message : String(err) }));
  } else if (m.type === "run") {
    if (!tr || running) return;
    running = true;
    lastWeights = lastVal = performance.now();
    timer = setTimeout(slice, 0);
  } else if (m.type === "analyze") {
    if (!tr || running) return;
    const t = tr;
    const t0 = performance.now();
    try {
      const report = analyzeGatedRnn(exportParams(t) as Params<GatedRnnConfig>, t.setup as Params<AttentionConfig>, { kind: "teacher-student", T: Number(t.cfg.task_config.T) }, {
        tolerance: m.tolerance, lambdaTolerance: m.lambdaTolerance, sequences: 128,
      });
      post({ type: "analysis", step: t.opt.step, report, ms: performance.now() - t0 });
    } catch (e) {
      post({ type: "analysis-error", step: t.opt.step, message: e instanceof Error ? e.message : String(e) });
    }
  } else if (m.type === "pause") {
    const was = running;
    stop();
    if (tr && was) {
      postWeights(tr);
      post({ type: "val", step: tr.opt.step, val_loss: evaluate(tr) });
      post({ type: "paused", step: tr.opt.step });
    }
  }
};
