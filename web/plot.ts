/**
 * Small canvas charts: lines (log-scale loss curves), points (neuron roles), bars (histograms). The JSON figure
 * format read from run directories (`*.figure.json`, FigureSpec below) maps onto the same charts.
 */
import { SERIES } from "./colors.ts";

/** One plotted series. */
export interface Series {
  name: string;
  color?: string;
  /** [x, y] pairs (non-finite ones, and non-positive ones on a log axis, are skipped). */
  points: ReadonlyArray<readonly [number, number]>;
  style?: "line" | "points" | "bars";
  /** Bar width in x units (bars only; default: the smallest gap between xs). */
  barWidth?: number;
}

/** An axis. */
export interface Axis {
  label?: string;
  log?: boolean;
  min?: number;
  max?: number;
}

/** A chart: series on two axes. */
export interface ChartSpec {
  title?: string;
  x: Axis;
  y: Axis;
  series: Series[];
  /** CSS pixels (default: 460 × 260). */
  width?: number;
  height?: number;
}

/**
 * The JSON figure format the runs view renders (files named `*.figure.json` in a run or reproduction directory):
 * `{title?, x: {label?, log?}, y: {label?, log?}, series: [{name, x: number[], y: number[], style?}]}`.
 */
export interface FigureSpec {
  title?: string;
  x: Axis;
  y: Axis;
  series: { name: string; x: number[]; y: number[]; style?: "line" | "points" | "bars"; color?: string }[];
}

/** Converts a FigureSpec (from JSON) into a ChartSpec; throws a one-line error when the shape is wrong. */
export function figureToChart(f: FigureSpec): ChartSpec {
  if (!f || typeof f !== "object" || !Array.isArray(f.series)) throw new Error("figure: expected {x, y, series: [...]}");
  return {
    title: f.title,
    x: f.x ?? {},
    y: f.y ?? {},
    series: f.series.map((s, i) => {
      if (!Array.isArray(s.x) || !Array.isArray(s.y) || s.x.length !== s.y.length) throw new Error(`figure: series ${i} needs x and y arrays of equal length`);
      return { name: String(s.name ?? `series ${i}`), color: s.color, style: s.style, points: s.x.map((x, k) => [Number(x), Number(s.y[k])] as const) };
    }),
  };
}

/** Tick positions for a range: decades on a log axis, 1-2-5 steps on a linear one. */
export function ticks(lo: number, hi: number, log: boolean, target = 5): number[] {
  if (!(hi > lo)) return [lo];
  if (log) {
    const a = Math.floor(Math.log10(lo));
    const b = Math.ceil(Math.log10(hi));
    const step = Math.max(1, Math.ceil((b - a) / 7));
    const out: number[] = [];
    for (let e = a; e <= b; e += step) {
      const v = 10 ** e;
      if (v >= lo * 0.999 && v <= hi * 1.001) out.push(v);
    }
    return out.length ? out : [lo, hi];
  }
  const raw = (hi - lo) / target;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  const first = Math.ceil(lo / step - 1e-9);
  for (let k = first; k * step <= hi + step * 1e-9; k++) out.push(Number((k * step).toPrecision(12)));
  return out;
}

/** Tick label: 1e-3 style on log axes, compact numbers otherwise. */
export function tickLabel(v: number, log: boolean): string {
  if (log) {
    const e = Math.round(Math.log10(v));
    return e >= -2 && e <= 3 ? String(10 ** e >= 1 ? 10 ** e : Number((10 ** e).toPrecision(1))) : `1e${e}`;
  }
  if (v !== 0 && (Math.abs(v) >= 1e5 || Math.abs(v) < 1e-3)) return v.toExponential(0);
  if (Math.abs(v) >= 1000) return `${Number((v / 1000).toPrecision(3))}k`;
  return String(Number(v.toPrecision(3)));
}

const FONT = "11px system-ui, -apple-system, 'Segoe UI', sans-serif";

/** A chart drawn on a canvas, redrawable in place. */
export class Chart {
  /** The element to insert in the page. */
  readonly el: HTMLElement;
  private readonly canvas: HTMLCanvasElement;

  constructor(spec?: ChartSpec, testid?: string) {
    this.el = document.createElement("div");
    this.el.className = "chart";
    if (testid) this.el.dataset.testid = testid;
    this.canvas = document.createElement("canvas");
    this.el.append(this.canvas);
    if (spec) this.update(spec);
  }

  /** Redraws the chart. */
  update(spec: ChartSpec): void {
    const W = spec.width ?? 460;
    const H = spec.height ?? 260;
    const dpr = globalThis.devicePixelRatio || 1;
    this.canvas.width = Math.ceil(W * dpr);
    this.canvas.height = Math.ceil(H * dpr);
    this.canvas.style.width = `${W}px`;
    this.canvas.style.height = `${H}px`;
    const ctx = this.canvas.getContext("2d");
    if (!ctx) return;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, W, H);
    ctx.font = FONT;
    const ok = (v: number, log?: boolean) => Number.isFinite(v) && (!log || v > 0);
    const pts = spec.series.map((s) => s.points.filter(([x, y]) => ok(x, spec.x.log) && ok(y, spec.y.log)));
    const all = pts.flat();
    const top = spec.title ? 24 : 10;
    const left = 60;
    const bottom = spec.x.label ? 38 : 24;
    const right = 12;
    const pw = W - left - right;
    const ph = H - top - bottom;
    if (spec.title) {
      ctx.fillStyle = "#222";
      ctx.font = "600 12px system-ui, -apple-system, 'Segoe UI', sans-serif";
      ctx.textAlign = "left";
      ctx.textBaseline = "alphabetic";
      ctx.fillText(spec.title, left, 15);
      ctx.font = FONT;
    }
    ctx.strokeStyle = "#c9ccd1";
    ctx.strokeRect(left + 0.5, top + 0.5, pw, ph);
    if (!all.length) {
      ctx.fillStyle = "#888";
      ctx.textAlign = "center";
      ctx.textBaseline = "middle";
      ctx.fillText("no data yet", left + pw / 2, top + ph / 2);
      return;
    }
    const range = (ax: Axis, vals: number[], bars: boolean) => {
      let lo = ax.min ?? Math.min(...vals);
      let hi = ax.max ?? Math.max(...vals);
      if (bars && !ax.log && ax.min === undefined) lo = Math.min(lo, 0);
      if (lo === hi) {
        if (ax.log) [lo, hi] = [lo / 2, hi * 2];
        else [lo, hi] = [lo >= 0 && lo < 1 ? 0 : lo - 1, hi + 1]; // one point: a unit around it, never below 0 for data >= 0
      }
      return [lo, hi] as const;
    };
    const hasBars = spec.series.some((s) => s.style === "bars");
    const barW = spec.series.find((s) => s.style === "bars")?.barWidth ?? 0;
    const xs = all.map((p) => p[0]);
    let [x0, x1] = range(spec.x, xs, false);
    if (hasBars && spec.x.min === undefined) [x0, x1] = [x0 - barW / 2, x1 + barW / 2];
    const [y0, y1] = range(spec.y, all.map((p) => p[1]), hasBars);
    const f = (v: number, lo: number, hi: number, log?: boolean) => (log ? (Math.log10(v) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo)) : (v - lo) / (hi - lo));
    const X = (v: number) => left + f(v, x0, x1, spec.x.log) * pw;
    const Y = (v: number) => top + ph - f(v, y0, y1, spec.y.log) * ph;
    // grid and tick labels
    ctx.fillStyle = "#555";
    ctx.strokeStyle = "#eceef1";
    ctx.textBaseline = "middle";
    ctx.textAlign = "right";
    for (const t of ticks(y0, y1, !!spec.y.log)) {
      const y = Math.round(Y(t)) + 0.5;
      ctx.beginPath();
      ctx.moveTo(left + 1, y);
      ctx.lineTo(left + pw, y);
      ctx.stroke();
      ctx.fillText(tickLabel(t, !!spec.y.log), left - 5, y);
    }
    ctx.textAlign = "center";
    ctx.textBaseline = "top";
    for (const t of ticks(x0, x1, !!spec.x.log, 6)) {
      const x = Math.round(X(t)) + 0.5;
      ctx.beginPath();
      ctx.moveTo(x, top + 1);
      ctx.lineTo(x, top + ph);
      ctx.stroke();
      ctx.fillText(tickLabel(t, !!spec.x.log), x, top + ph + 5);
    }
    if (spec.x.label) ctx.fillText(spec.x.label, left + pw / 2, top + ph + 20);
    if (spec.y.label) {
      ctx.save();
      ctx.translate(12, top + ph / 2);
      ctx.rotate(-Math.PI / 2);
      ctx.textBaseline = "middle";
      ctx.fillText(spec.y.label, 0, 0);
      ctx.restore();
    }
    // series, clipped to the plot area
    ctx.save();
    ctx.beginPath();
    ctx.rect(left, top, pw, ph);
    ctx.clip();
    spec.series.forEach((s, i) => {
      const color = s.color ?? SERIES[i % SERIES.length];
      const p = pts[i];
      ctx.strokeStyle = color;
      ctx.fillStyle = color;
      if (s.style === "points") {
        ctx.globalAlpha = 0.75;
        for (const [x, y] of p) {
          ctx.beginPath();
          ctx.arc(X(x), Y(y), 3.2, 0, 2 * Math.PI);
          ctx.fill();
        }
        ctx.globalAlpha = 1;
      } else if (s.style === "bars") {
        const w = s.barWidth ?? barW;
        const base = spec.y.log ? y0 : Math.max(y0, 0);
        for (const [x, y] of p) {
          const xa = X(x - w / 2) + 0.5;
          const xb = X(x + w / 2) - 0.5;
          ctx.fillRect(xa, Y(y), Math.max(1, xb - xa), Y(base) - Y(y));
        }
      } else {
        ctx.lineWidth = 1.6;
        ctx.lineJoin = "round";
        ctx.beginPath();
        p.forEach(([x, y], k) => (k ? ctx.lineTo(X(x), Y(y)) : ctx.moveTo(X(x), Y(y))));
        ctx.stroke();
        if (p.length <= 40) {
          for (const [x, y] of p) {
            ctx.beginPath();
            ctx.arc(X(x), Y(y), 2.6, 0, 2 * Math.PI);
            ctx.fill();
          }
        }
      }
    });
    ctx.restore();
    // legend
    const named = spec.series.map((s, i) => ({ s, i })).filter(({ s }) => s.name);
    if (named.length > 1 || (named.length === 1 && spec.series.length === 1 && !spec.title)) {
      ctx.textAlign = "left";
      ctx.textBaseline = "middle";
      const widths = named.map(({ s }) => ctx.measureText(s.name).width + 22);
      let x = left + pw - widths.reduce((a, b) => a + b, 0) - 4;
      const y = top + 10;
      ctx.fillStyle = "rgba(255,255,255,0.85)";
      ctx.fillRect(x - 4, y - 8, widths.reduce((a, b) => a + b, 0) + 6, 16);
      named.forEach(({ s, i }, k) => {
        ctx.fillStyle = s.color ?? SERIES[i % SERIES.length];
        ctx.fillRect(x, y - 2, 12, 4);
        ctx.fillStyle = "#333";
        ctx.fillText(s.name, x + 16, y);
        x += widths[k];
      });
    }
  }
}
