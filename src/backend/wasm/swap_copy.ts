/**
 * Contiguous copies of views that swap the two outer dims of contiguous rows: a float32 view
 * [P, Q, R] (after merging dims) with strides (R, P·R, 1), which reads storage laid out
 * [Q, P, R], copied by the SWAP_OUTER kernel (elementwise_module.ts) on the threads. These are
 * the copies of attention's layout changes: [N, L, E] ↔ [L, N, E] (batchFirst) and the heads'
 * [N·H, L, d] ↔ [L, N·H, d]. The bits are the source's (x + −0 is x).
 */
import type { View } from '../backend.js';
import { shapeSize } from '../../tensor/shape.js';
import { ARENA_MIN_ELEMENTS } from './arena.js';
import { runtime, swapOuterWasm } from './elementwise.js';
import { mergedDims, MIN_ROW, swappedOuterDims } from './swap_layout.js';

/**
 * A contiguous copy of `x` when it is float32 in the kernels' memory, large enough, and its
 * merged layout is [P, Q, R] with strides (R, P·R, 1); null otherwise.
 */
export function swapCopyWasm(x: View): Float32Array | null {
  const size = shapeSize(x.shape);
  const s = x.storage;
  if (x.dtype !== 'float32' || !(s instanceof Float32Array) || size < ARENA_MIN_ELEMENTS)
    return null;
  const dims = swappedOuterDims(x);
  if (!dims) return null;
  const [p, q, r] = dims;
  const rt = runtime();
  if (!rt || !rt.arena.contains(s)) return null;
  const out = rt.arena.float32(size, false);
  if (!out) return null;
  // Storage [Q, P, R] (outer Q, inner P) into [P, Q, R].
  swapOuterWasm(s.byteOffset + x.offset * 4, out.byteOffset, 0, q, p, r);
  return out;
}

/**
 * Copies `src` into `dst` on the kernel when both are float32 in the kernels' memory, `src`'s
 * merged layout is [P, Q, R] with strides (R, P·R, 1) and `dst`'s is the same shape with rows of
 * R every D ≥ R elements, strides (Q·D, D, 1): the heads' gradient [N·H, L, d] → [L, N·H, d] into
 * its window of the packed q, k, v gradient (split's backward). False otherwise.
 */
export function swapCopyIntoWasm(dst: View, src: View): boolean {
  const s = src.storage;
  const t = dst.storage;
  if (
    src.dtype !== 'float32' ||
    dst.dtype !== 'float32' ||
    !(s instanceof Float32Array) ||
    !(t instanceof Float32Array) ||
    s === t ||
    shapeSize(src.shape) < ARENA_MIN_ELEMENTS
  )
    return false;
  if (src.shape.length !== dst.shape.length || src.shape.some((n, i) => n !== dst.shape[i]))
    return false;
  const {
    shape,
    strides: [from, to],
  } = mergedDims([src, dst]);
  if (shape.length !== 3) return false;
  const [p, q, r] = shape;
  if (r < MIN_ROW || from[2] !== 1 || from[0] !== r || from[1] !== p * r) return false;
  const row = to[1];
  if (to[2] !== 1 || row < r || to[0] !== q * row) return false;
  const rt = runtime();
  if (!rt || !rt.arena.contains(s) || !rt.arena.contains(t)) return false;
  swapOuterWasm(s.byteOffset + src.offset * 4, t.byteOffset + dst.offset * 4, 0, q, p, r, row);
  return true;
}
