/**
 * Layer norm and RMS norm on the generated SIMD kernels (layer_norm_module.ts), float32 forward
 * and backward: rows split over the threads for large inputs (the elementwise kernels' rule,
 * elementwise.ts), the weight and bias gradients over columns in a second job. Each returns null where the
 * kernels do not take the operands (other dtypes, no SIMD arena); the caller then runs the
 * reference kernels (../cpu/fused_kernels.ts, ../cpu/norm_kernels.ts). Strided or
 * out-of-arena operands are copied in first.
 */
import type {
  LayerNormGradients,
  LayerNormResult,
  RmsNormResult,
  Storage,
  View,
} from '../backend.js';
import { shapeSize } from '../../tensor/shape.js';
import { kernelResult, readableAddress, runKernel, runtime } from './elementwise.js';
import { EW } from './elementwise_module.js';
import type { GemmRuntime } from './kernel_runtime.js';
import { LN_BLOCK_BYTES, LN_EPS_BYTE, LN_PARAMS } from './layer_norm_module.js';

type Params = Partial<Record<(typeof LN_PARAMS)[number], number>>;

/** The runtime when every view is float32 on Float32Array storage, else null. */
function float32Runtime(...views: (View | null)[]): GemmRuntime | null {
  const ok = views.every(
    (v) => v === null || (v.dtype === 'float32' && v.storage instanceof Float32Array),
  );
  return ok ? runtime() : null;
}

/** A block of `count` floats equal to `value` from `take`, or 0 when memory runs out. */
function filled(
  rt: GemmRuntime,
  take: (bytes: number) => number,
  count: number,
  value: number,
): number {
  const ptr = take(count * 4);
  if (ptr !== 0) rt.view(ptr, count).fill(value);
  return ptr;
}

/**
 * The parameter block from `take` holding `params` and eps; 0 when memory runs out. An absent
 * weight or bias (null in `affine`) is read as ones or −0s (−0: x + (−0) is x, −0 included).
 */
function writeParams(
  rt: GemmRuntime,
  take: (bytes: number) => number,
  params: Params,
  affine: { weight: View | null; bias: View | null; size: number },
  eps = 0,
): number {
  const { weight, bias, size } = affine;
  const prm = take(LN_BLOCK_BYTES);
  const place = (v: View | null, fill: number) =>
    v ? readableAddress(rt, v, size, take) : filled(rt, take, size, fill);
  const w = place(weight, 1);
  const b = place(bias, -0);
  if (prm === 0 || w === 0 || b === 0) return 0;
  const words = new Int32Array(rt.heap().buffer, prm, LN_PARAMS.length);
  const all: Params = { ...params, weight: w, bias: b, n: size };
  LN_PARAMS.forEach((name, i) => (words[i] = all[name] ?? 0));
  new Float64Array(rt.heap().buffer, prm + LN_EPS_BYTE, 1)[0] = eps;
  return prm;
}

/** The forward of layer norm, or with `rms` RMS norm (mean 0, no bias), on the kernels; or null. */
function normForward(
  x: View,
  size: number,
  weight: View | null,
  bias: View | null,
  eps: number,
  rms: boolean,
): (Omit<LayerNormResult, 'mean'> & { mean: Storage | null }) | null {
  const total = shapeSize(x.shape);
  const rt = size > 0 && total > 0 ? float32Runtime(x, weight, bias) : null;
  if (!rt) return null;
  const rows = total / size;
  const [out, mean, rstd] = [total, rows, rows].map((n) => kernelResult(rt, n));
  return rt.arena.withTemporaries((take) => {
    const pointers = [out, rms ? null : mean, rstd].map((r) => r?.place(take) ?? take(rows * 4));
    const xp = readableAddress(rt, x, total, take, true);
    if (xp === 0 || pointers.includes(0)) return null;
    const [outPtr, meanPtr, rstdPtr] = pointers;
    const params = { x: xp, out: outPtr, mean: meanPtr, rstd: rstdPtr, rms: rms ? 1 : 0 };
    const prm = writeParams(rt, take, params, { weight, bias, size }, eps);
    if (prm === 0) return null;
    runKernel(EW.LAYER_NORM_ROWS, rows, [prm], total * 8);
    return { output: out.read(), mean: rms ? null : mean.read(), rstd: rstd.read() };
  });
}

/** layerNorm's forward (Backend.layerNorm) on the kernels, or null. */
export function layerNormWasm(
  x: View,
  size: number,
  weight: View | null,
  bias: View | null,
  eps: number,
): LayerNormResult | null {
  return normForward(x, size, weight, bias, eps, false) as LayerNormResult | null;
}

/** rmsNorm's forward (Backend.rmsNorm) on the kernels, or null. */
export function rmsNormWasm(
  x: View,
  size: number,
  weight: View | null,
  eps: number,
): RmsNormResult | null {
  const result = normForward(x, size, weight, null, eps, true);
  return result && { output: result.output, rstd: result.rstd };
}

/**
 * The backward of layer norm, or with a null `mean` RMS norm, on the kernels, or null: dx over
 * rows, then dw and db over columns (each column's sums in row order, whatever the split).
 */
function normBackward(
  grad: View,
  x: View,
  mean: View | null,
  rstd: View,
  weight: View | null,
  size: number,
  needs: readonly [boolean, boolean, boolean],
): LayerNormGradients | null {
  const total = shapeSize(x.shape);
  const ok = size > 0 && total > 0 && shapeSize(grad.shape) === total;
  const rt = ok ? float32Runtime(grad, x, mean, rstd, weight) : null;
  if (!rt) return null;
  const rows = total / size;
  const dx = needs[0] ? kernelResult(rt, total) : null;
  const dw = needs[1] ? kernelResult(rt, size) : null;
  const db = needs[2] ? kernelResult(rt, size) : null;
  return rt.arena.withTemporaries((take) => {
    const [dxPtr, dwPtr, dbPtr] = [dx, dw, db].map((r) => (r ? r.place(take) : -1));
    const [gp, xp] = [grad, x].map((v) => readableAddress(rt, v, total, take, true));
    const mp = mean ? readableAddress(rt, mean, rows, take) : filled(rt, take, rows, 0);
    const rp = readableAddress(rt, rstd, rows, take);
    if ([dxPtr, dwPtr, dbPtr, gp, xp, mp, rp].includes(0)) return null;
    const params: Params = { x: xp, grad: gp, mean: mp, rstd: rp, rows, rms: mean ? 0 : 1 };
    params.out = Math.max(dxPtr, 0);
    params.dWeight = Math.max(dwPtr, 0);
    params.dBias = Math.max(dbPtr, 0);
    const prm = writeParams(rt, take, params, { weight, bias: null, size });
    if (prm === 0) return null;
    if (dx) runKernel(EW.LAYER_NORM_BACKWARD_ROWS, rows, [prm], total * 12);
    if (dw || db) runKernel(EW.LAYER_NORM_PARAM_GRADS, size, [prm], total * 8);
    return { input: dx?.read() ?? null, weight: dw?.read() ?? null, bias: db?.read() ?? null };
  });
}

/** layerNorm's backward (Backend.layerNormBackward) on the kernels, or null. */
export function layerNormBackwardWasm(
  grad: View,
  x: View,
  mean: View,
  rstd: View,
  weight: View | null,
  size: number,
  needs: readonly [boolean, boolean, boolean],
): LayerNormGradients | null {
  return normBackward(grad, x, mean, rstd, weight, size, needs);
}

/** rmsNorm's backward (Backend.rmsNormBackward) on the kernels, or null. */
export function rmsNormBackwardWasm(
  grad: View,
  x: View,
  rstd: View,
  weight: View | null,
  size: number,
  needs: readonly [boolean, boolean],
): LayerNormGradients | null {
  return normBackward(grad, x, null, rstd, weight, size, [needs[0], needs[1], false]);
}
