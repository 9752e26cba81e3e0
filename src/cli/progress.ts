/**
 * Progress for long work: on a terminal a cli-progress bar (step, steps/s, ETA, loss, val loss); otherwise (CI, logs,
 * pipes) one plain line every few seconds. Both are driven by the same `update` calls.
 */
import cliProgress from "cli-progress";

export interface ProgressView {
  /** Report progress: `value` of `total` done, plus named payload fields shown after the bar. */
  update(value: number, payload: Record<string, string>): void;
  stop(): void;
}

/**
 * A progress view on stream `out`: a bar when it is a TTY, throttled plain lines (every `everyS` s) otherwise, whose
 * ETA = (total - value) · elapsed / (value - first value reported) (`now`: the clock in ms).
 */
export function progressView(
  total: number, label: string, out: NodeJS.WriteStream = process.stderr, everyS = 5, now: () => number = () => performance.now(),
): ProgressView {
  if (out.isTTY) {
    const bar = new cliProgress.SingleBar(
      {
        stream: out,
        format: `${label} {bar} {value}/{total} | {rate} | ETA {eta_formatted} | {info}`,
        hideCursor: true,
        etaBuffer: 200,
        fps: 5,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, 0, { rate: "", info: "" });
    return {
      update(value, payload) {
        bar.update(value, { rate: payload.rate ?? "", info: Object.entries(payload).filter(([k]) => k !== "rate").map(([k, v]) => `${k} ${v}`).join(" | ") });
      },
      stop: () => bar.stop(),
    };
  }
  let last = 0;
  let t0 = 0;
  let first = NaN; // the first value reported: a resumed run starts past 0, and only what follows is timed
  return {
    update(value, payload) {
      const t = now();
      if (Number.isNaN(first)) {
        first = value;
        t0 = t;
      }
      if (t - last < everyS * 1000 && value < total) return;
      last = t;
      const elapsed = (t - t0) / 1000;
      const eta = value > first ? ((total - value) * elapsed) / (value - first) : NaN;
      const info = Object.entries(payload).map(([k, v]) => `${k} ${v}`).join(" | ");
      out.write(`${label} ${value}/${total} | ETA ${Number.isFinite(eta) ? `${eta.toFixed(0)}s` : "?"} | ${info}\n`);
    },
    stop() {},
  };
}
