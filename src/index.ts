/**
 * gated-rnn-attention: the library entry point (platform-neutral: no Node-only imports, so a bundler can ship it to
 * a browser). Node-only helpers (files, run directories, loading the wasm from disk) are in "gated-rnn-attention/node".
 */
export * from "./tensor.ts";
export { Rng } from "./rng.ts";
export type { RngState } from "./rng.ts";
export * from "./config.ts";
export * from "./linalg.ts";

export type { AdamWStep, Kernels } from "./kernels/types.ts";
export { referenceKernels, ref32, ref64, referenceFor, sigmoid } from "./kernels/reference.ts";
export { createFastKernels, createFastKernelsSync } from "./kernels/fast.ts";
export type { FastKernels, FastKernelsOptions } from "./kernels/fast.ts";
export { kernelsFor, kernelsForRun, trainingKernels } from "./kernels/factory.ts";
export type { TrainingKernels } from "./kernels/factory.ts";

export type { ModelFamily, Params, State, Cache, Gradients, Reparam, TrainedForm } from "./models/types.ts";
export { trainedFormOf, configFromWidths, withoutWidths } from "./models/common.ts";
export { getFamily, familyNames } from "./models/registry.ts";
export { attention, attentionConfig } from "./models/attention.ts";
export type { AttentionConfig } from "./models/attention.ts";
export { gatedRnn, gatedRnnDense, lambdaAsNu } from "./models/gated-rnn.ts";
export type { GatedRnnConfig } from "./models/gated-rnn.ts";
export { lru, lruInOut, lruInSkip } from "./models/lru.ts";
export type { LruConfig } from "./models/lru.ts";
export { lstm } from "./models/lstm.ts";
export type { LstmConfig } from "./models/lstm.ts";
export { gru } from "./models/gru.ts";
export type { GruConfig } from "./models/gru.ts";
export type { StackConfig } from "./models/stack.ts";

export {
  constructGatedRnn, fullConstruction, compactConstruction, paperCompactConstruction, constructionSize, upperIndex, gatedVariants,
} from "./constructions/gated-rnn.ts";
export type { AttentionWeights, GatedVariant } from "./constructions/gated-rnn.ts";
export * from "./constructions/invariances.ts";
export { constructModel, constructionTargets } from "./constructions/index.ts";

export * from "./io/safetensors.ts";

export * from "./analysis/index.ts";
export { approximateConstructions, epsSweep, bestEps, defaultEpsList } from "./constructions/approximate.ts";
export type { EpsRow, ApproximateConstruction } from "./constructions/approximate.ts";
export { etaStar, gdLoss, optimalGdLoss, gdPredict } from "./tasks/closed-forms.ts";
export { getTask, taskNames } from "./tasks/registry.ts";
export { teacherStudent } from "./tasks/teacher-student.ts";
export { iclRegression } from "./tasks/icl-regression.ts";
export type { Task, Batch } from "./tasks/types.ts";
export { mseLoss } from "./train/loss.ts";
export { parseTrainConfig, createTrainer, trainStep, evaluate, exportParams, closeTrainer } from "./train/loop.ts";
export type { TrainConfig, Trainer } from "./train/loop.ts";
export { adamwInit, adamwUpdate } from "./train/adamw.ts";
export type { AdamWConfig, AdamWState } from "./train/adamw.ts";
export { constant, cosine, warmup } from "./train/schedule.ts";
export type { Schedule } from "./train/schedule.ts";
