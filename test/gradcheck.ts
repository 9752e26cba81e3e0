/**
 * Finite-difference gradient checks shared by every family's tests: the scalar loss L = sum_i w_i y_i for a fixed
 * random w, analytic gradients from forwardCached/backward on the float64 reference kernels, numerical ones by
 * central differences (h = 1e-5) on up to `samples` entries of every tensor and of the input.
 */
import assert from "node:assert/strict";
import { ref64 } from "../src/kernels/reference.ts";
import type { ModelFamily, Params } from "../src/models/types.ts";
import type { Rng } from "../src/rng.ts";
import type { Float, Tensor } from "../src/tensor.ts";

/** L(params, x) = sum_i w_i y_i with the family's plain forward. */
function lossOf(fam: ModelFamily, p: Params, x: Tensor, w: Float): number {
  const y = fam.forward(p, x, ref64).data;
  let s = 0;
  for (let i = 0; i < y.length; i++) s += w[i] * y[i];
  return s;
}

/**
 * Asserts ||g_analytic - g_numeric|| / ||g_numeric|| <= tol over sampled entries, for every tensor and for x.
 * Entries whose value is ±Infinity are skipped (constant biases of constructions). Returns the worst error seen.
 */
export function checkGradients(fam: ModelFamily, p: Params, x: Tensor, rng: Rng, tol = 1e-6, samples = 12): number {
  assert.ok(fam.forwardCached && fam.backward, `${fam.name} has no backward pass`);
  const mark = ref64.mark();
  const { y, cache } = fam.forwardCached(p, x, ref64);
  const w = new Float64Array(y.length);
  rng.fillNormal(w);
  const { grads, dx } = fam.backward(p, cache, w, ref64);
  ref64.release(mark);
  let worst = 0;
  const h = 1e-5;
  const check = (what: string, data: Float, analytic: Float) => {
    assert.equal(analytic.length, data.length, `${what}: gradient has ${analytic.length} entries, tensor ${data.length}`);
    const idx = new Set<number>();
    const n = Math.min(samples, data.length);
    while (idx.size < n) idx.add(rng.int(data.length));
    let num2 = 0;
    let diff2 = 0;
    for (const i of idx) {
      const v = data[i];
      if (!Number.isFinite(v)) continue;
      data[i] = v + h;
      const lp = lossOf(fam, p, x, w);
      data[i] = v - h;
      const lm = lossOf(fam, p, x, w);
      data[i] = v;
      const g = (lp - lm) / (2 * h);
      num2 += g * g;
      diff2 += (g - analytic[i]) ** 2;
    }
    const e = num2 === 0 ? Math.sqrt(diff2) : Math.sqrt(diff2 / num2);
    worst = Math.max(worst, e);
    assert.ok(e <= tol, `${fam.name} d/d${what}: relative error ${e.toExponential(3)} > ${tol}`);
  };
  for (const [name, t] of Object.entries(p.tensors)) {
    assert.ok(grads[name], `${fam.name}: no gradient for ${name}`);
    check(name, t.data, grads[name]);
  }
  for (const name of Object.keys(grads)) assert.ok(p.tensors[name], `${fam.name}: gradient for unknown tensor ${name}`);
  check("x", x.data, dx);
  return worst;
}
