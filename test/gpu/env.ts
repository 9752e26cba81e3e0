/**
 * The environment of a child process that can create a WebGPU adapter without a GPU: Chromium's SwiftShader Vulkan
 * driver (VK_ICD_FILENAMES) and a directory holding only Chromium's Vulkan loader on LD_LIBRARY_PATH (the loader must
 * be on the library path when the process starts, so GPU tests run in a spawned child).
 */
import { existsSync, mkdtempSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const CHROMIUM = "/usr/lib/chromium";

/** The child's env for a SwiftShader adapter, or why none can be made (a one-line reason to print with the skip). */
export function swiftshaderEnv(): NodeJS.ProcessEnv | string {
  const icd = join(CHROMIUM, "vk_swiftshader_icd.json");
  const loader = join(CHROMIUM, "libvulkan.so.1");
  if (process.platform !== "linux") return `SwiftShader via Chromium is set up for Linux only (this is ${process.platform})`;
  if (!existsSync(icd) || !existsSync(loader)) return `Chromium's SwiftShader Vulkan driver is missing (${icd}, ${loader}): apt-get install chromium`;
  const dir = mkdtempSync(join(tmpdir(), "gra-vk-"));
  symlinkSync(loader, join(dir, "libvulkan.so.1"));
  return { ...process.env, VK_ICD_FILENAMES: icd, LD_LIBRARY_PATH: [dir, process.env.LD_LIBRARY_PATH].filter(Boolean).join(":") };
}
