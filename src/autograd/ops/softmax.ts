/**
 * Softmax and log-softmax along one dim. logSoftmax subtracts a stable logsumexp, and softmax
 * exponentiates it, so large logits neither overflow nor lose precision.
 */
import { normalizeDim } from '../../tensor/shape.js';
import type { Tensor } from '../../tensor/tensor.js';
import { assertFloatTensor as floatInput } from '../define.js';

function checkDim(op: string, x: Tensor, dim: number): number {
  if (dim === undefined)
    throw new Error(`${op}: dim is required (PyTorch's implicit dim choice is deprecated)`);
  return normalizeDim(op, dim, x.ndim);
}

/**
 * log(softmax(x)) along `dim`, computed as x − logsumexp(x).
 * @example
 * F.logSoftmax(tensor([[1, 2, 3]]), 1); // tensor([[-2.4076, -1.4076, -0.4076]])
 */
export function logSoftmax(x: Tensor, dim: number): Tensor {
  const input = floatInput('logSoftmax', x);
  const d = checkDim('logSoftmax', input, dim);
  if (input.ndim === 0) return input.sub(input);
  return input.sub(input.logsumexp(d, true));
}

/**
 * eˣ normalized to sum to 1 along `dim`.
 * @example
 * F.softmax(tensor([[1, 2, 3]]), -1); // tensor([[0.0900, 0.2447, 0.6652]])
 */
export function softmax(x: Tensor, dim: number): Tensor {
  const input = floatInput('softmax', x);
  checkDim('softmax', input, dim);
  return logSoftmax(input, dim).exp();
}
