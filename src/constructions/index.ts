/**
 * One entry point over every construction: attention weights -> a model of the target family, with its neuron
 * counts and, for the approximate (linearised) constructions, the eps used and an eps sweep.
 */
import type { Params } from "../models/types.ts";
import type { Tensor } from "../tensor.ts";
import { approximateConstructions, defaultEpsList, epsSweep } from "./approximate.ts";
import type { EpsRow } from "./approximate.ts";
import type { AttentionWeights, GatedVariant } from "./gated-rnn.ts";
import { constructGatedRnn } from "./gated-rnn.ts";

/** `gra construct --into` names: the exact gated RNN and the approximate LSTM, LRU, GRU constructions. */
export const constructionTargets = ["gated-rnn", "lstm", "lstm-2", "lru", "lru-in-out", "gru"] as const;
export type ConstructionTarget = (typeof constructionTargets)[number];

export interface Built {
  model: Params;
  /** Hidden (recurrent) units: per layer for stacks. */
  hidden: number;
  /** Output-gating rows (gated RNN), or null where the family has none. */
  output_gating: number | null;
  /** The linearisation scale of an approximate construction. */
  eps?: number;
  /** Errors against attention over eps = 1e-1 .. 1e-6 on sequences x (approximate constructions only). */
  sweep?: (x: Tensor) => EpsRow[];
}

/** Builds the construction of `att` in family `into` (gated-rnn: exact, `variant`; others: linearised with `eps`). */
export function constructModel(att: AttentionWeights, o: { into: ConstructionTarget; variant: GatedVariant; eps?: number }): Built {
  if (o.into === "gated-rnn") {
    const model = constructGatedRnn(att, o.variant);
    return { model, hidden: model.config.hidden, output_gating: model.config.output_gating };
  }
  const c = approximateConstructions[o.into];
  const eps = o.eps ?? c.defaultEps;
  return {
    model: c.build(att, eps),
    hidden: c.units(att.d),
    output_gating: null,
    eps,
    sweep: (x) => epsSweep((e) => c.build(att, e), att, x, defaultEpsList),
  };
}
