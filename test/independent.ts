/**
 * Independent evaluations of eq. 1 and eq. 2 with plain scalar loops, reading only tensor names and shapes (what a
 * second reader of the weight files would write). Tests compare the library's kernels-based forwards against these.
 */
import { parseConfig } from "../src/config.ts";
import { getFamily } from "../src/models/registry.ts";
import type { Params } from "../src/models/types.ts";

type Seq = { shape: number[]; data: ArrayLike<number> };

/** Eq. 1: y_t = sum_h W_V (sum_{s<=t} x_s x_sᵀ) W_Kᵀ W_Q x_t for x [B, T, d]; tensors [d_out|d_key, d] or [heads, ., d]. */
export function naiveAttention(p: Params, x: Seq): number[] {
  const [B, T, d] = x.shape;
  const WV = p.tensors.W_V, WK = p.tensors.W_K, WQ = p.tensors.W_Q;
  const heads = WV.shape.length === 3 ? WV.shape[0] : 1;
  const dv = WV.shape[WV.shape.length - 2];
  const dk = WK.shape[WK.shape.length - 2];
  const out: number[] = [];
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const y = new Array(dv).fill(0);
      for (let h = 0; h < heads; h++) {
        const X = (s: number, j: number) => x.data[(b * T + s) * d + j];
        const lin = (W: { data: ArrayLike<number> }, rows: number, i: number, s: number) => {
          let acc = 0;
          for (let j = 0; j < d; j++) acc += W.data[(h * rows + i) * d + j] * X(s, j);
          return acc;
        };
        for (let s = 0; s <= t; s++) {
          let score = 0;
          for (let i = 0; i < dk; i++) score += lin(WK, dk, i, s) * lin(WQ, dk, i, t);
          for (let o = 0; o < dv; o++) y[o] += lin(WV, dv, o, s) * score;
        }
      }
      out.push(...y);
    }
  }
  return out;
}

/** Eq. 2 with z_t = [x_t; 1]: h_t = lambda h_{t-1} + (in_x z)(in_m z), y_t = readout((out_x h)(out_m h)). */
export function naiveGatedRnn(p: Params, x: Seq): number[] {
  const [B, T, d] = x.shape;
  const t = p.tensors;
  const N = t.in_x.shape[0], D = d + 1, M = t.out_x.shape[0], dOut = t.readout.shape[0];
  const out: number[] = [];
  for (let b = 0; b < B; b++) {
    const h = new Array(N).fill(0);
    for (let s = 0; s < T; s++) {
      const z = [...Array.from({ length: d }, (_, j) => x.data[(b * T + s) * d + j]), 1];
      for (let i = 0; i < N; i++) {
        let a = 0, m = 0;
        for (let j = 0; j < D; j++) { a += t.in_x.data[i * D + j] * z[j]; m += t.in_m.data[i * D + j] * z[j]; }
        h[i] = t.lambda.data[i] * h[i] + a * m;
      }
      const g: number[] = [];
      for (let r = 0; r < M; r++) {
        let a = 0, m = 0;
        for (let i = 0; i < N; i++) { a += t.out_x.data[r * N + i] * h[i]; m += t.out_m.data[r * N + i] * h[i]; }
        g.push(a * m);
      }
      for (let o = 0; o < dOut; o++) {
        let acc = 0;
        for (let r = 0; r < M; r++) acc += t.readout.data[o * M + r] * g[r];
        out.push(acc);
      }
    }
  }
  return out;
}

/**
 * A Section 3.3 stack evaluated layer by layer through each layer family's own forward (not the stack family's code):
 * e = x embedᵀ, e <- layer_l(e), y = e readoutᵀ.
 */
export function layerByLayerStack(p: Params, x: Seq): number[] {
  const c = p.config as { d_in: number; width: number; d_out: number; layers: number; layer: string; layer_config: Record<string, unknown> };
  const fam = getFamily(c.layer);
  const [B, T] = x.shape;
  const widthKeys = { [fam.widthKeys[0]]: c.width, [fam.widthKeys[1]]: c.width };
  const cfg = parseConfig(fam.schema, { ...c.layer_config, ...widthKeys });
  const linear = (A: ArrayLike<number>, W: ArrayLike<number>, rows: number, k: number, n: number) => {
    const out = new Float64Array(rows * n);
    for (let i = 0; i < rows; i++) for (let j = 0; j < n; j++) {
      let s = 0;
      for (let q = 0; q < k; q++) s += A[i * k + q] * W[j * k + q];
      out[i * n + j] = s;
    }
    return out;
  };
  let e = { shape: [B, T, c.width], data: linear(x.data, p.tensors.embed.data, B * T, c.d_in, c.width) as Float64Array };
  for (let l = 0; l < c.layers; l++) {
    const prefix = `layers.${l}.`;
    const tensors: Params["tensors"] = {};
    for (const [name, t] of Object.entries(p.tensors)) if (name.startsWith(prefix)) tensors[name.slice(prefix.length)] = t;
    e = fam.forward({ family: fam.name, config: cfg, tensors }, e) as typeof e;
  }
  return [...linear(e.data, p.tensors.readout.data, B * T, c.width, c.d_out)];
}
