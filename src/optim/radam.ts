/** RAdam: Adam with a rectified adaptive learning rate. */
import { div } from '../autograd/ops/elementwise.js';
import { zerosLike } from '../tensor/creation.js';
import type { Tensor } from '../tensor/tensor.js';
import {
  checkBetas,
  checkNonNegative,
  Optimizer,
  type ParamGroup,
  type Params,
} from './optimizer.js';

export interface RAdamOptions {
  /** Learning rate (default 1e-3). */
  lr: number;
  /** Decay rates of the first and second moment estimates (default [0.9, 0.999]). */
  betas: [number, number];
  /** Added to the denominator for numerical stability (default 1e-8). */
  eps: number;
  /** L2 penalty added to the gradient (default 0). */
  weightDecay: number;
}

/**
 * RAdam (Liu et al.), exactly PyTorch 1.13's update: while the approximated SMA length ρₜ ≤ 5 the
 * step is plain bias-corrected momentum; after that the adaptive step is scaled by the rectification term.
 *
 * @example
 * const opt = new optim.RAdam(model.parameters(), { lr: 1e-3 });
 * loss.backward();
 * opt.step();
 */
export class RAdam extends Optimizer<RAdamOptions> {
  constructor(params: Params<RAdamOptions>, options: Partial<RAdamOptions> = {}) {
    super('RAdam', params, options);
  }

  protected defaultOptions(): RAdamOptions {
    return { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0 };
  }

  protected validateOptions(o: RAdamOptions): void {
    checkNonNegative('RAdam', 'lr', o.lr);
    checkNonNegative('RAdam', 'eps', o.eps);
    checkBetas('RAdam', o.betas);
    checkNonNegative('RAdam', 'weightDecay', o.weightDecay);
  }

  protected updateGroup(group: ParamGroup<RAdamOptions>): void {
    const { lr, eps, weightDecay } = group;
    const [beta1, beta2] = group.betas;
    for (const p of group.params) {
      if (p.grad === null) continue;
      const state = this.stateOf(p);
      if (state.step === undefined) {
        state.step = 0;
        state.expAvg = zerosLike(p);
        state.expAvgSq = zerosLike(p);
      }
      const step = (state.step as number) + 1;
      state.step = step;
      const biasCorrection1 = 1 - beta1 ** step;
      const biasCorrection2 = 1 - beta2 ** step;
      let grad = p.grad;
      if (weightDecay !== 0) grad = grad.add(p, weightDecay);
      const expAvg = (state.expAvg as Tensor).mul_(beta1).add_(grad, 1 - beta1);
      const expAvgSq = (state.expAvgSq as Tensor).mul_(beta2).add_(grad.mul(grad), 1 - beta2);
      const biasCorrectedExpAvg = expAvg.div(biasCorrection1);
      const rhoInf = 2 / (1 - beta2) - 1;
      const rhoT = rhoInf - (2 * step * beta2 ** step) / biasCorrection2;
      if (rhoT > 5) {
        const rect = Math.sqrt(
          ((rhoT - 4) * (rhoT - 2) * rhoInf) / ((rhoInf - 4) * (rhoInf - 2) * rhoT),
        );
        const adaptiveLr = div(Math.sqrt(biasCorrection2), expAvgSq.sqrt().add_(eps));
        p.add_(biasCorrectedExpAvg.mul(lr).mul(adaptiveLr).mul(rect), -1);
      } else {
        p.add_(biasCorrectedExpAvg.mul(lr), -1);
      }
    }
  }
}
