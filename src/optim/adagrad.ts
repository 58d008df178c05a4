/** Adagrad: per-coordinate learning rates from the running sum of squared gradients. */
import { fullLike } from '../tensor/creation.js';
import type { Tensor } from '../tensor/tensor.js';
import {
  checkBoolean,
  checkNonNegative,
  Optimizer,
  type ParamGroup,
  type ParamState,
  type Params,
} from './optimizer.js';

export interface AdagradOptions {
  /** Learning rate (default 1e-2). */
  lr: number;
  /** Learning-rate decay: the step t uses lr / (1 + (t−1)·lrDecay) (default 0). */
  lrDecay: number;
  /** L2 penalty added to the gradient (default 0). */
  weightDecay: number;
  /** Starting value of the squared-gradient sum (default 0). */
  initialAccumulatorValue: number;
  /** Added to the denominator for numerical stability (default 1e-10). */
  eps: number;
  /** Maximize the objective instead of minimizing it (default false). */
  maximize: boolean;
}

/**
 * Adagrad, exactly PyTorch's update: s ← s + g², p ← p − lr/(1 + (t−1)·lrDecay) · g/(√s + eps).
 *
 * @example
 * const opt = new optim.Adagrad(model.parameters(), { lr: 0.1 });
 * loss.backward();
 * opt.step();
 */
export class Adagrad extends Optimizer<AdagradOptions> {
  constructor(params: Params<AdagradOptions>, options: Partial<AdagradOptions> = {}) {
    super('Adagrad', params, options);
    // Like PyTorch, the state exists from construction on.
    for (const group of this.paramGroups) for (const p of group.params) this.initState(p, group);
  }

  protected defaultOptions(): AdagradOptions {
    return {
      lr: 1e-2,
      lrDecay: 0,
      weightDecay: 0,
      initialAccumulatorValue: 0,
      eps: 1e-10,
      maximize: false,
    };
  }

  protected validateOptions(o: AdagradOptions): void {
    checkNonNegative('Adagrad', 'lr', o.lr);
    checkNonNegative('Adagrad', 'lrDecay', o.lrDecay);
    checkNonNegative('Adagrad', 'weightDecay', o.weightDecay);
    checkNonNegative('Adagrad', 'initialAccumulatorValue', o.initialAccumulatorValue);
    checkNonNegative('Adagrad', 'eps', o.eps);
    checkBoolean('Adagrad', 'maximize', o.maximize);
  }

  private initState(p: Tensor, group: AdagradOptions): ParamState {
    const state = this.stateOf(p);
    if (state.step === undefined) {
      state.step = 0;
      state.sum = fullLike(p, group.initialAccumulatorValue);
    }
    return state;
  }

  protected updateGroup(group: ParamGroup<AdagradOptions>): void {
    const { lr, lrDecay, weightDecay, eps, maximize } = group;
    for (const p of group.params) {
      if (p.grad === null) continue;
      const state = this.initState(p, group);
      const step = (state.step as number) + 1;
      state.step = step;
      let grad = maximize ? p.grad.neg() : p.grad;
      if (weightDecay !== 0) grad = grad.add(p, weightDecay);
      const clr = lr / (1 + (step - 1) * lrDecay);
      const sum = (state.sum as Tensor).add_(grad.mul(grad));
      const std = sum.sqrt().add_(eps);
      p.add_(grad.div(std), -clr);
    }
  }
}
