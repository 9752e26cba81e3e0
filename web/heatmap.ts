/** Canvas heatmaps of weight matrices with neuron-group bars and labels (the paper's colours, web/colors.ts). */
import { css, valueColor } from "./colors.ts";

/** A labelled block of consecutive rows or columns (e.g. the key-value neurons). */
export interface Group {
  label: string;
  start: number;
  /** Exclusive end. */
  end: number;
  color: string;
}

/** What a heatmap shows. */
export interface HeatmapSpec {
  title: string;
  /** Short note under the title (shape, meaning). */
  note?: string;
  rows: number;
  cols: number;
  /** rows × cols values, row-major. */
  data: ArrayLike<number>;
  rowGroups?: Group[];
  colGroups?: Group[];
  /** Column labels, drawn when the cells are wide enough. */
  colLabels?: string[];
  /** Row labels, drawn when the cells are tall enough. */
  rowLabels?: string[];
  /** Pixels per cell (default: fit the larger side into 280 px, 3..26). */
  cell?: number;
  /** Cell width, when it differs from `cell` (tall, narrow matrices). */
  cellW?: number;
  /** Cell height, when it differs from `cell` (short, wide matrices). */
  cellH?: number;
  /** Colour scale: |v| >= scale is full colour (default: the matrix's max |v|; a shared scale is named in the caption). */
  scale?: number;
  /** data-testid of the figure element. */
  testid?: string;
}

/** Pixels per cell so the larger side of rows × cols fits in `target` px (between 3 and 26). */
export function fitCell(rows: number, cols: number, target = 280): number {
  return Math.max(3, Math.min(26, Math.floor(target / Math.max(1, rows, cols))));
}

const FONT = "11px system-ui, -apple-system, 'Segoe UI', sans-serif";

/** A heatmap figure that can be redrawn in place (live training updates). */
export class Heatmap {
  /** The figure element to insert in the page. */
  readonly el: HTMLElement;
  private readonly canvas: HTMLCanvasElement;
  private readonly caption: HTMLElement;
  private readonly noteEl: HTMLElement;
  private spec: HeatmapSpec | null = null;
  private geom = { left: 0, top: 0, cw: 1, ch: 1 };

  constructor(spec?: HeatmapSpec) {
    this.el = document.createElement("figure");
    this.el.className = "hm";
    this.caption = document.createElement("figcaption");
    this.noteEl = document.createElement("div");
    this.noteEl.className = "hm-note";
    this.canvas = document.createElement("canvas");
    this.el.append(this.caption, this.canvas, this.noteEl);
    this.canvas.addEventListener("mousemove", (e) => this.hover(e));
    if (spec) this.update(spec);
  }

  /** Redraws with a new spec (same or different shape). */
  update(spec: HeatmapSpec): void {
    this.spec = spec;
    if (spec.testid) this.el.dataset.testid = spec.testid;
    const { rows, cols, data } = spec;
    let own = 0;
    for (let i = 0; i < rows * cols; i++) own = Math.max(own, Math.abs(data[i]));
    const scale = spec.scale || own;
    this.caption.textContent = spec.title;
    this.noteEl.textContent = `${spec.note ? spec.note + " · " : ""}${rows}×${cols}, max |w| ${fmt(own)}${scale !== own ? ` (colours up to ${fmt(scale)})` : ""}`;
    const cell = spec.cell ?? fitCell(rows, cols);
    const cw = spec.cellW ?? cell;
    const ch = spec.cellH ?? cell;
    const ctx0 = this.canvas.getContext("2d");
    if (!ctx0) return;
    ctx0.font = FONT;
    const fits = (labels: string[] | undefined, room: number) => !!labels && labels.every((l) => ctx0.measureText(l).width <= room);
    const showRowLabels = ch >= 11 && !!spec.rowLabels;
    const showColLabels = cw >= 11 && fits(spec.colLabels, cw - 2);
    const rowGroupW = spec.rowGroups?.length ? Math.max(...spec.rowGroups.map((g) => ctx0.measureText(g.label).width)) + 14 : 0;
    const rowLabelW = showRowLabels ? Math.max(...spec.rowLabels!.map((l) => ctx0.measureText(l).width)) + 6 : 0;
    const left = Math.ceil(rowGroupW + rowLabelW) + 2;
    const top = (spec.colGroups?.length ? 20 : 2) + (showColLabels ? 14 : 0);
    const width = left + cols * cw + 2;
    const height = top + rows * ch + 2;
    const dpr = globalThis.devicePixelRatio || 1;
    this.canvas.width = Math.ceil(width * dpr);
    this.canvas.height = Math.ceil(height * dpr);
    this.canvas.style.width = `${width}px`;
    this.canvas.style.height = `${height}px`;
    this.geom = { left, top, cw, ch };
    const ctx = this.canvas.getContext("2d")!;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, width, height);
    ctx.font = FONT;
    // cells: an image of rows × cols pixels scaled up without smoothing, then grid lines for big cells
    if (rows > 0 && cols > 0) {
      const img = ctx.createImageData(cols, rows);
      for (let r = 0; r < rows; r++) {
        for (let c = 0; c < cols; c++) {
          const [R, G, B] = valueColor(data[r * cols + c], scale);
          const o = (r * cols + c) * 4;
          img.data[o] = R;
          img.data[o + 1] = G;
          img.data[o + 2] = B;
          img.data[o + 3] = 255;
        }
      }
      const tmp = document.createElement("canvas");
      tmp.width = cols;
      tmp.height = rows;
      tmp.getContext("2d")!.putImageData(img, 0, 0);
      ctx.imageSmoothingEnabled = false;
      ctx.drawImage(tmp, left, top, cols * cw, rows * ch);
    }
    ctx.strokeStyle = "rgba(255,255,255,0.85)";
    ctx.lineWidth = 1;
    ctx.beginPath();
    if (ch >= 8) for (let r = 1; r < rows; r++) {
      ctx.moveTo(left, top + r * ch + 0.5);
      ctx.lineTo(left + cols * cw, top + r * ch + 0.5);
    }
    if (cw >= 8) for (let c = 1; c < cols; c++) {
      ctx.moveTo(left + c * cw + 0.5, top);
      ctx.lineTo(left + c * cw + 0.5, top + rows * ch);
    }
    ctx.stroke();
    ctx.strokeStyle = "#9aa0a8";
    ctx.strokeRect(left - 0.5, top - 0.5, cols * cw + 1, rows * ch + 1);
    ctx.textBaseline = "middle";
    for (const g of spec.rowGroups ?? []) {
      const y0 = top + g.start * ch;
      const y1 = top + g.end * ch;
      ctx.fillStyle = g.color;
      ctx.fillRect(left - 7 - rowLabelW, y0 + 1, 4, Math.max(1, y1 - y0 - 2));
      if (y1 - y0 >= 9) {
        ctx.textAlign = "right";
        ctx.fillText(g.label, left - 11 - rowLabelW, (y0 + y1) / 2);
      }
    }
    if (showRowLabels) {
      ctx.fillStyle = "#555";
      ctx.textAlign = "right";
      spec.rowLabels!.forEach((l, r) => ctx.fillText(l, left - 3, top + (r + 0.5) * ch));
    }
    for (const g of spec.colGroups ?? []) {
      const x0 = left + g.start * cw;
      const x1 = left + g.end * cw;
      ctx.fillStyle = g.color;
      ctx.fillRect(x0 + 1, 13, Math.max(1, x1 - x0 - 2), 4);
      ctx.textAlign = "center";
      if (ctx.measureText(g.label).width <= x1 - x0 + 4) ctx.fillText(g.label, (x0 + x1) / 2, 6);
    }
    if (showColLabels) {
      ctx.fillStyle = "#555";
      ctx.textAlign = "center";
      spec.colLabels!.forEach((l, c) => ctx.fillText(l, left + (c + 0.5) * cw, top - 7));
    }
  }

  private hover(e: MouseEvent): void {
    const s = this.spec;
    if (!s) return;
    const rect = this.canvas.getBoundingClientRect();
    const c = Math.floor((e.clientX - rect.left - this.geom.left) / this.geom.cw);
    const r = Math.floor((e.clientY - rect.top - this.geom.top) / this.geom.ch);
    if (r < 0 || c < 0 || r >= s.rows || c >= s.cols) {
      this.canvas.title = "";
      return;
    }
    const rl = s.rowLabels?.[r] ?? String(r);
    const cl = s.colLabels?.[c] ?? String(c);
    this.canvas.title = `${s.title} [${rl}, ${cl}] = ${fmt(s.data[r * s.cols + c])}`;
  }
}

/** A number for captions and tables: integers as they are (seed 12345, 20000 steps), others to 4 significant digits, exponent notation when tiny or huge. */
export function fmt(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (v === 0) return "0";
  if (Number.isInteger(v) && Math.abs(v) < 1e15) return String(v);
  const a = Math.abs(v);
  return a >= 1e-3 && a < 1e4 ? String(Number(v.toPrecision(4))) : v.toExponential(2);
}

/** A legend: colour swatches with labels, and the value scale (red − · grey 0 · blue +). */
export function legend(items: { label: string; color: string }[], withScale = true): HTMLElement {
  const el = document.createElement("div");
  el.className = "legend";
  if (withScale) {
    const s = document.createElement("span");
    s.className = "scale";
    s.innerHTML = `<i style="background:${css(valueColor(-1, 1))}"></i>negative <i style="background:${css(valueColor(0, 1))}"></i>zero <i style="background:${css(valueColor(1, 1))}"></i>positive`;
    el.append(s);
  }
  for (const it of items) {
    const s = document.createElement("span");
    s.innerHTML = `<b style="background:${it.color}"></b>`;
    s.append(it.label);
    el.append(s);
  }
  return el;
}
