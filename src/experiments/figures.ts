/**
 * Figures (Node): headless rendering of the Vega-Lite specs of specs.ts, SVG through Vega's "none" renderer and PNG
 * through resvg. The spec builders are re-exported so Node callers need one import.
 */
import { Resvg } from "@resvg/resvg-js";
import * as vega from "vega";
import { compile } from "vega-lite";
import type { TopLevelSpec } from "vega-lite";

export * from "./specs.ts";

/** Renders a Vega-Lite spec to an SVG string (headless, no browser). */
export async function renderSvg(spec: Record<string, unknown>): Promise<string> {
  const vg = compile(spec as unknown as TopLevelSpec).spec;
  const view = new vega.View(vega.parse(vg), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Rasterises an SVG string to PNG bytes at `zoom` x (resvg; system fonts, DejaVu Sans as the fallback family). */
export function renderPng(svg: string, zoom = 2): Uint8Array {
  const width = Number(/<svg[^>]*\swidth="([\d.]+)"/.exec(svg)?.[1] ?? 0);
  const z = width > 0 ? Math.min(zoom, 2400 / width) : zoom; // READMEs: at most 2400 px wide
  const r = new Resvg(svg, {
    fitTo: { mode: "zoom", value: z },
    background: "white",
    font: { loadSystemFonts: true, defaultFontFamily: "DejaVu Sans", sansSerifFamily: "DejaVu Sans" },
  });
  return r.render().asPng();
}
