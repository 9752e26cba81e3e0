// Compiles asm/kernels.ts (AssemblyScript, f32x4 SIMD) into build/kernels.wasm (imports a non-shared "env.memory")
// and build/kernels-shared.wasm (imports a shared "env.memory", for worker threads). Both builds are deterministic
// (same source -> same bytes) and import nothing but the memory, so they load in browsers as well as in Node.
// Usage: node scripts/build-wasm.mjs [--wat]   (--wat also writes the text format next to each .wasm)
import asc from "assemblyscript/asc";
import { setFlagsFromString } from "node:v8";
import { mkdir, readFile } from "node:fs/promises";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const wat = process.argv.includes("--wat");

const common = [
  "asm/kernels.ts",
  "--enable", "simd",
  "-O3",
  "--noAssert",
  "--runtime", "stub",
  "--importMemory",
  "--noExportMemory",
  // The module's own static data must fit in the first 64 KiB page; JS owns everything above (see fast.ts).
  "--initialMemory", "1",
  "--baseDir", root,
];

const targets = [
  { out: "build/kernels.wasm", extra: [] },
  // A shared memory needs the threads feature and a declared maximum: 65536 pages (4 GiB) accepts any imported size.
  { out: "build/kernels-shared.wasm", extra: ["--enable", "threads", "--sharedMemory", "--maximumMemory", "65536"] },
  // Relaxed SIMD: every f32x4 multiply-add becomes one fused relaxed_madd (~25 % faster on the Intel machines we
  // measured; the trainer prefers these builds when the engine accepts them, see src/kernels/factory.ts).
  { out: "build/kernels-relaxed.wasm", extra: ["--enable", "relaxed-simd"] },
  { out: "build/kernels-relaxed-shared.wasm", extra: ["--enable", "relaxed-simd", "--enable", "threads", "--sharedMemory", "--maximumMemory", "65536"] },
];
// Node 20 validates relaxed-SIMD modules only behind this flag (newer engines ship the feature).
setFlagsFromString("--experimental-wasm-relaxed-simd");

await mkdir(join(root, "build"), { recursive: true });
for (const t of targets) {
  const args = [...common, ...t.extra, "--outFile", t.out];
  if (wat) args.push("--textFile", t.out.replace(/\.wasm$/, ".wat"));
  const { error, stderr } = await asc.main(args);
  if (error) {
    console.error(stderr.toString());
    console.error(`build-wasm: ${t.out} failed: ${error.message}`);
    process.exit(1);
  }
  const bytes = await readFile(join(root, t.out));
  const mod = new WebAssembly.Module(bytes);
  const imports = WebAssembly.Module.imports(mod).map((i) => `${i.module}.${i.name}`);
  if (imports.length !== 1 || imports[0] !== "env.memory") {
    console.error(`build-wasm: ${t.out} must import only env.memory, imports [${imports.join(", ")}]`);
    process.exit(1);
  }
  console.log(`build-wasm: ${relative(process.cwd(), join(root, t.out)) || t.out} (${bytes.length} bytes)`);
}
