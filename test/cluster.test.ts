/**
 * The cluster recipes of docs/cluster.md, run as written (the docs are the one source: the script and the Job's
 * command line are read from there, and only the substitutions listed below are made):
 *
 * - Kubernetes: the Indexed Job's `command:` as a plain process (no cluster here), with $(JOB_COMPLETION_INDEX)
 *   substituted as the kubelet does; SIGTERM (what the kubelet sends the container's main process) makes it write a
 *   checkpoint and exit, and the same command line resumes the run.
 * - Slurm: the array script submitted with sbatch to a private one-node Slurm (test/slurm-cluster.ts) on the `smoke`
 *   preset: the task holding the long run gets a one-minute time limit, so the script's `--signal=B:TERM@120` sends
 *   it SIGTERM early; it writes its checkpoint, is resubmitted alone (`sbatch --array=K`), finishes, and `--collect`
 *   gives exactly the numbers of an unsharded run. Skipped with a message where Slurm cannot start (not root, not
 *   installed); GRA_SLURM_TEST=required (set by .ci/run) turns that into a failure.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, statSync, readdirSync } from "node:fs";
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";
import { commands } from "../src/cli/commands.ts";
import { runCli } from "../src/cli/main.ts";
import { planRuns, shardRuns, writePlan } from "../src/experiments/driver.ts";
import { getPreset, presets } from "../src/experiments/presets.ts";
import { runDir, runState } from "../src/experiments/sweep.ts";
import { loadTensors } from "../src/io/files.ts";
import { startSlurm } from "./slurm-cluster.ts";
import type { SlurmCluster } from "./slurm-cluster.ts";

const repo = join(dirname(fileURLToPath(import.meta.url)), "..");
const root = await mkdtemp(join(tmpdir(), "gra-cluster-"));
await chmod(root, 0o755); // munged's socket lies below: every directory above it must be searchable by all
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

const smoke = planRuns([getPreset("smoke")], "quick").all;
/** The smoke preset's two shards: one holds the 40k-step run alone, the other the three short runs. */
const longShard = [0, 1].find((k) => shardRuns(smoke, { index: k, count: 2 }).some((r) => r.steps === 40_000))!;
const longRun = shardRuns(smoke, { index: longShard, count: 2 });

/** The fenced block that follows the HTML comment containing `marker` in docs/cluster.md. */
async function docBlock(marker: string): Promise<string> {
  const doc = await readFile(join(repo, "docs", "cluster.md"), "utf8");
  const at = doc.indexOf(marker);
  assert.ok(at >= 0, `docs/cluster.md: no "${marker}" comment before the recipe`);
  const m = /```[a-z]*\n([\s\S]*?)```/.exec(doc.slice(at));
  assert.ok(m, `docs/cluster.md: no fenced block after "${marker}"`);
  return m[1];
}

/** Replaces each `from` (which must occur exactly once: the docs changed otherwise) by `to`. */
function substitute(text: string, subs: [string, string][]): string {
  for (const [from, to] of subs) {
    assert.equal(text.split(from).length - 1, 1, `docs/cluster.md recipe: expected "${from}" exactly once; update test/cluster.test.ts with the docs`);
    text = text.replace(from, to);
  }
  return text;
}

/** bin/gra.js runs dist/: rebuild it when src/ is newer (CI builds it in npm ci). */
function ensureDist(): void {
  const newest = (dir: string): number => Math.max(0, ...readdirSync(dir, { withFileTypes: true }).map((e) => (e.isDirectory() ? newest(join(dir, e.name)) : e.name.endsWith(".ts") ? statSync(join(dir, e.name)).mtimeMs : 0)));
  const main = join(repo, "dist", "cli", "main.js");
  if (existsSync(main) && statSync(main).mtimeMs >= newest(join(repo, "src"))) return;
  const r = spawnSync("npx", ["tsc", "-p", "tsconfig.build.json"], { cwd: repo, encoding: "utf8" });
  assert.equal(r.status, 0, `dist/ is older than src/ and npm run build:ts failed: ${r.stdout}${r.stderr}`);
}

/** A child process with its stderr collected; `waitFor` resolves when stderr matches. */
function start(cmd: string, args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv }) {
  const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ["ignore", "pipe", "pipe"] });
  let err = "";
  let out = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (err += d));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return {
    child, exited,
    get stderr() { return err; },
    get stdout() { return out; },
    async waitFor(re: RegExp, timeoutMs: number): Promise<void> {
      const t0 = Date.now();
      while (!re.test(err)) {
        if (child.exitCode !== null) throw new Error(`exited (${child.exitCode}) before ${re}: ${err.slice(-500)}`);
        if (Date.now() - t0 > timeoutMs) throw new Error(`no ${re} after ${timeoutMs / 1000} s: ${err.slice(-500)}`);
        await sleep(100);
      }
    },
  };
}

/** The step of a run directory's checkpoint. */
async function checkpointStep(dir: string): Promise<number> {
  const { metadata } = await loadTensors(join(dir, "checkpoint.safetensors"));
  return JSON.parse(metadata!.state).step;
}

/** Lines of metrics.jsonl without the timing field (what an interrupted and resumed run must reproduce exactly). */
async function metricsWithoutTime(dir: string): Promise<unknown[]> {
  return (await readFile(join(dir, "metrics.jsonl"), "utf8")).trim().split("\n").map((l) => {
    const { elapsed_s: _e, ...rest } = JSON.parse(l);
    return rest;
  });
}

async function cli(args: string[]) {
  let out = "";
  let err = "";
  const code = await runCli(args, commands, { stdout: (t) => void (out += t), stderr: (t) => void (err += t) });
  return { code, out, err };
}

test("--shard: one-line errors that say what to fix; a shard count other than plan.json's is refused; smoke is not in all", async () => {
  const out = join(root, "usage");
  const cases: [string, RegExp][] = [
    ["1/1", /^gra reproduce: --shard 1\/1: shard index 1 is not below the shard count 1; n must be the total number of shards, fixed in the script .*not \$SLURM_ARRAY_TASK_COUNT, which is 1 when one array task is resubmitted/],
    ["/64", /the shard index before the "\/" is empty: is the batch system's index variable \(\$SLURM_ARRAY_TASK_ID, \$JOB_COMPLETION_INDEX\) set\?/],
    ["3/", /the shard count after the "\/" is empty: write the total number of shards into the script/],
    ["0/0", /the shard count must be at least 1/],
    ["three", /expected i\/n, shard i of n \(0 <= i < n\), e\.g\. --shard 3\/64/],
  ];
  for (const [arg, re] of cases) {
    const r = await cli(["reproduce", "smoke", "--shard", arg, "--out", out]);
    assert.equal(r.code, 2, `${arg}: ${r.err}`);
    assert.match(r.err, re);
    assert.equal(r.err.trim().split("\n").length, 1, `${arg}: one line`);
  }
  // plan.json records the split; another count for the same runs would train some runs twice at once
  await mkdir(out, { recursive: true });
  await writePlan(out, [getPreset("smoke")], "quick", smoke, 2);
  const other = await cli(["reproduce", "smoke", "--shard", "0/1", "--out", out]);
  assert.equal(other.code, 2, other.err);
  assert.match(other.err, /--shard 0\/1: .*plan\.json splits these runs into 2 shards.*use --shard i\/2, or delete plan\.json when no task of the 2-shard split is running/);
  assert.ok(!existsSync(join(out, "runs")), "nothing trained");
  const list = await cli(["reproduce", "smoke", "--list", "--shard", `${longShard}/2`, "--out", out]);
  assert.equal(list.code, 0, list.err);
  assert.match(list.out, new RegExp(`^4 runs \\(smoke, scale quick\\); shard ${longShard}/2 has 1\n`));
  assert.match(list.out, /smoke-40k-[0-9a-f]{10}  40000 steps  \d+ params  absent  \(this shard\)/);
  assert.ok(!planRuns(presets, "quick").all.some((r) => r.id.startsWith("smoke-")), "smoke is not part of all");
});

test("SIGTERM at any moment of a shard (starting, training, a run finishing, twice at once) leaves a directory the same command completes, with the uninterrupted numbers", { timeout: 240_000 }, async (t) => {
  ensureDist();
  const short = 1 - longShard; // the shard of the three short runs
  const ids = shardRuns(smoke, { index: short, count: 2 }).map((r) => r.id);
  const args = (out: string) => ["bin/gra.js", "reproduce", "smoke", "--out", out, "--shard", `${short}/2`, "--workers", "1", "--threads", "1"];
  const ref = join(root, "finish-ref");
  const reference = start("node", args(ref), { cwd: repo });
  assert.equal(await reference.exited, 0, reference.stderr);

  const out = join(root, "finish");
  // the shard's runs: 1k, 2k, 4k steps; each trial sends SIGTERM at one moment, the next trial continues from there
  const trials: { what: string; when: (p: ReturnType<typeof start>) => Promise<void>; twice?: boolean; mayFinish?: boolean }[] = [
    { what: "while node starts (before gra's handlers)", when: () => sleep(30) },
    { what: "as the first run is done", when: (p) => p.waitFor(/smoke-1k-\S+: done in/, 60_000) },
    { what: "twice at once as the last run writes its first checkpoint (the second quits at once)", when: async (p) => {
      await p.waitFor(/(training|resuming) smoke-4k/, 60_000);
      while (!existsSync(join(runDir(out, ids[2]), "checkpoint.safetensors"))) await sleep(2);
    }, twice: true },
    // the shard ends right after this line: the signal comes while gra finishes, or after it exited with 0
    { what: "as the last run is done", when: (p) => p.waitFor(/smoke-4k-\S+: done in/, 60_000), mayFinish: true },
  ];
  for (const trial of trials) {
    const p = start("node", args(out), { cwd: repo });
    await trial.when(p);
    p.child.kill("SIGTERM");
    if (trial.twice) p.child.kill("SIGTERM");
    const code = await p.exited;
    const states = await Promise.all(smoke.filter((r) => ids.includes(r.id)).map((r) => runState(out, r)));
    t.diagnostic(`SIGTERM ${trial.what}: exit ${code ?? p.child.signalCode}, runs ${states.join(", ")}`);
    if (!trial.mayFinish) assert.notEqual(code, 0, `${trial.what}: an interrupted invocation does not report success (${p.stderr.slice(-300)})`);
    assert.ok(!states.includes("trained"), `${trial.what}: no run is left without its summary`);
  }
  const last = start("node", args(out), { cwd: repo });
  assert.equal(await last.exited, 0, last.stderr);
  assert.match(last.stderr, /shard \d\/2 done \(3 runs/);
  for (const id of ids) assert.deepEqual(await metricsWithoutTime(runDir(out, id)), await metricsWithoutTime(runDir(ref, id)), `${id}: metrics differ from the uninterrupted run's`);
});

test("Kubernetes recipe: the Job's command line, run as the container's main process, checkpoints on SIGTERM and resumes", { timeout: 180_000 }, async () => {
  ensureDist();
  const yaml = await docBlock("test/cluster.test.ts runs this command line");
  const m = /command:\s*(\[[\s\S]*?\])/.exec(yaml);
  assert.ok(m, "docs/cluster.md: the Job has no command: [...] list");
  const command: string[] = JSON.parse(m[1]);
  assert.deepEqual(command.slice(0, 2), ["node", "bin/gra.js"], "the Job must start gra itself (no shell, no npx): it is the process the kubelet signals");
  assert.match(yaml, /completions: 64\b/);
  const out = join(root, "k8s");
  // the kubelet's $(VAR) expansion, then the smoke preset in 2 shards instead of the paper in 64
  const env: NodeJS.ProcessEnv = { ...process.env, JOB_COMPLETION_INDEX: String(longShard) };
  const expanded = command.map((a) => a.replace(/\$\((\w+)\)/g, (_, v: string) => env[v] ?? `$(${v})`));
  const args = substitute(expanded.join("\u0000"), [
    ["\u0000all\u0000--scale\u0000paper\u0000", "\u0000smoke\u0000--scale\u0000quick\u0000"],
    ["/shared/gra-paper", out],
    [`\u0000${longShard}/64\u0000`, `\u0000${longShard}/2\u0000`],
  ]).split("\u0000");
  const dir = runDir(out, longRun[0].id);

  const first = start(args[0], args.slice(1), { cwd: repo, env });
  await first.waitFor(/training smoke-40k/, 60_000);
  while (!existsSync(join(dir, "checkpoint.safetensors"))) await sleep(50); // the first log point
  first.child.kill("SIGTERM");
  const code = await first.exited;
  assert.match(first.stderr, /interrupted, writing checkpoints/);
  assert.notEqual(code, 0, "an interrupted shard must not report success");
  assert.equal(await runState(out, longRun[0]), "resumable");
  const step = await checkpointStep(dir);
  assert.ok(step > 0 && step < 40_000, `checkpoint at step ${step}`);

  // the pod's retry: the same command line resumes from that checkpoint (stopped again: the Slurm test finishes runs)
  const second = start(args[0], args.slice(1), { cwd: repo, env });
  await second.waitFor(/resuming smoke-40k/, 60_000);
  const t0 = Date.now();
  while ((await checkpointStep(dir)) === step && Date.now() - t0 < 60_000) await sleep(100);
  second.child.kill("SIGTERM");
  await second.exited;
  assert.match(second.stderr, /interrupted, writing checkpoints/);
  assert.ok((await checkpointStep(dir)) > step, "the resumed run trained on from its checkpoint");
  assert.equal(await runState(out, longRun[0]), "resumable");
});

const required = process.env.GRA_SLURM_TEST === "required";
let cluster: SlurmCluster | undefined;
let whyNot = "";
if (process.env.GRA_SLURM_TEST === "off") whyNot = "turned off (GRA_SLURM_TEST=off)";
else {
  try {
    cluster = await startSlurm(join(root, "slurm"));
  } catch (e) {
    whyNot = `Slurm could not start here: ${(e as Error).message}`;
  }
}
after(async () => {
  await cluster?.stop(); // first: its daemons write below root
  await rm(root, { recursive: true, force: true });
});

test(
  "Slurm recipe: the docs' array script on a one-node Slurm; a task stopped by the early SIGTERM, resubmitted alone, collects to the unsharded numbers",
  { timeout: 420_000, skip: cluster || required ? false : `no Slurm test: ${whyNot}` },
  async (t) => {
    assert.ok(cluster, `GRA_SLURM_TEST=required, but ${whyNot}`);
    ensureDist();
    const c = cluster;
    const out = join(root, "shared");
    const ref = join(root, "unsharded");
    const script = substitute(await docBlock("test/cluster.test.ts submits this script"), [
      ['cd "$HOME/gated-rnn-attention"', `cd ${JSON.stringify(repo)}`],
      ["reproduce all --scale paper", "reproduce smoke --scale quick"],
      ["/shared/gra-paper", out],
      ["SHARDS=64", "SHARDS=2"],
      ["--workers 1 --threads 2", "--workers 1 --threads 1"], // two single-CPU tasks at once on a 2-core machine
    ]);
    for (const line of ["#SBATCH --signal=B:TERM@120", "#SBATCH --requeue", "\nexec node bin/gra.js reproduce "]) assert.ok(script.includes(line), `the documented script lost ${JSON.stringify(line)}`);
    await writeFile(join(root, "smoke.sbatch"), script);
    const log = (job: string, task: number) => join(root, `smoke-${job}_${task}.log`);
    // command-line options override the script's #SBATCH lines: 2 tasks of 1 CPU, a small memory request, 10 min
    const sbatch = (array: string) => c.cmd("sbatch", ["--parsable", `--array=${array}`, "--cpus-per-task=1", "--mem=512M", "--time=10", `--output=${join(root, "smoke-%A_%a.log")}`, "smoke.sbatch"], root);
    const finished = async (id: string) => !(await c.cmd("squeue", ["-h", "-j", id, "-o", "%i"]).catch(() => "")).trim();
    const waitDone = async (id: string, timeoutMs: number) => {
      const t0 = Date.now();
      while (!(await finished(id))) {
        assert.ok(Date.now() - t0 < timeoutMs, `job ${id} still in the queue after ${timeoutMs / 1000} s`);
        await sleep(500);
      }
    };
    const runtime = (j: Record<string, string>) => j.RunTime.split(":").reduce((s, v) => s * 60 + Number(v), 0);

    const t0 = Date.now();
    const job = (await sbatch("0-1")).trim().split(";")[0];
    const other = 1 - longShard;
    // the unsharded reference, meanwhile, on this machine
    const reference = start("node", ["bin/gra.js", "reproduce", "smoke", "--out", ref, "--workers", "2", "--threads", "1"], { cwd: repo });

    // once the long task has written its first checkpoint, give it a 1-minute limit: --signal=B:TERM@120 is then due,
    // and slurmctld (which checks limits every 30 s) sends the batch shell, i.e. gra, SIGTERM within half a minute
    const dir = runDir(out, longRun[0].id);
    for (let i = 0; !existsSync(join(dir, "checkpoint.safetensors")); i++) {
      assert.ok(i < 1200, `no checkpoint of ${longRun[0].id} after 2 min: ${await readFile(log(job, longShard), "utf8").catch(() => "(no log)")}`);
      await sleep(100);
    }
    await c.cmd("scontrol", ["update", `JobId=${job}_${longShard}`, "TimeLimit=1"]);
    await waitDone(`${job}_${longShard}`, 150_000);
    const stopped = await c.job(`${job}_${longShard}`);
    const logText = await readFile(log(job, longShard), "utf8");
    t.diagnostic(`interrupted task ${job}_${longShard}: ${stopped.JobState}, exit ${stopped.ExitCode}, ran ${stopped.RunTime} of ${stopped.TimeLimit}`);
    assert.ok(!/smoke-40k\S*: done in/.test(logText), `the 40k-step run finished before Slurm's early SIGTERM (${stopped.RunTime}): this machine is too fast for the smoke preset`);
    assert.match(logText, /gra reproduce: interrupted, writing checkpoints/, "the task's log shows the checkpoint message");
    assert.notEqual(stopped.JobState, "TIMEOUT", "gra stopped on the early signal, before the time limit");
    assert.ok(runtime(stopped) < 60, `the task ended before its 1-minute limit (ran ${stopped.RunTime})`);
    assert.equal(await runState(out, longRun[0]), "resumable");
    const stepAtStop = await checkpointStep(dir);

    // resubmit that task alone: SLURM_ARRAY_TASK_COUNT is 1 now, the script's SHARDS keeps the shard count at 2
    const again = (await sbatch(String(longShard))).trim().split(";")[0];
    await waitDone(`${again}_${longShard}`, 240_000);
    await waitDone(`${job}_${other}`, 60_000);
    const resumed = await c.job(`${again}_${longShard}`);
    const otherTask = await c.job(`${job}_${other}`);
    const againLog = await readFile(log(again, longShard), "utf8");
    t.diagnostic(`resubmitted ${again}_${longShard}: ${resumed.JobState} in ${resumed.RunTime} (resumed from step ${stepAtStop}); task ${other}: ${otherTask.JobState} in ${otherTask.RunTime}`);
    assert.equal(otherTask.JobState, "COMPLETED", await readFile(log(job, other), "utf8"));
    assert.equal(resumed.JobState, "COMPLETED", againLog);
    assert.match(againLog, new RegExp(`resuming ${longRun[0].id}`));

    const collect = start("node", ["bin/gra.js", "reproduce", "smoke", "--out", out, "--collect", "--json"], { cwd: repo });
    assert.equal(await collect.exited, 0, collect.stderr);
    const elapsed = (Date.now() - t0) / 1000;
    assert.equal(await reference.exited, 0, reference.stderr);
    t.diagnostic(`submission to collection: ${elapsed.toFixed(0)} s (2-task array, one task stopped and resubmitted; the unsharded reference ran alongside)`);

    const collected = JSON.parse(collect.stdout);
    const unsharded = JSON.parse(await readFile(join(ref, "smoke", "results.json"), "utf8"));
    assert.equal(collected.runs_finished, 4);
    assert.deepEqual(collected.val_loss, unsharded.numbers.val_loss);
    for (const r of smoke) assert.deepEqual(await metricsWithoutTime(runDir(out, r.id)), await metricsWithoutTime(runDir(ref, r.id)), `${r.id}: metrics differ from the unsharded run's`);
  },
);
