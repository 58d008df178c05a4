/** Adamax: Adam with the infinity norm in place of the second moment. */
import { maximum } from '../autograd/ops/elementwise.js';
import { zerosLike } from '../tensor/creation.js';
import type { Tensor } from '../tensor/tensor.js';
import {
  checkBetas,
  checkBoolean,
  checkNonNegative,
  Optimizer,
  type ParamGroup,
  type Params,
} from './optimizer.js';

export interface AdamaxOptions {
  /** Learning rate (default 2e-3). */
  lr: number;
  /** Decay rates of the first moment and of the infinity norm (default [0.9, 0.999]). */
  betas: [number, number];
  /** Added to |g| for numerical stability (default 1e-8). */
  eps: number;
  /** L2 penalty added to the gradient (default 0). */
  weightDecay: number;
  /** Maximize the objective instead of minimizing it (default false). */
  maximize: boolean;
}

/**
 * Adamax, exactly PyTorch's update: m ← β₁m + (1−β₁)g, u ← max(β₂u, |g| + eps),
 * p ← p − lr/(1−β₁ᵗ) · m/u.
 *
 * @example
 * const opt = new optim.Adamax(model.parameters(), { lr: 2e-3 });
 * loss.backward();
 * opt.step();
 */
export class Adamax extends Optimizer<AdamaxOptions> {
  constructor(params: Params<AdamaxOptions>, options: Partial<AdamaxOptions> = {}) {
    super('Adamax', params, options);
  }

  protected defaultOptions(): AdamaxOptions {
    return { lr: 2e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, maximize: false };
  }

  protected validateOptions(o: AdamaxOptions): void {
    checkNonNegative('Adamax', 'lr', o.lr);
    checkNonNegative('Adamax', 'eps', o.eps);
    checkBetas('Adamax', o.betas);
    checkNonNegative('Adamax', 'weightDecay', o.weightDecay);
    checkBoolean('Adamax', 'maximize', o.maximize);
  }

  protected updateGroup(group: ParamGroup<AdamaxOptions>): void {
    const { lr, eps, weightDecay, maximize } = group;
    const [beta1, beta2] = group.betas;
    for (const p of group.params) {
      if (p.grad === null) continue;
      const state = this.stateOf(p);
      if (state.step === undefined) {
        state.step = 0;
        state.expAvg = zerosLike(p);
        state.expInf = zerosLike(p);
      }
      const step = (state.step as number) + 1;
      state.step = step;
      let grad = maximize ? p.grad.neg() : p.grad;
      if (weightDecay !== 0) grad = grad.add(p, weightDecay);
      const expAvg = (state.expAvg as Tensor).mul_(beta1).add_(grad, 1 - beta1);
      const expInf = state.expInf as Tensor;
      expInf.copy_(maximum(expInf.mul_(beta2), grad.abs().add_(eps)));
      const clr = lr / (1 - beta1 ** step);
      p.add_(expAvg.div(expInf), -clr);
    }
  }
}
