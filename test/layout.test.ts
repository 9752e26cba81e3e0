import assert from "node:assert/strict";
import { readdir, readFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { test } from "node:test";

const src = join(import.meta.dirname, "..", "src");

/** Every .ts file under dir, as paths relative to src/. */
async function files(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await files(p)));
    else if (e.name.endsWith(".ts")) out.push(relative(src, p));
  }
  return out;
}

/** The module specifiers a file imports or re-exports statically. */
function imports(text: string): string[] {
  return [...text.matchAll(/^(?:import|export)\s[^;]*?from\s+"([^"]+)"/gms)].map((m) => m[1]);
}

test("layers: nothing under src/ outside src/cli/ imports src/cli/; the training path and the kernel factory import no node: module", async () => {
  const all = await files(src);
  const offenders: string[] = [];
  for (const f of all.filter((f) => !f.startsWith("cli/"))) {
    for (const spec of imports(await readFile(join(src, f), "utf8"))) if (/(^|\/)cli\//.test(spec)) offenders.push(`${f} -> ${spec}`);
  }
  assert.deepEqual(offenders, []);
  // imported by the web page's worker (Node is reached through process.getBuiltinModule at run time only)
  const neutral = ["kernels/factory.ts", "train/loop.ts", "train/engine.ts", "train/pool.ts", "train/shards.ts", "train/loss.ts", "train/adamw.ts"];
  for (const f of neutral) {
    const nodeImports = imports(await readFile(join(src, f), "utf8")).filter((s) => s.startsWith("node:"));
    assert.deepEqual(nodeImports, [], f);
  }
});
