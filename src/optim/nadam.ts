/** NAdam: Adam with Nesterov momentum and a momentum schedule. */
import { zerosLike } from '../tensor/creation.js';
import type { Tensor } from '../tensor/tensor.js';
import {
  checkBetas,
  checkNonNegative,
  Optimizer,
  type ParamGroup,
  type Params,
} from './optimizer.js';

export interface NAdamOptions {
  /** Learning rate (default 2e-3). */
  lr: number;
  /** Decay rates of the first and second moment estimates (default [0.9, 0.999]). */
  betas: [number, number];
  /** Added to the denominator for numerical stability (default 1e-8). */
  eps: number;
  /** L2 penalty added to the gradient (default 0). */
  weightDecay: number;
  /** Momentum decay ψ of the schedule μₜ = β₁(1 − ½·0.96^(tψ)) (default 4e-3). */
  momentumDecay: number;
}

/**
 * NAdam (Dozat), exactly PyTorch 1.13's update, including the product of the momentum schedule
 * kept in float32 as PyTorch keeps it in a float32 tensor.
 *
 * @example
 * const opt = new optim.NAdam(model.parameters(), { lr: 2e-3 });
 * loss.backward();
 * opt.step();
 */
export class NAdam extends Optimizer<NAdamOptions> {
  constructor(params: Params<NAdamOptions>, options: Partial<NAdamOptions> = {}) {
    super('NAdam', params, options);
  }

  protected defaultOptions(): NAdamOptions {
    return { lr: 2e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, momentumDecay: 4e-3 };
  }

  protected validateOptions(o: NAdamOptions): void {
    checkNonNegative('NAdam', 'lr', o.lr);
    checkNonNegative('NAdam', 'eps', o.eps);
    checkBetas('NAdam', o.betas);
    checkNonNegative('NAdam', 'weightDecay', o.weightDecay);
    checkNonNegative('NAdam', 'momentumDecay', o.momentumDecay);
  }

  protected updateGroup(group: ParamGroup<NAdamOptions>): void {
    const { lr, eps, weightDecay, momentumDecay } = group;
    const [beta1, beta2] = group.betas;
    const f32 = Math.fround;
    for (const p of group.params) {
      if (p.grad === null) continue;
      const state = this.stateOf(p);
      if (state.step === undefined) {
        state.step = 0;
        state.muProduct = 1;
        state.expAvg = zerosLike(p);
        state.expAvgSq = zerosLike(p);
      }
      const step = (state.step as number) + 1;
      state.step = step;
      const biasCorrection2 = 1 - beta2 ** step;
      let grad = p.grad;
      if (weightDecay !== 0) grad = grad.add(p, weightDecay);
      const mu = beta1 * (1 - 0.5 * 0.96 ** (step * momentumDecay));
      const muNext = beta1 * (1 - 0.5 * 0.96 ** ((step + 1) * momentumDecay));
      // float32 arithmetic, as PyTorch's float32 mu_product tensor times a Python float.
      const muProduct = f32((state.muProduct as number) * f32(mu));
      state.muProduct = muProduct;
      const muProductNext = f32(f32(muProduct * f32(mu)) * f32(muNext));
      const expAvg = (state.expAvg as Tensor).mul_(beta1).add_(grad, 1 - beta1);
      const expAvgSq = (state.expAvgSq as Tensor).mul_(beta2).add_(grad.mul(grad), 1 - beta2);
      const denom = expAvgSq.div(biasCorrection2).sqrt().add_(eps);
      p.add_(grad.div(denom), (-lr * (1 - mu)) / (1 - muProduct));
      p.add_(expAvg.div(denom), (-lr * muNext) / (1 - muProductNext));
    }
  }
}
