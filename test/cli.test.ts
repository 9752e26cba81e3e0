import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, describe, test } from "node:test";
import { fileURLToPath, pathToFileURL } from "node:url";
import { opt, parseArgs, UsageError } from "../src/cli/args.ts";
import { defineCommand, makeTable, planned } from "../src/cli/commands.ts";
import { runCli } from "../src/cli/main.ts";
import { comparedTo, textTable } from "../src/cli/text.ts";
import { fmtEta, ProgressBar, progressText, StatusLine, SweepProgress } from "../src/cli/progress.ts";

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

/** A status line output that records what is written; `columns` makes it a terminal. */
function recorder(columns?: number): { out: { write(t: string): void; columns?: number }; text: () => string } {
  let text = "";
  return { out: { write: (t: string) => void (text += t), columns }, text: () => text };
}

describe("progress", () => {
  test("progress text: one ETA, rate and fields only when known; durations", () => {
    assert.equal(progressText({ label: "train", value: 3993, total: 60000, rate: 1234.4, eta: 65, fields: { loss: "1.2e-3", val: "" } }), "train 3993/60000 | 1234 steps/s | ETA 1m 05s | loss 1.2e-3");
    assert.equal(progressText({ label: "train", value: 1, total: 5, rate: NaN, eta: NaN, fields: { loss: "1.04e+2" } }), "train 1/5 | loss 1.04e+2");
    assert.equal(progressText({ label: "run 1/2", value: 10, total: 20, rate: 2.5, eta: 3725, etaOf: "all runs", fields: {} }), "run 1/2 10/20 | 2.5 steps/s | ETA 1h 02m (all runs)");
    assert.equal(progressText({ label: "run", value: 5, total: 20 }, 8), "run ██░░░░░░ 5/20");
    assert.deepEqual([fmtEta(0.4), fmtEta(42.2), fmtEta(59.6), fmtEta(125), fmtEta(NaN), fmtEta(-1)], ["0s", "42s", "1m 00s", "2m 05s", "", ""]);
  });

  test("plain lines (not a terminal): throttled, the last always printed; ETA from the steps since the first report (a resumed run starts past 0)", () => {
    const r = recorder();
    let t = 0;
    const bar = new ProgressBar(new StatusLine(r.out, 5, () => t), "train", 1000, () => t);
    bar.update(600, { loss: "1" }); // resumed at step 600: no rate or ETA yet
    t = 2000;
    bar.update(650, { loss: "1" }); // within 5 s of the last line: not printed (the rate is measured over [2 s, 10 s]: 6.25 steps/s)
    t = 10_000;
    bar.update(700, { loss: "1" }); // 100 steps in 10 s -> 300 left take 30 s
    t = 11_000;
    bar.update(1000, { loss: "0.5", val: "0.6" }); // the end: printed at once, without an ETA
    assert.equal(r.text(), ["train 600/1000 | loss 1", "train 700/1000 | 6.3 steps/s | ETA 30s | loss 1", "train 1000/1000 | 300 steps/s | loss 0.5 | val 0.6", ""].join("\n"));
  });

  test("on a terminal: the line is redrawn in place within the width, messages go above it on clean lines, clear erases it", () => {
    const r = recorder(40);
    let t = 0;
    const status = new StatusLine(r.out, 5, () => t);
    status.set("train 1/5 | loss 1");
    t = 50;
    status.set("train 2/5 | loss 1"); // within 100 ms: not drawn
    status.log("gra train: interrupted, writing a checkpoint");
    t = 500;
    status.set("train 3/5 | a long field that does not fit in forty columns");
    status.clear();
    assert.equal(r.text(),
      "\rtrain 1/5 | loss 1\x1b[K" +
      "\r\x1b[Kgra train: interrupted, writing a checkpoint\n\rtrain 2/5 | loss 1\x1b[K" +
      "\rtrain 3/5 | a long field that does not…\x1b[K" + // cut to 39 columns
      "\r\x1b[K");
    status.log("done");
    assert.ok(r.text().endsWith("\r\x1b[Kdone\n"), "after clear a message is printed alone, nothing redrawn");
  });

  test("a sweep: one bar per run with the sweep's ETA, a message line per run, one ETA per line", () => {
    const r = recorder();
    let t = 0;
    const runs = new Map([["a-0123456789", { cost: 1, steps: 100 }], ["b-0123456789", { cost: 1, steps: 100 }]]);
    const p = new SweepProgress(runs, 2, 1, new StatusLine(r.out, 0, () => t), () => t);
    p.handle({ type: "start", id: "a-0123456789", steps: 100, resumed: false } as never);
    p.handle({ type: "progress", id: "a-0123456789", step: 0, steps: 100, loss: 1, val_loss: NaN } as never);
    t = 1000;
    p.handle({ type: "progress", id: "a-0123456789", step: 50, steps: 100, loss: 0.5, val_loss: NaN } as never);
    t = 2000;
    p.handle({ type: "progress", id: "a-0123456789", step: 100, steps: 100, loss: 0.25, val_loss: 0.3 } as never);
    p.handle({ type: "done", id: "a-0123456789", skipped: false, elapsed_s: 2, val_loss: 0.3 } as never);
    p.handle({ type: "start", id: "b-0123456789", steps: 100, resumed: true } as never);
    p.stop();
    assert.deepEqual(r.text().split("\n"), [
      "[1/2] training a-0123456789",
      "run 1/2 0/100 | loss 1.00e+0 | runs 0/2 done",
      "run 1/2 50/100 | 50 steps/s | ETA 3s (all runs) | loss 5.00e-1 | runs 0/2 done",
      "run 1/2 100/100 | 50 steps/s | loss 2.50e-1 | val 3.00e-1 | runs 0/2 done",
      "[1/2] a-0123456789: done in 2.0 s, val loss 3.000e-1; ETA 2s for the rest",
      "[2/2] resuming b-0123456789",
      "",
    ]);
    for (const line of r.text().split("\n")) assert.ok((line.match(/ETA/g) ?? []).length <= 1, line);
  });

  test("ratios in words and tables fitted to the terminal", () => {
    assert.deepEqual([comparedTo(0.46, 106.5), comparedTo(121.3, 106.5), comparedTo(1, 10), comparedTo(1e-8, 106)], ["232x lower", "1.14x higher", "10.0x lower", "1.1e10x lower"]);
    const t = {
      title: "Table 1: teacher-student (d = 4), student with 100 hidden and 100 output-gating neurons",
      columns: ["", "Loss", "Score KV", "Score Q", "Polynomial distance", "hidden pruned", "output gating pruned", "memory (λ≈1)", "forget (λ≈0)", "other"],
      rows: [["paper (1M steps)", "4.97e-8", "4.52e-8", "2.06e-10", "3.73e-4", "86/100", "87/100", 10, 4, 0], ["quick (20k steps)", "2.37e-4", "1.47e-10", "8.30e-9", "3.72e-3", "73/100", "72/100", 13, 9, 5]],
    };
    const wide = textTable(t).split("\n");
    assert.equal(wide.length, 5);
    assert.ok(wide[1].length > 120, "the table as is is wider than a terminal");
    const fit = textTable(t, 80);
    assert.equal(fit, [
      "Table 1: teacher-student (d = 4), student with 100 hidden and 100 output-gating",
      "neurons",
      "                      paper (1M steps)  quick (20k steps)",
      "Loss                           4.97e-8            2.37e-4",
      "Score KV                       4.52e-8           1.47e-10",
      "Score Q                       2.06e-10            8.30e-9",
      "Polynomial distance            3.73e-4            3.72e-3",
      "hidden pruned                   86/100             73/100",
      "output gating pruned            87/100             72/100",
      "memory (λ≈1)                        10                 13",
      "forget (λ≈0)                         4                  9",
      "other                                0                  5",
      "",
    ].join("\n"));
    // too many rows to transpose into 40 columns: blocks of columns, each with the row labels
    const narrow = textTable(t, 40).split("\n");
    for (const l of narrow) assert.ok(l.length <= 40, l);
    const blocks = narrow.filter((l) => l.startsWith("paper (1M steps)")).length;
    assert.ok(blocks > 1 && narrow.filter((l) => l.startsWith("quick (20k steps)")).length === blocks, "every block has both row labels");
    for (const c of t.columns.slice(1)) assert.equal(narrow.filter((l) => l.includes(c)).length, 1, c);
    assert.ok(narrow.some((l) => /^paper \(1M steps\) .*3\.73e-4/.test(l)));
  });
});

describe("exit codes: invalid input of any kind exits 2 with one line, a failure 1", () => {
  let dir = "";
  const inDir = (n: string) => join(dir, n);
  after(() => (dir ? rm(dir, { recursive: true, force: true }) : undefined));

  test("train and analyze inputs", async () => {
    dir = await mkdtemp(join(tmpdir(), "gra-exit-"));
    await writeFile(inDir("unknown-key.json"), JSON.stringify({ steps: 5, stepz: 5 }));
    await writeFile(inDir("broken.json"), "{ steps: 5");
    await writeFile(inDir("array.json"), "[1, 2]");
    await writeFile(inDir("bad-value.json"), JSON.stringify({ lr: "fast" }));
    await writeFile(inDir("stack.json"), JSON.stringify({ model: "stack", layers: 2 }));
    await writeFile(inDir("not-a-model.safetensors"), "garbage!garbage!");
    const io = () => {
      const r = { stdout: "", stderr: "" };
      return { r, io: { stdout: (t: string) => void (r.stdout += t), stderr: (t: string) => void (r.stderr += t) } };
    };
    const run = async (...args: string[]) => {
      const { r, io: cap } = io();
      const code = await runCli(args, undefined, cap);
      return { code, ...r };
    };
    const cases: [string[], RegExp][] = [
      [["train", "--steps", "x", "--out", inDir("a")], /^gra train: --steps: expected an integer >= 1, got "x"$/],
      [["train", "--config", inDir("broken.json"), "--out", inDir("a")], /^gra train: --config: .*broken\.json is not valid JSON$/],
      [["train", "--config", inDir("unknown-key.json"), "--out", inDir("a")], /^gra train: train config: unknown key "stepz" \(known: task, /],
      [["train", "--config", inDir("array.json"), "--out", inDir("a")], /^gra train: train config: expected an object, got \[1,2\]$/],
      [["train", "--config", inDir("bad-value.json"), "--out", inDir("a")], /^gra train: train config\.lr: expected a number, got "fast"$/],
      [["train", "--config", inDir("stack.json"), "--out", inDir("a")], /^gra train: model: a stack is built with --layers L /],
      [["train", "--model", "stack", "--width", "8", "--steps", "5", "--out", inDir("a")], /^gra train: --model: a stack is built with --layers L .*e\.g\. --model gated-rnn --layers 2 \(families: gated-rnn, /],
      [["train", "--model", "nope", "--out", inDir("a")], /^gra train: --model: unknown family "nope" \(known: gated-rnn, /],
      [["train", "--resume", "--out", dir], /^gra train: .*config\.json: missing: is this a run directory\?/],
      [["train", "--steps", "5", "--out", dir], /^gra train: .* is not empty; use --resume /],
      [["analyze", dir], /^gra analyze: .*: no model\.safetensors /],
      [["construct", "--attention", inDir("not-a-model.safetensors"), "--out", inDir("c")], /^gra construct: .*not-a-model\.safetensors: header length \d+ exceeds file size 16$/],
      [["bench", "--model", "stack"], /^gra bench: --model: a stack is built with --layers L /],
    ];
    for (const [args, message] of cases) {
      const r = await run(...args);
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
      assert.equal(r.stdout, "");
      assert.match(r.stderr.trimEnd(), message, args.join(" "));
      assert.equal(r.stderr.split("\n").length, 2, r.stderr);
    }
  });

  test("a tiny gra train: plain progress lines without empty fields, the loss compared in words", async () => {
    let stdout = "";
    let stderr = "";
    const out = join(await mkdtemp(join(tmpdir(), "gra-train5-")), "run");
    const code = await runCli(["train", "--steps", "5", "--hidden", "4", "--batch", "4", "--out", out], undefined, { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t) });
    await rm(dirname(out), { recursive: true, force: true });
    assert.equal(code, 0, stderr);
    const lines = stderr.trimEnd().split("\n");
    assert.equal(lines[0], `train 1/5 | loss ${/loss (\S+)/.exec(lines[0])![1]}`);
    assert.match(lines[lines.length - 1], /^train 5\/5 \| \d+ steps\/s \| loss \d\.\d\de[+-]\d+ \| val \d\.\d\de[+-]\d+$/);
    for (const l of lines) assert.doesNotMatch(l, /\|\s*\||\| *$|  /, `an empty field in ${JSON.stringify(l)}`);
    assert.match(stdout, /^trained 5 steps in [\d.]+ s: loss .*\(zero predictor \d\.\d{3}e[+-]\d+: \d+(\.\d+)?x (lower|higher)\)\nrun directory: /);
  });
});
