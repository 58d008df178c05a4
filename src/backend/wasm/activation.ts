/**
 * relu and its backward for contiguous float32 tensors as branch-free loops. On activations the
 * sign of x is close to random, so the reference's `x > 0 ? x : 0` mispredicts about half the
 * time; here relu works on the float's bits (keep them, or clear them to +0, by a mask from the
 * sign bit, NaNs kept) and the backward multiplies by a 0/1 mask. Results are bit-identical to
 * the reference kernels (relu: x for x > 0 and NaN, +0 otherwise; backward: g·(y > 0), the
 * composed rule's arithmetic). Other dtypes and layouts return null (the reference runs).
 */
import type { View } from '../backend.js';
import { isContiguous, shapeSize } from '../../tensor/shape.js';
import { allocateStorage } from '../cpu/storage.js';

const MIN_SIZE = 256;

function int32View(v: View, size: number): Int32Array {
  const f = v.storage as Float32Array;
  return new Int32Array(f.buffer, f.byteOffset + v.offset * 4, size);
}

/** relu(x) for a contiguous float32 view; null otherwise. */
export function reluF32(x: View): Float32Array | null {
  if (x.dtype !== 'float32' || !isContiguous(x.shape, x.strides)) return null;
  const size = shapeSize(x.shape);
  if (size < MIN_SIZE) return null;
  const src = int32View(x, size);
  const out = allocateStorage('float32', size, false) as Float32Array;
  const bits = new Int32Array(out.buffer, out.byteOffset, size);
  for (let i = 0; i < size; i++) {
    const b = src[i];
    // Keep b when its sign bit is clear, or when it is a NaN (|b| above the infinity pattern).
    const keep = ~(b >> 31) | ((0x7f800000 - (b & 0x7fffffff)) >> 31);
    bits[i] = b & keep;
  }
  return out;
}

/** g·(y > 0) for contiguous float32 views of one shape; null otherwise. */
export function reluBackwardF32(g: View, y: View): Float32Array | null {
  if (g.dtype !== 'float32' || y.dtype !== 'float32') return null;
  if (!isContiguous(g.shape, g.strides) || !isContiguous(y.shape, y.strides)) return null;
  const size = shapeSize(g.shape);
  if (size !== shapeSize(y.shape)) return null;
  const gs = g.storage as Float32Array;
  const ys = y.storage as Float32Array;
  const go = g.offset;
  const yo = y.offset;
  const out = allocateStorage('float32', size, false) as Float32Array;
  for (let i = 0; i < size; i++) out[i] = gs[go + i] * +(ys[yo + i] > 0);
  return out;
}
