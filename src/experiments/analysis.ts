/**
 * The bridge from a finished run directory to the analysis library (src/analysis): loads the model and its reference
 * (the teacher, or one GD step for in-context regression) as `gra analyze DIR` does and returns the analysis report
 * as plain JSON (what the sweep stores as DIR/analysis.json and the presets read back). Only eq. 2's gated RNN
 * (family gated-rnn, layers 0) is analysed.
 */
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { analyzeGatedRnn } from "../analysis/analyze.ts";
import type { AnalysisOptions, AnalysisReport, AnalysisTask } from "../analysis/analyze.ts";
import { loadParams } from "../io/files.ts";
import type { AttentionConfig } from "../models/attention.ts";
import type { GatedRnnConfig } from "../models/gated-rnn.ts";
import type { Params } from "../models/types.ts";

/** The analysis report of run directory `dir` as JSON-safe data (NaN/Infinity become null). */
export async function analyzeRun(dir: string, opts: AnalysisOptions = {}): Promise<Record<string, unknown>> {
  const cfg = JSON.parse(await readFile(join(dir, "config.json"), "utf8")) as { task: string; layers: number; task_config: Record<string, number> };
  if (cfg.layers !== 0) throw new Error(`${dir}: the analysis needs the gated RNN alone (layers 0), not a stack`);
  const model = await loadParams<GatedRnnConfig>(join(dir, "model.safetensors"), { dtype: "f64" });
  const attPath = join(dir, "attention.safetensors");
  const hasAtt = await stat(attPath).then(() => true, () => false);
  const reference = hasAtt ? await loadParams<AttentionConfig>(attPath, { dtype: "f64" }) : null;
  const tc = cfg.task_config;
  const task: AnalysisTask = cfg.task === "icl-regression" ? { kind: "icl-regression", d_x: tc.d_x, d_y: tc.d_y, T: tc.T } : { kind: "teacher-student", T: tc.T };
  const report: AnalysisReport = analyzeGatedRnn(model as Params<GatedRnnConfig>, reference, task, opts);
  return JSON.parse(JSON.stringify(report)) as Record<string, unknown>;
}
