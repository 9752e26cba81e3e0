/**
 * The trained parametrisation: the optimizer sees `nu` where the model stores `lambda`, lambda = exp(-exp(nu))
 * (CONVENTIONS.md, App. B.1), which keeps every diagonal recurrence in [0, 1]. Every other tensor is trained as is.
 */
import type { Float } from "../tensor.ts";

/** True for a tensor trained through nu: the gated RNN's `lambda` (also inside stacks, e.g. `layers.0.lambda`). */
export function isLambdaName(name: string): boolean {
  return name === "lambda" || name.endsWith(".lambda");
}

/** The trained name of a model tensor: `...lambda` -> `...nu`, others unchanged. */
export function trainedName(name: string): string {
  return isLambdaName(name) ? name.slice(0, -"lambda".length) + "nu" : name;
}

/** nu = log(-log lambda), lambda clamped into [1e-30, 1 - 1e-16] so that lambda = 0 or 1 stay finite. */
export function nuFromLambda(out: Float, lambda: ArrayLike<number>): void {
  for (let i = 0; i < lambda.length; i++) {
    const l = Math.min(Math.max(lambda[i], 1e-30), 1 - 1e-16);
    out[i] = Math.log(-Math.log(l));
  }
}

/** lambda = exp(-exp(nu)). */
export function lambdaFromNu(out: Float, nu: ArrayLike<number>): void {
  for (let i = 0; i < nu.length; i++) out[i] = Math.exp(-Math.exp(nu[i]));
}

/** Chain rule dL/dnu = dL/dlambda · dlambda/dnu = -dL/dlambda · exp(nu) · lambda, in place on `g`. */
export function nuGradient(g: Float, nu: ArrayLike<number>, lambda: ArrayLike<number>): void {
  for (let i = 0; i < g.length; i++) g[i] = -g[i] * Math.exp(nu[i]) * lambda[i];
}
