/** Messages between the page and its training worker (web/worker.ts), and the page's training settings. */
import type { AnalysisReport } from "../src/analysis/analyze.ts";

/** What the page lets you set for the teacher-student run (everything else: the CLI's defaults). */
export interface TrainSettings {
  /** Token width d of teacher and student. */
  d: number;
  /** Student hidden neurons N. */
  hidden: number;
  /** Student output-gating rows M. */
  output_gating: number;
  /** Sequence length T. */
  T: number;
  batch: number;
  /** Initial learning rate (cosine-annealed to lr / 100 over `steps`). */
  lr: number;
  /** Length of the schedule: training stops here. */
  steps: number;
  seed: number;
  weight_decay: number;
  /** Train on the GPU through WebGPU (navigator.gpu; the WGSL kernels of `--device webgpu`) instead of the wasm kernels. */
  gpu?: boolean;
}

/** The page's defaults: the paper's student (d = 4, 100 hidden, 100 output gating, T = 32), demo-speed optimiser. */
export const DEFAULT_SETTINGS: TrainSettings = { d: 4, hidden: 100, output_gating: 100, T: 32, batch: 16, lr: 5e-3, steps: 20000, seed: 0, weight_decay: 1e-4 };

/** The train config (src/train/loop.ts) for page settings. */
export function trainConfigFor(s: TrainSettings): Record<string, unknown> {
  return {
    task: "teacher-student",
    task_config: { d: s.d, T: s.T },
    model: "gated-rnn",
    model_config: { hidden: s.hidden, output_gating: s.output_gating },
    steps: s.steps,
    batch: s.batch,
    lr: s.lr,
    lr_final: s.lr / 100,
    weight_decay: s.weight_decay,
    seed: s.seed,
    val_size: 128,
    dtype: "f32",
    backend: "fast",
  };
}

/** A tensor as posted between threads. */
export interface WireTensor {
  shape: number[];
  data: Float32Array | Float64Array;
}

/** Page -> worker. */
export type ToWorker =
  | { type: "init"; settings: TrainSettings; wasmUrl: string }
  | { type: "run" }
  | { type: "pause" }
  | { type: "analyze"; tolerance: number; lambdaTolerance: number };

/** Worker -> page. */
export type FromWorker =
  | {
      type: "ready";
      backend: string;
      teacher: { d: number; W_V: number[]; W_K: number[]; W_Q: number[] };
      weights: Record<string, WireTensor>;
      val_loss: number;
      zero_loss: number;
    }
  | { type: "progress"; step: number; steps: number; loss: number; lr: number; elapsed_s: number; steps_per_s: number }
  | { type: "val"; step: number; val_loss: number }
  | { type: "weights"; step: number; weights: Record<string, WireTensor> }
  | { type: "paused"; step: number }
  | { type: "done"; step: number }
  | { type: "analysis"; step: number; report: AnalysisReport; ms: number }
  | { type: "analysis-error"; step: number; message: string }
  | { type: "error"; message: string };
