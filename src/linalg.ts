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

/** Result of `lstsq`: X [n,k] minimising ||A X - B||_F, the numerical rank of A and the residual B - A X [m,k]. */
export interface LstsqResult {
  X: Float64Array;
  rank: number;
  residual: Float64Array;
}

/**
 * X [n,k] = argmin ||A X - B||_F for A [m,n], B [m,k], by Householder QR with column pivoting (a basic solution:
 * columns beyond the numerical rank, |R_jj| <= rcond |R_00|, get X = 0). The residual B - A X is computed directly.
 */
export function lstsq(A: ArrayLike<number>, B: ArrayLike<number>, m: number, n: number, k: number, rcond = 1e-12): LstsqResult {
  const a = Float64Array.from(A as ArrayLike<number>);
  const b = Float64Array.from(B as ArrayLike<number>);
  const perm = Array.from({ length: n }, (_, j) => j);
  const steps = Math.min(m, n);
  let rank = 0;
  let r00 = 0;
  const v = new Float64Array(m);
  for (let j = 0; j < steps; j++) {
    // pivot: the remaining column with the largest norm over rows j..m-1
    let best = -1;
    let bestNorm = -1;
    for (let c = j; c < n; c++) {
      let s = 0;
      for (let r = j; r < m; r++) s += a[r * n + c] * a[r * n + c];
      if (s > bestNorm) {
        bestNorm = s;
        best = c;
      }
    }
    const norm = Math.sqrt(bestNorm);
    if (j === 0) r00 = norm;
    if (norm === 0 || norm <= rcond * r00) break;
    if (best !== j) {
      for (let r = 0; r < m; r++) [a[r * n + j], a[r * n + best]] = [a[r * n + best], a[r * n + j]];
      [perm[j], perm[best]] = [perm[best], perm[j]];
    }
    // Householder reflector H = I - 2 v vᵀ / (vᵀ v) mapping a[j:, j] to -sign(a_jj) ||.|| e_j
    const alpha = a[j * n + j] >= 0 ? -norm : norm;
    let vv = 0;
    for (let r = j; r < m; r++) {
      v[r] = a[r * n + j] - (r === j ? alpha : 0);
      vv += v[r] * v[r];
    }
    if (vv > 0) {
      for (let c = j; c < n; c++) {
        let s = 0;
        for (let r = j; r < m; r++) s += v[r] * a[r * n + c];
        const f = (2 * s) / vv;
        for (let r = j; r < m; r++) a[r * n + c] -= f * v[r];
      }
      for (let c = 0; c < k; c++) {
        let s = 0;
        for (let r = j; r < m; r++) s += v[r] * b[r * k + c];
        const f = (2 * s) / vv;
        for (let r = j; r < m; r++) b[r * k + c] -= f * v[r];
      }
    }
    rank = j + 1;
  }
  // back substitution R[0:rank, 0:rank] Xp = (Qᵀ B)[0:rank]
  const Xp = new Float64Array(n * k);
  for (let c = 0; c < k; c++) {
    for (let i = rank - 1; i >= 0; i--) {
      let s = b[i * k + c];
      for (let j = i + 1; j < rank; j++) s -= a[i * n + j] * Xp[j * k + c];
      Xp[i * k + c] = s / a[i * n + i];
    }
  }
  const X = new Float64Array(n * k);
  for (let i = 0; i < n; i++) for (let c = 0; c < k; c++) X[perm[i] * k + c] = Xp[i * k + c];
  const residual = Float64Array.from(B as ArrayLike<number>);
  for (let r = 0; r < m; r++) {
    for (let i = 0; i < n; i++) {
      const air = A[r * n + i];
      if (air !== 0) for (let c = 0; c < k; c++) residual[r * k + c] -= air * X[i * k + c];
    }
  }
  return { X, rank, residual };
}

/** Eigen-decomposition of a symmetric S [n,n]: values (descending) and vectors [n,n] whose column j pairs values[j]. */
export interface SymEig {
  values: Float64Array;
  vectors: Float64Array;
}

/** S = V diag(values) Vᵀ for symmetric S [n,n] by cyclic Jacobi rotations (uses the upper triangle; V orthogonal). */
export function symEig(S: ArrayLike<number>, n: number): SymEig {
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = i; j < n; j++) a[i * n + j] = a[j * n + i] = S[i * n + j];
  const V = eye(n);
  let total = 0;
  for (let i = 0; i < n * n; i++) total += a[i] * a[i];
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) off += a[i * n + j] * a[i * n + j];
    if (off <= 1e-34 * total || off === 0) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q];
        if (apq === 0) continue;
        const theta = (a[q * n + q] - a[p * n + p]) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k * n + p];
          const akq = a[k * n + q];
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p * n + k];
          const aqk = a[q * n + k];
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = V[k * n + p];
          const vkq = V[k * n + q];
          V[k * n + p] = c * vkp - s * vkq;
          V[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((x, y) => a[y * n + y] - a[x * n + x]);
  const values = new Float64Array(n);
  const vectors = new Float64Array(n * n);
  order.forEach((o, j) => {
    values[j] = a[o * n + o];
    for (let k = 0; k < n; k++) vectors[k * n + j] = V[k * n + o];
  });
  return { values, vectors };
}

/** Thin SVD A [m,n] = U diag(S) Vᵀ with r = min(m,n): U [m,r], S [r] descending, V [n,r] (orthonormal columns). */
export interface Svd {
  U: Float64Array;
  S: Float64Array;
  V: Float64Array;
}

/** Thin SVD of A [m,n] by one-sided Jacobi (Hestenes) rotations on the columns (of Aᵀ when m < n). */
export function svd(A: ArrayLike<number>, m: number, n: number): Svd {
  if (m < n) {
    const t = svd(transpose(A, m, n), n, m);
    return { U: t.V, S: t.S, V: t.U };
  }
  const U = Float64Array.from(A as ArrayLike<number>); // [m,n], columns orthogonalised in place
  const V = eye(n);
  for (let sweep = 0; sweep < 100; sweep++) {
    let rotated = false;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        let alpha = 0, beta = 0, gamma = 0;
        for (let i = 0; i < m; i++) {
          const up = U[i * n + p], uq = U[i * n + q];
          alpha += up * up;
          beta += uq * uq;
          gamma += up * uq;
        }
        if (gamma === 0 || Math.abs(gamma) <= 1e-15 * Math.sqrt(alpha * beta)) continue;
        rotated = true;
        const zeta = (beta - alpha) / (2 * gamma);
        const t = Math.sign(zeta || 1) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
        const c = 1 / Math.sqrt(1 + t * t);
        const s = c * t;
        for (let i = 0; i < m; i++) {
          const up = U[i * n + p], uq = U[i * n + q];
          U[i * n + p] = c * up - s * uq;
          U[i * n + q] = s * up + c * uq;
        }
        for (let i = 0; i < n; i++) {
          const vp = V[i * n + p], vq = V[i * n + q];
          V[i * n + p] = c * vp - s * vq;
          V[i * n + q] = s * vp + c * vq;
        }
      }
    }
    if (!rotated) break;
  }
  const norms = Array.from({ length: n }, (_, j) => {
    let s = 0;
    for (let i = 0; i < m; i++) s += U[i * n + j] * U[i * n + j];
    return Math.sqrt(s);
  });
  const order = Array.from({ length: n }, (_, j) => j).sort((x, y) => norms[y] - norms[x]);
  const Uo = new Float64Array(m * n);
  const S = new Float64Array(n);
  const Vo = new Float64Array(n * n);
  order.forEach((o, j) => {
    S[j] = norms[o];
    for (let i = 0; i < m; i++) Uo[i * n + j] = norms[o] > 0 ? U[i * n + o] / norms[o] : 0;
    for (let i = 0; i < n; i++) Vo[i * n + j] = V[i * n + o];
  });
  return { U: Uo, S, V: Vo };
}
