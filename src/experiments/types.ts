/**
 * Types shared by the reproduction presets (src/experiments/presets.ts), the sweep runner (sweep.ts), the collector
 * (collect.ts), the figures (figures.ts) and the HTML report (report.ts).
 *
 * A preset expands, at a scale, into a deterministic list of run drafts (a TrainConfig plus descriptive tags); the
 * sweep turns each into a RunSpec with a stable id (hash of the parsed config), runs them (skipping finished ones,
 * resuming interrupted ones), and the collector turns the finished run directories into RunRecords and then into the
 * preset's tables, numbers and figures.
 */

/** `quick`: minutes on a 2-core laptop, same qualitative result; `paper`: the paper's protocol (App. B.1 / C.1). */
export type Scale = "quick" | "paper";

/** Tag values describing a run in tables and figures (architecture, size, seed, ...). */
export type Tags = Record<string, string | number>;

/** What a preset asks to run: a raw TrainConfig (parsed by src/train/loop.ts) plus tags and analysis wishes. */
export interface RunDraft {
  /** Short human part of the run id, e.g. "ts-d4-gated-rnn-h100-s0" (the id appends a config hash). */
  slug: string;
  /** A raw TrainConfig (every key optional; defaults are the paper's). `threads` is set at run time. */
  config: Record<string, unknown>;
  tags: Tags;
  /** Run the analysis (src/analysis) on the finished run and keep its JSON in the run directory. */
  analyze?: boolean;
}

/** A draft with its stable id and a relative cost estimate (optimizer steps x parameters), for sharding and ETA. */
export interface RunSpec extends RunDraft {
  id: string;
  /** The parsed config without `threads` (what the id hashes). */
  parsed: Record<string, unknown>;
  steps: number;
  params: number;
  cost: number;
}

/** One finished (or partly finished) run as the collector reads it back from its directory. */
export interface RunRecord {
  id: string;
  tags: Tags;
  task: string;
  model: string;
  layers: number;
  seed: number;
  /** Trainable parameter count of the model. */
  params: number;
  steps: number;
  /** Steps done (== steps when finished). */
  step: number;
  finished: boolean;
  /** Mean training loss over the last ~10% of the run (at most the last 10 log points). */
  train_loss: number;
  /** Final validation loss. */
  val_loss: number;
  /** Loss of the zero predictor on the validation set (for scale). */
  zero_val_loss: number;
  elapsed_s: number;
  /** Training curve: step, train loss, val loss (metrics.jsonl, thinned to at most 200 points). */
  curve: { step: number; loss: number; val_loss: number }[];
  /** The analysis' JSON for this run (src/analysis), when the preset asked for it and it ran. */
  analysis?: Record<string, unknown>;
}

/** A table of a report: column headers and rows of preformatted cells, plus an optional note under it. */
export interface ReportTable {
  title: string;
  columns: string[];
  rows: (string | number)[][];
  note?: string;
}

/** A figure: a Vega-Lite spec with its data inlined (the web page can render the same spec). */
export interface FigureSpec {
  /** File stem: FIGURES/<name>.svg and .png. */
  name: string;
  title: string;
  /** Caption shown under the figure in the report. */
  caption: string;
  spec: Record<string, unknown>;
}

/** What a preset makes of its finished runs. */
export interface PresetResults {
  /** The preset's headline numbers (printed by `--json`). */
  numbers: Record<string, unknown>;
  tables: ReportTable[];
  figures: FigureSpec[];
  /** Warnings (runs missing, analysis unavailable...), shown in the report and on stderr. */
  notes: string[];
}

/** A reproduction target: `table1`, `table2`, `fig2`, `fig3a`, `fig3b`, `fig4a`, `fig4b`, `fig5`. */
export interface Preset {
  name: string;
  title: string;
  /** What the paper reports, one line (shown in the report next to ours). */
  paper: string;
  /** The run drafts at a scale, in a fixed order. */
  runs(scale: Scale): RunDraft[];
  /** Settings at this scale that deviate from the paper's protocol, one line each (empty at paper scale). */
  deviations(scale: Scale): string[];
  /** Tables, numbers and figures from the records of this preset's runs (finished or not, in `runs` order). */
  results(records: RunRecord[], scale: Scale): PresetResults;
}
