import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { dirname, join } from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath, pathToFileURL } from "node:url";
import { opt, parseArgs, UsageError } from "../src/cli/args.ts";
import { defineCommand, makeTable, planned } from "../src/cli/commands.ts";
import { runCli } from "../src/cli/main.ts";
import { progressView } from "../src/cli/progress.ts";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const COMMANDS = ["construct", "train", "analyze", "reproduce", "bench", "serve"];
const COMMAND_LIST = `(commands: ${COMMANDS.join(", ")})`;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function spawnNode(args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, args, { cwd: root, timeout: 30_000 }, (err, stdout, stderr) => {
      if (err && typeof err.code !== "number") reject(err);
      else resolve({ code: err ? (err.code as number) : 0, stdout, stderr });
    });
  });
}

/** The real CLI in a child process: `node --import tsx src/cli/main.ts ...args`. */
const gra = (...args: string[]) => spawnNode(["--import", "tsx", "src/cli/main.ts", ...args]);

// Option parsing is exercised through a demo command: in a child process
// (source below, run with `node -e`) for exit codes and stderr, and in process (runCli) for the long error table.
const url = (p: string) => JSON.stringify(pathToFileURL(join(root, p)).href);
const demoSource = `
import { runCli } from ${url("src/cli/main.ts")};
import { defineCommand, makeTable } from ${url("src/cli/commands.ts")};
import { opt, UsageError } from ${url("src/cli/args.ts")};
const demo = defineCommand({
  name: "demo",
  summary: "a demo command",
  options: {
    dir: opt.positional("run directory", { metavar: "DIR", required: true }),
    d: opt.int("model width d", { min: 1, max: 64, default: 4 }),
    lr: opt.number("learning rate", { min: 0 }),
    task: opt.enum("task", ["copy", "sort"], { default: "copy" }),
    name: opt.string("run name", { required: true }),
    outDir: opt.path("output directory"),
    json: opt.flag("print JSON"),
    boom: opt.flag("throw an error"),
    usage: opt.flag("throw a usage error"),
    code: opt.int("exit code to return", { default: 0 }),
  },
  async run(o, ctx) {
    if (o.boom) throw new Error("kaboom at step 3\\nsecond line");
    if (o.usage) throw new UsageError("--lr and --task sort do not mix");
    ctx.stdout(JSON.stringify(o) + "\\n");
    return o.code;
  },
});
export const table = makeTable([demo]);
if (process.argv[1] === "--run") process.exitCode = await runCli(process.argv.slice(2), table);
`;
/** The demo CLI in a child process. */
const demo = (...args: string[]) => spawnNode(["--import", "tsx", "--input-type=module", "-e", demoSource, "--", "--run", ...args]);

const demoCommand = defineCommand({
  name: "demo",
  summary: "a demo command",
  options: {
    dir: opt.positional("run directory", { metavar: "DIR", required: true }),
    d: opt.int("model width d", { min: 1, max: 64, default: 4 }),
    lr: opt.number("learning rate", { min: 0 }),
    task: opt.enum("task", ["copy", "sort"], { default: "copy" }),
    name: opt.string("run name", { required: true }),
    outDir: opt.path("output directory"),
    json: opt.flag("print JSON"),
    boom: opt.flag("throw an error"),
    usage: opt.flag("throw a usage error"),
    code: opt.int("exit code to return", { default: 0 }),
  },
  async run(o, ctx) {
    if (o.boom) throw new Error("kaboom at step 3\nsecond line");
    if (o.usage) throw new UsageError("--lr and --task sort do not mix");
    ctx.stdout(JSON.stringify(o) + "\n");
    return o.code;
  },
});

/** The demo CLI in process, output captured. */
async function demoInProcess(...args: string[]): Promise<Run> {
  let stdout = "";
  let stderr = "";
  const code = await runCli(args, makeTable([demoCommand]), { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t) });
  return { code, stdout, stderr };
}

describe("gra in a child process", { concurrency: true }, () => {
  test("--help lists the six commands; bare gra prints the same usage on stderr and exits 2", async () => {
    const [help, bare] = await Promise.all([gra("--help"), gra()]);
    assert.equal(help.code, 0);
    assert.equal(help.stderr, "");
    assert.match(help.stdout, /^Usage: gra <command> \[options\]$/m);
    const listed = help.stdout
      .split("\n")
      .filter((l) => /^ {2}[a-z]+ {2,}\S/.test(l))
      .map((l) => l.trim().split(/\s+/)[0]);
    assert.deepEqual(listed, COMMANDS);
    assert.equal(bare.code, 2);
    assert.equal(bare.stdout, "");
    assert.equal(bare.stderr, help.stdout);
  });

  test("gra <cmd> --help shows the command's usage", async () => {
    const r = await gra("construct", "--help");
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^Usage: gra construct \[options\]\n/);
    assert.match(r.stdout, /^ {2}--debug +print stack traces on errors$/m);
  });

  test("a planned command that is not built yet exits 2 with one line on stderr", async () => {
    let stdout = "";
    let stderr = "";
    const table = makeTable([], [["later", "a planned command"]]);
    const code = await runCli(["later", "--port", "10"], table, { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t) });
    assert.deepEqual({ code, stdout, stderr }, { code: 2, stdout: "", stderr: "gra: later is not built yet (see the issue tracker)\n" });
  });

  test("unknown command exits 2", async () => {
    const r = await gra("frobnicate");
    assert.deepEqual(r, { code: 2, stdout: "", stderr: `gra: unknown command "frobnicate" ${COMMAND_LIST}\n` });
  });

  test("demo: typed values reach run, its return value is the exit code", async () => {
    const r = await demo("demo", "runs/a", "--name=x1", "--lr", "0.5", "--out_dir", "out", "--json", "--task", "sort", "--code", "7");
    assert.equal(r.stderr, "");
    assert.equal(r.code, 7);
    assert.deepEqual(JSON.parse(r.stdout), {
      dir: "runs/a", d: 4, lr: 0.5, task: "sort", name: "x1", outDir: "out", json: true, boom: false, usage: false, code: 7,
    });
  });

  test("demo: bad int and unknown option exit 2 with one line", async () => {
    const [bad, unknown] = await Promise.all([demo("demo", "D", "--name", "n", "--d", "x"), demo("demo", "D", "--name", "n", "--wat")]);
    assert.deepEqual(bad, { code: 2, stdout: "", stderr: 'gra demo: --d: expected an integer in [1, 64], got "x"\n' });
    assert.deepEqual(unknown, { code: 2, stdout: "", stderr: "gra demo: unknown option --wat (see --help)\n" });
  });

  test("demo: a thrown error prints `gra: <first line>` and exits 1; --debug adds the stack", async () => {
    const [plain, debug] = await Promise.all([demo("demo", "D", "--name", "n", "--boom"), demo("--debug", "demo", "D", "--name", "n", "--boom")]);
    assert.deepEqual(plain, { code: 1, stdout: "", stderr: "gra: kaboom at step 3\n" });
    assert.equal(debug.code, 1);
    assert.match(debug.stderr, /^gra: kaboom at step 3\nError: kaboom at step 3\nsecond line\n(\s+at .*\n)+$/);
    assert.ok(/^\s+at .*run/m.test(debug.stderr), debug.stderr);
  });
});

describe("runCli in process", () => {
  test("help variants: gra help, gra help <cmd>, gra <cmd> -h, options with types, defaults and docs", async () => {
    const [top, word] = await Promise.all([demoInProcess("--help"), demoInProcess("help")]);
    assert.equal(top.code, 0);
    assert.equal(word.stdout, top.stdout);
    assert.match(top.stdout, /^ {2}demo {2,}a demo command$/m);
    assert.match(top.stdout, /^ {2}construct {2,}.*\(not built yet\)$/m);
    const [a, b] = await Promise.all([demoInProcess("demo", "-h"), demoInProcess("help", "demo")]);
    assert.equal(a.code, 0);
    assert.equal(b.stdout, a.stdout);
    const h = a.stdout;
    assert.match(h, /^Usage: gra demo \[options\] DIR\n\na demo command\n/);
    assert.match(h, /^ {2}DIR +run directory \(required\)$/m);
    assert.match(h, /^ {2}--d <int> +model width d \(an integer in \[1, 64\]; default: 4\)$/m);
    assert.match(h, /^ {2}--lr <number> +learning rate \(a number >= 0\)$/m);
    assert.match(h, /^ {2}--task <copy\|sort> +task \(one of copy\|sort; default: "copy"\)$/m);
    assert.match(h, /^ {2}--name <string> +run name \(a string; required\)$/m);
    assert.match(h, /^ {2}--out-dir <path> +output directory \(a path\)$/m);
    assert.match(h, /^ {2}--json +print JSON$/m);
    assert.match(h, /^ {2}-h, --help +show this help$/m);
  });

  test("top-level usage errors exit 2", async () => {
    assert.deepEqual(await demoInProcess("--frobnicate"), {
      code: 2, stdout: "", stderr: "gra: unknown option --frobnicate before the command (usage: gra <command> [options])\n",
    });
    assert.deepEqual(await demoInProcess("help", "nope"), { code: 2, stdout: "", stderr: `gra: unknown command "nope" (commands: ${COMMANDS.join(", ")}, demo)\n` });
  });

  test("usage errors: one line `gra <cmd>: ...`, exit 2", async () => {
    const cases: [string[], string][] = [
      [["demo", "D", "--name", "n", "--d", "x"], 'gra demo: --d: expected an integer in [1, 64], got "x"'],
      [["demo", "D", "--name", "n", "--d=65"], 'gra demo: --d: expected an integer in [1, 64], got "65"'],
      [["demo", "D", "--name", "n", "--d", "2.5"], 'gra demo: --d: expected an integer in [1, 64], got "2.5"'],
      [["demo", "D", "--name", "n", "--d="], 'gra demo: --d: expected an integer in [1, 64], got ""'],
      [["demo", "D", "--name", "n", "--lr", "-1"], 'gra demo: --lr: expected a number >= 0, got "-1"'],
      [["demo", "D", "--name", "n", "--lr", "inf"], 'gra demo: --lr: expected a number >= 0, got "inf"'],
      [["demo", "D", "--name", "n", "--task", "fly"], 'gra demo: --task: expected one of copy|sort, got "fly"'],
      [["demo", "D", "--name", "n", "--json=maybe"], 'gra demo: --json: expected true or false, got "maybe"'],
      [["demo", "D", "--name", "n", "--wat", "1"], "gra demo: unknown option --wat (see --help)"],
      [["demo", "D", "--name"], "gra demo: --name: missing value (expected a string)"],
      [["demo", "D", "--d", "--json", "--name", "n"], "gra demo: --d: missing value (expected an integer in [1, 64])"],
      [["demo", "D"], "gra demo: missing required option --name (run name)"],
      [["demo", "--name", "n"], "gra demo: missing argument DIR (run directory)"],
      [["demo", "D", "E", "--name", "n"], 'gra demo: unexpected argument "E"'],
      [["demo", "D", "--name", "n", "--d", "3", "--d", "4"], "gra demo: --d: given more than once"],
      [["demo", "D", "--name", "n", "--usage"], "gra demo: --lr and --task sort do not mix"],
    ];
    for (const [args, message] of cases) {
      const r = await demoInProcess(...args);
      assert.deepEqual(r, { code: 2, stdout: "", stderr: message + "\n" }, `args: ${args.join(" ")}`);
    }
  });

  test("--debug anywhere before -- enables stacks; after -- it is a positional", async () => {
    const late = await demoInProcess("demo", "D", "--name", "n", "--boom", "--debug");
    assert.equal(late.code, 1);
    assert.match(late.stderr, /^gra: kaboom at step 3\nError: kaboom at step 3\nsecond line\n\s+at /);
    const pos = await demoInProcess("demo", "--name", "n", "--", "--debug");
    assert.equal(pos.code, 0);
    assert.equal(JSON.parse(pos.stdout).dir, "--debug");
  });
});

describe("parseArgs", () => {
  const spec = {
    n: opt.int("count", { min: 0, default: 1 }),
    mode: opt.enum("mode", ["a", "b"]),
    file: opt.positional("input", { metavar: "FILE" }),
  };

  test("typed result: defaults, optional values undefined, negative numbers as values, -- ends options", () => {
    const r = parseArgs(spec, []);
    assert.deepEqual(r, { n: 1, mode: undefined, file: undefined });
    // Compile-time checks of the inferred types.
    const n: number = r.n;
    const mode: "a" | "b" | undefined = r.mode;
    const file: string | undefined = r.file;
    void [n, mode, file];
    assert.deepEqual(parseArgs({ x: opt.int("x") }, ["--x", "-3"]), { x: -3 });
    assert.deepEqual(parseArgs(spec, ["--", "--n"]), { n: 1, mode: undefined, file: "--n" });
    assert.deepEqual(parseArgs(spec, ["--mode=b", "-2"]), { n: 1, mode: "b", file: "-2" });
  });

  test("errors are UsageErrors with one-line messages", () => {
    assert.throws(() => parseArgs(spec, ["--n", "-1"]), (e) => e instanceof UsageError && e.message === '--n: expected an integer >= 0, got "-1"');
    assert.throws(() => parseArgs(spec, ["--mode"]), { message: "--mode: missing value (expected one of a|b)" });
    assert.throws(() => parseArgs(spec, ["-x"]), { message: "unknown option -x (see --help)" });
    const missing = join(root, "no-such-file");
    assert.throws(() => parseArgs({ p: opt.path("input", { exists: "file" }) }, ["--p", missing]), { message: `--p: no such file ${JSON.stringify(missing)}` });
    assert.throws(() => parseArgs({ p: opt.path("input", { exists: "file" }) }, ["--p", root]), { message: `--p: ${JSON.stringify(root)} is not a file` });
    assert.throws(() => parseArgs({ p: opt.path("input") }, ["--p="]), { message: "--p: expected a path, got an empty string" });
  });

  test("the table lists planned commands in order; a built command replaces its placeholder", () => {
    assert.deepEqual(planned.map(([n]) => n), COMMANDS);
    const built = defineCommand({ name: "train", summary: "train!", options: {}, run: async () => 0 });
    const table = makeTable([built]);
    assert.deepEqual(table.map((c) => c.name), COMMANDS);
    assert.equal(table[1], built);
    assert.equal(table[0].run, undefined);
  });
});

test("progress lines: ETA from the steps done since the first report (a resumed run starts past 0)", () => {
  const lines: string[] = [];
  const out = { isTTY: false, write: (x: string) => lines.push(x) } as unknown as NodeJS.WriteStream;
  let t = 0;
  const view = progressView(1000, "run", out, 0, () => t);
  view.update(600, { loss: "1" }); // resumed at step 600: no rate yet
  t = 10_000;
  view.update(700, { loss: "1" }); // 100 steps in 10 s -> 300 left take 30 s
  assert.deepEqual(lines, ["run 600/1000 | ETA ? | loss 1\n", "run 700/1000 | ETA 30s | loss 1\n"]);
});
