/** Shape and stride arithmetic shared by every layer. Shapes are arrays of non-negative ints. */
import type { Conv2dGeometry } from '../backend/backend.js';
import { describeArg } from './args.js';

export type Shape = readonly number[];

export function shapeSize(shape: Shape): number {
  let size = 1;
  for (const d of shape) size *= d;
  return size;
}

export function contiguousStrides(shape: Shape): number[] {
  const strides = new Array<number>(shape.length);
  let stride = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = stride;
    stride *= shape[i];
  }
  return strides;
}

export function isContiguous(shape: Shape, strides: readonly number[]): boolean {
  let expected = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    if (shape[i] !== 1 && strides[i] !== expected) return false;
    expected *= shape[i];
  }
  return true;
}

export function shapesEqual(a: Shape, b: Shape): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function formatShape(shape: Shape): string {
  return `[${shape.join(', ')}]`;
}

/** NumPy/PyTorch broadcasting: align from the right; each pair of sizes must match or be 1. */
export function broadcastShapes(op: string, ...shapes: Shape[]): number[] {
  const rank = Math.max(0, ...shapes.map((s) => s.length));
  const out = new Array<number>(rank).fill(1);
  for (const shape of shapes) {
    for (let i = 0; i < shape.length; i++) {
      const o = rank - shape.length + i;
      const d = shape[i];
      if (out[o] === 1) out[o] = d;
      else if (d !== 1 && d !== out[o]) {
        throw new Error(
          `${op}: shapes ${shapes.map(formatShape).join(' and ')} cannot be broadcast together: ` +
            `size ${d} does not match size ${out[o]} at dimension ${o - rank}`,
        );
      }
    }
  }
  return out;
}

/** Turns a possibly negative dim into an index in [0, rank). */
export function normalizeDim(op: string, dim: number, rank: number): number {
  if (typeof dim !== 'number')
    throw new TypeError(`${op}: dim must be an integer, got ${describeArg(dim)}`);
  const lo = rank === 0 ? -1 : -rank;
  const hi = rank === 0 ? 0 : rank - 1;
  if (!Number.isInteger(dim) || dim < lo || dim > hi) {
    throw new RangeError(
      `${op}: dimension ${dim} is out of range for a tensor of rank ${rank} (expected an integer in [${lo}, ${hi}])`,
    );
  }
  return dim < 0 ? dim + Math.max(rank, 1) : dim;
}

/** Normalizes an optional dim or list of dims; undefined means every dim. Sorted, unique. */
export function normalizeDims(
  op: string,
  dim: number | readonly number[] | undefined,
  rank: number,
): number[] {
  if (dim === undefined) return Array.from({ length: rank }, (_, i) => i);
  if (typeof dim !== 'number' && !Array.isArray(dim))
    throw new TypeError(
      `${op}: dim must be an integer or an array of integers, got ${describeArg(dim)}`,
    );
  const dims = typeof dim === 'number' ? [dim] : [...dim];
  const out = dims.map((d) => normalizeDim(op, d, rank));
  if (rank === 0) return [];
  const unique = [...new Set(out)].sort((a, b) => a - b);
  if (unique.length !== out.length)
    throw new Error(`${op}: dim [${dims.join(', ')}] repeats a dimension`);
  return unique;
}

/** How a value that should be a shape's size reads in an error: its type unless a number. */
function describeSize(d: unknown): string {
  return typeof d === 'number' ? String(d) : `${typeof d} ${JSON.stringify(d)}`;
}

/** Throws unless `shape` is an array (or another list) of numbers: a string is not a shape. */
export function assertShapeArray(op: string, shape: unknown): void {
  if (typeof shape === 'string' || !Array.isArray(shape))
    throw new TypeError(
      `${op}: expected a shape (an array of sizes), got ${typeof shape === 'string' ? `the string ${JSON.stringify(shape)}` : shape === null ? 'null' : typeof shape}`,
    );
  shape.forEach((d: unknown, i) => {
    if (typeof d !== 'number')
      throw new TypeError(
        `${op}: expected a shape of numbers, got ${describeSize(d)} at position ${i}`,
      );
  });
}

export function assertValidShape(op: string, shape: readonly number[]): void {
  assertShapeArray(op, shape);
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) {
      throw new RangeError(
        `${op}: invalid shape ${formatShape(shape)}: size ${describeSize(d)} is ${Number.isInteger(d) ? 'negative' : 'not an integer'}; sizes must be non-negative integers`,
      );
    }
  }
}

/**
 * The number of positions of a window sliding over `size` inputs: PyTorch's
 * pooling_output_shape, which with `ceilMode` false is convolution's
 * floor((size + 2·padding − dilation·(kernel − 1) − 1) / stride) + 1. In ceil mode a last,
 * partial window counts if it starts inside the input or its left padding. Zero or less when
 * the (dilated) window does not fit; callers report that with their own op's name.
 * @example windowOutputSize(28, 3, 2, 1, 1); // 14
 */
export function windowOutputSize(
  size: number,
  kernel: number,
  stride: number,
  padding: number,
  dilation: number,
  ceilMode = false,
): number {
  const span = size + 2 * padding - dilation * (kernel - 1) - 1;
  let out = Math.floor((span + (ceilMode ? stride - 1 : 0)) / stride) + 1;
  if (ceilMode && (out - 1) * stride >= size + padding) out--;
  return out;
}

/**
 * Output height and width of a 2-D convolution or pooling window `g` over an h×w image (floor
 * mode); zero or less where the window does not fit.
 * @example
 * const g = { kernel: [3, 3], stride: [1, 1], padding: [0, 0], dilation: [1, 1] };
 * convOutputSize(28, 28, g); // { outH: 26, outW: 26 }
 */
export function convOutputSize(
  h: number,
  w: number,
  g: Conv2dGeometry,
): { outH: number; outW: number } {
  const outH = windowOutputSize(h, g.kernel[0], g.stride[0], g.padding[0], g.dilation[0]);
  const outW = windowOutputSize(w, g.kernel[1], g.stride[1], g.padding[1], g.dilation[1]);
  return { outH, outW };
}
