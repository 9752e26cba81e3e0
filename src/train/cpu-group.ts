/**
 * The CPU run group. Families that accept run groups (ModelFamily.runs, e.g. the gated RNN) step all R runs with one
 * forward/backward per shard (src/train/batched-group.ts); the others, and a group of one, step R trainers of
 * src/train/loop.ts (each on its own kernels' memory and threads) in lockstep, one optimizer step of every run per
 * `advance` step. Either way each run computes exactly what it computes alone, so a run in a group gives the bits it
 * gives alone.
 */
import type { Kernels } from "../kernels/types.ts";
import type { ModelFamily } from "../models/types.ts";
import { getTask } from "../tasks/registry.ts";
import { createBatchedGroup } from "./batched-group.ts";
import type { Params } from "../models/types.ts";
import type { Advanced, GroupTrainer, RunSnapshot } from "./group.ts";
import { checkGroup, GroupDivergedError } from "./group.ts";
import type { TrainConfig, Trainer } from "./loop.ts";
import { closeTrainer, createTrainer, resolveModel, evaluate, exportParams, NonFiniteLossError, snapshotTrainer, trainStep, zeroPredictorLoss } from "./loop.ts";

/** A CPU GroupTrainer over `cfgs` (equal groupKey), each run on kernels(cfg), restored from snapshots[r] when given. */
export function createCpuGroup(cfgs: readonly TrainConfig[], kernels: (cfg: TrainConfig) => Kernels, snapshots: readonly (RunSnapshot | undefined)[] = []): GroupTrainer {
  checkGroup(cfgs);
  if (cfgs.length > 1 && familyOf(cfgs[0]).runs) {
    // one forward/backward for the whole group (src/train/batched-group.ts); its buffers in the kernels' arena or a memory of its own
    const k = kernels(cfgs[0]);
    const mark = k.mark();
    const g = createBatchedGroup(cfgs, k, snapshots);
    return withClose(g, () => k.release(mark));
  }
  const trainers: Trainer[] = [];
  // a trainer's buffers live in its kernels' arena (or in a memory of its own, with threads) until close
  const marks: { k: Kernels; mark: number }[] = [];
  const closeAll = () => {
    for (const tr of trainers) closeTrainer(tr);
    for (const { k, mark } of marks.reverse()) k.release(mark);
  };
  try {
    cfgs.forEach((cfg, r) => {
      const snap = snapshots[r];
      if (snap && !snap.rng) throw new Error(`run ${r}: its checkpoint has no data-stream state (was it trained on another device?)`);
      const k = kernels(cfg);
      marks.push({ k, mark: k.mark() });
      trainers.push(createTrainer(cfg, k, snap && { ...snap, rng: snap.rng! }));
    });
  } catch (e) {
    closeAll();
    throw e;
  }
  const steps = new Set(trainers.map((tr) => tr.opt.step));
  if (steps.size > 1) throw new Error(`run group: the runs' checkpoints are at different steps (${[...steps].join(", ")}); resume them in separate groups`);
  const e0 = trainers[0].engine;
  const R = trainers.length;
  return {
    cfgs,
    device: `cpu: ${e0.kernels}, ${e0.threads} thread${e0.threads > 1 ? "s" : ""}`,
    note: e0.note,
    get step() {
      return trainers[0].opt.step;
    },
    chunk: 1,
    async advance(n: number): Promise<Advanced> {
      const lossSum = new Float64Array(R);
      const lr = new Float64Array(R);
      for (let i = 0; i < n; i++) {
        trainers.forEach((tr, r) => {
          try {
            const s = trainStep(tr);
            lossSum[r] += s.loss;
            lr[r] = s.lr;
          } catch (e) {
            if (e instanceof NonFiniteLossError) throw new GroupDivergedError(r, e.step, e.loss);
            throw e;
          }
        });
      }
      return { lossSum, lr };
    },
    async evaluate() {
      return Float64Array.from(trainers, (tr) => evaluate(tr));
    },
    zeroPredictorLoss() {
      return Float64Array.from(trainers, (tr) => zeroPredictorLoss(tr));
    },
    artifacts(r: number): Record<string, Params> {
      const tr = trainers[r];
      return tr.task.artifacts(tr.setup, tr.cfg.task_config);
    },
    async exportParams(r: number) {
      return exportParams(trainers[r]);
    },
    async snapshot(r: number) {
      return snapshotTrainer(trainers[r]);
    },
    close: closeAll,
  };
}

/** The model family a config trains. */
function familyOf(cfg: TrainConfig): ModelFamily {
  const { dIn, dOut } = getTask(cfg.task).dims(cfg.task_config);
  return resolveModel(cfg, dIn, dOut).family;
}

/** `g` with `after` run once it closes (`step` stays g's live getter). */
function withClose(g: GroupTrainer, after: () => void): GroupTrainer {
  return Object.create(g, { close: { value: () => { g.close(); after(); } } });
}
