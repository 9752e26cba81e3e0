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
