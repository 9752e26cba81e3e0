/// <reference types="@webgpu/types" />
/**
 * WebGPU device acquisition, one factory for Node and the browser: the browser's `navigator.gpu`, or in Node the
 * `webgpu` npm package (Dawn; an optional dependency, imported only here and only when a GPU is asked for, so the
 * CPU path never loads it). On Linux Dawn is asked for its Vulkan backend; with no GPU, Chromium's SwiftShader
 * Vulkan driver (VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json) gives a CPU adapter for tests.
 */

/** A WebGPU device plus what it runs on, in words. */
export interface Gpu {
  device: GPUDevice;
  /** "vendor description" of the adapter, e.g. "nvidia NVIDIA H200" or "google SwiftShader driver 5.0.0". */
  adapter: string;
  /** True for a software adapter (SwiftShader, lavapipe): correct but slow, for tests only. */
  software: boolean;
  /** The GPU entry point, held so that Dawn's instance lives as long as the device (collecting it crashes Dawn). */
  readonly entry: GPU;
  /** The adapter, held for the same reason. */
  readonly gpuAdapter: GPUAdapter;
}

/** Buffer usage flags (GPUBufferUsage) as numbers, so Node needs no WebGPU globals installed. */
export const USAGE = { MAP_READ: 0x1, COPY_SRC: 0x4, COPY_DST: 0x8, UNIFORM: 0x40, STORAGE: 0x80 } as const;
/** GPUShaderStage.COMPUTE and GPUMapMode.READ as numbers. */
export const COMPUTE_STAGE = 0x4;
export const MAP_READ_MODE = 0x1;

/** The path of Chromium's SwiftShader Vulkan driver manifest (Debian's chromium package). */
export const SWIFTSHADER_ICD = "/usr/lib/chromium/vk_swiftshader_icd.json";

/** Thrown when no adapter or device can be had; its message is one line ending in "use --device cpu". */
export class NoAdapterError extends Error {}

/** The GPU entry point: navigator.gpu in a browser (and Deno), else Dawn through the `webgpu` package in Node. */
async function gpuEntry(): Promise<GPU> {
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  if (nav?.gpu) return nav.gpu;
  if (typeof process === "undefined" || !process.versions?.node) throw new NoAdapterError("no WebGPU adapter found: this browser has no navigator.gpu; use --device cpu");
  const name = "webgpu"; // a variable, so bundlers leave this Node-only import alone
  let mod: { create(flags: string[]): GPU };
  try {
    mod = (await import(name)) as typeof mod;
  } catch (e) {
    throw new NoAdapterError(`no WebGPU adapter found: the optional package "webgpu" (Dawn) is not installed (${String((e as Error).message ?? e).split("\n")[0]}); npm install webgpu, or use --device cpu`);
  }
  return mod.create(process.platform === "linux" ? ["backend=vulkan"] : []);
}

let cached: Promise<Gpu> | undefined;

/**
 * The process's GPU device (created once, then shared): high-performance adapter, with its maximum storage-buffer
 * limits requested. Rejects with a NoAdapterError ("no WebGPU adapter found: <why>; use --device cpu").
 */
export function acquireGpu(): Promise<Gpu> {
  cached ??= open().catch((e) => {
    cached = undefined;
    throw e;
  });
  return cached;
}

async function open(): Promise<Gpu> {
  const gpu = await gpuEntry();
  let adapter: GPUAdapter | null = null;
  try {
    adapter = await gpu.requestAdapter({ powerPreference: "high-performance" });
  } catch (e) {
    throw new NoAdapterError(`no WebGPU adapter found: ${String((e as Error).message ?? e).split("\n")[0]}; use --device cpu`);
  }
  if (!adapter) {
    const hint = typeof process !== "undefined" && process.platform === "linux" && !process.env.VK_ICD_FILENAMES
      ? " (no Vulkan driver answered; without a GPU, VK_ICD_FILENAMES=" + SWIFTSHADER_ICD + " gives a slow software one)"
      : "";
    throw new NoAdapterError(`no WebGPU adapter found: requestAdapter returned none${hint}; use --device cpu`);
  }
  const info = adapter.info ?? ({ vendor: "", description: "", architecture: "", device: "" } as GPUAdapterInfo);
  const L = adapter.limits;
  const device = await adapter.requestDevice({
    requiredLimits: {
      maxStorageBuffersPerShaderStage: L.maxStorageBuffersPerShaderStage,
      maxStorageBufferBindingSize: L.maxStorageBufferBindingSize,
      maxBufferSize: L.maxBufferSize,
      maxComputeWorkgroupsPerDimension: L.maxComputeWorkgroupsPerDimension,
    },
  });
  const words = [info.vendor, info.description || info.architecture || info.device].filter(Boolean).join(" ") || "unknown adapter";
  return { device, entry: gpu, gpuAdapter: adapter, adapter: words, software: /swiftshader|llvmpipe|lavapipe/i.test(`${words} ${info.architecture}`) };
}
