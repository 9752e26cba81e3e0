import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { analyzeGatedRnn, gatedRnnOutputsAt, gatedRnnStatesAt } from "../src/analysis/analyze.ts";
import { canonicalize, groupCounts, neuronGroups } from "../src/analysis/groups.ts";
import { gatedRnnIclPolynomials, gdAttention, gdGatedRnn, iclPolynomials } from "../src/analysis/icl.ts";
import { mergeRows } from "../src/analysis/merge.ts";
import {
  attentionPolynomial, firstLastPolynomials, gatedRnnPolynomial, instantaneousPolynomials, MonomialBasis, polyConst, polyEval, polyMul, polyVar, variableToken,
} from "../src/analysis/polynomial.ts";
import { functionalPrune, pruneGatedRnn, selectNeurons } from "../src/analysis/prune.ts";
import { kvqScores, oneMinusR2, regressionFit } from "../src/analysis/scores.ts";
import { heatmapColor } from "../src/analysis/figures.ts";
import { commands } from "../src/cli/commands.ts";
import { runCli } from "../src/cli/main.ts";
import { constructGatedRnn, gatedVariants } from "../src/constructions/gated-rnn.ts";
import type { AttentionWeights } from "../src/constructions/gated-rnn.ts";
import { permuteHidden, permuteOutputRows, rescaleGatingRow, swapGatingRows } from "../src/constructions/invariances.ts";
import { saveParams } from "../src/io/files.ts";
import { lstsq, matmul, svd, symEig, transpose } from "../src/linalg.ts";
import { attention, attentionConfig } from "../src/models/attention.ts";
import type { AttentionConfig } from "../src/models/attention.ts";
import { gatedRnn } from "../src/models/gated-rnn.ts";
import type { GatedRnnConfig } from "../src/models/gated-rnn.ts";
import type { Params } from "../src/models/types.ts";
import { etaStar, gdPredict } from "../src/tasks/closed-forms.ts";
import { iclRegression } from "../src/tasks/icl-regression.ts";
import { relError } from "../src/tensor.ts";
import { randn, Rng } from "./helpers.ts";

type G = Params<GatedRnnConfig>;
const root = join(dirname(fileURLToPath(import.meta.url)), "..");

function teacher(d: number, seed: number): { att: AttentionWeights; params: Params<AttentionConfig> } {
  const params = attention.init(Rng.fromSeed(seed), attentionConfig({ d }));
  return { att: { d, W_V: params.tensors.W_V.data, W_K: params.tensors.W_K.data, W_Q: params.tensors.W_Q.data }, params };
}

function randomGated(rng: Rng, d: number, N: number, M: number, dOut: number): G {
  return gatedRnn.init(rng, { d_in: d, hidden: N, output_gating: M, d_out: dOut }, "f64") as G;
}

/** A random permutation of 0..n-1. */
function shuffle(rng: Rng, n: number): number[] {
  const a = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

/** Hides a model's structure with Section 2.2's invariances: permutations, row swaps and rescalings of both stages. */
function scramble(p: G, rng: Rng): G {
  let q = permuteHidden(p, shuffle(rng, p.config.hidden));
  q = permuteOutputRows(q, shuffle(rng, q.config.output_gating));
  for (let n = 0; n < q.config.hidden; n++) {
    if (rng.uniform() < 0.5) q = swapGatingRows(q, "in", n);
    q = rescaleGatingRow(q, "in", n, (rng.uniform() < 0.5 ? -1 : 1) * rng.uniformIn(0.3, 3));
  }
  for (let r = 0; r < q.config.output_gating; r++) {
    if (rng.uniform() < 0.5) q = swapGatingRows(q, "out", r);
    q = rescaleGatingRow(q, "out", r, (rng.uniform() < 0.5 ? -1 : 1) * rng.uniformIn(0.3, 3));
  }
  return q;
}

/**
 * Embeds p into a larger model with dead parts: hidden neurons with a zero in_m row (but read by live rows), hidden
 * neurons read by no row, output rows with a zero readout column, and a row whose out_m only reads dead neurons.
 */
function padWithDead(p: G, rng: Rng, extraHidden: number, extraRows: number): G {
  const { d_in: d, hidden: N, output_gating: M, d_out: dOut } = p.config;
  const D = d + 1;
  const N2 = N + 2 * extraHidden, M2 = M + 2 * extraRows;
  const q = randomGated(rng, d, N2, M2, dOut);
  const t = q.tensors, s = p.tensors;
  // live part
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < D; c++) {
      t.in_x.data[n * D + c] = s.in_x.data[n * D + c];
      t.in_m.data[n * D + c] = s.in_m.data[n * D + c];
    }
    t.lambda.data[n] = s.lambda.data[n];
  }
  for (let r = 0; r < M2; r++) {
    for (let n = 0; n < N2; n++) {
      const live = r < M && n < N;
      t.out_x.data[r * N2 + n] = live ? s.out_x.data[r * N + n] : r < M ? 0 : t.out_x.data[r * N2 + n];
      t.out_m.data[r * N2 + n] = live ? s.out_m.data[r * N + n] : r < M ? 0 : t.out_m.data[r * N2 + n];
    }
    for (let o = 0; o < dOut; o++) t.readout.data[o * M2 + r] = r < M ? s.readout.data[o * M + r] : t.readout.data[o * M2 + r];
  }
  // hidden N .. N+extra-1: zero in_m row (dead input), read by the extra rows only
  for (let n = N; n < N + extraHidden; n++) for (let c = 0; c < D; c++) t.in_m.data[n * D + c] = 0;
  // hidden N+extra .. : live inputs, read by nobody
  for (let r = 0; r < M2; r++) for (let n = N + extraHidden; n < N2; n++) t.out_x.data[r * N2 + n] = t.out_m.data[r * N2 + n] = 0;
  // rows M .. M+extra-1: zero readout column; rows M+extra .. : out_m reads only the dead-input neurons
  for (let r = M; r < M + extraRows; r++) for (let o = 0; o < dOut; o++) t.readout.data[o * M2 + r] = 0;
  for (let r = M + extraRows; r < M2; r++) for (let n = 0; n < N2; n++) if (n < N || n >= N + extraHidden) t.out_m.data[r * N2 + n] = 0;
  return q;
}

describe("linalg additions", () => {
  test("lstsq: residual orthogonal to the columns, exact fits, rank-deficient columns", () => {
    const rng = Rng.fromSeed(1);
    const m = 30, n = 6, k = 3;
    const A = randn(rng, [m, n]).data;
    const B = randn(rng, [m, k]).data;
    const { rank, residual } = lstsq(A, B, m, n, k);
    assert.equal(rank, n);
    const AtR = matmul(transpose(A, m, n), residual, n, m, k);
    assert.ok(Math.max(...AtR.map(Math.abs)) < 1e-12, "Aᵀ r = 0");
    // exact fit recovers X
    const X0 = randn(rng, [n, k]).data;
    const fit = lstsq(A, matmul(A, X0, m, n, k), m, n, k);
    assert.ok(relError(fit.X, X0) < 1e-12);
    assert.ok(Math.max(...fit.residual.map(Math.abs)) < 1e-12);
    // duplicate column: rank n, still a least-squares solution
    const A2 = new Float64Array(m * (n + 1));
    for (let r = 0; r < m; r++) {
      for (let j = 0; j < n; j++) A2[r * (n + 1) + j] = A[r * n + j];
      A2[r * (n + 1) + n] = A[r * n + 2];
    }
    const dup = lstsq(A2, B, m, n + 1, k);
    assert.equal(dup.rank, n);
    assert.ok(relError(dup.residual, residual) < 1e-10);
    // underdetermined (m < n): exact fit
    const wide = lstsq(A.subarray(0, 4 * n), B.subarray(0, 4 * k), 4, n, k);
    assert.equal(wide.rank, 4);
    assert.ok(Math.max(...wide.residual.map(Math.abs)) < 1e-12);
  });

  test("symEig: V diag(values) Vᵀ = S, V orthogonal, values descending", () => {
    const rng = Rng.fromSeed(2);
    for (const n of [1, 2, 7, 20]) {
      const R = randn(rng, [n, n]).data;
      const S = matmul(R, transpose(R, n, n), n, n, n);
      for (let i = 0; i < n; i++) S[i * n + i] -= 3; // indefinite
      const { values, vectors } = symEig(S, n);
      const VD = new Float64Array(n * n);
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) VD[i * n + j] = vectors[i * n + j] * values[j];
      assert.ok(relError(matmul(VD, transpose(vectors, n, n), n, n, n), S) < 1e-12, `n=${n} reconstruction`);
      const I = matmul(transpose(vectors, n, n), vectors, n, n, n);
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) assert.ok(Math.abs(I[i * n + j] - (i === j ? 1 : 0)) < 1e-12);
      for (let j = 1; j < n; j++) assert.ok(values[j] <= values[j - 1]);
    }
  });

  test("svd: U diag(S) Vᵀ = A for tall and wide matrices, orthonormal factors, a rank-1 matrix has one singular value", () => {
    const rng = Rng.fromSeed(3);
    for (const [m, n] of [[8, 5], [5, 8], [1, 6], [6, 6]]) {
      const A = randn(rng, [m, n]).data;
      const { U, S, V } = svd(A, m, n);
      const r = Math.min(m, n);
      const US = new Float64Array(m * r);
      for (let i = 0; i < m; i++) for (let j = 0; j < r; j++) US[i * r + j] = U[i * r + j] * S[j];
      assert.ok(relError(matmul(US, transpose(V, n, r), m, r, n), A) < 1e-12, `[${m}, ${n}]`);
      const UtU = matmul(transpose(U, m, r), U, r, m, r);
      const VtV = matmul(transpose(V, n, r), V, r, n, r);
      for (let i = 0; i < r; i++) for (let j = 0; j < r; j++) {
        assert.ok(Math.abs(UtU[i * r + j] - (i === j ? 1 : 0)) < 1e-12);
        assert.ok(Math.abs(VtV[i * r + j] - (i === j ? 1 : 0)) < 1e-12);
      }
      for (let j = 1; j < r; j++) assert.ok(S[j] <= S[j - 1]);
    }
    const u = randn(rng, [4, 1]).data, v = randn(rng, [1, 9]).data;
    const { S } = svd(matmul(u, v, 4, 1, 9), 4, 9);
    assert.ok(S[1] / S[0] < 1e-14);
  });
});

describe("exact polynomials", () => {
  test("basis: C(nv + 4, 4) monomials, graded; products of monomials add exponents", () => {
    const b = new MonomialBasis(4, 4);
    assert.equal(b.size, 70);
    assert.deepEqual(b.sizeUpTo, [1, 5, 15, 35, 70]);
    assert.equal(new MonomialBasis(9, 4).size, 715);
    const i = b.indexOf([1, 0, 2, 0]), j = b.indexOf([0, 1, 0, 0]);
    assert.deepEqual(Array.from(b.exps[b.mulIndex(i, j)]), [1, 1, 2, 0]);
    assert.equal(b.name(b.mulIndex(i, j), ["a", "b", "c", "d"]), "a b c^2");
    const p = polyMul(b, polyVar(b, 0), polyMul(b, polyVar(b, 1), polyConst(b, 3)));
    assert.equal(polyEval(b, p, [2, 5, 7, 11]), 30);
  });

  test("gated RNN and attention polynomials equal their forward passes on symbolic sequences (1 and 3 tokens)", () => {
    const rng = Rng.fromSeed(4);
    const d = 3;
    const rnn = randomGated(rng.split(), d, 7, 5, 2);
    const att = attention.init(rng.split(), attentionConfig({ d, heads: 2, d_key: 2, d_out: 2 })) as Params<AttentionConfig>;
    for (const T of [1, 3]) {
      const basis = new MonomialBasis(T * d, 4);
      const seq = Array.from({ length: T }, (_, t) => variableToken(basis, d, t * d));
      const pr = gatedRnnPolynomial(rnn, seq, basis);
      const pa = attentionPolynomial(att, seq, basis);
      for (let trial = 0; trial < 3; trial++) {
        const x = randn(rng, [1, T, d]);
        const yr = gatedRnn.forward(rnn, x).data.subarray((T - 1) * 2);
        const ya = attention.forward(att, x).data.subarray((T - 1) * 2);
        for (let o = 0; o < 2; o++) {
          assert.ok(Math.abs(polyEval(basis, pr[o], x.data) - yr[o]) < 1e-12 * (1 + Math.abs(yr[o])), `rnn T=${T}`);
          assert.ok(Math.abs(polyEval(basis, pa[o], x.data) - ya[o]) < 1e-12 * (1 + Math.abs(ya[o])), `attention T=${T}`);
        }
      }
      for (const p of pa) assert.equal(p.deg, 3);
    }
  });

  test("constructions: the instantaneous polynomial equals attention's (degree 3 only) to float64 rounding, d = 1..5", () => {
    for (let d = 1; d <= 5; d++) {
      const { att, params } = teacher(d, 10 + d);
      for (const variant of gatedVariants) {
        const r = instantaneousPolynomials(constructGatedRnn(att, variant), params);
        assert.ok(r.distance < 1e-12, `d=${d} ${variant}: distance ${r.distance}`);
        r.errorByDegree.forEach((e, k) => assert.ok(k === 3 ? e < 1e-12 : e === 0, `d=${d} ${variant} degree ${k}: ${e}`));
      }
    }
    // a perturbed construction is detected, in the degree that was perturbed
    const { att, params } = teacher(3, 5);
    const rnn = constructGatedRnn(att, "compact");
    rnn.tensors.in_x.data[3] = 1e-3; // constant column of memory neuron 0: adds degree-1 terms to its input
    const r = instantaneousPolynomials(rnn, params);
    assert.ok(r.distance > 1e-5 && r.errorByDegree[2] > 1e-5 && r.errorByDegree[4] === 0);
    // lambda is invisible to the one-step map but not to the first/last-token polynomial
    const leaky = constructGatedRnn(att, "compact");
    leaky.tensors.lambda.data[0] = 0.99;
    assert.ok(instantaneousPolynomials(leaky, params).distance < 1e-12);
    assert.ok(firstLastPolynomials(leaky, params, 8).distance > 1e-3);
    assert.ok(firstLastPolynomials(constructGatedRnn(att, "full"), params, 8).distance < 1e-12);
  });
});

describe("pruning, groups, canonical order", () => {
  test("dead neurons are found to a fixpoint and removed without changing the outputs", () => {
    const { att } = teacher(3, 21);
    const base = constructGatedRnn(att, "compact");
    const rng = Rng.fromSeed(22);
    const padded = padWithDead(base, rng, 4, 3);
    const perm = shuffle(rng, padded.config.hidden);
    const p = permuteOutputRows(permuteHidden(padded, perm), shuffle(rng, padded.config.output_gating));
    const pr = pruneGatedRnn(p, 1e-12);
    assert.equal(pr.prunedHidden, 8);
    assert.equal(pr.prunedOutputGating, 6);
    assert.equal(pr.params.config.hidden, base.config.hidden);
    const x = randn(rng, [3, 10, 3]);
    assert.ok(relError(gatedRnn.forward(pr.params, x).data, gatedRnn.forward(p, x).data) < 1e-14);
    // selectNeurons with everything is the identity
    const all = selectNeurons(p, Array.from({ length: p.config.hidden }, (_, i) => i), Array.from({ length: p.config.output_gating }, (_, i) => i));
    assert.deepEqual(Array.from(all.tensors.out_m.data), Array.from(p.tensors.out_m.data));
  });

  test("functional pruning removes units with sub-budget effects that the weight rule keeps (tiny nonzero weights)", () => {
    const d = 3;
    const { att, params } = teacher(d, 23);
    const rng = Rng.fromSeed(24);
    const p = padWithDead(constructGatedRnn(att, "compact"), rng, 3, 3);
    for (const t of Object.values(p.tensors)) for (let i = 0; i < t.data.length; i++) if (t.data[i] === 0) t.data[i] = 1e-9 * (rng.uniform() - 0.5);
    assert.equal(pruneGatedRnn(p, 1e-12).prunedHidden, 0);
    const x = randn(rng, [8, 6, d]);
    const scored = [0, 1, 2, 3, 4, 5];
    const y = gatedRnnOutputsAt(p, x, scored);
    const fp = functionalPrune(p, y, 1e-6, (q) => ({ h: gatedRnnStatesAt(q, x, scored), at: Int32Array.from({ length: 8 * 6 }, (_, s) => s) }));
    // its error is the error of a forward of the pruned model
    let dmax = 0;
    gatedRnnOutputsAt(fp.params, x, scored).forEach((v, i) => (dmax = Math.max(dmax, Math.abs(v - y[i]))));
    assert.equal(fp.relError, dmax / y.reduce((m, v) => Math.max(m, Math.abs(v)), 0));
    assert.equal(fp.params.config.hidden, (d * (d + 1)) / 2 + d);
    assert.equal(fp.params.config.output_gating, d * d);
    assert.ok(fp.relError <= 1e-6);
    assert.ok(relError(gatedRnn.forward(fp.params, x).data, attention.forward(params, x).data) < 1e-6);
    const r = analyzeGatedRnn(p, params, { kind: "teacher-student", T: 6 }, { sequences: 8, tolerance: 1e-6, lambdaTolerance: 1e-6, pruning: "functional" });
    assert.equal(r.pruning, "functional");
    assert.deepEqual([r.pruned_hidden, r.pruned_output_gating, r.memory_neurons, r.forget_neurons], [6, 6, 6, 3]);
    assert.ok(r.pruning_verified);
  });

  test("groups by lambda; canonical order keeps the function, puts memory -> forget first and finds the block structure", () => {
    assert.deepEqual(neuronGroups([1, 0.995, 0, 0.004, 0.5], 1e-2), ["memory", "memory", "forget", "forget", "other"]);
    for (const variant of gatedVariants) {
      const d = 4;
      const { att } = teacher(d, 30);
      const rng = Rng.fromSeed(31);
      const p = scramble(constructGatedRnn(att, variant), rng);
      const can = canonicalize(p, 1e-9, 1e-12);
      const x = randn(rng, [2, 12, d]);
      assert.ok(relError(gatedRnn.forward(can.params, x).data, gatedRnn.forward(p, x).data) < 1e-12, variant);
      const mem = variant === "full" ? d * d : (d * (d + 1)) / 2;
      assert.deepEqual(groupCounts(can.groups), { memory: mem, forget: d, other: 0 });
      assert.deepEqual(can.groups, [...Array(mem).fill("memory"), ...Array(d).fill("forget")]);
      assert.ok(can.blockRows.every(Boolean), `${variant}: every row in the block structure`);
      // forget neurons: in_m = e_const exactly (the query sits in in_x), as in Figure 1
      const D = d + 1;
      for (let n = mem; n < mem + d; n++) {
        assert.ok(Math.abs(can.params.tensors.in_m.data[n * D + d] - 1) < 1e-14);
        for (let c = 0; c < d; c++) assert.ok(Math.abs(can.params.tensors.in_m.data[n * D + c]) < 1e-14);
      }
      // rows sorted by the forget neuron their out_m reads
      const N = can.params.config.hidden;
      const reads = Array.from({ length: can.params.config.output_gating }, (_, r) => {
        let best = 0;
        for (let n = 1; n < N; n++) if (Math.abs(can.params.tensors.out_m.data[r * N + n]) > Math.abs(can.params.tensors.out_m.data[r * N + best])) best = n;
        return best;
      });
      for (let r = 1; r < reads.length; r++) assert.ok(reads[r] >= reads[r - 1]);
    }
  });
});

describe("KV / Q scores", () => {
  test("1 - R²: 0 for an exact linear relation, ~1 for independent noise; constant columns are left out", () => {
    const rng = Rng.fromSeed(40);
    const m = 400;
    const F = randn(rng, [m, 3]).data;
    const W = randn(rng, [3, 2]).data;
    const Y = matmul(F, W, m, 3, 2);
    for (let r = 0; r < m; r++) Y[r * 2 + 1] += 5; // intercept
    assert.ok(oneMinusR2(F, Y, m, 3, 2) < 1e-25);
    const noise = randn(rng, [m, 1]).data;
    const s = oneMinusR2(F, noise, m, 3, 1);
    assert.ok(s > 0.95 && s <= 1, `noise: ${s}`);
    const withConst = new Float64Array(m * 3);
    for (let r = 0; r < m; r++) {
      withConst[r * 3] = Y[r * 2];
      withConst[r * 3 + 1] = 0;
      withConst[r * 3 + 2] = noise[r];
    }
    assert.ok(Math.abs(oneMinusR2(F, withConst, m, 3, 3) - s / 2) < 1e-12);
    assert.ok(Math.abs(oneMinusR2(F, noise, m, 0, 1) - 1) < 1e-12);
    assert.equal(regressionFit(F, noise, m, 3, 1).rank, 4);
  });

  test("constructions: memory inputs encode v kᵀ and forget inputs q exactly; wrong groups do not", () => {
    const d = 4;
    const { att, params } = teacher(d, 41);
    const x = randn(Rng.fromSeed(42), [16, 8, d]);
    for (const variant of gatedVariants) {
      const p = constructGatedRnn(att, variant);
      const mem = variant === "full" ? d * d : (d * (d + 1)) / 2;
      const memory = Array.from({ length: mem }, (_, i) => i);
      const forget = Array.from({ length: d }, (_, i) => mem + i);
      const s = kvqScores(p, params, x, memory, forget);
      assert.ok(s.kv_score < 1e-20 && s.q_score < 1e-20, `${variant}: ${JSON.stringify(s)}`);
      const bad = kvqScores(p, params, x, forget, memory.slice(0, 2));
      assert.ok(bad.kv_score > 0.3 && bad.q_score > 0.3, `${variant} swapped: ${JSON.stringify(bad)}`);
    }
  });
});

describe("rank-1 merge (App. B.2)", () => {
  /** Splits block row r of a canonical construction into two rows outside the block structure with the same sum. */
  function splitRow(p: G, r: number, forgetNeuron: number, rng: Rng): G {
    const { hidden: N, output_gating: M, d_out: dOut } = p.config;
    const rows = [...Array(M).keys(), r];
    const q = selectNeurons(p, [...Array(N).keys()], rows); // row M duplicates row r
    const t = q.tensors;
    const f = rng.uniformIn(0.5, 2);
    // row r: out_x = c + f e_forget (reads a forget neuron); row M: out_x = -f e_forget; both gated by the same out_m
    t.out_x.data[r * N + forgetNeuron] += f;
    for (let n = 0; n < N; n++) t.out_x.data[M * N + n] = n === forgetNeuron ? -f : 0;
    for (let o = 0; o < dOut; o++) assert.equal(t.readout.data[o * (M + 1) + M], t.readout.data[o * (M + 1) + r]);
    return q;
  }

  test("rows outside the block structure whose kernels are proportional and rank 1 merge into one row, function kept", () => {
    const d = 3;
    const { att, params } = teacher(d, 50);
    const base = canonicalize(constructGatedRnn(att, "compact"), 1e-9, 1e-12).params;
    const mem = (d * (d + 1)) / 2;
    const p = splitRow(base, 4, mem + 1, Rng.fromSeed(51));
    const can = canonicalize(p, 1e-9, 1e-12);
    const outside = can.blockRows.flatMap((b, r) => (b ? [] : [r]));
    assert.equal(outside.length, 2);
    const mr = mergeRows(can.params, outside, can.groups);
    assert.ok(mr.proportionality < 1e-12, `proportionality ${mr.proportionality}`);
    assert.ok(mr.rank_residual < 1e-12, `rank residual ${mr.rank_residual}`);
    assert.equal(mr.params.config.output_gating, can.params.config.output_gating - 1);
    const x = randn(Rng.fromSeed(52), [4, 10, d]);
    assert.ok(relError(gatedRnn.forward(mr.params, x).data, attention.forward(params, x).data) < 1e-12);
    // the merged row has the construction's structure: out_x reads memory neurons only, out_m forget neurons only
    const N = mr.params.config.hidden;
    const last = mr.params.config.output_gating - 1;
    const maxAbs = (a: ArrayLike<number>) => Math.max(...Array.from(a, Math.abs));
    const px = mr.params.tensors.out_x.data.subarray(last * N, (last + 1) * N), pm = mr.params.tensors.out_m.data.subarray(last * N, (last + 1) * N);
    assert.ok(maxAbs(px.subarray(mem)) < 1e-12 * maxAbs(px) && maxAbs(pm.subarray(0, mem)) < 1e-12 * maxAbs(pm));
    assert.equal(mr.kernels.length, d);
    assert.equal(mr.merged_kernel.length, N);
  });

  test("kernels that are not proportional are reported as such", () => {
    const d = 3;
    const { att } = teacher(d, 53);
    const base = canonicalize(constructGatedRnn(att, "compact"), 1e-9, 1e-12).params;
    const M = base.config.output_gating;
    // make two rows read both groups in out_x with different readouts: two independent kernels
    const p = selectNeurons(base, [...Array(base.config.hidden).keys()], [...Array(M).keys()]);
    const N = p.config.hidden;
    p.tensors.out_x.data[0 * N + N - 1] = 1;
    p.tensors.out_x.data[5 * N + N - 2] = 1;
    const mr = mergeRows(p, [0, 5], canonicalize(p, 1e-9, 1e-12).groups);
    assert.ok(mr.proportionality > 0.05 || mr.rank_residual > 0.05, JSON.stringify({ p: mr.proportionality, r: mr.rank_residual }));
  });
});

describe("in-context regression: GD construction and query polynomials", () => {
  const dx = 3, dy = 3, T = 12;
  const eta = etaStar(T, dx);

  test("the GD attention and its gated-RNN constructions predict eta Σ y_t x_tᵀ x_q at the query", () => {
    const B = 16;
    const batch = iclRegression.batch(Rng.fromSeed(60), { d_x: dx, d_y: dy, T }, null, B, "f64");
    // gdPredict uses the tokens before t, attention includes t itself: they agree at the query, whose y part is 0
    const atQuery = (y: ArrayLike<number>) => Array.from({ length: B * dy }, (_, k) => y[(Math.floor(k / dy) * (T + 1) + T) * dy + (k % dy)]);
    const gd = atQuery(gdPredict(batch, eta, dx).data);
    const att = attention.forward(gdAttention(dx, dy, eta), batch.x).data;
    assert.ok(relError(atQuery(att), gd) < 1e-14);
    for (const variant of ["full", "compact"] as const) {
      const y = gatedRnn.forward(gdGatedRnn(dx, dy, eta, variant), batch.x).data;
      assert.ok(relError(y, att) < 1e-12, `${variant}: every position equals the GD attention`);
      assert.ok(relError(atQuery(y), gd) < 1e-12, variant);
    }
  });

  test("query polynomial P_t of the GD construction: the x_q,i x_t,i y_t,o coefficients are eta*, everything else 0", () => {
    for (const variant of ["full", "compact"] as const) {
      const r = gatedRnnIclPolynomials(gdGatedRnn(dx, dy, eta, variant), dx, dy, T, eta);
      assert.equal(r.terms.length, T);
      for (let t = 0; t < T; t++) {
        for (let o = 0; o < dy; o++) {
          for (let i = 0; i < dx; i++) assert.ok(Math.abs(r.terms[t][o][i] - eta) <= 1e-15, `${variant} t=${t} o=${o} i=${i}: ${r.terms[t][o][i]}`);
          assert.ok(r.residual[t][o] <= 1e-15);
        }
        assert.ok(r.distance[t] <= 1e-14);
      }
      assert.deepEqual(r.cross, [0, 0, 0]);
    }
    assert.deepEqual(gatedRnnIclPolynomials(gdGatedRnn(dx, dy, eta), dx, dy, T, eta).variables.slice(-3), ["x_q,1", "x_q,2", "x_q,3"]);
  });

  test("P_t is the query output with the other observations at 0, exactly (random gated RNN with lambda in (0, 1))", () => {
    const rng = Rng.fromSeed(61);
    const rnn = randomGated(rng, dx + dy, 6, 5, dy);
    const Ts = 4;
    let seen: { seq: number; basis: MonomialBasis; y: ReturnType<typeof gatedRnnPolynomial> }[] = [];
    const r = iclPolynomials((seq, basis) => {
      const y = gatedRnnPolynomial(rnn, seq, basis);
      seen.push({ seq: seen.length, basis, y });
      return y;
    }, dx, dy, Ts, eta);
    const t = 2; // the third observation
    const { basis, y } = seen[t];
    const vars = randn(rng, [basis.nv]).data;
    const x = new Float64Array((Ts + 1) * (dx + dy));
    for (let j = 0; j < dx + dy; j++) x[t * (dx + dy) + j] = vars[j];
    for (let i = 0; i < dx; i++) x[Ts * (dx + dy) + i] = vars[dx + dy + i];
    const out = gatedRnn.forward(rnn, { shape: [1, Ts + 1, dx + dy], data: x }).data.subarray(Ts * dy);
    for (let o = 0; o < dy; o++) assert.ok(Math.abs(polyEval(basis, y[o], vars) - out[o]) < 1e-12 * (1 + Math.abs(out[o])));
    assert.ok(r.cross.some((c) => c > 1e-6), "a random RNN has cross-observation terms");
    seen = [];
  });
});

describe("analyzeGatedRnn end to end", () => {
  test("outputs at the scored positions equal the forward pass there (zeros elsewhere)", () => {
    const rng = Rng.fromSeed(69);
    const p = randomGated(rng, 4, 9, 7, 3);
    const x = randn(rng, [3, 6, 4]);
    const full = gatedRnn.forward(p, x).data;
    const at = gatedRnnOutputsAt(p, x, [1, 5]);
    for (let b = 0; b < 3; b++) for (let t = 0; t < 6; t++) for (let o = 0; o < 3; o++) {
      const k = (b * 6 + t) * 3 + o;
      if (t === 1 || t === 5) assert.ok(Math.abs(at[k] - full[k]) <= 1e-14 * (1 + Math.abs(full[k])));
      else assert.equal(at[k], 0);
    }
  });

  test("constructions (scrambled, padded with dead neurons): Table 1 numbers at float64 rounding, d(d+1)/2 and d neurons", () => {
    const d = 4;
    const { att, params } = teacher(d, 70);
    for (const variant of gatedVariants) {
      const rng = Rng.fromSeed(71);
      const p = scramble(padWithDead(constructGatedRnn(att, variant), rng, 5, 4), rng);
      const r = analyzeGatedRnn(p, params, { kind: "teacher-student", T: 8 }, { sequences: 16, tolerance: 1e-12, lambdaTolerance: 1e-9 });
      const mem = variant === "full" ? d * d : (d * (d + 1)) / 2;
      assert.equal(r.memory_neurons, mem);
      assert.equal(r.forget_neurons, d);
      assert.equal(r.other_neurons, 0);
      assert.equal(r.pruned_hidden, 10);
      assert.equal(r.pruned_output_gating, 8);
      assert.ok(r.pruned_output_rel_error < 1e-14 && r.pruning_verified);
      for (const k of ["loss", "kv_score", "q_score", "polynomial_distance", "polynomial_distance_first_last"] as const) assert.ok(r[k]! < 1e-9, `${variant} ${k} = ${r[k]}`);
      assert.equal(r.outside_rows, 0);
      assert.equal(r.merge, null);
      assert.equal(r.quadratic_dim, 15);
      assert.ok(r.kv_feature_rank < 15 && r.q_feature_rank < 15, "the scores are not trivially 0");
      assert.equal(r.figures.weights.in_x.length, mem + d);
      assert.equal(r.figures.teacher[0].W_V.length, d);
    }
  });

  test("icl: the GD construction gives eta* coefficients, zero residual and the GD loss", () => {
    const dx = 3, dy = 3, T = 12;
    const eta = etaStar(T, dx);
    const r = analyzeGatedRnn(gdGatedRnn(dx, dy, eta), null, { kind: "icl-regression", d_x: dx, d_y: dy, T }, { sequences: 64 });
    assert.equal(r.eta_star, eta);
    for (const c of r.gd_coefficients!) assert.ok(Math.abs(c - eta) <= 1e-15);
    assert.ok(r.residual_norm! <= 1e-15 && r.polynomial_distance <= 1e-14 && r.cross_token_norm === 0);
    assert.ok(Math.abs(r.rnn_loss! - r.gd_loss_sampled!) <= 1e-12 * r.gd_loss_sampled!);
    assert.ok(Math.abs(r.gd_loss! - 0.0946) < 1e-4);
    assert.equal(r.pruned_hidden, 27 - 12); // only Σ y_i x_j (9 memory) and x_q (3 forget) neurons are alive
    assert.equal(r.pruned_output_gating, 36 - 9);
    assert.equal(r.memory_neurons, 9);
    assert.equal(r.forget_neurons, 3);
    assert.ok(r.kv_score < 1e-20 && r.q_score < 1e-20, `${r.kv_score} ${r.q_score}`);
  });

  test("heatmap colours: grey zero, blue positive, red negative", () => {
    assert.equal(heatmapColor(0, 1), "rgb(200,200,200)");
    assert.equal(heatmapColor(1e-9, 1, 1e-6), "rgb(200,200,200)");
    assert.equal(heatmapColor(1, 1), "rgb(33,102,172)");
    assert.equal(heatmapColor(-5, 1), "rgb(178,24,43)");
    assert.equal(heatmapColor(0.5, 1), "rgb(144,179,214)");
  });
});

describe("gra analyze", () => {
  const dirs: string[] = [];
  after(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });
  const tmp = async () => {
    const d = await mkdtemp(join(tmpdir(), "gra-analyze-"));
    dirs.push(d);
    return d;
  };
  /** The CLI in process (runCli with captured output); `spawn` runs the real `gra` in a child process. */
  const gra = async (...args: string[]) => {
    let stdout = "", stderr = "";
    const code = await runCli(args, commands, { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t) });
    return { code, stdout, stderr };
  };
  const spawn = (...args: string[]) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve, reject) => {
      execFile(process.execPath, ["--import", "tsx", "src/cli/main.ts", ...args], { cwd: root, timeout: 60_000 }, (err, stdout, stderr) => {
        if (err && typeof err.code !== "number") reject(err);
        else resolve({ code: err ? (err.code as number) : 0, stdout, stderr });
      });
    });

  test("on a gra construct output: Table 1 and --json with the required fields", async () => {
    const dir = await tmp();
    const out = join(dir, "c");
    assert.equal((await gra("construct", "--d", "3", "--variant", "compact", "--out", out, "--json")).code, 0);
    const [human, json] = await Promise.all([gra("analyze", out, "--sequences", "16"), gra("analyze", out, "--json", "--sequences", "16", "--out", join(dir, "a.json"))]);
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, /Loss +Score KV +Score Q +Polynomial distance/);
    assert.match(human.stdout, /6 memory, 3 forget, 0 other/);
    assert.equal(json.code, 0, json.stderr);
    const r = JSON.parse(json.stdout);
    for (const k of ["polynomial_distance", "kv_score", "q_score", "memory_neurons", "forget_neurons", "pruned_hidden", "pruned_output_gating"]) assert.ok(k in r, k);
    assert.ok(r.polynomial_distance < 1e-9 && r.kv_score < 1e-9 && r.q_score < 1e-9);
    assert.equal(r.memory_neurons, 6);
    assert.equal(r.source, "construction");
    assert.ok(Array.isArray(r.figures.weights.out_x));
  });

  test("on run directories: a tiny teacher-student run and an icl-regression run", async () => {
    const dir = await tmp();
    const ts = join(dir, "ts");
    const train = await gra("train", "--task", "teacher-student", "--hidden", "6", "--output-gating", "5", "--steps", "3", "--batch", "4", "--eval-every", "3", "--backend", "reference", "--out", ts, "--json");
    assert.equal(train.code, 0, train.stderr);
    const a = await gra("analyze", ts, "--json", "--sequences", "8");
    assert.equal(a.code, 0, a.stderr);
    const r = JSON.parse(a.stdout);
    assert.equal(r.source, "run");
    assert.equal(r.kind, "teacher-student");
    assert.equal(r.model.hidden, 6);
    // an icl run directory: config.json + model.safetensors (here the exact GD construction)
    const icl = join(dir, "icl");
    await rm(icl, { recursive: true, force: true });
    await import("node:fs/promises").then((fs) => fs.mkdir(icl));
    await writeFile(join(icl, "config.json"), JSON.stringify({ task: "icl-regression", task_config: { d_x: 3, d_y: 3, T: 12 }, model: "gated-rnn", layers: 0 }));
    await saveParams(join(icl, "model.safetensors"), gdGatedRnn(3, 3, etaStar(12, 3)));
    const [human, json] = await Promise.all([gra("analyze", icl, "--sequences", "32"), gra("analyze", icl, "--json", "--sequences", "32")]);
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, /x_q,1 x_t,1 y_t,1 +6\.76e-2 +6\.76e-2/);
    const j = JSON.parse(json.stdout);
    for (const k of ["eta_star", "gd_coefficients", "residual_norm", "rnn_loss", "gd_loss"]) assert.ok(k in j, k);
  });

  test("missing, empty, corrupt and unsupported directories are one-line errors", async () => {
    const dir = await tmp();
    const empty = join(dir, "empty");
    const corrupt = join(dir, "corrupt");
    const lstm = join(dir, "lstm");
    const fs = await import("node:fs/promises");
    await fs.mkdir(empty);
    await fs.mkdir(corrupt);
    await writeFile(join(corrupt, "model.safetensors"), "not a safetensors file");
    assert.equal((await gra("construct", "--d", "2", "--into", "lstm", "--out", lstm)).code, 0);
    const runs = await Promise.all([spawn("analyze", join(dir, "nope")), gra("analyze", empty), gra("analyze", corrupt), gra("analyze", lstm)]);
    const [missing, none, bad, fam] = runs;
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /^gra analyze: DIR: no such directory .*\n$/);
    // invalid input: exit 2, like a bad option
    assert.equal(none.code, 2);
    assert.match(none.stderr, /^gra analyze: .*empty: no model\.safetensors .*\n$/);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^gra analyze: .*corrupt\/model\.safetensors: .*\n$/);
    assert.equal(fam.code, 2);
    assert.match(fam.stderr, /^gra analyze: .*model family "lstm" is not supported.*\n$/);
    for (const r of runs) assert.equal(r.stderr.split("\n").length, 2, r.stderr);
  });
});
