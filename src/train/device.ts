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
 * Why a config cannot train on WebGPU ("" when it can): the WebGPU backend (src/train/webgpu-group.ts) trains the
 * diagonal gated RNN of eq. 2 alone, in f32, without gradient clipping, on teacher-student or icl-regression; the
 * dense variant, LSTM, GRU, the LRUs, attention and stacks are a later issue (reproduce keeps those runs on the CPU).
 */
export function webgpuRefusal(cfg: Pick<TrainConfig, "model" | "layers" | "dtype"> & Partial<Pick<TrainConfig, "clip_norm" | "task">>): string {
  if (cfg.layers > 0) return `--device webgpu trains a single gated RNN layer; stacks (--layers) run on --device cpu`;
  if (cfg.model === "gated-rnn-dense") return `--device webgpu: gated-rnn-dense (dense A) is not built on the GPU yet; it runs on --device cpu`;
  if (cfg.model !== "gated-rnn") return `--device webgpu trains gated-rnn; "${cfg.model}" runs on --device cpu`;
  if (cfg.dtype !== "f32") return `--device webgpu computes in f32; use --dtype f32`;
  if ((cfg.clip_norm ?? 0) > 0) return `--device webgpu: gradient-norm clipping (clip_norm > 0) is not built on the GPU yet; use --device cpu or clip_norm 0`;
  if (cfg.task !== undefined && cfg.task !== "teacher-student" && cfg.task !== "icl-regression") return `--device webgpu: task "${cfg.task}" has no GPU data generator; use --device cpu`;
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
