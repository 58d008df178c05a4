/** Affine layers: Linear (y = x Wᵀ + b), Bilinear (y = x₁ᵀ W x₂ + b), and Identity. */
import type { Tensor } from '../../tensor/tensor.js';
import { formatShape } from '../../tensor/shape.js';
import * as F from '../functional/index.js';
import * as init from '../init.js';
import { Module, pyRepr } from '../module.js';
import { Parameter } from '../parameter.js';
import { checkPositiveInt, empty } from './util.js';

/**
 * Returns its input unchanged; a placeholder where a layer is optional.
 * @example
 * const head = useProjection ? new Linear(64, 64) : new Identity();
 */
export class Identity extends Module {
  forward(x: Tensor): Tensor {
    return x;
  }
}

/**
 * y = x Wᵀ + b over the last dimension. Weight [outFeatures, inFeatures] from
 * kaimingUniform_(a = √5) and bias from U(±1/√inFeatures), as PyTorch initializes them.
 * @example
 * const fc = new Linear(784, 128);
 * fc.call(randn([32, 784])).shape; // [32, 128]
 */
export class Linear extends Module {
  readonly inFeatures: number;
  readonly outFeatures: number;
  weight: Parameter;
  bias: Parameter | null;

  constructor(inFeatures: number, outFeatures: number, { bias = true }: { bias?: boolean } = {}) {
    super();
    this.inFeatures = checkPositiveInt('Linear', 'in_features', inFeatures, true);
    this.outFeatures = checkPositiveInt('Linear', 'out_features', outFeatures, true);
    this.weight = new Parameter(empty([outFeatures, inFeatures]));
    this.bias = bias ? new Parameter(empty([outFeatures])) : null;
    this.resetParameters();
  }

  resetParameters(): void {
    init.kaimingUniform_(this.weight, { a: Math.sqrt(5) });
    if (this.bias) {
      const bound = this.inFeatures > 0 ? 1 / Math.sqrt(this.inFeatures) : 0;
      init.uniform_(this.bias, -bound, bound);
    }
  }

  forward(x: Tensor): Tensor {
    if (x.ndim === 0 || x.shape[x.ndim - 1] !== this.inFeatures) {
      throw new Error(
        `Linear: expected input with last dimension ${this.inFeatures} (in_features), got shape ${formatShape(x.shape)}`,
      );
    }
    return F.linear(x, this.weight, this.bias);
  }

  override extraRepr(): string {
    return `in_features=${this.inFeatures}, out_features=${this.outFeatures}, bias=${pyRepr(this.bias !== null)}`;
  }
}

/**
 * y_k = x₁ᵀ W_k x₂ + b_k. Weight [outFeatures, in1Features, in2Features]; weight and bias from
 * U(±1/√in1Features), as PyTorch.
 * @example
 * const bl = new Bilinear(5, 4, 3);
 * bl.call(randn([8, 5]), randn([8, 4])).shape; // [8, 3]
 */
export class Bilinear extends Module {
  readonly in1Features: number;
  readonly in2Features: number;
  readonly outFeatures: number;
  weight: Parameter;
  bias: Parameter | null;

  constructor(
    in1Features: number,
    in2Features: number,
    outFeatures: number,
    { bias = true }: { bias?: boolean } = {},
  ) {
    super();
    this.in1Features = checkPositiveInt('Bilinear', 'in1_features', in1Features);
    this.in2Features = checkPositiveInt('Bilinear', 'in2_features', in2Features);
    this.outFeatures = checkPositiveInt('Bilinear', 'out_features', outFeatures);
    this.weight = new Parameter(empty([outFeatures, in1Features, in2Features]));
    this.bias = bias ? new Parameter(empty([outFeatures])) : null;
    this.resetParameters();
  }

  resetParameters(): void {
    const bound = 1 / Math.sqrt(this.in1Features);
    init.uniform_(this.weight, -bound, bound);
    if (this.bias) init.uniform_(this.bias, -bound, bound);
  }

  forward(x1: Tensor, x2: Tensor): Tensor {
    if (x1.ndim === 0 || x1.shape[x1.ndim - 1] !== this.in1Features) {
      throw new Error(
        `Bilinear: expected input1 with last dimension ${this.in1Features} (in1_features), got shape ${formatShape(x1.shape)}`,
      );
    }
    if (x2.ndim === 0 || x2.shape[x2.ndim - 1] !== this.in2Features) {
      throw new Error(
        `Bilinear: expected input2 with last dimension ${this.in2Features} (in2_features), got shape ${formatShape(x2.shape)}`,
      );
    }
    return F.bilinear(x1, x2, this.weight, this.bias);
  }

  override extraRepr(): string {
    return `in1_features=${this.in1Features}, in2_features=${this.in2Features}, out_features=${this.outFeatures}, bias=${pyRepr(this.bias !== null)}`;
  }
}
