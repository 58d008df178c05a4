/**
 * Layer norm's backward on the reference CPU backend: the input, weight and bias gradients in
 * one pass over the rows (plain loops, arithmetic in float64, rounded on store), the fallback of
 * the WebAssembly kernels (../wasm/layer_norm.ts) for float64 and storage they do not take.
 */
import type { LayerNormGradients, View } from '../backend.js';
import { shapeSize } from '../../tensor/shape.js';
import { allocateStorage } from './storage.js';
import { contiguousData, readSmall } from './fused_kernels.js';

/**
 * With x̂ = (x − mean)·rstd and ĝ = g·w per row of `size` elements:
 * dx = rstd·(ĝ − mean(ĝ) − x̂·mean(ĝ·x̂)), dw = Σ_rows g·x̂, db = Σ_rows g.
 */
export function layerNormBackwardKernel(
  grad: View,
  x: View,
  mean: View,
  rstd: View,
  weight: View | null,
  size: number,
  needs: readonly [boolean, boolean, boolean],
): LayerNormGradients {
  const total = shapeSize(x.shape);
  if (size <= 0 || total % size !== 0)
    throw new RangeError(
      `layerNormBackward: normalizedSize must divide the input's ${total} elements, got ${size}`,
    );
  const rows = total / size;
  const { data: xs, base: xb } = contiguousData(x);
  const { data: gs, base: gb } = contiguousData(grad);
  const means = readSmall(mean)!;
  const rstds = readSmall(rstd)!;
  const w = readSmall(weight);
  const dx = needs[0] ? allocateStorage(x.dtype, total) : null;
  const dw = needs[1] ? new Float64Array(size) : null;
  const db = needs[2] ? new Float64Array(size) : null;
  const xhat = new Float64Array(size);
  for (let r = 0; r < rows; r++) {
    const xo = xb + r * size;
    const go = gb + r * size;
    const m = means[r];
    const s = rstds[r];
    let gSum = 0;
    let gxSum = 0;
    for (let j = 0; j < size; j++) {
      const h = (xs[xo + j] - m) * s;
      const g = gs[go + j];
      const gh = w ? g * w[j] : g;
      xhat[j] = h;
      gSum += gh;
      gxSum += gh * h;
      if (dw) dw[j] += g * h;
      if (db) db[j] += g;
    }
    if (!dx) continue;
    const a = gSum / size;
    const b = gxSum / size;
    const o = r * size;
    for (let j = 0; j < size; j++) {
      const gh = w ? gs[go + j] * w[j] : gs[go + j];
      dx[o + j] = (gh - a - xhat[j] * b) * s;
    }
  }
  const stored = (sums: Float64Array | null) => {
    if (!sums) return null;
    const out = allocateStorage(x.dtype, size);
    out.set(sums);
    return out;
  };
  return { input: dx, weight: stored(dw), bias: stored(db) };
}
