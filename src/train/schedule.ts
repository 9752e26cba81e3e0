/** Learning-rate schedules as pure functions step -> lr (optax style), composable. */

/** A learning-rate schedule: the rate used at optimizer step `step` (0-based). */
export type Schedule = (step: number) => number;

/** constant(lr): lr at every step. */
export function constant(lr: number): Schedule {
  return () => lr;
}

/**
 * Cosine annealing (App. B.1): lr(s) = final + (init - final)/2 · (1 + cos(π · min(s, steps)/steps)), so lr(0) = init
 * and lr(steps) = final (1e-3 -> 1e-6 over the run in the paper).
 */
export function cosine(init: number, final: number, steps: number): Schedule {
  return (s) => {
    if (steps <= 0) return final;
    const f = Math.min(Math.max(s, 0), steps) / steps;
    return final + 0.5 * (init - final) * (1 + Math.cos(Math.PI * f));
  };
}

/** Linear warm-up for `warm` steps into `after`: lr(s) = after(0)·(s+1)/warm for s < warm, then after(s - warm). */
export function warmup(warm: number, after: Schedule): Schedule {
  return (s) => (s < warm ? (after(0) * (s + 1)) / warm : after(s - warm));
}
