// Builds the web page (web/) into web-dist/: main.js and worker.js (esbuild bundles of web/main.ts and
// web/worker.ts with the library sources they import, classic scripts so the page also opens from file://),
// index.html, style.css and kernels.wasm (copied from build/, built by `npm run build:wasm`). For file:// pages the
// worker's source is embedded in main.js and the wasm bytes in worker.js (browsers refuse workers and fetches there).
// Usage: node scripts/build-web.mjs [--out DIR]   (default web-dist/; written to DIR.tmp, then renamed)
import { build } from "esbuild";
import { copyFile, mkdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const outArg = process.argv.indexOf("--out");
const out = outArg > 0 ? resolve(process.argv[outArg + 1]) : join(root, "web-dist");
const tmp = `${out}.tmp`;
const wasmPath = join(root, "build", "kernels.wasm");

let wasm;
try {
  wasm = await readFile(wasmPath);
} catch {
  console.error(`build-web: ${relative(process.cwd(), wasmPath)} is missing: run \`npm run build:wasm\` first`);
  process.exit(1);
}

const common = {
  bundle: true,
  format: "iife",
  platform: "browser",
  target: ["es2022"],
  minify: true,
  sourcemap: false,
  write: false,
  logLevel: "warning",
  // src/kernels/factory.ts and src/train/pool.ts reach the wasm files and the worker_threads script through
  // import.meta.url only in Node; the page trains on one thread on the kernels it builds, so the empty import.meta of
  // a classic script is fine.
  logOverride: { "empty-import-meta": "silent" },
  absWorkingDir: root,
};

const t0 = performance.now();
const worker = await build({
  ...common,
  entryPoints: [join(root, "web", "worker.ts")],
  define: { __KERNELS_WASM_BASE64__: JSON.stringify(wasm.toString("base64")) },
});
const workerJs = worker.outputFiles[0].text;
const main = await build({
  ...common,
  entryPoints: [join(root, "web", "main.ts")],
  define: { __WORKER_SOURCE__: JSON.stringify(workerJs) },
});

await rm(tmp, { recursive: true, force: true });
await mkdir(tmp, { recursive: true });
await writeFile(join(tmp, "worker.js"), workerJs);
await writeFile(join(tmp, "main.js"), main.outputFiles[0].text);
await copyFile(join(root, "web", "index.html"), join(tmp, "index.html"));
await copyFile(join(root, "web", "style.css"), join(tmp, "style.css"));
await copyFile(wasmPath, join(tmp, "kernels.wasm"));
await rm(out, { recursive: true, force: true });
await rename(tmp, out);

const sizes = [];
for (const f of ["index.html", "main.js", "worker.js", "style.css", "kernels.wasm"]) sizes.push(`${f} ${((await stat(join(out, f))).size / 1024).toFixed(1)} KB`);
console.log(`build-web: ${relative(process.cwd(), out) || out} (${sizes.join(", ")}) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
