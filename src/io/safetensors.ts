/**
 * safetensors encoding and decoding over plain bytes (platform-neutral: no node:* imports, usable in the browser).
 * Layout: 8-byte little-endian u64 header length N, N bytes of UTF-8 JSON header
 * `{"__metadata__"?: {string: string}, name: {dtype, shape, data_offsets: [begin, end]}, ...}` padded with spaces
 * to a multiple of 8, then the data buffer (offsets relative to its start, little-endian, row-major, no holes).
 * Supported dtypes: F32 and F64. Every decoding error is one line `<source>: <problem>`.
 * Model-aware layer: `paramsToSafetensors` / `paramsFromSafetensors` store and validate `Params` against the
 * family's `shapes(config)` (metadata `format`, `family`, `config`).
 */
import { parseConfig } from "../config.ts";
import { getFamily } from "../models/registry.ts";
import type { ModelFamily, Params } from "../models/types.ts";
import type { DType, Float, Tensor } from "../tensor.ts";
import { cloneTensor, dtypeOf, numel } from "../tensor.ts";
import { InputError } from "../errors.ts";

/** safetensors dtype names this package reads and writes. */
export type SafetensorsDType = "F32" | "F64";

/** A decoded file: tensors by name (in file order) and the `__metadata__` string map ({} when absent). */
export interface DecodedSafetensors {
  tensors: Record<string, Tensor>;
  metadata: Record<string, string>;
}

/** The `format` metadata value written by `paramsToSafetensors`. */
export const PARAMS_FORMAT = "gated-rnn-attention";
/** Largest accepted header, in bytes (the reference implementation's limit: 100 MB). */
export const MAX_HEADER_BYTES = 100_000_000;

const ITEMSIZE: Record<SafetensorsDType, number> = { F32: 4, F64: 8 };
/** dtypes of the safetensors spec we recognise but do not support (to say "unsupported" rather than "unknown"). */
const OTHER_DTYPES = ["BOOL", "U8", "I8", "F8_E5M2", "F8_E4M3", "I16", "U16", "F16", "BF16", "I32", "U32", "I64", "U64"];
const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Package dtype -> safetensors dtype: "f32" -> "F32", "f64" -> "F64". */
export function toSafetensorsDType(d: DType): SafetensorsDType {
  return d === "f32" ? "F32" : "F64";
}

/** safetensors dtype -> package dtype: "F32" -> "f32", "F64" -> "f64". */
export function fromSafetensorsDType(d: SafetensorsDType): DType {
  return d === "F32" ? "f32" : "f64";
}

/** Defines `obj[key] = value` as an own property (safe for names like "__proto__"). */
function put<T>(obj: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

function fmtShape(shape: readonly unknown[]): string {
  return `[${shape.join(", ")}]`;
}

/** First line of an error message (messages of this module are one line; guards foreign ones). */
function firstLine(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  return m.split("\n")[0];
}

/**
 * Encodes tensors (written sorted by name, contiguous) and optional string metadata as a safetensors file.
 * Each tensor's dtype is that of its buffer (Float32Array -> F32, Float64Array -> F64); bytes are little-endian,
 * so +-inf and NaN round-trip. The JSON header is compact, `__metadata__` first (keys sorted), space-padded to 8.
 */
export function encodeSafetensors(tensors: Record<string, Tensor>, metadata?: Record<string, string>): Uint8Array {
  const names = Object.keys(tensors).sort();
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length > 0) {
    const meta: Record<string, string> = {};
    for (const k of Object.keys(metadata).sort()) {
      const v = metadata[k];
      if (typeof v !== "string") throw new Error(`encodeSafetensors: __metadata__ "${k}" must be a string, got ${typeof v}`);
      put(meta, k, v);
    }
    header.__metadata__ = meta;
  }
  let offset = 0;
  for (const name of names) {
    if (name === "" || name === "__metadata__") throw new Error(`encodeSafetensors: invalid tensor name ${JSON.stringify(name)}`);
    const t = tensors[name];
    if (!t || !(t.data instanceof Float32Array || t.data instanceof Float64Array)) {
      throw new Error(`encodeSafetensors: tensor "${name}": data must be a Float32Array or Float64Array`);
    }
    if (!Array.isArray(t.shape) || t.shape.some((s) => !Number.isSafeInteger(s) || s < 0)) {
      throw new Error(`encodeSafetensors: tensor "${name}": invalid shape ${JSON.stringify(t.shape)}`);
    }
    if (t.data.length !== numel(t.shape)) {
      throw new Error(`encodeSafetensors: tensor "${name}": shape ${fmtShape(t.shape)} needs ${numel(t.shape)} elements, data has ${t.data.length}`);
    }
    const dtype = toSafetensorsDType(dtypeOf(t.data));
    const end = offset + t.data.length * ITEMSIZE[dtype];
    put(header, name, { dtype, shape: [...t.shape], data_offsets: [offset, end] });
    offset = end;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const n = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + n + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(n), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + n);
  let pos = 8 + n;
  for (const name of names) {
    const d = tensors[name].data;
    if (d instanceof Float32Array) {
      for (let i = 0; i < d.length; i++, pos += 4) view.setFloat32(pos, d[i], true);
    } else {
      for (let i = 0; i < d.length; i++, pos += 8) view.setFloat64(pos, d[i], true);
    }
  }
  return out;
}

interface Entry {
  name: string;
  dtype: SafetensorsDType;
  shape: number[];
  begin: number;
  end: number;
}

function isNonNegInt(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
}

/** Validates one header entry (everything checkable without the other entries). */
function parseEntry(name: string, raw: unknown, dataLength: number, fail: (m: string) => never): Entry {
  const t = `tensor ${JSON.stringify(name)}`;
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) fail(`${t}: header entry must be an object, got ${JSON.stringify(raw)}`);
  const e = raw as Record<string, unknown>;
  for (const key of ["dtype", "shape", "data_offsets"]) {
    if (!(key in e)) fail(`${t}: header entry is missing "${key}"`);
  }
  const dtype = e.dtype;
  if (typeof dtype !== "string") fail(`${t}: dtype must be a string, got ${JSON.stringify(dtype)}`);
  if (dtype !== "F32" && dtype !== "F64") {
    if (OTHER_DTYPES.includes(dtype)) fail(`${t}: unsupported dtype "${dtype}" (supported: F32, F64)`);
    fail(`${t}: unknown dtype ${JSON.stringify(dtype)} (supported: F32, F64)`);
  }
  const shape = e.shape;
  if (!Array.isArray(shape)) fail(`${t}: shape must be an array, got ${JSON.stringify(shape)}`);
  if (!shape.every(isNonNegInt)) fail(`${t}: shape must hold non-negative integers, got ${JSON.stringify(shape)}`);
  const off = e.data_offsets;
  if (!Array.isArray(off) || off.length !== 2 || !off.every(isNonNegInt)) {
    fail(`${t}: data_offsets must be two non-negative integers [begin, end], got ${JSON.stringify(off)}`);
  }
  const [begin, end] = off as number[];
  if (begin > end) fail(`${t}: data_offsets [${begin}, ${end}] have begin > end`);
  if (end > dataLength) {
    fail(`${t}: data_offsets [${begin}, ${end}] exceed the data buffer (${dataLength} bytes; file truncated?)`);
  }
  const need = numel(shape as number[]) * ITEMSIZE[dtype];
  if (end - begin !== need) {
    fail(`${t}: data_offsets [${begin}, ${end}] span ${end - begin} bytes but shape ${fmtShape(shape)} of ${dtype} needs ${need}`);
  }
  return { name, dtype, shape: [...(shape as number[])], begin, end };
}

/** Copies `bytes[begin, end)` (little-endian) into a fresh Float32Array/Float64Array. */
function readData(bytes: Uint8Array, begin: number, end: number, dtype: SafetensorsDType): Float {
  const size = ITEMSIZE[dtype];
  const n = (end - begin) / size;
  const out = dtype === "F32" ? new Float32Array(n) : new Float64Array(n);
  if (LITTLE_ENDIAN_HOST) {
    new Uint8Array(out.buffer).set(bytes.subarray(begin, end));
  } else {
    const view = new DataView(bytes.buffer, bytes.byteOffset + begin, end - begin);
    for (let i = 0; i < n; i++) out[i] = dtype === "F32" ? view.getFloat32(i * 4, true) : view.getFloat64(i * 8, true);
  }
  return out;
}

/**
 * Decodes a safetensors file held in `bytes`. Validates, before allocating anything sized by the header, the
 * header length against the file size and the 100 MB cap; then the header (UTF-8 JSON object, entries with
 * dtype F32|F64, non-negative integer shape, in-range offsets with end - begin = prod(shape) * itemsize), that the
 * entries tile the data buffer exactly (no overlap, no gap, no trailing bytes) and that metadata values are strings.
 * Errors are one line: `<source>: <problem>`.
 */
export function decodeSafetensors(bytes: Uint8Array, source = "<buffer>"): DecodedSafetensors {
  const fail: (m: string) => never = (m) => {
    throw new InputError(`${source}: ${m}`);
  };
  if (bytes.length < 8) fail(`file too short: ${bytes.length} bytes, need at least 8 for the header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n64 = view.getBigUint64(0, true);
  if (n64 > BigInt(bytes.length)) fail(`header length ${n64} exceeds file size ${bytes.length}`);
  if (n64 > BigInt(bytes.length - 8)) fail(`header length ${n64} plus the 8-byte prefix exceeds file size ${bytes.length}`);
  const n = Number(n64);
  if (n > MAX_HEADER_BYTES) fail(`header length ${n} exceeds the ${MAX_HEADER_BYTES}-byte limit`);
  if (n < 2) fail(`header length ${n} is too small for a JSON object`);
  let text = "";
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(8, 8 + n));
  } catch {
    fail("header is not valid UTF-8");
  }
  if (!text.startsWith("{")) fail(`header must be a JSON object starting with "{", got ${JSON.stringify(text.slice(0, 20))}`);
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    fail(`header is not valid JSON (${firstLine(e)})`);
  }
  if (header === null || typeof header !== "object" || Array.isArray(header)) fail("header is not a JSON object");
  const dataStart = 8 + n;
  const dataLength = bytes.length - dataStart;

  const metadata: Record<string, string> = {};
  const entries: Entry[] = [];
  for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
    if (name === "__metadata__") {
      if (raw === null || typeof raw !== "object" || Array.isArray(raw)) fail(`__metadata__ must be an object of strings, got ${JSON.stringify(raw)}`);
      for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
        if (typeof v !== "string") fail(`__metadata__ ${JSON.stringify(k)} must be a string, got ${JSON.stringify(v)}`);
        put(metadata, k, v);
      }
      continue;
    }
    entries.push(parseEntry(name, raw, dataLength, fail));
  }

  // The entries must tile [0, dataLength) exactly: sorted by (begin, end), each begins where the previous ended.
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  let prev: Entry | undefined;
  for (const e of sorted) {
    if (e.begin < cursor && prev) {
      fail(`tensors ${JSON.stringify(prev.name)} [${prev.begin}, ${prev.end}] and ${JSON.stringify(e.name)} [${e.begin}, ${e.end}] overlap`);
    }
    if (e.begin > cursor) fail(`data not fully covered: bytes [${cursor}, ${e.begin}) belong to no tensor`);
    cursor = e.end;
    if (e.end > e.begin) prev = e;
  }
  if (cursor !== dataLength) fail(`data not fully covered: bytes [${cursor}, ${dataLength}) belong to no tensor`);

  const tensors: Record<string, Tensor> = {};
  for (const e of entries) {
    put(tensors, e.name, { shape: e.shape, data: readData(bytes, dataStart + e.begin, dataStart + e.end, e.dtype) });
  }
  return { tensors, metadata };
}

/** Options of model-aware loading; given values win over the file's metadata. */
export interface ParamsLoadOptions {
  /** Family name (resolved via the registry) or a family object; must agree with the file's `family` metadata. */
  family?: string | ModelFamily;
  /** Raw config (parsed with the family's schema) used instead of the file's `config` metadata. */
  config?: unknown;
  /** Convert every tensor to this dtype (F32 <-> F64) instead of keeping the file's dtype. */
  dtype?: DType;
}

/** The metadata `paramsToSafetensors` writes: `{ format: "gated-rnn-attention", family, config: JSON }`. */
export function paramsMetadata(params: Params): Record<string, string> {
  return { format: PARAMS_FORMAT, family: params.family, config: JSON.stringify(params.config) };
}

/** Encodes a parameter object: its tensors under their names plus `paramsMetadata(params)`. */
export function paramsToSafetensors(params: Params): Uint8Array {
  return encodeSafetensors(params.tensors, paramsMetadata(params));
}

/**
 * Rebuilds `Params` from a decoded file: family and config from `opts` or the metadata (opts win; a family that
 * disagrees with the metadata is an error), config parsed by the family's schema, tensors validated against
 * `family.shapes(config)` (missing, unexpected, wrong shape, mixed dtypes). `opts.dtype` converts all tensors.
 * Returned tensors follow the order of `shapes(config)`. Errors are one line `<source>: <problem>`.
 */
export function paramsFromSafetensors(decoded: DecodedSafetensors, source = "<buffer>", opts: ParamsLoadOptions = {}): Params {
  const fail: (m: string) => never = (m) => {
    throw new InputError(`${source}: ${m}`);
  };
  const meta = decoded.metadata;
  const metaFamily = meta.family;
  const wanted = opts.family ?? metaFamily;
  if (wanted === undefined) fail(`no "family" in __metadata__ (not written by ${PARAMS_FORMAT}?); give the model family explicitly`);
  const wantedName = typeof wanted === "string" ? wanted : wanted.name;
  if (metaFamily !== undefined && metaFamily !== wantedName) fail(`file holds a "${metaFamily}" model, but "${wantedName}" was requested`);
  let family: ModelFamily;
  try {
    family = typeof wanted === "string" ? getFamily(wanted) : wanted;
  } catch (e) {
    return fail(firstLine(e));
  }

  let rawConfig: unknown;
  if (opts.config !== undefined) {
    rawConfig = opts.config;
  } else {
    if (meta.config === undefined) fail(`no "config" in __metadata__; give the ${family.name} config explicitly`);
    try {
      rawConfig = JSON.parse(meta.config);
    } catch (e) {
      return fail(`__metadata__ "config" is not valid JSON (${firstLine(e)})`);
    }
  }
  let config: unknown;
  try {
    config = parseConfig(family.schema, rawConfig, "config");
  } catch (e) {
    return fail(firstLine(e));
  }
  const expected = family.shapes(config);

  const have = decoded.tensors;
  const names = Object.keys(expected);
  const missing = names.filter((k) => !Object.hasOwn(have, k));
  if (missing.length > 0) {
    const list = missing.map((k) => `"${k}"`).join(", ");
    fail(`missing tensor${missing.length > 1 ? "s" : ""} ${list} (${family.name} expects ${names.join(", ")})`);
  }
  for (const k of Object.keys(have)) {
    if (!Object.hasOwn(expected, k)) fail(`unexpected tensor "${k}" (${family.name} expects ${names.join(", ")})`);
  }
  let firstDtype: { name: string; dtype: DType } | undefined;
  for (const k of names) {
    const t = have[k];
    const want = expected[k];
    if (t.shape.length !== want.length || t.shape.some((s, i) => s !== want[i])) {
      fail(`tensor "${k}": expected shape ${fmtShape(want)} for ${family.name} ${JSON.stringify(config)}, got ${fmtShape(t.shape)}`);
    }
    const d = dtypeOf(t.data);
    if (!firstDtype) firstDtype = { name: k, dtype: d };
    else if (d !== firstDtype.dtype) {
      fail(`tensor "${k}" is ${toSafetensorsDType(d)} but "${firstDtype.name}" is ${toSafetensorsDType(firstDtype.dtype)}; all tensors must share one dtype`);
    }
  }
  const tensors: Record<string, Tensor> = {};
  for (const k of names) {
    const t = have[k];
    put(tensors, k, opts.dtype !== undefined && dtypeOf(t.data) !== opts.dtype ? cloneTensor(t, opts.dtype) : t);
  }
  return { family: family.name, config, tensors };
}

/** Decodes bytes and rebuilds validated `Params` in one call (see `decodeSafetensors`, `paramsFromSafetensors`). */
export function decodeParams(bytes: Uint8Array, source = "<buffer>", opts: ParamsLoadOptions = {}): Params {
  return paramsFromSafetensors(decodeSafetensors(bytes, source), source, opts);
}
