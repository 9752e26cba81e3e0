/**
 * Closed forms for in-context linear regression (Section 4, App. C.2): the one-step gradient-descent predictor of
 * eq. 4, its expected loss under the CONVENTIONS.md loss, and the optimal learning rate eta*.
 *
 * Setting (App. C.2, with CONVENTIONS.md's unit-variance inputs): X = [x_1 .. x_T] in R^{d_x x T} and the query
 * z = x_q have i.i.d. entries U(-√3, √3) (sigma_x² = 1, E x⁴ = 9/5), W* in R^{d_y x d_x} has i.i.d. centred
 * entries of variance sigma_W², Y = W* X. One GD step from W0 = 0 on 1/2 ||Y - W X||² with learning rate eta gives
 * W = eta Y Xᵀ and the prediction ŷ = eta Σ_t y_t x_tᵀ z = W* (eta X Xᵀ) z (eq. 4), so the error is
 * y - ŷ = W* A z with A = I - eta X Xᵀ (symmetric).
 *
 * Loss (CONVENTIONS.md: 1/2 · mean over the d_y output coordinates at the query; paper eq. 21 sums them instead):
 *   L(eta) = 1/(2 d_y) E||W* A z||² = 1/2 sigma_W² E||A z||²         (rows of W* independent, E[w wᵀ] = sigma_W² I)
 *          = 1/2 sigma_W² E Tr(A²)                                   (E[z zᵀ] = I)
 *          = 1/2 sigma_W² [d_x - 2 eta E Tr(X Xᵀ) + eta² E Tr(X Xᵀ X Xᵀ)].
 * E Tr(X Xᵀ) = T d_x, and (App. C.2 eqs. 31-35) E Tr(X Xᵀ X Xᵀ) = Σ_i E(Σ_t x_it²)² + Σ_{i≠l} E(Σ_t x_it x_lt)²
 *   = d_x (9/5 T + T(T-1)) + d_x (d_x - 1) T = T d_x (T + d_x - 1/5). Hence
 *   L(eta) = 1/2 sigma_W² [d_x - 2 eta T d_x + eta² T d_x (T + d_x - 1/5)],
 *   dL/deta = sigma_W² T d_x [eta (T + d_x - 1/5) - 1] = 0  <=>  eta* = 1/(T + d_x - 1/5)   (eq. 36),
 *   L(eta*) = 1/2 sigma_W² d_x (1 - T eta*) = 1/2 sigma_W² d_x (d_x - 1/5) / (T + d_x - 1/5).
 * For T = 12, d_x = 3: eta* = 1/14.8 = 0.0676 (Table 2), L(eta*) = 0.0946 at sigma_W² = 1/3 (paper: 0.0947) and
 * 0.1892 at the validation variance 2/3. Note eta* does not depend on sigma_W² (only the data distribution matters).
 */
import type { Tensor } from "../tensor.ts";
import { allocFloat, dtypeOf } from "../tensor.ts";

/** eta* = 1/(T + d_x - 1/5): the optimal one-step GD learning rate for unit-variance uniform inputs (App. C.2 eq. 36). */
export function etaStar(T: number, d_x: number): number {
  return 1 / (T + d_x - 1 / 5);
}

/** L(eta) = 1/2 sigma_W² [d_x - 2 eta T d_x + eta² T d_x (T + d_x - 1/5)]: expected loss of one GD step from W0 = 0 (App. C.2 eqs. 22-35). */
export function gdLoss(eta: number, T: number, d_x: number, sigmaW2: number): number {
  return 0.5 * sigmaW2 * (d_x - 2 * eta * T * d_x + eta * eta * T * d_x * (T + d_x - 1 / 5));
}

/** dL/deta = sigma_W² T d_x [eta (T + d_x - 1/5) - 1]: derivative of gdLoss in eta, zero at eta* (App. C.2 eqs. 25-30). */
export function gdLossGrad(eta: number, T: number, d_x: number, sigmaW2: number): number {
  return sigmaW2 * T * d_x * (eta * (T + d_x - 1 / 5) - 1);
}

/** L(eta*) = 1/2 sigma_W² d_x (d_x - 1/5)/(T + d_x - 1/5): loss of one optimal GD step (App. C.2; 0.0946 for T=12, d_x=3, sigma_W²=1/3). */
export function optimalGdLoss(T: number, d_x: number, sigmaW2: number): number {
  return gdLoss(etaStar(T, d_x), T, d_x, sigmaW2);
}

/**
 * ŷ_t = eta Σ_{s<t} y_s x_sᵀ x_t (eq. 4 at the query t = T): one GD step from W0 = 0 on the tokens [x_s; y_s] before
 * t, applied to x_t. x [B, L, d_x+d_y] -> [B, L, d_y] in x's dtype (only the query position is scored by the task).
 * d_x defaults to d_in - d_y with d_y = target.length / (B · scored.length) when a Batch is given.
 */
export function gdPredict(batch: { x: Tensor; target?: ArrayLike<number>; scored?: number[] }, eta: number, d_x?: number): Tensor {
  if (batch.x.shape.length !== 3) throw new Error(`gdPredict: x must have shape [B, L, d_x+d_y], got [${batch.x.shape.join(", ")}]`);
  const [B, L, d] = batch.x.shape;
  let dx = d_x;
  if (dx === undefined) {
    if (!batch.target || !batch.scored) throw new Error("gdPredict: pass d_x, or a batch with target and scored to infer it");
    dx = d - batch.target.length / (B * batch.scored.length);
  }
  const dy = d - dx;
  if (!Number.isInteger(dx) || dx < 1 || dy < 1) throw new Error(`gdPredict: cannot split token width ${d} into d_x = ${dx} and d_y = ${dy}`);
  const x = batch.x.data;
  const out = allocFloat(dtypeOf(x), B * L * dy);
  const S = new Float64Array(dy * dx); // Σ_{s<t} y_s x_sᵀ
  for (let b = 0; b < B; b++) {
    S.fill(0);
    for (let t = 0; t < L; t++) {
      const off = (b * L + t) * d;
      for (let i = 0; i < dy; i++) {
        let s = 0;
        for (let j = 0; j < dx; j++) s += S[i * dx + j] * x[off + j];
        out[(b * L + t) * dy + i] = eta * s;
      }
      for (let i = 0; i < dy; i++) {
        const yi = x[off + dx + i];
        for (let j = 0; j < dx; j++) S[i * dx + j] += yi * x[off + j];
      }
    }
  }
  return { shape: [B, L, dy], data: out };
}
