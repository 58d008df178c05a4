/** AdamW: Adam with decoupled weight decay. */
import { adamStep, fusedAdamStep, validateAdamOptions, type AdamOptions } from './adam.js';
import { Optimizer, type ParamGroup, type Params } from './optimizer.js';

export type AdamWOptions = AdamOptions;

/**
 * AdamW (Loshchilov & Hutter), exactly PyTorch's update: p ← p·(1 − lr·weightDecay), then the
 * Adam step on the raw gradient. weightDecay defaults to 1e-2.
 *
 * @example
 * const opt = new optim.AdamW(model.parameters(), { lr: 3e-4, weightDecay: 0.05 });
 * loss.backward();
 * opt.step();
 * opt.zeroGrad();
 */
export class AdamW extends Optimizer<AdamWOptions> {
  constructor(params: Params<AdamWOptions>, options: Partial<AdamWOptions> = {}) {
    super('AdamW', params, options);
  }

  protected defaultOptions(): AdamWOptions {
    return {
      lr: 1e-3,
      betas: [0.9, 0.999],
      eps: 1e-8,
      weightDecay: 1e-2,
      amsgrad: false,
      maximize: false,
    };
  }

  protected validateOptions(o: AdamWOptions): void {
    validateAdamOptions('AdamW', o);
  }

  protected updateGroup(group: ParamGroup<AdamWOptions>): void {
    for (const p of group.params) {
      const rawGrad = p.peekGrad();
      if (rawGrad === null) continue;
      if (fusedAdamStep(p, rawGrad, this.stateOf(p), group, true)) continue;
      const grad = group.maximize ? rawGrad.neg() : rawGrad;
      p.mul_(1 - group.lr * group.weightDecay);
      adamStep(p, grad, this.stateOf(p), group);
    }
  }
}
