/**
 * `gra analyze DIR`: the paper's reverse-engineering analysis (src/analysis/) of a `gra train` run directory or a
 * `gra construct` output. Both hold DIR/model.safetensors (a gated RNN, family gated-rnn); the reference is
 * DIR/attention.safetensors (the teacher, or the layer a construction implements) or, for an icl-regression run
 * (DIR/config.json task "icl-regression"), one optimal GD step. Prints Table 1 / Table 2, or one JSON object.
 */
import { analysisDefaults, analyzeGatedRnn, canonicalModelOf, formatReport } from "../analysis/analyze.ts";
import { loadAnalysisInputs } from "../analysis/load.ts";
import { saveParams, writeFileAtomic } from "../io/files.ts";
import { opt } from "./args.ts";
import { defineCommand } from "./commands.ts";

/** `gra analyze DIR [--json] [--compress OUT.safetensors] [--family gated-rnn] [--tolerance T] ...`: `analyzeGatedRnn` on a run or construction directory (file comment). */
export const analyzeCommand = defineCommand({
  name: "analyze",
  summary: "analyze a trained run or a construction: pruning, neuron groups, KV/Q scores, polynomial distance, rank-1 merge, GD match",
  description:
    "DIR is a gra train run directory or a gra construct output (model.safetensors, a gated RNN; attention.safetensors,\n" +
    "the reference; icl-regression runs are compared with one optimal GD step). Removes dead neurons (weights with\n" +
    "|w| <= --tolerance), groups the rest into memory (lambda ~ 1), forget (lambda ~ 0) and other neurons, and reports\n" +
    "Table 1 (loss, KV and Q scores = 1 - R², polynomial distance) or Table 2 (query-output coefficients vs eta*,\n" +
    "residual norm, loss vs GD), plus the App. B.2 merge of the output-gating rows outside the block structure, and\n" +
    "the canonical form: the equivalent gated RNN with the construction's shape (memory neurons sum x_a x_b, query\n" +
    "neurons x_c, few gating rows) derived from the weights, with what it drops and its error (--compress writes it).\n" +
    "Files without our __metadata__ (trained in PyTorch / JAX with our tensor names) are read by names and shapes.\n" +
    "--json prints one object (with the Figure 2 arrays under \"figures\"); --out FILE also writes it to FILE.",
  options: {
    dir: opt.positional("run directory or gra construct output", { metavar: "DIR", required: true, exists: "dir" }),
    json: opt.flag("print one JSON object instead of tables"),
    tolerance: opt.number("weights with |w| <= T count as zero (pruning, block structure)", { min: 0, default: analysisDefaults.tolerance }),
    lambdaTolerance: opt.number("memory neurons |lambda - 1| <= L, forget neurons |lambda| <= L", { min: 0, max: 0.5, default: analysisDefaults.lambdaTolerance }),
    prune: opt.enum("weights: the dead-weight rule; functional: then also units whose joint removal changes outputs <= T (relative)", ["weights", "functional"] as const, { default: analysisDefaults.pruning }),
    seed: opt.int("seed of the fresh evaluation sequences", { min: 0, default: analysisDefaults.seed }),
    sequences: opt.int("fresh sequences (default 256 teacher-student, 8192 icl-regression)", { min: 8, max: 1 << 16 }),
    out: opt.path("also write the JSON report (with the figure arrays) to this file"),
    compress: opt.path("write the canonical form (a gated RNN, safetensors with our metadata) to this file"),
    family: opt.enum("model family of DIR/model.safetensors when it has no __metadata__ (default: from the tensor names)", ["gated-rnn"] as const),
  },
  async run(o, ctx) {
    const inputs = await loadAnalysisInputs(o.dir, o.family);
    const report = analyzeGatedRnn(inputs.model, inputs.reference, inputs.task, {
      tolerance: o.tolerance, lambdaTolerance: o.lambdaTolerance, seed: o.seed, sequences: o.sequences, pruning: o.prune,
    });
    const json = JSON.stringify({ dir: o.dir, source: inputs.source, inferred_config: inputs.inferred, ...report });
    if (o.out) await writeFileAtomic(o.out, json + "\n");
    const canonical = canonicalModelOf(report);
    if (o.compress) {
      if (!canonical) throw new Error("analyze: no canonical form was derived");
      await saveParams(o.compress, canonical);
    }
    const source = `${o.dir} (${inputs.source}${inputs.inferred ? "; family and config inferred from tensor names and shapes" : ""})`;
    ctx.stdout(o.json ? json + "\n" : formatReport(report, source) + (o.compress ? `wrote the canonical form to ${o.compress}\n` : ""));
    return 0;
  },
});
