/** Shared test helpers: random tensors, step-by-step evaluation, closeness assertions. */
import assert from "node:assert/strict";
import type { ModelFamily, Params } from "../src/models/types.ts";
import { Rng } from "../src/rng.ts";
import type { DType, Tensor } from "../src/tensor.ts";
import { allocFloat, numel, relError } from "../src/tensor.ts";

/** A tensor of i.i.d. N(0, std²) entries. */
export function randn(rng: Rng, shape: number[], dtype: DType = "f64", std = 1): Tensor {
  const data = allocFloat(dtype, numel(shape));
  rng.fillNormal(data, std);
  return { shape, data };
}

/** Runs a family's one-step form over x [B, T, d_in] and stacks the outputs into [B, T, d_out]. */
export function runSteps(fam: ModelFamily, p: Params, x: Tensor): Tensor {
  const [B, T, d] = x.shape;
  let state = fam.initState(p, B);
  const dOut = fam.dims(p.config).dOut;
  const y = allocFloat(x.data instanceof Float32Array ? "f32" : "f64", B * T * dOut);
  for (let t = 0; t < T; t++) {
    const xt = allocFloat(x.data instanceof Float32Array ? "f32" : "f64", B * d);
    for (let b = 0; b < B; b++) for (let j = 0; j < d; j++) xt[b * d + j] = x.data[(b * T + t) * d + j];
    const r = fam.step(p, state, { shape: [B, d], data: xt });
    state = r.state;
    for (let b = 0; b < B; b++) for (let j = 0; j < dOut; j++) y[(b * T + t) * dOut + j] = r.y.data[b * dOut + j];
  }
  return { shape: [B, T, dOut], data: y };
}

/** Asserts max|a-b|/max|b| <= tol with a message naming what was compared. */
export function assertClose(a: ArrayLike<number>, b: ArrayLike<number>, tol: number, what: string): void {
  const e = relError(a, b);
  assert.ok(e <= tol, `${what}: relative error ${e.toExponential(3)} > ${tol}`);
}

export { Rng };
