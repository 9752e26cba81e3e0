/**
 * Figure specs, platform-neutral (no Node, no Vega runtime): Vega-Lite specs with their data inlined, for the
 * reports (rendered headless by figures.ts) and the web page (vega-embed renders the very same objects). Builders for
 * what the paper draws: line/point charts with log axes, and weight heatmaps in Figure 2's colours (blue positive,
 * red negative, grey zero; each cell's colour comes from src/analysis/figures.ts `heatmapColor`).
 */
import { heatmapColor } from "../analysis/figures.ts";
import type { Matrix } from "../analysis/figures.ts";

const SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json";

/** Look shared by every figure: white background, sans-serif text, no chart border. */
export const figureConfig = {
  background: "white",
  font: "DejaVu Sans, Helvetica, Arial, sans-serif",
  view: { stroke: null },
  axis: { labelFontSize: 11, titleFontSize: 12, gridColor: "#e6e6e6" },
  legend: { labelFontSize: 11, titleFontSize: 12, labelLimit: 260 },
  title: { fontSize: 14, anchor: "start" as const },
};

/** Log axes: labels only at powers of ten, written 1e-3 (Vega expression; LN10 is a Vega constant). */
const logAxis = {
  grid: true,
  labelExpr: "abs(log(datum.value) / LN10 - round(log(datum.value) / LN10)) < 1e-6 ? replace(format(datum.value, '.0e'), 'e+', 'e') : ''",
};

/** An axis/scale description for `lineChart`. */
export interface AxisSpec {
  field: string;
  title: string;
  log?: boolean;
  /** Explicit domain [min, max]. */
  domain?: [number, number];
  /** Tick values to label (e.g. the sizes of a sweep) instead of the default ticks. */
  values?: number[];
}

/** Options of `lineChart`. */
export interface LineChartOptions {
  title: string;
  data: Record<string, unknown>[];
  x: AxisSpec;
  y: AxisSpec;
  /** Field that colours (and groups) the lines. */
  color?: { field: string; title: string; sort?: string[] };
  /** Field that groups lines without colouring them (e.g. seeds), drawn thin. */
  detail?: string;
  /** Field that sets the point shape (e.g. layers). */
  shape?: { field: string; title: string };
  /** Field that sets the stroke dash (e.g. train / val). */
  dash?: { field: string; title: string };
  /** Draw points at the data (default true). */
  points?: boolean;
  /** Individual observations (same x/y fields) drawn as grey dots under the lines, e.g. seeds around a mean. */
  scatter?: Record<string, unknown>[];
  /** Vertical reference lines: x value and label. */
  vrules?: { x: number; label: string }[];
  /** Horizontal reference lines: y value and label. */
  hrules?: { y: number; label: string }[];
  width?: number;
  height?: number;
}

/** A line (and point) chart with optional log axes, colour/shape/dash groupings and labelled reference rules. */
export function lineChart(o: LineChartOptions): Record<string, unknown> {
  const xAxis = o.x.values ? { axis: { values: o.x.values, grid: true, format: "~g" } } : o.x.log ? { axis: logAxisFor(o.x) } : {};
  const xEnc: Record<string, unknown> = { field: o.x.field, type: "quantitative", title: o.x.title, scale: { ...(o.x.log ? { type: "log" } : { zero: false }), ...(o.x.domain ? { domain: o.x.domain } : {}) }, ...xAxis };
  const yEnc: Record<string, unknown> = { field: o.y.field, type: "quantitative", title: o.y.title, scale: { ...(o.y.log ? { type: "log" } : { zero: false }), ...(o.y.domain ? { domain: o.y.domain } : {}) }, ...(o.y.log ? { axis: logAxis } : {}) };
  const enc: Record<string, unknown> = { x: xEnc, y: yEnc };
  if (o.color) enc.color = { field: o.color.field, type: "nominal", title: o.color.title, ...(o.color.sort ? { sort: o.color.sort } : {}) };
  if (o.detail) enc.detail = { field: o.detail, type: "nominal" };
  if (o.shape) enc.shape = { field: o.shape.field, type: "nominal", title: o.shape.title };
  if (o.dash) enc.strokeDash = { field: o.dash.field, type: "nominal", title: o.dash.title };
  const layers: Record<string, unknown>[] = [];
  if (o.scatter?.length) {
    layers.push({ data: { values: o.scatter }, mark: { type: "point", filled: true, color: "#999", opacity: 0.7, size: 28 }, encoding: { x: { field: o.x.field, type: "quantitative" }, y: { field: o.y.field, type: "quantitative" } } });
  }
  layers.push(
    { mark: { type: "line", point: o.points === false ? false : { filled: true, size: 30 }, strokeWidth: 1.6, clip: true }, encoding: enc },
  );
  for (const r of o.vrules ?? []) {
    layers.push({ data: { values: [{ v: r.x, label: r.label }] }, mark: { type: "rule", strokeDash: [4, 3], color: "#555" }, encoding: { x: { field: "v", type: "quantitative" } } });
    layers.push({
      data: { values: [{ v: r.x, label: r.label }] },
      mark: { type: "text", align: "left", baseline: "top", dx: 4, dy: 4, color: "#333", fontSize: 11 },
      encoding: { x: { field: "v", type: "quantitative" }, y: { value: 0 }, text: { field: "label" } },
    });
  }
  for (const r of o.hrules ?? []) {
    layers.push({ data: { values: [{ v: r.y, label: r.label }] }, mark: { type: "rule", strokeDash: [4, 3], color: "#555" }, encoding: { y: { field: "v", type: "quantitative" } } });
    layers.push({
      data: { values: [{ v: r.y, label: r.label }] },
      mark: { type: "text", align: "right", baseline: "bottom", dx: -4, dy: -3, color: "#333", fontSize: 11 },
      encoding: { y: { field: "v", type: "quantitative" }, x: { value: o.width ?? 420 }, text: { field: "label" } },
    });
  }
  return {
    $schema: SCHEMA,
    title: o.title,
    width: o.width ?? 420,
    height: o.height ?? 280,
    data: { values: o.data },
    layer: layers,
    config: figureConfig,
  };
}

function logAxisFor(a: AxisSpec): Record<string, unknown> {
  return a.domain && a.domain[1] / a.domain[0] < 1000 ? { grid: true } : logAxis;
}

/** One heatmap panel: a matrix, its title, and whether to draw it at a fixed cell size. */
export interface HeatmapPanel {
  title: string;
  matrix: Matrix;
  /** Labels of rows (default 1..rows). */
  rowLabels?: string[];
  /** Labels of columns (default 1..cols). */
  colLabels?: string[];
}

/** Heatmap cells of a matrix in Figure 2's colours on a symmetric scale [-vmax, vmax]; |v| <= zeroTol is grey. */
export function heatmapCells(m: Matrix, vmax: number, zeroTol: number): { r: number; c: number; v: number; color: string }[] {
  const cells: { r: number; c: number; v: number; color: string }[] = [];
  m.forEach((row, r) => row.forEach((v, c) => cells.push({ r, c, v, color: heatmapColor(v, vmax, zeroTol) })));
  return cells;
}

/** Shortest readable form of a colour-scale bound (3 significant digits). */
function scaleLabel(v: number): string {
  return v >= 1e-2 && v < 1e3 ? String(Number(v.toPrecision(3))) : v.toExponential(2);
}

/**
 * Heatmaps (Figure 2 style) in one or more titled sections (e.g. the pruned student, then its canonical form): every
 * panel on one shared symmetric colour scale (vmax = largest |entry| over all panels unless given) or, with
 * perPanelScale, on its own; each panel's title says its max |w| and a colour bar (-max |w| .. 0 .. +max |w|) ends
 * the figure. Square cells of `cell` pixels, zero entries (|v| <= zeroTol) grey. Panels wrap onto new rows so that no
 * row is wider than `maxWidth` pixels of cells (default 760: with axis labels the figure stays inside the report page, 1100 wide).
 */
export function heatmapFigure(o: {
  title: string; panels?: HeatmapPanel[]; sections?: { title: string; panels: HeatmapPanel[] }[]; zeroTol?: number; vmax?: number; cell?: number; perPanelScale?: boolean; maxWidth?: number;
}): Record<string, unknown> {
  const sections = o.sections ?? [{ title: "", panels: o.panels ?? [] }];
  const all = sections.flatMap((sec) => sec.panels);
  const maxDim = Math.max(1, ...all.map((p) => Math.max(p.matrix.length, p.matrix[0]?.length ?? 0)));
  const cell = Math.max(3, Math.min(o.cell ?? 14, Math.floor(420 / maxDim))); // large (unpruned) matrices shrink
  const zt = o.zeroTol ?? 0;
  const maxWidth = o.maxWidth ?? 760;
  const spacing = 18;
  const absMax = (m: Matrix) => Math.max(1e-300, ...m.flat().map(Math.abs).filter(Number.isFinite));
  const globalMax = o.vmax ?? Math.max(1e-300, ...all.map((p) => absMax(p.matrix)));
  const unit = (p: HeatmapPanel, vmax: number, subtitle: string) => {
    const rows = p.matrix.length;
    const cols = rows ? p.matrix[0].length : 0;
    const values = heatmapCells(p.matrix, vmax, zt).map((c) => ({ ...c, row: p.rowLabels?.[c.r] ?? String(c.r + 1), col: p.colLabels?.[c.c] ?? String(c.c + 1) }));
    return {
      title: { text: p.title, fontSize: 12, ...(subtitle ? { subtitle, subtitleFontSize: 10 } : {}) },
      width: Math.max(cell, cols * cell),
      height: Math.max(cell, rows * cell),
      data: { values },
      mark: { type: "rect", stroke: "white", strokeWidth: 0.5 },
      encoding: {
        x: { field: "col", type: "ordinal", sort: { field: "c", op: "min" }, axis: cols > 24 ? { labels: false, ticks: false, title: null } : { title: null, labelAngle: 0, labelFontSize: 9 } },
        y: { field: "row", type: "ordinal", sort: { field: "r", op: "min" }, axis: rows > 40 ? { labels: false, ticks: false, title: null } : { title: null, labelFontSize: 9 } },
        color: { field: "color", type: "nominal", scale: null, legend: null },
        tooltip: [{ field: "row", title: "row" }, { field: "col", title: "col" }, { field: "v", title: "value", format: ".3e" }],
      },
    };
  };
  // the colour bar: 21 cells from -1 to +1 of the scale
  const steps = 21;
  const bar = unit(
    { title: "colour scale", matrix: [Array.from({ length: steps }, (_, i) => -1 + (2 * i) / (steps - 1))], colLabels: Array.from({ length: steps }, (_, i) => (i === 0 ? "-max" : i === steps - 1 ? "+max" : i === (steps - 1) / 2 ? "0" : " ".repeat(i))), rowLabels: [""] },
    1,
    o.perPanelScale ? "max = the panel's max |w|" : `max |w| = ${scaleLabel(globalMax)}`,
  );
  (bar as { width: number }).width = Math.max(steps * 9, 150);
  const blocks = sections.map((sec, si) => {
    const units = sec.panels.map((p) => {
      const vmax = o.perPanelScale ? absMax(p.matrix) : globalMax;
      return unit(p, vmax, `max |w| ${scaleLabel(vmax)}`);
    });
    if (si === sections.length - 1) units.push(bar);
    const rows: (typeof units)[] = [];
    let width = 0;
    for (const u of units) {
      const w = (u as { width: number }).width + 40; // + axis labels
      if (rows.length === 0 || width + w > maxWidth) {
        rows.push([]);
        width = 0;
      }
      rows[rows.length - 1].push(u);
      width += w + spacing;
    }
    const rowSpecs = rows.map((r) => ({ hconcat: r, spacing }));
    return sec.title ? { title: { text: sec.title, anchor: "start", fontSize: 13 }, vconcat: rowSpecs, spacing: 10 } : { vconcat: rowSpecs, spacing: 10 };
  });
  return {
    $schema: SCHEMA,
    title: o.title,
    vconcat: blocks,
    spacing: 24,
    config: { ...figureConfig, concat: { spacing } },
  };
}

/** A bar (or dot) chart of values by category (used for the lambdas of the kept neurons, coloured by group). */
export function barChart(o: { title: string; data: Record<string, unknown>[]; x: { field: string; title: string; type?: "ordinal" | "quantitative" }; y: AxisSpec; color?: { field: string; title: string; domain?: string[]; range?: string[] }; mark?: "bar" | "point"; width?: number; height?: number }): Record<string, unknown> {
  return {
    $schema: SCHEMA,
    title: o.title,
    width: o.width ?? 420,
    height: o.height ?? 220,
    data: { values: o.data },
    mark: o.mark === "point" ? { type: "point", filled: true, size: 70 } : { type: "bar" },
    encoding: {
      x: { field: o.x.field, type: o.x.type ?? "ordinal", title: o.x.title },
      y: { field: o.y.field, type: "quantitative", title: o.y.title, ...(o.y.log ? { scale: { type: "log" }, axis: logAxis } : o.y.domain ? { scale: { domain: o.y.domain } } : {}) },
      ...(o.color ? { color: { field: o.color.field, type: "nominal", title: o.color.title, ...(o.color.domain ? { scale: { domain: o.color.domain, range: o.color.range } } : {}) } } : {}),
    },
    config: figureConfig,
  };
}

/** Panels side by side (each a unit or layer spec without $schema/config). */
export function hconcat(title: string, specs: Record<string, unknown>[]): Record<string, unknown> {
  return {
    $schema: SCHEMA,
    title,
    hconcat: specs.map(({ $schema: _s, config: _c, ...rest }) => rest),
    spacing: 30,
    resolve: { scale: { color: "shared", shape: "shared", strokeDash: "shared" } },
    config: figureConfig,
  };
}
