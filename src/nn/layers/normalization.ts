/**
 * Normalization layers: BatchNorm1d/2d (with running statistics as buffers), LayerNorm, RMSNorm
 * and GroupNorm. Affine weights start at ones and biases at zeros, as in PyTorch.
 */
import type { Tensor } from '../../tensor/tensor.js';
import { ones, zeros, tensor } from '../../tensor/creation.js';
import { formatShape } from '../../tensor/shape.js';
import { noGrad } from '../../autograd/grad_mode.js';
import * as F from '../functional/index.js';
import * as init from '../init.js';
import { Module, pyFloat, pyRepr } from '../module.js';
import { Parameter } from '../parameter.js';
import { checkPositiveInt } from './util.js';

export interface BatchNormOptions {
  eps?: number;
  /** Weight of each new batch in the running averages; null for a cumulative average. */
  momentum?: number | null;
  /** Learnable per-channel scale and shift. */
  affine?: boolean;
  /** Keep running mean / variance buffers for evaluation. */
  trackRunningStats?: boolean;
}

/** Batch normalization over the channel dimension (1) of [N, C, *]. */
abstract class BatchNormBase extends Module {
  readonly numFeatures: number;
  readonly eps: number;
  momentum: number | null;
  readonly affine: boolean;
  readonly trackRunningStats: boolean;
  weight: Parameter | null;
  bias: Parameter | null;
  runningMean!: Tensor | null;
  runningVar!: Tensor | null;
  numBatchesTracked!: Tensor | null;

  constructor(
    numFeatures: number,
    { eps = 1e-5, momentum = 0.1, affine = true, trackRunningStats = true }: BatchNormOptions = {},
  ) {
    super();
    this.numFeatures = checkPositiveInt(this.constructor.name, 'num_features', numFeatures);
    this.eps = eps;
    this.momentum = momentum;
    this.affine = affine;
    this.trackRunningStats = trackRunningStats;
    this.weight = affine ? new Parameter(ones([numFeatures])) : null;
    this.bias = affine ? new Parameter(zeros([numFeatures])) : null;
    this.registerBuffer('runningMean', trackRunningStats ? zeros([numFeatures]) : null);
    this.registerBuffer('runningVar', trackRunningStats ? ones([numFeatures]) : null);
    this.registerBuffer(
      'numBatchesTracked',
      trackRunningStats ? tensor([0], { dtype: 'int32', shape: [] }) : null,
    );
  }

  /** Running mean 0, running variance 1, batch count 0. */
  resetRunningStats(): void {
    noGrad(() => {
      this.runningMean?.zero_();
      this.runningVar?.fill_(1);
      this.numBatchesTracked?.zero_();
    });
  }

  resetParameters(): void {
    this.resetRunningStats();
    if (this.weight) init.ones_(this.weight);
    if (this.bias) init.zeros_(this.bias);
  }

  protected abstract checkInput(x: Tensor): void;

  forward(x: Tensor): Tensor {
    this.checkInput(x);
    let factor = this.momentum ?? 0;
    if (this.training && this.trackRunningStats && this.numBatchesTracked) {
      noGrad(() => this.numBatchesTracked!.add_(1));
      factor = this.momentum ?? 1 / (this.numBatchesTracked.itemSync() as number);
    }
    const useBatchStats = this.training || (this.runningMean === null && this.runningVar === null);
    const track = !this.training || this.trackRunningStats;
    return F.batchNorm(x, track ? this.runningMean : null, track ? this.runningVar : null, {
      weight: this.weight,
      bias: this.bias,
      training: useBatchStats,
      momentum: factor,
      eps: this.eps,
    });
  }

  override extraRepr(): string {
    return `${this.numFeatures}, eps=${pyFloat(this.eps)}, momentum=${this.momentum === null ? 'None' : pyFloat(this.momentum)}, affine=${pyRepr(this.affine)}, track_running_stats=${pyRepr(this.trackRunningStats)}`;
  }
}

/**
 * Batch normalization of [N, C] or [N, C, L] per channel C.
 * @example
 * const bn = new BatchNorm1d(64);
 * bn.call(randn([32, 64])).shape; // [32, 64]; bn.runningMean is updated in training mode
 */
export class BatchNorm1d extends BatchNormBase {
  protected checkInput(x: Tensor): void {
    if ((x.ndim !== 2 && x.ndim !== 3) || x.shape[1] !== this.numFeatures) {
      throw new Error(
        `BatchNorm1d: expected a 2-D [N, ${this.numFeatures}] or 3-D [N, ${this.numFeatures}, L] input (num_features=${this.numFeatures}), got shape ${formatShape(x.shape)}`,
      );
    }
  }
}

/**
 * Batch normalization of [N, C, H, W] per channel C.
 * @example
 * const bn = new BatchNorm2d(16);
 * bn.call(randn([8, 16, 5, 5])).shape; // [8, 16, 5, 5]
 */
export class BatchNorm2d extends BatchNormBase {
  protected checkInput(x: Tensor): void {
    if (x.ndim !== 4 || x.shape[1] !== this.numFeatures) {
      throw new Error(
        `BatchNorm2d: expected a 4-D [N, ${this.numFeatures}, H, W] input (num_features=${this.numFeatures}), got shape ${formatShape(x.shape)}`,
      );
    }
  }
}

function normalizedShapeOf(layer: string, shape: number | readonly number[]): number[] {
  const out = typeof shape === 'number' ? [shape] : [...shape];
  if (out.length === 0)
    throw new Error(`${layer}: normalized_shape must have at least one dimension`);
  for (const d of out) checkPositiveInt(layer, 'normalized_shape', d);
  return out;
}

function checkTrailing(layer: string, x: Tensor, normalizedShape: readonly number[]): void {
  const n = normalizedShape.length;
  const tail = x.shape.slice(x.ndim - n);
  if (x.ndim < n || tail.some((d, i) => d !== normalizedShape[i])) {
    throw new Error(
      `${layer}: expected input with trailing dimensions ${formatShape(normalizedShape)} (normalized_shape), got shape ${formatShape(x.shape)}`,
    );
  }
}

export interface LayerNormOptions {
  eps?: number;
  /** Learnable elementwise scale (and shift, unless bias is false). */
  elementwiseAffine?: boolean;
  bias?: boolean;
}

/**
 * Normalizes over the trailing normalizedShape dimensions of each sample.
 * @example
 * const ln = new LayerNorm(512);
 * ln.call(randn([4, 10, 512])).shape; // [4, 10, 512]
 */
export class LayerNorm extends Module {
  readonly normalizedShape: number[];
  readonly eps: number;
  readonly elementwiseAffine: boolean;
  weight: Parameter | null;
  bias: Parameter | null;

  constructor(
    normalizedShape: number | readonly number[],
    { eps = 1e-5, elementwiseAffine = true, bias = true }: LayerNormOptions = {},
  ) {
    super();
    this.normalizedShape = normalizedShapeOf('LayerNorm', normalizedShape);
    this.eps = eps;
    this.elementwiseAffine = elementwiseAffine;
    this.weight = elementwiseAffine ? new Parameter(ones(this.normalizedShape)) : null;
    this.bias = elementwiseAffine && bias ? new Parameter(zeros(this.normalizedShape)) : null;
  }

  forward(x: Tensor): Tensor {
    checkTrailing('LayerNorm', x, this.normalizedShape);
    return F.layerNorm(x, this.normalizedShape, this.weight, this.bias, this.eps);
  }

  override extraRepr(): string {
    return `${pyRepr(this.normalizedShape)}, eps=${pyFloat(this.eps)}, elementwise_affine=${pyRepr(this.elementwiseAffine)}`;
  }
}

/**
 * Root-mean-square normalization over the trailing dimensions: x / √(mean(x²) + eps) · weight.
 * eps defaults to the dtype's machine epsilon, as PyTorch.
 * @example
 * const norm = new RMSNorm(4096);
 * norm.call(randn([2, 7, 4096])).shape; // [2, 7, 4096]
 */
export class RMSNorm extends Module {
  readonly normalizedShape: number[];
  readonly eps: number | null;
  readonly elementwiseAffine: boolean;
  weight: Parameter | null;

  constructor(
    normalizedShape: number | readonly number[],
    {
      eps = null,
      elementwiseAffine = true,
    }: { eps?: number | null; elementwiseAffine?: boolean } = {},
  ) {
    super();
    this.normalizedShape = normalizedShapeOf('RMSNorm', normalizedShape);
    this.eps = eps;
    this.elementwiseAffine = elementwiseAffine;
    this.weight = elementwiseAffine ? new Parameter(ones(this.normalizedShape)) : null;
  }

  forward(x: Tensor): Tensor {
    checkTrailing('RMSNorm', x, this.normalizedShape);
    return F.rmsNorm(x, this.normalizedShape, this.weight, this.eps ?? undefined);
  }

  override extraRepr(): string {
    return `${pyRepr(this.normalizedShape)}, eps=${this.eps === null ? 'None' : pyFloat(this.eps)}, elementwise_affine=${pyRepr(this.elementwiseAffine)}`;
  }
}

/**
 * Splits the channels of [N, C, *] into numGroups groups and normalizes each group of each sample.
 * @example
 * const gn = new GroupNorm(4, 16);
 * gn.call(randn([2, 16, 8, 8])).shape; // [2, 16, 8, 8]
 */
export class GroupNorm extends Module {
  readonly eps: number;
  readonly affine: boolean;
  weight: Parameter | null;
  bias: Parameter | null;

  constructor(
    readonly numGroups: number,
    readonly numChannels: number,
    { eps = 1e-5, affine = true }: { eps?: number; affine?: boolean } = {},
  ) {
    super();
    checkPositiveInt('GroupNorm', 'num_groups', numGroups);
    checkPositiveInt('GroupNorm', 'num_channels', numChannels);
    if (numChannels % numGroups !== 0)
      throw new Error(
        `GroupNorm: num_channels (${numChannels}) must be divisible by num_groups (${numGroups})`,
      );
    this.eps = eps;
    this.affine = affine;
    this.weight = affine ? new Parameter(ones([numChannels])) : null;
    this.bias = affine ? new Parameter(zeros([numChannels])) : null;
  }

  forward(x: Tensor): Tensor {
    if (x.ndim < 2 || x.shape[1] !== this.numChannels) {
      throw new Error(
        `GroupNorm: expected input of shape [N, ${this.numChannels}, *] (num_channels=${this.numChannels}), got shape ${formatShape(x.shape)}`,
      );
    }
    return F.groupNorm(x, this.numGroups, this.weight, this.bias, this.eps);
  }

  override extraRepr(): string {
    return `${this.numGroups}, ${this.numChannels}, eps=${pyFloat(this.eps)}, affine=${pyRepr(this.affine)}`;
  }
}
