/**
 * The layout the SWAP_OUTER kernel copies: a view whose dims merge to [P, Q, R] with strides
 * (R, P·R, 1), that is storage laid out [Q, P, R] read with its two outer dims swapped
 * (attention's [N, L, E] ↔ [L, N, E] and its heads' layouts, and the gradients flowing back
 * through them). Shared by swap_copy.ts (copies as an op) and elementwise.ts (operands placed
 * for a kernel).
 */
import type { View } from '../backend.js';

/** Rows shorter than this are left to the TypeScript copy (the kernel's vectors need rows). */
export const MIN_ROW = 4;

/**
 * The views' common dims (they share one shape) without size-1 dims and with row-major-adjacent
 * dims merged where every view allows it: the shape, and each view's strides.
 */
export function mergedDims(views: readonly View[]): { shape: number[]; strides: number[][] } {
  const shape: number[] = [];
  const strides: number[][] = views.map(() => []);
  views[0].shape.forEach((size, d) => {
    if (size === 1) return;
    const last = shape.length - 1;
    if (last >= 0 && views.every((v, i) => strides[i][last] === v.strides[d] * size)) {
      shape[last] *= size;
      views.forEach((v, i) => (strides[i][last] = v.strides[d]));
    } else {
      shape.push(size);
      views.forEach((v, i) => strides[i].push(v.strides[d]));
    }
  });
  return { shape, strides };
}

/** [P, Q, R] when `v` reads storage [Q, P, R] with its outer dims swapped (rows of R ≥ 4), else null. */
export function swappedOuterDims(v: View): [p: number, q: number, r: number] | null {
  const {
    shape,
    strides: [strides],
  } = mergedDims([v]);
  if (shape.length !== 3) return null;
  const [p, q, r] = shape;
  if (strides[2] !== 1 || strides[0] !== r || strides[1] !== p * r || r < MIN_ROW) return null;
  return [p, q, r];
}
