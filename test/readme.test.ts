/** The README stays true: its relative links name files of the repository, and its library example runs and prints what it shows. */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const readme = readFileSync(join(root, "README.md"), "utf8");

test("README: every relative link names a file or directory inside the repository", () => {
  const links = [...readme.matchAll(/\]\(([^)#\s]+)(#[^)]*)?\)/g)].map((m) => m[1]).filter((l) => !/^[a-z]+:/.test(l));
  assert.ok(links.includes("docs/CONVENTIONS.md"), "the conventions are linked");
  for (const l of links) {
    assert.ok(!l.startsWith("..") && !l.startsWith("/"), `${l} points outside the repository`);
    assert.ok(existsSync(join(root, l)), `${l} does not exist`);
  }
});

test("README: the library example prints both outputs and their difference, as shown", async () => {
  const section = readme.slice(readme.indexOf("## The library"));
  const [, code, shown] = /```ts\n([\s\S]*?)```[\s\S]*?```\n([\s\S]*?)```/.exec(section)!;
  const source = code.replace('from "gated-rnn-attention"', `from ${JSON.stringify(pathToFileURL(join(root, "src", "index.ts")).href)}`);
  const stdout = await new Promise<string>((resolve, reject) =>
    execFile(process.execPath, ["--import", "tsx", "--input-type=module", "-e", source], { cwd: root, timeout: 30_000 }, (err, out, errOut) => (err ? reject(new Error(errOut)) : resolve(out))),
  );
  assert.equal(stdout, shown);
  const lines = stdout.trim().split("\n");
  const [att, rnn] = lines.slice(0, 2).map((l) => l.split(": ")[1].split(" ").map(Number));
  assert.equal(att.length, 4);
  for (let i = 0; i < 4; i++) assert.ok(Math.abs(att[i] - rnn[i]) < 1e-12, `y_8[${i}]: ${att[i]} vs ${rnn[i]}`);
  assert.ok(Number(lines[2].split(": ")[1]) < 1e-12);
});
