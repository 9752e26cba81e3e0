/** The page's colours (pure): the paper's heatmap scale (blue positive, red negative, grey zero) and group tones. */

/** RGB triple, 0..255. */
export type Rgb = readonly [number, number, number];

/** Zero: light grey. */
export const ZERO: Rgb = [226, 226, 230];
/** Largest positive value: blue. */
export const POSITIVE: Rgb = [33, 102, 172];
/** Largest negative value: red. */
export const NEGATIVE: Rgb = [178, 24, 43];

/** Colour of v on a symmetric scale [-scale, scale]: grey at 0, blue towards +scale, red towards -scale. */
export function valueColor(v: number, scale: number): Rgb {
  if (!Number.isFinite(v)) return [0, 0, 0];
  const t = scale > 0 ? Math.min(1, Math.abs(v) / scale) : 0;
  const s = Math.pow(t, 0.75); // lifts small values a little so faint structure stays visible
  const end = v >= 0 ? POSITIVE : NEGATIVE;
  return [0, 1, 2].map((i) => Math.round(ZERO[i] + (end[i] - ZERO[i]) * s)) as unknown as Rgb;
}

/** CSS colour string of an Rgb. */
export function css(c: Rgb): string {
  return `rgb(${c[0]}, ${c[1]}, ${c[2]})`;
}

/** Tones of neuron groups (key-value / memory, query / forget, other), used by bars, legends and scatter plots. */
export const GROUP_TONES = {
  memory: "#d08a00",
  query: "#0f8b8d",
  other: "#8a8f98",
  output: "#6b4fbb",
} as const;

/** Line colours of plotted series, in order. */
export const SERIES = ["#2166ac", "#d08a00", "#0f8b8d", "#b2182b", "#6b4fbb", "#4d7c0f"];
