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
import { InputError } from "../errors.ts";

const all: ModelFamily[] = [gatedRnn, gatedRnnDense, attention, lru, lruInOut, lruInSkip, lstm, gru, makeStackFamily(getFamily)];
const byName = new Map(all.map((f) => [f.name, f]));

/** The family called `name`, or a one-line error listing the known names. */
export function getFamily(name: string): ModelFamily {
  const f = byName.get(name);
  if (!f) throw new InputError(`unknown model family "${name}" (known: ${[...byName.keys()].join(", ")})`);
  return f;
}

/** All registered family names, in registration order. */
export function familyNames(): string[] {
  return [...byName.keys()];
}

/** The families a model is on its own or as a stack's layers: every family but `stack` (which `layers >= 1` builds). */
export function layerFamilyNames(): string[] {
  return familyNames().filter((n) => n !== "stack");
}

/** Throws a one-line InputError unless `name` is a layer family (`what` names the setting, e.g. "--model"). */
export function checkLayerFamily(name: string, what: string): void {
  if (name === "stack") throw new InputError(`${what}: a stack is built with --layers L (config key layers) around a layer family, e.g. --model gated-rnn --layers 2 (families: ${layerFamilyNames().join(", ")})`);
  if (!layerFamilyNames().includes(name)) throw new InputError(`${what}: unknown family "${name}" (known: ${layerFamilyNames().join(", ")})`);
}
