/**
 * The command table. Implementing a command = write `src/cli/<name>.ts` exporting
 * `defineCommand({ name, summary, options: { ... opt.* ... }, run: async (opts, ctx) => exitCode })` and add it to
 * `built` below; planned commands that are not built yet get a placeholder (help lists them, running one exits 2).
 */
import type { OptionSpec, ParsedOptions } from "./args.ts";
import { benchCommand } from "./bench.ts";
import { analyzeCommand } from "./analyze.ts";
import { constructCommand } from "./construct.ts";
import { reproduceCommand } from "./reproduce.ts";
import { serveCommand } from "./serve.ts";
import { trainCommand } from "./train.ts";

/** What a running command gets besides its options. */
export interface CommandContext {
  /** The command's name (for messages: `gra <name>: ...`). */
  readonly name: string;
  /** `--debug` was given: print stack traces, keep temporary files, be verbose. */
  readonly debug: boolean;
  /** Writes text to stdout as is (add "\n" yourself). */
  stdout(text: string): void;
  /** Writes text to stderr as is (add "\n" yourself). */
  stderr(text: string): void;
  /** Width of stdout when it is a terminal; undefined when it is a file or a pipe. */
  readonly stdoutColumns?: number;
  /** Width of stderr when it is a terminal (progress redraws one line); undefined when it is a file or a pipe. */
  readonly stderrColumns?: number;
}

/** One CLI command: options are parsed and validated before `run`; `run` resolves to the exit code. */
export interface Command<S extends OptionSpec = OptionSpec> {
  readonly name: string;
  /** One line for `gra --help`. */
  readonly summary: string;
  /** Optional paragraph for `gra <name> --help`. */
  readonly description?: string;
  readonly options: S;
  /** Absent for planned commands that are not built yet. Throw `UsageError` for usage problems (exit 2). */
  run?(opts: ParsedOptions<S>, ctx: CommandContext): Promise<number>;
}

/** Identity with inference: gives `run` its typed `opts` from the `options` spec. */
export function defineCommand<S extends OptionSpec>(c: Command<S>): Command<S> {
  return c;
}

/** The planned commands, in help order, with their summaries (used until a command is built). */
export const planned: readonly (readonly [name: string, summary: string])[] = [
  ["construct", "build the paper's exact gated-RNN / attention constructions and save their weights"],
  ["train", "train a model on a task (teacher-student, in-context linear regression) and save checkpoints"],
  ["analyze", "analyze a trained run: pruning, KV/Q scores, polynomial distance to attention"],
  ["reproduce", "reproduce a table or figure of the paper end to end"],
  ["bench", "benchmark the kernels and models (reference vs fast backends)"],
  ["serve", "serve the browser demo and the model API over HTTP"],
];

/** Implemented commands: add one entry per command here (it replaces the planned placeholder of the same name). */
const built: Command<any>[] = [constructCommand, trainCommand, serveCommand, analyzeCommand, reproduceCommand, benchCommand];

/** Builds the table: planned order first (built command or placeholder), then built commands not in the plan. */
export function makeTable(implemented: readonly Command<any>[], plan = planned): Command<any>[] {
  const byName = new Map(implemented.map((c) => [c.name, c]));
  const table: Command<any>[] = plan.map(([name, summary]) => byName.get(name) ?? { name, summary, options: {} });
  for (const c of implemented) if (!plan.some(([n]) => n === c.name)) table.push(c);
  return table;
}

/** The CLI's command table. */
export const commands: Command<any>[] = makeTable(built);
