/**
 * Shared set-up of the browser tests: builds the page, writes a small runs directory (a training run, a
 * reproduction), starts `gra serve`'s server on a free port and launches Debian's Chromium through playwright-core.
 */
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type { Browser, Page } from "playwright-core";
import { chromium } from "playwright-core";
import { kernelsFor } from "../../src/kernels/factory.ts";
import { constructGatedRnn } from "../../src/constructions/gated-rnn.ts";
import { collectAll, executePlan, planRuns, writePlan } from "../../src/experiments/driver.ts";
import { getPreset } from "../../src/experiments/presets.ts";
import type { Preset } from "../../src/experiments/types.ts";
import { paramsToSafetensors } from "../../src/io/safetensors.ts";
import { attention, attentionConfig } from "../../src/models/attention.ts";
import { Rng } from "../../src/rng.ts";
import { startWebServer } from "../../src/serve/server.ts";

/** The package root. */
export const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
/** Where screenshots go (gitignored; CI keeps them as artefacts). */
export const artifacts = join(root, "test-artifacts");
/** The built page. */
export const webDist = join(root, "web-dist");

/** Chromium's path: $CHROMIUM_PATH or Debian's /usr/bin/chromium. */
export const chromiumPath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/** The flags every browser test starts Chromium with (this machine's closed network needs the background ones off). */
export const chromiumArgs = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"];

/** Runs scripts/build-web.mjs (fresh web-dist/ for the tests). */
export async function buildWeb(): Promise<void> {
  await promisify(execFile)(process.execPath, [join(root, "scripts", "build-web.mjs")], { cwd: root });
}

/**
 * A real `gra reproduce table1 --scale quick --out DIR` in miniature: the quick Table 1 run cut to `steps` steps (plan,
 * run directory with analysis, results, the report and its figures), written as the CLI writes them (~10 s on 1 core).
 */
export async function makeReproduction(dir: string, steps = 300): Promise<void> {
  const t1 = getPreset("table1");
  const tiny: Preset = { ...t1, runs: (s) => t1.runs(s).map((r) => ({ ...r, config: { ...r.config, steps, eval_every: 100 } })) };
  const { all } = planRuns([tiny], "quick");
  await writePlan(dir, [tiny], "quick", all, 1);
  await executePlan(all, { out: dir, scale: "quick", kernels: () => kernelsFor("f32") });
  await collectAll([tiny], "quick", dir);
}

/**
 * A runs directory: ts-demo (config, metrics, summary, model and teacher weights), repro/table1 (a hand-made
 * reproduction with a `*.figure.json`), table1-quick (a real miniature reproduction: its plan, its run and its
 * results), construct-d4 (a `gra construct` output), broken-run (a corrupt model.safetensors), and what must not be
 * listed: node_modules/ and a folder of screenshots.
 */
export async function makeRunsDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "gra-runs-"));
  const run = join(dir, "ts-demo");
  await mkdir(run);
  const att = attention.init(Rng.fromSeed(3), attentionConfig({ d: 4 }), "f64");
  const rnn = constructGatedRnn({ d: 4, W_V: att.tensors.W_V.data, W_K: att.tensors.W_K.data, W_Q: att.tensors.W_Q.data }, "compact");
  await writeFile(join(run, "config.json"), JSON.stringify({ task: "teacher-student", task_config: { d: 4, T: 32 }, model: "gated-rnn", model_config: { hidden: 14, output_gating: 16 }, steps: 2000, batch: 64, lr: 1e-3 }, null, 2));
  const lines = [];
  for (let s = 100; s <= 2000; s += 100) lines.push(JSON.stringify({ step: s, loss: 3 * Math.exp(-s / 300) + 1e-4, val_loss: 3.2 * Math.exp(-s / 300) + 1e-4, lr: 1e-3 * (0.5 + 0.5 * Math.cos((Math.PI * s) / 2000)), elapsed_s: s / 50 }));
  await writeFile(join(run, "metrics.jsonl"), lines.join("\n") + "\n");
  await writeFile(join(run, "summary.json"), JSON.stringify({ step: 2000, steps: 2000, loss: 1.2e-4, val_loss: 1.3e-4, zero_val_loss: 3.1, elapsed_s: 40 }));
  await writeFile(join(run, "model.safetensors"), paramsToSafetensors(rnn));
  await writeFile(join(run, "attention.safetensors"), paramsToSafetensors(att));
  // a reproduction laid out like `gra reproduce` writes it: results.json, figures/<name>.svg, report.html
  const repro = join(dir, "repro", "table1");
  await mkdir(join(repro, "figures"), { recursive: true });
  await writeFile(join(repro, "results.json"), JSON.stringify({
    preset: "table1", scale: "quick", deviations: ["20000 steps instead of 1M"],
    numbers: { loss: 3.1e-5, polynomial_distance: 2.2e-3 },
    tables: [{ title: "Table 1 (teacher-student)", columns: ["quantity", "paper", "ours"], rows: [["loss", 4.97e-8, 3.1e-5], ["memory neurons", 10, 12]], note: "quick scale" }],
    notes: [],
  }));
  await writeFile(join(repro, "report.html"), "<!doctype html><title>report</title><p>report</p>");
  await writeFile(join(repro, "loss-vs-size.figure.json"), JSON.stringify({
    title: "validation loss vs hidden size", x: { label: "hidden neurons", log: true }, y: { label: "validation loss", log: true },
    series: [{ name: "gated RNN", x: [8, 16, 32, 64, 128], y: [0.3, 0.05, 1e-3, 2e-6, 1e-7] }, { name: "LSTM", x: [8, 16, 32, 64, 128], y: [0.5, 0.2, 0.08, 0.03, 0.02] }],
  }));
  await writeFile(join(repro, "figures", "fig2.svg"), `<svg xmlns="http://www.w3.org/2000/svg" width="220" height="80"><rect width="220" height="80" fill="#eef4fb"/><text x="12" y="44" font-family="sans-serif" font-size="14">figures/fig2.svg</text></svg>`);
  await writeFile(join(repro, "figures", "fig2.png"), new Uint8Array([137, 80, 78, 71]));
  await makeReproduction(join(dir, "table1-quick"));
  await mkdir(join(dir, "broken-run"));
  await writeFile(join(dir, "broken-run", "config.json"), JSON.stringify({ task: "teacher-student", model: "gated-rnn" }));
  await writeFile(join(dir, "broken-run", "model.safetensors"), "garbage!garbage!");
  await mkdir(join(dir, "construct-d4"));
  await writeFile(join(dir, "construct-d4", "model.safetensors"), paramsToSafetensors(rnn));
  await writeFile(join(dir, "construct-d4", "attention.safetensors"), paramsToSafetensors(att));
  for (const junk of [join(dir, "node_modules", "playwright-core", "lib"), join(dir, "screenshots")]) {
    await mkdir(junk, { recursive: true });
    await writeFile(join(junk, "appIcon.png"), new Uint8Array([137, 80, 78, 71]));
    await writeFile(join(junk, "index.html"), "<!doctype html><p>not a run</p>");
  }
  return dir;
}

/** Starts the page's server (web-dist + runs) on a free port. */
export async function serve(runsDir?: string): Promise<{ url: string; close(): Promise<void> }> {
  const { server, url } = await startWebServer({ webRoot: webDist, runsDir, port: 0 });
  return {
    url,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}

/** Launches Chromium headless. */
export function launch(): Promise<Browser> {
  return chromium.launch({ executablePath: chromiumPath, args: chromiumArgs, headless: true });
}

/** A new page that records uncaught page errors and console errors into `errors`. */
export async function newPage(browser: Browser, errors: string[]): Promise<Page> {
  const ctx = await browser.newContext({ viewport: { width: 1360, height: 900 }, deviceScaleFactor: 1 });
  const page = await ctx.newPage();
  page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(`console: ${m.text()}`);
  });
  return page;
}

/** Screenshot path in test-artifacts/ (directory created on demand). */
export async function shot(name: string): Promise<string> {
  await mkdir(artifacts, { recursive: true });
  return join(artifacts, name);
}
