/** Pooling layers: MaxPool2d, AvgPool2d and AdaptiveAvgPool2d over F's pooling. */
import type { Tensor } from '../../tensor/tensor.js';
import { formatShape } from '../../tensor/shape.js';
import * as F from '../functional/index.js';
import { Module, pyRepr } from '../module.js';

type Size2 = number | [number, number];

function checkInput(layer: string, x: Tensor): [Tensor, boolean] {
  if (x.ndim !== 3 && x.ndim !== 4) {
    throw new Error(
      `${layer}: expected a 3-D [C, H, W] or 4-D [N, C, H, W] input, got shape ${formatShape(x.shape)}`,
    );
  }
  return x.ndim === 4 ? [x, true] : [x.unsqueeze(0), false];
}

export interface MaxPool2dOptions {
  /** Window step; defaults to kernelSize. */
  stride?: Size2 | null;
  padding?: Size2;
  dilation?: Size2;
  ceilMode?: boolean;
}

/**
 * The maximum over each kernelSize window of [N, C, H, W].
 * @example
 * new MaxPool2d(2).call(randn([1, 3, 8, 8])).shape; // [1, 3, 4, 4]
 */
export class MaxPool2d extends Module {
  readonly kernelSize: Size2;
  readonly stride: Size2;
  readonly padding: Size2;
  readonly dilation: Size2;
  readonly ceilMode: boolean;

  constructor(
    kernelSize: Size2,
    { stride = null, padding = 0, dilation = 1, ceilMode = false }: MaxPool2dOptions = {},
  ) {
    super();
    this.kernelSize = kernelSize;
    this.stride = stride ?? kernelSize;
    this.padding = padding;
    this.dilation = dilation;
    this.ceilMode = ceilMode;
  }

  forward(x: Tensor): Tensor {
    const [input, wasBatched] = checkInput('MaxPool2d', x);
    const out = F.maxPool2d(input, this.kernelSize, {
      stride: this.stride,
      padding: this.padding,
      dilation: this.dilation,
      ceilMode: this.ceilMode,
    });
    return wasBatched ? out : out.squeeze(0);
  }

  override extraRepr(): string {
    return `kernel_size=${pyRepr(this.kernelSize)}, stride=${pyRepr(this.stride)}, padding=${pyRepr(this.padding)}, dilation=${pyRepr(this.dilation)}, ceil_mode=${pyRepr(this.ceilMode)}`;
  }
}

export interface AvgPool2dOptions {
  stride?: Size2 | null;
  padding?: Size2;
  ceilMode?: boolean;
  countIncludePad?: boolean;
}

/**
 * The mean over each kernelSize window of [N, C, H, W].
 * @example
 * new AvgPool2d(2).call(randn([1, 3, 8, 8])).shape; // [1, 3, 4, 4]
 */
export class AvgPool2d extends Module {
  readonly kernelSize: Size2;
  readonly stride: Size2;
  readonly padding: Size2;
  readonly ceilMode: boolean;
  readonly countIncludePad: boolean;

  constructor(
    kernelSize: Size2,
    { stride = null, padding = 0, ceilMode = false, countIncludePad = true }: AvgPool2dOptions = {},
  ) {
    super();
    this.kernelSize = kernelSize;
    this.stride = stride ?? kernelSize;
    this.padding = padding;
    this.ceilMode = ceilMode;
    this.countIncludePad = countIncludePad;
  }

  forward(x: Tensor): Tensor {
    const [input, wasBatched] = checkInput('AvgPool2d', x);
    const out = F.avgPool2d(input, this.kernelSize, {
      stride: this.stride,
      padding: this.padding,
      ceilMode: this.ceilMode,
      countIncludePad: this.countIncludePad,
    });
    return wasBatched ? out : out.squeeze(0);
  }

  override extraRepr(): string {
    return `kernel_size=${pyRepr(this.kernelSize)}, stride=${pyRepr(this.stride)}, padding=${pyRepr(this.padding)}`;
  }
}

/**
 * Average pooling to a fixed output size, whatever the input's: [N, C, H, W] → [N, C, outH, outW].
 * @example
 * new AdaptiveAvgPool2d(1).call(randn([2, 64, 7, 7])).shape; // [2, 64, 1, 1]
 */
export class AdaptiveAvgPool2d extends Module {
  constructor(readonly outputSize: Size2) {
    super();
  }

  forward(x: Tensor): Tensor {
    const [input, wasBatched] = checkInput('AdaptiveAvgPool2d', x);
    const out = F.adaptiveAvgPool2d(input, this.outputSize);
    return wasBatched ? out : out.squeeze(0);
  }

  override extraRepr(): string {
    return `output_size=${pyRepr(this.outputSize)}`;
  }
}
