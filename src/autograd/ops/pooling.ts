/**
 * Max pooling as one primitive: the forward finds each window's max and the index of its first
 * maximum in one pass; the backward scatter-adds the gradient to those indices. The backward is
 * written with the differentiable scatterAdd (whose own backward is a gather at the same
 * indices), so max pooling is differentiable any number of times.
 */
import type { Conv2dGeometry } from '../../backend/backend.js';
import { formatShape } from '../../tensor/shape.js';
import { Tensor } from '../../tensor/tensor.js';
import { assertTensor, fromStorage, record } from '../define.js';
import { scatterAdd } from './indexing.js';

/**
 * Whether every window of `g` with `out` positions along one dim of length `size` holds at least
 * one element inside the image (dilated windows may step over it, ceil-mode windows may overhang).
 */
function everyWindowTouches(
  size: number,
  out: number,
  kernel: number,
  stride: number,
  padding: number,
  dilation: number,
): boolean {
  for (let o = 0; o < out; o++) {
    let touches = false;
    for (let k = 0; k < kernel && !touches; k++) {
      const i = o * stride - padding + k * dilation;
      touches = i >= 0 && i < size;
    }
    if (!touches) return false;
  }
  return true;
}

/** Whether maxPool2dWithIndices can take these windows: none of them may lie wholly outside the image. */
export function maxPoolWindowsValid(
  h: number,
  w: number,
  g: Conv2dGeometry,
  outSize: readonly [number, number],
): boolean {
  return (
    everyWindowTouches(h, outSize[0], g.kernel[0], g.stride[0], g.padding[0], g.dilation[0]) &&
    everyWindowTouches(w, outSize[1], g.kernel[1], g.stride[1], g.padding[1], g.dilation[1])
  );
}

/**
 * The max of each window of x [N, C, H, W] and the int32 index y·W + x of its first maximum in
 * the plane (PyTorch's max_pool2d_with_indices). `outSize` windows per dim; a window may overhang
 * the bottom/right edge (ceil mode) but must hold at least one image element
 * (see maxPoolWindowsValid). The gradient flows to the indexed elements.
 */
export function maxPool2dWithIndices(
  input: Tensor,
  geometry: Conv2dGeometry,
  outSize: readonly [number, number],
): [Tensor, Tensor] {
  const x = assertTensor('maxPool2d', input);
  if (x.ndim !== 4)
    throw new Error(
      `maxPool2d: expected input of rank 4 [N, C, H, W], got shape ${formatShape(x.shape)}`,
    );
  const [n, c, h, w] = x.shape;
  if (!maxPoolWindowsValid(h, w, geometry, outSize)) {
    throw new Error(
      `maxPool2d: a window of kernel [${geometry.kernel.join(', ')}] lies wholly in the padding of an input of shape ${formatShape(x.shape)}`,
    );
  }
  const [outH, outW] = outSize;
  const shape = [n, c, outH, outW];
  const { values, indices } = x.backend.maxPool2d(x, geometry, outSize);
  const index = Tensor.fromStorage(indices, shape, 'int32', x.backend);
  const out = fromStorage(values, shape, x.dtype, x);
  record('MaxPool2dBackward', out, [x], [index], (g, [idx]) => {
    // A zero expanded to the input's shape: the scatter writes its result in one pass, with no
    // zero-filled input to allocate and copy.
    const zeros = fromStorage(g.backend.fromValues(g.dtype, [0]), [], g.dtype, g).expand([
      n,
      c,
      h * w,
    ]);
    return [
      scatterAdd(
        zeros,
        2,
        idx.reshape([n, c, outH * outW]),
        g.reshape([n, c, outH * outW]),
      ).reshape([n, c, h, w]),
    ];
  });
  return [out, index];
}
