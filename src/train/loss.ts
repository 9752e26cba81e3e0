/**
 * The loss, in one place: CONVENTIONS.md's L = 1/2 · mean over (sequence b, scored step s, output j) of
 * (y[b,s,j] - target[b,s,j])², with the model's y [B, T, d_out] (every position) and the batch's targets [B, S, d_out]
 * at its S scored steps. The trainer computes it shard by shard (shardLoss: a squared-error sum and dL/dy over the
 * whole batch's count n, summed in shard order, then lossFromSse); evaluation and the analysis use the whole-batch
 * form (mseLoss).
 */
import type { Batch } from "../tasks/types.ts";
import type { Float } from "../tensor.ts";

/** L = ½ sse / n from a batch's squared-error sum over its n = B·S·d_out scored outputs. */
export function lossFromSse(sse: number, n: number): number {
  return (0.5 * sse) / n;
}

/**
 * Squared-error sum of one shard, Σ_{b,s,j} (y[b,scored s,j] - target[b,s,j])² over y [Bs, T, dOut] and target
 * [Bs, S, dOut], writing dL/dy = (y - target)/n into dy [Bs, T, dOut] (zero at unscored steps), n = the whole batch's
 * B·S·dOut, so lossFromSse(Σ_shards sse, n) is the loss of the whole batch (what mseLoss computes).
 */
export function shardLoss(y: Float, target: Float, scored: ArrayLike<number>, Bs: number, T: number, dOut: number, n: number, dy: Float): number {
  const S = scored.length;
  dy.fill(0);
  let sum = 0;
  for (let b = 0; b < Bs; b++) {
    for (let si = 0; si < S; si++) {
      const yo = (b * T + scored[si]) * dOut;
      const to = (b * S + si) * dOut;
      for (let j = 0; j < dOut; j++) {
        const e = y[yo + j] - target[to + j];
        sum += e * e;
        dy[yo + j] = e / n;
      }
    }
  }
  return sum;
}

/**
 * The loss of a whole batch: L = ½ · mean over (b, scored s, j) of (y[b,s,j] - target[b,s,j])², with the model's
 * y [B, T, d_out] (all positions); writes dL/dy into `dy` [B, T, d_out] (zero at unscored positions) when given.
 */
export function mseLoss(y: Float, batch: Batch, dOut: number, dy?: Float): number {
  const [B, T] = batch.x.shape;
  const n = B * batch.scored.length * dOut;
  return lossFromSse(shardLoss(y, batch.target, batch.scored, B, T, dOut, n, dy ?? new Float64Array(B * T * dOut)), n);
}
