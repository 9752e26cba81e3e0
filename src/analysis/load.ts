/**
 * Node-only: reads what `gra analyze` analyses from a directory (kept out of src/analysis/index.ts, which stays
 * platform-neutral). A `gra train` run directory (config.json, model.safetensors, attention.safetensors for
 * teacher-student) or a `gra construct` output (model.safetensors, attention.safetensors; no config.json).
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileExists, loadTensors } from "../io/files.ts";
import type { DecodedSafetensors } from "../io/safetensors.ts";
import { paramsFromSafetensors } from "../io/safetensors.ts";
import type { AttentionConfig } from "../models/attention.ts";
import type { GatedRnnConfig } from "../models/gated-rnn.ts";
import type { Params } from "../models/types.ts";
import type { AnalysisTask } from "./analyze.ts";
import { InputError } from "../errors.ts";

/** The tensor names of eq. 2's gated RNN and of one attention layer (CONVENTIONS.md "Weight files"). */
const GATED_NAMES = ["in_x", "in_m", "lambda", "out_x", "out_m", "readout"] as const;
const ATTENTION_NAMES = ["W_V", "W_K", "W_Q"] as const;

/**
 * Family and config of a safetensors file written without our __metadata__ (PyTorch, JAX): from the tensor names
 * and shapes. Gated RNN (eq. 2): in_x [N, d+1], out_x [M, N], readout [d_out, M] -> {d_in: d, hidden: N,
 * output_gating: M, d_out}; attention (eq. 1): W_V [(H,) d_v, d], W_K [(H,) d_k, d] -> {d, heads: H, d_key: d_k,
 * d_out: d_v}. `family` forces the family. Returns null when the names fit neither (the loader then says so).
 */
export function inferFamily(decoded: DecodedSafetensors, family?: string): { family: string; config: Record<string, number> } | null {
  const t = decoded.tensors;
  const has = (names: readonly string[]) => names.every((n) => Object.hasOwn(t, n));
  if ((family === undefined || family === "gated-rnn") && has(GATED_NAMES)) {
    const [N, D] = t.in_x.shape, [M] = t.out_x.shape, [dOut] = t.readout.shape;
    return { family: "gated-rnn", config: { d_in: D - 1, hidden: N, output_gating: M, d_out: dOut } };
  }
  if ((family === undefined || family === "attention") && has(ATTENTION_NAMES)) {
    const v = t.W_V.shape, k = t.W_K.shape;
    const heads = v.length === 3 ? v[0] : 1;
    return { family: "attention", config: { d: v[v.length - 1], heads, d_key: k[k.length - 2], d_out: v[v.length - 2] } };
  }
  return null;
}

/**
 * Loads `path` as family `want` (float64): with our __metadata__ as written, without it from the tensor names and
 * shapes (`inferFamily`); `family` (the --family option) overrides the file's. One-line errors naming the file.
 */
export async function loadInferred<C>(path: string, want: string, family?: string): Promise<{ params: Params<C>; inferred: boolean }> {
  const decoded = await loadTensors(path);
  const metaFamily = decoded.metadata.family;
  if (metaFamily !== undefined && decoded.metadata.config !== undefined && (family === undefined || family === metaFamily)) {
    return { params: paramsFromSafetensors(decoded, path, { dtype: "f64" }) as Params<C>, inferred: false };
  }
  const inf = inferFamily(decoded, family ?? want);
  if (!inf) {
    const names = Object.keys(decoded.tensors).join(", ") || "none";
    throw new InputError(`${path}: no __metadata__ family and the tensor names (${names}) are not ${want === "attention" ? "an attention layer's (W_V, W_K, W_Q)" : `eq. 2's gated RNN's (${GATED_NAMES.join(", ")})`}`);
  }
  const stripped: DecodedSafetensors = { ...decoded, metadata: {} };
  return { params: paramsFromSafetensors(stripped, path, { dtype: "f64", family: inf.family, config: inf.config }) as Params<C>, inferred: true };
}

/** What DIR holds: the model, the reference (null = GD for icl) and the task. */
export interface AnalysisInputs {
  model: Params<GatedRnnConfig>;
  reference: Params<AttentionConfig> | null;
  task: AnalysisTask;
  /** "run" (config.json present) or "construction" (model and attention files only, e.g. trained elsewhere). */
  source: "run" | "construction";
  /** True when a file had no __metadata__ family/config and it was inferred from tensor names and shapes. */
  inferred: boolean;
}

const int = (v: unknown, def: number): number => (Number.isInteger(v) ? (v as number) : def);

/**
 * Reads DIR (run directory: task from config.json; otherwise teacher-student, T = 32); files without our __metadata__
 * are read by tensor names and shapes (`loadInferred`; `family` forces the model's family). One-line errors.
 */
export async function loadAnalysisInputs(dir: string, family?: string): Promise<AnalysisInputs> {
  const modelPath = join(dir, "model.safetensors");
  if (!(await fileExists(modelPath))) throw new InputError(`${dir}: no model.safetensors (not a gra train run directory or gra construct output)`);
  const loaded = await loadInferred<GatedRnnConfig>(modelPath, "gated-rnn", family);
  const model = loaded.params;
  let inferred = loaded.inferred;
  if (model.family !== "gated-rnn") {
    throw new InputError(`${modelPath}: model family "${model.family}" is not supported (gra analyze reverse-engineers eq. 2's gated RNN, family gated-rnn)`);
  }
  const attPath = join(dir, "attention.safetensors");
  const loadAttention = async (): Promise<Params<AttentionConfig>> => {
    if (!(await fileExists(attPath))) throw new InputError(`${dir}: no attention.safetensors (the reference attention layer)`);
    const a = await loadInferred<AttentionConfig>(attPath, "attention");
    inferred ||= a.inferred;
    const att = a.params;
    if (att.family !== "attention") throw new InputError(`${attPath}: expected an attention layer, got family "${att.family}"`);
    return att;
  };
  const cfgPath = join(dir, "config.json");
  if (!(await fileExists(cfgPath))) {
    const reference = await loadAttention();
    return { model, reference, task: { kind: "teacher-student", T: 32 }, source: "construction", inferred };
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
    const reference = (await fileExists(attPath)) ? await loadAttention() : null;
    return { model, reference, task, source: "run", inferred };
  }
  if (cfg.task === "teacher-student" || cfg.task === undefined) {
    const reference = await loadAttention();
    return { model, reference, task: { kind: "teacher-student", T: int(tc.T, 32) }, source: "run", inferred };
  }
  throw new InputError(`${cfgPath}: unknown task ${JSON.stringify(cfg.task)}`);
}
