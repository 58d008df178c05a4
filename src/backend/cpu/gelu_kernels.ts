/**
 * The reference GELU kernels (Backend.gelu / geluBackward): float64 math over any strided view,
 * rounded once to the dtype. PyTorch's formulas, so NaN and ±Infinity come out as PyTorch's:
 * gelu(−∞) = −∞·0 is NaN, and so is the gradient at ±∞. The WebAssembly backend runs these for
 * float64 and for float32 views its kernels do not take (../wasm/gelu.ts).
 */
import type { GeluApproximate, Storage, View } from '../backend.js';
import { shapeSize } from '../../tensor/shape.js';
import { contiguousData } from './fused_kernels.js';
import { erf } from './scalar_math.js';
import { allocateStorage } from './storage.js';

/** √(2/π) and 0.044715: the tanh approximation's inner = √(2/π)·(x + 0.044715·x³). */
export const TANH_BETA = Math.sqrt(2 / Math.PI);
export const TANH_KAPPA = 0.044715;
/** 1/√(2π): the standard normal density's factor. */
export const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

/** Φ(x) = ½(1 + erf(x/√2)). */
function cdf(x: number): number {
  return 0.5 * (1 + erf(x * Math.SQRT1_2));
}

type Round = (v: number) => number;

/**
 * gelu(x) in float64, for one `approximate`. `round` is the dtype's rounding, applied to x² and
 * x³ of the tanh approximation so that they overflow where PyTorch's float32 ones do (its
 * gradient is NaN once x² is infinite).
 */
const GELU: Record<GeluApproximate, (x: number, round: Round) => number> = {
  none: (x) => x * cdf(x),
  tanh: (x, round) => 0.5 * x * (1 + Math.tanh(TANH_BETA * (x + TANH_KAPPA * round(x * x * x)))),
};

/** gelu'(x) in float64: Φ(x) + x·φ(x), or the tanh approximation's derivative (PyTorch's steps). */
const GELU_DERIVATIVE: Record<GeluApproximate, (x: number, round: Round) => number> = {
  none: (x) => cdf(x) + x * (INV_SQRT_2PI * Math.exp(-0.5 * x * x)),
  tanh: (x, round) => {
    const square = round(x * x);
    const th = Math.tanh(TANH_BETA * (x + TANH_KAPPA * round(square * x)));
    const innerDerivative = TANH_BETA * (1 + 3 * TANH_KAPPA * square);
    return 0.5 * (1 + th) + 0.5 * x * (1 - th * th) * innerDerivative;
  },
};

const identity: Round = (v) => v;

/** The dtype's rounding of a float64: what a store into its typed array does. */
function roundingOf(x: View): Round {
  return x.dtype === 'float32' ? Math.fround : identity;
}

export function geluKernel(x: View, approximate: GeluApproximate): Storage {
  const size = shapeSize(x.shape);
  const out = allocateStorage(x.dtype, size, false);
  const { data, base } = contiguousData(x);
  const gelu = GELU[approximate];
  const round = roundingOf(x);
  for (let i = 0; i < size; i++) out[i] = gelu(data[base + i], round);
  return out;
}

export function geluBackwardKernel(grad: View, x: View, approximate: GeluApproximate): Storage {
  const size = shapeSize(x.shape);
  const out = allocateStorage(x.dtype, size, false);
  const { data: xs, base: xBase } = contiguousData(x);
  const { data: gs, base: gBase } = contiguousData(grad);
  const derivative = GELU_DERIVATIVE[approximate];
  const round = roundingOf(x);
  for (let i = 0; i < size; i++) out[i] = gs[gBase + i] * derivative(xs[xBase + i], round);
  return out;
}
