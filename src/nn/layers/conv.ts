/**
 * Convolution layers: Conv1d, Conv2d and ConvTranspose2d over F's convolutions. Weights from
 * kaimingUniform_(a = √5) and biases from U(±1/√fan_in), as PyTorch initializes them.
 */
import type { Tensor } from '../../tensor/tensor.js';
import { formatShape } from '../../tensor/shape.js';
import * as F from '../functional/index.js';
import * as init from '../init.js';
import { Module, pyRepr } from '../module.js';
import { Parameter } from '../parameter.js';
import { checkPositiveInt, empty, ntuple } from './util.js';

export interface ConvOptions<T> {
  stride?: T;
  /** Zero padding on each side; 'same' keeps the size (stride 1), 'valid' is none. */
  padding?: T | 'same' | 'valid';
  dilation?: T;
  groups?: number;
  bias?: boolean;
}

export interface ConvTranspose2dOptions {
  stride?: number | [number, number];
  padding?: number | [number, number];
  outputPadding?: number | [number, number];
  groups?: number;
  bias?: boolean;
  dilation?: number | [number, number];
}

/** The shared state of the conv layers: sizes, the weight and bias, PyTorch's init and repr. */
abstract class ConvNd extends Module {
  weight!: Parameter;
  bias!: Parameter | null;

  constructor(
    protected readonly layer: string,
    readonly inChannels: number,
    readonly outChannels: number,
    readonly kernelSize: number[],
    readonly stride: number[],
    readonly padding: number[] | 'same' | 'valid',
    readonly dilation: number[],
    readonly groups: number,
    readonly outputPadding: number[],
    transposed: boolean,
    bias: boolean,
  ) {
    super();
    checkPositiveInt(layer, 'in_channels', inChannels);
    checkPositiveInt(layer, 'out_channels', outChannels);
    checkPositiveInt(layer, 'groups', groups);
    if (inChannels % groups !== 0)
      throw new Error(
        `${layer}: in_channels (${inChannels}) must be divisible by groups (${groups})`,
      );
    if (outChannels % groups !== 0)
      throw new Error(
        `${layer}: out_channels (${outChannels}) must be divisible by groups (${groups})`,
      );
    for (const k of kernelSize) checkPositiveInt(layer, 'kernel_size', k);
    for (const s of stride) checkPositiveInt(layer, 'stride', s);
    for (const d of dilation) checkPositiveInt(layer, 'dilation', d);
    if (padding === 'same' && stride.some((s) => s !== 1))
      throw new Error(`${layer}: padding='same' is not supported for strided convolutions`);
    const shape = transposed
      ? [inChannels, outChannels / groups, ...kernelSize]
      : [outChannels, inChannels / groups, ...kernelSize];
    this.weight = new Parameter(empty(shape));
    this.bias = bias ? new Parameter(empty([outChannels])) : null;
    this.resetParameters();
  }

  resetParameters(): void {
    init.kaimingUniform_(this.weight, { a: Math.sqrt(5) });
    if (this.bias) {
      const { fanIn } = init.calculateFanInAndFanOut(this.weight);
      const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
      init.uniform_(this.bias, -bound, bound);
    }
  }

  /** Checks the input is [N, C, *spatial] or unbatched [C, *spatial]; returns it batched and whether it was. */
  protected batched(x: Tensor, spatial: string[]): [Tensor, boolean] {
    const rank = spatial.length + 2;
    const ok =
      (x.ndim === rank || x.ndim === rank - 1) &&
      x.shape[x.ndim - spatial.length - 1] === this.inChannels;
    if (!ok) {
      throw new Error(
        `${this.layer}: expected input of shape [N, ${this.inChannels}, ${spatial.join(', ')}] or [${this.inChannels}, ${spatial.join(', ')}] (in_channels=${this.inChannels}), got shape ${formatShape(x.shape)}`,
      );
    }
    return x.ndim === rank ? [x, true] : [x.unsqueeze(0), false];
  }

  override extraRepr(): string {
    const allEqual = (v: number[], n: number) => v.every((x) => x === n);
    let s = `${this.inChannels}, ${this.outChannels}, kernel_size=${pyRepr(this.kernelSize)}, stride=${pyRepr(this.stride)}`;
    if (typeof this.padding === 'string' || !allEqual(this.padding, 0))
      s += `, padding=${typeof this.padding === 'string' ? this.padding : pyRepr(this.padding)}`;
    if (!allEqual(this.dilation, 1)) s += `, dilation=${pyRepr(this.dilation)}`;
    if (!allEqual(this.outputPadding, 0)) s += `, output_padding=${pyRepr(this.outputPadding)}`;
    if (this.groups !== 1) s += `, groups=${this.groups}`;
    if (this.bias === null) s += ', bias=False';
    return s;
  }
}

function paddingOf(
  layer: string,
  padding: number | readonly number[] | 'same' | 'valid',
  n: number,
): number[] | 'same' | 'valid' {
  if (padding === 'same' || padding === 'valid') return padding;
  const out = ntuple(layer, 'padding', padding, n);
  if (out.some((p) => p < 0))
    throw new RangeError(`${layer}: padding must be non-negative, got ${JSON.stringify(padding)}`);
  return out;
}

/**
 * 1-D convolution over [N, C, L] (or unbatched [C, L]). Weight [outChannels, inChannels / groups, kernelSize].
 * @example
 * const conv = new Conv1d(16, 33, 3, { stride: 2 });
 * conv.call(randn([20, 16, 50])).shape; // [20, 33, 24]
 */
export class Conv1d extends ConvNd {
  constructor(
    inChannels: number,
    outChannels: number,
    kernelSize: number,
    options: ConvOptions<number> = {},
  ) {
    const { stride = 1, padding = 0, dilation = 1, groups = 1, bias = true } = options;
    super(
      'Conv1d',
      inChannels,
      outChannels,
      ntuple('Conv1d', 'kernel_size', kernelSize, 1),
      ntuple('Conv1d', 'stride', stride, 1),
      paddingOf('Conv1d', padding, 1),
      ntuple('Conv1d', 'dilation', dilation, 1),
      groups,
      [0],
      false,
      bias,
    );
  }

  forward(x: Tensor): Tensor {
    const [input, wasBatched] = this.batched(x, ['L']);
    const out = F.conv1d(input, this.weight, this.bias, {
      stride: this.stride[0],
      padding: typeof this.padding === 'string' ? this.padding : this.padding[0],
      dilation: this.dilation[0],
      groups: this.groups,
    });
    return wasBatched ? out : out.squeeze(0);
  }
}

/**
 * 2-D convolution over [N, C, H, W] (or unbatched [C, H, W]). Weight [outChannels, inChannels / groups, kH, kW].
 * @example
 * const conv = new Conv2d(3, 16, 3, { padding: 1 });
 * conv.call(randn([8, 3, 32, 32])).shape; // [8, 16, 32, 32]
 */
export class Conv2d extends ConvNd {
  constructor(
    inChannels: number,
    outChannels: number,
    kernelSize: number | [number, number],
    options: ConvOptions<number | [number, number]> = {},
  ) {
    const { stride = 1, padding = 0, dilation = 1, groups = 1, bias = true } = options;
    super(
      'Conv2d',
      inChannels,
      outChannels,
      ntuple('Conv2d', 'kernel_size', kernelSize, 2),
      ntuple('Conv2d', 'stride', stride, 2),
      paddingOf('Conv2d', padding, 2),
      ntuple('Conv2d', 'dilation', dilation, 2),
      groups,
      [0, 0],
      false,
      bias,
    );
  }

  forward(x: Tensor): Tensor {
    const [input, wasBatched] = this.batched(x, ['H', 'W']);
    const out = F.conv2d(input, this.weight, this.bias, {
      stride: this.stride as [number, number],
      padding: typeof this.padding === 'string' ? this.padding : (this.padding as [number, number]),
      dilation: this.dilation as [number, number],
      groups: this.groups,
    });
    return wasBatched ? out : out.squeeze(0);
  }
}

/**
 * Transposed 2-D convolution (the gradient of Conv2d with respect to its input), for upsampling.
 * Weight [inChannels, outChannels / groups, kH, kW].
 * @example
 * const up = new ConvTranspose2d(16, 8, 2, { stride: 2 });
 * up.call(randn([1, 16, 10, 10])).shape; // [1, 8, 20, 20]
 */
export class ConvTranspose2d extends ConvNd {
  constructor(
    inChannels: number,
    outChannels: number,
    kernelSize: number | [number, number],
    options: ConvTranspose2dOptions = {},
  ) {
    const {
      stride = 1,
      padding = 0,
      outputPadding = 0,
      groups = 1,
      bias = true,
      dilation = 1,
    } = options;
    const L = 'ConvTranspose2d';
    const outPad = ntuple(L, 'output_padding', outputPadding, 2);
    super(
      L,
      inChannels,
      outChannels,
      ntuple(L, 'kernel_size', kernelSize, 2),
      ntuple(L, 'stride', stride, 2),
      paddingOf(L, padding, 2),
      ntuple(L, 'dilation', dilation, 2),
      groups,
      outPad,
      true,
      bias,
    );
  }

  forward(x: Tensor): Tensor {
    const [input, wasBatched] = this.batched(x, ['H', 'W']);
    const out = F.convTranspose2d(input, this.weight, this.bias, {
      stride: this.stride as [number, number],
      padding: this.padding as [number, number],
      outputPadding: this.outputPadding as [number, number],
      groups: this.groups,
      dilation: this.dilation as [number, number],
    });
    return wasBatched ? out : out.squeeze(0);
  }
}
