/**
 * The fast backend: the Kernels interface over the AssemblyScript SIMD module (asm/kernels.ts, built into
 * build/kernels.wasm by `npm run build:wasm`), float32 only. Platform-neutral (browser or Node): give it the wasm
 * bytes or a compiled WebAssembly.Module; src/kernels/node.ts loads the file in Node.
 *
 * Memory: one WebAssembly.Memory of fixed size (initial = maximum, so views are never detached by a grow), created
 * here (or passed in) and imported by the module as `env.memory`. JS owns the layout: the first 64 KiB hold the
 * module's static data; above it a 64-byte-aligned bump allocator (`alloc`, `mark`, `release`) serves buffers;
 * the last 64 bytes are a guard (kernels may read up to 12 bytes past a buffer's end into lanes they discard).
 *
 * Arguments: a Float32Array whose buffer is this memory's buffer is passed by pointer (zero copy, subarray views
 * included); any other Float32Array is copied into scratch space in the arena for the call (outputs copied back),
 * and the scratch is released afterwards. Float64Arrays are refused: the fast kernels compute in float32.
 */
import type { Float } from "../tensor.ts";
import type { Kernels } from "./types.ts";

/** Options of createFastKernels / loadFastKernels. */
export interface FastKernelsOptions {
  /** Size of the wasm memory in bytes, rounded up to 64 KiB pages (default 256 MiB; untouched pages cost no RSS). */
  memoryBytes?: number;
  /** Back the memory by a SharedArrayBuffer (for worker threads); needs the shared build, kernels-shared.wasm. */
  shared?: boolean;
  /** Use this existing memory instead of creating one (memoryBytes and shared are then taken from it). */
  memory?: WebAssembly.Memory;
  /** Byte range [start, end) of the memory owned by this instance's allocator (default: all of it above 64 KiB). */
  arena?: { start: number; end: number };
}

/** The raw wasm exports: every buffer argument is a byte offset into the memory, an absent optional one is 0. */
export interface RawKernels {
  /** First byte after the module's static data. */
  heapBase(): number;
  /** Zeroes `bytes` bytes at p. */
  zero(p: number, bytes: number): void;
  /** dst[c,r] = src[r,c] for src [rows, cols]. */
  transpose(dst: number, src: number, rows: number, cols: number): void;
  /** Per run: C[m,n] = (acc ? C : 0) + A[m,k]·B[k,n] (operands [runs, size] back to back), work = mmWork(m,k,n) floats. */
  mm(C: number, A: number, B: number, m: number, k: number, n: number, acc: number, work: number, runs: number): void;
  /** Floats of scratch mm needs. */
  mmWork(m: number, k: number, n: number): number;
  /** Per run: C[m,n] = (acc ? C : 0) + A[k,m]ᵀ·B[k,n], work = mmTNWork(m,k,n) floats of scratch. */
  mmTN(C: number, A: number, B: number, m: number, k: number, n: number, acc: number, work: number, runs: number): void;
  /** Floats of scratch mmTN needs. */
  mmTNWork(m: number, k: number, n: number): number;
  /** Per run: C[m,n] = (acc ? C : 0) + A[m,k]·B[n,k]ᵀ, work = mmNTWork(m,k,n) floats of scratch. */
  mmNT(C: number, A: number, B: number, m: number, k: number, n: number, acc: number, work: number, runs: number): void;
  /** Floats of scratch mmNT needs. */
  mmNTWork(m: number, k: number, n: number): number;
  /** Per run: out[r,n] = (A·Xᵀ) ⊙ (A·Mᵀ) with optional factor outputs gx, gm; work = gateWork(r,k,n,gx != 0) floats. */
  gate(out: number, A: number, X: number, M: number, r: number, k: number, n: number, gx: number, gm: number, work: number, runs: number): void;
  /** Floats of scratch gate needs. */
  gateWork(r: number, k: number, n: number, hasGx: number): number;
  /** Per run: h[b,t] = lambda ⊙ h[b,t-1] + u[b,t], h[b,-1] = h0[b] or 0. */
  scan(h: number, u: number, lambda: number, B: number, T: number, N: number, h0: number, runs: number): void;
  /** Per run: g[b,t] = dh[b,t] + lambda ⊙ g[b,t+1], g[b,T] = 0. */
  scanReverse(g: number, dh: number, lambda: number, B: number, T: number, N: number, runs: number): void;
  /** Per run: complex h[b,t] = lambda · h[b,t-1] + u[b,t] on split real/imaginary buffers. */
  scanComplex(hRe: number, hIm: number, uRe: number, uIm: number, lRe: number, lIm: number, B: number, T: number, N: number, h0Re: number, h0Im: number, runs: number): void;
  /** Per run: complex g[b,t] = dh[b,t] + conj(lambda) · g[b,t+1]. */
  scanComplexReverse(gRe: number, gIm: number, dhRe: number, dhIm: number, lRe: number, lIm: number, B: number, T: number, N: number, runs: number): void;
  /** out = a ⊙ b over n floats. */
  mul(out: number, a: number, b: number, n: number): void;
  /** out = a + b over n floats. */
  add(out: number, a: number, b: number, n: number): void;
  /** y += alpha · x over n floats. */
  axpy(y: number, alpha: number, x: number, n: number): void;
  /** out = alpha · a over n floats. */
  scale(out: number, a: number, alpha: number, n: number): void;
  sigmoid(out: number, a: number, n: number): void;
  tanh(out: number, a: number, n: number): void;
  /** Per run: out[j] = (acc ? out[j] : 0) + Σ_i A[i,j], A [m,n]. */
  sumRows(out: number, A: number, m: number, n: number, acc: number, runs: number): void;
  /** Per run: out[i] = (acc ? out[i] : 0) + Σ_j A[i,j], A [m,n]. */
  sumCols(out: number, A: number, m: number, n: number, acc: number, runs: number): void;
  /** Eq. 1 in float64 on B sequences (Kernels.causalAttention64): x, y float32, WV, WK, WQ float64, work = causalAttention64Work bytes. */
  causalAttention64(y: number, x: number, WV: number, WK: number, WQ: number, B: number, T: number, d: number, dk: number, dv: number, work: number): void;
  /** Bytes of scratch causalAttention64 needs. */
  causalAttention64Work(T: number, d: number, dk: number, dv: number): number;
  /** AdamW in place on n float32 parameters p with gradients g and moments m, v (float64 per element; Kernels.adamw). */
  adamw(p: number, g: number, m: number, v: number, n: number, lr: number, b1: number, b2: number, c1: number, c2: number, eps: number, wd: number, scale: number): void;
}

/** The fast backend: Kernels plus access to its memory, raw exports and arena. */
export interface FastKernels extends Kernels {
  readonly name: "fast-f32";
  readonly dtype: "f32";
  /** The wasm memory every kernel runs on (fixed size). */
  readonly memory: WebAssembly.Memory;
  /** The raw wasm exports (pointer arguments). */
  readonly raw: RawKernels;
  /** First byte of the arena (64-byte aligned). */
  readonly arenaStart: number;
  /** End of the arena (exclusive). */
  readonly arenaEnd: number;
  /** A zero-filled float32 buffer of n elements inside the arena: [arenaStart, arenaEnd). */
  alloc(n: number): Float32Array;
  /**
   * Like alloc but the contents are whatever the arena held (not zeroed): for outputs a kernel overwrites entirely
   * (saves a memory pass per buffer). Released by `release` like any buffer.
   */
  allocUninit(n: number): Float32Array;
  /** Bytes currently allocated in the arena. */
  used(): number;
  /** True when a is passed to the kernels without copying (a float32 view into this memory). */
  owns(a: Float): boolean;
}

const PAGE = 65536;
const RESERVED = PAGE; // the module's static data lives below this
const GUARD = 64; // bytes at the end of the memory kernels may read (never write) past a buffer
const DEFAULT_MEMORY_BYTES = 256 * 1024 * 1024;
const align64 = (x: number): number => Math.ceil(x / 64) * 64;

/** Compile (unless given a Module) and instantiate the fast kernels module over a fresh or given memory. */
export async function createFastKernels(
  source: BufferSource | WebAssembly.Module,
  opts: FastKernelsOptions = {},
): Promise<FastKernels> {
  const module = source instanceof WebAssembly.Module ? source : await WebAssembly.compile(source);
  const memory = makeMemory(opts);
  let instance: WebAssembly.Instance;
  try {
    instance = await WebAssembly.instantiate(module, imports(memory));
  } catch (e) {
    throw linkError(e, memory);
  }
  return wrap(instance, memory, opts);
}

/** createFastKernels for an already compiled module, synchronously (Node; browsers may refuse big sync work). */
export function createFastKernelsSync(module: WebAssembly.Module, opts: FastKernelsOptions = {}): FastKernels {
  const memory = makeMemory(opts);
  let instance: WebAssembly.Instance;
  try {
    instance = new WebAssembly.Instance(module, imports(memory));
  } catch (e) {
    throw linkError(e, memory);
  }
  return wrap(instance, memory, opts);
}

function isShared(memory: WebAssembly.Memory): boolean {
  return typeof SharedArrayBuffer !== "undefined" && memory.buffer instanceof SharedArrayBuffer;
}

function makeMemory(opts: FastKernelsOptions): WebAssembly.Memory {
  if (opts.memory) return opts.memory;
  const bytes = opts.memoryBytes ?? DEFAULT_MEMORY_BYTES;
  if (!(Number.isFinite(bytes) && bytes > 0)) throw new Error(`fast kernels: memoryBytes must be a positive number, got ${bytes}`);
  const pages = Math.max(2, Math.ceil(bytes / PAGE));
  if (pages > 65536) throw new Error(`fast kernels: memoryBytes ${bytes} exceeds the 4 GiB wasm32 limit`);
  try {
    return new WebAssembly.Memory({ initial: pages, maximum: pages, shared: !!opts.shared });
  } catch (e) {
    throw new Error(`fast kernels: cannot create a ${pages * PAGE}-byte${opts.shared ? " shared" : ""} memory (${(e as Error).message}); try a smaller memoryBytes`);
  }
}

function imports(memory: WebAssembly.Memory): WebAssembly.Imports {
  return {
    env: {
      memory,
      abort: (_msg: number, _file: number, line: number, col: number) => {
        throw new Error(`fast kernels: wasm abort at ${line}:${col}`);
      },
    },
  };
}

function linkError(e: unknown, memory: WebAssembly.Memory): Error {
  if (e instanceof WebAssembly.LinkError) {
    const shared = isShared(memory);
    return new Error(
      `fast kernels: the module does not accept a ${shared ? "shared" : "non-shared"} memory (${e.message}); ` +
        `use build/kernels${shared ? "-shared" : ""}.wasm${shared ? " for shared: true" : " (or pass shared: true with kernels-shared.wasm)"}`,
    );
  }
  return e as Error;
}

const IN = 0;
const OUT = 1;
const INOUT = 2;
type Mode = typeof IN | typeof OUT | typeof INOUT;

function wrap(instance: WebAssembly.Instance, memory: WebAssembly.Memory, opts: FastKernelsOptions): FastKernels {
  const raw = instance.exports as unknown as RawKernels;
  const buf = memory.buffer;
  const f32 = new Float32Array(buf);
  const memBytes = buf.byteLength;
  const floor = Math.max(RESERVED, align64(raw.heapBase()));
  let start = floor;
  let end = memBytes - GUARD;
  if (opts.arena) {
    const a = opts.arena;
    if (!(a.start >= floor && a.end <= memBytes - GUARD && a.start < a.end)) {
      throw new Error(`fast kernels: arena [${a.start}, ${a.end}) must lie within [${floor}, ${memBytes - GUARD})`);
    }
    start = align64(a.start);
    end = a.end;
  }
  if (end - start < 64) throw new Error(`fast kernels: memory of ${memBytes} bytes leaves no arena; use a larger memoryBytes`);
  let top = start;

  // Per-call bookkeeping for arguments that live outside the memory (copied into scratch).
  const seenArr: Float32Array[] = [];
  const seenPtr: number[] = [];
  const seenN: number[] = [];
  const backArr: Float32Array[] = [];
  const backPtr: number[] = [];
  const backN: number[] = [];

  function bump(bytes: number): number {
    const p = top;
    const nt = align64(p + bytes);
    if (nt > end) {
      throw new Error(
        `fast kernels: arena full: requested ${bytes} bytes with ${top - start} of ${end - start} in use; ` +
          `pass a larger memoryBytes (now ${memBytes}) to createFastKernels/loadFastKernels`,
      );
    }
    top = nt;
    return p;
  }

  const ownEnd = memBytes - GUARD;
  /** Zero-copy condition: a float32 view into this memory, above the module's data and below the end guard. */
  function owns(a: Float): boolean {
    return a instanceof Float32Array && ownedPtr(a) >= 0;
  }
  /** byteOffset of a float32 view when it qualifies for zero copy, else -1 (reads .buffer and .byteOffset once: they are slow getters). */
  function ownedPtr(a: Float32Array): number {
    if (a.buffer !== buf) return -1;
    const p = a.byteOffset;
    return p >= RESERVED && p + 4 * a.length <= ownEnd ? p : -1;
  }

  function f32Of(a: Float, op: string, name: string, n: number): Float32Array {
    if (!(a instanceof Float32Array)) {
      throw new Error(`fast kernels compute in float32: ${op} got a ${(a as object)?.constructor?.name ?? typeof a} for ${name}`);
    }
    if (a.length < n) throw new Error(`fast ${op}: ${name} has ${a.length} elements, needs ${n}`);
    return a;
  }

  /** Pointer of argument `a` (n floats) for a call: zero copy when in memory, else scratch (copied in/back per mode). */
  function ptr(a: Float, n: number, op: string, name: string, mode: Mode): number {
    const v = f32Of(a, op, name, n);
    let p = ownedPtr(v);
    if (p >= 0) return p;
    for (let i = 0; i < seenArr.length; i++) {
      if (seenArr[i] === v && seenN[i] >= n) {
        p = seenPtr[i];
        break;
      }
    }
    if (p < 0) {
      p = bump(n * 4);
      if (mode !== OUT) f32.set(n === v.length ? v : v.subarray(0, n), p >>> 2);
      seenArr.push(v);
      seenPtr.push(p);
      seenN.push(n);
    }
    if (mode !== IN) {
      backArr.push(v);
      backPtr.push(p);
      backN.push(n);
    }
    return p;
  }

  function opt(a: Float | undefined, n: number, op: string, name: string, mode: Mode): number {
    return a ? ptr(a, n, op, name, mode) : 0;
  }

  /** Copies scratch outputs back into their foreign arrays. */
  function flush(): void {
    for (let i = 0; i < backArr.length; i++) {
      const p = backPtr[i] >>> 2;
      backArr[i].set(f32.subarray(p, p + backN[i]));
    }
  }

  /** Runs one kernel call: its pointers (scratch copies of foreign arrays) are made inside fn; then outputs copied back and scratch released. */
  function scoped(fn: () => void): void {
    const t = top;
    try {
      fn();
      flush();
    } finally {
      done(t);
    }
  }

  /** Ends a call: forget the scratch bookkeeping and release scratch memory back to `mark`. */
  function done(mark: number): void {
    top = mark;
    if (seenArr.length > 0) seenArr.length = seenPtr.length = seenN.length = 0;
    if (backArr.length > 0) backArr.length = backPtr.length = backN.length = 0;
  }

  /** Throws unless every size is an integer in [0, 2^31) and the run count one in [1, 2^31). */
  function dims(op: string, a: number, b = 0, c = 0, runs = 1): void {
    if ((a | 0) !== a || a < 0 || (b | 0) !== b || b < 0 || (c | 0) !== c || c < 0) {
      throw new Error(`fast ${op}: sizes must be non-negative integers, got ${[a, b, c].join(", ")}`);
    }
    if ((runs | 0) !== runs || runs < 1) throw new Error(`fast ${op}: runs must be a positive integer, got ${runs}`);
  }

  function work(floats: number): number {
    return floats > 0 ? bump(floats * 4) : 0;
  }

  const k: FastKernels = {
    name: "fast-f32",
    dtype: "f32",
    memory,
    raw,
    arenaStart: start,
    arenaEnd: end,

    alloc(n: number): Float32Array {
      dims("alloc", n);
      const p = bump(n * 4);
      if (n > 0) raw.zero(p, n * 4);
      return new Float32Array(buf, p, n);
    },
    allocUninit(n: number): Float32Array {
      dims("allocUninit", n);
      return new Float32Array(buf, bump(n * 4), n);
    },
    mark: () => top,
    release(mark: number): void {
      if (!(Number.isInteger(mark) && mark >= start && mark <= top)) {
        throw new Error(`fast kernels: release(${mark}) is not a live mark (arena top ${top}, start ${start}); marks must be released in stack order`);
      }
      top = mark;
    },
    used: () => top - start,
    owns,

    mm(C, A, B, m, kk, n, acc = false, runs = 1) {
      dims("mm", m, kk, n, runs);
      scoped(() => {
        const pa = ptr(A, runs * m * kk, "mm", "A", IN);
        const pb = ptr(B, runs * kk * n, "mm", "B", IN);
        const pc = ptr(C, runs * m * n, "mm", "C", acc ? INOUT : OUT);
        const w = work(raw.mmWork(m, kk, n));
        raw.mm(pc, pa, pb, m, kk, n, acc ? 1 : 0, w, runs);
      });
    },
    mmNT(C, A, B, m, kk, n, acc = false, runs = 1) {
      dims("mmNT", m, kk, n, runs);
      scoped(() => {
        const pa = ptr(A, runs * m * kk, "mmNT", "A", IN);
        const pb = ptr(B, runs * n * kk, "mmNT", "B", IN);
        const pc = ptr(C, runs * m * n, "mmNT", "C", acc ? INOUT : OUT);
        const w = work(raw.mmNTWork(m, kk, n));
        raw.mmNT(pc, pa, pb, m, kk, n, acc ? 1 : 0, w, runs);
      });
    },
    mmTN(C, A, B, m, kk, n, acc = false, runs = 1) {
      dims("mmTN", m, kk, n, runs);
      scoped(() => {
        const pa = ptr(A, runs * kk * m, "mmTN", "A", IN);
        const pb = ptr(B, runs * kk * n, "mmTN", "B", IN);
        const pc = ptr(C, runs * m * n, "mmTN", "C", acc ? INOUT : OUT);
        const w = work(raw.mmTNWork(m, kk, n));
        raw.mmTN(pc, pa, pb, m, kk, n, acc ? 1 : 0, w, runs);
      });
    },

    gate(out, A, X, M, r, kk, n, gx, gm, runs = 1) {
      dims("gate", r, kk, n, runs);
      scoped(() => {
        const pa = ptr(A, runs * r * kk, "gate", "A", IN);
        const px = ptr(X, runs * n * kk, "gate", "X", IN);
        const pm = ptr(M, runs * n * kk, "gate", "M", IN);
        const po = ptr(out, runs * r * n, "gate", "out", OUT);
        const pgx = opt(gx, runs * r * n, "gate", "gx", OUT);
        const pgm = opt(gm, runs * r * n, "gate", "gm", OUT);
        const w = work(raw.gateWork(r, kk, n, pgx !== 0 ? 1 : 0));
        raw.gate(po, pa, px, pm, r, kk, n, pgx, pgm, w, runs);
      });
    },

    scan(h, u, lambda, B, T, N, h0, runs = 1) {
      dims("scan", B, T, N, runs);
      scoped(() => {
        const n = runs * B * T * N;
        const pu = ptr(u, n, "scan", "u", IN);
        const pl = ptr(lambda, runs * N, "scan", "lambda", IN);
        const p0 = opt(h0, runs * B * N, "scan", "h0", IN);
        const ph = ptr(h, n, "scan", "h", OUT);
        raw.scan(ph, pu, pl, B, T, N, p0, runs);
      });
    },
    scanReverse(g, dh, lambda, B, T, N, runs = 1) {
      dims("scanReverse", B, T, N, runs);
      scoped(() => {
        const n = runs * B * T * N;
        const pd = ptr(dh, n, "scanReverse", "dh", IN);
        const pl = ptr(lambda, runs * N, "scanReverse", "lambda", IN);
        const pg = ptr(g, n, "scanReverse", "g", OUT);
        raw.scanReverse(pg, pd, pl, B, T, N, runs);
      });
    },
    scanComplex(hRe, hIm, uRe, uIm, lRe, lIm, B, T, N, h0Re, h0Im, runs = 1) {
      dims("scanComplex", B, T, N, runs);
      scoped(() => {
        const n = runs * B * T * N;
        const pur = ptr(uRe, n, "scanComplex", "uRe", IN);
        const pui = ptr(uIm, n, "scanComplex", "uIm", IN);
        const plr = ptr(lRe, runs * N, "scanComplex", "lRe", IN);
        const pli = ptr(lIm, runs * N, "scanComplex", "lIm", IN);
        const p0r = opt(h0Re, runs * B * N, "scanComplex", "h0Re", IN);
        const p0i = opt(h0Im, runs * B * N, "scanComplex", "h0Im", IN);
        const phr = ptr(hRe, n, "scanComplex", "hRe", OUT);
        const phi = ptr(hIm, n, "scanComplex", "hIm", OUT);
        raw.scanComplex(phr, phi, pur, pui, plr, pli, B, T, N, p0r, p0i, runs);
      });
    },
    scanComplexReverse(gRe, gIm, dhRe, dhIm, lRe, lIm, B, T, N, runs = 1) {
      dims("scanComplexReverse", B, T, N, runs);
      scoped(() => {
        const n = runs * B * T * N;
        const pdr = ptr(dhRe, n, "scanComplexReverse", "dhRe", IN);
        const pdi = ptr(dhIm, n, "scanComplexReverse", "dhIm", IN);
        const plr = ptr(lRe, runs * N, "scanComplexReverse", "lRe", IN);
        const pli = ptr(lIm, runs * N, "scanComplexReverse", "lIm", IN);
        const pgr = ptr(gRe, n, "scanComplexReverse", "gRe", OUT);
        const pgi = ptr(gIm, n, "scanComplexReverse", "gIm", OUT);
        raw.scanComplexReverse(pgr, pgi, pdr, pdi, plr, pli, B, T, N, runs);
      });
    },

    mul(out, a, b, n) {
      dims("mul", n);
      scoped(() => {
        const pa = ptr(a, n, "mul", "a", IN);
        const pb = ptr(b, n, "mul", "b", IN);
        const po = ptr(out, n, "mul", "out", OUT);
        raw.mul(po, pa, pb, n);
      });
    },
    add(out, a, b, n) {
      dims("add", n);
      scoped(() => {
        const pa = ptr(a, n, "add", "a", IN);
        const pb = ptr(b, n, "add", "b", IN);
        const po = ptr(out, n, "add", "out", OUT);
        raw.add(po, pa, pb, n);
      });
    },
    axpy(y, alpha, x, n) {
      dims("axpy", n);
      scoped(() => {
        const px = ptr(x, n, "axpy", "x", IN);
        const py = ptr(y, n, "axpy", "y", INOUT);
        raw.axpy(py, alpha, px, n);
      });
    },
    scale(out, a, alpha, n) {
      dims("scale", n);
      scoped(() => {
        const pa = ptr(a, n, "scale", "a", IN);
        const po = ptr(out, n, "scale", "out", OUT);
        raw.scale(po, pa, alpha, n);
      });
    },
    sigmoid(out, a, n) {
      dims("sigmoid", n);
      scoped(() => {
        const pa = ptr(a, n, "sigmoid", "a", IN);
        const po = ptr(out, n, "sigmoid", "out", OUT);
        raw.sigmoid(po, pa, n);
      });
    },
    tanh(out, a, n) {
      dims("tanh", n);
      scoped(() => {
        const pa = ptr(a, n, "tanh", "a", IN);
        const po = ptr(out, n, "tanh", "out", OUT);
        raw.tanh(po, pa, n);
      });
    },
    sumRows(out, A, m, n, acc = false, runs = 1) {
      dims("sumRows", m, n, runs);
      scoped(() => {
        const pa = ptr(A, runs * m * n, "sumRows", "A", IN);
        const po = ptr(out, runs * n, "sumRows", "out", acc ? INOUT : OUT);
        raw.sumRows(po, pa, m, n, acc ? 1 : 0, runs);
      });
    },
    sumCols(out, A, m, n, acc = false, runs = 1) {
      dims("sumCols", m, n, runs);
      scoped(() => {
        const pa = ptr(A, runs * m * n, "sumCols", "A", IN);
        const po = ptr(out, runs * m, "sumCols", "out", acc ? INOUT : OUT);
        raw.sumCols(po, pa, m, n, acc ? 1 : 0, runs);
      });
    },
    causalAttention64(y, x, WV, WK, WQ, B, T, d, dk, dv) {
      dims("causalAttention64", B, T, d);
      dims("causalAttention64", dk, dv);
      if (WV.length < dv * d || WK.length < dk * d || WQ.length < dk * d) throw new Error(`fast causalAttention64: W_V needs ${dv * d}, W_K and W_Q ${dk * d} float64 elements`);
      scoped(() => {
        const px = ptr(x, B * T * d, "causalAttention64", "x", IN);
        const py = ptr(y, B * T * dv, "causalAttention64", "y", OUT);
        // the float64 weights copied into the arena for the call
        const pw = bump(8 * (dv + 2 * dk) * d);
        const w64 = new Float64Array(buf, pw, (dv + 2 * dk) * d);
        w64.set(WV.subarray(0, dv * d), 0);
        w64.set(WK.subarray(0, dk * d), dv * d);
        w64.set(WQ.subarray(0, dk * d), (dv + dk) * d);
        const w = bump(raw.causalAttention64Work(T, d, dk, dv));
        raw.causalAttention64(py, px, pw, pw + 8 * dv * d, pw + 8 * (dv + dk) * d, B, T, d, dk, dv, w);
      });
    },
    adamw(p, g, m, v, n, s) {
      dims("adamw", n);
      scoped(() => {
        const pg = ptr(g, n, "adamw", "g", IN);
        const pp = ptr(p, n, "adamw", "p", INOUT);
        const pm = ptr(m, n, "adamw", "m", INOUT);
        const pv = ptr(v, n, "adamw", "v", INOUT);
        raw.adamw(pp, pg, pm, pv, n, s.lr, s.beta1, s.beta2, s.c1, s.c2, s.eps, s.wd, s.scale);
      });
    },
  };
  return k;
}
