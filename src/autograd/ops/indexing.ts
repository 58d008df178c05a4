/** Gather/scatter-style indexing and their derivatives (each other's adjoints). */
import { broadcastShapes, formatShape, normalizeDim, shapeSize } from '../../tensor/shape.js';
import { Tensor, type TensorLike } from '../../tensor/tensor.js';
import { assertTensor, binaryOperands, castRaw, fromStorage, record } from '../define.js';
import { where } from './elementwise.js';
import { pad } from './shape_ops.js';

function assertIndex(op: string, index: Tensor): void {
  assertTensor(op, index, 'index');
  if (index.dtype !== 'int32')
    throw new TypeError(`${op}: index must be an int32 tensor, got ${index.dtype}`);
}

function checkGatherShapes(op: string, x: Tensor, d: number, index: Tensor, other?: Tensor): void {
  if (index.ndim !== x.ndim && !(x.ndim === 0 && index.ndim <= 1)) {
    throw new Error(
      `${op}: index must have the same rank as input (${x.ndim}), got index shape ${formatShape(index.shape)} for input shape ${formatShape(x.shape)}`,
    );
  }
  index.shape.forEach((s, i) => {
    if (i !== d && s > x.shape[i]) {
      throw new Error(
        `${op}: index shape ${formatShape(index.shape)} is larger than input shape ${formatShape(x.shape)} in dimension ${i}`,
      );
    }
    if (other && s > other.shape[i]) {
      throw new Error(
        `${op}: index shape ${formatShape(index.shape)} is larger than src shape ${formatShape(other.shape)} in dimension ${i}`,
      );
    }
  });
}

/**
 * out[i][j] = x[index[i][j]][j] for dim 0 (and likewise for other dims).
 * @example
 * x.gather(1, labels.unsqueeze(1)); // pick one column per row
 */
export function gather(input: Tensor, dim: number, index: Tensor): Tensor {
  const x = assertTensor('gather', input);
  assertIndex('gather', index);
  const d = normalizeDim('gather', dim, x.ndim);
  checkGatherShapes('gather', x, d, index);
  const out = fromStorage(x.backend.gather(x, d, index), index.shape, x.dtype, x);
  return record('GatherBackward', out, [x], [index], (g, [idx]) => [
    scatterAdd(zerosOf(x.shape, g), d, idx, g),
  ]);
}

function zerosOf(shape: readonly number[], like: Tensor): Tensor {
  return fromStorage(like.backend.allocate(like.dtype, shapeSize(shape)), shape, like.dtype, like);
}

/** The gradient of scatter's src: g read at the index positions, zero where src is larger than index. */
function srcGrad(g: Tensor, d: number, idx: Tensor, srcShape: readonly number[]): Tensor {
  const gathered = g.gather(d, idx);
  if (gathered.shape.every((s, i) => s === srcShape[i])) return gathered;
  const padding = srcShape.flatMap((_, k) => {
    const i = srcShape.length - 1 - k;
    return [0, srcShape[i] - gathered.shape[i]];
  });
  return pad(gathered, padding);
}

/** A copy of x with src added at the positions index names along dim (duplicates accumulate). */
export function scatterAdd(input: Tensor, dim: number, index: Tensor, src: Tensor): Tensor {
  const x = assertTensor('scatterAdd', input);
  assertTensor('scatterAdd', src, 'src');
  assertIndex('scatterAdd', index);
  const d = normalizeDim('scatterAdd', dim, x.ndim);
  checkGatherShapes('scatterAdd', x, d, index, src);
  const out = fromStorage(
    x.backend.scatter(x, d, index, castRaw(src, x.dtype), 'add'),
    x.shape,
    x.dtype,
    x,
  );
  return record('ScatterAddBackward', out, [x, src], [index], (g, [idx], needs) => [
    g,
    needs[1] ? srcGrad(g, d, idx, src.shape) : null,
  ]);
}

/** A copy of x with src (or a number) written at the positions index names along dim. */
export function scatter(input: Tensor, dim: number, index: Tensor, src: TensorLike): Tensor {
  const x = assertTensor('scatter', input);
  assertIndex('scatter', index);
  const d = normalizeDim('scatter', dim, x.ndim);
  const source =
    src instanceof Tensor
      ? src
      : Tensor.fromStorage(
          x.backend.fromValues(x.dtype, new Array(shapeSize(index.shape)).fill(Number(src))),
          index.shape,
          x.dtype,
          x.backend,
        );
  checkGatherShapes('scatter', x, d, index, source);
  const out = fromStorage(
    x.backend.scatter(x, d, index, castRaw(source, x.dtype), 'assign'),
    x.shape,
    x.dtype,
    x,
  );
  return record(
    'ScatterBackward',
    out,
    [x, src instanceof Tensor ? source : null],
    [index],
    (g, [idx], needs) => {
      // Overwritten positions pass no gradient to x; they pass it to src instead.
      const written = zerosOf(x.shape, g).scatter(d, idx, 1).ne(0);
      return [
        needs[0] ? where(written, 0, g) : null,
        needs[1] ? srcGrad(g, d, idx, source.shape) : null,
      ];
    },
  );
}

/** Rows (or slices along dim) of x in the order of the 1-D index. */
export function indexSelect(input: Tensor, dim: number, index: Tensor): Tensor {
  const x = assertTensor('indexSelect', input);
  assertIndex('indexSelect', index);
  if (index.ndim > 1)
    throw new Error(`indexSelect: index must be 1-D, got shape ${formatShape(index.shape)}`);
  const d = normalizeDim('indexSelect', dim, x.ndim);
  const flat = index.reshape([-1]);
  const shape = x.shape.map((s, i) => (i === d ? flat.shape[0] : s));
  const view = x.shape.map((_, i) => (i === d ? flat.shape[0] : 1));
  try {
    return gather(x, d, flat.reshape(view).expand(shape));
  } catch (e) {
    // The kernel's bounds check names gather; name the op the user called.
    if (e instanceof RangeError && e.message.startsWith('gather: '))
      throw new RangeError(`indexSelect: ${e.message.slice('gather: '.length)}`);
    throw e;
  }
}

/** x with `value` where mask is true; mask broadcasts against x. */
export function maskedFill(input: Tensor, mask: Tensor, value: TensorLike): Tensor {
  const x = assertTensor('maskedFill', input);
  assertTensor('maskedFill', mask, 'mask');
  if (mask.dtype !== 'bool')
    throw new TypeError(`maskedFill: mask must be a bool tensor, got ${mask.dtype}`);
  if (value instanceof Tensor && value.ndim !== 0) {
    throw new Error(
      `maskedFill: value must be a number or a 0-d tensor, got shape ${formatShape(value.shape)}`,
    );
  }
  const [, fill] = binaryOperands('maskedFill', x, value);
  const broadcast = broadcastShapes('maskedFill', mask.shape, x.shape);
  if (broadcast.length !== x.ndim || broadcast.some((s, i) => s !== x.shape[i])) {
    throw new Error(
      `maskedFill: mask of shape ${formatShape(mask.shape)} does not broadcast to the input's shape ${formatShape(x.shape)}`,
    );
  }
  const out = where(mask, fill, x);
  if (out.ndim !== x.ndim || out.shape.some((s, i) => s !== x.shape[i])) {
    throw new Error(
      `maskedFill: mask of shape ${formatShape(mask.shape)} does not broadcast to the input's shape ${formatShape(x.shape)}`,
    );
  }
  return out.dtype === x.dtype ? out : out.to(x.dtype);
}
