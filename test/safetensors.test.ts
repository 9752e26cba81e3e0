import assert from "node:assert/strict";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { int } from "../src/config.ts";
import { loadParams, loadTensors, saveParams, saveTensors, writeFileAtomic } from "../src/io/files.ts";
import {
  decodeParams,
  decodeSafetensors,
  encodeSafetensors,
  MAX_HEADER_BYTES,
  paramsFromSafetensors,
  paramsToSafetensors,
} from "../src/io/safetensors.ts";
import type { ParamsLoadOptions } from "../src/io/safetensors.ts";
import { gatedRnn } from "../src/models/gated-rnn.ts";
import { Rng } from "../src/rng.ts";
import type { ModelFamily, Params } from "../src/models/types.ts";
import type { Tensor } from "../src/tensor.ts";

const enc = new TextEncoder();

/** A raw file: u64 LE header length (default: the header's byte length), the header text, then `data`. */
function rawFile(header: string | Uint8Array, data: ArrayLike<number> = [], headerLen?: bigint): Uint8Array {
  const h = typeof header === "string" ? enc.encode(header) : header;
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, headerLen ?? BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

/** A raw file whose header is `JSON.stringify(header)` and whose data are `nbytes` zero bytes. */
function jsonFile(header: unknown, nbytes: number): Uint8Array {
  return rawFile(JSON.stringify(header), new Uint8Array(nbytes));
}

function decodeError(bytes: Uint8Array): string {
  try {
    decodeSafetensors(bytes, "w.safetensors");
  } catch (e) {
    const m = (e as Error).message;
    assert.ok(!m.includes("\n"), `message must be one line: ${m}`);
    return m;
  }
  assert.fail("expected decodeSafetensors to throw");
}

const f32 = (shape: number[], v: number[]): Tensor => ({ shape, data: Float32Array.from(v) });
const f64 = (shape: number[], v: number[]): Tensor => ({ shape, data: Float64Array.from(v) });

function assertSameFloats(a: ArrayLike<number>, b: ArrayLike<number>): void {
  assert.equal(a.length, b.length);
  for (let i = 0; i < a.length; i++) assert.ok(Object.is(a[i], b[i]), `index ${i}: ${a[i]} vs ${b[i]}`);
}

describe("safetensors encoding", () => {
  test("byte-exact: one 2x2 F32 tensor, built by hand from the spec", () => {
    const header = '{"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}}';
    assert.equal(header.length, 57);
    const padded = header + "       "; // 57 -> 64 bytes (multiple of 8), spaces as the reference implementation pads
    const expected = new Uint8Array([
      64, 0, 0, 0, 0, 0, 0, 0, // u64 LE header length
      ...enc.encode(padded),
      0x00, 0x00, 0x80, 0x3f, // 1.0f LE
      0x00, 0x00, 0x00, 0x40, // 2.0f
      0x00, 0x00, 0x40, 0x40, // 3.0f
      0x00, 0x00, 0x80, 0x40, // 4.0f
    ]);
    const got = encodeSafetensors({ w: f32([2, 2], [1, 2, 3, 4]) });
    assert.deepEqual(got, expected);
    const back = decodeSafetensors(expected);
    assert.deepEqual(back.metadata, {});
    assert.deepEqual(back.tensors.w.shape, [2, 2]);
    assert.ok(back.tensors.w.data instanceof Float32Array);
    assert.deepEqual([...back.tensors.w.data], [1, 2, 3, 4]);
  });

  test("tensors sorted by name and contiguous, __metadata__ first, header padded to 8", () => {
    const bytes = encodeSafetensors({ b: f64([1], [5]), a: f32([3], [1, 2, 3]) }, { z: "1", format: "x" });
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    assert.equal(n % 8, 0);
    const text = new TextDecoder().decode(bytes.subarray(8, 8 + n));
    assert.equal(
      text.trimEnd(),
      '{"__metadata__":{"format":"x","z":"1"},"a":{"dtype":"F32","shape":[3],"data_offsets":[0,12]},' +
        '"b":{"dtype":"F64","shape":[1],"data_offsets":[12,20]}}',
    );
    assert.match(text, /^[^ ]* *$/);
    assert.equal(bytes.length, 8 + n + 20);
    assert.equal(new DataView(bytes.buffer).getFloat64(8 + n + 12, true), 5);
  });

  test("F32 and F64 round trip, including +inf, -inf, NaN, -0, an empty and a scalar tensor", () => {
    const special = [-Infinity, Infinity, NaN, -0, 1.5, -2.25e-3];
    const tensors: Record<string, Tensor> = {
      a32: f32([2, 3], special),
      b64: f64([3, 2], special.map((v) => v * 1.000000001)),
      empty: f32([0, 4], []),
      scalar: f64([], [Math.PI]),
    };
    const meta = { note: "héllo ✓", format: "test" };
    const back = decodeSafetensors(encodeSafetensors(tensors, meta));
    assert.deepEqual(back.metadata, meta);
    assert.deepEqual(Object.keys(back.tensors).sort(), Object.keys(tensors).sort());
    for (const [k, t] of Object.entries(tensors)) {
      const b = back.tensors[k];
      assert.deepEqual(b.shape, t.shape);
      assert.equal(b.data.constructor, t.data.constructor, k);
      assertSameFloats(b.data, t.data);
    }
  });

  test("decoding a subarray view (non-zero byteOffset) works", () => {
    const bytes = encodeSafetensors({ x: f64([2], [Infinity, -1]) });
    const padded = new Uint8Array(bytes.length + 3);
    padded.set(bytes, 3);
    const back = decodeSafetensors(padded.subarray(3));
    assertSameFloats(back.tensors.x.data, [Infinity, -1]);
  });

  test("encoding rejects inconsistent tensors and non-string metadata", () => {
    assert.throws(() => encodeSafetensors({ x: f32([3], [1, 2]) }), /^Error: encodeSafetensors: tensor "x": shape \[3\] needs 3 elements, data has 2$/);
    assert.throws(() => encodeSafetensors({ __metadata__: f32([1], [1]) }), /invalid tensor name "__metadata__"/);
    assert.throws(() => encodeSafetensors({}, { a: 1 as unknown as string }), /__metadata__ "a" must be a string/);
  });
});

describe("safetensors decoding errors (one line, `<source>: <problem>`)", () => {
  const w = { dtype: "F32", shape: [2, 2], data_offsets: [0, 16] };

  test("file shorter than 8 bytes", () => {
    assert.equal(decodeError(new Uint8Array(5)), "w.safetensors: file too short: 5 bytes, need at least 8 for the header length");
    assert.equal(decodeError(new Uint8Array(0)), "w.safetensors: file too short: 0 bytes, need at least 8 for the header length");
  });

  test("header length beyond the file (checked before allocating)", () => {
    const bytes = rawFile("", new Uint8Array(1226), 9000000000n);
    assert.equal(bytes.length, 1234);
    assert.equal(decodeError(bytes), "w.safetensors: header length 9000000000 exceeds file size 1234");
    assert.equal(decodeError(rawFile("{}", [], 2n ** 64n - 1n)), "w.safetensors: header length 18446744073709551615 exceeds file size 10");
    assert.equal(decodeError(rawFile("{}", [], 3n)), "w.safetensors: header length 3 plus the 8-byte prefix exceeds file size 10");
  });

  test("header length above the 100 MB cap", () => {
    const bytes = new Uint8Array(8 + MAX_HEADER_BYTES + 8);
    new DataView(bytes.buffer).setBigUint64(0, BigInt(MAX_HEADER_BYTES + 8), true);
    assert.equal(decodeError(bytes), `w.safetensors: header length ${MAX_HEADER_BYTES + 8} exceeds the 100000000-byte limit`);
  });

  test("data shorter than the offsets (truncated file)", () => {
    const good = encodeSafetensors({ w: f32([2, 2], [1, 2, 3, 4]) });
    assert.equal(
      decodeError(good.subarray(0, good.length - 4)),
      'w.safetensors: tensor "w": data_offsets [0, 16] exceed the data buffer (12 bytes; file truncated?)',
    );
    assert.equal(decodeError(jsonFile({ w: { ...w, data_offsets: [16, 32] } }, 16)), 'w.safetensors: tensor "w": data_offsets [16, 32] exceed the data buffer (16 bytes; file truncated?)');
  });

  test("header not UTF-8, not JSON, not an object", () => {
    assert.equal(decodeError(rawFile(new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]))), "w.safetensors: header is not valid UTF-8");
    assert.match(decodeError(rawFile('{"w": ')), /^w\.safetensors: header is not valid JSON \(.+\)$/);
    assert.equal(decodeError(rawFile("[1, 2]  ")), 'w.safetensors: header must be a JSON object starting with "{", got "[1, 2]  "');
    assert.equal(decodeError(rawFile("")), "w.safetensors: header length 0 is too small for a JSON object");
  });

  test("entry missing dtype / shape / data_offsets, or not an object", () => {
    assert.equal(decodeError(jsonFile({ w: { shape: [2, 2], data_offsets: [0, 16] } }, 16)), 'w.safetensors: tensor "w": header entry is missing "dtype"');
    assert.equal(decodeError(jsonFile({ w: { dtype: "F32", data_offsets: [0, 16] } }, 16)), 'w.safetensors: tensor "w": header entry is missing "shape"');
    assert.equal(decodeError(jsonFile({ w: { dtype: "F32", shape: [2, 2] } }, 16)), 'w.safetensors: tensor "w": header entry is missing "data_offsets"');
    assert.equal(decodeError(jsonFile({ w: 3 }, 0)), 'w.safetensors: tensor "w": header entry must be an object, got 3');
  });

  test("entry fields of the wrong type", () => {
    assert.equal(decodeError(jsonFile({ w: { ...w, dtype: 32 } }, 16)), 'w.safetensors: tensor "w": dtype must be a string, got 32');
    assert.equal(decodeError(jsonFile({ w: { ...w, shape: "2x2" } }, 16)), 'w.safetensors: tensor "w": shape must be an array, got "2x2"');
    assert.equal(
      decodeError(jsonFile({ w: { ...w, data_offsets: [0] } }, 16)),
      'w.safetensors: tensor "w": data_offsets must be two non-negative integers [begin, end], got [0]',
    );
    assert.equal(
      decodeError(jsonFile({ w: { ...w, data_offsets: ["0", 16] } }, 16)),
      'w.safetensors: tensor "w": data_offsets must be two non-negative integers [begin, end], got ["0",16]',
    );
    assert.equal(decodeError(jsonFile({ w: { ...w, data_offsets: [16, 0] } }, 16)), 'w.safetensors: tensor "w": data_offsets [16, 0] have begin > end');
  });

  test("unknown and unsupported dtypes", () => {
    assert.equal(decodeError(jsonFile({ w: { ...w, dtype: "Q7" } }, 16)), 'w.safetensors: tensor "w": unknown dtype "Q7" (supported: F32, F64)');
    assert.equal(decodeError(jsonFile({ w: { ...w, dtype: "F16" } }, 16)), 'w.safetensors: tensor "w": unsupported dtype "F16" (supported: F32, F64)');
  });

  test("negative or non-integer shape", () => {
    assert.equal(decodeError(jsonFile({ w: { ...w, shape: [-2, -2] } }, 16)), 'w.safetensors: tensor "w": shape must hold non-negative integers, got [-2,-2]');
    assert.equal(decodeError(jsonFile({ w: { ...w, shape: [2, 2.5] } }, 16)), 'w.safetensors: tensor "w": shape must hold non-negative integers, got [2,2.5]');
  });

  test("byte count differs from prod(shape) * itemsize", () => {
    assert.equal(
      decodeError(jsonFile({ w: { ...w, data_offsets: [0, 12] } }, 12)),
      'w.safetensors: tensor "w": data_offsets [0, 12] span 12 bytes but shape [2, 2] of F32 needs 16',
    );
    assert.equal(
      decodeError(jsonFile({ w: { ...w, dtype: "F64" } }, 16)),
      'w.safetensors: tensor "w": data_offsets [0, 16] span 16 bytes but shape [2, 2] of F64 needs 32',
    );
  });

  test("overlapping offsets", () => {
    const h = { a: { dtype: "F32", shape: [4], data_offsets: [0, 16] }, b: { dtype: "F32", shape: [4], data_offsets: [8, 24] } };
    assert.equal(decodeError(jsonFile(h, 24)), 'w.safetensors: tensors "a" [0, 16] and "b" [8, 24] overlap');
    const same = { a: { dtype: "F32", shape: [4], data_offsets: [0, 16] }, b: { dtype: "F32", shape: [4], data_offsets: [0, 16] } };
    assert.equal(decodeError(jsonFile(same, 16)), 'w.safetensors: tensors "a" [0, 16] and "b" [0, 16] overlap');
  });

  test("gaps and trailing bytes: data not fully covered", () => {
    const gap = { a: { dtype: "F32", shape: [4], data_offsets: [0, 16] }, b: { dtype: "F32", shape: [4], data_offsets: [20, 36] } };
    assert.equal(decodeError(jsonFile(gap, 36)), "w.safetensors: data not fully covered: bytes [16, 20) belong to no tensor");
    const lead = { a: { dtype: "F32", shape: [1], data_offsets: [4, 8] } };
    assert.equal(decodeError(jsonFile(lead, 8)), "w.safetensors: data not fully covered: bytes [0, 4) belong to no tensor");
    const good = encodeSafetensors({ w: f32([2, 2], [1, 2, 3, 4]) });
    const trailing = new Uint8Array(good.length + 5);
    trailing.set(good);
    assert.equal(decodeError(trailing), "w.safetensors: data not fully covered: bytes [16, 21) belong to no tensor");
    assert.equal(decodeError(jsonFile({}, 3)), "w.safetensors: data not fully covered: bytes [0, 3) belong to no tensor");
  });

  test("__metadata__ not a string map", () => {
    assert.equal(decodeError(jsonFile({ __metadata__: { a: "x", b: 1 } }, 0)), 'w.safetensors: __metadata__ "b" must be a string, got 1');
    assert.equal(decodeError(jsonFile({ __metadata__: ["a"] }, 0)), 'w.safetensors: __metadata__ must be an object of strings, got ["a"]');
  });

  test("an empty header and buffer is a valid empty file", () => {
    const back = decodeSafetensors(rawFile("{}      "));
    assert.deepEqual(back, { tensors: {}, metadata: {} });
  });
});

// A tiny family defined here (independent of the real model files): w [n, d], b [n].
interface TinyConfig {
  d: number;
  n: number;
}
const tiny: ModelFamily<TinyConfig> = {
  name: "test-tiny-safetensors",
  summary: "test family",
  schema: { d: int("width", { min: 1, max: 64 }), n: int("rows", { min: 1, default: 2 }) },
  dims: (c) => ({ dIn: c.d, dOut: c.n }),
  widthKeys: ["d", "n"],
  shapes: (c) => ({ w: [c.n, c.d], b: [c.n] }),
  init: () => {
    throw new Error("unused");
  },
  forward: () => {
    throw new Error("unused");
  },
  initState: () => ({}),
  step: () => {
    throw new Error("unused");
  },
};

function tinyParams(d = 3, n = 2, data: typeof Float32Array | typeof Float64Array = Float64Array): Params<TinyConfig> {
  const w = new data(n * d).map((_, i) => i - 1.5);
  w[0] = -Infinity;
  const b = new data(n).fill(Infinity);
  return { family: tiny.name, config: { d, n }, tensors: { w: { shape: [n, d], data: w }, b: { shape: [n], data: b } } };
}

function loadError(bytes: Uint8Array, opts: ParamsLoadOptions = { family: tiny }): string {
  try {
    decodeParams(bytes, "m.safetensors", opts);
  } catch (e) {
    const m = (e as Error).message;
    assert.ok(!m.includes("\n"), `message must be one line: ${m}`);
    return m;
  }
  assert.fail("expected decodeParams to throw");
}

describe("model-aware safetensors", () => {
  test("paramsToSafetensors writes format/family/config metadata; round trip with a family object", () => {
    const p = tinyParams();
    const bytes = paramsToSafetensors(p);
    const dec = decodeSafetensors(bytes);
    assert.deepEqual(dec.metadata, { format: "gated-rnn-attention", family: tiny.name, config: '{"d":3,"n":2}' });
    const back = paramsFromSafetensors(dec, "m.safetensors", { family: tiny });
    assert.equal(back.family, tiny.name);
    assert.deepEqual(back.config, { d: 3, n: 2 });
    assert.deepEqual(Object.keys(back.tensors), ["w", "b"]); // shapes(config) order
    assertSameFloats(back.tensors.w.data, p.tensors.w.data);
    assertSameFloats(back.tensors.b.data, [Infinity, Infinity]);
  });

  test("gated-rnn round trip, family resolved by name from the registry", () => {
    const p = gatedRnn.init(Rng.fromSeed(7), { d_in: 2, hidden: 3, output_gating: 4, d_out: 1 }, "f32");
    p.tensors.in_x.data[0] = -Infinity;
    const back = decodeParams(paramsToSafetensors(p), "g.safetensors");
    assert.equal(back.family, "gated-rnn");
    assert.deepEqual(back.config, p.config);
    assert.deepEqual(Object.keys(back.tensors), ["in_x", "in_m", "lambda", "out_x", "out_m", "readout"]);
    for (const [k, t] of Object.entries(p.tensors)) {
      assert.deepEqual(back.tensors[k].shape, t.shape);
      assertSameFloats(back.tensors[k].data, t.data);
    }
    const wrong = encodeSafetensors({ ...p.tensors, lambda: f32([4], [0, 0, 0, 0]) }, decodeSafetensors(paramsToSafetensors(p)).metadata);
    assert.equal(
      loadError(wrong, {}),
      'm.safetensors: tensor "lambda": expected shape [3] for gated-rnn {"d_in":2,"hidden":3,"output_gating":4,"d_out":1}, got [4]',
    );
  });

  test("a family object and an explicit config work for files without metadata", () => {
    const p = tinyParams(2, 1);
    const bare = encodeSafetensors(p.tensors);
    assert.equal(loadError(bare, {}), 'm.safetensors: no "family" in __metadata__ (not written by gated-rnn-attention?); give the model family explicitly');
    assert.equal(loadError(bare, { family: tiny }), `m.safetensors: no "config" in __metadata__; give the ${tiny.name} config explicitly`);
    const back = decodeParams(bare, "m.safetensors", { family: tiny, config: { d: 2, n: 1 } });
    assert.deepEqual(back.config, { d: 2, n: 1 });
    const defaults = decodeParams(encodeSafetensors(tinyParams(2, 2).tensors), "m", { family: tiny, config: { d: 2 } });
    assert.deepEqual(defaults.config, { d: 2, n: 2 }); // schema defaults filled in
  });

  test("family mismatch, unknown family, bad config", () => {
    const bytes = paramsToSafetensors(tinyParams());
    assert.match(loadError(bytes, {}), /^m\.safetensors: unknown model family "test-tiny-safetensors" \(known: gated-rnn, .*\)$/);
    assert.equal(loadError(bytes, { family: "gated-rnn" }), `m.safetensors: file holds a "${tiny.name}" model, but "gated-rnn" was requested`);
    const badCfg = encodeSafetensors(tinyParams().tensors, { family: tiny.name, config: '{"d":0}' });
    assert.equal(loadError(badCfg), "m.safetensors: config.d: expected an integer in [1, 64], got 0");
    const notJson = encodeSafetensors(tinyParams().tensors, { family: tiny.name, config: "{d:" });
    assert.match(loadError(notJson), /^m\.safetensors: __metadata__ "config" is not valid JSON \(.+\)$/);
    assert.equal(loadError(bytes, { family: tiny, config: { d: 3, extra: 1 } }), "m.safetensors: config: unknown key \"extra\" (known: d, n)");
  });

  test("missing, unexpected, wrong-shape and mixed-dtype tensors", () => {
    const p = tinyParams();
    const meta = { family: tiny.name, config: '{"d":3,"n":2}' };
    assert.equal(loadError(encodeSafetensors({ w: p.tensors.w }, meta)), `m.safetensors: missing tensor "b" (${tiny.name} expects w, b)`);
    assert.equal(loadError(encodeSafetensors({}, meta)), `m.safetensors: missing tensors "w", "b" (${tiny.name} expects w, b)`);
    assert.equal(
      loadError(encodeSafetensors({ ...p.tensors, extra: f64([1], [0]) }, meta)),
      `m.safetensors: unexpected tensor "extra" (${tiny.name} expects w, b)`,
    );
    assert.equal(
      loadError(encodeSafetensors({ ...p.tensors, w: f64([3, 2], [1, 2, 3, 4, 5, 6]) }, meta)),
      `m.safetensors: tensor "w": expected shape [2, 3] for ${tiny.name} {"d":3,"n":2}, got [3, 2]`,
    );
    assert.equal(
      loadError(encodeSafetensors({ ...p.tensors, b: f32([2], [0, 0]) }, meta)),
      'm.safetensors: tensor "b" is F32 but "w" is F64; all tensors must share one dtype',
    );
    // A config given in opts overrides the file's and is validated against the tensors.
    assert.equal(loadError(paramsToSafetensors(p), { family: tiny, config: { d: 4 } }), `m.safetensors: tensor "w": expected shape [2, 4] for ${tiny.name} {"d":4,"n":2}, got [2, 3]`);
  });

  test("opts.dtype converts F64 <-> F32 (non-finite values kept)", () => {
    const p = tinyParams();
    const as32 = decodeParams(paramsToSafetensors(p), "m", { family: tiny, dtype: "f32" });
    assert.ok(as32.tensors.w.data instanceof Float32Array && as32.tensors.b.data instanceof Float32Array);
    assertSameFloats(as32.tensors.w.data, Float32Array.from(p.tensors.w.data));
    const as64 = decodeParams(paramsToSafetensors(tinyParams(3, 2, Float32Array)), "m", { family: tiny, dtype: "f64" });
    assert.ok(as64.tensors.w.data instanceof Float64Array);
    assertSameFloats(as64.tensors.b.data, [Infinity, Infinity]);
    const kept = decodeParams(paramsToSafetensors(tinyParams(3, 2, Float32Array)), "m", { family: tiny });
    assert.ok(kept.tensors.w.data instanceof Float32Array);
  });
});

describe("files", () => {
  let dir = "";
  const tmp = async () => (dir ||= await mkdtemp(join(tmpdir(), "gra-safetensors-")));
  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test("writeFileAtomic writes and overwrites, leaving no temp files", async () => {
    const d = await tmp();
    const f = join(d, "a.txt");
    await writeFileAtomic(f, "first");
    await writeFileAtomic(f, new Uint8Array([104, 105]));
    assert.equal(await readFile(f, "utf8"), "hi");
    assert.deepEqual(await readdir(d), ["a.txt"]);
  });

  test("writeFileAtomic into a missing directory fails with one line", async () => {
    const f = join(await tmp(), "nope", "a.txt");
    await assert.rejects(writeFileAtomic(f, "x"), { message: `${f}: cannot write (no such file or directory)` });
  });

  test("saveParams / loadParams and saveTensors / loadTensors round trip", async () => {
    const d = await tmp();
    const p = tinyParams(4, 3, Float32Array);
    const f = join(d, "model.safetensors");
    await saveParams(f, p);
    const back = await loadParams<TinyConfig>(f, { family: tiny });
    assert.deepEqual(back.config, { d: 4, n: 3 });
    assertSameFloats(back.tensors.w.data, p.tensors.w.data);
    const g = join(d, "t.safetensors");
    await saveTensors(g, { x: f64([2], [NaN, -Infinity]) }, { k: "v" });
    const t = await loadTensors(g);
    assert.deepEqual(t.metadata, { k: "v" });
    assertSameFloats(t.tensors.x.data, [NaN, -Infinity]);
  });

  test("load errors name the file", async () => {
    const d = await tmp();
    const missing = join(d, "missing.safetensors");
    await assert.rejects(loadTensors(missing), { message: `${missing}: cannot read (no such file or directory)` });
    const bad = join(d, "bad.safetensors");
    const bytes = new Uint8Array(1234);
    new DataView(bytes.buffer).setBigUint64(0, 9000000000n, true);
    await writeFile(bad, bytes);
    await assert.rejects(loadParams(bad), { message: `${bad}: header length 9000000000 exceeds file size 1234` });
    await assert.rejects(loadTensors(d), { message: `${d}: cannot read (is a directory)` });
  });
});
