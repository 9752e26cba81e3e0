// Builds the relaxed-SIMD variant of the fast kernels next to the default ones: build/kernels-relaxed-shared.wasm
// (and build/kernels-relaxed.wasm), asm/kernels.ts compiled with `--enable relaxed-simd`, so every f32x4 multiply-add
// is one fused f32x4.relaxed_madd. The trainer (src/train/parallel.ts) prefers it when it exists and the engine
// accepts relaxed SIMD (Node 20: after turning on V8's --experimental-wasm-relaxed-simd, which the trainer does).
// Same flags as scripts/build-wasm.mjs otherwise. Usage: node bench/build-relaxed.mjs
import asc from "assemblyscript/asc";
import { mkdir, readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const common = [
  "asm/kernels.ts", "--enable", "simd", "--enable", "relaxed-simd", "-O3", "--noAssert", "--runtime", "stub",
  "--importMemory", "--noExportMemory", "--initialMemory", "1", "--baseDir", root,
];
const targets = [
  { out: "build/kernels-relaxed.wasm", extra: [] },
  { out: "build/kernels-relaxed-shared.wasm", extra: ["--enable", "threads", "--sharedMemory", "--maximumMemory", "65536"] },
];
await mkdir(join(root, "build"), { recursive: true });
for (const t of targets) {
  const { error, stderr } = await asc.main([...common, ...t.extra, "--outFile", t.out]);
  if (error) {
    console.error(stderr.toString());
    console.error(`build-relaxed: ${t.out} failed: ${error.message}`);
    process.exit(1);
  }
  console.log(`build-relaxed: ${t.out} (${(await readFile(join(root, t.out))).length} bytes)`);
}
