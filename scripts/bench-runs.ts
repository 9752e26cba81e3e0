/**
 * Run groups vs separate runs (issue 12): one forward + backward (forwardCached, backward; dy fixed, no loss or
 * AdamW) of R runs of a model at teacher-student dims (d = 4, T = 32, B = 64 per run) on the fast kernels, either as
 * R separate passes (one kernel call per run) or as one pass over the group (Params.runs = R, one call per kernel),
 * each optionally cut into S shards of B/S sequences (the trainer's minimum is 2). Prints ms per run (the minimum over
 * interleaved single steps: robust to other load on the machine) and the group's speed-up, plus the kernel-call count of one pass and the
 * wasm time of those calls alone, and the time of a step whose wasm exports are no-ops (the JavaScript around the
 * kernels: wrappers, argument checks, JS loops, allocation).
 * Usage: node --import tsx scripts/bench-runs.ts [--runs 8] [--hidden 8,24] [--model gated-rnn] [--samples 200]
 *        [--relaxed]   (needs `npm run build:wasm`)
 */
import { readFileSync } from "node:fs";
import { setFlagsFromString } from "node:v8";
import { createFastKernelsSync } from "../src/kernels/fast.ts";
import type { FastKernels } from "../src/kernels/fast.ts";
import { fastKernelsWasmPath, loadFastKernelsSync } from "../src/kernels/node.ts";
import { stackRuns } from "../src/models/common.ts";
import { getFamily } from "../src/models/registry.ts";
import type { ModelFamily, Params } from "../src/models/types.ts";
import { Rng } from "../src/rng.ts";

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : dflt;
}
const R = Number(arg("--runs", "8"));
const hiddens = arg("--hidden", "8,24").split(",").map(Number);
const model = arg("--model", "gated-rnn");
const samples = Number(arg("--samples", "200"));
const relaxed = process.argv.includes("--relaxed");
const D = 4;
const T = 32;
const B = 64;

// The instance's exports object is frozen: create the kernels over an instance whose `exports` is a plain copy, so
// that profile() can wrap each export with a counter and a clock (and put the original back).
const RealInstance = WebAssembly.Instance;
(WebAssembly as { Instance: unknown }).Instance = class extends RealInstance {
  constructor(m: WebAssembly.Module, i?: WebAssembly.Imports) {
    super(m, i);
    Object.defineProperty(this, "exports", { value: { ...super.exports } });
  }
};
let K: FastKernels;
if (relaxed) {
  setFlagsFromString("--experimental-wasm-relaxed-simd");
  const bytes = readFileSync(fastKernelsWasmPath().replace(/kernels\.wasm$/, "kernels-relaxed.wasm"));
  K = createFastKernelsSync(new WebAssembly.Module(bytes), { memoryBytes: 256 * 1024 * 1024 });
} else {
  K = loadFastKernelsSync({ memoryBytes: 256 * 1024 * 1024 });
}
(WebAssembly as { Instance: unknown }).Instance = RealInstance;

/** Params and data of a pass: params in the arena (zero copy), x [R·B, T, d] and dy there too. */
interface Setup {
  fam: ModelFamily;
  alone: Params[];
  group: Params;
  x: Float32Array;
  dy: Float32Array;
  dOut: number;
}

function inArena(p: Params): Params {
  const tensors: Params["tensors"] = {};
  for (const [n, t] of Object.entries(p.tensors)) {
    const d = K.alloc(t.data.length);
    d.set(t.data);
    tensors[n] = { shape: t.shape, data: d };
  }
  return { ...p, tensors };
}

function setup(hidden: number): Setup {
  const fam = getFamily(model);
  const cfg = model.startsWith("gated-rnn")
    ? { d_in: D, hidden, output_gating: hidden, d_out: D }
    : { d_in: D, hidden, d_out: D };
  const rng = Rng.fromSeed(hidden);
  const ps = Array.from({ length: R }, () => fam.init(rng.split(), cfg, "f32"));
  const group = inArena(stackRuns(ps));
  const alone = ps.map(inArena);
  const { dOut } = fam.dims(cfg);
  const x = rng.fillNormal(K.alloc(R * B * T * D));
  const dy = rng.fillNormal(K.alloc(R * B * T * dOut), 1e-3);
  return { fam, alone, group, x, dy, dOut };
}

/** One forward + backward of the rows [b0, b1) (per run) of `runs` runs starting at run r0, params p. */
function pass(s: Setup, p: Params, runs: number, r0: number, b0: number, b1: number): void {
  const mark = K.mark();
  try {
    const Bs = b1 - b0;
    // the shard's sequences of each run, contiguous per run: [runs, Bs, T, d]
    let x: Float32Array;
    let dy: Float32Array;
    if (runs === 1) {
      const o = (r0 * B + b0) * T;
      x = s.x.subarray(o * D, (o + Bs * T) * D);
      dy = s.dy.subarray(o * s.dOut, (o + Bs * T) * s.dOut);
    } else if (Bs === B) {
      x = s.x;
      dy = s.dy;
    } else {
      x = K.allocUninit(runs * Bs * T * D);
      dy = K.allocUninit(runs * Bs * T * s.dOut);
      for (let r = 0; r < runs; r++) {
        const o = (r * B + b0) * T;
        x.set(s.x.subarray(o * D, (o + Bs * T) * D), r * Bs * T * D);
        dy.set(s.dy.subarray(o * s.dOut, (o + Bs * T) * s.dOut), r * Bs * T * s.dOut);
      }
    }
    const { cache } = s.fam.forwardCached!(p, { shape: [runs * Bs, T, D], data: x }, K);
    s.fam.backward!(p, cache, dy, K);
  } finally {
    K.release(mark);
  }
}

/** R runs alone (R passes per shard) or as one group (one pass per shard), S shards each. */
function step(s: Setup, grouped: boolean, shards: number): void {
  for (let sh = 0; sh < shards; sh++) {
    const b0 = Math.floor((sh * B) / shards);
    const b1 = Math.floor(((sh + 1) * B) / shards);
    if (grouped) pass(s, s.group, R, 0, b0, b1);
    else for (let r = 0; r < R; r++) pass(s, s.alone[r], 1, r, b0, b1);
  }
}

/** Wall time of one call of fn (ms). */
function timeOnce(fn: () => void): number {
  const t0 = performance.now();
  fn();
  return performance.now() - t0;
}

/** Kernel calls of one step and their wasm time alone (total and per export): each raw export wrapped with a clock. */
function profile(s: Setup, grouped: boolean, shards: number): { calls: number; wasmMs: number; byOp: Map<string, number> } {
  const raw = K.raw as unknown as Record<string, (...a: number[]) => unknown>;
  const saved: Record<string, (...a: number[]) => unknown> = {};
  let calls = 0;
  let wasm = 0;
  let byOp = new Map<string, number>();
  for (const name of Object.keys(raw)) {
    const f = raw[name];
    if (typeof f !== "function" || name.endsWith("Work") || name === "heapBase") continue;
    saved[name] = f;
    raw[name] = (...a: number[]) => {
      const t0 = performance.now();
      const r = f(...a);
      const dt = performance.now() - t0;
      wasm += dt;
      byOp.set(name, (byOp.get(name) ?? 0) + dt);
      calls++;
      return r;
    };
  }
  try {
    let best = Infinity;
    let bestCalls = 0;
    let bestOps = byOp;
    for (let i = 0; i < samples / 4; i++) {
      calls = 0;
      wasm = 0;
      byOp = new Map();
      step(s, grouped, shards);
      if (wasm < best) {
        best = wasm;
        bestCalls = calls;
        bestOps = byOp;
      }
    }
    return { calls: bestCalls, wasmMs: best, byOp: bestOps };
  } finally {
    Object.assign(raw, saved);
  }
}

/** Min wall time per run of a step with every wasm export replaced by a no-op: the JavaScript around the kernels. */
function jsOnly(s: Setup, grouped: boolean, shards: number): number {
  const raw = K.raw as unknown as Record<string, (...a: number[]) => unknown>;
  const saved: Record<string, (...a: number[]) => unknown> = {};
  for (const name of Object.keys(raw)) {
    const f = raw[name];
    if (typeof f !== "function" || name.endsWith("Work") || name === "heapBase") continue;
    saved[name] = f;
    raw[name] = () => undefined;
  }
  try {
    let best = Infinity;
    for (let i = 0; i < 20; i++) step(s, grouped, shards);
    for (let i = 0; i < samples; i++) best = Math.min(best, timeOnce(() => step(s, grouped, shards)) / R);
    return best;
  } finally {
    Object.assign(raw, saved);
  }
}

console.log(`${model}, d=${D} T=${T} B=${B} per run, R=${R} runs, fast kernels${relaxed ? " (relaxed-SIMD build)" : ""}: ` +
  `one forward+backward, ms per run (min of ${samples} interleaved steps; wasm = the kernels' own time in a profiled step)`);
console.log("hidden | shards | alone ms/run | group ms/run | group/alone | calls alone/group | wasm ms/run alone/group | JS-only ms/run alone/group");
const breakdown: string[] = [];
for (const hidden of hiddens) {
  const s = setup(hidden);
  for (const shards of [1, 2, 4, 8]) {
    for (let i = 0; i < 20; i++) {
      step(s, false, shards);
      step(s, true, shards);
    }
    // interleaved single steps; the minimum is the time of a step that nothing else interrupted
    let alone = Infinity;
    let group = Infinity;
    for (let i = 0; i < samples; i++) {
      alone = Math.min(alone, timeOnce(() => step(s, false, shards)) / R);
      group = Math.min(group, timeOnce(() => step(s, true, shards)) / R);
    }
    const pa = profile(s, false, shards);
    const pg = profile(s, true, shards);
    console.log(
      `${String(hidden).padStart(6)} | ${String(shards).padStart(6)} | ${alone.toFixed(4).padStart(12)} | ${group.toFixed(4).padStart(12)} | ` +
        `${(group / alone).toFixed(2).padStart(11)} | ${String(pa.calls).padStart(8)}/${String(pg.calls).padEnd(8)} | ` +
        `${(pa.wasmMs / R).toFixed(4)}/${(pg.wasmMs / R).toFixed(4)} | ` +
        `${jsOnly(s, false, shards).toFixed(4)}/${jsOnly(s, true, shards).toFixed(4)}`,
    );
    if (shards === 2) {
      const ops = [...pa.byOp.keys()].sort((a, b) => pa.byOp.get(b)! - pa.byOp.get(a)!);
      breakdown.push(`hidden ${hidden}, 2 shards, wasm ms/run alone/group by export: ` +
        ops.map((o) => `${o} ${(pa.byOp.get(o)! / R).toFixed(3)}/${((pg.byOp.get(o) ?? 0) / R).toFixed(3)}`).join(", "));
    }
  }
}
for (const line of breakdown) console.log(line);
