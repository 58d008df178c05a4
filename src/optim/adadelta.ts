/** Adadelta: step sizes from running averages of squared gradients and squared updates. */
import { zerosLike } from '../tensor/creation.js';
import type { Tensor } from '../tensor/tensor.js';
import {
  checkBoolean,
  checkNonNegative,
  Optimizer,
  type ParamGroup,
  type Params,
} from './optimizer.js';

export interface AdadeltaOptions {
  /** Scale applied to the update (default 1). */
  lr: number;
  /** Decay rate of the running averages (default 0.9). */
  rho: number;
  /** Added inside the square roots for numerical stability (default 1e-6). */
  eps: number;
  /** L2 penalty added to the gradient (default 0). */
  weightDecay: number;
  /** Maximize the objective instead of minimizing it (default false). */
  maximize: boolean;
}

/**
 * Adadelta, exactly PyTorch's update: v ← ρv + (1−ρ)g², Δ = √(u + eps)/√(v + eps) · g,
 * u ← ρu + (1−ρ)Δ², p ← p − lr·Δ.
 *
 * @example
 * const opt = new optim.Adadelta(model.parameters(), { lr: 1.0, rho: 0.9 });
 * loss.backward();
 * opt.step();
 */
export class Adadelta extends Optimizer<AdadeltaOptions> {
  constructor(params: Params<AdadeltaOptions>, options: Partial<AdadeltaOptions> = {}) {
    super('Adadelta', params, options);
  }

  protected defaultOptions(): AdadeltaOptions {
    return { lr: 1, rho: 0.9, eps: 1e-6, weightDecay: 0, maximize: false };
  }

  protected validateOptions(o: AdadeltaOptions): void {
    checkNonNegative('Adadelta', 'lr', o.lr);
    checkNonNegative('Adadelta', 'rho', o.rho);
    if (o.rho > 1) throw new RangeError(`Adadelta: invalid rho ${o.rho}: expected 0 <= rho <= 1`);
    checkNonNegative('Adadelta', 'eps', o.eps);
    checkNonNegative('Adadelta', 'weightDecay', o.weightDecay);
    checkBoolean('Adadelta', 'maximize', o.maximize);
  }

  protected updateGroup(group: ParamGroup<AdadeltaOptions>): void {
    const { lr, rho, eps, weightDecay, maximize } = group;
    for (const p of group.params) {
      if (p.grad === null) continue;
      const state = this.stateOf(p);
      if (state.step === undefined) {
        state.step = 0;
        state.squareAvg = zerosLike(p);
        state.accDelta = zerosLike(p);
      }
      state.step = (state.step as number) + 1;
      let grad = maximize ? p.grad.neg() : p.grad;
      if (weightDecay !== 0) grad = grad.add(p, weightDecay);
      const squareAvg = (state.squareAvg as Tensor).mul_(rho).add_(grad.mul(grad), 1 - rho);
      const accDelta = state.accDelta as Tensor;
      const std = squareAvg.add(eps).sqrt_();
      const delta = accDelta.add(eps).sqrt_().div_(std).mul_(grad);
      accDelta.mul_(rho).add_(delta.mul(delta), 1 - rho);
      p.add_(delta, -lr);
    }
  }
}
