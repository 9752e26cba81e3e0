/**
 * The WebGPU run group (issue 13, in progress on its own branch): `createWebGpuGroup(cfgs, {snapshots})` resolves to
 * a GroupTrainer training the gated RNN of eq. 2 for every run of the group on one GPU. Until that backend lands,
 * asking for it is a one-line error.
 */
import type { GroupTrainer, RunSnapshot } from "./group.ts";
import type { TrainConfig } from "./loop.ts";

/** A GroupTrainer on the GPU for `cfgs` (equal groupKey, device "webgpu"); rejects while the backend is not built. */
export async function createWebGpuGroup(_cfgs: readonly TrainConfig[], _opts: { snapshots?: readonly (RunSnapshot | undefined)[] } = {}): Promise<GroupTrainer> {
  throw new Error("--device webgpu: the WebGPU backend is not part of this build yet; use --device cpu");
}
