/**
 * Section 1, the construction explorer: attention weights (drawn from a seed, or typed) -> the gated RNN of the
 * chosen construction (src/constructions/gated-rnn.ts), heatmaps of both with Figure 1's neuron groups, and both
 * run in float64 on a random or typed sequence, with their max relative error.
 */
import type { AttentionWeights, GatedVariant } from "../src/constructions/gated-rnn.ts";
import { constructGatedRnn, upperIndex } from "../src/constructions/gated-rnn.ts";
import { attention, attentionConfig } from "../src/models/attention.ts";
import { gatedRnn } from "../src/models/gated-rnn.ts";
import type { AttentionConfig } from "../src/models/attention.ts";
import type { Params } from "../src/models/types.ts";
import { Rng } from "../src/rng.ts";
import type { Tensor } from "../src/tensor.ts";
import { gatedWeightsFrom, neuronRoles, polynomialDistance } from "./analysis.ts";
import { GROUP_TONES } from "./colors.ts";
import { field, h, parseNumbers, setChildren } from "./dom.ts";
import type { Group } from "./heatmap.ts";
import { fmt, Heatmap, legend } from "./heatmap.ts";
import { Chart } from "./plot.ts";

/** Explorer inputs. */
export interface ExplorerState {
  d: number;
  variant: GatedVariant;
  seed: number;
  /** Typed weights (W_V, W_K, W_Q as text), or null for the seed's random ones. */
  typedWeights: { W_V: string; W_K: string; W_Q: string } | null;
  T: number;
  seqSeed: number;
  /** Typed sequence (one token of d numbers per line), or null for a random one. */
  typedSequence: string | null;
}

/** What one evaluation of the explorer produced. */
export interface ExplorerResult {
  att: AttentionWeights;
  rnn: Params;
  x: Tensor;
  yAtt: Float64Array;
  yRnn: Float64Array;
  /** max |y_rnn - y_att| / max |y_att|. */
  maxRelError: number;
  /** Per time step: max |diff| over the token / max |y_att| over the sequence. */
  stepErrors: number[];
  polyDistance: number;
}

/** Parses a d × d matrix typed as d lines (or d·d numbers). */
export function parseMatrix(text: string, d: number, what: string): number[] {
  const v = parseNumbers(text, what);
  if (v.length !== d * d) throw new Error(`${what}: expected ${d}×${d} = ${d * d} numbers, got ${v.length}`);
  return v;
}

/** Parses a typed sequence: numbers in groups of d (one token per line), at least one token. */
export function parseSequence(text: string, d: number): number[] {
  const v = parseNumbers(text, "sequence");
  if (v.length === 0 || v.length % d !== 0) throw new Error(`sequence: expected tokens of d = ${d} numbers, got ${v.length} numbers`);
  if (v.length / d > 256) throw new Error("sequence: at most 256 tokens");
  return v;
}

/** Formats a matrix as d lines of numbers (for the weight editors). */
export function formatMatrix(a: ArrayLike<number>, rows: number, cols: number, digits = 3): string {
  const lines: string[] = [];
  for (let r = 0; r < rows; r++) lines.push(Array.from({ length: cols }, (_, c) => a[r * cols + c].toFixed(digits)).join(" "));
  return lines.join("\n");
}

/** Runs the explorer's computation: construct, run both models in float64, compare. */
export function evaluateExplorer(s: ExplorerState): ExplorerResult {
  const { d } = s;
  let att: AttentionWeights;
  if (s.typedWeights) {
    att = { d, W_V: parseMatrix(s.typedWeights.W_V, d, "W_V"), W_K: parseMatrix(s.typedWeights.W_K, d, "W_K"), W_Q: parseMatrix(s.typedWeights.W_Q, d, "W_Q") };
  } else {
    const p = attention.init(Rng.fromSeed(s.seed), attentionConfig({ d }), "f64");
    att = { d, W_V: Array.from(p.tensors.W_V.data), W_K: Array.from(p.tensors.W_K.data), W_Q: Array.from(p.tensors.W_Q.data) };
  }
  const attParams: Params<AttentionConfig> = {
    family: "attention",
    config: attentionConfig({ d }),
    tensors: { W_V: { shape: [d, d], data: Float64Array.from(att.W_V) }, W_K: { shape: [d, d], data: Float64Array.from(att.W_K) }, W_Q: { shape: [d, d], data: Float64Array.from(att.W_Q) } },
  };
  const rnn = constructGatedRnn(att, s.variant);
  const data = s.typedSequence !== null ? Float64Array.from(parseSequence(s.typedSequence, d)) : Rng.fromSeed(s.seqSeed).fillNormal(new Float64Array(s.T * d));
  const T = data.length / d;
  const x: Tensor = { shape: [1, T, d], data };
  const yAtt = Float64Array.from(attention.forward(attParams, x).data);
  const yRnn = Float64Array.from(gatedRnn.forward(rnn, x).data);
  let maxAtt = 0;
  for (const v of yAtt) maxAtt = Math.max(maxAtt, Math.abs(v));
  const stepErrors: number[] = [];
  let maxDiff = 0;
  for (let t = 0; t < T; t++) {
    let m = 0;
    for (let i = 0; i < d; i++) m = Math.max(m, Math.abs(yRnn[t * d + i] - yAtt[t * d + i]));
    stepErrors.push(maxAtt > 0 ? m / maxAtt : m);
    maxDiff = Math.max(maxDiff, m);
  }
  const maxRelError = maxAtt > 0 ? maxDiff / maxAtt : maxDiff;
  const polyDistance = polynomialDistance(gatedWeightsFrom(rnn.tensors), att);
  return { att, rnn, x, yAtt, yRnn, maxRelError, stepErrors, polyDistance };
}

/** Neuron groups of a construction: hidden neurons (memory/key-value first, then query) for the heatmaps. */
export function constructionGroups(variant: GatedVariant, d: number): Group[] {
  const memory = variant === "full" ? d * d : (d * (d + 1)) / 2;
  const memLabel = variant === "full" ? "key-value λ=1" : "memory λ=1";
  return [
    { label: memLabel, start: 0, end: memory, color: GROUP_TONES.memory },
    { label: "query λ=0", start: memory, end: memory + d, color: GROUP_TONES.query },
  ];
}

/** Labels of the hidden neurons of a construction: "v1k2" (full) / "x1x2" (compact) / "q3". */
export function hiddenLabels(variant: GatedVariant, d: number): string[] {
  const labels: string[] = [];
  if (variant === "full") {
    for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) labels.push(`v${i + 1}k${j + 1}`);
  } else {
    const m = (d * (d + 1)) / 2;
    const tmp = new Array<string>(m);
    const sym = variant === "compact" ? "x" : "v";
    for (let i = 0; i < d; i++) for (let j = i; j < d; j++) tmp[upperIndex(i, j, d)] = `${sym}${i + 1}${sym}${j + 1}`;
    labels.push(...tmp);
  }
  for (let j = 0; j < d; j++) labels.push(`q${j + 1}`);
  return labels;
}

const range = (n: number, f: (i: number) => string) => Array.from({ length: n }, (_, i) => f(i));

/** Builds the explorer section into `root`; returns a function that re-evaluates it. */
export function mountExplorer(root: HTMLElement): { refresh(): void; state: ExplorerState } {
  const state: ExplorerState = { d: 4, variant: "compact", seed: 0, typedWeights: null, T: 8, seqSeed: 1, typedSequence: null };
  const dSel = h("select", { "data-testid": "explorer-d" }, ...range(8, (i) => String(i + 1)).map((v) => h("option", { value: v }, v)));
  dSel.value = "4";
  const varSel = h("select", { "data-testid": "explorer-variant" },
    h("option", { value: "full" }, "full (Figure 1)"), h("option", { value: "compact" }, "compact"), h("option", { value: "paper-compact" }, "paper-compact (§2.2)"));
  varSel.value = state.variant;
  const seedIn = h("input", { type: "number", min: 0, value: 0, "data-testid": "explorer-seed" });
  const tIn = h("input", { type: "number", min: 1, max: 64, value: 8 });
  const seqSeedIn = h("input", { type: "number", min: 0, value: 1 });
  const newSeq = h("button", { type: "button", class: "ghost", title: "draw another random sequence" }, "new sequence");
  const wBoxes = { W_V: h("textarea", { rows: 4, spellcheck: "false" }), W_K: h("textarea", { rows: 4, spellcheck: "false" }), W_Q: h("textarea", { rows: 4, spellcheck: "false" }) };
  const seqBox = h("textarea", { rows: 6, spellcheck: "false", "data-testid": "explorer-sequence" });
  const useTypedW = h("input", { type: "checkbox", "data-testid": "explorer-typed-weights" });
  const useTypedS = h("input", { type: "checkbox" });
  const errEl = h("b", { class: "num", "data-testid": "construction-error" }, "…");
  const verdict = h("div", { class: "verdict" });
  const message = h("div", { class: "message" });
  const attRow = h("div", { class: "maps" });
  const rnnIn = h("div", { class: "maps" });
  const rnnOut = h("div", { class: "maps" });
  const runRow = h("div", { class: "maps" });
  const rnnLegend = h("div");
  const roleChart = new Chart();
  const errChart = new Chart();

  const controls = h("div", { class: "controls" },
    field("d", dSel, "input width of the attention layer"),
    field("construction", varSel),
    field("weights seed", seedIn, "W_V, W_K, W_Q ~ N(0, 1/d) from this seed"),
    field("sequence length T", tIn),
    field("sequence seed", seqSeedIn),
    newSeq,
  );
  const editors = h("details", { class: "editors" },
    h("summary", {}, "Type your own attention weights or sequence"),
    h("div", { class: "editor-grid" },
      h("div", {}, h("label", { class: "check" }, useTypedW, " use these weights (d lines of d numbers each)"),
        h("div", { class: "wboxes" }, ...(["W_V", "W_K", "W_Q"] as const).map((n) => h("label", { class: "wbox" }, h("span", {}, n), wBoxes[n])))),
      h("div", {}, h("label", { class: "check" }, useTypedS, " use this sequence (one token of d numbers per line)"), seqBox),
    ),
  );
  setChildren(root,
    h("div", { class: "section-head" },
      h("h2", {}, h("span", { class: "step" }, "1"), "Attention, built into a gated RNN"),
      h("p", { class: "lead" },
        "Any linear self-attention layer (eq. 1) is exactly a gated diagonal linear RNN (eq. 2): perfect-memory neurons (λ = 1) accumulate the key-values ",
        h("i", {}, "Σ v kᵀ"), ", forget neurons (λ = 0) hold the query, and output gating multiplies the two (Figure 1). Pick d and a construction, or type weights: both models run on the same sequence in float64."),
    ),
    controls,
    editors,
    h("div", { class: "verdict-row" }, h("div", { class: "big-stat" }, h("span", {}, "max relative error, RNN vs attention"), errEl), verdict),
    message,
    h("div", { class: "panel" }, h("h3", {}, "Attention layer ", h("span", { class: "sub" }, "y_t = W_V (Σ_{s≤t} x_s x_sᵀ) W_Kᵀ W_Q x_t")), attRow),
    h("div", { class: "panel" },
      h("h3", {}, "The gated RNN it becomes ", h("span", { class: "sub" }, "u = (in_x z) ⊙ (in_m z),  h_t = λ ⊙ h_{t−1} + u_t,  y = readout((out_x h) ⊙ (out_m h)),  z = [x; 1]")),
      rnnLegend, rnnIn, rnnOut),
    h("div", { class: "panel" }, h("h3", {}, "Both, run on the sequence"), runRow),
  );

  const readState = () => {
    state.d = Number(dSel.value);
    state.variant = varSel.value as GatedVariant;
    state.seed = Math.max(0, Math.floor(Number(seedIn.value) || 0));
    state.T = Math.min(64, Math.max(1, Math.floor(Number(tIn.value) || 8)));
    state.seqSeed = Math.max(0, Math.floor(Number(seqSeedIn.value) || 0));
    state.typedWeights = useTypedW.checked ? { W_V: wBoxes.W_V.value, W_K: wBoxes.W_K.value, W_Q: wBoxes.W_Q.value } : null;
    state.typedSequence = useTypedS.checked ? seqBox.value : null;
  };

  const refresh = () => {
    readState();
    let r: ExplorerResult;
    try {
      r = evaluateExplorer(state);
      message.textContent = "";
      message.className = "message";
    } catch (e) {
      message.textContent = e instanceof Error ? e.message : String(e);
      message.className = "message error";
      errEl.textContent = "—";
      verdict.textContent = "";
      return;
    }
    const { d } = state;
    const cfg = r.rnn.config as { hidden: number; output_gating: number };
    const N = cfg.hidden;
    const M = cfg.output_gating;
    if (!useTypedW.checked) for (const n of ["W_V", "W_K", "W_Q"] as const) wBoxes[n].value = formatMatrix(r.att[n], d, d);
    if (!useTypedS.checked) seqBox.value = formatMatrix(r.x.data, r.x.shape[1], d, 3);
    errEl.textContent = r.maxRelError.toExponential(2);
    const ok = r.maxRelError < 1e-10;
    verdict.className = `verdict ${ok ? "ok" : "bad"}`;
    setChildren(verdict,
      h("span", { class: "badge" }, ok ? "✓ same function" : "✗ differs"),
      ` ${N} hidden neurons, ${M} output-gating rows for d = ${d} (attention: ${3 * d * d} weights); `,
      `polynomial distance ${fmt(r.polyDistance)}`,
    );
    // attention
    const idx = range(d, (i) => String(i + 1));
    const wScale = Math.max(...[r.att.W_V, r.att.W_K, r.att.W_Q].flatMap((a) => Array.from(a, Math.abs)));
    const attCell = Math.max(10, Math.min(26, Math.floor(150 / d)));
    setChildren(attRow, ...(["W_V", "W_K", "W_Q"] as const).map((n) =>
      new Heatmap({ title: n, note: n === "W_V" ? "values" : n === "W_K" ? "keys" : "queries", rows: d, cols: d, data: r.att[n], rowLabels: idx, colLabels: idx, cell: attCell, scale: wScale, testid: `heatmap-${n}` }).el));
    // RNN
    const t = r.rnn.tensors;
    const groups = constructionGroups(state.variant, d);
    const hl = hiddenLabels(state.variant, d);
    const cell = Math.max(3, Math.min(22, Math.floor(300 / Math.max(N, M))));
    const inCols = [...range(d, (i) => `x${i + 1}`), "1"];
    const gl = range(M, (k) => `${Math.floor(k / d) + 1},${(k % d) + 1}`);
    setChildren(rnnLegend, legend([
      { label: state.variant === "full" ? "key-value neurons (λ = 1): S_ij = Σ v_i k_j" : state.variant === "compact" ? "memory neurons (λ = 1): Σ x_i x_j, W_V moves into the readout" : "memory neurons (λ = 1): Σ v_i v_j", color: GROUP_TONES.memory },
      { label: state.variant === "compact" ? "query neurons (λ = 0): (W_Kᵀ W_Q x)_j" : "query neurons (λ = 0): q_j", color: GROUP_TONES.query },
    ]));
    setChildren(rnnIn,
      new Heatmap({ title: "in_x", note: "input gating, x side", rows: N, cols: d + 1, data: t.in_x.data, rowGroups: groups, rowLabels: hl, colLabels: inCols, cell, cellW: Math.max(cell, 16), testid: "heatmap-in_x" }).el,
      new Heatmap({ title: "in_m", note: "input gating, m side", rows: N, cols: d + 1, data: t.in_m.data, rowLabels: hl, colLabels: inCols, cell, cellW: Math.max(cell, 16), testid: "heatmap-in_m" }).el,
      new Heatmap({ title: "λ", note: "recurrence", rows: N, cols: 1, data: t.lambda.data, colLabels: ["λ"], cell, cellW: Math.max(cell, 14), scale: 1, testid: "heatmap-lambda" }).el,
      roleChart.el,
    );
    setChildren(rnnOut,
      new Heatmap({ title: "out_x", note: "output gating", rows: M, cols: N, data: t.out_x.data, colGroups: groups, rowLabels: gl, cell, testid: "heatmap-out_x" }).el,
      new Heatmap({ title: "out_m", note: "output gating", rows: M, cols: N, data: t.out_m.data, colGroups: groups, rowLabels: gl, cell, testid: "heatmap-out_m" }).el,
      new Heatmap({ title: "readout", note: "sums the gated products", rows: d, cols: M, data: t.readout.data, rowLabels: range(d, (i) => `y${i + 1}`), colLabels: gl, cell, cellH: Math.max(cell, 14), testid: "heatmap-readout" }).el,
    );
    // runs
    const T = r.x.shape[1];
    const yScale = Math.max(...Array.from(r.yAtt, Math.abs));
    const yCell = Math.max(6, Math.min(22, Math.floor(220 / Math.max(T, d))));
    const tl = range(T, (i) => `t${i + 1}`);
    const yl = range(d, (i) => `y${i + 1}`);
    const diff = r.yRnn.map((v, i) => v - r.yAtt[i]);
    const roles = neuronRoles(gatedWeightsFrom(t));
    const rolePts = roles.lambda.map((l, i) => [l, roles.linear[i]] as const);
    roleChart.update({ title: "neuron roles", x: { label: "λ", min: -0.05, max: 1.05 }, y: { label: "linear share of input", min: -0.05, max: 1.05 }, width: 300, height: 240,
      series: [
        { name: "memory", color: GROUP_TONES.memory, style: "points", points: rolePts.filter(([l]) => l > 0.5) },
        { name: "query", color: GROUP_TONES.query, style: "points", points: rolePts.filter(([l]) => l <= 0.5) },
      ],
    });
    errChart.update({ title: "relative error per step (log scale)", x: { label: "t" }, y: { label: "|y_rnn − y_att| / max|y_att|", log: true, min: 1e-18, max: 1 }, width: 340, height: 230,
      series: [{ name: "error", style: "bars", barWidth: 0.7, color: "#2166ac", points: r.stepErrors.map((e, i) => [i + 1, Math.max(e, 1e-18)] as const) }],
    });
    setChildren(runRow,
      new Heatmap({ title: "x (input)", rows: T, cols: d, data: r.x.data, rowLabels: tl, colLabels: range(d, (i) => `x${i + 1}`), cell: yCell }).el,
      new Heatmap({ title: "attention y", rows: T, cols: d, data: r.yAtt, rowLabels: tl, colLabels: yl, cell: yCell, scale: yScale, testid: "output-attention" }).el,
      new Heatmap({ title: "gated RNN y", rows: T, cols: d, data: r.yRnn, rowLabels: tl, colLabels: yl, cell: yCell, scale: yScale, testid: "output-rnn" }).el,
      new Heatmap({ title: "difference", note: "own colour scale: float64 rounding", rows: T, cols: d, data: diff, rowLabels: tl, colLabels: yl, cell: yCell }).el,
      errChart.el,
    );
  };

  for (const el of [varSel, seedIn, tIn, seqSeedIn, useTypedW, useTypedS]) el.addEventListener("change", refresh);
  for (const el of [...Object.values(wBoxes), seqBox]) el.addEventListener("input", () => {
    if (el === seqBox ? useTypedS.checked : useTypedW.checked) refresh();
  });
  dSel.addEventListener("change", () => {
    useTypedW.checked = false;
    useTypedS.checked = false;
    refresh();
  });
  newSeq.addEventListener("click", () => {
    seqSeedIn.value = String(Number(seqSeedIn.value) + 1);
    useTypedS.checked = false;
    refresh();
  });
  refresh();
  return { refresh, state };
}
