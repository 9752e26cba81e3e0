/**
 * `gra serve`'s server (src/serve/server.ts) over real sockets: serves the built page with the right content types,
 * lists run directories and reproductions, serves their files read-only, and answers 404 to `..`, absolute paths,
 * encoded traversals, backslashes, NUL bytes, directories and symlinks leading out of --runs; plus the CLI command.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import type { Server } from "node:http";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import type { RunsListing } from "../src/serve/server.ts";
import { contentType, hostName, listedKind, safeSegments, startWebServer } from "../src/serve/server.ts";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A raw request: the path goes on the wire exactly as given (no URL normalisation of `..`). */
function get(base: string, path: string, method = "GET", headers: Record<string, string> = {}): Promise<Reply> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, path, method, headers }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

let tmp: string;
let web: string;
let runs: string;
let server: { url: string; server: Server };
let bare: { url: string; server: Server };

const close = (s?: { server: Server }) => new Promise<void>((resolve) => {
  if (!s) return resolve();
  s.server.close(() => resolve());
  s.server.closeAllConnections();
});

before(async () => {
  tmp = await mkdtemp(join(tmpdir(), "gra-serve-"));
  web = join(tmp, "web");
  runs = join(tmp, "runs");
  await mkdir(web);
  await writeFile(join(web, "index.html"), "<!doctype html><title>page</title>");
  await writeFile(join(web, "main.js"), "console.log(1)");
  await writeFile(join(web, "kernels.wasm"), new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]));
  await writeFile(join(tmp, "secret.txt"), "SECRET");
  await mkdir(join(tmp, "outside"));
  await writeFile(join(tmp, "outside", "secret.txt"), "SECRET");
  await mkdir(join(runs, "ts"), { recursive: true });
  await writeFile(join(runs, "ts", "config.json"), JSON.stringify({ task: "teacher-student", model: "gated-rnn", model_config: { hidden: 8 } }));
  await writeFile(join(runs, "ts", "metrics.jsonl"), '{"step":10,"loss":1,"val_loss":1.1,"lr":0.001,"elapsed_s":0.1}\n');
  await writeFile(join(runs, "ts", "summary.json"), JSON.stringify({ step: 10, val_loss: 1.1 }));
  await mkdir(join(runs, "repro", "table1", "figures"), { recursive: true });
  await writeFile(join(runs, "repro", "table1", "results.json"), JSON.stringify({ preset: "table1", numbers: {}, tables: [] }));
  await writeFile(join(runs, "repro", "table1", "figures", "loss.svg"), "<svg xmlns='http://www.w3.org/2000/svg'/>");
  await mkdir(join(runs, "empty"));
  // not listed: a dependency folder, a folder of screenshots, images at the root
  await mkdir(join(runs, "node_modules", "playwright-core", "lib"), { recursive: true });
  await writeFile(join(runs, "node_modules", "playwright-core", "lib", "appIcon.png"), "png");
  await writeFile(join(runs, "node_modules", "playwright-core", "lib", "report.html"), "<p>");
  await mkdir(join(runs, "shots"));
  await writeFile(join(runs, "shots", "page.png"), "png");
  await writeFile(join(runs, "root.png"), "png");
  // listed: a gra construct output and a gra reproduce output (its plan)
  await mkdir(join(runs, "construct"));
  await writeFile(join(runs, "construct", "model.safetensors"), "w");
  await writeFile(join(runs, "construct", "attention.safetensors"), "w");
  await mkdir(join(runs, "out"));
  await writeFile(join(runs, "out", "plan.json"), JSON.stringify({ scale: "quick", presets: ["table1"], shards: 1, runs: [] }));
  await symlink(join(tmp, "secret.txt"), join(runs, "link-out.txt"));
  await symlink(join(tmp, "outside"), join(runs, "dir-out"));
  await symlink(join(runs, "ts", "summary.json"), join(runs, "link-in.json"));
  server = await startWebServer({ webRoot: web, runsDir: runs, port: 0 });
  bare = await startWebServer({ webRoot: web, port: 0 });
});

after(async () => {
  await close(server);
  await close(bare);
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe("gra serve: the page", () => {
  test("binds 127.0.0.1 by default and serves index.html at / with content types", async () => {
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    const page = await get(server.url, "/");
    assert.equal(page.status, 200);
    assert.equal(page.headers["content-type"], "text/html; charset=utf-8");
    assert.match(page.body, /<title>page<\/title>/);
    const js = await get(server.url, "/main.js?v=1");
    assert.equal(js.status, 200);
    assert.equal(js.headers["content-type"], "text/javascript; charset=utf-8");
    assert.equal((await get(server.url, "/kernels.wasm")).headers["content-type"], "application/wasm");
    assert.equal(js.headers["x-content-type-options"], "nosniff");
  });

  test("HEAD has headers and no body; other methods get 405", async () => {
    const head = await get(server.url, "/", "HEAD");
    assert.equal(head.status, 200);
    assert.equal(head.body, "");
    assert.equal(head.headers["content-length"], String("<!doctype html><title>page</title>".length));
    for (const m of ["POST", "PUT", "DELETE"]) {
      const r = await get(server.url, "/", m);
      assert.equal(r.status, 405, m);
      assert.equal(r.headers.allow, "GET, HEAD");
    }
  });

  test("bound to loopback, it answers only Host headers naming this machine (DNS-rebinding guard)", async () => {
    const port = new URL(server.url).port;
    for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`, "LOCALHOST"]) {
      assert.equal((await get(server.url, "/", "GET", { Host: host })).status, 200, host);
    }
    for (const host of [`evil.example:${port}`, "attacker.test", `127.0.0.1.evil.example:${port}`]) {
      const r = await get(server.url, "/runs/ts/config.json", "GET", { Host: host });
      assert.equal(r.status, 403, host);
      assert.ok(!r.body.includes("teacher-student"));
    }
    assert.equal(hostName("[::1]:8765"), "[::1]");
    assert.equal(hostName("Example.COM:80"), "example.com");
  });

  test("content types by extension", () => {
    assert.equal(contentType("a/metrics.jsonl"), "application/x-ndjson; charset=utf-8");
    assert.equal(contentType("model.safetensors"), "application/octet-stream");
    assert.equal(contentType("x.SVG"), "image/svg+xml");
    assert.equal(contentType("noext"), "application/octet-stream");
  });
});

describe("gra serve: runs, read-only", () => {
  test("/api/runs lists runs and reproductions (figures folded in), never following symlinks", async () => {
    const r = await get(server.url, "/api/runs");
    assert.equal(r.status, 200);
    const listing = JSON.parse(r.body) as RunsListing;
    assert.equal(listing.root, "runs");
    const byPath = new Map(listing.runs.map((x) => [x.path, x]));
    assert.deepEqual([...byPath.keys()].sort(), ["construct", "out", "repro/table1", "ts"]);
    assert.deepEqual(listing.runs.map((x) => [x.path, x.kind]), [["construct", "construction"], ["out", "sweep"], ["repro/table1", "reproduction"], ["ts", "run"]]);
    const ts = byPath.get("ts")!;
    assert.equal(ts.kind, "run");
    assert.deepEqual(ts.files.map((f) => f.name), ["config.json", "metrics.jsonl", "summary.json"]);
    assert.deepEqual(ts.config, { task: "teacher-student", model: "gated-rnn", model_config: { hidden: 8 } });
    assert.deepEqual(ts.summary, { step: 10, val_loss: 1.1 });
    const repro = byPath.get("repro/table1")!;
    assert.equal(repro.kind, "reproduction");
    assert.deepEqual(repro.files.map((f) => f.name), ["figures/loss.svg", "results.json"]);
    assert.ok(!r.body.includes("SECRET") && !r.body.includes("dir-out"), r.body);
  });

  test("what a directory is, from its files: images, HTML or JSON alone are not a run", () => {
    assert.equal(listedKind(["config.json", "metrics.jsonl", "model.safetensors"]), "run");
    assert.equal(listedKind(["figures/fig2.svg", "report.html", "results.csv", "results.json"]), "reproduction");
    assert.equal(listedKind(["plan.json", "report.html"]), "sweep");
    assert.equal(listedKind(["attention.safetensors", "model.safetensors"]), "construction");
    assert.equal(listedKind(["model.safetensors"]), "other");
    assert.equal(listedKind(["loss.figure.json"]), "other");
    for (const names of [["appIcon.png"], ["index.html", "playwright-logo.svg"], ["report.html"], ["package.json", "README.md"], []]) assert.equal(listedKind(names), null, names.join(","));
  });

  test("serves files under --runs with a sandbox policy, including nested ones and symlinks that stay inside", async () => {
    const cfg = await get(server.url, "/runs/ts/config.json");
    assert.equal(cfg.status, 200);
    assert.equal(cfg.headers["content-type"], "application/json; charset=utf-8");
    assert.equal(cfg.headers["content-security-policy"], "sandbox");
    assert.equal(JSON.parse(cfg.body).task, "teacher-student");
    assert.equal((await get(server.url, "/runs/repro/table1/figures/loss.svg")).status, 200);
    const inside = await get(server.url, "/runs/link-in.json");
    assert.equal(inside.status, 200);
    assert.equal(JSON.parse(inside.body).step, 10);
    assert.equal((await get(server.url, "/runs/ts/metrics%2Ejsonl")).status, 200);
  });

  const refused = [
    "/../secret.txt",
    "/runs/../secret.txt",
    "/runs/../../secret.txt",
    "/runs/ts/../../secret.txt",
    "/runs/%2e%2e/secret.txt",
    "/runs/%2E%2E/%2E%2E/secret.txt",
    "/runs/..%2fsecret.txt",
    "/runs/ts/..%2F..%2Fsecret.txt",
    "/%2e%2e/secret.txt",
    "/runs//etc/passwd",
    "/runs/%2Fetc%2Fpasswd",
    "//etc/passwd",
    "/%2Fetc%2Fpasswd",
    "/runs/C:%5Cwindows",
    "/runs/..%5csecret.txt",
    "/runs/ts%00/config.json",
    "/runs/link-out.txt",
    "/runs/dir-out/secret.txt",
    "/runs/ts",
    "/runs/ts/",
    "/runs/",
    "/runs",
    "/runs/./ts/config.json",
    "/runs/nope.json",
    "/nope.html",
    "/runs/%zz",
    "http://example.com/etc/passwd",
  ];
  for (const path of refused) {
    test(`404: ${path}`, async () => {
      const r = await get(server.url, path);
      assert.equal(r.status, 404, `${path} -> ${r.status} ${r.body.slice(0, 60)}`);
      assert.ok(!r.body.includes("SECRET"));
    });
  }

  test("without --runs: /api/runs and /runs/... are 404", async () => {
    assert.equal((await get(bare.url, "/api/runs")).status, 404);
    assert.equal((await get(bare.url, "/runs/ts/config.json")).status, 404);
    assert.equal((await get(bare.url, "/")).status, 200);
  });

  test("safeSegments refuses dot segments, empty segments, backslashes, NUL and bad escapes", () => {
    assert.deepEqual(safeSegments("a/b%20c/d.json"), ["a", "b c", "d.json"]);
    for (const bad of ["..", "a/../b", "a//b", "/a", "a/", "%2e%2e", "a%2f..%2fb", "a\\b", "a%00", "%E0%A4%A", "."]) assert.equal(safeSegments(bad), null, bad);
  });
});

describe("gra serve: the command", () => {
  test("prints its URL, serves the page and the runs, stops on SIGTERM with exit 0", async () => {
    const child = spawn(process.execPath, ["--import", "tsx", "src/cli/main.ts", "serve", "--port", "0", "--web", web, "--runs", runs], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stderr.on("data", (c) => (err += c));
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no URL printed; stderr: ${err}`)), 20_000);
      child.stdout.on("data", (c) => {
        out += c;
        const m = /http:\/\/127\.0\.0\.1:\d+\//.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(m[0]);
        }
      });
      child.on("exit", (code) => reject(new Error(`exited ${code}: ${err}`)));
    });
    assert.match(out, /^gra serve: http:\/\/127\.0\.0\.1:\d+\/ \(runs: .*\) — Ctrl-C to stop\n$/);
    assert.equal((await get(url, "/")).status, 200);
    assert.equal((await get(url, "/runs/ts/summary.json")).status, 200);
    assert.equal((await get(url, "/runs/../secret.txt")).status, 404);
    const code = await new Promise<number | null>((resolve) => {
      child.on("exit", (c) => resolve(c));
      child.kill("SIGTERM");
    });
    assert.equal(code, 0, err);
  });

  test("usage errors exit 2 with one line", async () => {
    const run = (...args: string[]) => new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const c = spawn(process.execPath, ["--import", "tsx", "src/cli/main.ts", "serve", ...args], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
      let stderr = "";
      c.stderr.on("data", (d) => (stderr += d));
      c.on("exit", (code) => resolve({ code, stderr }));
    });
    const [noRuns, noIndex, badPort] = await Promise.all([
      run("--runs", join(tmp, "does-not-exist")),
      run("--web", join(tmp, "outside")),
      run("--port", "70000"),
    ]);
    assert.equal(noRuns.code, 2);
    assert.match(noRuns.stderr, /^gra serve: --runs: .*\n$/);
    assert.equal(noIndex.code, 2);
    assert.match(noIndex.stderr, /^gra serve: --web: .* has no index\.html\n$/);
    assert.equal(badPort.code, 2);
    assert.match(badPort.stderr, /^gra serve: --port: expected an integer in \[0, 65535\], got "70000"\n$/);
  });
});
