/** Plain-text layout for the terminal: tables fitted to a width, ratios in words. */
import type { ReportTable } from "../experiments/types.ts";

/** "232x lower" / "1.14x higher": how `value` compares with `reference` (both positive). */
export function comparedTo(value: number, reference: number): string {
  if (!(value > 0) || !(reference > 0)) return `ratio ${reference / value}`;
  const r = reference / value;
  const f = Math.max(r, 1 / r);
  const x = f >= 1e5 ? f.toExponential(1).replace("e+", "e") : f >= 100 ? f.toFixed(0) : f >= 10 ? f.toFixed(1) : f.toFixed(2);
  return `${x}x ${r >= 1 ? "lower" : "higher"}`;
}

/** Lines of at most `width` characters, broken at spaces (a longer word stays whole). */
function wrapText(text: string, width: number): string[] {
  const lines: string[] = [];
  let cur = "";
  for (const w of text.split(" ")) {
    if (cur && cur.length + 1 + w.length > width) {
      lines.push(cur);
      cur = w;
    } else cur = cur ? `${cur} ${w}` : w;
  }
  return [...lines, cur];
}

/** Rows (header first) as aligned lines: the first column left-aligned, the others right-aligned, two spaces apart. */
function alignedLines(rows: string[][]): string[] {
  const w = rows[0].map((_, j) => Math.max(...rows.map((r) => (r[j] ?? "").length)));
  return rows.map((r) => r.map((c, j) => (j === 0 ? c.padEnd(w[j]) : c.padStart(w[j]))).join("  ").trimEnd());
}

/**
 * A ReportTable as aligned plain text within `width` columns (a terminal's; default: no limit): as is when it fits,
 * else transposed (one line per column: Table 1's wide rows become a few columns), else its columns split into
 * blocks that fit, each repeating the first column.
 */
export function textTable(t: ReportTable, width = Infinity): string {
  const header = t.columns.map(String);
  const body = t.rows.map((r) => header.map((_, j) => String(r[j] ?? "")));
  const fits = (lines: string[]) => lines.every((l) => l.length <= width);
  const title = Number.isFinite(width) ? wrapText(t.title, width) : [t.title];
  let lines = alignedLines([header, ...body]);
  if (!fits(lines)) {
    const transposed = alignedLines(header.map((c, j) => [c, ...body.map((r) => r[j])]));
    if (fits(transposed)) lines = transposed;
    else {
      lines = [];
      let j = 1;
      while (j < header.length) {
        let k = j + 1;
        while (k < header.length && fits(alignedLines([[header[0], ...header.slice(j, k + 1)], ...body.map((r) => [r[0], ...r.slice(j, k + 1)])]))) k++;
        const cols = [0, ...Array.from({ length: k - j }, (_, i) => j + i)];
        if (lines.length) lines.push("");
        lines.push(...alignedLines([header, ...body].map((r) => cols.map((c) => r[c]))));
        j = k;
      }
    }
  }
  return [...title, ...lines].join("\n") + "\n";
}
