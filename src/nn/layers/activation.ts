/** Activation layers: thin modules over F's activation functions, printed as PyTorch prints them. */
import type { Tensor } from '../../tensor/tensor.js';
import * as F from '../functional/index.js';
import { Module, pyFloat } from '../module.js';

/**
 * max(0, x).
 * @example
 * new ReLU().call(tensor([-1, 2])); // tensor([0., 2.])
 */
export class ReLU extends Module {
  forward(x: Tensor): Tensor {
    return F.relu(x);
  }
}

/**
 * x for x ≥ 0, negativeSlope·x otherwise.
 * @example
 * new LeakyReLU(0.2).call(tensor([-1, 2])); // tensor([-0.2000, 2.0000])
 */
export class LeakyReLU extends Module {
  constructor(readonly negativeSlope = 0.01) {
    super();
  }
  forward(x: Tensor): Tensor {
    return F.leakyRelu(x, this.negativeSlope);
  }
  override extraRepr(): string {
    return `negative_slope=${pyFloat(this.negativeSlope)}`;
  }
}

/**
 * 1 / (1 + e^(−x)).
 * @example
 * new Sigmoid().call(zeros([2])); // tensor([0.5000, 0.5000])
 */
export class Sigmoid extends Module {
  forward(x: Tensor): Tensor {
    return F.sigmoid(x);
  }
}

/**
 * Hyperbolic tangent.
 * @example
 * new Tanh().call(zeros([2])); // tensor([0., 0.])
 */
export class Tanh extends Module {
  forward(x: Tensor): Tensor {
    return F.tanh(x);
  }
}

/**
 * x·Φ(x), exactly (approximate 'none') or with the tanh approximation.
 * @example
 * new GELU({ approximate: 'tanh' }).call(x);
 */
export class GELU extends Module {
  readonly approximate: 'none' | 'tanh';
  constructor({ approximate = 'none' }: { approximate?: 'none' | 'tanh' } = {}) {
    super();
    if (approximate !== 'none' && approximate !== 'tanh')
      throw new Error(`GELU: approximate must be 'none' or 'tanh', got ${String(approximate)}`);
    this.approximate = approximate;
  }
  forward(x: Tensor): Tensor {
    return F.gelu(x, { approximate: this.approximate });
  }
  override extraRepr(): string {
    return `approximate='${this.approximate}'`;
  }
}

/**
 * x·sigmoid(x), also called swish.
 * @example
 * new SiLU().call(x);
 */
export class SiLU extends Module {
  forward(x: Tensor): Tensor {
    return F.silu(x);
  }
}

/**
 * x·tanh(softplus(x)).
 * @example
 * new Mish().call(x);
 */
export class Mish extends Module {
  forward(x: Tensor): Tensor {
    return F.mish(x);
  }
}

/**
 * x for x > 0, alpha·(eˣ − 1) otherwise.
 * @example
 * new ELU(1).call(x);
 */
export class ELU extends Module {
  constructor(readonly alpha = 1) {
    super();
  }
  forward(x: Tensor): Tensor {
    return F.elu(x, this.alpha);
  }
  override extraRepr(): string {
    return `alpha=${pyFloat(this.alpha)}`;
  }
}

/**
 * log(1 + e^(βx)) / β, linear above the threshold.
 * @example
 * new Softplus().call(x);
 */
export class Softplus extends Module {
  constructor(
    readonly beta = 1,
    readonly threshold = 20,
  ) {
    super();
  }
  forward(x: Tensor): Tensor {
    return F.softplus(x, this.beta, this.threshold);
  }
  override extraRepr(): string {
    return `beta=${this.beta}, threshold=${this.threshold}`;
  }
}

/**
 * x clamped to [minVal, maxVal].
 * @example
 * new Hardtanh(-2, 2).call(x);
 */
export class Hardtanh extends Module {
  constructor(
    readonly minVal = -1,
    readonly maxVal = 1,
  ) {
    super();
    if (!(minVal < maxVal))
      throw new RangeError(`Hardtanh: min_val (${minVal}) must be less than max_val (${maxVal})`);
  }
  forward(x: Tensor): Tensor {
    return F.hardtanh(x, this.minVal, this.maxVal);
  }
  override extraRepr(): string {
    return `min_val=${pyFloat(this.minVal)}, max_val=${pyFloat(this.maxVal)}`;
  }
}

/**
 * Softmax along `dim`.
 * @example
 * new Softmax(-1).call(logits); // rows sum to 1
 */
export class Softmax extends Module {
  constructor(readonly dim: number) {
    super();
    if (!Number.isInteger(dim))
      throw new TypeError(`Softmax: dim must be an integer, got ${String(dim)}`);
  }
  forward(x: Tensor): Tensor {
    return F.softmax(x, this.dim);
  }
  override extraRepr(): string {
    return `dim=${this.dim}`;
  }
}

/**
 * log(softmax(x)) along `dim`, computed stably.
 * @example
 * new LogSoftmax(1).call(logits);
 */
export class LogSoftmax extends Module {
  constructor(readonly dim: number) {
    super();
    if (!Number.isInteger(dim))
      throw new TypeError(`LogSoftmax: dim must be an integer, got ${String(dim)}`);
  }
  forward(x: Tensor): Tensor {
    return F.logSoftmax(x, this.dim);
  }
  override extraRepr(): string {
    return `dim=${this.dim}`;
  }
}
