/**
 * Typed command-line options. A command declares an `OptionSpec` (an object of `opt.*` builders, keys in
 * camelCase or snake_case, spelled `--kebab-case` on the command line; `--snake_case` is accepted too) and gets
 * back a typed object: `{ d: number, task: "copy" | "sort", json: boolean, out: string | undefined, ... }`.
 * Syntax: `--name value`, `--name=value`, flags `--json` (or `--json=false`), positionals in declaration order,
 * `--` ends the options. Value checks reuse the src/config.ts field parsers (int / num / oneOf / bool).
 * Usage errors are `UsageError`s with one-line messages such as `--d: expected an integer in [1, 64], got "x"`.
 */
import { statSync } from "node:fs";
import type { Field } from "../config.ts";
import { bool, int, num, oneOf } from "../config.ts";
import { InputError } from "../errors.ts";

/** A command-line usage error (bad option, missing value...): printed as `gra <cmd>: <message>`, exit code 2. */
export class UsageError extends InputError {
  override name = "UsageError";
}

/** Option kinds, as shown in `--help`. */
export type OptionKind = "int" | "number" | "string" | "enum" | "flag" | "path" | "positional";

/** One declared option or positional argument whose parsed value has type T. */
export interface Option<T> {
  readonly kind: OptionKind;
  /** One-line help. */
  readonly doc: string;
  /** Placeholder in help: `<int>`, `<copy|sort>`, `DIR`. */
  readonly metavar: string;
  /** What a valid value is, for help and errors: "an integer in [1, 64]". */
  readonly expect: string;
  /** Value when absent (flags: false). */
  readonly default?: T;
  /** Absent and no default -> usage error. */
  readonly required: boolean;
  /** Parses the raw string (throws a message without the option name). */
  parse(raw: string): T;
}

/** A command's options: key -> option. Positionals are matched in key order. */
export type OptionSpec = Record<string, Option<any>>;

/** The typed result of parsing argv against spec S. */
export type ParsedOptions<S extends OptionSpec> = { [K in keyof S]: S[K] extends Option<infer T> ? T : never };

/** `undefined` unless the builder options carry a default or `required: true` (then the value is always set). */
type Absent<O> = O extends { default: unknown } ? never : O extends { required: true } ? never : undefined;

interface Common<T> {
  default?: T;
  required?: boolean;
}
interface Range<T> extends Common<T> {
  min?: number;
  max?: number;
}
/** `exists`: check the path names an existing file / directory / anything when given. */
interface PathOpts extends Common<string> {
  exists?: "file" | "dir" | "any";
}

/** "an integer in [1, 64]" / "an integer >= 1" / "an integer" for a range. */
function rangeText(what: string, min?: number, max?: number): string {
  const lo = min !== undefined && Number.isFinite(min);
  const hi = max !== undefined && Number.isFinite(max);
  if (lo && hi) return `${what} in [${min}, ${max}]`;
  if (lo) return `${what} >= ${min}`;
  if (hi) return `${what} <= ${max}`;
  return what;
}

/** Wraps a config Field so every failure reads `expected <expect>, got "<raw>"`. */
function fromField<T>(kind: OptionKind, metavar: string, expect: string, field: Field<T>, o: Common<T>): Option<T> {
  return {
    kind,
    doc: field.doc,
    metavar,
    expect,
    default: o.default,
    required: o.required === true,
    parse(raw) {
      try {
        return field.parse(raw);
      } catch {
        throw new UsageError(`expected ${expect}, got ${JSON.stringify(raw)}`);
      }
    },
  };
}

function checkPath(raw: string, exists: PathOpts["exists"]): string {
  if (raw === "") throw new UsageError("expected a path, got an empty string");
  if (!exists) return raw;
  let st;
  try {
    st = statSync(raw);
  } catch {
    throw new UsageError(`no such ${exists === "dir" ? "directory" : exists === "file" ? "file" : "file or directory"} ${JSON.stringify(raw)}`);
  }
  if (exists === "file" && !st.isFile()) throw new UsageError(`${JSON.stringify(raw)} is not a file`);
  if (exists === "dir" && !st.isDirectory()) throw new UsageError(`${JSON.stringify(raw)} is not a directory`);
  return raw;
}

/** Option builders; each returns an `Option<T>` whose T is exact (`| undefined` only when neither default nor required). */
export const opt = {
  /** An integer option in [min, max] (config.ts `int`). */
  int<const O extends Range<number> = {}>(doc: string, o?: O): Option<number | Absent<O>> {
    const r = (o ?? {}) as Range<number>;
    return fromField("int", "<int>", rangeText("an integer", r.min, r.max), int(doc, r), r) as Option<number | Absent<O>>;
  },
  /** A finite number option in [min, max] (config.ts `num`). */
  number<const O extends Range<number> = {}>(doc: string, o?: O): Option<number | Absent<O>> {
    const r = (o ?? {}) as Range<number>;
    return fromField("number", "<number>", rangeText("a number", r.min, r.max), num(doc, r), r) as Option<number | Absent<O>>;
  },
  /** One of a fixed set of strings (config.ts `oneOf`). */
  enum<const V extends string, const O extends Common<V> = {}>(doc: string, values: readonly V[], o?: O): Option<V | Absent<O>> {
    const c = (o ?? {}) as Common<V>;
    return fromField("enum", `<${values.join("|")}>`, `one of ${values.join("|")}`, oneOf(doc, values), c) as Option<V | Absent<O>>;
  },
  /** A free string option. */
  string<const O extends Common<string> = {}>(doc: string, o?: O): Option<string | Absent<O>> {
    const c = (o ?? {}) as Common<string>;
    return { kind: "string", doc, metavar: "<string>", expect: "a string", default: c.default, required: c.required === true, parse: (raw) => raw };
  },
  /** A boolean flag: `--name` sets true, `--name=false` false; absent = false (config.ts `bool`). */
  flag(doc: string): Option<boolean> {
    return fromField("flag", "", "true or false", bool(doc), { default: false });
  },
  /** A file-system path (non-empty; with `exists`, checked to name a file / directory). */
  path<const O extends PathOpts = {}>(doc: string, o?: O): Option<string | Absent<O>> {
    const c = (o ?? {}) as PathOpts;
    const what = c.exists === "dir" ? "an existing directory" : c.exists === "file" ? "an existing file" : "a path";
    return { kind: "path", doc, metavar: "<path>", expect: what, default: c.default, required: c.required === true, parse: (raw) => checkPath(raw, c.exists) };
  },
  /** A positional argument (matched in declaration order), shown as `metavar` (e.g. "DIR"); a path when `exists` is set. */
  positional<const O extends PathOpts & { metavar: string }>(doc: string, o: O): Option<string | Absent<O>> {
    return {
      kind: "positional",
      doc,
      metavar: o.metavar,
      expect: o.exists ? "a path" : "a string",
      default: o.default,
      required: o.required === true,
      parse: (raw) => (o.exists ? checkPath(raw, o.exists) : raw),
    };
  },
};

/** Command-line spelling of a spec key: `outDir` / `out_dir` -> `--out-dir`. */
export function cliName(key: string): string {
  return "--" + key.replace(/([a-z0-9])([A-Z])/g, "$1-$2").replace(/_/g, "-").toLowerCase();
}

/** True when argv asks for help (`-h` / `--help` before any `--`). */
export function wantsHelp(argv: readonly string[]): boolean {
  for (const a of argv) {
    if (a === "--") return false;
    if (a === "-h" || a === "--help") return true;
  }
  return false;
}

/** Looks like a negative number (accepted as a value or positional, never an option). */
function isNumberLike(s: string): boolean {
  return /^-(\d|\.\d)/.test(s);
}

/**
 * Parses argv (the arguments after the command name) against `spec`: every option known, values valid,
 * required ones present, defaults filled in. Throws a one-line `UsageError` otherwise.
 */
export function parseArgs<S extends OptionSpec>(spec: S, argv: readonly string[]): ParsedOptions<S> {
  const byFlag = new Map<string, string>();
  const positionals: string[] = [];
  for (const [key, o] of Object.entries(spec)) {
    if (o.kind === "positional") positionals.push(key);
    else byFlag.set(cliName(key), key);
  }
  const raw = new Map<string, string>();
  const extra: string[] = [];
  let onlyPositionals = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (onlyPositionals || !a.startsWith("-") || a === "-" || isNumberLike(a)) {
      extra.push(a);
      continue;
    }
    if (a === "--") {
      onlyPositionals = true;
      continue;
    }
    const eq = a.indexOf("=");
    const flagText = eq >= 0 ? a.slice(0, eq) : a;
    const name = flagText.startsWith("--") ? "--" + flagText.slice(2).replace(/_/g, "-") : flagText;
    const key = byFlag.get(name);
    if (key === undefined) throw new UsageError(`unknown option ${flagText} (see --help)`);
    if (raw.has(key)) throw new UsageError(`${name}: given more than once`);
    const o = spec[key];
    let value: string;
    if (eq >= 0) value = a.slice(eq + 1);
    else if (o.kind === "flag") value = "true";
    else {
      const next = argv[i + 1];
      if (next === undefined || (next.startsWith("--") && next.length > 2) || next === "--") {
        throw new UsageError(`${name}: missing value (expected ${o.expect})`);
      }
      value = next;
      i++;
    }
    raw.set(key, value);
  }
  if (extra.length > positionals.length) {
    throw new UsageError(`unexpected argument ${JSON.stringify(extra[positionals.length])}`);
  }
  extra.forEach((v, j) => raw.set(positionals[j], v));

  const out: Record<string, unknown> = {};
  for (const [key, o] of Object.entries(spec)) {
    const label = o.kind === "positional" ? o.metavar : cliName(key);
    const v = raw.get(key);
    if (v === undefined) {
      if (o.default !== undefined) out[key] = structuredClone(o.default);
      else if (o.required) {
        throw new UsageError(o.kind === "positional" ? `missing argument ${label} (${o.doc})` : `missing required option ${label} (${o.doc})`);
      } else out[key] = undefined;
      continue;
    }
    try {
      out[key] = o.parse(v);
    } catch (e) {
      throw new UsageError(`${label}: ${(e as Error).message}`);
    }
  }
  return out as ParsedOptions<S>;
}

/** Help lines for a spec: an "Arguments:" and an "Options:" block, aligned, with types, defaults and docs. */
export function formatOptions(spec: OptionSpec, globals: [string, string][] = []): string {
  const args: [string, string][] = [];
  const opts: [string, string][] = [];
  for (const [key, o] of Object.entries(spec)) {
    const notes: string[] = [];
    if (o.kind === "positional") {
      if (o.required) notes.push("required");
      else if (o.default !== undefined) notes.push(`default: ${o.default}`);
      else notes.push("optional");
      args.push([o.metavar, `${o.doc} (${notes.join("; ")})`]);
      continue;
    }
    if (o.kind === "flag") {
      opts.push([cliName(key), o.doc]);
      continue;
    }
    notes.push(o.expect);
    if (o.required) notes.push("required");
    else if (o.default !== undefined) notes.push(`default: ${JSON.stringify(o.default)}`);
    opts.push([`${cliName(key)} ${o.metavar}`, `${o.doc} (${notes.join("; ")})`]);
  }
  opts.push(...globals);
  const width = Math.min(28, Math.max(...[...args, ...opts].map(([l]) => l.length))) + 2;
  const line = ([l, r]: [string, string]) => (l.length + 2 > width ? `  ${l}\n  ${" ".repeat(width)}${r}` : `  ${l.padEnd(width)}${r}`);
  const blocks: string[] = [];
  if (args.length) blocks.push(["Arguments:", ...args.map(line)].join("\n"));
  if (opts.length) blocks.push(["Options:", ...opts.map(line)].join("\n"));
  return blocks.join("\n\n");
}

/** The usage line of a command: `gra <name> [options] DIR [OUT]`. */
export function usageLine(name: string, spec: OptionSpec): string {
  const pos = Object.values(spec)
    .filter((o) => o.kind === "positional")
    .map((o) => (o.required ? o.metavar : `[${o.metavar}]`));
  return ["gra", name, "[options]", ...pos].join(" ");
}
