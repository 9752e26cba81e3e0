/**
 * Micro-benchmark of the fast kernels' matrix products (arena buffers, zero copy), printing GFLOP/s = 2·m·k·n / time
 * (gate: 4·m·k·n) for the best and the median of `--runs` timed runs (the best is robust to other load on the machine).
 * Usage: node --import tsx scripts/bench-kernels.ts [--ms 300] [--runs 7] [--shared] [--relaxed]   (needs `npm run build:wasm`
 * first; --relaxed times build/kernels-relaxed.wasm, the fused multiply-add build the trainer prefers)
 */
import { readFileSync } from "node:fs";
import { setFlagsFromString } from "node:v8";
import { createFastKernels } from "../src/kernels/fast.ts";
import { fastKernelsWasmPath, loadFastKernels } from "../src/kernels/node.ts";
import { Rng } from "../src/rng.ts";

type Op = "mm" | "mmNT" | "mmTN" | "gate";
interface Case {
  op: Op;
  m: number;
  k: number;
  n: number;
  what: string;
}

function flag(name: string, dflt: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}
const budgetMs = flag("--ms", 300);
const runs = flag("--runs", 7);

const cases: Case[] = [
  { op: "mm", m: 2048, k: 100, n: 100, what: "[2048,100]·[100,100]" },
  { op: "mmNT", m: 2048, k: 100, n: 100, what: "[2048,100]·[100,100]ᵀ" },
  { op: "mmTN", m: 100, k: 2048, n: 100, what: "[2048,100]ᵀ·[2048,100]" },
  { op: "mm", m: 2048, k: 5, n: 100, what: "[2048,5]·[5,100]" },
  { op: "mmNT", m: 2048, k: 100, n: 5, what: "[2048,100]·[5,100]ᵀ" },
  { op: "mmTN", m: 5, k: 2048, n: 100, what: "[2048,5]ᵀ·[2048,100]" },
  { op: "mm", m: 2048, k: 100, n: 4, what: "[2048,100]·[100,4]" },
  { op: "mmNT", m: 2048, k: 100, n: 4, what: "[2048,100]·[4,100]ᵀ" },
  { op: "mmTN", m: 100, k: 2048, n: 4, what: "[2048,100]ᵀ·[2048,4]" },
  { op: "gate", m: 2048, k: 100, n: 100, what: "gate [2048,100]·[100,100]ᵀ ⊙ (·)" },
];

const shared = process.argv.includes("--shared");
const relaxed = process.argv.includes("--relaxed");
if (relaxed) setFlagsFromString("--experimental-wasm-relaxed-simd"); // Node 20 validates relaxed SIMD only behind it
const K = relaxed
  ? await createFastKernels(readFileSync(fastKernelsWasmPath().replace(/kernels\.wasm$/, "kernels-relaxed.wasm")), { memoryBytes: 64 * 1024 * 1024 })
  : await loadFastKernels({ memoryBytes: 64 * 1024 * 1024, shared });
const rng = Rng.fromSeed(1);

console.log(`fast kernels (${K.name}${relaxed ? ", relaxed-SIMD build" : shared ? ", shared memory" : ""}): ${runs} runs of ~${(budgetMs / runs).toFixed(0)} ms per case; GFLOP/s best / median`);
for (const c of cases) {
  const { m, k, n } = c;
  const mark = K.mark();
  const aLen = m * k; // A[m,k], or A[k,m] for mmTN: same count
  const bLen = k * n;
  const A = rng.fillNormal(K.alloc(aLen));
  const B = rng.fillNormal(K.alloc(bLen));
  const M = rng.fillNormal(K.alloc(bLen));
  const C = K.alloc(m * n);
  const gx = K.alloc(m * n);
  const gm = K.alloc(m * n);
  const run = (): void => {
    if (c.op === "mm") K.mm(C, A, B, m, k, n);
    else if (c.op === "mmNT") K.mmNT(C, A, B, m, k, n);
    else if (c.op === "mmTN") K.mmTN(C, A, B, m, k, n);
    else K.gate(C, A, B, M, m, k, n, gx, gm);
  };
  // Calibrate the iteration count to the budget, then time `runs` runs.
  let iters = 1;
  for (;;) {
    const t0 = performance.now();
    for (let i = 0; i < iters; i++) run();
    if (performance.now() - t0 > budgetMs / runs / 2) break;
    iters *= 2;
  }
  const times: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    for (let i = 0; i < iters; i++) run();
    times.push((performance.now() - t0) / iters);
  }
  times.sort((a, b) => a - b);
  const best = times[0];
  const median = times[times.length >> 1];
  const flops = (c.op === "gate" ? 4 : 2) * m * k * n;
  const gf = (ms: number): string => (flops / ms / 1e6).toFixed(1).padStart(5);
  console.log(`${c.op.padEnd(5)} ${c.what.padEnd(36)} ${(best * 1000).toFixed(1).padStart(8)} µs  ${gf(best)} / ${gf(median)} GFLOP/s`);
  K.release(mark);
}
