/**
 * Reference kernels of the attention softmax: softmax(x·scale) along the last dim of scores
 * [..., L, S], optionally with the causal mask (query i sees keys j ≤ i), and its gradient. They
 * give the bits of the composed ops they replace (x.mul(scale), maskedFill with −∞, softmax and
 * the backward of each): the scaled score is rounded to the dtype before the softmax, masked
 * positions are exactly 0 in the output and in the gradient.
 */
import type { Storage, View } from '../backend.js';
import { allocateStorage } from './storage.js';
import { shapeSize } from '../../tensor/shape.js';
import { contiguousData, rounding } from './fused_kernels.js';

/**
 * Row r of `rows` rows of n elements (the last dim) of scores [..., L, S]: how many leading
 * elements are kept, n without the causal mask, min(i + 1, n) with it (i = r mod L, the query).
 */
export function keptPerRow(shape: readonly number[], causal: boolean): (r: number) => number {
  const n = shape[shape.length - 1];
  if (!causal) return () => n;
  const l = shape[shape.length - 2];
  return (r) => Math.min((r % l) + 1, n);
}

/** softmax(round(x·scale)) along the last dim, masked positions (causal) 0; contiguous. */
export function scaledSoftmaxKernel(x: View, scale: number, causal: boolean): Storage {
  const n = x.shape[x.shape.length - 1];
  const size = shapeSize(x.shape);
  const out = allocateStorage(x.dtype, size);
  if (size === 0) return out;
  const round = rounding(x.dtype);
  // The scale as the composed mul reads it: a scalar of the scores' dtype.
  const s = round(scale);
  const kept = keptPerRow(x.shape, causal);
  const { data: src, base } = contiguousData(x);
  const scaled = new Float64Array(n);
  for (let r = 0, start = 0; start < size; r++, start += n) {
    const k = kept(r);
    // Max of the kept scores (NaN wins, as the max reduction); the masked ones are −∞.
    let m = -Infinity;
    for (let j = 0; j < k; j++) {
      const v = round(src[base + start + j] * s);
      scaled[j] = v;
      if (v > m || v !== v) m = v;
    }
    const shift = m === Infinity || m === -Infinity ? 0 : m;
    let total = 0;
    for (let j = 0; j < k; j++) {
      scaled[j] = Math.exp(scaled[j] - shift);
      total += scaled[j];
    }
    for (let j = 0; j < k; j++) out[start + j] = scaled[j] / total;
    // exp(−∞) = 0 adds nothing to the sum; 0 / total is 0.
    for (let j = k; j < n; j++) out[start + j] = 0;
  }
  return out;
}

/**
 * The gradient of scaledSoftmaxKernel from its output y and the incoming g (same shape):
 * scale·y·(g − Σ g·y) along the last dim, rounded where the composed backward rounds (g·y, the
 * float64 sum, g − Σ, y·(…), ·scale); masked positions (causal) are 0·scale.
 */
export function scaledSoftmaxBackwardKernel(
  grad: View,
  output: View,
  scale: number,
  causal: boolean,
): Storage {
  const n = output.shape[output.shape.length - 1];
  const size = shapeSize(output.shape);
  const out = allocateStorage(output.dtype, size);
  if (size === 0) return out;
  const round = rounding(output.dtype);
  const s = round(scale);
  const kept = keptPerRow(output.shape, causal);
  const { data: g, base: gBase } = contiguousData(grad);
  const { data: y, base: yBase } = contiguousData(output);
  const zero = round(0 * s);
  for (let r = 0, start = 0; start < size; r++, start += n) {
    // Σ round(g·y) over the whole row, as the composed softmax backward sums it.
    let total = 0;
    for (let j = start; j < start + n; j++) total += round(g[gBase + j] * y[yBase + j]);
    const sum = round(total);
    const k = kept(r);
    for (let j = start; j < start + k; j++) {
      const yj = y[yBase + j];
      out[j] = round(round(yj * round(g[gBase + j] - sum)) * s);
    }
    for (let j = start + k; j < start + n; j++) out[j] = zero;
  }
  return out;
}
