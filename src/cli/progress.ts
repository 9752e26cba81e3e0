/**
 * Progress for long work, one status line: on a terminal it is redrawn in place (a bar, value/total, steps/s, one
 * ETA, then the caller's fields) and messages print on clean lines above it; otherwise (CI, logs, pipes) the same
 * text is printed as a plain line every few seconds. No timers: nothing is drawn except from `set` and `log`.
 */
import { fmtDuration } from "../experiments/report.ts";
import type { SweepEvent } from "../experiments/sweep.ts";

/** Where a status line writes: a write function and, when it is a terminal, its width in columns. */
export interface StatusOutput {
  write(text: string): void;
  /** Set when the output is a terminal: the line is redrawn in place and kept within this width. */
  columns?: number;
}

/** A time left: "42s" under a minute, else fmtDuration's "3m 05s" / "1h 02m"; "" when not finite. */
export function fmtEta(s: number): string {
  if (!Number.isFinite(s) || s < 0) return "";
  return s < 59.5 ? `${Math.round(s)}s` : fmtDuration(Math.max(60, s));
}

/** What one progress line shows; `rate` (per second) and `eta` (seconds) are left out when not finite. */
export interface ProgressState {
  label: string;
  value: number;
  total: number;
  /** Unit of the rate ("steps/s"). */
  unit?: string;
  rate?: number;
  eta?: number;
  /** What the ETA is for, when not this counter ("all runs"): shown after it in parentheses. */
  etaOf?: string;
  /** Further `name value` fields, in order (empty values are left out). */
  fields?: Record<string, string>;
}

/** The text of a progress line: `label value/total | 1200 steps/s | ETA 1m 05s | loss 1.2e-3 | ...` (`bar` cells: a bar after the label). */
export function progressText(p: ProgressState, bar = 0): string {
  const parts: string[] = [];
  const frac = p.total > 0 ? Math.min(1, Math.max(0, p.value / p.total)) : 0;
  const filled = Math.round(frac * bar);
  const barText = bar > 0 ? ` ${"█".repeat(filled)}${"░".repeat(bar - filled)}` : "";
  parts.push(`${p.label}${barText} ${p.value}/${p.total}`);
  if (p.rate !== undefined && Number.isFinite(p.rate)) parts.push(`${p.rate >= 10 ? p.rate.toFixed(0) : p.rate.toPrecision(2)} ${p.unit ?? "steps/s"}`);
  const eta = fmtEta(p.eta ?? NaN);
  if (eta) parts.push(`ETA ${eta}${p.etaOf ? ` (${p.etaOf})` : ""}`);
  for (const [k, v] of Object.entries(p.fields ?? {})) if (v !== "") parts.push(`${k} ${v}`);
  return parts.join(" | ");
}

/**
 * Rate and time left of a counter, timed from the first value it sees (a resumed run starts past 0, and only what
 * follows is timed). The rate is measured over windows of at least `windowS` seconds; the ETA uses the mean rate
 * since the first value.
 */
export class Meter {
  private first = NaN;
  private t0 = 0;
  private last = { t: 0, value: 0 };
  private windowRate = NaN;
  private latest = NaN;
  private tLatest = 0;

  constructor(private readonly now: () => number = () => performance.now(), private readonly windowS = 1) {}

  /** Records that `value` is reached now. */
  observe(value: number): void {
    const t = this.now();
    if (Number.isNaN(this.first)) {
      this.first = value;
      this.t0 = t;
      this.last = { t, value };
    } else if (t - this.last.t >= this.windowS * 1000) {
      this.windowRate = ((value - this.last.value) * 1000) / (t - this.last.t);
      this.last = { t, value };
    }
    this.latest = value;
    this.tLatest = t;
  }

  /** Units per second over the last window (before a window has passed: the mean since the first value; NaN before progress). */
  rate(): number {
    if (Number.isFinite(this.windowRate)) return this.windowRate;
    const done = this.latest - this.first;
    return done > 0 && this.tLatest > this.t0 ? (done * 1000) / (this.tLatest - this.t0) : NaN;
  }

  /** Seconds until `total`, from the mean rate since the first value (NaN before any progress). */
  eta(total: number): number {
    const done = this.latest - this.first;
    if (!(done > 0)) return NaN;
    return ((total - this.latest) * (this.tLatest - this.t0)) / 1000 / done;
  }
}

/**
 * One status line on `out`. On a terminal `set` redraws it in place (at most every `redrawMs`, and always when
 * `final`), cut to the terminal's width; `log` prints a message on a clean line and redraws the status under it;
 * `clear` erases it. Elsewhere `set` prints the text as a line at most every `everyS` seconds (and when `final`),
 * `log` prints the message, and `clear` does nothing.
 */
export class StatusLine {
  private text = "";
  private shown = false;
  private lastDraw = -Infinity;

  constructor(
    private readonly out: StatusOutput,
    private readonly everyS = 5,
    private readonly now: () => number = () => performance.now(),
    private readonly redrawMs = 100,
  ) {}

  /** True when the output is a terminal (the line is redrawn in place). */
  get tty(): boolean {
    return this.out.columns !== undefined;
  }

  /** Shows `text` as the status (throttled; `final`: now). */
  set(text: string, final = false): void {
    this.text = text;
    const t = this.now();
    if (!final && t - this.lastDraw < (this.tty ? this.redrawMs : this.everyS * 1000)) return;
    this.lastDraw = t;
    if (this.tty) this.draw();
    else this.out.write(text + "\n");
  }

  /** Prints `message` (one or more lines) on clean lines, keeping the status under it on a terminal. */
  log(message: string): void {
    if (!this.tty) {
      this.out.write(message + "\n");
      return;
    }
    this.out.write((this.shown ? "\r\x1b[K" : "") + message + "\n");
    this.shown = false;
    if (this.text) this.draw();
  }

  /** Erases the status (terminal) and forgets it. */
  clear(): void {
    if (this.tty && this.shown) this.out.write("\r\x1b[K");
    this.shown = false;
    this.text = "";
  }

  private draw(): void {
    const width = Math.max(20, (this.out.columns ?? 80) - 1);
    const line = [...this.text].length > width ? [...this.text].slice(0, width - 1).join("") + "…" : this.text;
    this.out.write("\r" + line + "\x1b[K");
    this.shown = true;
  }
}

/** A progress bar over one counter on a status line: `update(value, fields)` shows value/total, its rate and ETA. */
export class ProgressBar {
  private readonly meter: Meter;

  constructor(private readonly status: StatusLine, private readonly label: string, private readonly total: number, now?: () => number) {
    this.meter = new Meter(now);
  }

  /** Shows `value` of the total with `fields`; `eta` replaces the counter's own ETA (`s` seconds of what `of` names, e.g. a whole sweep's). */
  update(value: number, fields: Record<string, string> = {}, eta?: { s: number; of: string }): void {
    this.meter.observe(value);
    const left = value >= this.total ? NaN : eta ? eta.s : this.meter.eta(this.total); // nothing left to wait for at the end
    const p: ProgressState = { label: this.label, value, total: this.total, rate: this.meter.rate(), eta: left, etaOf: eta?.of, fields };
    this.status.set(progressText(p, this.status.tty ? 20 : 0), value >= this.total);
  }
}

/** The status line of a command: on its stderr, redrawn in place when stderr is a terminal. */
export function commandStatus(ctx: { stderr(text: string): void; readonly stderrColumns?: number }): StatusLine {
  return new StatusLine({ write: (t) => ctx.stderr(t), get columns() { return ctx.stderrColumns; } });
}

/**
 * A sweep's progress on the command's status line: one bar (the current run's steps with one worker, all runs'
 * steps with several) whose one ETA is the whole sweep's (cost-weighted, this invocation's work only), and a message
 * line per run started, finished or skipped.
 */
export class SweepProgress {
  private done = 0;
  private readonly t0: number;
  /** Runs in progress; step0 = the first step seen in this invocation (a resumed run's earlier steps are not timed here). */
  private readonly active = new Map<string, { step: number; step0?: number; steps: number; loss: number; val: number }>();
  private readonly finished = new Set<string>();
  private doneCost = 0;
  private skippedCost = 0;
  private bar?: ProgressBar;
  private barId?: string;

  constructor(
    private readonly runs: Map<string, { cost: number; steps: number }>,
    private readonly total: number,
    private readonly workers: number,
    private readonly status: StatusLine,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.t0 = now();
  }

  private activeCost(): number {
    let c = 0;
    for (const [id, a] of this.active) c += ((this.runs.get(id)?.cost ?? 0) * (a.step - (a.step0 ?? a.step))) / Math.max(1, a.steps);
    return c;
  }

  /** Seconds left for the whole sweep (this invocation), from the cost done so far. */
  eta(): number {
    const todo = [...this.runs.values()].reduce((s, r) => s + r.cost, 0) - this.skippedCost;
    const done = this.doneCost + this.activeCost();
    if (done <= 0) return NaN;
    return ((this.now() - this.t0) / 1000) * Math.max(0, todo - done) / done;
  }

  private dropBar(): void {
    this.status.clear();
    this.bar = undefined;
    this.barId = undefined;
  }

  /** Updates the counts and the status line for one sweep event. */
  handle(e: SweepEvent): void {
    if (e.type === "start") {
      this.active.set(e.id, { step: 0, steps: e.steps, loss: NaN, val: NaN });
      if (this.workers <= 1) this.dropBar();
      this.status.log(`[${this.done + this.active.size}/${this.total}] ${e.resumed ? "resuming" : "training"} ${e.id}`);
    } else if (e.type === "progress") {
      const a = this.active.get(e.id);
      if (a) {
        if (a.step0 === undefined) {
          // what a resumed run did before this invocation counts as skipped, not as done in this invocation's time
          a.step0 = e.step;
          this.skippedCost += ((this.runs.get(e.id)?.cost ?? 0) * e.step) / Math.max(1, e.steps);
        }
        Object.assign(a, { step: e.step, steps: e.steps, loss: e.loss, val: e.val_loss });
      }
      const runsDone = this.total > 1 ? `${this.done}/${this.total} done` : "";
      if (this.workers <= 1 && this.active.size <= 1) {
        if (this.barId !== e.id) {
          this.bar = new ProgressBar(this.status, this.total > 1 ? `run ${this.done + 1}/${this.total}` : "run", e.steps, this.now);
          this.barId = e.id;
        }
        this.bar!.update(e.step, { loss: e.loss.toExponential(2), val: Number.isNaN(e.val_loss) ? "" : e.val_loss.toExponential(2), runs: runsDone }, { s: this.eta(), of: this.total > 1 ? "all runs" : "" });
      } else {
        // several workers, or a run group (several runs active in one process): one bar over every run's steps
        if (!this.bar || this.barId !== "*") {
          this.bar = new ProgressBar(this.status, "steps", [...this.runs.values()].reduce((s, r) => s + r.steps, 0), this.now);
          this.barId = "*";
        }
        let value = 0;
        for (const [id, r] of this.runs) value += this.finished.has(id) ? r.steps : this.active.get(id)?.step ?? 0;
        const cur = [...this.active.entries()].map(([id, x]) => `${id.replace(/-[0-9a-f]{10}$/, "")} ${Math.round((100 * x.step) / Math.max(1, x.steps))}%`).join(", ");
        this.bar.update(value, { runs: runsDone, active: cur }, { s: this.eta(), of: "" });
      }
    } else if (e.type === "done") {
      const a = this.active.get(e.id);
      this.active.delete(e.id);
      this.finished.add(e.id);
      this.done++;
      if (e.skipped) this.skippedCost += this.runs.get(e.id)?.cost ?? 0;
      else {
        // the part before a resume was counted as skipped at its first progress event
        const cost = this.runs.get(e.id)?.cost ?? 0;
        this.doneCost += a?.step0 !== undefined ? (cost * (a.steps - a.step0)) / Math.max(1, a.steps) : cost;
      }
      if (this.workers <= 1) this.dropBar();
      if (e.skipped) this.status.log(`[${this.done}/${this.total}] ${e.id}: finished earlier, skipped`);
      else {
        const eta = fmtEta(this.eta());
        this.status.log(`[${this.done}/${this.total}] ${e.id}: done in ${fmtDuration(e.elapsed_s)}, val loss ${(a?.val ?? e.val_loss).toExponential(3)}${this.done < this.total && eta ? `; ETA ${eta} for the rest` : ""}`);
      }
    } else if (e.type === "analysis-failed") {
      this.status.log(`gra reproduce: analysis of ${e.id} failed: ${e.message}`);
    }
  }

  /** Erases the bar. */
  stop(): void {
    this.dropBar();
  }
}
