/**
 * Sliding windows over images, the two linear maps every convolution and pooling layer is built
 * from: `unfold2d` (im2col) copies each window into a column, `fold2d` (col2im) sums columns
 * back into an image. They are each other's adjoints, so each one's backward is the other and
 * convolutions composed from them are differentiable any number of times.
 */
import { traceKernel } from '../../backend/kernel_trace.js';
import type { Conv2dGeometry } from '../../backend/backend.js';
import { convOutputSize, formatShape } from '../../tensor/shape.js';
import type { Tensor } from '../../tensor/tensor.js';
import { assertTensor, fromStorage, record, wantsGrad } from '../define.js';
import { isGradEnabled } from '../grad_mode.js';
import type { BackwardFn } from '../node.js';

export type { Conv2dGeometry } from '../../backend/backend.js';

function checkGeometry(op: string, g: Conv2dGeometry): void {
  const positive = [...g.kernel, ...g.stride, ...g.dilation];
  if (
    positive.some((v) => !Number.isInteger(v) || v <= 0) ||
    g.padding.some((v) => !Number.isInteger(v) || v < 0)
  ) {
    throw new RangeError(
      `${op}: kernel, stride and dilation must be positive integers and padding non-negative integers, got ` +
        `kernel [${g.kernel.join(', ')}], stride [${g.stride.join(', ')}], padding [${g.padding.join(', ')}], dilation [${g.dilation.join(', ')}]`,
    );
  }
}

/** Output positions (outH, outW) of windows of `g` over an h×w image; throws when there are none. */
function windowCount(
  op: string,
  h: number,
  w: number,
  g: Conv2dGeometry,
): { outH: number; outW: number } {
  const { outH, outW } = convOutputSize(h, w, g);
  if (outH <= 0 || outW <= 0) {
    const kh = g.dilation[0] * (g.kernel[0] - 1) + 1;
    const kw = g.dilation[1] * (g.kernel[1] - 1) + 1;
    throw new Error(
      `${op}: the (dilated) kernel ${kh}x${kw} is larger than the padded input ${h + 2 * g.padding[0]}x${w + 2 * g.padding[1]}`,
    );
  }
  return { outH, outW };
}

/**
 * Copies every kernel window of x [N, C, H, W] into a column: the result is
 * [N, C·kh·kw, outH·outW], rows ordered (channel, kernel row, kernel column) like a flattened
 * conv weight. Positions in the padding read `padValue` (−Infinity for max pooling).
 * @example
 * unfold2d(x, { kernel: [3, 3], stride: [1, 1], padding: [1, 1], dilation: [1, 1] });
 */
export function unfold2d(input: Tensor, geometry: Conv2dGeometry, padValue = 0): Tensor {
  const x = assertTensor('unfold2d', input);
  if (x.ndim !== 4)
    throw new Error(
      `unfold2d: expected input of rank 4 [N, C, H, W], got shape ${formatShape(x.shape)}`,
    );
  checkGeometry('unfold2d', geometry);
  const [n, c, h, w] = x.shape;
  const { outH, outW } = windowCount('unfold2d', h, w, geometry);
  const shape = [n, c * geometry.kernel[0] * geometry.kernel[1], outH * outW];
  const out = fromStorage(x.backend.unfold2d(x, geometry, padValue), shape, x.dtype, x);
  return record('Unfold2dBackward', out, [x], [], (g) => [fold2d(g, [h, w], geometry)]);
}

/**
 * The adjoint of `unfold2d`: sums the columns [N, C·kh·kw, L] back into images
 * [N, C, H, W] of `outputSize` [H, W]; L must be the number of windows over such an image.
 * @example
 * fold2d(columns, [28, 28], { kernel: [3, 3], stride: [1, 1], padding: [1, 1], dilation: [1, 1] });
 */
export function fold2d(
  input: Tensor,
  outputSize: readonly [number, number],
  geometry: Conv2dGeometry,
): Tensor {
  const cols = assertTensor('fold2d', input);
  checkGeometry('fold2d', geometry);
  const [h, w] = outputSize;
  const windowSize = geometry.kernel[0] * geometry.kernel[1];
  if (cols.ndim !== 3 || cols.shape[1] % windowSize !== 0) {
    throw new Error(
      `fold2d: expected columns of shape [N, C·${windowSize}, L], got ${formatShape(cols.shape)}`,
    );
  }
  const { outH, outW } = windowCount('fold2d', h, w, geometry);
  if (cols.shape[2] !== outH * outW) {
    throw new Error(
      `fold2d: columns ${formatShape(cols.shape)} hold ${cols.shape[2]} windows, but an image of size ${h}x${w} has ${outH}x${outW}`,
    );
  }
  const shape: [number, number, number, number] = [cols.shape[0], cols.shape[1] / windowSize, h, w];
  const out = fromStorage(cols.backend.fold2d(cols, shape, geometry), shape, cols.dtype, cols);
  return record('Fold2dBackward', out, [cols], [], (g) => [unfold2d(g, geometry)]);
}

/**
 * conv2d (groups = 1) of x [N, C, H, W] with weight [O, C, kh, kw] and an optional bias [O] by
 * the backend's whole-layer kernel (Backend.conv2d), or null where the backend has none or
 * declines these operands (the caller then composes unfold2d and matmul). The backward uses the
 * backend's gradient kernel; with createGraph (grad mode on during backward) it is written with
 * the differentiable unfold2d / fold2d / matmul instead, so higher derivatives work as for the
 * composed convolution.
 */
export function conv2dLayer(
  x: Tensor,
  weight: Tensor,
  bias: Tensor | null,
  geometry: Conv2dGeometry,
): Tensor | null {
  const backend = x.backend;
  if (
    !backend.conv2d ||
    !backend.conv2dBackward ||
    weight.backend !== backend ||
    (bias && bias.backend !== backend)
  ) {
    traceKernel('conv2d', 'composed');
    return null;
  }
  const [n, c, h, w] = x.shape;
  const [o, , kh, kw] = weight.shape;
  const { outH, outW } = windowCount('conv2d', h, w, geometry);
  const result = backend.conv2d(x, weight, bias, geometry);
  traceKernel('conv2d', result ? 'fused' : 'composed');
  if (!result) return null;
  const out = fromStorage(result.output, [n, o, outH, outW], x.dtype, x);
  if (!wantsGrad(x, weight) && !(bias && wantsGrad(bias))) return out;
  // The columns serve the weight gradient only; saved, so the engine frees them after backward.
  const columns =
    weight.requiresGrad && result.columns
      ? fromStorage(result.columns, [result.columnsSize], x.dtype, x)
      : null;
  const saved = columns ? [x, weight, columns] : [x, weight];
  const L = outH * outW;
  const ckk = c * kh * kw;
  const backward: BackwardFn = (g, [sx, sw, sc], needs) => {
    if (isGradEnabled()) {
      const gl = g.reshape([n, o, L]);
      return [
        needs[0] ? fold2d(sw.reshape([o, ckk]).transpose(0, 1).matmul(gl), [h, w], geometry) : null,
        needs[1]
          ? gl.matmul(unfold2d(sx, geometry).transpose(1, 2)).sum(0).reshape(sw.shape)
          : null,
        needs[2] ? g.sum([0, 2, 3]) : null,
      ];
    }
    const grads = backend.conv2dBackward!(sx, sw, g, geometry, sc ? sc.storage : null, [
      needs[0],
      needs[1],
      needs[2],
    ]);
    return [
      grads.input ? fromStorage(grads.input, [n, c, h, w], g.dtype, g) : null,
      grads.weight ? fromStorage(grads.weight, sw.shape, g.dtype, g) : null,
      grads.bias ? fromStorage(grads.bias, [o], g.dtype, g) : null,
    ];
  };
  return record(
    'ConvolutionBackward',
    out,
    [x, weight, bias],
    saved,
    backward,
    columns ? [columns] : [],
  );
}
