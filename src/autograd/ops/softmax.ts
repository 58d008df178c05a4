/**
 * Softmax and log-softmax along one dim, each one fused backend kernel that shifts by the row's
 * max, so large logits neither overflow nor lose precision (see fused.ts for their backward).
 */
import { normalizeDim } from '../../tensor/shape.js';
import type { Tensor } from '../../tensor/tensor.js';
import { assertFloatTensor as floatInput } from '../define.js';
import { fusedSoftmax } from './fused.js';

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
  return fusedSoftmax(input, d, true);
}

/**
 * eˣ normalized to sum to 1 along `dim`.
 * @example
 * F.softmax(tensor([[1, 2, 3]]), -1); // tensor([[0.0900, 0.2447, 0.6652]])
 */
export function softmax(x: Tensor, dim: number): Tensor {
  const input = floatInput('softmax', x);
  const d = checkDim('softmax', input, dim);
  return fusedSoftmax(input, d, false);
}
