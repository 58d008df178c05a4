/**
 * Layer norm's backward and RMS norm's forward and backward on the reference CPU backend (the
 * layer-norm forward is in fused_kernels.ts): plain loops, arithmetic in float64, rounded on
 * store; the fallback of the WebAssembly kernels (../wasm/layer_norm.ts) for float64 and storage
 * they do not take. RMS norm is layer norm with the mean taken as 0.
 */
import type { LayerNormGradients, RmsNormResult, View } from '../backend.js';
import { shapeSize } from '../../tensor/shape.js';
import { allocateStorage } from './storage.js';
import { contiguousData, readSmall } from './fused_kernels.js';

/** Rows of x for `op`, after checking that `size` divides its elements. */
function rowsOf(op: string, x: View, size: number): number {
  const total = shapeSize(x.shape);
  if (size <= 0 || total % size !== 0)
    throw new RangeError(
      `${op}: normalizedSize must be positive and divide the input's ${total} elements, got ${size}`,
    );
  return total / size;
}

export function rmsNormKernel(
  x: View,
  size: number,
  weight: View | null,
  eps: number,
): RmsNormResult {
  const rows = rowsOf('rmsNorm', x, size);
  const { data: src, base } = contiguousData(x);
  const out = allocateStorage(x.dtype, rows * size);
  const rstds = allocateStorage(x.dtype, rows);
  const w = readSmall(weight);
  for (let r = 0; r < rows; r++) {
    const start = base + r * size;
    let ss = 0;
    for (let j = 0; j < size; j++) ss += src[start + j] * src[start + j];
    const rstd = 1 / Math.sqrt(ss / size + eps);
    rstds[r] = rstd;
    const o = r * size;
    if (w) for (let j = 0; j < size; j++) out[o + j] = src[start + j] * rstd * w[j];
    else for (let j = 0; j < size; j++) out[o + j] = src[start + j] * rstd;
  }
  return { output: out, rstd: rstds };
}

/**
 * With x̂ = (x − mean)·rstd and ĝ = g·w per row of `size` elements:
 * dx = rstd·(ĝ − mean(ĝ) − x̂·mean(ĝ·x̂)), dw = Σ_rows g·x̂, db = Σ_rows g; a null `mean` is RMS
 * norm's (0, and no mean(ĝ) term).
 */
function normBackward(
  op: string,
  grad: View,
  x: View,
  mean: View | null,
  rstd: View,
  weight: View | null,
  size: number,
  needs: readonly [boolean, boolean, boolean],
): LayerNormGradients {
  const rows = rowsOf(op, x, size);
  const { data: xs, base: xb } = contiguousData(x);
  const { data: gs, base: gb } = contiguousData(grad);
  const means = readSmall(mean);
  const rstds = readSmall(rstd)!;
  const w = readSmall(weight);
  const dx = needs[0] ? allocateStorage(x.dtype, rows * size) : null;
  const dw = needs[1] ? new Float64Array(size) : null;
  const db = needs[2] ? new Float64Array(size) : null;
  const xhat = new Float64Array(size);
  for (let r = 0; r < rows; r++) {
    const xo = xb + r * size;
    const go = gb + r * size;
    const m = means ? means[r] : 0;
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
    const a = means ? gSum / size : 0;
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

export function layerNormBackwardKernel(
  grad: View,
  x: View,
  mean: View,
  rstd: View,
  weight: View | null,
  size: number,
  needs: readonly [boolean, boolean, boolean],
): LayerNormGradients {
  return normBackward('layerNormBackward', grad, x, mean, rstd, weight, size, needs);
}

export function rmsNormBackwardKernel(
  grad: View,
  x: View,
  rstd: View,
  weight: View | null,
  size: number,
  needs: readonly [boolean, boolean],
): LayerNormGradients {
  const all = [needs[0], needs[1], false] as const;
  return normBackward('rmsNormBackward', grad, x, null, rstd, weight, size, all);
}
