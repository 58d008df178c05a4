/** Dropout layers: active in training mode only, identity in eval mode. */
import type { Tensor } from '../../tensor/tensor.js';
import { ones } from '../../tensor/creation.js';
import type { Generator } from '../../tensor/random.js';
import { formatShape } from '../../tensor/shape.js';
import * as F from '../functional/index.js';
import { Module, pyFloat } from '../module.js';
import { checkProbability } from './util.js';

/**
 * Zeroes each element with probability p during training and scales the rest by 1 / (1 − p);
 * returns the input unchanged in eval mode. Pass a Generator for reproducible masks.
 * @example
 * const drop = new Dropout(0.2);
 * drop.call(x);        // training: about 20% zeros
 * drop.eval().call(x); // x itself
 */
export class Dropout extends Module {
  readonly p: number;
  generator: Generator | undefined;

  constructor(p = 0.5, { generator }: { generator?: Generator } = {}) {
    super();
    this.p = checkProbability('Dropout', p);
    this.generator = generator;
  }

  forward(x: Tensor): Tensor {
    return F.dropout(x, this.p, this.training, this.generator);
  }

  override extraRepr(): string {
    return `p=${pyFloat(this.p)}, inplace=False`;
  }
}

/**
 * Zeroes whole channels of [N, C, H, W] (or [C, H, W]) with probability p during training,
 * scaling the kept channels by 1 / (1 − p): dropout for convolutional feature maps.
 * @example
 * new Dropout2d(0.1).call(randn([8, 16, 5, 5]));
 */
export class Dropout2d extends Module {
  readonly p: number;
  generator: Generator | undefined;

  constructor(p = 0.5, { generator }: { generator?: Generator } = {}) {
    super();
    this.p = checkProbability('Dropout2d', p);
    this.generator = generator;
  }

  forward(x: Tensor): Tensor {
    if (x.ndim !== 3 && x.ndim !== 4)
      throw new Error(
        `Dropout2d: expected a 3-D [C, H, W] or 4-D [N, C, H, W] input, got shape ${formatShape(x.shape)}`,
      );
    if (!this.training || this.p === 0) return x;
    const maskShape = [...x.shape.slice(0, x.ndim - 2), 1, 1];
    const mask = F.dropout(
      ones(maskShape, { dtype: x.dtype, device: x.device }),
      this.p,
      true,
      this.generator,
    );
    return x.mul(mask);
  }

  override extraRepr(): string {
    return `p=${pyFloat(this.p)}, inplace=False`;
  }
}
