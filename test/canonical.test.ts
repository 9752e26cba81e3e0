import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { analyzeGatedRnn, gatedRnnOutputsAt } from "../src/analysis/analyze.ts";
import { compressGatedRnn, inputQuadratics, outputKernels, pairIndex, pairs } from "../src/analysis/canonical.ts";
import { gdGatedRnn } from "../src/analysis/icl.ts";
import { constructGatedRnn } from "../src/constructions/gated-rnn.ts";
import { permuteHidden, permuteOutputRows, rescaleGatingRow, swapGatingRows, transformNeuronGroup } from "../src/constructions/invariances.ts";
import { commands } from "../src/cli/commands.ts";
import { runCli } from "../src/cli/main.ts";
import { loadParams, saveParams } from "../src/io/files.ts";
import { attention, attentionConfig } from "../src/models/attention.ts";
import type { AttentionConfig } from "../src/models/attention.ts";
import type { GatedRnnConfig } from "../src/models/gated-rnn.ts";
import type { Params } from "../src/models/types.ts";
import { etaStar } from "../src/tasks/closed-forms.ts";
import { iclRegression } from "../src/tasks/icl-regression.ts";
import type { Tensor } from "../src/tensor.ts";
import { maxAbs, relError } from "../src/tensor.ts";
import { Rng } from "./helpers.ts";

type G = Params<GatedRnnConfig>;

function construction(d: number, seed: number, variant: "full" | "compact" = "full"): G {
  const att = attention.init(Rng.fromSeed(seed), attentionConfig({ d }));
  return constructGatedRnn({ d, W_V: att.tensors.W_V.data, W_K: att.tensors.W_K.data, W_Q: att.tensors.W_Q.data }, variant);
}

function sequences(d: number, B: number, T: number, seed: number): { x: Tensor; scored: number[] } {
  const x = { shape: [B, T, d], data: Rng.fromSeed(seed).fillNormal(new Float64Array(B * T * d)) };
  return { x, scored: Array.from({ length: T }, (_, t) => t) };
}

function shuffle(rng: Rng, n: number): number[] {
  const a = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

/** Neuron n split in two with the same lambda: in_x = a1 + a2 over two neurons sharing in_m, both read like n. */
function splitNeuron(p: G, n: number, rng: Rng): G {
  const { d_in: d, hidden: N, output_gating: M } = p.config;
  const D = d + 1, N2 = N + 1;
  const t = p.tensors;
  const inX = new Float64Array(N2 * D), inM = new Float64Array(N2 * D), lambda = new Float64Array(N2);
  inX.set(t.in_x.data);
  inM.set(t.in_m.data);
  lambda.set(t.lambda.data);
  for (let c = 0; c < D; c++) {
    const part = rng.normal();
    inX[N * D + c] = t.in_x.data[n * D + c] - part;
    inX[n * D + c] = part;
    inM[N * D + c] = t.in_m.data[n * D + c];
  }
  lambda[N] = t.lambda.data[n];
  const outX = new Float64Array(M * N2), outM = new Float64Array(M * N2);
  for (let r = 0; r < M; r++) {
    for (let k = 0; k < N; k++) {
      outX[r * N2 + k] = t.out_x.data[r * N + k];
      outM[r * N2 + k] = t.out_m.data[r * N + k];
    }
    outX[r * N2 + N] = t.out_x.data[r * N + n];
    outM[r * N2 + N] = t.out_m.data[r * N + n];
  }
  return {
    family: "gated-rnn",
    config: { ...p.config, hidden: N2 },
    tensors: { ...t, in_x: { shape: [N2, D], data: inX }, in_m: { shape: [N2, D], data: inM }, lambda: { shape: [N2], data: lambda }, out_x: { shape: [M, N2], data: outX }, out_m: { shape: [M, N2], data: outM } },
  };
}

/** Section 2.2's invariances on a construction: permutations, c / 1/c rescalings, a P-transform of the query group, a split memory neuron. */
function disguise(p: G, rng: Rng): G {
  const d = p.config.d_in;
  const queries = Array.from({ length: d }, (_, j) => p.config.hidden - d + j);
  const P = Float64Array.from({ length: d * d }, (_, k) => (k % (d + 1) === 0 ? 1 : 0) + 0.4 * rng.normal());
  let q = transformNeuronGroup(p, queries, P);
  q = splitNeuron(q, 0, rng);
  q = permuteHidden(q, shuffle(rng, q.config.hidden));
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

describe("canonical form (compressGatedRnn)", () => {
  test("pairIndex / pairs, the quadratic forms of the input gating and the symmetric output kernels", () => {
    const D = 4;
    pairs(D).forEach(([i, j], k) => {
      assert.equal(pairIndex(i, j, D), k);
      assert.equal(pairIndex(j, i, D), k);
    });
    const p = construction(2, 3);
    const L = inputQuadratics(p);
    const rng = Rng.fromSeed(1);
    const z = [rng.normal(), rng.normal(), 1];
    const Pn = pairs(3).length;
    for (let n = 0; n < p.config.hidden; n++) {
      const a = [0, 1, 2].reduce((s, c) => s + p.tensors.in_x.data[n * 3 + c] * z[c], 0);
      const b = [0, 1, 2].reduce((s, c) => s + p.tensors.in_m.data[n * 3 + c] * z[c], 0);
      const viaL = pairs(3).reduce((s, [i, j], k) => s + L[n * Pn + k] * z[i] * z[j], 0);
      assert.ok(Math.abs(viaL - a * b) <= 1e-14 * Math.max(1, Math.abs(a * b)));
    }
    const K = outputKernels(p);
    const N = p.config.hidden;
    for (let o = 0; o < 2; o++) for (let a = 0; a < N; a++) for (let b = 0; b < N; b++) assert.equal(K[(o * N + a) * N + b], K[(o * N + b) * N + a]);
  });

  test("the full construction (d² + d hidden) compresses to d(d+1)/2 + d neurons and d(d+1)/2 rows, error ~1e-13, d = 1..6", () => {
    for (let d = 1; d <= 6; d++) {
      const p = construction(d, 10 + d);
      const { x, scored } = sequences(d, 16, 8, 100 + d);
      const y = gatedRnnOutputsAt(p, x, scored);
      const c = compressGatedRnn(p, x, scored, y);
      const m = (d * (d + 1)) / 2;
      assert.equal(c.memory_neurons, m, `d=${d}`);
      assert.equal(c.forget_neurons, d, `d=${d}`);
      assert.equal(c.params.config.hidden, m + d);
      assert.equal(c.output_gating_rows, m, `d=${d}: rows`);
      assert.equal(c.rows_lower_bound, m);
      assert.equal(c.row_counts["per-query"], d * d, `d=${d}: per-query rows = d · d_out`);
      assert.ok(c.max_rel_error < 1e-13, `d=${d}: ${c.max_rel_error}`);
      // an independent check of the stored model: its outputs on other sequences
      const fresh = sequences(d, 8, 8, 200 + d);
      const e = maxAbs(gatedRnnOutputsAt(c.params, fresh.x, fresh.scored).map((v, k) => v - gatedRnnOutputsAt(p, fresh.x, fresh.scored)[k]));
      assert.ok(e < 1e-12 * maxAbs(gatedRnnOutputsAt(p, fresh.x, fresh.scored)), `d=${d}: fresh ${e}`);
      for (const part of c.dropped) assert.ok(part.cost < 1e-13, `d=${d}: ${part.part} ${part.cost}`);
      // shape: memory (a, b) reads e_a, e_b with lambda 1; query c reads e_c and the constant with lambda 0
      const D = d + 1;
      c.memory_basis.forEach(([a, b], i) => {
        assert.equal(c.params.tensors.in_x.data[i * D + a], 1);
        assert.equal(c.params.tensors.in_m.data[i * D + b], 1);
        assert.equal(c.params.tensors.lambda.data[i], 1);
      });
      c.query_basis.forEach((cc, j) => {
        assert.equal(c.params.tensors.in_x.data[(m + j) * D + cc], 1);
        assert.equal(c.params.tensors.in_m.data[(m + j) * D + d], 1);
        assert.equal(c.params.tensors.lambda.data[m + j], 0);
      });
      // every row reads memory with out_x and queries with out_m (the block structure)
      const N = m + d;
      for (let r = 0; r < c.output_gating_rows; r++) {
        for (let n = 0; n < N; n++) {
          if (n >= m) assert.equal(c.params.tensors.out_x.data[r * N + n], 0);
          else assert.equal(c.params.tensors.out_m.data[r * N + n], 0);
        }
      }
    }
  });

  test("a construction disguised by Section 2.2's invariances compresses back with the same counts, error ~1e-12", () => {
    for (const d of [2, 3, 4]) {
      for (const variant of ["full", "compact"] as const) {
        const base = construction(d, 20 + d, variant);
        const p = disguise(base, Rng.fromSeed(30 + d));
        assert.ok(p.config.hidden > base.config.hidden); // the split neuron
        const { x, scored } = sequences(d, 16, 8, 300 + d);
        const y = gatedRnnOutputsAt(p, x, scored);
        assert.ok(maxAbs(y.map((v, k) => v - gatedRnnOutputsAt(base, x, scored)[k])) < 1e-12 * maxAbs(y), "the disguise keeps the function");
        const c = compressGatedRnn(p, x, scored, y);
        const ref = compressGatedRnn(base, x, scored, gatedRnnOutputsAt(base, x, scored));
        assert.equal(c.memory_neurons, (d * (d + 1)) / 2);
        assert.equal(c.forget_neurons, d);
        assert.equal(c.output_gating_rows, ref.output_gating_rows);
        assert.ok(c.max_rel_error < 1e-12, `${variant} d=${d}: ${c.max_rel_error}`);
        // the coefficients of Z_ab x_c are a property of the function, not of the weights
        for (let o = 0; o < d; o++) for (let i = 0; i < c.memory_neurons; i++) for (let j = 0; j < d; j++) {
          assert.ok(Math.abs(c.coefficients[o][i][j] - ref.coefficients[o][i][j]) < 1e-11, `${variant} d=${d} C[${o}][${i}][${j}]`);
        }
      }
    }
  });

  test("dropped parts are measured: an other neuron, a forget x forget row and a memory lambda of 0.999", () => {
    const d = 3;
    const base = construction(d, 5, "compact");
    const { hidden: N, output_gating: M } = base.config;
    const D = d + 1;
    // add neuron N (lambda 0.5, in (x_0)(1)) and a row that reads it times query neuron N-1; and a row forget x forget
    const N2 = N + 1, M2 = M + 2;
    const t = base.tensors;
    const inX = new Float64Array(N2 * D), inM = new Float64Array(N2 * D), lambda = new Float64Array(N2);
    inX.set(t.in_x.data);
    inM.set(t.in_m.data);
    lambda.set(t.lambda.data);
    inX[N * D] = 1;
    inM[N * D + d] = 1;
    lambda[N] = 0.5;
    lambda[0] = 0.999; // a memory neuron that forgets a little
    const outX = new Float64Array(M2 * N2), outM = new Float64Array(M2 * N2), readout = new Float64Array(d * M2);
    for (let r = 0; r < M; r++) for (let n = 0; n < N; n++) {
      outX[r * N2 + n] = t.out_x.data[r * N + n];
      outM[r * N2 + n] = t.out_m.data[r * N + n];
    }
    for (let o = 0; o < d; o++) for (let r = 0; r < M; r++) readout[o * M2 + r] = t.readout.data[o * M + r];
    outX[M * N2 + N] = 1; // other x forget
    outM[M * N2 + N - 1] = 1;
    readout[0 * M2 + M] = 0.01;
    outX[(M + 1) * N2 + N - 1] = 1; // forget x forget
    outM[(M + 1) * N2 + N - 2] = 1;
    readout[1 * M2 + M + 1] = 0.001;
    const p: G = {
      family: "gated-rnn", config: { d_in: d, hidden: N2, output_gating: M2, d_out: d },
      tensors: { in_x: { shape: [N2, D], data: inX }, in_m: { shape: [N2, D], data: inM }, lambda: { shape: [N2], data: lambda }, out_x: { shape: [M2, N2], data: outX }, out_m: { shape: [M2, N2], data: outM }, readout: { shape: [d, M2], data: readout } },
    };
    const { x, scored } = sequences(d, 16, 8, 7);
    const y = gatedRnnOutputsAt(p, x, scored);
    const c = compressGatedRnn(p, x, scored, y, { assignOther: false });
    assert.equal(c.memory_neurons, 6);
    assert.equal(c.forget_neurons, 3);
    const cost = (name: string) => c.dropped.find((q) => q.part === name)!.cost;
    // independent: the other neuron's state h_t = sum_s 0.5^(t-s) x_s,0 times query neuron N-1, times 0.01
    const B = 16, T = 8, S = maxAbs(y);
    const Q = t.in_x.data.subarray((N - 1) * D, N * D), Q2 = t.in_x.data.subarray((N - 2) * D, (N - 1) * D);
    let other = 0, ff = 0;
    for (let b = 0; b < B; b++) {
      let h = 0;
      for (let s = 0; s < T; s++) {
        const xs = Array.from(x.data.subarray((b * T + s) * d, (b * T + s + 1) * d));
        h = 0.5 * h + xs[0];
        const q1 = xs.reduce((a, v, k) => a + v * Q[k], 0), q2 = xs.reduce((a, v, k) => a + v * Q2[k], 0);
        other = Math.max(other, Math.abs(0.01 * h * q1));
        ff = Math.max(ff, Math.abs(0.001 * q1 * q2));
      }
    }
    assert.ok(Math.abs(cost("other neurons") - other / S) < 1e-12, `${cost("other neurons")} vs ${other / S}`);
    assert.ok(Math.abs(cost("forget x forget") - ff / S) < 1e-12);
    assert.ok(cost("lambda rounding") > 1e-4 && cost("lambda rounding") < 1e-1, String(cost("lambda rounding")));
    assert.equal(cost("memory x memory"), 0);
    // the total error is at most the sum of the parts and at least the largest part minus the others
    const costs = c.dropped.map((q) => q.cost);
    const sum = costs.reduce((a, v) => a + v, 0);
    assert.ok(c.max_rel_error <= sum * (1 + 1e-9) && c.max_rel_error > 0);
  });

  test("the in-context regression GD construction compresses to d_x·d_y memory + d_x query neurons and d_x·d_y rows", () => {
    const d_x = 3, d_y = 3, T = 12;
    const p = gdGatedRnn(d_x, d_y, etaStar(T, d_x));
    const batch = iclRegression.batch(Rng.fromSeed(4), { d_x, d_y, T }, null, 64, "f64");
    const y = gatedRnnOutputsAt(p, batch.x, batch.scored);
    const c = compressGatedRnn(p, batch.x, batch.scored, y);
    assert.equal(c.memory_neurons, d_x * d_y);
    assert.equal(c.forget_neurons, d_x);
    assert.equal(c.output_gating_rows, d_x * d_y);
    assert.ok(c.max_rel_error < 1e-12, String(c.max_rel_error));
    // memory neurons pair an x coordinate with a y coordinate; queries read x
    for (const [a, b] of c.memory_basis) assert.ok(a < d_x && b >= d_x, `${a},${b}`);
    for (const q of c.query_basis) assert.ok(q < d_x);
  });
});

describe("trained students and files written elsewhere", () => {
  const root = join(dirname(fileURLToPath(import.meta.url)), "..");
  const fixture = join(root, "test", "fixtures", "table1-quick-s0");

  test("the quick Table 1 student (npm start's run) compresses to 10 + 4 with an error of the order of its distance to the teacher", async () => {
    const model = await loadParams<GatedRnnConfig>(join(fixture, "model.safetensors"), { dtype: "f64" });
    const att = await loadParams<AttentionConfig>(join(fixture, "attention.safetensors"), { dtype: "f64" });
    const r = analyzeGatedRnn(model, att, { kind: "teacher-student", T: 32 }, { sequences: 64 });
    const c = r.compressed!;
    assert.equal(c.memory_neurons, 10);
    assert.equal(c.forget_neurons, 4);
    assert.ok(c.output_gating_rows <= 16, String(c.output_gating_rows));
    // the student's own distance to the teacher on the same kind of fresh sequences
    const { x, scored } = sequences(4, 64, 32, 12345);
    const ys = gatedRnnOutputsAt(model, x, scored);
    const dist = relError(ys, attention.forward(att, x).data);
    assert.ok(dist > 1e-4 && dist < 1e-1, String(dist));
    assert.ok(c.max_rel_error < 3 * dist && c.max_rel_error > dist / 30, `canonical ${c.max_rel_error} vs student-teacher ${dist}`);
    // the canonical form stays about as close to the teacher as the student
    assert.ok(c.polynomial_distance < 3 * r.polynomial_distance, `${c.polynomial_distance} vs ${r.polynomial_distance}`);
    // every part has a cost, and the total is at most their sum
    assert.ok(c.dropped.every((p) => Number.isFinite(p.cost) && p.cost >= 0));
    assert.ok(c.max_rel_error <= c.dropped.reduce((s, p) => s + p.cost, 0) * (1 + 1e-9));
  });

  /** A safetensors writer independent of src/io: tensors in reverse name order, F32 / F64 little-endian, no __metadata__. */
  function writeForeign(tensors: Record<string, Tensor>): Uint8Array {
    const names = Object.keys(tensors).sort().reverse();
    const header: Record<string, unknown> = {};
    let off = 0;
    for (const n of names) {
      const bytes = tensors[n].data.length * tensors[n].data.BYTES_PER_ELEMENT;
      header[n] = { dtype: tensors[n].data instanceof Float64Array ? "F64" : "F32", shape: tensors[n].shape, data_offsets: [off, off + bytes] };
      off += bytes;
    }
    let json = JSON.stringify(header);
    while ((8 + json.length) % 8 !== 0) json += " ";
    const out = new Uint8Array(8 + json.length + off);
    const view = new DataView(out.buffer);
    view.setBigUint64(0, BigInt(json.length), true);
    out.set(new TextEncoder().encode(json), 8);
    let p = 8 + json.length;
    for (const n of names) for (const v of tensors[n].data) {
      if (tensors[n].data instanceof Float64Array) view.setFloat64(p, v, true);
      else view.setFloat32(p, v, true);
      p += tensors[n].data.BYTES_PER_ELEMENT;
    }
    return out;
  }

  test("a file without our __metadata__ (PyTorch / JAX export) is analysed like ours", async () => {
    const dir = await mkdtemp(join(tmpdir(), "gra-foreign-"));
    try {
      const ours = join(dir, "ours"), foreign = join(dir, "foreign");
      await mkdir(ours);
      await mkdir(foreign);
      const model = await loadParams<GatedRnnConfig>(join(fixture, "model.safetensors"));
      const att = await loadParams<AttentionConfig>(join(fixture, "attention.safetensors"));
      await saveParams(join(ours, "model.safetensors"), model);
      await saveParams(join(ours, "attention.safetensors"), att);
      await writeFile(join(foreign, "model.safetensors"), writeForeign(model.tensors));
      await writeFile(join(foreign, "attention.safetensors"), writeForeign(att.tensors));
      const run = async (...args: string[]) => {
        let stdout = "", stderr = "";
        const code = await runCli(args, commands, { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t) });
        return { code, stdout, stderr };
      };
      const canon = join(dir, "canon.safetensors");
      const [a, b, h] = await Promise.all([
        run("analyze", ours, "--json", "--sequences", "16"),
        run("analyze", foreign, "--json", "--sequences", "16", "--compress", canon),
        run("analyze", foreign, "--sequences", "16", "--family", "gated-rnn"),
      ]);
      assert.equal(a.code, 0, a.stderr);
      assert.equal(b.code, 0, b.stderr);
      assert.equal(h.code, 0, h.stderr);
      assert.match(h.stdout, /family and config inferred from tensor names and shapes/);
      const ra = JSON.parse(a.stdout), rb = JSON.parse(b.stdout);
      assert.equal(ra.inferred_config, false);
      assert.equal(rb.inferred_config, true);
      assert.deepEqual(rb.model, ra.model);
      for (const k of ["loss", "kv_score", "q_score", "polynomial_distance", "pruned_hidden", "pruned_output_gating", "memory_neurons", "forget_neurons", "other_neurons"]) assert.equal(rb[k], ra[k], k);
      for (const k of ["memory_neurons", "forget_neurons", "output_gating_rows", "max_rel_error", "loss", "polynomial_distance", "kv_score", "q_score", "dropped"]) assert.ok(k in ra.compressed, k);
      assert.equal(ra.compressed.memory_neurons, 10);
      assert.equal(ra.compressed.forget_neurons, 4);
      assert.ok(ra.compressed.dropped.every((p: { part: string; cost: number }) => typeof p.part === "string" && p.cost >= 0));
      assert.deepEqual(rb.compressed, ra.compressed);
      // the written canonical form is a gated RNN with our metadata, 10 + 4 neurons
      const cp = await loadParams<GatedRnnConfig>(canon);
      assert.equal(cp.family, "gated-rnn");
      assert.equal(cp.config.hidden, 14);
      // names that fit no family: a one-line error
      await writeFile(join(foreign, "model.safetensors"), writeForeign({ weight: { shape: [2, 2], data: new Float64Array(4) } }));
      const bad = await run("analyze", foreign);
      assert.equal(bad.code, 2); // invalid input
      assert.match(bad.stderr, /^gra( analyze)?: .*model\.safetensors: no __metadata__ family and the tensor names \(weight\) are not eq\. 2's gated RNN's .*\n$/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
