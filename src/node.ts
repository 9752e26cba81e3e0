/** Node-only parts of gated-rnn-attention: files (atomic writes, safetensors on disk), the wasm loader. */
export * from "./io/files.ts";
export * from "./kernels/node.ts";
export { runTraining, parseMetrics } from "./train/run.ts";
export type { RunOptions, RunSummary, MetricsLine, Progress } from "./train/run.ts";
export { loadAnalysisInputs } from "./analysis/load.ts";
