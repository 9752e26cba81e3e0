/**
 * Section 2, a student trained in the page: the teacher-student task of Section 3 run by web/worker.ts (the CLI's
 * training core and SIMD kernels in a Web Worker, so the page stays responsive), with a live log-scale loss curve,
 * the student's weights (hidden neurons sorted by λ), live λ counts and polynomial distance (web/analysis.ts) and,
 * when paused or finished, the paper's analysis (src/analysis, run in the worker): pruning, memory/forget neurons,
 * KV and Q scores, polynomial distance, and the pruned, canonically ordered weights (Figure 2A).
 */
import type { AnalysisReport } from "../src/analysis/analyze.ts";
import { analysisDefaults } from "../src/analysis/analyze.ts";
import type { WeightsFigure } from "../src/analysis/figures.ts";
import type { AttWeights, GatedWeights } from "./analysis.ts";
import { DEFAULT_ROLES, gatedWeightsFrom, gatingOrder, hiddenOrder, histogram, neuronRoles, polynomialDistance, roleCounts, subNetwork } from "./analysis.ts";
import { GROUP_TONES } from "./colors.ts";
import { field, h, setChildren } from "./dom.ts";
import type { Group } from "./heatmap.ts";
import { fmt, Heatmap, legend } from "./heatmap.ts";
import { Chart } from "./plot.ts";
import type { FromWorker, TrainSettings, WireTensor } from "./protocol.ts";
import { DEFAULT_SETTINGS } from "./protocol.ts";

/** Source of the worker bundle, injected by scripts/build-web.mjs (used when the page is opened from file://). */
declare const __WORKER_SOURCE__: string | undefined;

/** Starts the training worker: worker.js next to the page, or the embedded copy from a file:// page. */
function startWorker(): Worker {
  if (location.protocol === "file:" && typeof __WORKER_SOURCE__ === "string" && __WORKER_SOURCE__) {
    return new Worker(URL.createObjectURL(new Blob([__WORKER_SOURCE__], { type: "text/javascript" })));
  }
  return new Worker(new URL("worker.js", location.href));
}

/** Hidden-neuron groups of a λ-sorted network: memory (λ ≥ 0.95), other, forget (λ ≤ 0.05). */
export function sortedGroups(lambdaSorted: ArrayLike<number>): Group[] {
  const N = lambdaSorted.length;
  let mem = 0;
  while (mem < N && lambdaSorted[mem] >= DEFAULT_ROLES.memoryAbove) mem++;
  let fg = N;
  while (fg > mem && lambdaSorted[fg - 1] <= DEFAULT_ROLES.forgetBelow) fg--;
  const g: Group[] = [];
  if (mem > 0) g.push({ label: "memory λ≈1", start: 0, end: mem, color: GROUP_TONES.memory });
  if (fg > mem) g.push({ label: "other", start: mem, end: fg, color: GROUP_TONES.other });
  if (N > fg) g.push({ label: "forget λ≈0", start: fg, end: N, color: GROUP_TONES.query });
  return g;
}

/** Thins a curve to at most `max` points (keeps the first and last). */
export function thin<T>(pts: T[], max = 1500): T[] {
  if (pts.length <= max) return pts;
  const step = pts.length / max;
  const out: T[] = [];
  for (let i = 0; i < max - 1; i++) out.push(pts[Math.floor(i * step)]);
  out.push(pts[pts.length - 1]);
  return out;
}

/** Groups of consecutive equal labels (e.g. the canonical memory -> forget -> other order of the analysis). */
export function runsOf(labels: readonly string[], tones: Record<string, string>, names: Record<string, string> = {}): Group[] {
  const out: Group[] = [];
  labels.forEach((l, i) => {
    const last = out[out.length - 1];
    if (last && last.label === (names[l] ?? l)) last.end = i + 1;
    else out.push({ label: names[l] ?? l, start: i, end: i + 1, color: tones[l] ?? GROUP_TONES.other });
  });
  return out;
}

/** The six weight heatmaps of a gated RNN with neuron-group bars. */
export class GatedView {
  /** The element holding the heatmaps. */
  readonly el: HTMLElement;
  private readonly maps: Record<string, Heatmap> = {};
  private readonly rowIn: HTMLElement;
  private readonly rowOut: HTMLElement;

  constructor(private readonly prefix: string, legendItems?: { label: string; color: string }[]) {
    this.rowIn = h("div", { class: "maps" });
    this.rowOut = h("div", { class: "maps" });
    this.el = h("div", {}, legend(legendItems ?? [
      { label: `memory neurons (λ ≥ ${DEFAULT_ROLES.memoryAbove}, the page's live threshold)`, color: GROUP_TONES.memory },
      { label: `forget neurons (λ ≤ ${DEFAULT_ROLES.forgetBelow})`, color: GROUP_TONES.query },
      { label: "in between", color: GROUP_TONES.other },
    ]), this.rowIn, this.rowOut);
    for (const n of ["in_x", "in_m", "lambda", "out_x", "out_m", "readout"]) this.maps[n] = new Heatmap();
    this.rowIn.append(this.maps.in_x.el, this.maps.in_m.el, this.maps.lambda.el);
    this.rowOut.append(this.maps.out_x.el, this.maps.out_m.el, this.maps.readout.el);
  }

  /**
   * Shows w: by default with hidden neurons sorted by λ (memory first) and output-gating rows grouped by the hidden
   * neuron they gate with; `groups` / `rowGroups` given = w is already ordered, draw these groups.
   */
  show(w: GatedWeights, o: { groups?: Group[]; rowGroups?: Group[] } = {}): GatedWeights {
    let s = w;
    let groups = o.groups;
    if (!groups) {
      const order = hiddenOrder(w);
      s = subNetwork(w, order, gatingOrder(w, order));
      groups = sortedGroups(s.lambda);
    }
    const big = Math.max(s.N, s.M, 1);
    const cell = Math.max(2, Math.min(22, Math.floor(300 / big)));
    const wide = Math.max(cell, 18);
    const inCols = [...Array.from({ length: w.d }, (_, i) => `x${i + 1}`), "1"];
    const p = this.prefix;
    this.maps.in_x.update({ title: "in_x", note: "hidden × input", rows: s.N, cols: w.d + 1, data: s.in_x, rowGroups: groups, colLabels: inCols, cell, cellW: wide, testid: `${p}-in_x` });
    this.maps.in_m.update({ title: "in_m", note: "hidden × input", rows: s.N, cols: w.d + 1, data: s.in_m, colLabels: inCols, cell, cellW: wide, testid: `${p}-in_m` });
    this.maps.lambda.update({ title: "λ", rows: s.N, cols: 1, data: s.lambda, colLabels: ["λ"], cell, cellW: wide, scale: 1, testid: `${p}-lambda` });
    this.maps.out_x.update({ title: "out_x", note: "gating × hidden", rows: s.M, cols: s.N, data: s.out_x, colGroups: groups, rowGroups: o.rowGroups, cell, testid: `${p}-out_x` });
    this.maps.out_m.update({ title: "out_m", note: "gating × hidden", rows: s.M, cols: s.N, data: s.out_m, colGroups: groups, cell, testid: `${p}-out_m` });
    this.maps.readout.update({ title: "readout", note: "output × gating", rows: s.dOut, cols: s.M, data: s.readout, rowLabels: Array.from({ length: s.dOut }, (_, i) => `y${i + 1}`), cell, cellH: wide, testid: `${p}-readout` });
    return s;
  }
}

/** GatedWeights from the analysis' Figure 2A matrices (nested rows). */
export function weightsFromFigure(f: WeightsFigure): GatedWeights {
  const flat = (m: number[][]) => Float64Array.from(m.flat());
  const N = f.in_x.length;
  const M = f.out_x.length;
  return { d: (f.in_x[0]?.length ?? 1) - 1, N, M, dOut: f.readout.length, in_x: flat(f.in_x), in_m: flat(f.in_m), lambda: flat(f.lambda), out_x: flat(f.out_x), out_m: flat(f.out_m), readout: flat(f.readout) };
}

type Phase = "loading" | "ready" | "running" | "paused" | "done" | "error";

/** Builds the training section into `root`. */
export function mountTraining(root: HTMLElement): void {
  let settings: TrainSettings = { ...DEFAULT_SETTINGS };
  let worker: Worker | null = null;
  let phase: Phase = "loading";
  let teacher: AttWeights | null = null;
  let current: GatedWeights | null = null;
  let zeroLoss = NaN;
  const losses: [number, number][] = [];
  const vals: [number, number][] = [];

  const num = (v: number, attrs: Record<string, unknown> = {}) => h("input", { type: "number", value: v, ...attrs });
  const inputs = {
    d: num(settings.d, { min: 1, max: 8 }),
    hidden: num(settings.hidden, { min: 1, max: 512 }),
    output_gating: num(settings.output_gating, { min: 1, max: 512 }),
    lr: num(settings.lr, { min: 0, step: "any" }),
    batch: num(settings.batch, { min: 1, max: 256 }),
    T: num(settings.T, { min: 1, max: 256 }),
    steps: num(settings.steps, { min: 1 }),
    seed: num(settings.seed, { min: 0 }),
  };
  // the "use the GPU" switch: only where the browser offers WebGPU (navigator.gpu; Chromium: a secure context)
  const hasGpu = typeof navigator !== "undefined" && "gpu" in navigator && !!(navigator as { gpu?: unknown }).gpu;
  const gpuIn = h("input", { type: "checkbox", "data-testid": "train-gpu" });
  const gpuField = hasGpu ? [h("label", { class: "field switch", title: "train on the GPU through WebGPU: the WGSL kernels of gra train --device webgpu" }, gpuIn, " use the GPU")] : [];
  const startBtn = h("button", { type: "button", class: "primary", "data-testid": "train-start", disabled: true }, "Start training");
  const resetBtn = h("button", { type: "button", class: "ghost", "data-testid": "train-reset" }, "Reset");
  const stat = (label: string, testid: string) => {
    const v = h("b", { class: "num", "data-testid": testid }, "—");
    return { el: h("div", { class: "stat" }, h("span", {}, label), v), v };
  };
  const sStep = stat("step", "train-step");
  const sLoss = stat("training loss", "train-loss");
  const sVal = stat("validation loss", "train-val-loss");
  const sRatio = stat("vs. predicting 0", "train-ratio");
  const sSpeed = stat("steps / s", "train-speed");
  const sTime = stat("training time", "train-time");
  const status = h("div", { class: "status", "data-testid": "train-status" }, "loading the kernels…");
  const lossChart = new Chart(undefined, "train-loss-chart");
  const lamChart = new Chart();
  const roleChart = new Chart();
  const student = new GatedView("student");
  const teacherRow = h("div", { class: "maps" });
  const analysisEl = h("div", { class: "analysis", "data-testid": "train-analysis" }, h("p", { class: "muted" }, "Pause or let the run finish to analyse the student."));
  // the analysis' settings start at gra analyze's defaults (the paper's), and can be loosened for a short demo run
  const tolIn = h("input", { type: "range", min: -4, max: -0.5, step: 0.25, value: Math.log10(analysisDefaults.tolerance), "data-testid": "analysis-tolerance" });
  const tolText = h("span", { class: "num", "data-testid": "analysis-tolerance-value" }, analysisDefaults.tolerance.toExponential(0));
  const lamTolIn = h("select", { "data-testid": "analysis-lambda-tolerance" }, ...["0.001", "0.01", "0.05", "0.1", "0.2"].map((v) => h("option", { value: v }, v)));
  lamTolIn.value = String(analysisDefaults.lambdaTolerance);
  const liveStats = h("div", { class: "muted small", "data-testid": "train-live-analysis" });
  const pruned = new GatedView("pruned", [
    { label: "memory neurons |λ − 1| ≤ tol_λ", color: GROUP_TONES.memory },
    { label: "forget neurons |λ| ≤ tol_λ", color: GROUP_TONES.query },
    { label: "other", color: GROUP_TONES.other },
    { label: "gating rows in the memory × forget block", color: GROUP_TONES.output },
  ]);

  setChildren(root,
    h("div", { class: "section-head" },
      h("h2", {}, h("span", { class: "step" }, "2"), "A student discovers it"),
      h("p", { class: "lead" },
        "A gated RNN student, initialised at random, learns to imitate a random attention teacher on sequences x_t ~ N(0, I) (Section 3). Watch λ split into perfect-memory (λ → 1) and forget (λ → 0) neurons: the attention block structure. Training runs in a Web Worker on the same WebAssembly SIMD kernels as ",
        h("code", {}, "gra train"), "."),
    ),
    h("div", { class: "controls" },
      field("d", inputs.d), field("hidden N", inputs.hidden), field("output gating M", inputs.output_gating),
      field("learning rate", inputs.lr, "cosine-annealed to lr/100 over the steps"), field("batch", inputs.batch), field("T", inputs.T),
      field("steps", inputs.steps), field("seed", inputs.seed), ...gpuField, startBtn, resetBtn),
    h("p", { class: "muted small" }, "Demo settings: batch 16, learning rate 5e-3 so structure shows within a minute (the paper: batch 64, 1e-3, 1M steps: ", h("code", {}, "gra train"), ")."),
    h("div", { class: "stats" }, sStep.el, sLoss.el, sVal.el, sRatio.el, sSpeed.el, sTime.el, status),
    h("div", { class: "maps charts" }, lossChart.el, lamChart.el, roleChart.el),
    liveStats,
    h("div", { class: "panel" }, h("h3", {}, "Student weights ", h("span", { class: "sub" }, "hidden neurons sorted by λ, live")), student.el),
    h("div", { class: "panel" }, h("h3", {}, "Teacher ", h("span", { class: "sub" }, "W_V, W_K, W_Q ~ N(0, 1/d)")), teacherRow),
    h("div", { class: "panel" }, h("h3", {}, "Analysis"), analysisEl),
  );

  const setPhase = (p: Phase, text?: string) => {
    phase = p;
    startBtn.disabled = p === "loading" || p === "done" || p === "error";
    startBtn.textContent = p === "running" ? "Pause" : p === "paused" ? "Resume" : p === "done" ? "Finished" : "Start training";
    startBtn.dataset.state = p;
    for (const i of Object.values(inputs)) i.disabled = p === "running";
    if (text !== undefined) status.textContent = text;
  };

  const drawLoss = () => {
    // the step axis spans at least 0..100, so the validation loss at step 0 is not alone on a -1..1 axis before training
    const last = Math.max(losses.length ? losses[losses.length - 1][0] : 0, vals.length ? vals[vals.length - 1][0] : 0);
    lossChart.update({ title: "loss (log scale)", x: { label: "step", min: 0, max: Math.max(100, last) }, y: { log: true }, width: 460, height: 250,
      series: [
        { name: "training", points: thin(losses), color: "#2166ac" },
        { name: "validation", points: vals, color: "#d08a00" },
      ] });
  };

  const drawCharts = () => {
    drawLoss();
    if (!current) return;
    const roles = neuronRoles(current);
    const hist = histogram(current.lambda, 20);
    lamChart.update({ title: "λ of the hidden neurons", x: { label: "λ", min: 0, max: 1 }, y: { label: "neurons" }, width: 300, height: 250,
      series: [{ name: "", style: "bars", barWidth: 0.05, color: "#6b7280", points: hist.map((c, i) => [(i + 0.5) / 20, c] as const) }] });
    if (teacher) {
      const c = roleCounts(current.lambda);
      liveStats.textContent = `live, with the demo's thresholds λ ≥ ${DEFAULT_ROLES.memoryAbove} / λ ≤ ${DEFAULT_ROLES.forgetBelow} (the analysis below uses gra analyze's |λ − 1| ≤ tol_λ, |λ| ≤ tol_λ): ${c.memory} memory, ${c.forget} forget, ${c.other} other neurons · polynomial distance to the teacher ${fmt(polynomialDistance(current, teacher))}`;
    }
    const pts = (pred: (l: number) => boolean) => roles.lambda.map((l, i) => [l, roles.linear[i]] as const).filter(([l]) => pred(l));
    roleChart.update({ title: "neuron roles", x: { label: "λ", min: -0.05, max: 1.05 }, y: { label: "linear share of input", min: -0.05, max: 1.05 }, width: 300, height: 250,
      series: [
        { name: "memory", style: "points", color: GROUP_TONES.memory, points: pts((l) => l >= DEFAULT_ROLES.memoryAbove) },
        { name: "forget", style: "points", color: GROUP_TONES.query, points: pts((l) => l <= DEFAULT_ROLES.forgetBelow) },
        { name: "other", style: "points", color: GROUP_TONES.other, points: pts((l) => l > DEFAULT_ROLES.forgetBelow && l < DEFAULT_ROLES.memoryAbove) },
      ] });
  };

  const requestAnalysis = () => {
    if (!worker || !current || (phase !== "paused" && phase !== "done")) return;
    const tol = 10 ** Number(tolIn.value);
    const lamTol = Number(lamTolIn.value);
    tolText.textContent = tol.toExponential(0);
    analysisEl.dataset.state = "busy";
    worker.postMessage({ type: "analyze", tolerance: tol, lambdaTolerance: lamTol });
  };
  let tolTimer: ReturnType<typeof setTimeout> | null = null;
  for (const el of [tolIn, lamTolIn]) el.addEventListener(el === lamTolIn ? "change" : "input", () => {
    if (tolTimer) clearTimeout(tolTimer);
    tolTimer = setTimeout(requestAnalysis, 150);
  });

  const showAnalysis = (r: AnalysisReport, step: number, ms: number) => {
    const d = teacher?.d ?? r.model.d_in;
    const row = (k: string, v: string, paper = "", testid?: string) => h("tr", {}, h("th", {}, k), h("td", { class: "num", "data-testid": testid }, v), h("td", { class: "muted" }, paper));
    const e = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? "—" : v.toExponential(2));
    const fig = r.figures.weights;
    const w = weightsFromFigure(fig);
    const names = { memory: "memory", forget: "forget", other: "other" };
    const groups = runsOf(fig.groups, { memory: GROUP_TONES.memory, forget: GROUP_TONES.query, other: GROUP_TONES.other }, names);
    const rowGroups = runsOf(fig.block_rows.map((b) => (b ? "block" : "outside")), { block: GROUP_TONES.output, outside: GROUP_TONES.other });
    setChildren(analysisEl,
      h("p", { class: "muted" },
        `The student at step ${step}, analysed like a trained run (src/analysis, as in gra analyze; ${ms.toFixed(0)} ms in the worker): weights with |w| ≤ tol count as zero for pruning, λ within tol_λ of 1 or 0 makes a memory or forget neuron. The paper's student after 1M steps keeps ${(d * (d + 1)) / 2} memory and ${d} forget neurons (Table 1); a minute in the page gets part of the way.`),
      h("div", { class: "controls" },
        h("label", { class: "field" }, h("span", {}, `tol (log10; gra analyze and the paper: ${analysisDefaults.tolerance.toExponential(0)})`), tolIn), tolText,
        h("label", { class: "field" }, h("span", {}, `tol_λ (gra analyze and the paper: ${analysisDefaults.lambdaTolerance})`), lamTolIn)),
      h("table", { class: "kv", "data-testid": "analysis-table" },
        h("tr", {}, h("th", {}, ""), h("td", { class: "muted" }, "this student"), h("td", { class: "muted" }, "paper (Table 1, d = 4, 1M steps)")),
        row("loss on 128 fresh sequences", e(r.loss), "4.97e-8", "analysis-loss"),
        row("hidden neurons pruned", `${r.pruned_hidden} of ${r.model.hidden}`, "86 of 100"),
        row("output-gating rows pruned", `${r.pruned_output_gating} of ${r.model.output_gating}`, "87 of 100"),
        row("output change from pruning", e(r.pruned_output_rel_error), "max relative"),
        row("memory neurons (λ ≈ 1)", String(r.memory_neurons), `${(d * (d + 1)) / 2} = d(d+1)/2`, "analysis-memory"),
        row("forget neurons (λ ≈ 0)", String(r.forget_neurons), `${d} = d`, "analysis-forget"),
        row("other neurons", String(r.other_neurons), "0"),
        row("KV score (1 − R²)", e(r.kv_score), "4.52e-8"),
        row("Q score (1 − R²)", e(r.q_score), "2.06e-10"),
        row("polynomial distance", e(r.polynomial_distance), "3.73e-4", "analysis-polynomial"),
        row("gating rows in / outside the block structure", `${r.block_rows} / ${r.outside_rows}`, ""),
      ),
      h("h4", {}, `Pruned student, canonical order (Figure 2A): ${w.N} hidden neurons, ${w.M} output-gating rows`),
      pruned.el,
    );
    analysisEl.dataset.state = "done";
    pruned.show(w, { groups, rowGroups });
  };

  const showWeights = (w: Record<string, WireTensor>, step: number) => {
    current = gatedWeightsFrom(w);
    student.show(current);
    drawCharts();
  };

  const onMessage = (m: FromWorker) => {
    switch (m.type) {
      case "ready": {
        teacher = { d: m.teacher.d, W_V: m.teacher.W_V, W_K: m.teacher.W_K, W_Q: m.teacher.W_Q };
        zeroLoss = m.zero_loss;
        const d = m.teacher.d;
        const idx = Array.from({ length: d }, (_, i) => String(i + 1));
        const scale = Math.max(...[...m.teacher.W_V, ...m.teacher.W_K, ...m.teacher.W_Q].map(Math.abs));
        const cell = Math.max(10, Math.min(26, Math.floor(150 / d)));
        setChildren(teacherRow, ...(["W_V", "W_K", "W_Q"] as const).map((n) => new Heatmap({ title: n, rows: d, cols: d, data: m.teacher[n], rowLabels: idx, colLabels: idx, cell, scale }).el));
        vals.push([0, m.val_loss]);
        sVal.v.textContent = m.val_loss.toExponential(3);
        sRatio.v.textContent = (m.val_loss / zeroLoss).toExponential(2);
        showWeights(m.weights, 0);
        setPhase("ready", `ready · kernels: ${m.backend}`);
        break;
      }
      case "progress":
        losses.push([m.step, m.loss]);
        sStep.v.textContent = `${m.step}`;
        sLoss.v.textContent = m.loss.toExponential(3);
        sSpeed.v.textContent = m.steps_per_s.toFixed(0);
        sTime.v.textContent = `${m.elapsed_s.toFixed(1)} s`;
        drawLoss();
        break;
      case "val":
        vals.push([m.step, m.val_loss]);
        sVal.v.textContent = m.val_loss.toExponential(3);
        sRatio.v.textContent = (m.val_loss / zeroLoss).toExponential(2);
        break;
      case "weights":
        showWeights(m.weights, m.step);
        break;
      case "paused":
        setPhase("paused", `paused at step ${m.step}`);
        requestAnalysis();
        break;
      case "done":
        setPhase("done", `finished: ${m.step} steps`);
        requestAnalysis();
        break;
      case "analysis":
        showAnalysis(m.report, m.step, m.ms);
        break;
      case "analysis-error":
        analysisEl.dataset.state = "error";
        setChildren(analysisEl, h("p", { class: "message error" }, `analysis failed at step ${m.step}: ${m.message}`));
        break;
      case "error":
        setPhase("error", `error: ${m.message}`);
        break;
    }
  };

  const reset = () => {
    worker?.terminate();
    const read = (k: keyof typeof inputs, lo: number, hi: number, int = true) => {
      const v = Number(inputs[k].value);
      const c = Math.min(hi, Math.max(lo, Number.isFinite(v) ? v : lo));
      return int ? Math.round(c) : c;
    };
    settings = {
      d: read("d", 1, 8), hidden: read("hidden", 1, 512), output_gating: read("output_gating", 1, 512), lr: read("lr", 0, 1, false),
      batch: read("batch", 1, 256), T: read("T", 1, 256), steps: read("steps", 1, 1e7), seed: read("seed", 0, 2 ** 31), weight_decay: DEFAULT_SETTINGS.weight_decay,
      gpu: hasGpu && (gpuIn as HTMLInputElement).checked,
    };
    losses.length = 0;
    vals.length = 0;
    current = null;
    teacher = null;
    for (const s of [sStep, sLoss, sVal, sRatio, sSpeed, sTime]) s.v.textContent = "—";
    setChildren(analysisEl, h("p", { class: "muted" }, "Pause or let the run finish to analyse the student."));
    setPhase("loading", settings.gpu ? "compiling the GPU kernels…" : "loading the kernels…");
    worker = startWorker();
    worker.onmessage = (e: MessageEvent<FromWorker>) => onMessage(e.data);
    worker.onerror = (e) => setPhase("error", `worker error: ${e.message || "could not start the worker"}`);
    // from file:// the worker uses its embedded copy of kernels.wasm (fetching file: URLs is refused)
    worker.postMessage({ type: "init", settings, wasmUrl: location.protocol === "file:" ? "" : new URL("kernels.wasm", location.href).href });
    drawCharts();
  };

  startBtn.addEventListener("click", () => {
    if (!worker) return;
    if (phase === "ready" || phase === "paused") {
      worker.postMessage({ type: "run" });
      setPhase("running", "training…");
    } else if (phase === "running") {
      worker.postMessage({ type: "pause" });
      setPhase("paused", "pausing…");
    }
  });
  resetBtn.addEventListener("click", reset);
  for (const i of [...Object.values(inputs), gpuIn]) i.addEventListener("change", () => {
    if (phase !== "running") reset();
  });
  reset();
}
