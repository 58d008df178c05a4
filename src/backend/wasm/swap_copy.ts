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
import { swappedOuterDims } from './swap_layout.js';

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
