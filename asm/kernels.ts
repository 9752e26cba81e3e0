// Fast float32 kernels in AssemblyScript with 128-bit SIMD (f32x4). Compiled by scripts/build-wasm.mjs into
// build/kernels.wasm (and build/kernels-shared.wasm for a shared memory). The module imports its memory ("env.memory")
// and allocates nothing: every argument is a byte offset into that memory chosen by the JS side
// (src/kernels/fast.ts), which also provides the `work` scratch regions some kernels need. Matrices are row-major
// float32; `m, k, n` follow C[m,n] = A[m,k]·B[k,n] as in src/kernels/types.ts. An optional pointer is 0 when absent.
//
// Runs: every export except the elementwise ones and adamw takes a trailing `runs` (>= 1): it computes `runs`
// independent problems whose operands lie back to back (operand X of run r at X + r·size(X) bytes) by looping, inside
// the export, over the same per-run code; so each run's result is bit for bit that of a call on that run alone. The
// elementwise kernels take n·runs (every element is computed the same way wherever it lies in the buffer).
//
// Partial vectors: loads may read up to 12 bytes past the end of a buffer (lanes that are then discarded or masked);
// the JS side keeps a 64-byte guard at the end of the memory so such reads stay in bounds. Stores never go past the end.

/** Reduction rows per block of mm/mmNT (A[m,k] operand): k <= 128 in the models, so usually one block. */
const KC_NN: i32 = 128;
/** Reduction rows per block of mmTN (weight gradients over 2048 rows; 64..512 measured within noise, 2048 slower). */
const KC_TN: i32 = 128;

/** First byte after the module's static data: the JS arena must start at or above this. */
export function heapBase(): usize {
  return __heap_base;
}

/** Zeroes `bytes` bytes at p (bulk memory.fill: a memset, twice as fast as TypedArray.fill on a shared memory). */
export function zero(p: usize, bytes: usize): void {
  memory.fill(p, 0, bytes);
}

/**
 * c + a·b per lane: one fused multiply-add (`f32x4.relaxed_madd`) in a build with relaxed SIMD enabled
 * (`--enable relaxed-simd`: build/kernels-relaxed*.wasm), else a multiply then an add (the plain SIMD builds).
 */
@inline function madd(c: v128, a: v128, b: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(c, f32x4.mul(a, b));
}

/**
 * Flush to zero below TINY = 2^-63 in magnitude (NaN and ±Inf kept). WebAssembly has no flush-to-zero mode, and on
 * Intel every multiply-add with a denormal operand or result takes a ~100-cycle microcode assist: in a long training
 * run the dead neurons' activations and gradients fall to ~1e-20, their products into the denormal range, and the
 * weight-gradient products ran 25x slower (a 1M-step run 10x slower after 200k steps). Values below 2^-63 leave the
 * elementwise kernels (gating products, scans) as 0, so no product of two of them can be denormal.
 */
const TINY: f32 = 1.0842021724855044e-19; // 2^-63: the square of anything larger is a normal float32

/** v with the lanes whose magnitude is below TINY set to +0 (NaN lanes kept). */
@inline function flush4(v: v128): v128 {
  return v128.andnot(v, f32x4.lt(f32x4.abs(v), f32x4.splat(TINY)));
}

/** x, or 0 when |x| < TINY (NaN kept). */
@inline function flush1(x: f32): f32 {
  return Mathf.abs(x) < TINY ? 0 : x;
}

/** Stores the first `cols` (1..4) lanes of v at p. */
@inline function storePartial(p: usize, v: v128, cols: i32): void {
  if (cols >= 4) {
    v128.store(p, v);
  } else {
    store<f32>(p, f32x4.extract_lane(v, 0));
    if (cols > 1) store<f32>(p, f32x4.extract_lane(v, 1), 4);
    if (cols > 2) store<f32>(p, f32x4.extract_lane(v, 2), 8);
  }
}

/** Stores c (accumulating onto what is at p when acc) keeping only the first `cols` lanes. */
@inline function putRow(p: usize, c: v128, acc: bool, cols: i32): void {
  let v = c;
  if (acc) v = f32x4.add(v128.load(p), v);
  storePartial(p, v, cols);
}

/** Stores c0 at p and the first `cols` - 4 (1..4) lanes of c1 at p+16 (accumulating when acc). */
@inline function putRow8(p: usize, c0: v128, c1: v128, acc: bool, cols: i32): void {
  let v0 = c0;
  let v1 = c1;
  if (acc) {
    v0 = f32x4.add(v128.load(p), v0);
    v1 = f32x4.add(v128.load(p, 16), v1);
  }
  v128.store(p, v0);
  storePartial(p + 16, v1, cols - 4);
}

/**
 * C tile [rows<=4, cols in 5..8] (+)= sum_p A[r, p] · B[p, 0..8] for A with contiguous rows: A[r, p] at a + 4r + p·ps
 * (bytes; the transposed operand of mmTN, or a packed panel). B rows are ldb bytes apart, C rows ldc bytes apart.
 * Rows >= `rows` are computed from the panel's padding and not stored; B lanes past `cols` are read but discarded.
 */
function tile4x8T(C: usize, ldc: usize, a: usize, ps: usize, B: usize, ldb: usize, k: i32, acc: bool, rows: i32, cols: i32): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  let b = B;
  for (let p = 0; p < k; p++) {
    const b0 = v128.load(b);
    const b1 = v128.load(b, 16);
    let x = v128.load32_splat(a);
    c00 = madd(c00, x, b0);
    c01 = madd(c01, x, b1);
    x = v128.load32_splat(a, 4);
    c10 = madd(c10, x, b0);
    c11 = madd(c11, x, b1);
    x = v128.load32_splat(a, 8);
    c20 = madd(c20, x, b0);
    c21 = madd(c21, x, b1);
    x = v128.load32_splat(a, 12);
    c30 = madd(c30, x, b0);
    c31 = madd(c31, x, b1);
    a += ps;
    b += ldb;
  }
  putRow8(C, c00, c01, acc, cols);
  if (rows > 1) putRow8(C + ldc, c10, c11, acc, cols);
  if (rows > 2) putRow8(C + 2 * ldc, c20, c21, acc, cols);
  if (rows > 3) putRow8(C + 3 * ldc, c30, c31, acc, cols);
}

/** Like tile4x8T for [rows<=4, cols<=4] tiles (B lanes past `cols` are read but discarded). */
function tile4x4T(C: usize, ldc: usize, a: usize, ps: usize, B: usize, ldb: usize, k: i32, acc: bool, rows: i32, cols: i32): void {
  let c0 = f32x4.splat(0), c1 = f32x4.splat(0), c2 = f32x4.splat(0), c3 = f32x4.splat(0);
  let b = B;
  for (let p = 0; p < k; p++) {
    const bv = v128.load(b);
    c0 = madd(c0, v128.load32_splat(a), bv);
    c1 = madd(c1, v128.load32_splat(a, 4), bv);
    c2 = madd(c2, v128.load32_splat(a, 8), bv);
    c3 = madd(c3, v128.load32_splat(a, 12), bv);
    a += ps;
    b += ldb;
  }
  putRow(C, c0, acc, cols);
  if (rows > 1) putRow(C + ldc, c1, acc, cols);
  if (rows > 2) putRow(C + 2 * ldc, c2, acc, cols);
  if (rows > 3) putRow(C + 3 * ldc, c3, acc, cols);
}

/**
 * Packs rows i..i+rows-1 (rows <= 4) of a row-major A (rows rs bytes apart) over kb reduction steps into the panel
 * P[p, r] = A[i + r, p] ([kb, 4], 16 bytes per p; rows >= `rows` zero), the operand layout of the tiles above.
 */
function packPanel(P: usize, a: usize, rs: usize, rows: i32, kb: i32): void {
  if (rows < 4) memory.fill(P, 0, (<usize>kb) << 4);
  const k4 = rows == 4 ? kb & ~3 : 0;
  let p = 0;
  for (; p < k4; p += 4) {
    const q = (<usize>p) << 2;
    const x0 = v128.load(a + q);
    const x1 = v128.load(a + rs + q);
    const x2 = v128.load(a + 2 * rs + q);
    const x3 = v128.load(a + 3 * rs + q);
    const t0 = v128.shuffle<f32>(x0, x1, 0, 4, 1, 5);
    const t1 = v128.shuffle<f32>(x2, x3, 0, 4, 1, 5);
    const t2 = v128.shuffle<f32>(x0, x1, 2, 6, 3, 7);
    const t3 = v128.shuffle<f32>(x2, x3, 2, 6, 3, 7);
    const d = P + ((<usize>p) << 4);
    v128.store(d, v128.shuffle<f32>(t0, t1, 0, 1, 4, 5));
    v128.store(d, v128.shuffle<f32>(t0, t1, 2, 3, 6, 7), 16);
    v128.store(d, v128.shuffle<f32>(t2, t3, 0, 1, 4, 5), 32);
    v128.store(d, v128.shuffle<f32>(t2, t3, 2, 3, 6, 7), 48);
  }
  for (; p < kb; p++) {
    const q = (<usize>p) << 2;
    const d = P + ((<usize>p) << 4);
    for (let r = 0; r < rows; r++) store<f32>(d + ((<usize>r) << 2), load<f32>(a + <usize>r * rs + q));
  }
}

/** One output row: C[0, 0..16] (+)= sum_p a[p]·B[p, 0..16] (a row of A at a + p·ps). */
function tile1x16(C: usize, a: usize, ps: usize, B: usize, ldb: usize, k: i32, acc: bool): void {
  let c0 = f32x4.splat(0), c1 = f32x4.splat(0), c2 = f32x4.splat(0), c3 = f32x4.splat(0);
  let b = B;
  for (let p = 0; p < k; p++) {
    const x = v128.load32_splat(a);
    c0 = madd(c0, x, v128.load(b));
    c1 = madd(c1, x, v128.load(b, 16));
    c2 = madd(c2, x, v128.load(b, 32));
    c3 = madd(c3, x, v128.load(b, 48));
    a += ps;
    b += ldb;
  }
  putRow(C, c0, acc, 4);
  putRow(C + 16, c1, acc, 4);
  putRow(C + 32, c2, acc, 4);
  putRow(C + 48, c3, acc, 4);
}

/** One output row, cols <= 4 columns: C[0, 0..cols] (+)= sum_p a[p]·B[p, 0..cols]. */
function tile1x4(C: usize, a: usize, ps: usize, B: usize, ldb: usize, k: i32, acc: bool, cols: i32): void {
  let c0 = f32x4.splat(0), c1 = f32x4.splat(0);
  let b = B;
  let p = 0;
  // Two accumulators break the add dependency chain.
  for (; p + 2 <= k; p += 2) {
    c0 = madd(c0, v128.load32_splat(a), v128.load(b));
    c1 = madd(c1, v128.load32_splat(a + ps), v128.load(b + ldb));
    a += 2 * ps;
    b += 2 * ldb;
  }
  if (p < k) c0 = madd(c0, v128.load32_splat(a), v128.load(b));
  putRow(C, f32x4.add(c0, c1), acc, cols);
}

/** Floats of the packed A panel gemm needs for a row-major A (4 rows by at most kc reduction steps). */
const PANEL: i32 = 4 * max(KC_NN, KC_TN);

/**
 * General product C[m,n] (+)= A·B[k,n] where A's element (i,p) is at A + i·rsA + p·psA (bytes): rsA = 4k, psA = 4 for
 * A[m,k] (mm; each 4-row panel is first packed into `panel`, PANEL floats) and rsA = 4, psA = 4m for A[k,m]ᵀ (mmTN,
 * whose rows are already contiguous: no packing, panel unused). The reduction over p is blocked in chunks of kc rows.
 * With G != 0, each finished 4-row panel of C is also multiplied into out = G ⊙ C (G, out [m,n]; out may be C) while
 * it is in cache: the gating product's second factor times its first.
 */
function gemm(
  C: usize, A: usize, rsA: usize, psA: usize, B: usize, m: i32, k: i32, n: i32, acc: bool, kc: i32, panel: usize,
  G: usize, out: usize,
): void {
  const ldc = (<usize>n) << 2;
  if (m <= 0 || n <= 0) return;
  if (k <= 0) {
    if (!acc) memory.fill(C, 0, <usize>m * ldc);
    return;
  }
  const packed = rsA != 4;
  for (let p0 = 0; p0 < k; p0 += kc) {
    const kb = min(kc, k - p0);
    const accb = acc || p0 > 0;
    const Ap = A + <usize>p0 * psA;
    const Bp = B + <usize>p0 * ldc;
    for (let i = 0; i < m; i += 4) {
      const rows = min(4, m - i);
      let a = Ap + <usize>i * rsA;
      const Ci = C + <usize>i * ldc;
      let j = 0;
      if (rows == 1) {
        for (; j + 16 <= n; j += 16) tile1x16(Ci + (<usize>j << 2), a, psA, Bp + (<usize>j << 2), ldc, kb, accb);
        for (; j < n; j += 4) tile1x4(Ci + (<usize>j << 2), a, psA, Bp + (<usize>j << 2), ldc, kb, accb, min(4, n - j));
      } else {
        let ps = psA;
        if (packed) {
          packPanel(panel, a, rsA, rows, kb);
          a = panel;
          ps = 16;
        }
        for (; j + 4 < n; j += 8) tile4x8T(Ci + (<usize>j << 2), ldc, a, ps, Bp + (<usize>j << 2), ldc, kb, accb, rows, min(8, n - j));
        if (j < n) tile4x4T(Ci + (<usize>j << 2), ldc, a, ps, Bp + (<usize>j << 2), ldc, kb, accb, rows, n - j);
      }
      if (G != 0 && p0 + kb >= k) {
        const o = <usize>i * ldc;
        mul(out + o, G + o, Ci, rows * n);
      }
    }
  }
}

/** Lane sums of four vectors: [Σa, Σb, Σc, Σd]. */
@inline function hsum4(a: v128, b: v128, c: v128, d: v128): v128 {
  const t0 = f32x4.add(v128.shuffle<f32>(a, b, 0, 4, 1, 5), v128.shuffle<f32>(a, b, 2, 6, 3, 7));
  const t1 = f32x4.add(v128.shuffle<f32>(c, d, 0, 4, 1, 5), v128.shuffle<f32>(c, d, 2, 6, 3, 7));
  return f32x4.add(v128.shuffle<f32>(t0, t1, 0, 1, 4, 5), v128.shuffle<f32>(t0, t1, 2, 3, 6, 7));
}

/** Lane mask with the first `r` (0..4) lanes all ones. */
@inline function laneMask(r: i32): v128 {
  return i32x4.lt_s(i32x4(0, 1, 2, 3), i32x4.splat(r));
}

/**
 * Dot-product tile for C = A·Bᵀ with both operands contiguous along k: C[r, c] (+)= Σ_p a_r[p]·b_c[p] for r < rows (<=2),
 * c < cols (<=4); missing rows/cols use duplicated pointers and are not stored.
 */
function dot2x4(
  C: usize, ldc: usize, a0: usize, a1: usize, b0: usize, b1: usize, b2: usize, b3: usize,
  k: i32, acc: bool, rows: i32, cols: i32,
): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c02 = f32x4.splat(0), c03 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0), c12 = f32x4.splat(0), c13 = f32x4.splat(0);
  const k4 = k & ~3;
  let o: usize = 0;
  const end = (<usize>k4) << 2;
  for (; o < end; o += 16) {
    const x0 = v128.load(a0 + o);
    const x1 = v128.load(a1 + o);
    let y = v128.load(b0 + o);
    c00 = madd(c00, x0, y);
    c10 = madd(c10, x1, y);
    y = v128.load(b1 + o);
    c01 = madd(c01, x0, y);
    c11 = madd(c11, x1, y);
    y = v128.load(b2 + o);
    c02 = madd(c02, x0, y);
    c12 = madd(c12, x1, y);
    y = v128.load(b3 + o);
    c03 = madd(c03, x0, y);
    c13 = madd(c13, x1, y);
  }
  if (k4 < k) {
    const mask = laneMask(k - k4);
    const x0 = v128.and(v128.load(a0 + o), mask);
    const x1 = v128.and(v128.load(a1 + o), mask);
    let y = v128.and(v128.load(b0 + o), mask);
    c00 = madd(c00, x0, y);
    c10 = madd(c10, x1, y);
    y = v128.and(v128.load(b1 + o), mask);
    c01 = madd(c01, x0, y);
    c11 = madd(c11, x1, y);
    y = v128.and(v128.load(b2 + o), mask);
    c02 = madd(c02, x0, y);
    c12 = madd(c12, x1, y);
    y = v128.and(v128.load(b3 + o), mask);
    c03 = madd(c03, x0, y);
    c13 = madd(c13, x1, y);
  }
  putRow(C, hsum4(c00, c01, c02, c03), acc, cols);
  if (rows > 1) putRow(C + ldc, hsum4(c10, c11, c12, c13), acc, cols);
}

/** C[m,n] (+)= A[m,k]·B[n,k]ᵀ as dot products along k (used for narrow outputs, n <= 4). */
function mmNTdot(C: usize, A: usize, B: usize, m: i32, k: i32, n: i32, acc: bool): void {
  const ldc = (<usize>n) << 2;
  const lda = (<usize>k) << 2;
  for (let i = 0; i < m; i += 2) {
    const rows = min(2, m - i);
    const a0 = A + <usize>i * lda;
    const a1 = rows > 1 ? a0 + lda : a0;
    for (let j = 0; j < n; j += 4) {
      const cols = min(4, n - j);
      const b0 = B + <usize>j * lda;
      const b1 = cols > 1 ? b0 + lda : b0;
      const b2 = cols > 2 ? b1 + lda : b1;
      const b3 = cols > 3 ? b2 + lda : b2;
      dot2x4(C + <usize>i * ldc + (<usize>j << 2), ldc, a0, a1, b0, b1, b2, b3, k, acc, rows, cols);
    }
  }
}

/** dst[c, r] = src[r, c] for src [rows, cols] (4x4 blocks through registers, scalar edges). */
export function transpose(dst: usize, src: usize, rows: i32, cols: i32): void {
  const r4 = rows & ~3;
  const c4 = cols & ~3;
  const lds = (<usize>cols) << 2;
  const ldd = (<usize>rows) << 2;
  for (let r = 0; r < r4; r += 4) {
    const s = src + <usize>r * lds;
    for (let c = 0; c < c4; c += 4) {
      const p = s + (<usize>c << 2);
      const x0 = v128.load(p);
      const x1 = v128.load(p + lds);
      const x2 = v128.load(p + 2 * lds);
      const x3 = v128.load(p + 3 * lds);
      const t0 = v128.shuffle<f32>(x0, x1, 0, 4, 1, 5); // a0 b0 a1 b1
      const t1 = v128.shuffle<f32>(x2, x3, 0, 4, 1, 5); // c0 d0 c1 d1
      const t2 = v128.shuffle<f32>(x0, x1, 2, 6, 3, 7); // a2 b2 a3 b3
      const t3 = v128.shuffle<f32>(x2, x3, 2, 6, 3, 7); // c2 d2 c3 d3
      const d = dst + <usize>c * ldd + (<usize>r << 2);
      v128.store(d, v128.shuffle<f32>(t0, t1, 0, 1, 4, 5));
      v128.store(d + ldd, v128.shuffle<f32>(t0, t1, 2, 3, 6, 7));
      v128.store(d + 2 * ldd, v128.shuffle<f32>(t2, t3, 0, 1, 4, 5));
      v128.store(d + 3 * ldd, v128.shuffle<f32>(t2, t3, 2, 3, 6, 7));
    }
    for (let c = c4; c < cols; c++) {
      for (let q = r; q < r + 4; q++) {
        store<f32>(dst + <usize>c * ldd + (<usize>q << 2), load<f32>(src + <usize>q * lds + (<usize>c << 2)));
      }
    }
  }
  for (let r = r4; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      store<f32>(dst + <usize>c * ldd + (<usize>r << 2), load<f32>(src + <usize>r * lds + (<usize>c << 2)));
    }
  }
}

/** Work floats mm needs for these sizes (Bᵀ [n,k] when n <= 4 and m >= 8, for dot products along k; else A's panel). */
export function mmWork(m: i32, k: i32, n: i32): i32 {
  return n <= 4 && m >= 8 ? k * n : PANEL;
}

/** Per run r < runs: C_r[m,n] = (acc ? C_r : 0) + A_r[m,k]·B_r[k,n]; work holds mmWork(m,k,n) floats (reused per run). */
export function mm(C: usize, A: usize, B: usize, m: i32, k: i32, n: i32, acc: bool, work: usize, runs: i32): void {
  const sc = (<usize>m * <usize>n) << 2, sa = (<usize>m * <usize>k) << 2, sb = (<usize>k * <usize>n) << 2;
  for (let r = 0; r < runs; r++) mm1(C + <usize>r * sc, A + <usize>r * sa, B + <usize>r * sb, m, k, n, acc, work);
}

/** One run of mm: C[m,n] = (acc ? C : 0) + A[m,k]·B[k,n]. */
function mm1(C: usize, A: usize, B: usize, m: i32, k: i32, n: i32, acc: bool, work: usize): void {
  if (n <= 4 && m >= 8 && k > 0) {
    transpose(work, B, k, n);
    mmNTdot(C, A, work, m, k, n, acc);
  } else {
    gemm(C, A, (<usize>k) << 2, 4, B, m, k, n, acc, KC_NN, work, 0, 0);
  }
}

/** Whether mmTN computes C[m,n] transposed: a narrow output (n < 8 <= m) fills full-width tiles only as Cᵀ [n,m]. */
@inline function tnTransposed(m: i32, n: i32): bool {
  return n < 8 && m >= 8;
}

/** Work floats mmTN needs for these sizes (Cᵀ [n,m] with n rounded up to a multiple of 4 when tnTransposed). */
export function mmTNWork(m: i32, k: i32, n: i32): i32 {
  return tnTransposed(m, n) ? m * ((n + 3) & ~3) : 0;
}

/**
 * C[m,n] = (acc ? C : 0) + A[k,m]ᵀ·B[k,n] (rows of the reduction blocked by KC_TN); work holds mmTNWork(m,k,n) floats.
 * A narrow output (n < 8 <= m) is computed transposed, Cᵀ = Bᵀ·A with full-width tiles, then transposed into C; its
 * rows are padded to whole 4-row tiles (the extra rows read neighbouring floats and are dropped), so every element is
 * summed in the same order as by the direct tiles and the result does not depend on the path. Per run r < runs
 * (A_r [k,m], B_r [k,n], C_r [m,n] back to back).
 */
export function mmTN(C: usize, A: usize, B: usize, m: i32, k: i32, n: i32, acc: bool, work: usize, runs: i32): void {
  const sc = (<usize>m * <usize>n) << 2, sa = (<usize>k * <usize>m) << 2, sb = (<usize>k * <usize>n) << 2;
  for (let r = 0; r < runs; r++) mmTN1(C + <usize>r * sc, A + <usize>r * sa, B + <usize>r * sb, m, k, n, acc, work);
}

/** One run of mmTN: C[m,n] = (acc ? C : 0) + A[k,m]ᵀ·B[k,n]. */
function mmTN1(C: usize, A: usize, B: usize, m: i32, k: i32, n: i32, acc: bool, work: usize): void {
  if (tnTransposed(m, n) && n > 0 && k > 0) {
    gemm(work, B, 4, (<usize>n) << 2, A, (n + 3) & ~3, k, m, false, KC_TN, 0, 0, 0);
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        const c = C + ((<usize>(i * n + j)) << 2);
        const v = load<f32>(work + ((<usize>(j * m + i)) << 2));
        store<f32>(c, acc ? load<f32>(c) + v : v);
      }
    }
  } else {
    gemm(C, A, 4, (<usize>m) << 2, B, m, k, n, acc, KC_TN, 0, 0, 0);
  }
}

/** Work floats mmNT needs for these sizes (the transposed B [k,n] and A's panel when n > 4, else none). */
export function mmNTWork(m: i32, k: i32, n: i32): i32 {
  return n > 4 ? ((k * n + 15) & ~15) + PANEL : 0;
}

/** Per run r < runs: C_r[m,n] = (acc ? C_r : 0) + A_r[m,k]·B_r[n,k]ᵀ; work holds mmNTWork(m,k,n) floats. */
export function mmNT(C: usize, A: usize, B: usize, m: i32, k: i32, n: i32, acc: bool, work: usize, runs: i32): void {
  const sc = (<usize>m * <usize>n) << 2, sa = (<usize>m * <usize>k) << 2, sb = (<usize>n * <usize>k) << 2;
  for (let r = 0; r < runs; r++) mmNTThen(C + <usize>r * sc, A + <usize>r * sa, B + <usize>r * sb, m, k, n, acc, work, 0, 0);
}

/** mmNT, then out = G ⊙ C when G != 0 (G, out [m,n]; out may be C). */
function mmNTThen(C: usize, A: usize, B: usize, m: i32, k: i32, n: i32, acc: bool, work: usize, G: usize, out: usize): void {
  if (n <= 4) {
    if (m <= 0 || n <= 0) return;
    if (k <= 0) {
      if (!acc) memory.fill(C, 0, (<usize>m * <usize>n) << 2);
    } else {
      mmNTdot(C, A, B, m, k, n, acc);
    }
    if (G != 0) mul(out, G, C, m * n);
  } else {
    transpose(work, B, n, k);
    gemm(C, A, (<usize>k) << 2, 4, work, m, k, n, acc, KC_NN, work + ((<usize>((k * n + 15) & ~15)) << 2), G, out);
  }
}

/** Work floats gate needs: mmNTWork plus r·n when gx is absent. */
export function gateWork(r: i32, k: i32, n: i32, hasGx: bool): i32 {
  const w = mmNTWork(r, k, n);
  return ((w + 15) & ~15) + (hasGx ? 0 : r * n);
}

/**
 * Per run q < runs: out_q[r,n] = (A_q[r,k]·X_q[n,k]ᵀ) ⊙ (A_q[r,k]·M_q[n,k]ᵀ); gx, gm [runs,r,n] (0 = absent) receive
 * the factors.
 */
export function gate(out: usize, A: usize, X: usize, M: usize, r: i32, k: i32, n: i32, gx: usize, gm: usize, work: usize, runs: i32): void {
  const so = (<usize>r * <usize>n) << 2, sa = (<usize>r * <usize>k) << 2, sx = (<usize>n * <usize>k) << 2;
  for (let q = 0; q < runs; q++) {
    const o = <usize>q * so;
    gate1(out + o, A + <usize>q * sa, X + <usize>q * sx, M + <usize>q * sx, r, k, n, gx != 0 ? gx + o : 0, gm != 0 ? gm + o : 0, work);
  }
}

/** One run of gate. */
function gate1(out: usize, A: usize, X: usize, M: usize, r: i32, k: i32, n: i32, gx: usize, gm: usize, work: usize): void {
  const w = (<usize>((mmNTWork(r, k, n) + 15) & ~15)) << 2;
  const G = gx != 0 ? gx : work + w;
  const H = gm != 0 ? gm : out;
  mmNTThen(G, A, X, r, k, n, false, work, 0, 0);
  mmNTThen(H, A, M, r, k, n, false, work, G, out);
}

/**
 * Per run r < runs: h_r[b,t,i] = lambda_r[i]·h_r[b,t-1,i] + u_r[b,t,i], h_r[b,-1] = h0_r[b] (0 when h0 == 0); h may
 * alias u (h, u [runs,B,T,N], lambda [runs,N], h0 [runs,B,N]).
 */
export function scan(h: usize, u: usize, lambda: usize, B: i32, T: i32, N: i32, h0: usize, runs: i32): void {
  const sl = (<usize>N) << 2, s0 = <usize>B * sl, sh = s0 * <usize>T;
  for (let r = 0; r < runs; r++) {
    scan1(h + <usize>r * sh, u + <usize>r * sh, lambda + <usize>r * sl, B, T, N, h0 != 0 ? h0 + <usize>r * s0 : 0);
  }
}

/** One run of scan. */
function scan1(h: usize, u: usize, lambda: usize, B: i32, T: i32, N: i32, h0: usize): void {
  const row = (<usize>N) << 2;
  const n4 = N & ~3;
  for (let b = 0; b < B; b++) {
    const base = <usize>b * <usize>T * row;
    for (let t = 0; t < T; t++) {
      const o = base + <usize>t * row;
      const prev: usize = t > 0 ? h + o - row : h0 != 0 ? h0 + <usize>b * row : 0;
      let i = 0;
      for (; i < n4; i += 4) {
        const q = <usize>i << 2;
        const pv = prev != 0 ? v128.load(prev + q) : f32x4.splat(0);
        v128.store(h + o + q, flush4(madd(v128.load(u + o + q), v128.load(lambda + q), pv)));
      }
      for (; i < N; i++) {
        const q = <usize>i << 2;
        const pv: f32 = prev != 0 ? load<f32>(prev + q) : 0;
        store<f32>(h + o + q, flush1(load<f32>(lambda + q) * pv + load<f32>(u + o + q)));
      }
    }
  }
}

/** Per run r < runs: g_r[b,t,i] = dh_r[b,t,i] + lambda_r[i]·g_r[b,t+1,i], g_r[b,T] = 0; g may alias dh. */
export function scanReverse(g: usize, dh: usize, lambda: usize, B: i32, T: i32, N: i32, runs: i32): void {
  const sl = (<usize>N) << 2, sh = <usize>B * <usize>T * sl;
  for (let r = 0; r < runs; r++) scanReverse1(g + <usize>r * sh, dh + <usize>r * sh, lambda + <usize>r * sl, B, T, N);
}

/** One run of scanReverse. */
function scanReverse1(g: usize, dh: usize, lambda: usize, B: i32, T: i32, N: i32): void {
  const row = (<usize>N) << 2;
  const n4 = N & ~3;
  for (let b = 0; b < B; b++) {
    const base = <usize>b * <usize>T * row;
    for (let t = T - 1; t >= 0; t--) {
      const o = base + <usize>t * row;
      const last = t == T - 1;
      let i = 0;
      for (; i < n4; i += 4) {
        const q = <usize>i << 2;
        const nv = last ? f32x4.splat(0) : v128.load(g + o + row + q);
        v128.store(g + o + q, flush4(madd(v128.load(dh + o + q), v128.load(lambda + q), nv)));
      }
      for (; i < N; i++) {
        const q = <usize>i << 2;
        const nv: f32 = last ? 0 : load<f32>(g + o + row + q);
        store<f32>(g + o + q, flush1(load<f32>(dh + o + q) + load<f32>(lambda + q) * nv));
      }
    }
  }
}

/**
 * Complex scan per run: h = lambda·h_{t-1} + u with h = hRe + i·hIm, lambda = lRe + i·lIm [runs,N], h[b,-1] =
 * (h0Re, h0Im) [runs,B,N] or 0 (h0Re == 0 and h0Im == 0 mean absent, independently); h, u [runs,B,T,N].
 */
export function scanComplex(
  hRe: usize, hIm: usize, uRe: usize, uIm: usize, lRe: usize, lIm: usize,
  B: i32, T: i32, N: i32, h0Re: usize, h0Im: usize, runs: i32,
): void {
  const sl = (<usize>N) << 2, s0 = <usize>B * sl, sh = s0 * <usize>T;
  for (let r = 0; r < runs; r++) {
    const o = <usize>r * sh, l = <usize>r * sl, z = <usize>r * s0;
    scanComplex1(hRe + o, hIm + o, uRe + o, uIm + o, lRe + l, lIm + l, B, T, N, h0Re != 0 ? h0Re + z : 0, h0Im != 0 ? h0Im + z : 0);
  }
}

/** One run of scanComplex. */
function scanComplex1(
  hRe: usize, hIm: usize, uRe: usize, uIm: usize, lRe: usize, lIm: usize,
  B: i32, T: i32, N: i32, h0Re: usize, h0Im: usize,
): void {
  const row = (<usize>N) << 2;
  const n4 = N & ~3;
  for (let b = 0; b < B; b++) {
    const base = <usize>b * <usize>T * row;
    for (let t = 0; t < T; t++) {
      const o = base + <usize>t * row;
      const pr: usize = t > 0 ? hRe + o - row : h0Re != 0 ? h0Re + <usize>b * row : 0;
      const pim: usize = t > 0 ? hIm + o - row : h0Im != 0 ? h0Im + <usize>b * row : 0;
      let i = 0;
      for (; i < n4; i += 4) {
        const q = <usize>i << 2;
        const xr = pr != 0 ? v128.load(pr + q) : f32x4.splat(0);
        const xi = pim != 0 ? v128.load(pim + q) : f32x4.splat(0);
        const lr = v128.load(lRe + q);
        const li = v128.load(lIm + q);
        const ur = v128.load(uRe + o + q);
        const ui = v128.load(uIm + o + q);
        const nr = f32x4.add(f32x4.sub(f32x4.mul(lr, xr), f32x4.mul(li, xi)), ur);
        const ni = f32x4.add(f32x4.add(f32x4.mul(lr, xi), f32x4.mul(li, xr)), ui);
        v128.store(hRe + o + q, nr);
        v128.store(hIm + o + q, ni);
      }
      for (; i < N; i++) {
        const q = <usize>i << 2;
        const xr: f32 = pr != 0 ? load<f32>(pr + q) : 0;
        const xi: f32 = pim != 0 ? load<f32>(pim + q) : 0;
        const lr = load<f32>(lRe + q);
        const li = load<f32>(lIm + q);
        const ur = load<f32>(uRe + o + q);
        const ui = load<f32>(uIm + o + q);
        store<f32>(hRe + o + q, lr * xr - li * xi + ur);
        store<f32>(hIm + o + q, lr * xi + li * xr + ui);
      }
    }
  }
}

/** Complex reverse scan per run: g[t] = dh[t] + conj(lambda)·g[t+1], g[T] = 0 (real and imaginary parts separate). */
export function scanComplexReverse(
  gRe: usize, gIm: usize, dhRe: usize, dhIm: usize, lRe: usize, lIm: usize, B: i32, T: i32, N: i32, runs: i32,
): void {
  const sl = (<usize>N) << 2, sh = <usize>B * <usize>T * sl;
  for (let r = 0; r < runs; r++) {
    const o = <usize>r * sh, l = <usize>r * sl;
    scanComplexReverse1(gRe + o, gIm + o, dhRe + o, dhIm + o, lRe + l, lIm + l, B, T, N);
  }
}

/** One run of scanComplexReverse. */
function scanComplexReverse1(
  gRe: usize, gIm: usize, dhRe: usize, dhIm: usize, lRe: usize, lIm: usize, B: i32, T: i32, N: i32,
): void {
  const row = (<usize>N) << 2;
  const n4 = N & ~3;
  for (let b = 0; b < B; b++) {
    const base = <usize>b * <usize>T * row;
    for (let t = T - 1; t >= 0; t--) {
      const o = base + <usize>t * row;
      const last = t == T - 1;
      let i = 0;
      for (; i < n4; i += 4) {
        const q = <usize>i << 2;
        const xr = last ? f32x4.splat(0) : v128.load(gRe + o + row + q);
        const xi = last ? f32x4.splat(0) : v128.load(gIm + o + row + q);
        const lr = v128.load(lRe + q);
        const li = v128.load(lIm + q);
        const dr = v128.load(dhRe + o + q);
        const di = v128.load(dhIm + o + q);
        const nr = f32x4.add(dr, f32x4.add(f32x4.mul(lr, xr), f32x4.mul(li, xi)));
        const ni = f32x4.add(di, f32x4.sub(f32x4.mul(lr, xi), f32x4.mul(li, xr)));
        v128.store(gRe + o + q, nr);
        v128.store(gIm + o + q, ni);
      }
      for (; i < N; i++) {
        const q = <usize>i << 2;
        const xr: f32 = last ? 0 : load<f32>(gRe + o + row + q);
        const xi: f32 = last ? 0 : load<f32>(gIm + o + row + q);
        const lr = load<f32>(lRe + q);
        const li = load<f32>(lIm + q);
        store<f32>(gRe + o + q, load<f32>(dhRe + o + q) + (lr * xr + li * xi));
        store<f32>(gIm + o + q, load<f32>(dhIm + o + q) + (lr * xi - li * xr));
      }
    }
  }
}

/** out[i] = a[i]·b[i] (flushed to 0 below TINY), i < n (out may alias a or b). */
export function mul(out: usize, a: usize, b: usize, n: i32): void {
  const end = (<usize>(n & ~3)) << 2;
  let o: usize = 0;
  for (; o < end; o += 16) v128.store(out + o, flush4(f32x4.mul(v128.load(a + o), v128.load(b + o))));
  const tail = (<usize>n) << 2;
  for (; o < tail; o += 4) store<f32>(out + o, flush1(load<f32>(a + o) * load<f32>(b + o)));
}

/** out[i] = a[i] + b[i], i < n (out may alias a or b). */
export function add(out: usize, a: usize, b: usize, n: i32): void {
  const end = (<usize>(n & ~3)) << 2;
  let o: usize = 0;
  for (; o < end; o += 16) v128.store(out + o, f32x4.add(v128.load(a + o), v128.load(b + o)));
  const tail = (<usize>n) << 2;
  for (; o < tail; o += 4) store<f32>(out + o, load<f32>(a + o) + load<f32>(b + o));
}

/** y[i] += alpha·x[i], i < n. */
export function axpy(y: usize, alpha: f32, x: usize, n: i32): void {
  const av = f32x4.splat(alpha);
  const end = (<usize>(n & ~3)) << 2;
  let o: usize = 0;
  for (; o < end; o += 16) v128.store(y + o, madd(v128.load(y + o), av, v128.load(x + o)));
  const tail = (<usize>n) << 2;
  // the tail through the same vector multiply-add (one lane): an element's value does not depend on its position, so
  // axpy over n·runs gives each run the bits of a call on that run alone, in the relaxed (fused) build too
  for (; o < tail; o += 4) {
    store<f32>(y + o, f32x4.extract_lane(madd(f32x4.splat(load<f32>(y + o)), av, f32x4.splat(load<f32>(x + o))), 0));
  }
}

/** out[i] = alpha·a[i], i < n (out may alias a). */
export function scale(out: usize, a: usize, alpha: f32, n: i32): void {
  const av = f32x4.splat(alpha);
  const end = (<usize>(n & ~3)) << 2;
  let o: usize = 0;
  for (; o < end; o += 16) v128.store(out + o, f32x4.mul(av, v128.load(a + o)));
  const tail = (<usize>n) << 2;
  for (; o < tail; o += 4) store<f32>(out + o, alpha * load<f32>(a + o));
}

/**
 * exp(x) per lane for x <= 0 (the sigmoid and tanh kernels need no more): Cephes' expf, x = n·ln2 + r with
 * n = nearest(x·log2 e) (rounded by adding 1.5·2^23, whose bits then hold n), |r| <= ln2/2, ln2 split in two parts
 * (n·C1 exact), e^r by a degree-7 polynomial, then 2^n from n's biased exponent bits. Lanes below EXP_FLOOR give +0
 * (the true value is below 1.7e-38: no denormal is made), NaN stays NaN. Plain multiplies and adds, no fused madd:
 * every build gives the same bits.
 */
const EXP_FLOOR: f32 = -87.0;
const ROUND: f32 = 12582912.0; // 1.5·2^23: t = y + ROUND rounds y to an integer n, and bits(t) = bits(ROUND) + n
@inline function expNonPositive(x: v128): v128 {
  const c = f32x4.pmax(x, f32x4.splat(EXP_FLOOR)); // x < floor ? floor : x (a NaN lane stays NaN)
  const t = f32x4.add(f32x4.mul(c, f32x4.splat(1.44269504088896341)), f32x4.splat(ROUND));
  const n = f32x4.sub(t, f32x4.splat(ROUND));
  let r = f32x4.sub(c, f32x4.mul(n, f32x4.splat(0.693359375)));
  r = f32x4.sub(r, f32x4.mul(n, f32x4.splat(-2.12194440e-4)));
  let p = f32x4.splat(1.9875691500e-4);
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.3981999507e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(8.3334519073e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(4.1665795894e-2));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.6666665459e-1));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(5.0000001201e-1));
  p = f32x4.add(f32x4.add(f32x4.mul(p, f32x4.mul(r, r)), r), f32x4.splat(1.0));
  // n in [-126, 0]: 2^n = (n + 127) << 23 (a NaN lane keeps its NaN through p)
  const two = i32x4.shl(i32x4.add(t, i32x4.splat(127 - 0x4b400000)), 23);
  return v128.andnot(f32x4.mul(p, two), f32x4.lt(x, f32x4.splat(EXP_FLOOR)));
}

/** sigma(x) per lane: e = exp(-|x|), 1/(1 + e) for x >= 0 and e/(1 + e) below (no overflow, exact 0 and 1 at ∓Inf). */
@inline function sigmoid4(x: v128): v128 {
  const e = expNonPositive(f32x4.neg(f32x4.abs(x)));
  const s = f32x4.div(f32x4.splat(1.0), f32x4.add(f32x4.splat(1.0), e));
  return v128.bitselect(s, f32x4.mul(e, s), f32x4.ge(x, f32x4.splat(0.0)));
}

/**
 * tanh(x) per lane: for |x| < 0.625 Cephes' odd polynomial x + x·z·P(z), z = x² (no cancellation near 0, tanh(±0) =
 * ±0), above (1 - e)/(1 + e) with e = exp(-2|x|), the sign of x copied on; ±1 at ±Inf, NaN kept.
 */
@inline function tanh4(x: v128): v128 {
  const a = f32x4.abs(x);
  const z = f32x4.mul(a, a);
  let p = f32x4.splat(-5.70498872745e-3);
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(2.06390887954e-2));
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(-5.37397155531e-2));
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(1.33314422036e-1));
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(-3.33332819422e-1));
  const small = f32x4.add(f32x4.mul(f32x4.mul(p, z), a), a);
  const e = expNonPositive(f32x4.mul(a, f32x4.splat(-2.0)));
  const large = f32x4.div(f32x4.sub(f32x4.splat(1.0), e), f32x4.add(f32x4.splat(1.0), e));
  const t = v128.bitselect(small, large, f32x4.lt(a, f32x4.splat(0.625)));
  return v128.or(t, v128.and(x, i32x4.splat(0x80000000)));
}

/** out[i] = sigma(a[i]) (sigmoid4), i < n (out may alias a); the tail through the same vector code, one lane. */
export function sigmoid(out: usize, a: usize, n: i32): void {
  const end = (<usize>(n & ~3)) << 2;
  let o: usize = 0;
  for (; o < end; o += 16) v128.store(out + o, sigmoid4(v128.load(a + o)));
  const tail = (<usize>n) << 2;
  for (; o < tail; o += 4) store<f32>(out + o, f32x4.extract_lane(sigmoid4(f32x4.splat(load<f32>(a + o))), 0));
}

/** out[i] = tanh(a[i]) (tanh4), i < n (out may alias a); the tail through the same vector code, one lane. */
export function tanh(out: usize, a: usize, n: i32): void {
  const end = (<usize>(n & ~3)) << 2;
  let o: usize = 0;
  for (; o < end; o += 16) v128.store(out + o, tanh4(v128.load(a + o)));
  const tail = (<usize>n) << 2;
  for (; o < tail; o += 4) store<f32>(out + o, f32x4.extract_lane(tanh4(f32x4.splat(load<f32>(a + o))), 0));
}

/** Per run r < runs: column sums out_r[j] = (acc ? out_r[j] : 0) + Σ_i A_r[i,j] for A_r [m,n], out [runs,n]. */
export function sumRows(out: usize, A: usize, m: i32, n: i32, acc: bool, runs: i32): void {
  const so = (<usize>n) << 2, sa = <usize>m * so;
  for (let r = 0; r < runs; r++) sumRows1(out + <usize>r * so, A + <usize>r * sa, m, n, acc);
}

/** One run of sumRows (16 columns per pass, then 4 at a time). */
function sumRows1(out: usize, A: usize, m: i32, n: i32, acc: bool): void {
  const ld = (<usize>n) << 2;
  let j = 0;
  for (; j + 16 <= n; j += 16) {
    let s0 = f32x4.splat(0), s1 = f32x4.splat(0), s2 = f32x4.splat(0), s3 = f32x4.splat(0);
    let p = A + (<usize>j << 2);
    for (let i = 0; i < m; i++) {
      s0 = f32x4.add(s0, v128.load(p));
      s1 = f32x4.add(s1, v128.load(p, 16));
      s2 = f32x4.add(s2, v128.load(p, 32));
      s3 = f32x4.add(s3, v128.load(p, 48));
      p += ld;
    }
    const q = out + (<usize>j << 2);
    if (acc) {
      s0 = f32x4.add(v128.load(q), s0);
      s1 = f32x4.add(v128.load(q, 16), s1);
      s2 = f32x4.add(v128.load(q, 32), s2);
      s3 = f32x4.add(v128.load(q, 48), s3);
    }
    v128.store(q, s0);
    v128.store(q, s1, 16);
    v128.store(q, s2, 32);
    v128.store(q, s3, 48);
  }
  for (; j < n; j += 4) {
    let s = f32x4.splat(0);
    let p = A + (<usize>j << 2);
    for (let i = 0; i < m; i++) {
      s = f32x4.add(s, v128.load(p));
      p += ld;
    }
    putRow(out + (<usize>j << 2), s, acc, min(4, n - j));
  }
}

/** Per run r < runs: row sums out_r[i] = (acc ? out_r[i] : 0) + Σ_j A_r[i,j] for A_r [m,n], out [runs,m]. */
export function sumCols(out: usize, A: usize, m: i32, n: i32, acc: bool, runs: i32): void {
  const so = (<usize>m) << 2, sa = so * <usize>n;
  for (let r = 0; r < runs; r++) sumCols1(out + <usize>r * so, A + <usize>r * sa, m, n, acc);
}

/** One run of sumCols. */
function sumCols1(out: usize, A: usize, m: i32, n: i32, acc: bool): void {
  const ld = (<usize>n) << 2;
  const n4 = n & ~3;
  for (let i = 0; i < m; i++) {
    const p = A + <usize>i * ld;
    let s = f32x4.splat(0);
    let j = 0;
    for (; j < n4; j += 4) s = f32x4.add(s, v128.load(p + (<usize>j << 2)));
    let t: f32 =
      (f32x4.extract_lane(s, 0) + f32x4.extract_lane(s, 1)) + (f32x4.extract_lane(s, 2) + f32x4.extract_lane(s, 3));
    for (; j < n; j++) t += load<f32>(p + (<usize>j << 2));
    const q = out + (<usize>i << 2);
    store<f32>(q, acc ? load<f32>(q) + t : t);
  }
}

/**
 * AdamW in place on n float32 parameters, each element in float64 in the order of src/kernels/reference.ts (so the
 * result is bit for bit the reference's): g' = scale·g, m = b1·m + (1-b1)·g', v = b2·v + (1-b2)·g'·g',
 * p = p - lr·((m/c1) / (sqrt(v/c2) + eps) + wd·p) with the unrounded m, v.
 */
export function adamw(
  p: usize, g: usize, m: usize, v: usize, n: i32,
  lr: f64, b1: f64, b2: f64, c1: f64, c2: f64, eps: f64, wd: f64, scale: f64,
): void {
  // two elements per f64x2 (the divisions and the square root are the cost; IEEE-exact in every lane)
  const vlr = f64x2.splat(lr), vb1 = f64x2.splat(b1), vb2 = f64x2.splat(b2), vc1 = f64x2.splat(c1), vc2 = f64x2.splat(c2);
  const veps = f64x2.splat(eps), vwd = f64x2.splat(wd), vscale = f64x2.splat(scale);
  const vob1 = f64x2.splat(1 - b1), vob2 = f64x2.splat(1 - b2);
  const end2 = (<usize>(n & ~1)) << 2;
  let o: usize = 0;
  for (; o < end2; o += 8) {
    const gi = f64x2.mul(f64x2.promote_low_f32x4(v128.load64_zero(g + o)), vscale);
    const mi = f64x2.add(f64x2.mul(vb1, f64x2.promote_low_f32x4(v128.load64_zero(m + o))), f64x2.mul(vob1, gi));
    const vi = f64x2.add(f64x2.mul(vb2, f64x2.promote_low_f32x4(v128.load64_zero(v + o))), f64x2.mul(f64x2.mul(vob2, gi), gi));
    v128.store64_lane(m + o, f32x4.demote_f64x2_zero(mi), 0);
    v128.store64_lane(v + o, f32x4.demote_f64x2_zero(vi), 0);
    const pi = f64x2.promote_low_f32x4(v128.load64_zero(p + o));
    const step = f64x2.add(f64x2.div(f64x2.div(mi, vc1), f64x2.add(f64x2.sqrt(f64x2.div(vi, vc2)), veps)), f64x2.mul(vwd, pi));
    v128.store64_lane(p + o, f32x4.demote_f64x2_zero(f64x2.sub(pi, f64x2.mul(vlr, step))), 0);
  }
  const ob1 = 1 - b1;
  const ob2 = 1 - b2;
  const end = (<usize>n) << 2;
  for (; o < end; o += 4) {
    const gi = <f64>load<f32>(g + o) * scale;
    const mi = b1 * <f64>load<f32>(m + o) + ob1 * gi;
    const vi = b2 * <f64>load<f32>(v + o) + ob2 * gi * gi;
    store<f32>(m + o, <f32>mi);
    store<f32>(v + o, <f32>vi);
    const pi = <f64>load<f32>(p + o);
    store<f32>(p + o, <f32>(pi - lr * ((mi / c1) / (Math.sqrt(vi / c2) + eps) + wd * pi)));
  }
}

/**
 * Bytes of scratch causalAttention64 needs: x, v, k, q of two sequences as f64x2 [T, d | dv | dk | dk], plus T f64x2
 * scores.
 */
export function causalAttention64Work(T: i32, d: i32, dk: i32, dv: i32): i32 {
  return (T * (d + dv + 2 * dk + 1)) << 4;
}

/**
 * out[t, j] = 0 + Σ_p x[t, p] W[j, p] (p ascending) in float64 for two sequences at once (x [T, d] f64x2: one
 * sequence per lane), W [rows, d] float64, out [T, rows] f64x2.
 */
function project64x2(out: usize, x: usize, W: usize, T: i32, d: i32, rows: i32): void {
  const zero = f64x2.splat(0);
  const wRow = <usize>d << 3;
  for (let t = 0; t < T; t++) {
    const xt = x + (<usize>(t * d) << 4);
    const ot = out + (<usize>(t * rows) << 4);
    let j = 0;
    // four outputs at a time (four independent sums, each over p in ascending order), then one at a time
    for (; j + 4 <= rows; j += 4) {
      let s0 = zero, s1 = zero, s2 = zero, s3 = zero;
      const w = W + <usize>j * wRow;
      for (let p = 0; p < d; p++) {
        const xp = v128.load(xt + (<usize>p << 4));
        const wp = w + (<usize>p << 3);
        s0 = f64x2.add(s0, f64x2.mul(xp, v128.load64_splat(wp)));
        s1 = f64x2.add(s1, f64x2.mul(xp, v128.load64_splat(wp + wRow)));
        s2 = f64x2.add(s2, f64x2.mul(xp, v128.load64_splat(wp + 2 * wRow)));
        s3 = f64x2.add(s3, f64x2.mul(xp, v128.load64_splat(wp + 3 * wRow)));
      }
      const o = ot + (<usize>j << 4);
      v128.store(o, f64x2.add(zero, s0));
      v128.store(o, f64x2.add(zero, s1), 16);
      v128.store(o, f64x2.add(zero, s2), 32);
      v128.store(o, f64x2.add(zero, s3), 48);
    }
    for (; j < rows; j++) {
      let s0 = zero;
      const w = W + <usize>j * wRow;
      for (let p = 0; p < d; p++) s0 = f64x2.add(s0, f64x2.mul(v128.load(xt + (<usize>p << 4)), v128.load64_splat(w + (<usize>p << 3))));
      v128.store(ot + (<usize>j << 4), f64x2.add(zero, s0));
    }
  }
}

/**
 * Eq. 1 in float64 for one head on B sequences (Kernels.causalAttention64): y[b,t,j] = 0 + Σ_{s≤t} w_ts v[s,j] with
 * w_ts = 0 + Σ_p q[t,p] k[s,p], v = x W_Vᵀ, k = x W_Kᵀ, q = x W_Qᵀ (each 0 + Σ_p, p ascending), in exactly the order of
 * src/kernels/reference.ts's causalAttention64, two sequences per f64x2 (one per lane: IEEE-exact, so the same bits).
 * x [B,T,d] float32, WV [dv,d], WK, WQ [dk,d] float64, y [B,T,dv] float32, work = causalAttention64Work bytes.
 */
export function causalAttention64(y: usize, x: usize, WV: usize, WK: usize, WQ: usize, B: i32, T: i32, d: i32, dk: i32, dv: i32, work: usize): void {
  const xb = work;
  const vb = xb + (<usize>(T * d) << 4);
  const kb = vb + (<usize>(T * dv) << 4);
  const qb = kb + (<usize>(T * dk) << 4);
  const ab = qb + (<usize>(T * dk) << 4);
  const xSeq = <usize>(T * d) << 2;
  const ySeq = <usize>(T * dv) << 2;
  const zero = f64x2.splat(0);
  for (let b = 0; b < B; b += 2) {
    const two = b + 1 < B;
    const x0 = x + <usize>b * xSeq;
    const x1 = two ? x0 + xSeq : x0; // an odd last sequence runs in both lanes, lane 1 is not stored
    const y0 = y + <usize>b * ySeq;
    for (let i = 0; i < T * d; i++) {
      const o = <usize>i << 2;
      v128.store(xb + (<usize>i << 4), f64x2.replace_lane(f64x2.splat(<f64>load<f32>(x0 + o)), 1, <f64>load<f32>(x1 + o)));
    }
    project64x2(vb, xb, WV, T, d, dv);
    project64x2(kb, xb, WK, T, d, dk);
    project64x2(qb, xb, WQ, T, d, dk);
    for (let t = 0; t < T; t++) {
      const yo = <usize>(t * dv) << 2;
      if (dk == 4 && dv == 4) {
        const qt = qb + (<usize>(t * 4) << 4);
        const q0 = v128.load(qt), q1 = v128.load(qt, 16), q2 = v128.load(qt, 32), q3 = v128.load(qt, 48);
        let a0 = zero, a1 = zero, a2 = zero, a3 = zero;
        for (let s = 0; s <= t; s++) {
          const ks = kb + (<usize>(s * 4) << 4);
          const vs = vb + (<usize>(s * 4) << 4);
          let w = f64x2.add(zero, f64x2.mul(q0, v128.load(ks)));
          w = f64x2.add(w, f64x2.mul(q1, v128.load(ks, 16)));
          w = f64x2.add(w, f64x2.mul(q2, v128.load(ks, 32)));
          w = f64x2.add(zero, f64x2.add(w, f64x2.mul(q3, v128.load(ks, 48))));
          a0 = f64x2.add(a0, f64x2.mul(w, v128.load(vs)));
          a1 = f64x2.add(a1, f64x2.mul(w, v128.load(vs, 16)));
          a2 = f64x2.add(a2, f64x2.mul(w, v128.load(vs, 32)));
          a3 = f64x2.add(a3, f64x2.mul(w, v128.load(vs, 48)));
        }
        storePair(y0 + yo, ySeq, two, f64x2.add(zero, a0));
        storePair(y0 + yo + 4, ySeq, two, f64x2.add(zero, a1));
        storePair(y0 + yo + 8, ySeq, two, f64x2.add(zero, a2));
        storePair(y0 + yo + 12, ySeq, two, f64x2.add(zero, a3));
        continue;
      }
      // the scores w[s] = 0 + Σ_p q[t,p] k[s,p] for s <= t first, then y[t,j] = 0 + Σ_s w[s] v[s,j] four, two or
      // one j at a time in registers (each y[t,j] summed over s in ascending order, as the reference does)
      const qt = qb + (<usize>(t * dk) << 4);
      for (let s = 0; s <= t; s++) {
        const ks = kb + (<usize>(s * dk) << 4);
        let w = zero;
        for (let p = 0; p < dk; p++) w = f64x2.add(w, f64x2.mul(v128.load(qt + (<usize>p << 4)), v128.load(ks + (<usize>p << 4))));
        v128.store(ab + (<usize>s << 4), f64x2.add(zero, w));
      }
      const vRow = <usize>dv << 4;
      let j = 0;
      for (; j + 4 <= dv; j += 4) {
        let a0 = zero, a1 = zero, a2 = zero, a3 = zero;
        let vs = vb + (<usize>j << 4);
        for (let s = 0; s <= t; s++, vs += vRow) {
          const w = v128.load(ab + (<usize>s << 4));
          a0 = f64x2.add(a0, f64x2.mul(w, v128.load(vs)));
          a1 = f64x2.add(a1, f64x2.mul(w, v128.load(vs, 16)));
          a2 = f64x2.add(a2, f64x2.mul(w, v128.load(vs, 32)));
          a3 = f64x2.add(a3, f64x2.mul(w, v128.load(vs, 48)));
        }
        const yj = y0 + yo + (<usize>j << 2);
        storePair(yj, ySeq, two, f64x2.add(zero, a0));
        storePair(yj + 4, ySeq, two, f64x2.add(zero, a1));
        storePair(yj + 8, ySeq, two, f64x2.add(zero, a2));
        storePair(yj + 12, ySeq, two, f64x2.add(zero, a3));
      }
      for (; j + 2 <= dv; j += 2) {
        let a0 = zero, a1 = zero;
        let vs = vb + (<usize>j << 4);
        for (let s = 0; s <= t; s++, vs += vRow) {
          const w = v128.load(ab + (<usize>s << 4));
          a0 = f64x2.add(a0, f64x2.mul(w, v128.load(vs)));
          a1 = f64x2.add(a1, f64x2.mul(w, v128.load(vs, 16)));
        }
        const yj = y0 + yo + (<usize>j << 2);
        storePair(yj, ySeq, two, f64x2.add(zero, a0));
        storePair(yj + 4, ySeq, two, f64x2.add(zero, a1));
      }
      for (; j < dv; j++) {
        let a0 = zero;
        let vs = vb + (<usize>j << 4);
        for (let s = 0; s <= t; s++, vs += vRow) a0 = f64x2.add(a0, f64x2.mul(v128.load(ab + (<usize>s << 4)), v128.load(vs)));
        storePair(y0 + yo + (<usize>j << 2), ySeq, two, f64x2.add(zero, a0));
      }
    }
  }
}

/** Stores lane 0 of v (rounded to float32) at p and, when `two`, lane 1 at p + stride. */
@inline function storePair(p: usize, stride: usize, two: bool, v: v128): void {
  const f = f32x4.demote_f64x2_zero(v);
  v128.store32_lane(p, f, 0);
  if (two) v128.store32_lane(p + stride, f, 1);
}
