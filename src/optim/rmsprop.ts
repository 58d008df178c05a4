/** RMSprop, with optional momentum and the centered variant. */
import { zerosLike } from '../tensor/creation.js';
import type { Tensor } from '../tensor/tensor.js';
import {
  checkBoolean,
  checkNonNegative,
  Optimizer,
  type ParamGroup,
  type Params,
} from './optimizer.js';

export interface RMSpropOptions {
  /** Learning rate (default 1e-2). */
  lr: number;
  /** Smoothing constant of the squared-gradient average (default 0.99). */
  alpha: number;
  /** Added to the denominator for numerical stability (default 1e-8). */
  eps: number;
  /** L2 penalty added to the gradient (default 0). */
  weightDecay: number;
  /** Momentum factor (default 0). */
  momentum: number;
  /** Normalize by the estimated variance of the gradient instead of its second moment (default false). */
  centered: boolean;
  /** Maximize the objective instead of minimizing it (default false). */
  maximize: boolean;
}

/**
 * RMSprop, exactly PyTorch's update: v ← α·v + (1−α)·g², avg = √(v − ḡ²) (centered) or √v, plus eps;
 * p ← p − lr·g/avg, or through a momentum buffer b ← momentum·b + g/avg.
 *
 * @example
 * const opt = new optim.RMSprop(model.parameters(), { lr: 1e-3, momentum: 0.9, centered: true });
 * loss.backward();
 * opt.step();
 */
export class RMSprop extends Optimizer<RMSpropOptions> {
  constructor(params: Params<RMSpropOptions>, options: Partial<RMSpropOptions> = {}) {
    super('RMSprop', params, options);
  }

  protected defaultOptions(): RMSpropOptions {
    return {
      lr: 1e-2,
      alpha: 0.99,
      eps: 1e-8,
      weightDecay: 0,
      momentum: 0,
      centered: false,
      maximize: false,
    };
  }

  protected validateOptions(o: RMSpropOptions): void {
    checkNonNegative('RMSprop', 'lr', o.lr);
    checkNonNegative('RMSprop', 'eps', o.eps);
    checkNonNegative('RMSprop', 'momentum', o.momentum);
    checkNonNegative('RMSprop', 'weightDecay', o.weightDecay);
    checkNonNegative('RMSprop', 'alpha', o.alpha);
    checkBoolean('RMSprop', 'centered', o.centered);
    checkBoolean('RMSprop', 'maximize', o.maximize);
  }

  protected updateGroup(group: ParamGroup<RMSpropOptions>): void {
    const { lr, alpha, eps, weightDecay, momentum, centered, maximize } = group;
    for (const p of group.params) {
      if (p.grad === null) continue;
      const state = this.stateOf(p);
      if (state.step === undefined) {
        state.step = 0;
        state.squareAvg = zerosLike(p);
      }
      if (momentum > 0 && state.momentumBuffer === undefined) state.momentumBuffer = zerosLike(p);
      if (centered && state.gradAvg === undefined) state.gradAvg = zerosLike(p);
      state.step = (state.step as number) + 1;
      let grad = maximize ? p.grad.neg() : p.grad;
      if (weightDecay !== 0) grad = grad.add(p, weightDecay);
      const squareAvg = (state.squareAvg as Tensor).mul_(alpha).add_(grad.mul(grad), 1 - alpha);
      let avg: Tensor;
      if (centered) {
        const gradAvg = (state.gradAvg as Tensor).mul_(alpha).add_(grad, 1 - alpha);
        avg = squareAvg.sub(gradAvg.mul(gradAvg)).sqrt_();
      } else {
        avg = squareAvg.sqrt();
      }
      avg = avg.add_(eps);
      if (momentum > 0) {
        const buf = (state.momentumBuffer as Tensor).mul_(momentum).add_(grad.div(avg));
        p.add_(buf, -lr);
      } else {
        p.add_(grad.div(avg), -lr);
      }
    }
  }
}
