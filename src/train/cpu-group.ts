/**
 * The CPU run group: R trainers of src/train/loop.ts (each on its own kernels' memory and threads) stepped in
 * lockstep, one optimizer step of every run per `advance` step. Each run computes exactly what it computes alone (its
 * own trainer, seed, data stream and shards), so a run in a group gives the bits it gives alone.
 */
import type { Kernels } from "../kernels/types.ts";
import type { Params } from "../models/types.ts";
import type { Advanced, GroupTrainer, RunSnapshot } from "./group.ts";
import { checkGroup, GroupDivergedError } from "./group.ts";
import type { TrainConfig, Trainer } from "./loop.ts";
import { closeTrainer, createTrainer, evaluate, exportParams, NonFiniteLossError, snapshotTrainer, trainStep, zeroPredictorLoss } from "./loop.ts";

/** A CPU GroupTrainer over `cfgs` (equal groupKey), each run on kernels(cfg), restored from snapshots[r] when given. */
export function createCpuGroup(cfgs: readonly TrainConfig[], kernels: (cfg: TrainConfig) => Kernels, snapshots: readonly (RunSnapshot | undefined)[] = []): GroupTrainer {
  checkGroup(cfgs);
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
