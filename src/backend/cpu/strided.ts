/** Walking strided views in row-major order: the one indexing helper every CPU kernel uses. */
import type { View } from '../backend.js';
import { isContiguous, shapeSize } from '../../tensor/shape.js';

/**
 * Storage offsets of a view's elements in row-major order, or null when the view is contiguous
 * (element i is then at view.offset + i). Computed with an odometer, not per-element division.
 */
export function elementOffsets(
  shape: readonly number[],
  strides: readonly number[],
  offset: number,
): Int32Array | null {
  if (isContiguous(shape, strides)) return null;
  const size = shapeSize(shape);
  const out = new Int32Array(size);
  const rank = shape.length;
  const index = new Array<number>(rank).fill(0);
  let position = offset;
  for (let i = 0; i < size; i++) {
    out[i] = position;
    for (let d = rank - 1; d >= 0; d--) {
      index[d]++;
      position += strides[d];
      if (index[d] < shape[d]) break;
      position -= strides[d] * shape[d];
      index[d] = 0;
    }
  }
  return out;
}

/** A function from row-major element number to storage position for one view. */
export function positionsOf(
  view: Pick<View, 'shape' | 'strides' | 'offset'>,
): (i: number) => number {
  const offsets = elementOffsets(view.shape, view.strides, view.offset);
  const base = view.offset;
  return offsets ? (i) => offsets[i] : (i) => base + i;
}
