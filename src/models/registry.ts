/**
 * Model families by name: the CLI, safetensors loading and stacks look families up here. Adding a family is one
 * import and one entry in `all`.
 */
import { attention } from "./attention.ts";
import { gatedRnn, gatedRnnDense } from "./gated-rnn.ts";
import { gru } from "./gru.ts";
import { lstm } from "./lstm.ts";
import { lru, lruInOut, lruInSkip } from "./lru.ts";
import { makeStackFamily } from "./stack.ts";
import type { ModelFamily } from "./types.ts";

const all: ModelFamily[] = [gatedRnn, gatedRnnDense, attention, lru, lruInOut, lruInSkip, lstm, gru, makeStackFamily(getFamily)];
const byName = new Map(all.map((f) => [f.name, f]));

/** The family called `name`, or a one-line error listing the known names. */
export function getFamily(name: string): ModelFamily {
  const f = byName.get(name);
  if (!f) throw new Error(`unknown model family "${name}" (known: ${[...byName.keys()].join(", ")})`);
  return f;
}

/** All registered family names, in registration order. */
export function familyNames(): string[] {
  return [...byName.keys()];
}
