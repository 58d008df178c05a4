/**
 * Activation functions, composed from differentiable elementwise ops so their first and second
 * derivatives come from the ops' rules. Where PyTorch picks a one-sided derivative at a kink
 * (leakyRelu and elu at 0, hardtanh at its bounds), the `where` conditions pick the same side.
 */
import { where } from '../../autograd/ops/elementwise.js';
import { gelu as geluOp } from '../../autograd/ops/gelu.js';
import type { Tensor } from '../../tensor/tensor.js';
import { finiteNumber, floatInput } from './checks.js';

/**
 * max(x, 0); the gradient at 0 is 0.
 * @example
 * F.relu(tensor([-1, 0, 2])); // tensor([0., 0., 2.])
 */
export function relu(x: Tensor): Tensor {
  return floatInput('relu', x).relu();
}

/**
 * 1 / (1 + e^−x).
 * @example
 * F.sigmoid(tensor([0])); // tensor([0.5000])
 */
export function sigmoid(x: Tensor): Tensor {
  return floatInput('sigmoid', x).sigmoid();
}

/**
 * Hyperbolic tangent.
 * @example
 * F.tanh(tensor([0, 1])); // tensor([0.0000, 0.7616])
 */
export function tanh(x: Tensor): Tensor {
  return floatInput('tanh', x).tanh();
}

/**
 * x · sigmoid(x) (also called swish).
 * @example
 * F.silu(tensor([1])); // tensor([0.7311])
 */
export function silu(x: Tensor): Tensor {
  const input = floatInput('silu', x);
  return input.mul(input.sigmoid());
}

/**
 * x · tanh(softplus(x)).
 * @example
 * F.mish(tensor([1])); // tensor([0.8651])
 */
export function mish(x: Tensor): Tensor {
  const input = floatInput('mish', x);
  return input.mul(softplus(input).tanh());
}

/**
 * x for x > 0, negativeSlope · x otherwise.
 * @example
 * F.leakyRelu(tensor([-2, 3]), 0.1); // tensor([-0.2000, 3.0000])
 */
export function leakyRelu(x: Tensor, negativeSlope = 0.01): Tensor {
  const input = floatInput('leakyRelu', x);
  finiteNumber('leakyRelu', 'negativeSlope', negativeSlope);
  return where(input.gt(0), input, input.mul(negativeSlope));
}

/**
 * x for x > 0, alpha · (eˣ − 1) otherwise.
 * @example
 * F.elu(tensor([-1, 2])); // tensor([-0.6321, 2.0000])
 */
export function elu(x: Tensor, alpha = 1): Tensor {
  const input = floatInput('elu', x);
  finiteNumber('elu', 'alpha', alpha);
  return where(input.gt(0), input, input.expm1().mul(alpha));
}

export interface GeluOptions {
  /** 'none' (exact, with erf) or 'tanh' (the tanh approximation). */
  approximate?: 'none' | 'tanh';
}

/**
 * Gaussian error linear unit: x · Φ(x), exactly with erf or with PyTorch's tanh approximation;
 * one fused op forward and backward (autograd/ops/gelu.ts).
 * @example
 * F.gelu(x); F.gelu(x, { approximate: 'tanh' });
 */
export function gelu(x: Tensor, options: GeluOptions = {}): Tensor {
  const input = floatInput('gelu', x);
  const { approximate = 'none' } = options;
  if (approximate === 'none' || approximate === 'tanh') return geluOp(input, approximate);
  throw new Error(`gelu: approximate must be 'none' or 'tanh', got '${String(approximate)}'`);
}

/**
 * log(1 + e^(beta·x)) / beta, and x itself where beta·x > threshold (as PyTorch, for stability).
 * @example
 * F.softplus(tensor([0])); // tensor([0.6931])
 */
export function softplus(x: Tensor, beta = 1, threshold = 20): Tensor {
  const input = floatInput('softplus', x);
  finiteNumber('softplus', 'beta', beta);
  finiteNumber('softplus', 'threshold', threshold);
  if (beta === 0) throw new RangeError('softplus: beta must be non-zero');
  const linear = input.mul(beta).gt(threshold);
  // exp would overflow in the branch `where` discards, and its zero gradient times Inf is NaN:
  // evaluate that branch on a safe input instead.
  const safe = where(linear, 0, input);
  return where(linear, input, safe.mul(beta).exp().log1p().div(beta));
}

/**
 * x clamped to [minVal, maxVal]; the gradient is zero at and beyond the bounds, as PyTorch.
 * @example
 * F.hardtanh(tensor([-3, 0.5, 3])); // tensor([-1.0000, 0.5000, 1.0000])
 */
export function hardtanh(x: Tensor, minVal = -1, maxVal = 1): Tensor {
  const input = floatInput('hardtanh', x);
  finiteNumber('hardtanh', 'minVal', minVal);
  finiteNumber('hardtanh', 'maxVal', maxVal);
  if (minVal > maxVal)
    throw new RangeError(`hardtanh: minVal (${minVal}) must not exceed maxVal (${maxVal})`);
  return where(input.le(minVal), minVal, where(input.ge(maxVal), maxVal, input));
}
