/**
 * Fast paths of gather and scatter along the last dim when every operand is contiguous and the
 * index has the input's leading dims (max pooling's gradient, picking a class per row): one row
 * loop and one index loop over the typed arrays, no position closures. Results and errors are the
 * reference kernels' (cpu_backend.ts); other layouts return null and the reference runs.
 */
import type { View } from '../backend.js';
import type { TypedArray } from '../../tensor/dtype.js';
import { isContiguous } from '../../tensor/shape.js';
import { allocateStorage } from '../cpu/storage.js';

/** Whether a view is one value repeated (every stride 0), as a zero base expanded to a shape. */
export function isBroadcastValue(v: View): boolean {
  return v.strides.every((s) => s === 0);
}

/**
 * Rows and row lengths when x, index (and src) are contiguous, dim is last and the leading dims
 * agree; with `src` (a scatter), x may also be one value broadcast (isBroadcastValue).
 */
export function lastDimRows(
  x: View,
  dim: number,
  index: View,
  src?: View,
): { rows: number; size: number; count: number } | null {
  const rank = x.shape.length;
  if (rank === 0 || dim !== rank - 1 || index.shape.length !== rank) return null;
  const xLayout = isContiguous(x.shape, x.strides) || (src !== undefined && isBroadcastValue(x));
  if (!xLayout || !isContiguous(index.shape, index.strides)) return null;
  if (src && (!isContiguous(src.shape, src.strides) || src.shape.length !== rank)) return null;
  let rows = 1;
  for (let d = 0; d < rank - 1; d++) {
    if (index.shape[d] !== x.shape[d]) return null;
    rows *= x.shape[d];
  }
  if (src && src.shape.some((s, d) => s !== index.shape[d])) return null;
  return { rows, size: x.shape[rank - 1], count: index.shape[rank - 1] };
}

/** A scatter's starting values: a copy of base (contiguous, or one value broadcast) in fresh storage. */
export function scatterBase(base: View, size: number, into?: TypedArray): TypedArray {
  const data = base.storage as TypedArray;
  const broadcast = isBroadcastValue(base);
  const out = into ?? allocateStorage(base.dtype, size, false);
  if (broadcast) out.fill(data[base.offset]);
  else out.set(data.subarray(base.offset, base.offset + size));
  return out;
}

/** out[r, i] = x[r, index[r, i]]; null when the layout is not the fast one. */
export function gatherLastDimFast(x: View, dim: number, index: View): TypedArray | null {
  const layout = lastDimRows(x, dim, index);
  if (!layout) return null;
  const { rows, size, count } = layout;
  const src = x.storage as TypedArray;
  const idx = index.storage as Int32Array;
  const out = new (src.constructor as new (n: number) => TypedArray)(rows * count);
  let o = 0;
  let at = index.offset;
  for (let r = 0; r < rows; r++) {
    const row = x.offset + r * size;
    for (let i = 0; i < count; i++, o++, at++) {
      const j = idx[at];
      if (j < 0 || j >= size)
        throw new RangeError(
          `gather: index ${j} is out of bounds for dimension ${dim} with size ${size}`,
        );
      out[o] = src[row + j];
    }
  }
  return out;
}

/** A contiguous copy of base with src added ('add') or written ('assign') at index along the last dim; null when not the fast layout. */
export function scatterLastDimFast(
  base: View,
  dim: number,
  index: View,
  src: View,
  mode: 'add' | 'assign',
): TypedArray | null {
  if (src.dtype !== base.dtype) return null;
  const layout = lastDimRows(base, dim, index, src);
  if (!layout) return null;
  const { rows, size, count } = layout;
  const out = scatterBase(base, rows * size);
  const idx = index.storage as Int32Array;
  const values = src.storage as TypedArray;
  let at = index.offset;
  let v = src.offset;
  for (let r = 0; r < rows; r++) {
    const row = r * size;
    for (let i = 0; i < count; i++, at++, v++) {
      const j = idx[at];
      if (j < 0 || j >= size) {
        throw new RangeError(
          `${mode === 'add' ? 'scatterAdd' : 'scatter'}: index ${j} is out of bounds for dimension ${dim} with size ${size}`,
        );
      }
      if (mode === 'add') out[row + j] += values[v];
      else out[row + j] = values[v];
    }
  }
  return out;
}
