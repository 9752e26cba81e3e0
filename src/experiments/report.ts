/**
 * The self-contained report.html of a preset: what the paper reports, our tables, the figures (inline SVG), the
 * deviations from the paper's protocol at this scale, every run's config, and timings. No scripts, no external
 * resources: it opens from disk, mails, and archives as one file.
 */
import type { PresetResults, Preset, RunRecord, RunSpec, Scale } from "./types.ts";

/** HTML-escapes text. */
export function esc(s: unknown): string {
  return String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** Formats a number for tables: 3 significant digits, exponent form below 1e-2 or above 1e5; "-" for NaN. */
export function fmt(v: unknown): string {
  if (typeof v !== "number") return v === undefined || v === null ? "-" : String(v);
  if (!Number.isFinite(v)) return "-";
  if (Number.isInteger(v) && Math.abs(v) < 1e7) return String(v);
  const a = Math.abs(v);
  return a !== 0 && (a < 1e-2 || a >= 1e5) ? v.toExponential(2) : v.toPrecision(3);
}

/** Seconds as "1h 02m", "3m 05s" or "12.3 s". */
export function fmtDuration(s: number): string {
  if (!Number.isFinite(s)) return "-";
  if (s < 60) return `${s.toFixed(1)} s`;
  const r = Math.round(s);
  const m = Math.floor(r / 60);
  if (m < 60) return `${m}m ${String(r - 60 * m).padStart(2, "0")}s`;
  return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, "0")}m`;
}

const CSS = `body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
h1{font-size:1.6em;margin-bottom:.2em}h2{margin-top:1.8em;border-bottom:1px solid #ddd;padding-bottom:.2em}
table{border-collapse:collapse;margin:.8em 0}th,td{border:1px solid #ccc;padding:.25em .6em;text-align:right;font-variant-numeric:tabular-nums}
th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}.note{color:#555;font-size:.92em}
.warn{background:#fff6e0;border-left:4px solid #e0a000;padding:.4em .8em}figure{margin:1.2em 0;overflow-x:auto}
figcaption{color:#444;font-size:.92em;max-width:900px}pre{background:#f6f6f6;padding:.6em;overflow-x:auto;font-size:.85em}
code{background:#f3f3f3;padding:0 .2em}`;

/** An HTML table from a ReportTable-like object. */
export function htmlTable(t: { title?: string; columns: string[]; rows: (string | number)[][]; note?: string }): string {
  const head = `<tr>${t.columns.map((c) => `<th>${esc(c)}</th>`).join("")}</tr>`;
  const body = t.rows.map((r) => `<tr>${r.map((c) => `<td>${esc(typeof c === "number" ? fmt(c) : c)}</td>`).join("")}</tr>`).join("\n");
  return `${t.title ? `<h3>${esc(t.title)}</h3>` : ""}<table>${head}\n${body}</table>${t.note ? `<p class="note">${esc(t.note)}</p>` : ""}`;
}

/** Inputs of `htmlReport`. */
export interface ReportInputs {
  preset: Preset;
  scale: Scale;
  results: PresetResults;
  records: RunRecord[];
  runs: readonly RunSpec[];
  /** Figure name -> SVG text. */
  svgs: Record<string, string>;
  context: Record<string, string>;
}

/** The report.html text of a preset's results. */
export function htmlReport(r: ReportInputs): string {
  const { preset, scale, results } = r;
  const parts: string[] = [];
  parts.push(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${esc(preset.title)} (${scale})</title><style>${CSS}</style></head><body>`);
  parts.push(`<h1>${esc(preset.title)}</h1>`);
  parts.push(`<p>Reproduction of <em>Gated recurrent neural networks discover attention</em> (Zucchet et al.), preset <code>${esc(preset.name)}</code> at scale <strong>${esc(scale)}</strong>.</p>`);
  parts.push(`<p><strong>The paper:</strong> ${esc(preset.paper)}</p>`);
  for (const n of results.notes) parts.push(`<p class="warn">${esc(n)}</p>`);
  const dev = preset.deviations(scale);
  if (dev.length) {
    parts.push(`<h2>Deviations from the paper's protocol at this scale</h2><ul>${dev.map((d) => `<li>${esc(d)}</li>`).join("")}</ul>`);
    parts.push(`<p class="note">Run <code>gra reproduce ${esc(preset.name)} --scale paper</code> for the paper's protocol (see the README's cluster recipe).</p>`);
  }
  parts.push(`<h2>Results</h2>`);
  for (const t of results.tables) parts.push(htmlTable(t));
  for (const f of results.figures) {
    const svg = r.svgs[f.name];
    if (!svg) continue;
    parts.push(`<figure id="fig-${esc(f.name)}">${svg.replace(/^<\?xml[^>]*>\s*/, "")}<figcaption><strong>${esc(f.title)}.</strong> ${esc(f.caption)}</figcaption></figure>`);
  }
  parts.push(`<h2>Runs and timings</h2>`);
  const total = r.records.reduce((s, x) => s + (Number.isFinite(x.elapsed_s) ? x.elapsed_s : 0), 0);
  parts.push(
    htmlTable({
      columns: ["run", "steps", "params", "train loss", "val loss", "time"],
      rows: r.runs.map((spec) => {
        const rec = r.records.find((x) => x.id === spec.id);
        return [spec.id, rec ? `${rec.step}/${spec.steps}` : `0/${spec.steps}`, spec.params, rec ? rec.train_loss : "-", rec ? rec.val_loss : "-", rec ? fmtDuration(rec.elapsed_s) : "not run"];
      }),
      note: `Training time summed over runs: ${fmtDuration(total)} (each run's own wall-clock time, single process).`,
    }),
  );
  parts.push(`<h2>Configuration</h2><p class="note">Every run's full training config (src/train/loop.ts TrainConfig, every default written out; the run id hashes it without <code>threads</code>).</p>`);
  for (const spec of r.runs) parts.push(`<details><summary><code>${esc(spec.id)}</code></summary><pre>${esc(JSON.stringify(spec.parsed, null, 2))}</pre></details>`);
  const ctx = Object.entries(r.context);
  if (ctx.length) parts.push(`<h2>Environment</h2>${htmlTable({ columns: ["", ""], rows: ctx.map(([k, v]) => [k, v]) })}`);
  parts.push(`</body></html>\n`);
  return parts.join("\n");
}
