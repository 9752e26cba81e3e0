/**
 * The page's "use the GPU" switch in Chromium with WebGPU on SwiftShader (--enable-unsafe-webgpu
 * --use-webgpu-adapter=swiftshader; the page served from http://127.0.0.1, a secure context): the in-page student
 * trains on the WGSL kernels of `gra train --device webgpu` (the WebGPU run group, R = 1) and its loss falls.
 * SwiftShader is slow: a small student. Skipped, with the reason printed, when the browser offers no WebGPU adapter.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { chromium } from "playwright-core";
import type { Browser, Page } from "playwright-core";
import { rm } from "node:fs/promises";
import { buildWeb, chromiumArgs, chromiumPath, makeRunsDir, newPage, serve, shot } from "./helpers.ts";

const haveChromium = existsSync(chromiumPath);
const skip = haveChromium || process.env.CI ? false : `no Chromium at ${chromiumPath} (apt-get install -y chromium)`;

let browser: Browser;
let server: { url: string; close(): Promise<void> };
let page: Page;
let runsDir: string;
const errors: string[] = [];
const num = async (testid: string) => Number(await page.textContent(`[data-testid="${testid}"]`));

describe("the page's GPU switch (WebGPU on SwiftShader)", { skip, concurrency: false }, () => {
  before(async () => {
    await buildWeb();
    runsDir = await makeRunsDir(); // the page lists runs: serve some, as page.test.ts does
    server = await serve(runsDir);
    const args = [...chromiumArgs.filter((a) => a !== "--disable-gpu"), "--enable-unsafe-webgpu", "--use-webgpu-adapter=swiftshader", "--enable-features=Vulkan"];
    browser = await chromium.launch({ executablePath: chromiumPath, args, headless: true });
    page = await newPage(browser, errors);
    await page.goto(server.url.replace("localhost", "127.0.0.1"));
    await page.waitForSelector('[data-testid="train-start"]');
  });

  after(async () => {
    await browser?.close();
    await server?.close();
    if (runsDir) await rm(runsDir, { recursive: true, force: true });
  });

  test("flip the switch: the student trains on the WGSL kernels and its loss falls", async (t) => {
    const adapter = (await page.evaluate(`(async () => { const a = navigator.gpu && await navigator.gpu.requestAdapter(); return a ? (a.info.vendor + " " + a.info.description) : ""; })()`)) as string;
    if (!adapter || (await page.locator('[data-testid="train-gpu"]').count()) === 0) {
      console.log("# skipped: this Chromium offers no WebGPU adapter");
      return t.skip("this Chromium offers no WebGPU adapter");
    }
    console.log(`# page adapter: ${adapter}`);
    // a small student (SwiftShader computes on the CPU)
    for (const [sel, v] of [["hidden N", "8"], ["output gating M", "8"], ["T", "8"], ["batch", "8"], ["d", "2"]] as const) {
      await page.locator("#train").getByLabel(sel, { exact: true }).fill(v);
      await page.locator("#train").getByLabel(sel, { exact: true }).dispatchEvent("change");
    }
    await page.check('[data-testid="train-gpu"]');
    await page.waitForFunction(() => /kernels: webgpu/.test(document.querySelector('[data-testid="train-status"]')?.textContent ?? ""), null, { timeout: 90_000 });
    assert.match((await page.textContent('[data-testid="train-status"]')) ?? "", /kernels: webgpu: .+/);
    await page.click('[data-testid="train-start"]');
    await page.waitForFunction(() => Number.isFinite(Number(document.querySelector('[data-testid="train-loss"]')?.textContent)), null, { timeout: 60_000 });
    const first = await num("train-loss");
    const t0 = Date.now();
    let loss = first;
    while (loss > first / 3 && Date.now() - t0 < 60_000) {
      await page.waitForTimeout(500);
      loss = await num("train-loss");
    }
    console.log(`# GPU training in the page: first loss ${first}, ${loss} after ${((Date.now() - t0) / 1000).toFixed(1)} s, step ${await num("train-step")}`);
    assert.ok(loss <= first / 3, `loss ${first} -> ${loss} in 60 s`);
    await page.click('[data-testid="train-start"]'); // pause: weights and validation read back from the GPU
    await page.waitForFunction(() => /paused at step/.test(document.querySelector('[data-testid="train-status"]')?.textContent ?? ""), null, { timeout: 30_000 });
    assert.ok(Number.isFinite(await num("train-val-loss")));
    await page.locator("#train").screenshot({ path: await shot("train-gpu.png") });
    assert.deepEqual(errors, []);
  });
});
