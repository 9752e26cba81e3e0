// The 128-bit SIMD ceiling of this machine as V8 runs it: twelve independent chains of f32x4 fused multiply-adds
// (relaxed_madd, no memory traffic) in a module compiled here with AssemblyScript, timed for ~1 s. What the kernels'
// GFLOP/s should be read against (docs: README, Performance). Usage: node scripts/fma-peak.mjs
import asc from "assemblyscript/asc";
import { setFlagsFromString } from "node:v8";

setFlagsFromString("--experimental-wasm-relaxed-simd"); // Node 20 validates relaxed SIMD only behind this flag
const chains = 12;
const decl = Array.from({ length: chains }, (_, i) => `let a${i} = f32x4.splat(s + ${i});`).join("\n  ");
const body = Array.from({ length: chains }, (_, i) => `a${i} = f32x4.relaxed_madd(a${i}, m, c);`).join("\n    ");
const sum = Array.from({ length: chains }, (_, i) => `a${i}`).reduce((x, y) => `f32x4.add(${x}, ${y})`);
const source = `export function peak(iters: i32, s: f32): f32 {
  ${decl}
  const m = f32x4.splat(0.9999), c = f32x4.splat(0.0001);
  for (let i = 0; i < iters; i++) {
    ${body}
  }
  return f32x4.extract_lane(${sum}, 0);
}`;
const { binary, stderr } = await asc.compileString(source, { optimizeLevel: 3, runtime: "stub", enable: ["simd", "relaxed-simd"] });
if (!binary) throw new Error(`fma-peak: compile failed: ${stderr.toString()}`);
const { instance } = await WebAssembly.instantiate(binary, { env: { abort() {} } });
const peak = instance.exports.peak;
peak(1e6, 1); // warm up (tier-up)
const best = [];
for (let r = 0; r < 5; r++) {
  const n = 2e7;
  const t0 = performance.now();
  peak(n, 1);
  best.push((n * chains * 8) / (performance.now() - t0) / 1e6);
}
console.log(`f32x4 FMA peak, one thread: ${Math.max(...best).toFixed(1)} GFLOP/s (best of 5; 8 FLOP per relaxed_madd)`);
