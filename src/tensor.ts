/** Dense row-major tensors over Float64Array or Float32Array: the one array type every module exchanges. */

/** A float buffer: float64 for the reference oracle, float32 for the fast path. */
export type Float = Float64Array | Float32Array;
/** Element type names as they appear in configs and on the command line. */
export type DType = "f32" | "f64";

/** A row-major tensor: `data.length == prod(shape)`. */
export interface Tensor<F extends Float = Float> {
  shape: number[];
  data: F;
}

/** prod(shape): number of elements of a tensor with this shape. */
export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const s of shape) n *= s;
  return n;
}

/** The dtype of a float buffer: Float32Array -> "f32", Float64Array -> "f64". */
export function dtypeOf(a: Float): DType {
  return a instanceof Float32Array ? "f32" : "f64";
}

/** A zero-filled buffer of n elements of the given dtype. */
export function allocFloat(dtype: DType, n: number): Float {
  return dtype === "f32" ? new Float32Array(n) : new Float64Array(n);
}

/** zeros(shape) as a tensor of the given dtype. */
export function zeros(shape: readonly number[], dtype: DType = "f64"): Tensor {
  return { shape: [...shape], data: allocFloat(dtype, numel(shape)) };
}

/** A tensor from nested number arrays (row-major), e.g. `fromArray([[1,2],[3,4]])` -> shape [2,2]. */
export function fromArray(values: unknown, dtype: DType = "f64"): Tensor {
  const shape: number[] = [];
  let v: unknown = values;
  while (Array.isArray(v)) {
    shape.push(v.length);
    v = v[0];
  }
  const flat = (values as unknown[]).flat(Infinity as 1) as number[];
  if (flat.length !== numel(shape)) throw new Error(`fromArray: ragged nested array (expected ${numel(shape)} numbers, got ${flat.length})`);
  const data = allocFloat(dtype, flat.length);
  data.set(flat);
  return { shape, data };
}

/** A deep copy of a tensor, optionally converted to another dtype. */
export function cloneTensor(t: Tensor, dtype: DType = dtypeOf(t.data)): Tensor {
  const data = allocFloat(dtype, t.data.length);
  data.set(t.data);
  return { shape: [...t.shape], data };
}

/** Throws `<what>: expected shape [..], got [..]` unless `t.shape` equals `shape`. */
export function assertShape(t: Tensor, shape: readonly number[], what: string): void {
  if (t.shape.length !== shape.length || t.shape.some((s, i) => s !== shape[i]) || t.data.length !== numel(shape)) {
    throw new Error(`${what}: expected shape [${shape.join(", ")}], got [${t.shape.join(", ")}]`);
  }
}

/** max_i |a_i - b_i| over two equally long buffers. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`maxAbsDiff: lengths differ (${a.length} vs ${b.length})`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** max_i |a_i| of a buffer. */
export function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

/** max|a - b| / max|b|: the relative error used throughout the tests and reports (0 when both are 0). */
export function relError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const d = maxAbsDiff(a, b);
  const s = maxAbs(b);
  return s === 0 ? d : d / s;
}
