/** Stochastic gradient descent with momentum, dampening, Nesterov momentum and weight decay. */
import { zerosLike } from '../tensor/creation.js';
import type { Tensor } from '../tensor/tensor.js';
import { bumpVersions, fusedUpdateApplies } from './fused_update.js';
import {
  checkBoolean,
  checkNonNegative,
  checkNumber,
  Optimizer,
  type ParamGroup,
  type Params,
} from './optimizer.js';

export interface SGDOptions {
  /** Learning rate (required). */
  lr: number;
  /** Momentum factor (default 0). */
  momentum: number;
  /** Dampening for momentum (default 0). */
  dampening: number;
  /** L2 penalty added to the gradient (default 0). */
  weightDecay: number;
  /** Nesterov momentum (default false); needs momentum > 0 and dampening 0. */
  nesterov: boolean;
  /** Maximize the objective instead of minimizing it (default false). */
  maximize: boolean;
}

/**
 * Stochastic gradient descent, exactly PyTorch's update: with g = ∇ (+ weightDecay·p), the buffer
 * b ← momentum·b + (1 − dampening)·g (b = g at the first step), and p ← p − lr·(nesterov ? g + momentum·b : b).
 *
 * @example
 * const opt = new optim.SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
 * opt.zeroGrad();
 * loss.backward();
 * opt.step();
 */
export class SGD extends Optimizer<SGDOptions> {
  constructor(params: Params<SGDOptions>, options: Partial<SGDOptions> = {}) {
    super('SGD', params, options);
  }

  protected defaultOptions(): SGDOptions {
    return {
      lr: undefined as unknown as number,
      momentum: 0,
      dampening: 0,
      weightDecay: 0,
      nesterov: false,
      maximize: false,
    };
  }

  protected validateOptions(o: SGDOptions): void {
    checkNonNegative('SGD', 'lr', o.lr);
    checkNonNegative('SGD', 'momentum', o.momentum);
    checkNumber('SGD', 'dampening', o.dampening);
    checkNonNegative('SGD', 'weightDecay', o.weightDecay);
    checkBoolean('SGD', 'nesterov', o.nesterov);
    checkBoolean('SGD', 'maximize', o.maximize);
    if (o.nesterov && (o.momentum <= 0 || o.dampening !== 0)) {
      throw new RangeError(
        `SGD: Nesterov momentum requires a momentum > 0 and zero dampening (got momentum ${o.momentum}, dampening ${o.dampening})`,
      );
    }
  }

  protected updateGroup(group: ParamGroup<SGDOptions>): void {
    const { lr, momentum, dampening, weightDecay, nesterov, maximize } = group;
    for (const p of group.params) {
      const grad = p.peekGrad();
      if (grad === null) continue;
      if (this.fusedUpdate(p, grad, group)) continue;
      let d: Tensor = maximize ? grad.neg() : grad;
      if (weightDecay !== 0) d = d.add(p, weightDecay);
      if (momentum !== 0) {
        const state = this.stateOf(p);
        let buf = state.momentumBuffer as Tensor | undefined;
        if (buf === undefined) {
          buf = d.detach().clone();
          state.momentumBuffer = buf;
        } else {
          buf.mul_(momentum).add_(d, 1 - dampening);
        }
        d = nesterov ? d.add(buf, momentum) : buf;
      }
      p.add_(d, -lr);
    }
  }

  /** The same update by the backend's fused kernel, where it applies (see fusedUpdateApplies). */
  private fusedUpdate(p: Tensor, grad: Tensor, group: ParamGroup<SGDOptions>): boolean {
    const state = group.momentum !== 0 ? this.stateOf(p) : null;
    if (!fusedUpdateApplies('sgdUpdate', p, grad, [state?.momentumBuffer])) return false;
    let buffer: Tensor | null = null;
    let firstStep = false;
    if (state) {
      if (state.momentumBuffer === undefined) {
        state.momentumBuffer = zerosLike(p);
        firstStep = true;
      }
      buffer = state.momentumBuffer as Tensor;
    }
    p.backend.sgdUpdate!(p, grad, buffer, {
      lr: group.lr,
      momentum: group.momentum,
      dampening: group.dampening,
      weightDecay: group.weightDecay,
      nesterov: group.nesterov,
      maximize: group.maximize,
      firstStep,
    });
    bumpVersions(p, buffer);
    return true;
  }
}
