// Side-by-side timing of one training step: `gra bench --json` (this package) and bench/torch_step.py (PyTorch CPU)
// on the same configurations, interleaved config by config so both see the same machine state. Prints a Markdown
// table (and, with --json, one JSON line per measurement). Not part of CI.
//
// Usage: node bench/compare.mjs [--steps 200] [--threads 1,2] [--python /usr/bin/python3] [--only gated-rnn] [--json]
//        [--rounds 1]   (rounds > 1 repeats every measurement and keeps the best median of each)
// Runs the TypeScript sources through tsx (a dev install), else the compiled CLI (`npm run build`); and, for the PyTorch column, a python3 with torch
// (Debian: apt-get install python3-torch libopenblas0-openmp).
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const arg = (name, dflt) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : dflt;
};
const steps = Number(arg("--steps", "200"));
const rounds = Number(arg("--rounds", "1"));
const threadList = arg("--threads", "1,2").split(",").map(Number);
const python = arg("--python", existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3");
const only = arg("--only", "");
const json = process.argv.includes("--json");

const configs = [
  { task: "teacher-student", model: "gated-rnn", what: "gated RNN, teacher-student (d=4, T=32, B=64, 100/100)" },
  { task: "icl-regression", model: "gated-rnn", what: "gated RNN, in-context regression (T=13, B=64, 80/80)" },
  { task: "teacher-student", model: "lstm", what: "LSTM 100, teacher-student" },
  { task: "teacher-student", model: "gru", what: "GRU 100, teacher-student" },
  { task: "teacher-student", model: "lru", what: "LRU (Out) 100, teacher-student" },
].filter((c) => !only || c.model === only || c.task === only);

// the TypeScript sources through tsx when it is installed (always current), else the compiled CLI
const gra = existsSync(join(root, "node_modules/tsx")) ? ["--import", "tsx", "src/cli/main.ts"] : ["bin/gra.js"];
const torchEnv = { ...process.env, MALLOC_MMAP_THRESHOLD_: "268435456", MALLOC_TRIM_THRESHOLD_: "268435456" };

function ours(c, threads) {
  const out = execFileSync(process.execPath, [...gra, "bench", "--task", c.task, "--model", c.model, "--threads", String(threads), "--steps", String(steps), "--json"], { cwd: root, encoding: "utf8" });
  return JSON.parse(out.trim().split("\n").pop());
}
function torch(c, threads, flops) {
  try {
    const out = execFileSync(python, ["bench/torch_step.py", "--task", c.task, "--model", c.model, "--threads", String(threads), "--steps", String(steps), "--flops", String(flops), "--json"], { cwd: root, encoding: "utf8", env: torchEnv });
    return JSON.parse(out.trim().split("\n").pop());
  } catch (e) {
    return { error: String(e.message).split("\n")[0] };
  }
}
const better = (a, b) => (!a || (b && !b.error && b.ms_per_step < a.ms_per_step) ? b : a);

let model = cpus()[0]?.model ?? "unknown";
try {
  model = readFileSync("/proc/cpuinfo", "utf8").match(/model name\s*:\s*(.*)/)?.[1] ?? model;
} catch {}
const load0 = loadavg()[0];
const rows = [];
for (const c of configs) {
  for (const threads of threadList) {
    let a, b;
    for (let r = 0; r < rounds; r++) {
      a = better(a, ours(c, threads));
      b = better(b, torch(c, threads, a.flops));
    }
    rows.push({ c, threads, a, b });
    if (json) {
      console.log(JSON.stringify({ impl: "gra", ...a }));
      console.log(JSON.stringify({ impl: "pytorch", ...b }));
    }
  }
}
const load1 = loadavg()[0];
const f = (x, d = 2) => (x === undefined || x === null ? "-" : Number(x).toFixed(d));
console.log(`\n${model}, ${cpus().length} logical CPUs, Node ${process.version}, ${rows[0]?.b?.version ? `PyTorch ${rows[0].b.version}` : "PyTorch unavailable"}; ` +
  `median of ${steps} steps${rounds > 1 ? `, best of ${rounds} rounds` : ""}; load average ${load0.toFixed(2)} -> ${load1.toFixed(2)}; kernels ${rows[0]?.a.kernels}\n`);
console.log("| configuration | threads | MFLOP/step | gra ms/step | gra GFLOP/s/core | gra RSS MB | data ms/batch | PyTorch ms/step | PyTorch RSS MB | gra / PyTorch |");
console.log("|---|---|---|---|---|---|---|---|---|---|");
for (const { c, threads, a, b } of rows) {
  const ratio = b && !b.error ? f(a.ms_per_step / b.ms_per_step) : "-";
  console.log(`| ${c.what} | ${threads} | ${f(a.flops / 1e6, 1)} | ${f(a.ms_per_step)} | ${f(a.gflops_per_core, 1)} | ${f(a.rss_mb, 0)} | ${f(a.data_ms)} | ${b?.error ? "error" : f(b?.ms_per_step)} | ${b?.error ? "-" : f(b?.rss_mb, 0)} | ${ratio} |`);
}
