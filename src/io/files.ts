/**
 * Node file I/O: atomic writes (temp file in the same directory + fsync + rename, so readers never see a partial
 * file) and safetensors load/save on top of the platform-neutral src/io/safetensors.ts.
 */
import { randomBytes } from "node:crypto";
import { open, readFile, rename, rm, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import type { Params } from "../models/types.ts";
import type { Tensor } from "../tensor.ts";
import type { DecodedSafetensors, ParamsLoadOptions } from "./safetensors.ts";
import { decodeSafetensors, encodeSafetensors, paramsFromSafetensors, paramsToSafetensors } from "./safetensors.ts";

/** One-line message of a Node fs error, e.g. `no such file or directory` for ENOENT (the path is added by callers). */
function fsProblem(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  const known: Record<string, string> = {
    ENOENT: "no such file or directory",
    EACCES: "permission denied",
    EISDIR: "is a directory",
    ENOTDIR: "a parent is not a directory",
    ERR_FS_FILE_TOO_LARGE: "file too large to read",
  };
  if (err && typeof err.code === "string" && known[err.code]) return known[err.code];
  return (err instanceof Error ? err.message : String(e)).split("\n")[0];
}

/**
 * Writes `data` to `path` atomically: a temp file `.<name>.<random>.tmp` in the same directory is written, fsynced
 * and renamed over `path` (then the directory is fsynced, best effort). On failure the temp file is removed and a
 * one-line error `<path>: cannot write (<problem>)` is thrown.
 */
export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString("hex")}.tmp`);
  try {
    const fh = await open(tmp, "wx");
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true }).catch(() => undefined);
    throw new Error(`${path}: cannot write (${fsProblem(e)})`);
  }
  try {
    const dir = await open(dirname(path), "r");
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  } catch {
    // Directory fsync is unsupported on some platforms (Windows); the rename itself already happened.
  }
}

/** Reads a whole file as bytes; one-line error `<path>: cannot read (<problem>)`. */
export async function readFileBytes(path: string): Promise<Uint8Array> {
  try {
    const b = await readFile(path);
    return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  } catch (e) {
    throw new Error(`${path}: cannot read (${fsProblem(e)})`);
  }
}

/** Saves tensors (and optional string metadata) as a safetensors file, atomically. */
export async function saveTensors(path: string, tensors: Record<string, Tensor>, metadata?: Record<string, string>): Promise<void> {
  await writeFileAtomic(path, encodeSafetensors(tensors, metadata));
}

/** Loads and validates a safetensors file: `{ tensors, metadata }`; errors are one line `<path>: <problem>`. */
export async function loadTensors(path: string): Promise<DecodedSafetensors> {
  return decodeSafetensors(await readFileBytes(path), path);
}

/** Saves a model's parameters with `__metadata__ = { format: "gated-rnn-attention", family, config }`, atomically. */
export async function saveParams(path: string, params: Params): Promise<void> {
  await writeFileAtomic(path, paramsToSafetensors(params));
}

/**
 * Loads a model's parameters, validated against its family's `shapes(config)` (see `paramsFromSafetensors`):
 * family/config from the file's metadata unless given in `opts`; `opts.dtype` converts the tensors.
 */
export async function loadParams<C = unknown>(path: string, opts: ParamsLoadOptions = {}): Promise<Params<C>> {
  return paramsFromSafetensors(await loadTensors(path), path, opts) as Params<C>;
}

/** True when `path` names an existing file or directory (a stat, no read). */
export async function fileExists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
