/**
 * 2-D pooling over x [N, C, H, W]: max pooling is one primitive (values and first-maximum
 * indices in one pass, the gradient scattered to those indices, as PyTorch); average pooling
 * sums each window and divides by PyTorch's divisor, and adaptive average pooling multiplies by
 * averaging matrices on both sides.
 */
import type { Conv2dGeometry } from '../../autograd/ops/conv.js';
import { unfold2d } from '../../autograd/ops/conv.js';
import { maxPool2dWithIndices, maxPoolWindowsValid } from '../../autograd/ops/pooling.js';
import { pad } from '../../autograd/ops/shape_ops.js';
import { tensor } from '../../tensor/creation.js';
import { formatShape, windowOutputSize } from '../../tensor/shape.js';
import type { Tensor } from '../../tensor/tensor.js';
import { expectRank, floatInput, nonNegativeInt, pair, positiveInt } from './checks.js';

export interface MaxPool2dOptions {
  /** Window step; defaults to kernelSize. */
  stride?: number | [number, number];
  /** Implicit −Infinity padding on each side; at most half the (dilated) kernel. */
  padding?: number | [number, number];
  dilation?: number | [number, number];
  /** Round the output size up, letting the last window hang over the end. */
  ceilMode?: boolean;
}

export interface AvgPool2dOptions {
  stride?: number | [number, number];
  /** Implicit zero padding on each side; at most half the kernel. */
  padding?: number | [number, number];
  ceilMode?: boolean;
  /** Whether padded zeros count in the divisor. */
  countIncludePad?: boolean;
}

interface PoolWindows {
  geometry: Conv2dGeometry;
  outH: number;
  outW: number;
  /** Extra bottom/right padding so that ceil-mode windows fit. */
  extra: [number, number];
}

function poolWindows(
  op: string,
  x: Tensor,
  kernelSize: number | [number, number],
  options: {
    stride?: number | [number, number];
    padding?: number | [number, number];
    dilation?: number | [number, number];
    ceilMode?: boolean;
  },
): PoolWindows {
  expectRank(op, x, 4, '[N, C, H, W]');
  const kernel = pair(op, 'kernelSize', kernelSize, positiveInt);
  const stride = pair(op, 'stride', options.stride ?? kernel, positiveInt);
  const padding = pair(op, 'padding', options.padding ?? 0, nonNegativeInt);
  const dilation = pair(op, 'dilation', options.dilation ?? 1, positiveInt);
  const ceilMode = options.ceilMode ?? false;
  for (const i of [0, 1]) {
    // Max pooling allows half the dilated kernel, average pooling half the kernel.
    const limit = op === 'maxPool2d' ? ((kernel[i] - 1) * dilation[i] + 1) / 2 : kernel[i] / 2;
    if (padding[i] > limit) {
      throw new Error(
        `${op}: padding should be at most half of the ${op === 'maxPool2d' ? 'effective ' : ''}kernel size, got padding [${padding.join(', ')}] for kernelSize [${kernel.join(', ')}]`,
      );
    }
  }
  const [h, w] = x.shape.slice(2);
  const outH = windowOutputSize(h, kernel[0], stride[0], padding[0], dilation[0], ceilMode);
  const outW = windowOutputSize(w, kernel[1], stride[1], padding[1], dilation[1], ceilMode);
  if (outH <= 0 || outW <= 0) {
    throw new Error(
      `${op}: input of shape ${formatShape(x.shape)} is too small for kernelSize [${kernel.join(', ')}] with padding [${padding.join(', ')}]: output size would be ${outH}x${outW}`,
    );
  }
  const needed = (out: number, i: number, size: number) =>
    Math.max(
      0,
      (out - 1) * stride[i] + dilation[i] * (kernel[i] - 1) + 1 - (size + 2 * padding[i]),
    );
  return {
    geometry: { kernel, stride, padding, dilation },
    outH,
    outW,
    extra: [needed(outH, 0, h), needed(outW, 1, w)],
  };
}

/** The windows of x as [N, C, kh·kw, outH·outW]; padding (and ceil-mode overhang) reads padValue. */
function windows(x: Tensor, p: PoolWindows, padValue: number): Tensor {
  const [n, c] = x.shape;
  const input =
    p.extra[0] || p.extra[1] ? pad(x, [0, p.extra[1], 0, p.extra[0]], 'constant', padValue) : x;
  const [kh, kw] = p.geometry.kernel;
  return unfold2d(input, p.geometry, padValue).reshape([n, c, kh * kw, p.outH * p.outW]);
}

/**
 * The maximum of each kernelSize window. The gradient flows to the (first) maximum of each window.
 * @example
 * F.maxPool2d(randn([1, 3, 32, 32]), 2).shape; // [1, 3, 16, 16]
 */
export function maxPool2d(
  x: Tensor,
  kernelSize: number | [number, number],
  options: MaxPool2dOptions = {},
): Tensor {
  const input = floatInput('maxPool2d', x);
  const p = poolWindows('maxPool2d', input, kernelSize, options);
  const [n, c, h, w] = input.shape;
  // One pass for values and argmax indices; windows wholly in the padding take the general path.
  if (maxPoolWindowsValid(h, w, p.geometry, [p.outH, p.outW]))
    return maxPool2dWithIndices(input, p.geometry, [p.outH, p.outW])[0];
  return windows(input, p, -Infinity).max(2).values.reshape([n, c, p.outH, p.outW]);
}

/** PyTorch's avg_pool2d divisor for each output position, as a [outH, outW] list. */
function avgDivisors(h: number, w: number, p: PoolWindows, countIncludePad: boolean): number[] {
  const { kernel, stride, padding } = p.geometry;
  const ranges = (out: number, i: number, size: number) =>
    Array.from({ length: out }, (_, o) => {
      const start = o * stride[i] - padding[i];
      const end = Math.min(start + kernel[i], size + padding[i]);
      // Counting padding counts the window up to the padded edge, never the ceil-mode overhang.
      return countIncludePad ? end - start : Math.min(end, size) - Math.max(start, 0);
    });
  const rows = ranges(p.outH, 0, h);
  const cols = ranges(p.outW, 1, w);
  // A window of padding only sums to 0; divide by 1 so it averages to 0 as in PyTorch.
  return rows.flatMap((r) => cols.map((c) => Math.max(r * c, 1)));
}

/**
 * The mean of each kernelSize window, with PyTorch's countIncludePad and ceilMode rules.
 * @example
 * F.avgPool2d(randn([1, 3, 32, 32]), 3, { stride: 2, padding: 1 }).shape; // [1, 3, 16, 16]
 */
export function avgPool2d(
  x: Tensor,
  kernelSize: number | [number, number],
  options: AvgPool2dOptions = {},
): Tensor {
  const input = floatInput('avgPool2d', x);
  const p = poolWindows('avgPool2d', input, kernelSize, { ...options, dilation: 1 });
  const [n, c, h, w] = input.shape;
  const divisors = tensor(avgDivisors(h, w, p, options.countIncludePad ?? true), {
    dtype: input.dtype,
    device: input.device,
  });
  return windows(input, p, 0).sum(2).div(divisors).reshape([n, c, p.outH, p.outW]);
}

/** [out, size] matrix whose row i averages PyTorch's adaptive bin [floor(i·size/out), ceil((i+1)·size/out)). */
function averagingMatrix(size: number, out: number, like: Tensor): Tensor {
  const values = new Array<number>(out * size).fill(0);
  for (let i = 0; i < out; i++) {
    const start = Math.floor((i * size) / out);
    const end = Math.ceil(((i + 1) * size) / out);
    for (let j = start; j < end; j++) values[i * size + j] = 1 / (end - start);
  }
  return tensor(values, { shape: [out, size], dtype: like.dtype, device: like.device });
}

/**
 * Average pooling to a fixed output size [outH, outW], whatever the input size.
 * @example
 * F.adaptiveAvgPool2d(randn([2, 512, 7, 7]), 1).shape; // [2, 512, 1, 1]
 */
export function adaptiveAvgPool2d(x: Tensor, outputSize: number | [number, number]): Tensor {
  const input = floatInput('adaptiveAvgPool2d', x);
  expectRank('adaptiveAvgPool2d', input, 4, '[N, C, H, W]');
  const [outH, outW] = pair('adaptiveAvgPool2d', 'outputSize', outputSize, positiveInt);
  const [h, w] = input.shape.slice(2);
  if (h === 0 || w === 0)
    throw new Error(
      `adaptiveAvgPool2d: input of shape ${formatShape(input.shape)} has an empty spatial dim`,
    );
  return averagingMatrix(h, outH, input)
    .matmul(input)
    .matmul(averagingMatrix(w, outW, input).t());
}
