/**
 * The whole reverse-engineering analysis of a gated RNN (eq. 2) against an attention reference (Section 3.1, 4.2,
 * App. B.2, C.2), platform-neutral: prune dead neurons (and check the function is kept), group neurons by lambda,
 * order them canonically, score how linearly the memory / forget neurons' inputs encode the reference's key-values
 * and queries, compare exact polynomials, merge the output-gating rows outside the block structure, and (in-context
 * regression) compare the query output term by term with one optimal GD step. `gra analyze` is a thin wrapper.
 */
import { attention, attentionConfig } from "../models/attention.ts";
import type { AttentionConfig } from "../models/attention.ts";
import type { GatedRnnConfig } from "../models/gated-rnn.ts";
import type { Params } from "../models/types.ts";
import { Rng } from "../rng.ts";
import { etaStar, gdPredict, optimalGdLoss } from "../tasks/closed-forms.ts";
import { iclRegression, iclWStarVariance } from "../tasks/icl-regression.ts";
import type { Batch } from "../tasks/types.ts";
import { mseLoss } from "../train/loss.ts";
import type { Tensor } from "../tensor.ts";
import { cloneTensor, relError } from "../tensor.ts";
import type { Matrix, WeightsFigure } from "./figures.ts";
import { teacherFigure, weightsFigure } from "./figures.ts";
import type { DroppedPart, RowFactorisation } from "./canonical.ts";
import { compressGatedRnn } from "./canonical.ts";
import { canonicalize, groupCounts } from "./groups.ts";
import { gatedRnnIclPolynomials, gdAttention } from "./icl.ts";
import { mergeRows } from "./merge.ts";
import { firstLastPolynomials, instantaneousPolynomials } from "./polynomial.ts";
import { functionalPrune, pruneGatedRnn } from "./prune.ts";
import { kvqScores } from "./scores.ts";

/** What the model was trained on: decides the fresh sequences, the loss and the reference. */
export type AnalysisTask =
  | { kind: "teacher-student"; T: number }
  | { kind: "icl-regression"; d_x: number; d_y: number; T: number };

/** Tolerances, seed and sample size of `analyzeGatedRnn` (defaults in `analysisDefaults`). */
export interface AnalysisOptions {
  /** Weights with |w| <= tolerance count as zero (pruning, block structure). Default 1e-3. */
  tolerance?: number;
  /** Memory neurons |lambda - 1| <= this, forget neurons |lambda| <= this. Default 1e-2. */
  lambdaTolerance?: number;
  /** Seed of the fresh sequences. Default 12345 (not a training seed). */
  seed?: number;
  /** Fresh sequences for losses and scores. Default 256 (teacher-student), 8192 (icl-regression). */
  sequences?: number;
  /**
   * "weights" (default): the dead-weight rule of Section 3.1 / CONVENTIONS.md. "functional": after it, also remove
   * the units whose joint removal changes the outputs by at most `tolerance` (relative; `functionalPrune`), for
   * models trained too briefly for their unused weights to reach zero.
   */
  pruning?: "weights" | "functional";
  /** Also count what the other pruning criterion removes (`pruning_criteria`). Default true. */
  bothCriteria?: boolean;
  /** Derive the canonical form (`compressGatedRnn`) and score it. Default true. */
  compress?: boolean;
}

/** Defaults of `AnalysisOptions`. */
export const analysisDefaults = { tolerance: 1e-3, lambdaTolerance: 1e-2, seed: 12345, pruning: "weights" } as const;

/** App. B.2 merge summary (the arrays for Figure 2C are in `figures.kernels`). */
export interface MergeSummary {
  /** Output-gating rows (of the pruned, canonical model) outside the block structure, merged into one. */
  rows: number[];
  proportionality: number;
  rank_residual: number;
  eigenvalues: number[];
  alpha: number[];
  /** Loss of the pruned model before and after merging the rows (same fresh sequences). */
  loss_before: number;
  loss_after: number;
}

/**
 * The canonical form (`compressGatedRnn`, src/analysis/canonical.ts) of the pruned student and its scores: the
 * network with the construction's shape (memory neurons Z_ab = sum_s x_s,a x_s,b, query neurons x_t,c, gating rows
 * from a rank factorisation of the memory x query coefficients), derived from the weights, not retrained.
 */
export interface CompressedSummary {
  memory_neurons: number;
  forget_neurons: number;
  output_gating_rows: number;
  /** max |y_canonical - y_student| / max |y_student| on the fresh sequences (pruning and every dropped part included). */
  max_rel_error: number;
  /** Loss, polynomial distance and KV / Q scores of the canonical form (same definitions as the student's). */
  loss: number;
  polynomial_distance: number;
  kv_score: number;
  q_score: number;
  /** What the canonical form leaves out, each with the output error its removal alone costs (relative). */
  dropped: DroppedPart[];
  memory_basis: [number, number][];
  query_basis: number[];
  row_factorisation: RowFactorisation;
  row_counts: Record<RowFactorisation, number | null>;
  row_costs: Record<RowFactorisation, number | null>;
  /** No factorisation of the kept coefficients needs fewer rows (rank along the memory mode). */
  rows_lower_bound: number;
  /** C[o][i][j] [d_out, memory, query]: coefficient of memory_basis[i]'s sum times x_t,query_basis[j] in output o (Figure 2C). */
  coefficients: number[][][];
}

/** Everything `analyzeGatedRnn` finds; `gra analyze --json` prints it. */
export interface AnalysisReport {
  kind: AnalysisTask["kind"];
  model: GatedRnnConfig;
  tolerance: number;
  lambda_tolerance: number;
  /** Which pruning produced the pruned model (AnalysisOptions.pruning). */
  pruning: "weights" | "functional";
  seed: number;
  sequences: number;
  /** The model's loss on fresh sequences (teacher-student: against the teacher; icl: training distribution). */
  loss: number;
  pruned_hidden: number;
  pruned_output_gating: number;
  hidden_kept: number;
  output_gating_kept: number;
  /** max|y_pruned - y| / max|y| at the scored positions of the fresh sequences. */
  pruned_output_rel_error: number;
  /**
   * Both pruning criteria side by side (null when `bothCriteria` is false and pruning is "weights"): dead weights
   * (|w| <= tolerance, Section 3.1) and contribution (then units whose joint removal changes outputs <= tolerance).
   */
  pruning_criteria: Record<"weights" | "functional", { pruned_hidden: number; pruned_output_gating: number; output_rel_error: number }> | null;
  /** The pruning check: pruned_output_rel_error <= max(tolerance, 1e-12). */
  pruning_verified: boolean;
  memory_neurons: number;
  forget_neurons: number;
  other_neurons: number;
  kv_score: number;
  q_score: number;
  /**
   * Ranks of the two regressions' designs [inputs, 1] and the dimension (d+1)(d+2)/2 of the quadratics in z = [x; 1]:
   * a rank equal to it makes the score trivially 0 (a group that large can fit any quadratic target).
   */
  kv_feature_rank: number;
  q_feature_rank: number;
  quadratic_dim: number;
  /** Teacher-student: one-step polynomial vs attention; icl: query polynomials P_t vs one GD step (mean over t). */
  polynomial_distance: number;
  /** Teacher-student: the distance split by monomial degree 0..4. */
  polynomial_error_by_degree?: number[];
  /** Teacher-student: distance of the output at T-1 as a polynomial in the first and last tokens (others 0): tests lambda. */
  polynomial_distance_first_last?: number;
  /** Output-gating rows in / outside the memory x forget block structure. */
  block_rows: number;
  outside_rows: number;
  merge: MergeSummary | null;
  /** The canonical form of the pruned student (null when `AnalysisOptions.compress` is false). */
  compressed: CompressedSummary | null;
  eta_star?: number;
  /** Table 2: coefficients of x_q,i x_t,i y_t,1 (output 1, mean over t), i = 1..d_x. */
  gd_coefficients?: number[];
  /** [t][i]: the same per observation t. */
  gd_coefficients_by_token?: number[][];
  /** [o][i]: coefficients of x_q,i x_t,i y_t,o for every output o (mean over t). */
  gd_coefficients_all?: number[][];
  /** Table 2: norm of all other coefficients of output 1 (mean over t). */
  residual_norm?: number;
  residual_norm_by_output?: number[];
  /** Norm of the coefficients pairing observations 0 and T-1 (output 1; GD: 0). */
  cross_token_norm?: number;
  rnn_loss?: number;
  /** Closed-form loss of one optimal GD step (App. C.2), and GD's loss on the same fresh sequences. */
  gd_loss?: number;
  gd_loss_sampled?: number;
  figures: {
    weights: WeightsFigure;
    teacher: { W_V: Matrix; W_K: Matrix; W_Q: Matrix }[];
    kernels: { kernels: Matrix[]; p: number[]; q: number[]; merged_kernel: Matrix } | null;
    /** Figure 2A of the canonical form (every row in the block structure). */
    canonical: WeightsFigure | null;
  };
}

/** A float64 copy of eq. 2's gated-RNN parameters (trained runs are float32); same names and shapes. */
export function toFloat64(p: Params<GatedRnnConfig>): Params<GatedRnnConfig> {
  return { family: p.family, config: { ...p.config }, tensors: Object.fromEntries(Object.entries(p.tensors).map(([n, t]) => [n, cloneTensor(t, "f64")])) };
}

/** Fresh sequences of the task: teacher-student x ~ N(0, I) [B, T, d] with the reference's outputs; icl: task batches. */
function freshBatch(task: AnalysisTask, reference: Params<AttentionConfig>, d: number, B: number, rng: Rng): Batch {
  if (task.kind === "icl-regression") return iclRegression.batch(rng, { d_x: task.d_x, d_y: task.d_y, T: task.T }, null, B, "f64");
  const x: Tensor = { shape: [B, task.T, d], data: rng.fillNormal(new Float64Array(B * task.T * d)) };
  const target = attention.forward(reference, x).data;
  return { x, target, scored: Array.from({ length: task.T }, (_, t) => t) };
}

/**
 * The hidden states of eq. 2 over x [B, T, d] in float64 (z = [x; 1], h_t = lambda ⊙ h_{t-1} + (in_x z)(in_m z)):
 * calls visit(b, t, h) at every step with the state h_t [N] (reused: copy what you keep).
 */
function forEachState(p: Params<GatedRnnConfig>, x: Tensor, visit: (b: number, t: number, h: Float64Array) => void): void {
  const [B, T, d] = x.shape;
  const N = p.config.hidden;
  const D = d + 1;
  // the arrays read once (V8 does not hoist the .data loads out of the loops)
  const ix = p.tensors.in_x.data, im = p.tensors.in_m.data, lam = p.tensors.lambda.data, xd = x.data;
  const h = new Float64Array(N);
  for (let b = 0; b < B; b++) {
    h.fill(0);
    for (let t = 0; t < T; t++) {
      const xo = (b * T + t) * d;
      for (let n = 0; n < N; n++) {
        const w = n * D;
        let sx = ix[w + d], sm = im[w + d];
        for (let c = 0; c < d; c++) {
          sx += ix[w + c] * xd[xo + c];
          sm += im[w + c] * xd[xo + c];
        }
        h[n] = lam[n] * h[n] + sx * sm;
      }
      visit(b, t, h);
    }
  }
}

/**
 * Eq. 2's outputs at the scored positions only (zeros elsewhere), y [B, T, d_out] for x [B, T, d] in float64: the
 * recurrence runs over every token, the output gating only where the loss looks (the icl query), which makes the
 * icl losses ~6x cheaper than a full forward. Same numbers as `gatedRnn.forward` at those positions.
 */
export function gatedRnnOutputsAt(p: Params<GatedRnnConfig>, x: Tensor, scored: readonly number[]): Float64Array {
  const [B, T] = x.shape;
  const { hidden: N, output_gating: M, d_out: dOut } = p.config;
  const ox = p.tensors.out_x.data, om = p.tensors.out_m.data, ro = p.tensors.readout.data;
  const y = new Float64Array(B * T * dOut);
  const g = new Float64Array(M);
  const isScored = new Uint8Array(T);
  for (const t of scored) isScored[t] = 1;
  forEachState(p, x, (b, t, h) => {
    if (!isScored[t]) return;
    for (let r = 0; r < M; r++) {
      let a = 0, m = 0;
      for (let n = 0; n < N; n++) {
        a += ox[r * N + n] * h[n];
        m += om[r * N + n] * h[n];
      }
      g[r] = a * m;
    }
    for (let o = 0; o < dOut; o++) {
      let s = 0;
      for (let r = 0; r < M; r++) s += ro[o * M + r] * g[r];
      y[(b * T + t) * dOut + o] = s;
    }
  });
  return y;
}

/** Hidden states h [B·|scored|, N] of eq. 2 at the scored positions of x [B, T, d] (sequence-major, float64). */
export function gatedRnnStatesAt(p: Params<GatedRnnConfig>, x: Tensor, scored: readonly number[]): Float64Array {
  const [B, T] = x.shape;
  const N = p.config.hidden;
  const S = scored.length;
  const out = new Float64Array(B * S * N);
  const slot = new Int32Array(T).fill(-1);
  scored.forEach((t, i) => (slot[t] = i));
  forEachState(p, x, (b, t, h) => {
    if (slot[t] >= 0) out.set(h, (b * S + slot[t]) * N);
  });
  return out;
}

/** The first `B` sequences of x [B0, T, d]. */
function headSequences(x: Tensor, B: number): Tensor {
  const [B0, T, d] = x.shape;
  const b = Math.min(B, B0);
  return { shape: [b, T, d], data: x.data.subarray(0, b * T * d) };
}

const canonicalModels = new WeakMap<AnalysisReport, Params<GatedRnnConfig>>();

/** The canonical gated RNN behind `report.compressed` (float64, eq. 2's tensors), or null when it was not derived. */
export function canonicalModelOf(report: AnalysisReport): Params<GatedRnnConfig> | null {
  return canonicalModels.get(report) ?? null;
}

/**
 * Analyses gated-RNN parameters (any dtype; computed in float64) against `reference` (teacher-student: the teacher
 * or the attention a construction implements; icl-regression: null = one GD step with eta* = 1/(T + d_x - 1/5)).
 */
export function analyzeGatedRnn(model: Params<GatedRnnConfig>, reference: Params<AttentionConfig> | null, task: AnalysisTask, opts: AnalysisOptions = {}): AnalysisReport {
  if (model.family !== "gated-rnn") throw new Error(`analysis: model family "${model.family}" is not supported (the analysis is for eq. 2's gated RNN, family gated-rnn)`);
  const tol = opts.tolerance ?? analysisDefaults.tolerance;
  const lamTol = opts.lambdaTolerance ?? analysisDefaults.lambdaTolerance;
  const seed = opts.seed ?? analysisDefaults.seed;
  const B = opts.sequences ?? (task.kind === "icl-regression" ? 8192 : 256);
  const m64 = toFloat64(model);
  const { d_in: d, d_out: dOut } = m64.config;
  const eta = task.kind === "icl-regression" ? etaStar(task.T, task.d_x) : undefined;
  const ref = reference ?? (task.kind === "icl-regression" ? gdAttention(task.d_x, task.d_y, eta!) : null);
  if (!ref) throw new Error("analysis: teacher-student analysis needs the reference attention layer");
  const rc = attentionConfig(ref.config);
  if (rc.d !== d || rc.d_out !== dOut) throw new Error(`analysis: the model maps ${d} -> ${dOut} but the reference attention maps ${rc.d} -> ${rc.d_out}`);
  if (task.kind === "icl-regression" && task.d_x + task.d_y !== d) throw new Error(`analysis: the model's input width ${d} is not d_x + d_y = ${task.d_x + task.d_y}`);

  const batch = freshBatch(task, ref, d, B, Rng.fromSeed(seed));
  // each model's outputs computed once (the pruned model is scored by the criteria, then again as the student)
  const seen = new WeakMap<Params<GatedRnnConfig>, Float64Array>();
  const outputs = (p: Params<GatedRnnConfig>): Float64Array => {
    let y = seen.get(p);
    if (!y) seen.set(p, (y = gatedRnnOutputsAt(p, batch.x, batch.scored)));
    return y;
  };
  const lossOf = (p: Params<GatedRnnConfig>) => mseLoss(outputs(p), batch, dOut);
  const y = outputs(m64);
  const loss = mseLoss(y, batch, dOut);

  const pruning = opts.pruning ?? analysisDefaults.pruning;
  const byWeights = pruneGatedRnn(m64, tol);
  let pr = byWeights;
  let criteria: AnalysisReport["pruning_criteria"] = null;
  if (pruning === "functional" || (opts.bothCriteria ?? true)) {
    const S = batch.scored.length, T = batch.x.shape[1];
    const at = Int32Array.from({ length: batch.x.shape[0] * S }, (_, s) => Math.floor(s / S) * T + batch.scored[s % S]);
    const fp = functionalPrune(byWeights.params, y, tol, (q) => ({ h: gatedRnnStatesAt(q, batch.x, batch.scored), at }));
    const kept = (outer: number[], inner: number[]) => inner.map((i) => outer[i]);
    const keptHidden = kept(byWeights.keptHidden, fp.keptHidden), keptRows = kept(byWeights.keptRows, fp.keptRows);
    const byContribution = { params: fp.params, keptHidden, keptRows, prunedHidden: m64.config.hidden - keptHidden.length, prunedOutputGating: m64.config.output_gating - keptRows.length };
    criteria = {
      weights: { pruned_hidden: byWeights.prunedHidden, pruned_output_gating: byWeights.prunedOutputGating, output_rel_error: relError(outputs(byWeights.params), y) },
      functional: { pruned_hidden: byContribution.prunedHidden, pruned_output_gating: byContribution.prunedOutputGating, output_rel_error: relError(outputs(byContribution.params), y) },
    };
    if (pruning === "functional") pr = byContribution;
  }
  const prunedErr = relError(outputs(pr.params), y);
  const can = canonicalize(pr.params, lamTol, tol);
  const counts = groupCounts(can.groups);
  const memory = can.groups.flatMap((g, n) => (g === "memory" ? [n] : []));
  const forget = can.groups.flatMap((g, n) => (g === "forget" ? [n] : []));
  const scoreX = headSequences(batch.x, task.kind === "icl-regression" ? 512 : 128);
  const scores = kvqScores(can.params, ref, scoreX, memory, forget);

  const outside = can.blockRows.flatMap((b, r) => (b ? [] : [r]));
  let merge: MergeSummary | null = null;
  let kernels: AnalysisReport["figures"]["kernels"] = null;
  if (outside.length > 0) {
    const mr = mergeRows(can.params, outside, can.groups);
    merge = {
      rows: mr.rows, proportionality: mr.proportionality, rank_residual: mr.rank_residual, eigenvalues: mr.eigenvalues, alpha: mr.alpha,
      loss_before: lossOf(can.params), loss_after: lossOf(mr.params),
    };
    kernels = { kernels: mr.kernels, p: mr.p, q: mr.q, merged_kernel: mr.merged_kernel };
  }

  let compressed: CompressedSummary | null = null;
  let canonicalModel: Params<GatedRnnConfig> | null = null;
  if (opts.compress ?? true) {
    const cf = compressGatedRnn(pr.params, batch.x, batch.scored, y, { lambdaTolerance: lamTol });
    canonicalModel = cf.params;
    const nM = cf.memory_neurons, nQ = cf.forget_neurons;
    const cs = kvqScores(cf.params, ref, scoreX, Array.from({ length: nM }, (_, i) => i), Array.from({ length: nQ }, (_, j) => nM + j));
    compressed = {
      memory_neurons: nM, forget_neurons: nQ, output_gating_rows: cf.output_gating_rows, max_rel_error: cf.max_rel_error,
      loss: lossOf(cf.params), polynomial_distance: NaN, kv_score: cs.kv_score, q_score: cs.q_score,
      dropped: [{ part: "pruning", what: pruning === "functional" ? `dead weights and units whose removal changes outputs <= ${tol}` : `dead neurons (weights |w| <= ${tol})`, cost: prunedErr }, ...cf.dropped],
      memory_basis: cf.memory_basis, query_basis: cf.query_basis, row_factorisation: cf.row_factorisation, row_counts: cf.row_counts, row_costs: cf.row_costs, rows_lower_bound: cf.rows_lower_bound, coefficients: cf.coefficients,
    };
  }

  const report: AnalysisReport = {
    kind: task.kind,
    model: { ...m64.config },
    tolerance: tol,
    lambda_tolerance: lamTol,
    pruning,
    seed,
    sequences: B,
    loss,
    pruned_hidden: pr.prunedHidden,
    pruned_output_gating: pr.prunedOutputGating,
    hidden_kept: pr.keptHidden.length,
    output_gating_kept: pr.keptRows.length,
    pruned_output_rel_error: prunedErr,
    pruning_criteria: criteria,
    pruning_verified: prunedErr <= Math.max(tol, 1e-12),
    memory_neurons: counts.memory,
    forget_neurons: counts.forget,
    other_neurons: counts.other,
    kv_score: scores.kv_score,
    q_score: scores.q_score,
    kv_feature_rank: scores.kv_rank,
    q_feature_rank: scores.q_rank,
    quadratic_dim: ((d + 1) * (d + 2)) / 2,
    polynomial_distance: NaN,
    block_rows: can.blockRows.length - outside.length,
    outside_rows: outside.length,
    merge,
    compressed,
    figures: {
      weights: weightsFigure(can.params, can.groups, can.blockRows), teacher: teacherFigure(ref), kernels,
      canonical: canonicalModel ? weightsFigure(canonicalModel, canonicalModel.config.hidden === 0 ? [] : Array.from(canonicalModel.tensors.lambda.data, (l) => (l === 1 ? "memory" : "forget")), new Array(canonicalModel.config.output_gating).fill(true)) : null,
    },
  };
  if (canonicalModel) canonicalModels.set(report, canonicalModel);

  if (task.kind === "teacher-student") {
    const poly = instantaneousPolynomials(m64, ref);
    report.polynomial_distance = poly.distance;
    report.polynomial_error_by_degree = poly.errorByDegree;
    report.polynomial_distance_first_last = firstLastPolynomials(m64, ref, task.T).distance;
    if (compressed && canonicalModel) compressed.polynomial_distance = instantaneousPolynomials(canonicalModel, ref).distance;
  } else {
    const { d_x, d_y, T } = task;
    const icl = gatedRnnIclPolynomials(m64, d_x, d_y, T, eta!);
    const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
    report.polynomial_distance = mean(icl.distance);
    if (compressed && canonicalModel) compressed.polynomial_distance = mean(gatedRnnIclPolynomials(canonicalModel, d_x, d_y, T, eta!).distance);
    report.eta_star = eta;
    report.gd_coefficients_all = Array.from({ length: d_y }, (_, o) => Array.from({ length: d_x }, (_, i) => mean(icl.terms.map((tt) => tt[o][i]))));
    report.gd_coefficients = report.gd_coefficients_all[0];
    report.gd_coefficients_by_token = icl.terms.map((tt) => tt[0]);
    report.residual_norm_by_output = Array.from({ length: d_y }, (_, o) => mean(icl.residual.map((r) => r[o])));
    report.residual_norm = report.residual_norm_by_output[0];
    report.cross_token_norm = icl.cross[0];
    report.rnn_loss = loss;
    report.gd_loss = optimalGdLoss(T, d_x, iclWStarVariance(d_x, false));
    report.gd_loss_sampled = mseLoss(gdPredict(batch, eta!, d_x).data, batch, d_y);
  }
  return report;
}

const e = (v: number | undefined) => (v === undefined || Number.isNaN(v) ? "-" : v.toExponential(2));

/** Lines of the canonical form for `formatReport`: counts, rows per factorisation, error, dropped parts with their costs. */
export function formatCompressed(c: CompressedSummary, d: number): string[] {
  const rc = c.row_counts;
  const alt = (Object.keys(rc) as RowFactorisation[])
    .filter((k) => rc[k] !== null)
    .map((k) => `${k} ${rc[k]}${(c.row_costs[k] ?? 0) > 1e-12 ? ` (truncation costs ${e(c.row_costs[k]!)})` : ""}`)
    .join(", ");
  const lines = [
    `canonical form (derived from the weights, not retrained): ${c.memory_neurons} memory neurons (sums of x_a x_b), ${c.forget_neurons} query neurons (x_c), ` +
      `${c.output_gating_rows} output-gating rows (${c.row_factorisation} factorisation; rows needed by each: ${alt || "-"}; at least ${c.rows_lower_bound}); ` +
      `max relative output error vs the student ${e(c.max_rel_error)}`,
    `  dropped (output error each removal costs, relative): ${c.dropped.map((p) => `${p.part} ${e(p.cost)}`).join(", ")}`,
  ];
  if (c.memory_neurons === (d * (d + 1)) / 2) {
    // the canonical memory inputs are the monomials x_a x_b: with all of them the KV regression fits any key-value
    lines.push(`  note: the canonical KV score regresses on the monomials x_a x_b themselves; it is ~0 whenever the form keeps all of them and says nothing beyond the error above`);
  }
  return lines;
}

/** The human-readable report: Table 1 (Section 3.1, teacher-student) or Table 2 (Section 4.2, icl) plus pruning, groups, App. B.2 merge. */
export function formatReport(r: AnalysisReport, source = ""): string {
  const m = r.model;
  const lines: string[] = [];
  lines.push(`${source ? source + ": " : ""}gated RNN d_in=${m.d_in}, N=${m.hidden}, M=${m.output_gating}, d_out=${m.d_out} (${r.kind}, ${r.sequences} fresh sequences, seed ${r.seed})`);
  lines.push(
    `pruning (${r.pruning === "functional" ? `dead weights |w| <= ${r.tolerance}, then units whose removal changes outputs <= ${r.tolerance}` : `|w| <= ${r.tolerance}`}): ${r.pruned_hidden}/${m.hidden} hidden and ${r.pruned_output_gating}/${m.output_gating} output-gating neurons removed; ` +
      `${r.hidden_kept} + ${r.output_gating_kept} remain; output change ${e(r.pruned_output_rel_error)} (relative${r.pruning_verified ? "" : ", MORE than the tolerance: the removed weights mattered"})`,
  );
  if (r.pruning_criteria) {
    const { weights: w, functional: f } = r.pruning_criteria;
    lines.push(`pruning criteria: weights |w| <= ${r.tolerance} removes ${w.pruned_hidden} hidden + ${w.pruned_output_gating} rows (output change ${e(w.output_rel_error)}); contribution (then units whose removal changes outputs <= ${r.tolerance}) removes ${f.pruned_hidden} + ${f.pruned_output_gating} (${e(f.output_rel_error)})`);
  }
  lines.push(`neuron groups (lambda within ${r.lambda_tolerance} of 1 / 0): ${r.memory_neurons} memory, ${r.forget_neurons} forget, ${r.other_neurons} other`);
  lines.push(`output-gating rows: ${r.block_rows} in the memory x forget block structure, ${r.outside_rows} outside`);
  for (const [what, rank] of [["KV", r.kv_feature_rank], ["Q", r.q_feature_rank]] as const) {
    if (rank >= r.quadratic_dim) lines.push(`note: the ${what} regression has rank ${rank} = every quadratic in [x; 1]: its score is 0 whatever the neurons do`);
  }
  lines.push("");
  const table = (rows: string[][]) => {
    const w = rows[0].map((_, j) => Math.max(...rows.map((row) => row[j].length)));
    return rows.map((row) => row.map((c, j) => c.padEnd(w[j])).join("   ").trimEnd());
  };
  if (r.kind === "teacher-student") {
    const rows = [["", "Loss", "Score KV", "Score Q", "Polynomial distance", "memory", "forget", "rows"], ["student (pruned)", e(r.loss), e(r.kv_score), e(r.q_score), e(r.polynomial_distance), String(r.memory_neurons), String(r.forget_neurons), String(r.output_gating_kept)]];
    const c = r.compressed;
    if (c) rows.push(["canonical form", e(c.loss), e(c.kv_score), e(c.q_score), e(c.polynomial_distance), String(c.memory_neurons), String(c.forget_neurons), String(c.output_gating_rows)]);
    lines.push(...table(rows));
    if (r.polynomial_error_by_degree) lines.push(`polynomial distance by degree 0..4: ${r.polynomial_error_by_degree.map(e).join(" ")}`);
    lines.push(`polynomial distance of y_T-1 in (x_0, x_T-1), the tokens between at 0 (tests lambda): ${e(r.polynomial_distance_first_last)}`);
  } else {
    const rows = [["Term", "RNN", "GD"]];
    r.gd_coefficients!.forEach((c, i) => rows.push([`x_q,${i + 1} x_t,${i + 1} y_t,1`, e(c), e(r.eta_star)]));
    rows.push(["residual norm", e(r.residual_norm), "0"]);
    rows.push(["loss", r.rnn_loss!.toFixed(4), r.gd_loss!.toFixed(4)]);
    lines.push(...table(rows));
    lines.push(`(coefficients averaged over the ${r.gd_coefficients_by_token!.length} observations; GD loss sampled on the same sequences ${r.gd_loss_sampled!.toFixed(4)})`);
    lines.push(`Score KV ${e(r.kv_score)}, Score Q ${e(r.q_score)}, polynomial distance to GD ${e(r.polynomial_distance)}, cross-observation terms ${e(r.cross_token_norm)}`);
  }
  if (r.compressed) lines.push(...formatCompressed(r.compressed, r.model.d_in));
  if (r.merge) {
    const mg = r.merge;
    lines.push(
      `rank-1 merge (App. B.2) of ${mg.rows.length} rows (${mg.rows.length > 10 ? mg.rows.slice(0, 8).join(", ") + ", ..." : mg.rows.join(", ")}): proportionality ${e(mg.proportionality)}, rank residual ${e(mg.rank_residual)}; ` +
        `loss ${e(mg.loss_before)} -> ${e(mg.loss_after)}` +
        (mg.proportionality > 0.1 || mg.rank_residual > 0.1 ? " (FAILED: the kernels are not one rank-1 kernel; the canonical form above replaces the merge)" : ""),
    );
  } else {
    lines.push("rank-1 merge: every output-gating row is in the block structure, nothing to merge");
  }
  return lines.join("\n") + "\n";
}
