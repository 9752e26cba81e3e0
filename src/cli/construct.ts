/**
 * `gra construct`: attention weights (drawn N(0, 1/d) from the seed, or read from --attention) -> the paper's
 * construction in the chosen family; writes DIR/attention.safetensors and DIR/model.safetensors and reports the
 * error of the constructed model against eq. 1 on random sequences.
 */
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { constructModel, constructionTargets } from "../constructions/index.ts";
import type { AttentionWeights } from "../constructions/gated-rnn.ts";
import { gatedVariants } from "../constructions/gated-rnn.ts";
import { loadParams, saveParams } from "../io/files.ts";
import { ref64 } from "../kernels/reference.ts";
import { attention, attentionConfig } from "../models/attention.ts";
import type { AttentionConfig } from "../models/attention.ts";
import { getFamily } from "../models/registry.ts";
import type { Params } from "../models/types.ts";
import { Rng } from "../rng.ts";
import type { Tensor } from "../tensor.ts";
import { cloneTensor, maxAbs, maxAbsDiff } from "../tensor.ts";
import { opt, UsageError } from "./args.ts";
import { defineCommand } from "./commands.ts";
import { kernelsFor } from "../kernels/factory.ts";

/** Max absolute and relative (max|diff| / max|y_att|) error of `model` against attention `att` on x. */
export function constructionError(model: Params, att: Params<AttentionConfig>, x: Tensor, dtype: "f32" | "f64"): { max_abs_error: number; max_rel_error: number } {
  const yAtt = attention.forward(att, x, ref64).data;
  const fam = getFamily(model.family);
  const k = kernelsFor(dtype);
  const m = dtype === "f64" ? model : { ...model, tensors: Object.fromEntries(Object.entries(model.tensors).map(([n, t]) => [n, cloneTensor(t, "f32")])) };
  const y = fam.forward(m, dtype === "f64" ? x : cloneTensor(x, "f32"), k).data;
  const abs = maxAbsDiff(y, yAtt);
  return { max_abs_error: abs, max_rel_error: abs / maxAbs(yAtt) };
}

export const constructCommand = defineCommand({
  name: "construct",
  summary: "build the paper's constructions (attention -> gated RNN, LSTM, LRU, GRU), save and verify their weights",
  description:
    "Draws attention weights W_V, W_K, W_Q i.i.d. N(0, 1/d) from --seed (or reads --attention FILE), builds the RNN\n" +
    "that implements the same layer, writes DIR/attention.safetensors and DIR/model.safetensors, and prints the\n" +
    "neuron counts and the max absolute and relative error of the RNN against eq. 1 on random sequences.\n" +
    "gated-rnn constructions are exact (float64 rounding); lstm, lru, lru-in-out and gru are approximate, O(eps²).",
  options: {
    d: opt.int("input width d of the attention layer", { min: 1, max: 64, default: 4 }),
    seed: opt.int("seed for the attention weights and the test sequences", { min: 0, default: 0 }),
    variant: opt.enum("gated-rnn construction: full (Figure 1), compact (any weights), paper-compact (Section 2.2)", gatedVariants, { default: "compact" }),
    into: opt.enum("target family", constructionTargets, { default: "gated-rnn" }),
    eps: opt.number("linearisation scale for approximate constructions (default: the family's best)", { min: 1e-12, max: 1 }),
    dtype: opt.enum("evaluate in float64 (reference) or float32 (fast kernels)", ["f64", "f32"] as const, { default: "f64" }),
    attention: opt.path("read W_V, W_K, W_Q from this safetensors file instead of drawing them", { exists: "file" }),
    out: opt.path("output directory", { required: true }),
    json: opt.flag("print one JSON object instead of text"),
  },
  async run(o, ctx) {
    let attParams: Params<AttentionConfig>;
    if (o.attention) {
      const loaded = await loadParams(o.attention, { family: "attention", dtype: "f64" });
      attParams = loaded as Params<AttentionConfig>;
      const c = attentionConfig(attParams.config);
      if (c.heads !== 1 || c.d_key !== c.d || c.d_out !== c.d) throw new UsageError(`--attention: constructions take one square head ([d, d] matrices), got ${JSON.stringify(c)}`);
    } else {
      attParams = attention.init(Rng.fromSeed(o.seed), attentionConfig({ d: o.d }));
    }
    const d = attentionConfig(attParams.config).d;
    const att: AttentionWeights = { d, W_V: attParams.tensors.W_V.data, W_K: attParams.tensors.W_K.data, W_Q: attParams.tensors.W_Q.data };
    const built = constructModel(att, { into: o.into, variant: o.variant, eps: o.eps });
    const x = { shape: [4, 16, d], data: Rng.fromSeed(o.seed + 1).fillNormal(new Float64Array(4 * 16 * d)) };
    const err = constructionError(built.model, attParams, x, o.dtype);
    const epsTable = built.sweep?.(x).map((r) => ({ eps: r.eps, max_abs_error: r.max_abs_error, max_rel_error: r.max_rel_error }));
    await mkdir(o.out, { recursive: true });
    await saveParams(join(o.out, "attention.safetensors"), attParams);
    await saveParams(join(o.out, "model.safetensors"), built.model);
    const report = {
      d, variant: o.into === "gated-rnn" ? o.variant : null, into: o.into, family: built.model.family,
      hidden: built.hidden, output_gating: built.output_gating, eps: built.eps ?? null, dtype: o.dtype,
      ...err, ...(epsTable ? { eps_table: epsTable } : {}), out: o.out,
    };
    if (o.json) {
      ctx.stdout(JSON.stringify(report) + "\n");
      return 0;
    }
    const lines = [
      `attention d=${d} -> ${o.into}${o.into === "gated-rnn" ? ` (${o.variant})` : ""}: ${built.hidden} hidden neurons` +
        (built.output_gating !== null ? `, ${built.output_gating} output-gating rows` : ""),
      `max abs error ${err.max_abs_error.toExponential(2)}, max rel error ${err.max_rel_error.toExponential(2)} (${o.dtype}, 4 random sequences of length 16)`,
    ];
    if (built.eps !== undefined) lines.push(`eps = ${built.eps}`);
    if (epsTable) {
      lines.push("eps sweep (error is O(eps²) until float64 rounding dominates):", "  eps        max rel error");
      for (const r of epsTable) lines.push(`  ${r.eps.toExponential(0).padEnd(10)} ${r.max_rel_error.toExponential(2)}`);
    }
    lines.push(`wrote ${join(o.out, "attention.safetensors")} and ${join(o.out, "model.safetensors")}`);
    ctx.stdout(lines.join("\n") + "\n");
    return 0;
  },
});
