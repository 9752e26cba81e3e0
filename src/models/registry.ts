/** Model families by name: the CLI, safetensors loading and stacks look families up here. Adding one is one line. */
import type { ModelFamily } from "./types.ts";

const families = new Map<string, ModelFamily>();

/** Registers a family under its name (called once per family below; duplicate names are a programming error). */
export function registerFamily(f: ModelFamily): void {
  if (families.has(f.name)) throw new Error(`model family "${f.name}" registered twice`);
  families.set(f.name, f);
}

/** The family called `name`, or a one-line error listing the known names. */
export function getFamily(name: string): ModelFamily {
  const f = families.get(name);
  if (!f) throw new Error(`unknown model family "${name}" (known: ${[...families.keys()].join(", ")})`);
  return f;
}

/** All registered family names, in registration order. */
export function familyNames(): string[] {
  return [...families.keys()];
}
