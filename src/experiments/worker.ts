/**
 * A local sweep worker process (forked by runWorkers in sweep.ts): receives `{type: "run", runs, out, threads}`,
 * runs them one after another with the fast kernels, and sends every SweepEvent to the parent, then
 * `{type: "finished", ok}` (ok = false when interrupted) or `{type: "error", message}`. `{type: "abort"}` (or
 * SIGINT/SIGTERM) makes the current run write its checkpoint and the worker stop.
 */
import { kernelsForRun } from "../kernels/factory.ts";
import { runSequential } from "./sweep.ts";
import type { RunSpec } from "./types.ts";

const ac = new AbortController();
process.on("SIGINT", () => ac.abort());
process.on("SIGTERM", () => ac.abort());

process.on("message", (m: { type: string; runs?: RunSpec[]; out?: string; threads?: number; groupSize?: number }) => {
  if (m.type === "abort") {
    ac.abort();
    return;
  }
  if (m.type !== "run") return;
  const send = (msg: unknown) => new Promise<void>((r) => (process.connected ? process.send!(msg, () => r()) : r()));
  let lastProgress = 0;
  runSequential(m.runs!, {
    out: m.out!,
    threads: m.threads,
    groupSize: m.groupSize,
    signal: ac.signal,
    kernels: kernelsForRun,
    onEvent(e) {
      if (e.type === "progress") {
        const now = performance.now();
        if (now - lastProgress < 250 && e.step < e.steps) return; // keep IPC light
        lastProgress = now;
      }
      void send(e);
    },
  }).then(
    async (ok) => {
      await send({ type: "finished", ok });
      process.disconnect();
    },
    async (e: Error) => {
      await send({ type: "error", message: e.message });
      process.disconnect();
    },
  );
});
