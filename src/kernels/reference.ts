/**
 * Reference kernels: plain loops, written to be obviously right. They are the oracle the fast kernels and every
 * gradient are tested against. float64 and float32 variants differ only in the buffers they allocate (V8 computes in
 * double either way, so a float32 buffer rounds on each store).
 */
import type { DType, Float } from "../tensor.ts";
import { allocFloat } from "../tensor.ts";
import type { Kernels } from "./types.ts";

/** The reference backend for one dtype: `referenceKernels("f64")` is the oracle. */
export function referenceKernels(dtype: DType): Kernels {
  return {
    name: `reference-${dtype}`,
    dtype,
    alloc: (n) => allocFloat(dtype, n),
    allocUninit: (n) => allocFloat(dtype, n),
    mark: () => 0,
    release: () => {},

    mm(C, A, B, m, k, n, acc = false, runs = 1) {
      for (let q = 0; q < runs; q++) {
        const a0 = q * m * k, b0 = q * k * n, c0 = q * m * n;
        for (let i = 0; i < m; i++) {
          for (let j = 0; j < n; j++) {
            let s = 0;
            for (let p = 0; p < k; p++) s += A[a0 + i * k + p] * B[b0 + p * n + j];
            C[c0 + i * n + j] = (acc ? C[c0 + i * n + j] : 0) + s;
          }
        }
      }
    },
    mmNT(C, A, B, m, k, n, acc = false, runs = 1) {
      for (let q = 0; q < runs; q++) {
        const a0 = q * m * k, b0 = q * n * k, c0 = q * m * n;
        for (let i = 0; i < m; i++) {
          for (let j = 0; j < n; j++) {
            let s = 0;
            for (let p = 0; p < k; p++) s += A[a0 + i * k + p] * B[b0 + j * k + p];
            C[c0 + i * n + j] = (acc ? C[c0 + i * n + j] : 0) + s;
          }
        }
      }
    },
    mmTN(C, A, B, m, k, n, acc = false, runs = 1) {
      for (let q = 0; q < runs; q++) {
        const a0 = q * k * m, b0 = q * k * n, c0 = q * m * n;
        for (let i = 0; i < m; i++) {
          for (let j = 0; j < n; j++) {
            let s = 0;
            for (let p = 0; p < k; p++) s += A[a0 + p * m + i] * B[b0 + p * n + j];
            C[c0 + i * n + j] = (acc ? C[c0 + i * n + j] : 0) + s;
          }
        }
      }
    },

    gate(out, A, X, M, r, k, n, gx, gm, runs = 1) {
      for (let q = 0; q < runs; q++) {
        const a0 = q * r * k, x0 = q * n * k, o0 = q * r * n;
        for (let i = 0; i < r; i++) {
          for (let j = 0; j < n; j++) {
            let sx = 0;
            let sm = 0;
            for (let p = 0; p < k; p++) {
              sx += A[a0 + i * k + p] * X[x0 + j * k + p];
              sm += A[a0 + i * k + p] * M[x0 + j * k + p];
            }
            if (gx) gx[o0 + i * n + j] = sx;
            if (gm) gm[o0 + i * n + j] = sm;
            out[o0 + i * n + j] = sx * sm;
          }
        }
      }
    },

    // The scans: a run is B more sequences with their own lambda (lambda row b / B of [runs, N]).
    scan(h, u, lambda, B, T, N, h0, runs = 1) {
      for (let b = 0; b < B * runs; b++) {
        const l0 = Math.floor(b / B) * N;
        for (let i = 0; i < N; i++) {
          let prev = h0 ? h0[b * N + i] : 0;
          for (let t = 0; t < T; t++) {
            const o = (b * T + t) * N + i;
            prev = lambda[l0 + i] * prev + u[o];
            h[o] = prev;
          }
        }
      }
    },
    scanReverse(g, dh, lambda, B, T, N, runs = 1) {
      for (let b = 0; b < B * runs; b++) {
        const l0 = Math.floor(b / B) * N;
        for (let i = 0; i < N; i++) {
          let next = 0;
          for (let t = T - 1; t >= 0; t--) {
            const o = (b * T + t) * N + i;
            next = dh[o] + lambda[l0 + i] * next;
            g[o] = next;
          }
        }
      }
    },
    scanComplex(hRe, hIm, uRe, uIm, lRe, lIm, B, T, N, h0Re, h0Im, runs = 1) {
      for (let b = 0; b < B * runs; b++) {
        const l0 = Math.floor(b / B) * N;
        for (let i = 0; i < N; i++) {
          let pr = h0Re ? h0Re[b * N + i] : 0;
          let pi = h0Im ? h0Im[b * N + i] : 0;
          const lr = lRe[l0 + i];
          const li = lIm[l0 + i];
          for (let t = 0; t < T; t++) {
            const o = (b * T + t) * N + i;
            const nr = lr * pr - li * pi + uRe[o];
            const ni = lr * pi + li * pr + uIm[o];
            pr = nr;
            pi = ni;
            hRe[o] = pr;
            hIm[o] = pi;
          }
        }
      }
    },
    scanComplexReverse(gRe, gIm, dhRe, dhIm, lRe, lIm, B, T, N, runs = 1) {
      for (let b = 0; b < B * runs; b++) {
        const l0 = Math.floor(b / B) * N;
        for (let i = 0; i < N; i++) {
          let nr = 0;
          let ni = 0;
          const lr = lRe[l0 + i];
          const li = lIm[l0 + i];
          for (let t = T - 1; t >= 0; t--) {
            const o = (b * T + t) * N + i;
            // g = dh + conj(lambda) * g_next
            const r = dhRe[o] + lr * nr + li * ni;
            const im = dhIm[o] + lr * ni - li * nr;
            nr = r;
            ni = im;
            gRe[o] = nr;
            gIm[o] = ni;
          }
        }
      }
    },

    mul(out, a, b, n) {
      for (let i = 0; i < n; i++) out[i] = a[i] * b[i];
    },
    add(out, a, b, n) {
      for (let i = 0; i < n; i++) out[i] = a[i] + b[i];
    },
    axpy(y, alpha, x, n) {
      for (let i = 0; i < n; i++) y[i] += alpha * x[i];
    },
    scale(out, a, alpha, n) {
      for (let i = 0; i < n; i++) out[i] = alpha * a[i];
    },
    sigmoid(out, a, n) {
      for (let i = 0; i < n; i++) out[i] = sigmoid(a[i]);
    },
    tanh(out, a, n) {
      for (let i = 0; i < n; i++) out[i] = Math.tanh(a[i]);
    },
    sumRows(out, A, m, n, acc = false, runs = 1) {
      for (let q = 0; q < runs; q++) {
        const a0 = q * m * n, o0 = q * n;
        for (let j = 0; j < n; j++) {
          let s = 0;
          for (let i = 0; i < m; i++) s += A[a0 + i * n + j];
          out[o0 + j] = (acc ? out[o0 + j] : 0) + s;
        }
      }
    },
    sumCols(out, A, m, n, acc = false, runs = 1) {
      // a run is m more rows: row sums over [runs·m, n]
      for (let i = 0; i < m * runs; i++) {
        let s = 0;
        for (let j = 0; j < n; j++) s += A[i * n + j];
        out[i] = (acc ? out[i] : 0) + s;
      }
    },
    causalAttention64: causalAttention64,
    adamw(p, g, m, v, n, s) {
      const { lr, beta1: b1, beta2: b2, c1, c2, eps, wd, scale } = s;
      for (let i = 0; i < n; i++) {
        const gi = g[i] * scale;
        const mi = b1 * m[i] + (1 - b1) * gi;
        const vi = b2 * v[i] + (1 - b2) * gi * gi;
        m[i] = mi;
        v[i] = vi;
        p[i] -= lr * ((mi / c1) / (Math.sqrt(vi / c2) + eps) + wd * p[i]);
      }
    },
  };
}

/** sigma(z) = 1 / (1 + exp(-z)), stable for large |z| and exact at ±Infinity. */
export function sigmoid(z: number): number {
  if (z >= 0) return 1 / (1 + Math.exp(-z));
  const e = Math.exp(z);
  return e / (1 + e);
}

/** The float64 oracle backend. */
export const ref64: Kernels = referenceKernels("f64");
/** The float32 reference backend (same loops, float32 storage). */
export const ref32: Kernels = referenceKernels("f32");

/** The reference backend matching a buffer's dtype. */
export function referenceFor(a: Float): Kernels {
  return a instanceof Float32Array ? ref32 : ref64;
}

/**
 * Eq. 1 for one float64 head on B sequences (Kernels.causalAttention64, the arithmetic every backend reproduces):
 * y[b,t,j] = 0 + Σ_{s≤t} w_ts v[s,j] (s ascending) with w_ts = 0 + Σ_p q[t,p] k[s,p] (p ascending) and
 * v[s,j] = 0 + Σ_p x[s,p] W_V[j,p], k, q likewise from W_K, W_Q; x [B,T,d], W_V [dv,d], W_K, W_Q [dk,d], y [B,T,dv].
 * The zero products above the causal diagonal are skipped (adding them never changes a sum); each sequence on its
 * own, so any split of the batch gives the same numbers.
 */
export function causalAttention64(y: Float, x: Float, WV: Float64Array, WK: Float64Array, WQ: Float64Array, B: number, T: number, d: number, dk: number, dv: number): void {
  const xs = new Float64Array(T * d);
  const v = new Float64Array(T * dv), kk = new Float64Array(T * dk), q = new Float64Array(T * dk);
  const acc = new Float64Array(dv);
  for (let b = 0; b < B; b++) {
    const xo = b * T * d;
    for (let i = 0; i < T * d; i++) xs[i] = x[xo + i];
    project64(v, xs, WV, T, d, dv);
    project64(kk, xs, WK, T, d, dk);
    project64(q, xs, WQ, T, d, dk);
    const yo = b * T * dv;
    for (let t = 0; t < T; t++) {
      if (dk === 4 && dv === 4) {
        // the general loop below unrolled for the paper's d = 4 (a leading 0 + only changes the sign of a zero,
        // which the final 0 + undoes)
        const q0 = q[4 * t], q1 = q[4 * t + 1], q2 = q[4 * t + 2], q3 = q[4 * t + 3];
        let a0 = 0, a1 = 0, a2 = 0, a3 = 0;
        for (let s = 0; s <= t; s++) {
          const w = 0 + (q0 * kk[4 * s] + q1 * kk[4 * s + 1] + q2 * kk[4 * s + 2] + q3 * kk[4 * s + 3]);
          a0 += w * v[4 * s];
          a1 += w * v[4 * s + 1];
          a2 += w * v[4 * s + 2];
          a3 += w * v[4 * s + 3];
        }
        y[yo + 4 * t] = 0 + a0;
        y[yo + 4 * t + 1] = 0 + a1;
        y[yo + 4 * t + 2] = 0 + a2;
        y[yo + 4 * t + 3] = 0 + a3;
        continue;
      }
      acc.fill(0);
      for (let s = 0; s <= t; s++) {
        let a = 0;
        for (let p = 0; p < dk; p++) a += q[t * dk + p] * kk[s * dk + p];
        const w = 0 + a;
        for (let j = 0; j < dv; j++) acc[j] += w * v[s * dv + j];
      }
      for (let j = 0; j < dv; j++) y[yo + t * dv + j] = 0 + acc[j];
    }
  }
}

/** out[t, j] = 0 + Σ_p x[t, p] W[j, p] (p ascending): the float64 reference mmNT's arithmetic, x [T, d], W [rows, d]. */
function project64(out: Float64Array, x: Float64Array, W: Float64Array, T: number, d: number, rows: number): void {
  if (d === 4) {
    // the same sums unrolled for the paper's d = 4 (0 + x0 w0 + ... in the loop's order)
    for (let t = 0; t < T; t++) {
      const x0 = x[4 * t], x1 = x[4 * t + 1], x2 = x[4 * t + 2], x3 = x[4 * t + 3];
      for (let j = 0; j < rows; j++) out[t * rows + j] = 0 + (0 + x0 * W[4 * j] + x1 * W[4 * j + 1] + x2 * W[4 * j + 2] + x3 * W[4 * j + 3]);
    }
    return;
  }
  for (let t = 0; t < T; t++) {
    for (let j = 0; j < rows; j++) {
      let s = 0;
      for (let p = 0; p < d; p++) s += x[t * d + p] * W[j * d + p];
      out[t * rows + j] = 0 + s;
    }
  }
}
