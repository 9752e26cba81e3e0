/**
 * gated-rnn-attention: the library entry point (platform-neutral: no Node-only imports, so a bundler can ship it to
 * a browser). Node-only helpers (files, run directories, loading the wasm from disk) are in "gated-rnn-attention/node".
 */
export * from "./tensor.ts";
export { Rng } from "./rng.ts";
export type { RngState } from "./rng.ts";
export * from "./config.ts";
export * from "./linalg.ts";

export type { Kernels } from "./kernels/types.ts";
export { referenceKernels, ref32, ref64, referenceFor, sigmoid } from "./kernels/reference.ts";
export { createFastKernels, createFastKernelsSync } from "./kernels/fast.ts";
export type { FastKernels, FastKernelsOptions } from "./kernels/fast.ts";

export type { ModelFamily, Params, State, Cache, Gradients } from "./models/types.ts";
export { getFamily, familyNames } from "./models/registry.ts";
export { attention, attentionConfig } from "./models/attention.ts";
export type { AttentionConfig } from "./models/attention.ts";
export { gatedRnn, gatedRnnDense } from "./models/gated-rnn.ts";
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
