/**
 * The device factory: the GroupTrainer of a group's device (TrainConfig.device). "cpu" steps the runs' trainers on
 * the given kernels (src/train/cpu-group.ts); "webgpu" loads the WebGPU backend (src/train/webgpu-group.ts) only
 * when asked for, so the CPU path never loads a GPU runtime.
 */
import type { Kernels } from "../kernels/types.ts";
import { createCpuGroup } from "./cpu-group.ts";
import type { GroupTrainer, RunSnapshot } from "./group.ts";
import { checkGroup } from "./group.ts";
import type { TrainConfig } from "./loop.ts";

/** What createGroupTrainer needs besides the configs. */
export interface GroupOptions {
  /** The CPU kernels for a run's config (fast f32, or the reference backend of its dtype); unused on webgpu. */
  kernels: (cfg: TrainConfig) => Kernels;
  /** Per run: the checkpoint to continue from (undefined = a fresh run). */
  snapshots?: readonly (RunSnapshot | undefined)[];
}

/**
 * Why a config cannot train on WebGPU ("" when it can): the WebGPU backend trains the gated RNN of eq. 2 (diagonal or
 * dense) alone, in f32; LSTM, GRU, the LRUs, attention and stacks are a later issue.
 */
export function webgpuRefusal(cfg: Pick<TrainConfig, "model" | "layers" | "dtype">): string {
  if (cfg.layers > 0) return `--device webgpu trains a single gated RNN layer; stacks (--layers) run on --device cpu`;
  if (cfg.model !== "gated-rnn" && cfg.model !== "gated-rnn-dense") return `--device webgpu trains gated-rnn and gated-rnn-dense; "${cfg.model}" runs on --device cpu`;
  if (cfg.dtype !== "f32") return `--device webgpu computes in f32; use --dtype f32`;
  return "";
}

/** A GroupTrainer for `cfgs` (equal groupKey, hence one device) on the device their config names. */
export async function createGroupTrainer(cfgs: readonly TrainConfig[], opts: GroupOptions): Promise<GroupTrainer> {
  checkGroup(cfgs);
  if (cfgs[0].device === "webgpu") {
    const { createWebGpuGroup } = await import("./webgpu-group.ts");
    return createWebGpuGroup(cfgs, { snapshots: opts.snapshots });
  }
  return createCpuGroup(cfgs, opts.kernels, opts.snapshots);
}
