/**
 * Typed plain-object configs: a schema per config kind, parsed from JSON-like input. Unknown keys, wrong types
 * and out-of-range values are one-line errors naming the key; omitted keys take their defaults, so a parsed
 * config has every field written out (what `config.json` stores).
 */
import { InputError } from "./errors.ts";

export type Field<T> = {
  /** Parse a raw value (already present) into T or throw a message (without the key name). */
  parse(raw: unknown): T;
  /** The default when the key is absent; undefined makes the key required. */
  default?: T;
  /** One-line help. */
  doc: string;
};

export type Schema<C> = { [K in keyof C]-?: Field<C[K]> };

/** An integer field in [min, max]. */
export function int(doc: string, opts: { min?: number; max?: number; default?: number } = {}): Field<number> {
  const { min = -Infinity, max = Infinity } = opts;
  return {
    doc,
    default: opts.default,
    parse(raw) {
      const v = typeof raw === "string" && raw.trim() !== "" ? Number(raw) : raw;
      if (typeof v !== "number" || !Number.isInteger(v)) throw new Error(`expected an integer, got ${JSON.stringify(raw)}`);
      if (v < min || v > max) throw new Error(`expected an integer in [${min}, ${max}], got ${v}`);
      return v;
    },
  };
}

/** A finite number field in [min, max]. */
export function num(doc: string, opts: { min?: number; max?: number; default?: number } = {}): Field<number> {
  const { min = -Infinity, max = Infinity } = opts;
  return {
    doc,
    default: opts.default,
    parse(raw) {
      const v = typeof raw === "string" && raw.trim() !== "" ? Number(raw) : raw;
      if (typeof v !== "number" || !Number.isFinite(v)) throw new Error(`expected a number, got ${JSON.stringify(raw)}`);
      if (v < min || v > max) throw new Error(`expected a number in [${min}, ${max}], got ${v}`);
      return v;
    },
  };
}

/** One of a fixed set of strings. */
export function oneOf<T extends string>(doc: string, values: readonly T[], def?: T): Field<T> {
  return {
    doc,
    default: def,
    parse(raw) {
      if (typeof raw !== "string" || !values.includes(raw as T)) {
        throw new Error(`expected one of ${values.join("|")}, got ${JSON.stringify(raw)}`);
      }
      return raw as T;
    },
  };
}

/** A boolean field (accepts true/false and the strings "true"/"false"). */
export function bool(doc: string, def?: boolean): Field<boolean> {
  return {
    doc,
    default: def,
    parse(raw) {
      if (raw === true || raw === "true") return true;
      if (raw === false || raw === "false") return false;
      throw new Error(`expected true or false, got ${JSON.stringify(raw)}`);
    },
  };
}

/** A nested config parsed by its own schema. */
export function nested<C>(doc: string, schema: Schema<C>, def?: C): Field<C> {
  return { doc, default: def, parse: (raw) => parseConfig(schema, raw, doc) };
}

/** Parse `raw` against `schema`: every key known, every value valid, defaults filled in. `what` prefixes errors. */
export function parseConfig<C>(schema: Schema<C>, raw: unknown, what = "config"): C {
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    throw new InputError(`${what}: expected an object, got ${JSON.stringify(raw)}`);
  }
  const obj = raw as Record<string, unknown>;
  const keys = Object.keys(schema) as (keyof C & string)[];
  for (const k of Object.keys(obj)) {
    if (!keys.includes(k as keyof C & string)) {
      throw new InputError(`${what}: unknown key "${k}" (known: ${keys.join(", ")})`);
    }
  }
  const out = {} as C;
  for (const k of keys) {
    const f = schema[k];
    if (obj[k] === undefined) {
      if (f.default === undefined) throw new InputError(`${what}: missing required key "${k}" (${f.doc})`);
      out[k] = structuredClone(f.default);
    } else {
      try {
        out[k] = f.parse(obj[k]);
      } catch (e) {
        throw new InputError(`${what}.${k}: ${(e as Error).message}`);
      }
    }
  }
  return out;
}

/** JSON with object keys sorted at every level (undefined values left out): the canonical form configs are compared and hashed in. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(",")}]`;
  if (v !== null && typeof v === "object") {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o).sort().filter((k) => o[k] !== undefined).map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`).join(",")}}`;
  }
  return JSON.stringify(v);
}
