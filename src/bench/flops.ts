/**
 * Exact FLOP counts of a training step, by counting what the kernels are asked to do: a wrapper around any Kernels
 * that forwards every call and adds its arithmetic (2·m·k·n per product, 4·r·k·n + r·n per gating product, 2 per
 * element of a real scan and 8 of a complex one, 1 per element of mul, add, scale, sigmoid, tanh and of a row/column
 * sum, 2 of axpy; the task's teacher targets and AdamW are not counted). The count depends only on the call shapes, so it is the same on every backend.
 */
import type { Kernels } from "../kernels/types.ts";
import type { ModelFamily, Params } from "../models/types.ts";
import type { Batch } from "../tasks/types.ts";
import type { Float } from "../tensor.ts";
import { runShard, shardBounds } from "../train/shards.ts";

/** A Kernels that forwards to `inner` and counts FLOPs into `.flops`. */
export function countingKernels(inner: Kernels): Kernels & { flops: number } {
  const c: Kernels & { flops: number } = {
    name: inner.name,
    dtype: inner.dtype,
    flops: 0,
    alloc: (n) => inner.alloc(n),
    allocUninit: (n) => inner.allocUninit(n),
    mark: () => inner.mark(),
    release: (m) => inner.release(m),
    mm(C, A, B, m, kk, n, acc) { c.flops += 2 * m * kk * n; inner.mm(C, A, B, m, kk, n, acc); },
    mmNT(C, A, B, m, kk, n, acc) { c.flops += 2 * m * kk * n; inner.mmNT(C, A, B, m, kk, n, acc); },
    mmTN(C, A, B, m, kk, n, acc) { c.flops += 2 * m * kk * n; inner.mmTN(C, A, B, m, kk, n, acc); },
    gate(out, A, X, M, r, kk, n, gx, gm) { c.flops += 4 * r * kk * n + r * n; inner.gate(out, A, X, M, r, kk, n, gx, gm); },
    scan(h, u, l, B, T, N, h0) { c.flops += 2 * B * T * N; inner.scan(h, u, l, B, T, N, h0); },
    scanReverse(g, dh, l, B, T, N) { c.flops += 2 * B * T * N; inner.scanReverse(g, dh, l, B, T, N); },
    scanComplex(hr, hi, ur, ui, lr, li, B, T, N, h0r, h0i) { c.flops += 8 * B * T * N; inner.scanComplex(hr, hi, ur, ui, lr, li, B, T, N, h0r, h0i); },
    scanComplexReverse(gr, gi, dr, di, lr, li, B, T, N) { c.flops += 8 * B * T * N; inner.scanComplexReverse(gr, gi, dr, di, lr, li, B, T, N); },
    mul(o, a, b, n) { c.flops += n; inner.mul(o, a, b, n); },
    add(o, a, b, n) { c.flops += n; inner.add(o, a, b, n); },
    axpy(y, al, x, n) { c.flops += 2 * n; inner.axpy(y, al, x, n); },
    scale(o, a, al, n) { c.flops += n; inner.scale(o, a, al, n); },
    sigmoid(o, a, n) { c.flops += n; inner.sigmoid(o, a, n); },
    tanh(o, a, n) { c.flops += n; inner.tanh(o, a, n); },
    sumRows(o, A, m, n, acc) { c.flops += m * n; inner.sumRows(o, A, m, n, acc); },
    sumCols(o, A, m, n, acc) { c.flops += m * n; inner.sumCols(o, A, m, n, acc); },
    // the task's data (teacher targets) and the optimizer are left out of the count
    causalAttention64(y, x, WV, WK, WQ, B, T, d, dk, dv) { inner.causalAttention64(y, x, WV, WK, WQ, B, T, d, dk, dv); },
    adamw(p, g, m, v, n, s) { inner.adamw(p, g, m, v, n, s); },
  };
  return c;
}

/**
 * FLOPs of forward + backward of `family` on `batch` as the trainer computes it (split into `shards`), counted on
 * kernels k: the kernels' arithmetic only (the loss, the shard sum and AdamW add < 0.5 % and are left out).
 */
export function stepFlops(family: ModelFamily, params: Params, k: Kernels, batch: Batch, dIn: number, dOut: number, shards: number): number {
  const c = countingKernels(k);
  const [B, T] = batch.x.shape;
  const mark = k.mark();
  const keep = (): void => {}; // the batch's targets are given: the targets step (the task's, not counted) is skipped
  try {
    const x = k.alloc(batch.x.data.length);
    x.set(batch.x.data);
    const target = k.alloc(batch.target.length);
    target.set(batch.target);
    const out: Record<string, Float> = {};
    for (const [name, t] of Object.entries(params.tensors)) out[name] = k.alloc(t.data.length);
    const n = B * batch.scored.length * dOut;
    for (let s = 0; s < shards; s++) {
      const [b0, b1] = shardBounds(B, shards, s);
      runShard(family, params, c, { x, target, scored: batch.scored, T, dIn, dOut, n, b0, b1, fill: keep }, out);
    }
  } finally {
    k.release(mark);
  }
  return c.flops;
}
