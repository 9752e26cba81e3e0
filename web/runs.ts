/**
 * Section 3, runs and figures (only with `gra serve --runs DIR`): the run directories and reproductions under DIR
 * (from /api/runs), each with its metrics curves (metrics.jsonl), config, summary and analysis tables (JSON files),
 * figures (`*.figure.json` in the format of web/plot.ts, and .svg/.png images), and weight heatmaps of its
 * model.safetensors (gated RNN, sorted by λ) and attention.safetensors.
 */
import { decodeSafetensors } from "../src/io/safetensors.ts";
import type { ListedRun, RunsListing } from "../src/serve/server.ts";
import type { WeightsFigure } from "../src/analysis/figures.ts";
import { gatedWeightsFrom } from "./analysis.ts";
import { GROUP_TONES } from "./colors.ts";
import { h, setChildren } from "./dom.ts";
import { fmt, Heatmap } from "./heatmap.ts";
import type { FigureSpec } from "./plot.ts";
import { Chart, figureToChart } from "./plot.ts";
import { GatedView, runsOf, weightsFromFigure } from "./train.ts";

/** URL of a file of a listed run. */
function fileUrl(run: ListedRun, name: string): string {
  const parts = [...(run.path ? run.path.split("/") : []), ...name.split("/")];
  return `runs/${parts.map(encodeURIComponent).join("/")}`;
}

/** Parses metrics.jsonl into columns (lines that fail to parse are skipped). */
export function parseMetrics(text: string): Record<string, number>[] {
  const out: Record<string, number>[] = [];
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    try {
      const o = JSON.parse(line);
      if (o && typeof o === "object") out.push(o);
    } catch {
      /* a partial last line while a run writes */
    }
  }
  return out;
}

/** Flattens a JSON value into [key path, printable value] rows (objects to `depth`, arrays shown short). */
export function flatten(v: unknown, prefix = "", depth = 3): [string, string][] {
  if (v === null || typeof v !== "object") return [[prefix || "value", typeof v === "number" ? fmt(v) : String(v)]];
  if (Array.isArray(v)) {
    const allNum = v.every((x) => typeof x === "number");
    if (allNum && v.length <= 12) return [[prefix, v.map((x) => fmt(x as number)).join(", ")]];
    if (depth <= 0 || v.length > 12) return [[prefix, `[${v.length} items]`]];
    return v.flatMap((x, i) => flatten(x, `${prefix}[${i}]`, depth - 1));
  }
  if (depth <= 0) return [[prefix, JSON.stringify(v).slice(0, 80)]];
  return Object.entries(v as Record<string, unknown>).flatMap(([k, x]) => flatten(x, prefix ? `${prefix}.${k}` : k, depth - 1));
}

function kvTable(rows: [string, string][], testid?: string): HTMLElement {
  return h("table", { class: "kv", "data-testid": testid }, ...rows.map(([k, v]) => h("tr", {}, h("th", {}, k), h("td", { class: "num" }, v))));
}

/** The second line of a run in the list: what it is. */
function runLabel(r: ListedRun): string {
  const c = r.config as { task?: string; model?: string; model_config?: { hidden?: number }; layers?: number } | undefined;
  if (c?.task) return `${c.task} · ${c.model ?? "?"}${c.layers ? ` ×${c.layers} layers` : ""}${c.model_config?.hidden ? ` N=${c.model_config.hidden}` : ""}`;
  const figures = figureFiles(r).length;
  if (r.kind === "reproduction") return `results${figures ? `, ${figures} figure${figures > 1 ? "s" : ""}` : ""}${r.files.some((f) => f.name === "report.html") ? ", report" : ""}`;
  if (r.kind === "sweep") return "gra reproduce output: plan of the runs";
  if (r.kind === "construction") return "gra construct output: attention and RNN weights";
  return `${r.files.length} files`;
}

/** A path shown in the list: breaks allowed after "/" and "-" only (never inside a word); the root shown as `root/`. */
function pathLabel(path: string, root: string): HTMLElement {
  const b = h("b", {});
  const text = path || `${root}/`;
  for (const part of text.split(/(?<=[/-])/)) b.append(part, h("wbr", {}));
  return b;
}

/** The run the page opens first: a reproduction's results, else a training run, else the first listed. */
export function defaultRun(runs: readonly ListedRun[]): ListedRun | undefined {
  return runs.find((r) => r.kind === "reproduction") ?? runs.find((r) => r.kind === "run") ?? runs[0];
}

/** The images of a listed directory to show as figures: every SVG, and PNGs without an SVG twin. */
export function figureFiles(run: ListedRun): string[] {
  const names = new Set(run.files.map((f) => f.name));
  return run.files.map((f) => f.name).filter((n) => /\.svg$/i.test(n) || (/\.png$/i.test(n) && !names.has(n.replace(/\.png$/i, ".svg"))));
}

/** JSON files shown as key/value tables: not results.json and plan.json (drawn as tables), `*.figure.json` (charts) or Vega-Lite specs (`*.vl.json`, drawn as the SVGs next to them). */
export function tableJsonFiles(run: ListedRun): string[] {
  return run.files
    .filter((f) => f.name.endsWith(".json") && !/\.(figure|vl)\.json$/.test(f.name) && f.name !== "results.json" && f.name !== "plan.json" && f.size < 4 * 1024 * 1024)
    .map((f) => f.name);
}

async function fetchText(url: string): Promise<string> {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return r.text();
}

/** Builds the runs section into `root`; hides it when the page is not served with --runs. */
export async function mountRuns(root: HTMLElement, nav?: HTMLElement): Promise<void> {
  let listing: RunsListing;
  try {
    if (location.protocol === "file:") throw new Error("no server");
    const r = await fetch("api/runs");
    if (!r.ok) throw new Error(String(r.status));
    listing = await r.json();
  } catch {
    setChildren(root,
      h("div", { class: "section-head" }, h("h2", {}, h("span", { class: "step" }, "3"), "Runs and figures")),
      h("p", { class: "muted", "data-testid": "runs-unavailable" }, "Start the page with ", h("code", {}, "gra serve --runs DIR"), " to browse the training runs and reproductions under DIR here."),
    );
    if (nav) nav.classList.add("dim");
    return;
  }
  const list = h("ul", { class: "runlist", "data-testid": "runs-list" });
  const detail = h("div", { class: "rundetail", "data-testid": "run-detail" }, h("p", { class: "muted" }, "Pick a run."));
  setChildren(root,
    h("div", { class: "section-head" },
      h("h2", {}, h("span", { class: "step" }, "3"), "Runs and figures"),
      h("p", { class: "lead" }, `Run directories and reproductions under ${listing.root}/ (read-only).`)),
    listing.runs.length ? h("div", { class: "runs" }, list, detail) : h("p", { class: "muted", "data-testid": "runs-empty" }, `No runs under ${listing.root}/ yet: try `, h("code", {}, `gra train --steps 2000 --out ${listing.root}/first`), "."),
  );
  let selected: HTMLElement | null = null;
  const first = defaultRun(listing.runs);
  for (const run of listing.runs) {
    const li = h("li", { "data-testid": "run-item", "data-path": run.path, tabindex: 0 },
      h("span", { class: `kind ${run.kind}` }, run.kind), pathLabel(run.path, listing.root), h("small", {}, runLabel(run)));
    const open = () => {
      selected?.classList.remove("sel");
      li.classList.add("sel");
      selected = li;
      showRun(detail, run, listing.root).catch((e: unknown) => setChildren(detail, h("p", { class: "message error" }, e instanceof Error ? e.message : String(e))));
    };
    li.addEventListener("click", open);
    li.addEventListener("keydown", (e) => {
      if (e.key === "Enter") open();
    });
    list.append(li);
    if (run === first) open();
  }
}

async function showRun(detail: HTMLElement, run: ListedRun, root: string): Promise<void> {
  const has = (n: string) => run.files.some((f) => f.name === n);
  const report = run.files.find((f) => f.name === "report.html");
  const head: HTMLElement[] = [
    h("h3", {}, run.path || `${root}/`, " ", h("span", { class: `kind ${run.kind}` }, run.kind)),
    h("div", { class: "run-actions" },
      report ? h("a", { class: "button-link", href: fileUrl(run, report.name), target: "_blank", "data-testid": "run-report" }, `open report.html (${fmtSize(report.size)})`) : null,
      h("details", { class: "files" }, h("summary", {}, `${run.files.length} files`),
        h("p", {}, ...run.files.flatMap((f) => [h("a", { href: fileUrl(run, f.name), target: "_blank" }, f.name), h("small", {}, ` ${fmtSize(f.size)}  `)])))),
  ];
  setChildren(detail, ...head, h("p", { class: "muted" }, "loading…"));
  const blocks: HTMLElement[] = [];
  // a reproduction's numbers first, then the figures, then what the run directories hold
  if (has("results.json")) {
    try {
      const v = JSON.parse(await fetchText(fileUrl(run, "results.json")));
      blocks.push(isResults(v) ? resultsBlock(v) : h("div", { class: "block" }, h("h4", {}, "results.json"), kvTable(flatten(v).slice(0, 80))));
    } catch (e) {
      blocks.push(h("p", { class: "message error" }, `results.json: ${e instanceof Error ? e.message : String(e)}`));
    }
  }
  if (has("plan.json")) {
    try {
      blocks.push(planBlock(JSON.parse(await fetchText(fileUrl(run, "plan.json")))));
    } catch (e) {
      blocks.push(h("p", { class: "message error" }, `plan.json: ${e instanceof Error ? e.message : String(e)}`));
    }
  }
  const figures = h("div", { class: "figs" });
  for (const f of run.files) {
    if (!f.name.endsWith(".figure.json")) continue;
    try {
      const spec = JSON.parse(await fetchText(fileUrl(run, f.name))) as FigureSpec;
      figures.append(new Chart({ ...figureToChart(spec), title: spec.title ?? f.name, width: 460, height: 280 }, "run-figure").el);
    } catch (e) {
      figures.append(h("p", { class: "message error" }, `${f.name}: ${e instanceof Error ? e.message : String(e)}`));
    }
  }
  for (const name of figureFiles(run)) {
    figures.append(h("figure", { class: "img" }, h("a", { href: fileUrl(run, name), target: "_blank", title: "open full size" }, h("img", { src: fileUrl(run, name), alt: name, "data-testid": "run-figure" })), h("figcaption", {}, name)));
  }
  if (has("metrics.jsonl")) {
    const rows = parseMetrics(await fetchText(fileUrl(run, "metrics.jsonl")));
    const series = ["loss", "val_loss"].filter((k) => rows.some((r) => typeof r[k] === "number")).map((k, i) => ({
      name: k, color: i ? "#d08a00" : "#2166ac", points: rows.filter((r) => typeof r[k] === "number").map((r) => [r.step, r[k]] as const),
    }));
    blocks.push(h("div", { class: "block" }, new Chart({ title: "metrics.jsonl", x: { label: "step" }, y: { label: "loss", log: true }, series, width: 520, height: 260 }, "run-metrics-chart").el));
    const lr = rows.filter((r) => typeof r.lr === "number").map((r) => [r.step, r.lr] as const);
    if (lr.length) blocks.push(h("div", { class: "block" }, new Chart({ title: "learning rate", x: { label: "step" }, y: { log: true }, series: [{ name: "lr", color: "#6b4fbb", points: lr }], width: 320, height: 260 }).el));
  }
  const analysisViews: HTMLElement[] = [];
  for (const name of tableJsonFiles(run)) {
    let v: unknown;
    try {
      v = JSON.parse(await fetchText(fileUrl(run, name)));
    } catch {
      blocks.push(h("div", { class: "block" }, h("h4", {}, name), h("p", { class: "muted" }, "not valid JSON")));
      continue;
    }
    const obj = v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
    const { figures: figs, ...rest } = obj ?? {};
    blocks.push(h("div", { class: "block" }, h("h4", {}, name), kvTable(flatten(obj ? rest : v).slice(0, 80), `run-json-${name}`)));
    const wf = (figs as { weights?: WeightsFigure } | undefined)?.weights;
    if (name === "analysis.json" && wf && Array.isArray(wf.in_x)) {
      const view = new GatedView("run-analysis", [
        { label: "memory neurons", color: GROUP_TONES.memory },
        { label: "forget neurons", color: GROUP_TONES.query },
        { label: "other", color: GROUP_TONES.other },
        { label: "gating rows in the block structure", color: GROUP_TONES.output },
      ]);
      const w = weightsFromFigure(wf);
      view.show(w, {
        groups: runsOf(wf.groups, { memory: GROUP_TONES.memory, forget: GROUP_TONES.query, other: GROUP_TONES.other }),
        rowGroups: runsOf(wf.block_rows.map((b) => (b ? "block" : "outside")), { block: GROUP_TONES.output, outside: GROUP_TONES.other }),
      });
      analysisViews.push(h("div", { class: "panel" }, h("h4", {}, "analysis.json: pruned, canonical weights ", h("span", { class: "sub" }, `Figure 2A, ${w.N} hidden, ${w.M} gating rows`)), view.el));
    }
  }
  const weights: HTMLElement[] = [];
  for (const name of ["model.safetensors", "attention.safetensors"]) {
    const f = run.files.find((x) => x.name === name);
    if (!f || f.size > 64 * 1024 * 1024) continue;
    try {
      const bytes = new Uint8Array(await (await fetch(fileUrl(run, name))).arrayBuffer());
      const t = decodeSafetensors(bytes, name).tensors;
      if (t.in_x && t.out_x && t.lambda) {
        const view = new GatedView(`run-${name.split(".")[0]}`);
        view.show(gatedWeightsFrom(t));
        weights.push(h("div", { class: "panel" }, h("h4", {}, `${name} `, h("span", { class: "sub" }, "gated RNN, hidden neurons sorted by λ")), view.el));
      } else if (t.W_V && t.W_K && t.W_Q && t.W_V.shape.length === 2) {
        const [r, c] = t.W_V.shape;
        const scale = Math.max(...(["W_V", "W_K", "W_Q"] as const).map((n) => maxAbs(t[n].data)));
        weights.push(h("div", { class: "panel" }, h("h4", {}, name), h("div", { class: "maps" },
          ...(["W_V", "W_K", "W_Q"] as const).map((n) => new Heatmap({ title: n, rows: r, cols: c, data: t[n].data, scale, cell: Math.max(8, Math.min(26, Math.floor(150 / Math.max(r, c)))) }).el))));
      } else {
        weights.push(h("div", { class: "panel" }, h("h4", {}, name), kvTable(Object.entries(t).map(([n, x]) => [n, `[${x.shape.join(", ")}]`]))));
      }
    } catch (e) {
      // decodeSafetensors' messages already start with the file name
      weights.push(h("p", { class: "message error" }, e instanceof Error ? e.message : String(e)));
    }
  }
  setChildren(detail, ...head,
    blocks.length ? h("div", { class: "maps" }, ...blocks) : null,
    figures.childElementCount ? h("div", {}, h("h4", {}, "Figures"), figures) : null,
    ...analysisViews, ...weights);
}

/** The largest |v|. */
function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

/** plan.json of a `gra reproduce` output: scale, presets, shards and the planned runs. */
function planBlock(plan: { scale?: string; presets?: string[]; shards?: number; runs?: { id: string; shard?: number; steps?: number }[] }): HTMLElement {
  const runs = plan.runs ?? [];
  return h("div", { class: "block", "data-testid": "run-plan" },
    h("h4", {}, `plan.json · ${(plan.presets ?? []).join(", ")} (${plan.scale ?? "?"}), ${runs.length} run${runs.length === 1 ? "" : "s"}${plan.shards && plan.shards > 1 ? ` in ${plan.shards} shards` : ""}`),
    h("table", { class: "grid" }, h("tr", {}, h("th", {}, "run"), h("th", {}, "shard"), h("th", {}, "steps")),
      ...runs.slice(0, 60).map((r) => h("tr", {}, h("td", {}, r.id), h("td", { class: "num" }, r.shard ?? ""), h("td", { class: "num" }, r.steps ?? "")))),
    runs.length > 60 ? h("p", { class: "muted small" }, `… and ${runs.length - 60} more`) : null);
}

/** The reproduction's results.json (src/experiments/collect.ts): numbers, tables, notes, deviations. */
interface ResultsJson {
  preset?: string;
  scale?: string;
  deviations?: string[];
  numbers?: Record<string, unknown>;
  tables?: { title: string; columns: string[]; rows: (string | number)[][]; note?: string }[];
  notes?: string[];
}

function isResults(v: unknown): v is ResultsJson {
  return !!v && typeof v === "object" && ("tables" in v || "numbers" in v);
}

function resultsBlock(r: ResultsJson): HTMLElement {
  const cell = (x: unknown) => (typeof x === "number" ? fmt(x) : String(x));
  // the tables (ours next to the paper's) first; the notes and deviations under them; every number folded away
  return h("div", { class: "block results", "data-testid": "run-results" },
    h("h4", {}, `results.json${r.preset ? ` · ${r.preset}` : ""}${r.scale ? ` (${r.scale})` : ""}`),
    ...(r.tables ?? []).map((t) => h("div", {},
      h("h4", {}, t.title),
      h("div", { class: "scroll-x" }, h("table", { class: "grid" }, h("tr", {}, ...t.columns.map((c) => h("th", {}, c))), ...t.rows.map((row) => h("tr", {}, ...row.map((x) => h("td", { class: typeof x === "number" || /^[-\d.e+/%]+$/.test(String(x)) ? "num" : "" }, cell(x))))))),
      t.note ? h("p", { class: "muted small" }, t.note) : null)),
    ...(r.notes ?? []).map((n) => h("p", { class: "muted small" }, n)),
    ...(r.deviations ?? []).map((n) => h("p", { class: "muted small" }, `deviation: ${n}`)),
    r.numbers ? h("details", { class: "numbers" }, h("summary", {}, "every number of results.json"), kvTable(flatten(r.numbers).slice(0, 80))) : null,
  );
}

function fmtSize(n: number): string {
  return n < 1024 ? `${n} B` : n < 1024 * 1024 ? `${(n / 1024).toFixed(1)} KB` : `${(n / 1024 / 1024).toFixed(1)} MB`;
}
