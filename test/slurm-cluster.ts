/**
 * A private one-node Slurm for tests: munged, slurmctld and slurmd of Debian's `munge` and `slurm-wlm` packages,
 * started as children of the test process (foreground mode) with every file under one directory: a random munge key
 * and socket, slurm.conf, state, spool, pid and log files. Ports are free ones picked at start; slurmd listens on
 * 127.0.0.1 only (NodeAddr + NoInAddrAny); slurmctld listens on all addresses (Slurm has no option to bind it) but
 * accepts only credentials of this run's munge key. Needs root: SlurmUser=root, ProctrackType=proctrack/linuxproc
 * and TaskPlugin=task/none (no cgroups, which a container rarely delegates). The node is the machine itself: its
 * real hostname, CPU count and memory as `slurmd -C` reports them.
 *
 * `startSlurm` resolves to a cluster or rejects with one line saying why Slurm could not start (missing binaries,
 * not root, a daemon that died: its log's last lines); `stop()` cancels the jobs, stops the daemons and removes
 * the directory. The daemons are also killed when the test process exits.
 */
import { execFile, spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { closeSync, openSync } from "node:fs";
import { chmod, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** The binaries the cluster needs (Debian: slurmctld, slurmd, slurm-client from slurm-wlm; munge). */
export const SLURM_BINARIES = ["munged", "munge", "slurmctld", "slurmd", "sbatch", "scontrol", "squeue", "scancel", "sinfo"];

/** The binaries of SLURM_BINARIES not on PATH (+ /usr/sbin). */
export async function missingSlurmBinaries(): Promise<string[]> {
  const missing: string[] = [];
  for (const b of SLURM_BINARIES) {
    try {
      await run("sh", ["-c", `command -v ${b}`], { env: { PATH: slurmPath() } });
    } catch {
      missing.push(b);
    }
  }
  return missing;
}

function slurmPath(): string {
  return `${process.env.PATH ?? "/usr/bin:/bin"}:/usr/sbin:/sbin`;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The last lines of a daemon's log file and of its stderr (PATH and PATH.stderr). */
async function tail(path: string, lines = 6): Promise<string> {
  const parts: string[] = [];
  for (const p of [path, `${path}.stderr`]) {
    try {
      const text = (await readFile(p, "utf8")).trim();
      if (text) parts.push(text.split("\n").slice(-lines).join(" | "));
    } catch {
      // not written
    }
  }
  return parts.join(" | ") || "(no log)";
}

/** A running one-node cluster. */
export interface SlurmCluster {
  dir: string;
  /** The node's name (its hostname, as slurmd reports it). */
  node: string;
  cpus: number;
  /** Environment for the client commands (SLURM_CONF) and the jobs they submit. */
  env: NodeJS.ProcessEnv;
  /** Runs a client command (sbatch, scontrol, ...); resolves to its stdout, rejects with its stderr. */
  cmd(name: string, args: string[], cwd?: string): Promise<string>;
  /** `scontrol show job ID` as key=value pairs (JobState, RunTime, ExitCode, ...). */
  job(id: string): Promise<Record<string, string>>;
  stop(): Promise<void>;
}

/** Starts the cluster in `dir` (created; everything of the cluster lives there). */
export async function startSlurm(dir: string): Promise<SlurmCluster> {
  if (process.platform !== "linux") throw new Error(`Slurm runs on Linux only (this is ${process.platform})`);
  if (process.getuid?.() !== 0) throw new Error("starting slurmctld/slurmd with SlurmUser=root needs root (run the tests as root, as CI does)");
  const missing = await missingSlurmBinaries();
  if (missing.length) throw new Error(`not installed: ${missing.join(", ")} (Debian: apt-get install slurm-wlm munge; .ci/run does it)`);

  await mkdir(dir, { recursive: true });
  await chmod(dir, 0o755); // munged wants every directory above its socket searchable by all (the caller's too)
  for (const d of ["munge", "key", "state", "spool"]) await mkdir(join(dir, d), { recursive: true });
  await chmod(join(dir, "munge"), 0o755);
  await chmod(join(dir, "key"), 0o700);
  const key = join(dir, "key", "munge.key");
  await writeFile(key, randomBytes(1024), { mode: 0o600 });
  const socket = join(dir, "munge", "munge.socket");
  const env: NodeJS.ProcessEnv = { PATH: slurmPath(), HOME: process.env.HOME ?? "/root", LANG: "C.UTF-8", SLURM_CONF: join(dir, "slurm.conf") };

  const children: ChildProcess[] = [];
  const killAll = () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  };
  process.on("exit", killAll);
  const daemon = (cmd: string, args: string[], log: string) => {
    const fd = openSync(`${log}.stderr`, "a");
    const c = spawn(cmd, args, { env, stdio: ["ignore", fd, fd] });
    closeSync(fd);
    c.on("error", () => undefined);
    children.push(c);
    return { c, log };
  };
  const alive = (d: { c: ChildProcess }) => d.c.exitCode === null && d.c.signalCode === null;

  const stopDaemons = async () => {
    for (const c of [...children].reverse()) {
      if (c.exitCode !== null || c.signalCode !== null) continue;
      c.kill("SIGTERM");
      const t0 = Date.now();
      while (c.exitCode === null && c.signalCode === null && Date.now() - t0 < 10_000) await sleep(50);
      if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
    }
    process.off("exit", killAll);
  };

  let node = "";
  let cpus = 0;
  try {
    const munged = daemon("munged", ["-F", `--socket=${socket}`, `--key-file=${key}`, `--pid-file=${join(dir, "munge", "munged.pid")}`, `--seed-file=${join(dir, "munge", "munged.seed")}`], join(dir, "munged"));
    for (let i = 0; ; i++) {
      try {
        await run("munge", ["-S", socket, "-n"], { env });
        break;
      } catch {
        if (!alive(munged) || i > 100) throw new Error(`munged did not start: ${await tail(munged.log)}`);
        await sleep(100);
      }
    }

    // the node as slurmd sees it: "NodeName=vm CPUs=2 Boards=1 SocketsPerBoard=1 CoresPerSocket=2 ThreadsPerCore=1 RealMemory=24105"
    const hw = (await run("slurmd", ["-C"], { env })).stdout.split("\n")[0].trim();
    node = /NodeName=(\S+)/.exec(hw)?.[1] ?? "";
    cpus = Number(/CPUs=(\d+)/.exec(hw)?.[1]);
    if (!node || !cpus) throw new Error(`slurmd -C printed no node line: ${JSON.stringify(hw)}`);
    const [ctldPort, dPort] = [await freePort(), await freePort()];
    const conf = [
      "ClusterName=gra-test",
      `SlurmctldHost=${node}(127.0.0.1)`,
      `SlurmctldPort=${ctldPort}`,
      `SlurmdPort=${dPort}`,
      "SlurmUser=root",
      "SlurmdUser=root",
      "AuthType=auth/munge",
      "CredType=cred/munge",
      `AuthInfo=socket=${socket}`,
      "CommunicationParameters=NoInAddrAny",
      `StateSaveLocation=${join(dir, "state")}`,
      `SlurmdSpoolDir=${join(dir, "spool")}`,
      `SlurmctldPidFile=${join(dir, "slurmctld.pid")}`,
      `SlurmdPidFile=${join(dir, "slurmd.pid")}`,
      `SlurmctldLogFile=${join(dir, "slurmctld.log")}`,
      `SlurmdLogFile=${join(dir, "slurmd.log")}`,
      "SlurmctldDebug=info",
      "SlurmdDebug=info",
      "ProctrackType=proctrack/linuxproc",
      "TaskPlugin=task/none",
      "JobAcctGatherType=jobacct_gather/none",
      "AccountingStorageType=accounting_storage/none",
      "JobCompType=jobcomp/none",
      "MpiDefault=none",
      "SchedulerType=sched/builtin",
      "SelectType=select/cons_tres",
      "SelectTypeParameters=CR_CPU",
      "ReturnToService=2",
      "KillWait=10",
      "MinJobAge=3600", // finished jobs stay visible to `scontrol show job` for the whole test
      `${hw} NodeAddr=127.0.0.1 State=UNKNOWN`,
      `PartitionName=test Nodes=${node} Default=YES MaxTime=INFINITE State=UP`,
      "",
    ].join("\n");
    await writeFile(env.SLURM_CONF!, conf);

    const ctld = daemon("slurmctld", ["-D", "-i", "-f", env.SLURM_CONF!], join(dir, "slurmctld.log"));
    const slurmd = daemon("slurmd", ["-D", "-f", env.SLURM_CONF!], join(dir, "slurmd.log"));
    for (let i = 0; ; i++) {
      let state = "";
      try {
        state = (await run("sinfo", ["-h", "-N", "-o", "%T"], { env })).stdout.trim();
      } catch {
        // slurmctld not listening yet
      }
      if (state === "idle") break;
      if (!alive(ctld)) throw new Error(`slurmctld exited: ${await tail(ctld.log)}`);
      if (!alive(slurmd)) throw new Error(`slurmd exited: ${await tail(slurmd.log)}`);
      if (i > 150) throw new Error(`the node is "${state}" after 30 s, not idle: ${await tail(ctld.log)}`);
      await sleep(200);
    }
  } catch (e) {
    await stopDaemons();
    await rm(dir, { recursive: true, force: true });
    throw e;
  }

  const cmd = async (name: string, args: string[], cwd?: string) => {
    try {
      return (await run(name, args, { env, cwd })).stdout;
    } catch (e) {
      const err = e as { stderr?: string; message: string };
      throw new Error(`${name} ${args.join(" ")}: ${(err.stderr || err.message).trim()}`);
    }
  };
  return {
    dir, node, cpus, env, cmd,
    async job(id: string) {
      const text = await cmd("scontrol", ["show", "job", "-o", id]);
      const first = text.split("\n")[0];
      return Object.fromEntries(first.split(/\s+/).filter((kv) => kv.includes("=")).map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]));
    },
    async stop() {
      try {
        const ids = (await cmd("squeue", ["-h", "-o", "%i"])).split("\n").filter(Boolean);
        if (ids.length) await cmd("scancel", ids);
        for (let i = 0; i < 100 && (await cmd("squeue", ["-h", "-o", "%i"])).trim(); i++) await sleep(200);
      } catch {
        // the daemons are going away anyway
      }
      await stopDaemons();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
