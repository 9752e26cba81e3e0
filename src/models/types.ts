/**
 * What every model family exports. A family is one file under src/models/ with pure functions over a plain
 * parameter object `{ family, config, tensors }`; the registry (src/models/registry.ts) looks families up by name.
 * Sequences are batches `x: [B, T, d_in]` -> `y: [B, T, d_out]`; the one-step form maps `(state, x_t [B, d_in])` to
 * `(state', y_t [B, d_out])` and equals the sequence form step by step.
 */
import type { Field, Schema } from "../config.ts";
import type { Kernels } from "../kernels/types.ts";
import type { Rng } from "../rng.ts";
import type { DType, Float, Tensor } from "../tensor.ts";

/**
 * A model's parameters: the family name, its full typed config, and named tensors (names per CONVENTIONS.md).
 * A run group (issue 12): with `runs` = R > 1 the object holds R independent models of one config in lockstep; each
 * tensor keeps its per-run `shape` and holds R · numel(shape) floats, run r's at [r · numel, (r+1) · numel). Families
 * that accept R > 1 (see `ModelFamily.runs`) then take x [R·B, T, d_in] (run r's sequences are rows [r·B, (r+1)·B)),
 * return y [R·B, T, d_out] and gradients of the same layout as the tensors, each run's bit for bit what it gets alone.
 */
export interface Params<C = unknown> {
  family: string;
  config: C;
  tensors: Record<string, Tensor>;
  /** Runs R held (default 1). */
  runs?: number;
}

/** A recurrent state: named buffers of shape [B, ...] (zeros = the empty state). */
export type State = Record<string, Float>;

export interface ModelFamily<C = any> {
  /** Registry name, e.g. "gated-rnn". */
  readonly name: string;
  /** One line for `--help` and docs. */
  readonly summary: string;
  /** The config schema: every field typed, documented and defaulted where sensible. */
  readonly schema: Schema<C>;
  /** Input and output width of a config. */
  dims(config: C): { dIn: number; dOut: number };
  /**
   * The config keys of the input and output widths, which a task or a stack sets (["d_in", "d_out"]; attention:
   * ["d", "d_out"]); see configFromWidths / withoutWidths in common.ts.
   */
  readonly widthKeys: readonly [string, string];
  /** Tensor names and shapes a config implies (what safetensors loading validates against). */
  shapes(config: C): Record<string, number[]>;
  /** Fresh parameters drawn from `rng` (the family's paper initialisation). */
  init(rng: Rng, config: C, dtype?: DType): Params<C>;
  /** Sequence form: y [B, T, d_out] from x [B, T, d_in]; computes with `k` (default: reference of params' dtype). */
  forward(params: Params<C>, x: Tensor, k?: Kernels): Tensor;
  /** The empty state for a batch of B sequences. */
  initState(params: Params<C>, batch: number): State;
  /** One-step form: consumes x_t [B, d_in], returns the next state and y_t [B, d_out]. Does not mutate `state`. */
  step(params: Params<C>, state: State, x: Tensor, k?: Kernels): { state: State; y: Tensor };
  /**
   * Training forward: y [B*T*d_out] in k's buffers plus the activations the backward pass needs. Buffers live until
   * the caller's `k.release(mark)`. Present on every family that can be trained.
   */
  forwardCached?(params: Params<C>, x: Tensor, k: Kernels): { y: Float; cache: Cache };
  /**
   * Backward pass: given dL/dy [B*T*d_out] (same layout as y), the gradients dL/d(tensor) for every tensor of
   * `params` (same names and shapes, k's buffers) and dL/dx [B*T*d_in].
   */
  backward?(params: Params<C>, cache: Cache, dy: Float, k: Kernels): Gradients;
  /**
   * Floats per (sequence, time) row that forwardCached keeps for the backward pass, for families that compute over
   * all B·T rows at once: the trainer then cuts the batch into shards small enough for these to stay in cache
   * (src/train/shards.ts, shardCount). Absent: 2 shards (families that loop over time already work in small pieces).
   */
  cachedFloatsPerRow?(config: C): number;
  /**
   * True when forward, forwardCached, backward, initState and step accept Params with runs > 1 (run groups; the
   * state then holds R·B rows). Absent: one run only (runsOf throws for R > 1).
   */
  readonly runs?: boolean;
  /**
   * How the family is trained where that differs from its stored tensors (absent: every tensor trained as stored,
   * all with weight decay): its reparametrisations, their chain rule, and the tensors without weight decay.
   */
  trained?(config: C): TrainedForm;
}

/**
 * A model tensor trained through another parametrisation, e.g. the gated RNN's lambda = exp(-exp(nu)) with nu
 * trained (CONVENTIONS.md): the trained tensor's name and the maps between the two forms.
 */
export interface Reparam {
  /** Name of the trained tensor (e.g. "nu" for the model's "lambda"). */
  readonly name: string;
  /** out = the trained form of the model tensor `model` (initialisation). */
  toTrained(out: Float, model: ArrayLike<number>): void;
  /** out = the model tensor from its trained form `trained` (after every update). */
  fromTrained(out: Float, trained: ArrayLike<number>): void;
  /** The chain rule in place: g = dL/d(model tensor) becomes dL/d(trained tensor), given both forms' values. */
  chainRule(g: Float, trained: ArrayLike<number>, model: ArrayLike<number>): void;
}

/** What a family's `trained` states (src/models/common.ts, trainedFormOf, fills the default). */
export interface TrainedForm {
  /** Reparametrised model tensors by model tensor name (e.g. {lambda: nu}); the others are trained as stored. */
  reparams: Record<string, Reparam>;
  /** Trained tensor names that get no weight decay (App. B.1: the recurrent ones, e.g. nu, A, nu_log). */
  noDecay: string[];
}

/** Whatever a family's forwardCached keeps for its backward pass (opaque to callers). */
export type Cache = { readonly B: number; readonly T: number } & Record<string, unknown>;

/** Gradients of a scalar loss: per tensor name (same shapes as the params) and w.r.t. the input. */
export interface Gradients {
  grads: Record<string, Float>;
  dx: Float;
}

export type { Field };
