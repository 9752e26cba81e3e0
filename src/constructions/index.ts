/**
 * One entry point over every construction: attention weights -> a model of the target family, with its neuron
 * counts and, for the approximate (linearised) constructions, the eps used and an eps sweep.
 */
import type { Params } from "../models/types.ts";
import type { Tensor } from "../tensor.ts";
import type { AttentionWeights, GatedVariant } from "./gated-rnn.ts";
import { constructGatedRnn } from "./gated-rnn.ts";

export const constructionTargets = ["gated-rnn"] as const;
export type ConstructionTarget = (typeof constructionTargets)[number];

export interface Built {
  model: Params;
  hidden: number;
  /** Output-gating rows (gated RNN), or null where the family has none. */
  output_gating: number | null;
  eps?: number;
  /** Errors against attention for a list of eps on sequences x (approximate constructions only). */
  sweep?: (x: Tensor) => { eps: number; max_abs_error: number; max_rel_error: number }[];
}

/** Builds the construction of `att` in family `into` (gated-rnn: exact, `variant`; others: linearised with `eps`). */
export function constructModel(att: AttentionWeights, o: { into: ConstructionTarget; variant: GatedVariant; eps?: number }): Built {
  switch (o.into) {
    case "gated-rnn": {
      const model = constructGatedRnn(att, o.variant);
      return { model, hidden: model.config.hidden, output_gating: model.config.output_gating };
    }
  }
}
