/**
 * GELU forward and backward on the generated kernels (gelu_module.ts) for float32 views, split
 * over the threads for large tensors as the other elementwise kernels are. Operands in arena
 * storage are read in place; others (small tensors, strided views such as a broadcast gradient)
 * are copied or gathered in first, cheap beside the erf, so every float32 GELU on the kernels has
 * the same numerics. Null for float64 and when the kernels or their memory are missing (the
 * caller then runs the reference loops, ../cpu/gelu_kernels.ts). Values are within a few float32
 * ulp of those loops, not their bits (test/gelu.test.ts).
 */
import type { GeluApproximate, View } from '../backend.js';
import { shapeSize } from '../../tensor/shape.js';
import { runPlacedKernel, runtime } from './elementwise.js';
import { EW } from './elementwise_module.js';
import { GELU_MODE } from './gelu_module.js';

/** Runs GELU kernel `fn` over `inputs` (float32, one size), or null. */
function runGelu(fn: number, inputs: View[], approximate: GeluApproximate): Float32Array | null {
  const size = shapeSize(inputs[0].shape);
  const float32 = inputs.every(
    (v) =>
      v.dtype === 'float32' && v.storage instanceof Float32Array && shapeSize(v.shape) === size,
  );
  const rt = float32 && size > 0 ? runtime() : null;
  if (!rt) return null;
  return runPlacedKernel(rt, fn, inputs, size, size, [GELU_MODE[approximate]]);
}

/** gelu(x) for a float32 x, or null. */
export function geluWasm(x: View, approximate: GeluApproximate): Float32Array | null {
  return runGelu(EW.GELU_FORWARD, [x], approximate);
}

/** g·gelu'(x) for float32 g and x of one shape, or null. */
export function geluBackwardWasm(
  g: View,
  x: View,
  approximate: GeluApproximate,
): Float32Array | null {
  return runGelu(EW.GELU_BACKWARD, [g, x], approximate);
}
