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

    mm(C, A, B, m, k, n, acc = false) {
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < n; j++) {
          let s = 0;
          for (let p = 0; p < k; p++) s += A[i * k + p] * B[p * n + j];
          C[i * n + j] = (acc ? C[i * n + j] : 0) + s;
        }
      }
    },
    mmNT(C, A, B, m, k, n, acc = false) {
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < n; j++) {
          let s = 0;
          for (let p = 0; p < k; p++) s += A[i * k + p] * B[j * k + p];
          C[i * n + j] = (acc ? C[i * n + j] : 0) + s;
        }
      }
    },
    mmTN(C, A, B, m, k, n, acc = false) {
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < n; j++) {
          let s = 0;
          for (let p = 0; p < k; p++) s += A[p * m + i] * B[p * n + j];
          C[i * n + j] = (acc ? C[i * n + j] : 0) + s;
        }
      }
    },

    gate(out, A, X, M, r, k, n, gx, gm) {
      for (let i = 0; i < r; i++) {
        for (let j = 0; j < n; j++) {
          let sx = 0;
          let sm = 0;
          for (let p = 0; p < k; p++) {
            sx += A[i * k + p] * X[j * k + p];
            sm += A[i * k + p] * M[j * k + p];
          }
          if (gx) gx[i * n + j] = sx;
          if (gm) gm[i * n + j] = sm;
          out[i * n + j] = sx * sm;
        }
      }
    },

    scan(h, u, lambda, B, T, N, h0) {
      for (let b = 0; b < B; b++) {
        for (let i = 0; i < N; i++) {
          let prev = h0 ? h0[b * N + i] : 0;
          for (let t = 0; t < T; t++) {
            const o = (b * T + t) * N + i;
            prev = lambda[i] * prev + u[o];
            h[o] = prev;
          }
        }
      }
    },
    scanReverse(g, dh, lambda, B, T, N) {
      for (let b = 0; b < B; b++) {
        for (let i = 0; i < N; i++) {
          let next = 0;
          for (let t = T - 1; t >= 0; t--) {
            const o = (b * T + t) * N + i;
            next = dh[o] + lambda[i] * next;
            g[o] = next;
          }
        }
      }
    },
    scanComplex(hRe, hIm, uRe, uIm, lRe, lIm, B, T, N, h0Re, h0Im) {
      for (let b = 0; b < B; b++) {
        for (let i = 0; i < N; i++) {
          let pr = h0Re ? h0Re[b * N + i] : 0;
          let pi = h0Im ? h0Im[b * N + i] : 0;
          for (let t = 0; t < T; t++) {
            const o = (b * T + t) * N + i;
            const nr = lRe[i] * pr - lIm[i] * pi + uRe[o];
            const ni = lRe[i] * pi + lIm[i] * pr + uIm[o];
            pr = nr;
            pi = ni;
            hRe[o] = pr;
            hIm[o] = pi;
          }
        }
      }
    },
    scanComplexReverse(gRe, gIm, dhRe, dhIm, lRe, lIm, B, T, N) {
      for (let b = 0; b < B; b++) {
        for (let i = 0; i < N; i++) {
          let nr = 0;
          let ni = 0;
          for (let t = T - 1; t >= 0; t--) {
            const o = (b * T + t) * N + i;
            // g = dh + conj(lambda) * g_next
            const r = dhRe[o] + lRe[i] * nr + lIm[i] * ni;
            const im = dhIm[o] + lRe[i] * ni - lIm[i] * nr;
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
    sumRows(out, A, m, n, acc = false) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let i = 0; i < m; i++) s += A[i * n + j];
        out[j] = (acc ? out[j] : 0) + s;
      }
    },
    sumCols(out, A, m, n, acc = false) {
      for (let i = 0; i < m; i++) {
        let s = 0;
        for (let j = 0; j < n; j++) s += A[i * n + j];
        out[i] = (acc ? out[i] : 0) + s;
      }
    },
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
