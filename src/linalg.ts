/**
 * Small dense float64 linear algebra on row-major number arrays (constructions and analysis sizes: d <= 64).
 * Not a kernel: these run once per construction or analysis, never in a training step.
 */

/** C[m,n] = A[m,k] · B[k,n]. */
export function matmul(A: ArrayLike<number>, B: ArrayLike<number>, m: number, k: number, n: number): Float64Array {
  const C = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let p = 0; p < k; p++) {
    const a = A[i * k + p];
    if (a !== 0) for (let j = 0; j < n; j++) C[i * n + j] += a * B[p * n + j];
  }
  return C;
}

/** Aᵀ [n,m] of A [m,n]. */
export function transpose(A: ArrayLike<number>, m: number, n: number): Float64Array {
  const T = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) T[j * m + i] = A[i * n + j];
  return T;
}

/** The n x n identity. */
export function eye(n: number): Float64Array {
  const I = new Float64Array(n * n);
  for (let i = 0; i < n; i++) I[i * n + i] = 1;
  return I;
}

/** A⁻¹ of a square A [n,n] by Gauss-Jordan elimination with partial pivoting; throws if A is (numerically) singular. */
export function inverse(A: ArrayLike<number>, n: number, what = "matrix"): Float64Array {
  const a = Float64Array.from(A as ArrayLike<number>);
  const inv = eye(n);
  let scale = 0;
  for (let i = 0; i < n * n; i++) scale = Math.max(scale, Math.abs(a[i]));
  for (let col = 0; col < n; col++) {
    let piv = col;
    for (let r = col + 1; r < n; r++) if (Math.abs(a[r * n + col]) > Math.abs(a[piv * n + col])) piv = r;
    if (Math.abs(a[piv * n + col]) <= 1e-13 * n * scale || scale === 0) throw new Error(`${what} is singular (not invertible)`);
    if (piv !== col) {
      for (let j = 0; j < n; j++) {
        [a[col * n + j], a[piv * n + j]] = [a[piv * n + j], a[col * n + j]];
        [inv[col * n + j], inv[piv * n + j]] = [inv[piv * n + j], inv[col * n + j]];
      }
    }
    const p = a[col * n + col];
    for (let j = 0; j < n; j++) {
      a[col * n + j] /= p;
      inv[col * n + j] /= p;
    }
    for (let r = 0; r < n; r++) {
      if (r === col) continue;
      const f = a[r * n + col];
      if (f === 0) continue;
      for (let j = 0; j < n; j++) {
        a[r * n + j] -= f * a[col * n + j];
        inv[r * n + j] -= f * inv[col * n + j];
      }
    }
  }
  return inv;
}
