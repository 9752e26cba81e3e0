/**
 * The WebGPU backend: the parts that need no GPU (Philox known answers, refusals) here, and the GPU checks
 * (test/gpu/webgpu.checks.ts: every kernel against the reference kernels, 100 steps against the CPU trainer, group ==
 * alone, same seed == same bits, snapshot/restore) in a child process on Chromium's SwiftShader Vulkan driver; they
 * are skipped, with the reason printed, where no adapter can be created.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { philox4x32, seedKey } from "../src/kernels/webgpu/philox.ts";
import { parseTrainConfig } from "../src/train/loop.ts";
import { createWebGpuGroup } from "../src/train/webgpu-group.ts";
import { swiftshaderEnv } from "./gpu/env.ts";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const hex = (a: Uint32Array) => Array.from(a, (x) => x.toString(16).padStart(8, "0")).join(" ");

test("Philox4x32-10 gives Random123's known answers", () => {
  assert.equal(hex(philox4x32([0, 0, 0, 0], [0, 0])), "6627e8d5 e169c58d bc57ac4c 9b00dbd8");
  assert.equal(hex(philox4x32([~0, ~0, ~0, ~0], [~0, ~0])), "408f276d 41c83b0e a20bc7c6 6d5451fd");
  assert.equal(hex(philox4x32([0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344], [0xa4093822, 0x299f31d0])), "d16cfe09 94fdcceb 5001e420 24126ea1");
  assert.deepEqual(seedKey(2 ** 40 + 7), [7, 256]);
});

test("--device webgpu refuses what it does not train with one line, before looking for a GPU", async () => {
  const base = { task_config: { d: 2, T: 3 }, model_config: { hidden: 3 }, device: "webgpu" };
  const cases: [object, RegExp][] = [
    [{ model: "lstm" }, /trains gated-rnn; "lstm" runs on --device cpu/],
    [{ layers: 1, width: 4 }, /stacks \(--layers\) run on --device cpu/],
    [{ dtype: "f64", backend: "reference" }, /computes in f32/],
    [{ model: "gated-rnn-dense" }, /gated-rnn-dense \(dense A\) is not built on the GPU yet/],
    [{ clip_norm: 1 }, /clipping/],
  ];
  for (const [over, re] of cases) {
    const cfg = parseTrainConfig({ ...base, ...over });
    await assert.rejects(createWebGpuGroup([cfg]), (e: Error) => re.test(e.message) && !e.message.includes("\n"));
  }
});

/** Runs a script under SwiftShader's env in a child; returns its status and output (or why it cannot run). */
function child(args: string[], extraEnv: NodeJS.ProcessEnv = {}): { status: number | null; out: string } | string {
  const env = swiftshaderEnv();
  if (typeof env === "string") return env;
  const r = spawnSync(process.execPath, ["--import", "tsx", ...args], { cwd: root, env: { ...env, ...extraEnv }, encoding: "utf8", timeout: 600_000 });
  return { status: r.status, out: `${r.stdout}${r.stderr}`.split("\n").filter((l) => !l.includes("XDG_RUNTIME_DIR")).join("\n") };
}

test("no adapter: one line, ending in 'use --device cpu'", (t) => {
  const r = child(["-e", `import("./src/kernels/webgpu/device.ts").then((m) => m.acquireGpu()).then(() => console.log("adapter"), (e) => console.log("ERR " + e.message))`], { VK_ICD_FILENAMES: "/nonexistent/icd.json" });
  if (typeof r === "string") return t.skip(r);
  const line = r.out.split("\n").find((l) => l.startsWith("ERR ") || l === "adapter");
  if (line === "adapter") return t.skip("a real GPU answered although the Vulkan driver list is empty");
  assert.match(line ?? r.out, /^ERR no WebGPU adapter found: .*; use --device cpu$/);
});

test("WebGPU kernels and run groups against the CPU (child process on SwiftShader)", { timeout: 600_000 }, (t) => {
  const r = child(["test/gpu/webgpu.checks.ts"]);
  if (typeof r === "string") {
    console.log(`# WebGPU checks skipped: ${r}`);
    return t.skip(r);
  }
  if (r.status === 77) {
    const why = r.out.split("\n").find((l) => l.startsWith("# no WebGPU adapter")) ?? "no adapter";
    console.log(`# WebGPU checks skipped: ${why}`);
    return t.skip(why);
  }
  for (const l of r.out.split("\n")) if (/^# (adapter|pass|fail|duration)|^not ok|^ok /.test(l.trim())) t.diagnostic(l.trim());
  assert.equal(r.status, 0, r.out);
});
