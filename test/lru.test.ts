/** LRU families (App. A.1, eqs. 6-9): closed forms, real lambda, one-step == sequence, an independent naive loop. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { parseConfig } from "../src/config.ts";
import { ref32, ref64 } from "../src/kernels/reference.ts";
import type { LruConfig } from "../src/models/lru.ts";
import { lru, lruInOut, lruInSkip, lruLambda, lruSchema } from "../src/models/lru.ts";
import type { ModelFamily, Params } from "../src/models/types.ts";
import { Rng } from "../src/rng.ts";
import type { Tensor } from "../src/tensor.ts";
import { cloneTensor, fromArray, maxAbsDiff, relError, zeros } from "../src/tensor.ts";
import { checkGradients } from "./gradcheck.ts";

type C = [number, number];
const cadd = (a: C, b: C): C => [a[0] + b[0], a[1] + b[1]];
const cmul = (a: C, b: C): C => [a[0] * b[0] - a[1] * b[1], a[0] * b[1] + a[1] * b[0]];
const cscale = (a: C, s: number): C => [a[0] * s, a[1] * s];
const cpolar = (r: number, phi: number): C => [r * Math.cos(phi), r * Math.sin(phi)];
const sig = (z: number): number => 1 / (1 + Math.exp(-z));

const families: [ModelFamily<LruConfig>, boolean, boolean][] = [
  [lru, false, false],
  [lruInOut, true, false],
  [lruInSkip, true, true],
];

function cfg(over: Partial<LruConfig>): LruConfig {
  return parseConfig(lruSchema, { d_in: 3, d_out: 2, ...over });
}

function randomX(rng: Rng, shape: number[]): Tensor {
  const x = zeros(shape);
  rng.fillNormal(x.data);
  return x;
}

/** Independent per-time-step loop in plain JS complex scalars, straight from eqs. 6-9 and the variant definitions. */
function naive(p: Params<LruConfig>, gated: boolean, skip: boolean, x: Tensor): Float64Array {
  const t = p.tensors;
  const { d_in: dIn, d_out: dOut, hidden: N } = p.config;
  const H = t.D.shape[0];
  const [B, T] = x.shape;
  const at = (name: string, i: number, j: number, cols: number) => t[name].data[i * cols + j];
  const y = new Float64Array(B * T * dOut);
  for (let b = 0; b < B; b++) {
    const h: C[] = Array.from({ length: N }, () => [0, 0] as C);
    for (let s = 0; s < T; s++) {
      const xt = Array.from({ length: dIn }, (_, j) => x.data[(b * T + s) * dIn + j]);
      const xp = gated
        ? Array.from({ length: H }, (_, i) => {
            let a = 0;
            let m = 0;
            for (let j = 0; j < dIn; j++) {
              a += at("W_in_a", i, j, dIn) * xt[j];
              m += at("W_in_b", i, j, dIn) * xt[j];
            }
            return sig(a) * m;
          })
        : xt;
      for (let n = 0; n < N; n++) {
        const lam = cpolar(Math.exp(-Math.exp(t.nu_log.data[n])), Math.exp(t.theta_log.data[n]));
        let bx: C = [0, 0];
        for (let j = 0; j < H; j++) bx = cadd(bx, cscale([at("B_re", n, j, H), at("B_im", n, j, H)], xp[j]));
        h[n] = cadd(cmul(lam, h[n]), cscale(bx, Math.exp(t.gamma_log.data[n])));
      }
      const yt = Array.from({ length: H }, (_, i) => {
        let v = t.D.data[i] * xp[i];
        for (let n = 0; n < N; n++) v += cmul([at("C_re", i, n, N), at("C_im", i, n, N)], h[n])[0];
        return v;
      });
      const lin = skip ? xt : yt;
      for (let o = 0; o < dOut; o++) {
        let a = 0;
        let m = 0;
        for (let i = 0; i < H; i++) a += at("W_a", o, i, H) * yt[i];
        for (let i = 0; i < lin.length; i++) m += at("W_b", o, i, lin.length) * lin[i];
        y[(b * T + s) * dOut + o] = sig(a) * m;
      }
    }
  }
  return y;
}

test("hand-set N=1, H=2 complex lambda (|lambda| = 0.5, phase π/3) matches the closed form", () => {
  const r = 0.5;
  const phi = Math.PI / 3;
  const gamma = 0.8;
  const Bc: C[] = [[0.7, 0.3], [-0.2, 0.9]];
  const Cc: C[] = [[1.1, -0.4], [0.6, 0.5]];
  const D = [0.25, -0.75];
  const Wa = [[0.9, -0.3], [0.2, 0.4]];
  const Wb = [[-1.3, 0.5], [0.8, 1.7]];
  const p: Params<LruConfig> = {
    family: "lru",
    config: cfg({ d_in: 2, hidden: 1, width: 2, d_out: 2 }),
    tensors: {
      nu_log: fromArray([Math.log(-Math.log(r))]),
      theta_log: fromArray([Math.log(phi)]),
      gamma_log: fromArray([Math.log(gamma)]),
      B_re: fromArray([Bc.map((z) => z[0])]),
      B_im: fromArray([Bc.map((z) => z[1])]),
      C_re: fromArray(Cc.map((z) => [z[0]])),
      C_im: fromArray(Cc.map((z) => [z[1]])),
      D: fromArray(D),
      W_a: fromArray(Wa),
      W_b: fromArray(Wb),
    },
  };
  const xs = [[1, -0.5], [0.3, 2], [-1.2, 0.4], [0.7, 0.1], [2, -1]];
  const T = xs.length;
  const y = lru.forward(p, fromArray([xs]));
  assert.deepEqual(y.shape, [1, T, 2]);
  for (let t = 0; t < T; t++) {
    // h_t = sum_{s<=t} lambda^{t-s} gamma (B x_s), lambda^k = r^k e^{i k phi}.
    let h: C = [0, 0];
    for (let s = 0; s <= t; s++) {
      const bx = cadd(cscale(Bc[0], xs[s][0]), cscale(Bc[1], xs[s][1]));
      h = cadd(h, cmul(cpolar(r ** (t - s), (t - s) * phi), cscale(bx, gamma)));
    }
    const yt = [0, 1].map((i) => cmul(Cc[i], h)[0] + D[i] * xs[t][i]);
    for (let o = 0; o < 2; o++) {
      const want = sig(Wa[o][0] * yt[0] + Wa[o][1] * yt[1]) * (Wb[o][0] * yt[0] + Wb[o][1] * yt[1]);
      assert.ok(Math.abs(y.data[t * 2 + o] - want) < 1e-12, `t=${t} o=${o}: ${y.data[t * 2 + o]} vs ${want}`);
    }
  }
  // The state after the sequence is the closed-form h_T (complex), step by step.
  let s = lru.initState(p, 1);
  for (let t = 0; t < T; t++) s = lru.step(p, s, fromArray([xs[t]])).state;
  let h: C = [0, 0];
  for (let k = 0; k < T; k++) {
    const bx = cadd(cscale(Bc[0], xs[k][0]), cscale(Bc[1], xs[k][1]));
    h = cadd(h, cmul(cpolar(r ** (T - 1 - k), (T - 1 - k) * phi), cscale(bx, gamma)));
  }
  assert.ok(Math.abs(s.h_re[0] - h[0]) < 1e-12 && Math.abs(s.h_im[0] - h[1]) < 1e-12);
});

test("real lambda via theta_log = -Infinity, gamma_log = 0: h_t = sum_s lambda^{t-s} B x_s, no NaN", () => {
  const xs = [3, -1, 2, 0.5, -4, 1];
  const T = xs.length;
  const Bre = 1.5;
  const Bim = -0.25;
  for (const nu of [-Infinity, Infinity, Math.log(-Math.log(0.6))]) {
    const lam = lruLambda([nu], [-Infinity]);
    assert.equal(lam.im[0], 0);
    assert.ok(Number.isFinite(lam.re[0]));
    const p: Params<LruConfig> = {
      family: "lru",
      config: cfg({ d_in: 1, hidden: 1, d_out: 1 }),
      tensors: {
        nu_log: fromArray([nu]),
        theta_log: fromArray([-Infinity]),
        gamma_log: fromArray([0]),
        B_re: fromArray([[Bre]]),
        B_im: fromArray([[Bim]]),
        C_re: fromArray([[1]]),
        C_im: fromArray([[0]]),
        D: fromArray([0]),
        W_a: fromArray([[0]]), // σ(0) = 1/2
        W_b: fromArray([[2]]), // so y_t = ỹ_t = Re(h_t) exactly
      },
    };
    const y = lru.forward(p, fromArray([xs.map((v) => [v])]));
    let s = lru.initState(p, 1);
    for (let t = 0; t < T; t++) {
      s = lru.step(p, s, fromArray([[xs[t]]])).state;
      let want = 0;
      for (let k = 0; k <= t; k++) want += lam.re[0] ** (t - k) * xs[k];
      const exact = nu === Infinity || nu === -Infinity; // lambda = 0 or 1: dyadic sums, no rounding at all
      const tol = exact ? 0 : 1e-13;
      assert.ok(Math.abs(y.data[t] - Bre * want) <= tol, `nu=${nu} t=${t}: y ${y.data[t]} vs ${Bre * want}`);
      assert.ok(Math.abs(s.h_re[0] - Bre * want) <= tol, `nu=${nu} t=${t}: h_re`);
      assert.ok(Math.abs(s.h_im[0] - Bim * want) <= tol, `nu=${nu} t=${t}: h_im`);
    }
    if (nu === -Infinity) assert.deepEqual(Array.from(y.data), [4.5, 3, 6, 6.75, 0.75, 2.25]); // lambda = 1: 1.5·cumsum
    if (nu === Infinity) assert.deepEqual(Array.from(y.data), xs.map((v) => 1.5 * v)); // lambda = 0
  }
});

test("one-step form equals the sequence form (all three variants, B=3, T=7)", () => {
  const B = 3;
  const T = 7;
  for (const [fam, gated] of families) {
    const c = cfg({ hidden: 4, width: gated ? 5 : 0, r_min: 0.4, r_max: 0.99 });
    const rng = Rng.fromSeed(11);
    const p = fam.init(rng, c);
    const x = randomX(rng, [B, T, 3]);
    const y = fam.forward(p, x);
    let s = fam.initState(p, B);
    for (let t = 0; t < T; t++) {
      const xt = zeros([B, 3]);
      for (let b = 0; b < B; b++) for (let j = 0; j < 3; j++) xt.data[b * 3 + j] = x.data[(b * T + t) * 3 + j];
      const r = fam.step(p, s, xt);
      assert.deepEqual(r.y.shape, [B, 2]);
      for (let b = 0; b < B; b++) {
        for (let o = 0; o < 2; o++) {
          assert.ok(Math.abs(r.y.data[b * 2 + o] - y.data[(b * T + t) * 2 + o]) < 1e-12, `${fam.name} b=${b} t=${t}`);
        }
      }
      s = r.state;
    }
  }
});

test("sequence form equals an independent naive complex loop (all three variants)", () => {
  for (const [fam, gated, skip] of families) {
    const c = cfg({ d_in: 3, hidden: 5, width: gated ? 4 : 0, d_out: 2, r_min: 0.5, r_max: 0.95 });
    const rng = Rng.fromSeed(7);
    const p = fam.init(rng, c);
    assert.deepEqual(Object.fromEntries(Object.entries(p.tensors).map(([n, t]) => [n, t.shape])), fam.shapes(c));
    const x = randomX(rng, [3, 7, 3]);
    const y = fam.forward(p, x);
    assert.deepEqual(y.shape, [3, 7, 2]);
    const want = naive(p, gated, skip, x);
    assert.ok(maxAbsDiff(y.data, want) < 1e-12, `${fam.name}: ${maxAbsDiff(y.data, want)}`);
  }
});

test("In+Skip's linear branch reads x_t: changing the input gating leaves it unchanged", () => {
  const c = cfg({ d_in: 3, hidden: 4, width: 5, d_out: 2 });
  const rng = Rng.fromSeed(3);
  const x = randomX(rng, [2, 6, 3]);
  const run = (fam: ModelFamily<LruConfig>, seedIn: number) => {
    const p = fam.init(Rng.fromSeed(5), c);
    p.tensors.W_a.data.fill(0); // σ(0) = 1/2 on every row: y = (W_b · linear branch) / 2
    const r2 = Rng.fromSeed(seedIn);
    r2.fillNormal(p.tensors.W_in_a.data);
    r2.fillNormal(p.tensors.W_in_b.data);
    return { p, y: fam.forward(p, x) };
  };
  const a = run(lruInSkip, 100);
  const b = run(lruInSkip, 200);
  const Wb = a.p.tensors.W_b.data;
  assert.deepEqual(a.p.tensors.W_b.shape, [2, 3]);
  for (let r = 0; r < 12; r++) {
    for (let o = 0; o < 2; o++) {
      let m = 0;
      for (let j = 0; j < 3; j++) m += Wb[o * 3 + j] * x.data[r * 3 + j];
      assert.ok(Math.abs(a.y.data[r * 2 + o] - m / 2) < 1e-14);
      assert.ok(Math.abs(b.y.data[r * 2 + o] - m / 2) < 1e-14);
    }
  }
  // In+Out with the same change does depend on the input gating (its linear branch reads ỹ).
  const c1 = run(lruInOut, 100);
  const c2 = run(lruInOut, 200);
  assert.ok(maxAbsDiff(c1.y.data, c2.y.data) > 1e-3);
});

test("float32 and float64 agree within 1e-5 relative (all three variants)", () => {
  for (const [fam, gated] of families) {
    const c = cfg({ d_in: 3, hidden: 6, width: gated ? 4 : 0, d_out: 2 });
    const rng = Rng.fromSeed(21);
    const p64 = fam.init(rng, c);
    const p32: Params<LruConfig> = {
      ...p64,
      tensors: Object.fromEntries(Object.entries(p64.tensors).map(([n, t]) => [n, cloneTensor(t, "f32")])),
    };
    const x = randomX(rng, [2, 9, 3]);
    const y64 = fam.forward(p64, x, ref64);
    const y32 = fam.forward(p32, x);
    assert.ok(y32.data instanceof Float32Array);
    assert.ok(relError(y32.data, y64.data) < 1e-5, `${fam.name}: ${relError(y32.data, y64.data)}`);
    const y32k = fam.forward(p64, x, ref32);
    assert.ok(relError(y32k.data, y64.data) < 1e-5);
    const i32 = fam.init(Rng.fromSeed(21), c, "f32");
    assert.ok(Object.values(i32.tensors).every((t) => t.data instanceof Float32Array));
  }
});

test("init: ring magnitudes, phases, gamma = sqrt(1 - |lambda|²), resolved width", () => {
  const c = cfg({ d_in: 3, hidden: 200, r_min: 0.3, r_max: 0.8, max_phase: 1 });
  const p = lru.init(Rng.fromSeed(1), c);
  assert.equal(p.config.width, 3);
  const lam = lruLambda(p.tensors.nu_log.data, p.tensors.theta_log.data);
  for (let i = 0; i < 200; i++) {
    const mag = Math.hypot(lam.re[i], lam.im[i]);
    const theta = Math.exp(p.tensors.theta_log.data[i]);
    assert.ok(mag >= 0.3 - 1e-12 && mag <= 0.8 + 1e-12);
    assert.ok(theta >= 0 && theta < 1);
    assert.ok(Math.abs(Math.exp(p.tensors.gamma_log.data[i]) - Math.sqrt(1 - mag * mag)) < 1e-12);
  }
  const q = lruInOut.init(Rng.fromSeed(1), cfg({ d_in: 3, hidden: 4, width: 7, max_phase: 0 }));
  assert.ok(Array.from(q.tensors.theta_log.data).every((v) => v === -Infinity));
  assert.ok(Array.from(q.tensors.B_re.data).every(Number.isFinite));
});

test("bad shapes and configs give one-line errors", () => {
  const oneLine = (re: RegExp) => (e: unknown) => e instanceof Error && re.test(e.message) && !e.message.includes("\n");
  const c = cfg({ d_in: 3, hidden: 2, width: 0 });
  const p = lru.init(Rng.fromSeed(2), c);
  assert.throws(() => lru.forward(p, zeros([2, 4, 2])), oneLine(/^lru: input must have shape \[B, T, 3\]/));
  assert.throws(() => lru.forward(p, zeros([4, 3])), oneLine(/input must have shape/));
  assert.throws(() => lru.step(p, lru.initState(p, 2), zeros([2, 4])), oneLine(/step input must have shape \[B, 3\]/));
  assert.throws(() => lru.step(p, lru.initState(p, 3), zeros([2, 3])), oneLine(/state must hold h_re and h_im of shape \[2, 2\]/));
  // Out requires width = d_in.
  const bad = cfg({ d_in: 3, width: 4 });
  assert.throws(() => lru.shapes(bad), oneLine(/^lru: width must equal d_in \(3\) for the Out variant/));
  assert.throws(() => lru.init(Rng.fromSeed(0), bad), oneLine(/width must equal d_in/));
  assert.throws(() => lru.forward({ ...p, config: bad }, zeros([1, 2, 3])), oneLine(/width must equal d_in/));
  assert.deepEqual(lruInOut.shapes(bad).B_re, [100, 4]);
  assert.deepEqual(lruInSkip.shapes(bad).W_b, [2, 3]);
  assert.throws(() => lru.init(Rng.fromSeed(0), cfg({ r_min: 0.9, r_max: 0.5 })), oneLine(/r_min \(0\.9\) must not exceed r_max/));
  assert.throws(() => parseConfig(lruSchema, { d_in: 3, d_out: 2, r_max: 1.5 }), oneLine(/r_max/));
  const def = cfg({});
  assert.deepEqual([def.r_min, def.r_max, def.max_phase, def.width], [0, 1, 2 * Math.PI, 0]);
});

/** Small complex-lambda instance of a variant: d_in = 3, N = 4, H = 5 (gated) or 3, d_out = 2; x [2, 5, 3]. */
function gradInstance(fam: ModelFamily<LruConfig>, gated: boolean, seed: number): { p: Params<LruConfig>; x: Tensor; rng: Rng } {
  const rng = Rng.fromSeed(seed);
  const p = fam.init(rng, cfg({ d_in: 3, hidden: 4, width: gated ? 5 : 0, d_out: 2, r_min: 0.5, r_max: 0.95, max_phase: 3 }));
  const lam = lruLambda(p.tensors.nu_log.data, p.tensors.theta_log.data);
  assert.ok(Array.from(lam.im).every((v) => Math.abs(v) > 1e-3), "lambda must be genuinely complex");
  return { p, x: randomX(rng, [2, 5, 3]), rng };
}

test("forwardCached returns forward's y; backward gives every tensor's gradient and dx (all three variants)", () => {
  for (const [fam, gated] of families) {
    const { p, x } = gradInstance(fam, gated, 31);
    const { y, cache } = fam.forwardCached!(p, x, ref64);
    assert.deepEqual(Array.from(y), Array.from(fam.forward(p, x).data));
    assert.deepEqual([cache.B, cache.T], [2, 5]);
    const { grads, dx } = fam.backward!(p, cache, new Float64Array(y.length).fill(1), ref64);
    assert.deepEqual(Object.keys(grads).sort(), Object.keys(fam.shapes(p.config)).sort());
    for (const [n, t] of Object.entries(p.tensors)) assert.equal(grads[n].length, t.data.length, n);
    assert.equal(dx.length, x.data.length);
  }
});

test("gradients match central finite differences at float64, tol 1e-6 (all three variants, complex lambda)", () => {
  for (const [fam, gated] of families) {
    const { p, x, rng } = gradInstance(fam, gated, 32);
    checkGradients(fam, p, x, rng, 1e-6, 1000); // samples ≥ every tensor's size: all entries checked
  }
});

test("real lambda (theta_log = -Infinity): finite gradients, exactly 0 for theta_log, nu_log = ±Infinity finite", () => {
  for (const [fam, gated] of families) {
    const { p, x, rng } = gradInstance(fam, gated, 33);
    p.tensors.theta_log.data.fill(-Infinity);
    checkGradients(fam, p, x, rng, 1e-6, 1000); // every finite entry, including nu_log of the real lambdas
    p.tensors.nu_log.data[0] = -Infinity; // lambda = 1
    p.tensors.nu_log.data[1] = Infinity; // lambda = 0
    const { y, cache } = fam.forwardCached!(p, x, ref64);
    const w = new Float64Array(y.length);
    rng.fillNormal(w);
    const { grads, dx } = fam.backward!(p, cache, w, ref64);
    for (const [n, g] of Object.entries(grads)) assert.ok(Array.from(g).every(Number.isFinite), `${fam.name} d${n} not finite`);
    assert.ok(Array.from(dx).every(Number.isFinite));
    assert.ok(Array.from(grads.theta_log).every((v) => Object.is(v, 0)), `${fam.name}: dtheta_log ${grads.theta_log}`);
    assert.ok(Object.is(grads.nu_log[1], 0));
    checkGradients(fam, p, x, rng, 1e-6, 1000); // ±Infinity entries are skipped, the rest still match
  }
});

test("float32 reference gradients agree with float64 within 1e-4 relative, normwise per tensor (all three variants)", () => {
  const normRel = (a: ArrayLike<number>, b: ArrayLike<number>) => {
    let d = 0;
    let s = 0;
    for (let i = 0; i < b.length; i++) {
      d += (a[i] - b[i]) ** 2;
      s += b[i] ** 2;
    }
    return s === 0 ? Math.sqrt(d) : Math.sqrt(d / s);
  };
  for (const [fam, gated] of families) {
    const { p: p64, x, rng } = gradInstance(fam, gated, 34);
    const p32: Params<LruConfig> = {
      ...p64,
      tensors: Object.fromEntries(Object.entries(p64.tensors).map(([n, t]) => [n, cloneTensor(t, "f32")])),
    };
    const w = new Float64Array(2 * 5 * 2);
    rng.fillNormal(w);
    const f64 = fam.forwardCached!(p64, x, ref64);
    const g64 = fam.backward!(p64, f64.cache, w, ref64);
    const f32 = fam.forwardCached!(p32, cloneTensor(x, "f32"), ref32);
    const g32 = fam.backward!(p32, f32.cache, Float32Array.from(w), ref32);
    assert.ok(g32.dx instanceof Float32Array);
    for (const [n, g] of Object.entries(g64.grads)) {
      assert.ok(g32.grads[n] instanceof Float32Array, n);
      const e = normRel(g32.grads[n], g);
      assert.ok(e <= 1e-4, `${fam.name} d${n}: float32 vs float64 ${e.toExponential(3)}`);
    }
    assert.ok(normRel(g32.dx, g64.dx) <= 1e-4, `${fam.name} dx`);
  }
});
