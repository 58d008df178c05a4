/** Shape layers: Flatten and Unflatten, for use inside Sequential. */
import type { Tensor } from '../../tensor/tensor.js';
import { Module, pyRepr } from '../module.js';

/**
 * Flattens dimensions startDim…endDim into one (by default all but the batch dimension).
 * @example
 * new Flatten().call(randn([32, 1, 28, 28])).shape; // [32, 784]
 */
export class Flatten extends Module {
  constructor(
    readonly startDim = 1,
    readonly endDim = -1,
  ) {
    super();
  }
  forward(x: Tensor): Tensor {
    return x.flatten(this.startDim, this.endDim);
  }
  override extraRepr(): string {
    return `start_dim=${this.startDim}, end_dim=${this.endDim}`;
  }
}

/**
 * Splits dimension `dim` into `unflattenedSize`.
 * @example
 * new Unflatten(1, [1, 28, 28]).call(randn([32, 784])).shape; // [32, 1, 28, 28]
 */
export class Unflatten extends Module {
  readonly unflattenedSize: number[];
  constructor(
    readonly dim: number,
    unflattenedSize: readonly number[],
  ) {
    super();
    this.unflattenedSize = [...unflattenedSize];
  }
  forward(x: Tensor): Tensor {
    return x.unflatten(this.dim, this.unflattenedSize);
  }
  override extraRepr(): string {
    return `dim=${this.dim}, unflattened_size=${pyRepr(this.unflattenedSize)}`;
  }
}
