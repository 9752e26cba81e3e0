/**
 * `gra` entry point: dispatches `gra <command> [options]` through the command table (src/cli/commands.ts).
 * Exit codes: 0 success (and help), 1 a command failed (`gra: <message>`, plus the stack with `--debug`),
 * 2 invalid input: usage errors and every `InputError` (a bad config file or key, a corrupt weights file, a directory
 * that is not a run: `gra <cmd>: <problem>`), unknown command, command not built yet.
 */
import { realpathSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { InputError } from "../errors.ts";
import { formatOptions, parseArgs, usageLine, UsageError, wantsHelp } from "./args.ts";
import type { Command, CommandContext } from "./commands.ts";
import { commands } from "./commands.ts";

/** Where the CLI writes; tests and embedders can capture it. */
export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  /** Width of stdout when it is a terminal (tables are fitted to it); undefined otherwise. */
  readonly stdoutColumns?: number;
  /** Width of stderr when it is a terminal (progress is one line redrawn in place); undefined otherwise. */
  readonly stderrColumns?: number;
}

const processIo: CliIo = {
  stdout: (t) => void process.stdout.write(t),
  stderr: (t) => void process.stderr.write(t),
  get stdoutColumns() {
    return process.stdout.isTTY ? process.stdout.columns || 80 : undefined;
  },
  get stderrColumns() {
    return process.stderr.isTTY ? process.stderr.columns || 80 : undefined;
  },
};

const GLOBAL_HELP: [string, string][] = [
  ["--debug", "print stack traces on errors"],
  ["-h, --help", "show this help"],
];

/** First line of an error's message (messages are meant to be one line; this guards foreign ones). */
function firstLine(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  return m.split("\n")[0];
}

/** `gra --help`: usage and one line per command. */
export function topLevelHelp(table: readonly Command<any>[]): string {
  const w = Math.max(...table.map((c) => c.name.length)) + 3;
  const lines = table.map((c) => `  ${c.name.padEnd(w)}${c.summary}${c.run ? "" : " (not built yet)"}`);
  return [
    "gra: gated recurrent neural networks discover attention (constructions, training, analysis)",
    "",
    "Usage: gra <command> [options]",
    "       gra <command> --help     options of a command",
    "",
    "Commands:",
    ...lines,
    "",
    "Global options:",
    ...GLOBAL_HELP.map(([l, r]) => `  ${l.padEnd(w)}${r}`),
    "",
  ].join("\n");
}

/** `gra <cmd> --help`: usage line, summary, arguments and options with types, defaults and docs. */
export function commandHelp(c: Command<any>): string {
  const parts = [`Usage: ${usageLine(c.name, c.options)}`, "", `${c.summary}${c.run ? "" : " (not built yet)"}`];
  if (c.description) parts.push("", c.description);
  parts.push("", formatOptions(c.options, GLOBAL_HELP), "");
  return parts.join("\n");
}

/**
 * Runs the CLI on `argv` (arguments after `gra`) with a command table; resolves to the exit code.
 * `--debug` anywhere (before `--`) enables stack traces and is removed before option parsing.
 */
export async function runCli(argv: readonly string[], table: readonly Command<any>[] = commands, io: CliIo = processIo): Promise<number> {
  const dashdash = argv.indexOf("--");
  const head = dashdash >= 0 ? argv.slice(0, dashdash) : argv;
  const debug = head.includes("--debug");
  const args = [...head.filter((a) => a !== "--debug"), ...(dashdash >= 0 ? argv.slice(dashdash) : [])];
  let prefix = "gra";
  try {
    const [first, ...rest] = args;
    if (first === undefined) {
      io.stderr(topLevelHelp(table));
      return 2;
    }
    if (first === "--help" || first === "-h" || first === "help") {
      const topic = first === "help" ? rest.find((a) => !a.startsWith("-")) : undefined;
      if (topic === undefined) {
        io.stdout(topLevelHelp(table));
        return 0;
      }
      const c = table.find((t) => t.name === topic);
      if (!c) throw new UsageError(`unknown command "${topic}" (commands: ${table.map((t) => t.name).join(", ")})`);
      io.stdout(commandHelp(c));
      return 0;
    }
    if (first.startsWith("-")) throw new UsageError(`unknown option ${first} before the command (usage: gra <command> [options])`);
    const cmd = table.find((t) => t.name === first);
    if (!cmd) throw new UsageError(`unknown command "${first}" (commands: ${table.map((t) => t.name).join(", ")})`);
    prefix = `gra ${cmd.name}`;
    if (wantsHelp(rest)) {
      io.stdout(commandHelp(cmd));
      return 0;
    }
    if (!cmd.run) {
      io.stderr(`gra: ${cmd.name} is not built yet (see the issue tracker)\n`);
      return 2;
    }
    const opts = parseArgs(cmd.options, rest);
    const ctx: CommandContext = {
      name: cmd.name, debug, stdout: io.stdout, stderr: io.stderr,
      get stdoutColumns() {
        return io.stdoutColumns;
      },
      get stderrColumns() {
        return io.stderrColumns;
      },
    };
    const code = await cmd.run(opts, ctx);
    return Number.isInteger(code) ? code : 0;
  } catch (e) {
    if (e instanceof InputError) {
      io.stderr(`${prefix}: ${firstLine(e)}\n`);
      if (debug && e.stack) io.stderr(`${e.stack}\n`);
      return 2;
    }
    io.stderr(`gra: ${firstLine(e)}\n`);
    if (debug) io.stderr(`${e instanceof Error && e.stack ? e.stack : String(e)}\n`);
    return 1;
  }
}

/** The `gra` CLI: runs argv (without node and script) against the command table, resolves to the exit code. */
export async function main(argv: string[]): Promise<number> {
  return runCli(argv);
}

/** True when this module is the process's entry script (`node dist/cli/main.js`, `tsx src/cli/main.ts`). */
function isEntry(): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return pathToFileURL(realpathSync(script)).href === import.meta.url;
  } catch {
    return false;
  }
}

if (isEntry()) process.exitCode = await main(process.argv.slice(2));
