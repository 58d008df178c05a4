/** The largest absolute and relative (to the largest |expected|) difference of two tensors. */
import type { Tensor } from '../../src/index.js';

export function maxDifference(actual: Tensor, expected: Tensor): { abs: number; rel: number } {
  const a = actual.dataSync();
  const e = expected.dataSync();
  if (a.length !== e.length) throw new Error(`maxDifference: ${a.length} vs ${e.length} elements`);
  let abs = 0;
  let scale = 0;
  for (let i = 0; i < e.length; i++) {
    abs = Math.max(abs, Math.abs(a[i] - e[i]));
    scale = Math.max(scale, Math.abs(e[i]));
  }
  return { abs, rel: abs / (scale || 1) };
}
