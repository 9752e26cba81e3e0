/**
 * Node-only: reads what `gra analyze` analyses from a directory (kept out of src/analysis/index.ts, which stays
 * platform-neutral). A `gra train` run directory (config.json, model.safetensors, attention.safetensors for
 * teacher-student) or a `gra construct` output (model.safetensors, attention.safetensors; no config.json).
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileExists, loadParams } from "../io/files.ts";
import type { AttentionConfig } from "../models/attention.ts";
import type { GatedRnnConfig } from "../models/gated-rnn.ts";
import type { Params } from "../models/types.ts";
import type { AnalysisTask } from "./analyze.ts";
import { InputError } from "../errors.ts";

/** What DIR holds: the model, the reference (null = GD for icl) and the task. */
export interface AnalysisInputs {
  model: Params<GatedRnnConfig>;
  reference: Params<AttentionConfig> | null;
  task: AnalysisTask;
  /** "run" (config.json present) or "construction". */
  source: "run" | "construction";
}

const int = (v: unknown, def: number): number => (Number.isInteger(v) ? (v as number) : def);

/** Reads DIR (run directory: task from config.json; construction: teacher-student, T = 32); one-line errors naming the file. */
export async function loadAnalysisInputs(dir: string): Promise<AnalysisInputs> {
  const modelPath = join(dir, "model.safetensors");
  if (!(await fileExists(modelPath))) throw new InputError(`${dir}: no model.safetensors (not a gra train run directory or gra construct output)`);
  const model = await loadParams<GatedRnnConfig>(modelPath, { dtype: "f64" });
  if (model.family !== "gated-rnn") {
    throw new InputError(`${modelPath}: model family "${model.family}" is not supported (gra analyze reverse-engineers eq. 2's gated RNN, family gated-rnn)`);
  }
  const attPath = join(dir, "attention.safetensors");
  const loadAttention = async (): Promise<Params<AttentionConfig>> => {
    if (!(await fileExists(attPath))) throw new InputError(`${dir}: no attention.safetensors (the reference attention layer)`);
    const att = await loadParams<AttentionConfig>(attPath, { dtype: "f64" });
    if (att.family !== "attention") throw new InputError(`${attPath}: expected an attention layer, got family "${att.family}"`);
    return att;
  };
  const cfgPath = join(dir, "config.json");
  if (!(await fileExists(cfgPath))) {
    return { model, reference: await loadAttention(), task: { kind: "teacher-student", T: 32 }, source: "construction" };
  }
  let cfg: Record<string, unknown>;
  try {
    cfg = JSON.parse(await readFile(cfgPath, "utf8"));
    if (cfg === null || typeof cfg !== "object" || Array.isArray(cfg)) throw new Error("not an object");
  } catch {
    throw new InputError(`${cfgPath}: not a valid run config (JSON object)`);
  }
  if ((cfg.layers ?? 0) !== 0) throw new InputError(`${cfgPath}: a stack of ${cfg.layers} layers; gra analyze needs the gated RNN alone (layers 0)`);
  const tc = (cfg.task_config ?? {}) as Record<string, unknown>;
  if (cfg.task === "icl-regression") {
    const task: AnalysisTask = { kind: "icl-regression", d_x: int(tc.d_x, 3), d_y: int(tc.d_y, 3), T: int(tc.T, 12) };
    return { model, reference: (await fileExists(attPath)) ? await loadAttention() : null, task, source: "run" };
  }
  if (cfg.task === "teacher-student" || cfg.task === undefined) {
    return { model, reference: await loadAttention(), task: { kind: "teacher-student", T: int(tc.T, 32) }, source: "run" };
  }
  throw new InputError(`${cfgPath}: unknown task ${JSON.stringify(cfg.task)}`);
}
