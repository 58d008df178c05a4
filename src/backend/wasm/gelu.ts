/**
 * GELU forward and backward on the generated kernels (gelu_module.ts) for contiguous float32
 * views in arena storage, split over the threads for large tensors as the other elementwise
 * kernels are. Each returns null for other dtypes, layouts and storage (the caller then runs the
 * reference loops, ../cpu/gelu_kernels.ts). Values are within a few float32 ulp of those loops,
 * not their bits (test/gelu.test.ts).
 */
import type { GeluApproximate, View } from '../backend.js';
import { shapeSize } from '../../tensor/shape.js';
import { ARENA_MIN_ELEMENTS } from './arena.js';
import { addressOf, runKernel, runtime } from './elementwise.js';
import { EW } from './elementwise_module.js';
import { GELU_MODE } from './gelu_module.js';

/** gelu(x) for a contiguous float32 x in arena storage, or null. */
export function geluWasm(x: View, approximate: GeluApproximate): Float32Array | null {
  const size = shapeSize(x.shape);
  const rt = x.dtype === 'float32' && size >= ARENA_MIN_ELEMENTS ? runtime() : null;
  if (!rt) return null;
  const xp = addressOf(rt, x);
  const out = xp < 0 ? null : rt.arena.float32(size, false);
  if (!out) return null;
  runKernel(EW.GELU_FORWARD, size, [xp, out.byteOffset, GELU_MODE[approximate]], size * 8);
  return out;
}

/** g·gelu'(x) for contiguous float32 g and x of one shape in arena storage, or null. */
export function geluBackwardWasm(
  g: View,
  x: View,
  approximate: GeluApproximate,
): Float32Array | null {
  const size = shapeSize(x.shape);
  const sameSize = size === shapeSize(g.shape) && g.dtype === 'float32';
  const rt = x.dtype === 'float32' && sameSize && size >= ARENA_MIN_ELEMENTS ? runtime() : null;
  if (!rt) return null;
  const gp = addressOf(rt, g);
  const xp = addressOf(rt, x);
  const out = gp < 0 || xp < 0 ? null : rt.arena.float32(size, false);
  if (!out) return null;
  const mode = GELU_MODE[approximate];
  runKernel(EW.GELU_BACKWARD, size, [gp, xp, out.byteOffset, mode], size * 12);
  return out;
}
