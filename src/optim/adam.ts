/** Adam (with the AMSGrad variant), and the moment update AdamW shares with it. */
import { maximum } from '../autograd/ops/elementwise.js';
import { zerosLike } from '../tensor/creation.js';
import type { Tensor } from '../tensor/tensor.js';
import { bumpVersions, fusedUpdateApplies } from './fused_update.js';
import {
  checkBetas,
  checkBoolean,
  checkNonNegative,
  Optimizer,
  type ParamGroup,
  type ParamState,
  type Params,
} from './optimizer.js';

export interface AdamOptions {
  /** Learning rate (default 1e-3). */
  lr: number;
  /** Decay rates of the first and second moment estimates (default [0.9, 0.999]). */
  betas: [number, number];
  /** Added to the denominator for numerical stability (default 1e-8). */
  eps: number;
  /** L2 penalty added to the gradient (default 0); AdamW decouples it instead. */
  weightDecay: number;
  /** Use the maximum of past second moments (AMSGrad, default false). */
  amsgrad: boolean;
  /** Maximize the objective instead of minimizing it (default false). */
  maximize: boolean;
}

export function validateAdamOptions(name: string, o: AdamOptions): void {
  checkNonNegative(name, 'lr', o.lr);
  checkNonNegative(name, 'eps', o.eps);
  checkBetas(name, o.betas);
  checkNonNegative(name, 'weightDecay', o.weightDecay);
  checkBoolean(name, 'amsgrad', o.amsgrad);
  checkBoolean(name, 'maximize', o.maximize);
}

/**
 * One Adam step on `p` from `grad` (weight decay already applied as the caller wants): updates the
 * moments in `state` and moves p by −lr/(1−β₁ᵗ) · m / (√v / √(1−β₂ᵗ) + eps), as PyTorch's single-tensor path.
 */
export function adamStep(p: Tensor, grad: Tensor, state: ParamState, group: AdamOptions): void {
  const [beta1, beta2] = group.betas;
  if (state.step === undefined) {
    state.step = 0;
    state.expAvg = zerosLike(p);
    state.expAvgSq = zerosLike(p);
  }
  if (group.amsgrad && state.maxExpAvgSq === undefined) state.maxExpAvgSq = zerosLike(p);
  const step = (state.step as number) + 1;
  state.step = step;
  const expAvg = state.expAvg as Tensor;
  const expAvgSq = state.expAvgSq as Tensor;
  expAvg.mul_(beta1).add_(grad, 1 - beta1);
  expAvgSq.mul_(beta2).add_(grad.mul(grad), 1 - beta2);
  const biasCorrection1 = 1 - beta1 ** step;
  const biasCorrection2 = 1 - beta2 ** step;
  const stepSize = group.lr / biasCorrection1;
  const biasCorrection2Sqrt = Math.sqrt(biasCorrection2);
  let second = expAvgSq;
  if (group.amsgrad) {
    const maxExpAvgSq = state.maxExpAvgSq as Tensor;
    maxExpAvgSq.copy_(maximum(maxExpAvgSq, expAvgSq));
    second = maxExpAvgSq;
  }
  const denom = second.sqrt().div(biasCorrection2Sqrt).add_(group.eps);
  p.add_(expAvg.div(denom), -stepSize);
}

/**
 * adamStep with the raw gradient by the backend's fused kernel, weight decay included (L2 for
 * Adam, decoupled for AdamW) and maximize applied; false (and nothing changed) where the fused
 * kernel does not apply (see fusedUpdateApplies).
 */
export function fusedAdamStep(
  p: Tensor,
  grad: Tensor,
  state: ParamState,
  group: AdamOptions,
  decoupledWeightDecay: boolean,
): boolean {
  if (
    !fusedUpdateApplies('adamUpdate', p, grad, [
      state.expAvg,
      state.expAvgSq,
      group.amsgrad ? state.maxExpAvgSq : undefined,
    ])
  )
    return false;
  if (state.step === undefined) {
    state.step = 0;
    state.expAvg = zerosLike(p);
    state.expAvgSq = zerosLike(p);
  }
  if (group.amsgrad && state.maxExpAvgSq === undefined) state.maxExpAvgSq = zerosLike(p);
  const step = (state.step as number) + 1;
  state.step = step;
  const expAvg = state.expAvg as Tensor;
  const expAvgSq = state.expAvgSq as Tensor;
  const maxExpAvgSq = group.amsgrad ? (state.maxExpAvgSq as Tensor) : null;
  p.backend.adamUpdate!(p, grad, expAvg, expAvgSq, maxExpAvgSq, {
    lr: group.lr,
    beta1: group.betas[0],
    beta2: group.betas[1],
    eps: group.eps,
    weightDecay: group.weightDecay,
    decoupledWeightDecay,
    amsgrad: group.amsgrad,
    maximize: group.maximize,
    step,
  });
  bumpVersions(p, expAvg, expAvgSq, maxExpAvgSq);
  return true;
}

/**
 * Adam, exactly PyTorch's update (weight decay as an L2 term added to the gradient; use AdamW for
 * decoupled weight decay).
 *
 * @example
 * const opt = new optim.Adam(model.parameters(), { lr: 1e-3, betas: [0.9, 0.999] });
 * opt.zeroGrad();
 * loss.backward();
 * opt.step();
 */
export class Adam extends Optimizer<AdamOptions> {
  constructor(params: Params<AdamOptions>, options: Partial<AdamOptions> = {}) {
    super('Adam', params, options);
  }

  protected defaultOptions(): AdamOptions {
    return {
      lr: 1e-3,
      betas: [0.9, 0.999],
      eps: 1e-8,
      weightDecay: 0,
      amsgrad: false,
      maximize: false,
    };
  }

  protected validateOptions(o: AdamOptions): void {
    validateAdamOptions('Adam', o);
  }

  protected updateGroup(group: ParamGroup<AdamOptions>): void {
    for (const p of group.params) {
      const rawGrad = p.peekGrad();
      if (rawGrad === null) continue;
      if (fusedAdamStep(p, rawGrad, this.stateOf(p), group, false)) continue;
      let grad = group.maximize ? rawGrad.neg() : rawGrad;
      if (group.weightDecay !== 0) grad = grad.add(p, group.weightDecay);
      adamStep(p, grad, this.stateOf(p), group);
    }
  }
}
