/**
 * The attention softmax on the WebAssembly kernels (attention_softmax_module.ts): softmax(x·scale)
 * with an optional causal mask along the last dim of float32 scores [..., L, S], and its
 * gradient (which with scale 1 and no mask is the plain softmax backward). Null when the layout,
 * dtype or storage is not one the kernels take; the caller then runs the reference kernel.
 */
import type { View } from '../backend.js';
import { EW } from './elementwise_module.js';
import { lastDimRowsOf, runRowKernel, runtime } from './elementwise.js';

const f32Bits = (v: number) => new Int32Array(Float32Array.of(v).buffer)[0];

/** L for the kernels: the rows' period of the causal mask, 0 without it (or null: no [L, S]). */
function causalPeriod(shape: readonly number[], causal: boolean): number | null {
  if (!causal) return 0;
  return shape.length >= 2 ? shape[shape.length - 2] : null;
}

/** softmax(x·scale) along the last dim of float32 scores, causal as the reference's scaledSoftmax. */
export function scaledSoftmaxWasm(x: View, scale: number, causal: boolean): Float32Array | null {
  const layout = lastDimRowsOf(x, x.shape.length - 1);
  const l = causalPeriod(x.shape, causal);
  const rt = layout && l !== null ? runtime() : null;
  if (!layout || !rt) return null;
  return runRowKernel(rt, EW.SCALED_SOFTMAX_ROWS, [x], layout, [f32Bits(scale), l!]);
}

/**
 * scale·y·(g − Σ g·y) along the last dim of float32 views of one shape, the masked positions
 * (causal) 0·scale: the reference's bits.
 */
export function scaledSoftmaxBackwardWasm(
  g: View,
  y: View,
  scale: number,
  causal: boolean,
): Float32Array | null {
  const axis = y.shape.length - 1;
  const layout = lastDimRowsOf(y, axis);
  const gLayout = lastDimRowsOf(g, axis);
  const sameRows = layout && gLayout && layout.rows === gLayout.rows && layout.n === gLayout.n;
  const l = causalPeriod(y.shape, causal);
  const rt = sameRows && l !== null ? runtime() : null;
  if (!layout || !rt) return null;
  return runRowKernel(rt, EW.SCALED_SOFTMAX_BACKWARD_ROWS, [g, y], layout, [f32Bits(scale), l!]);
}
