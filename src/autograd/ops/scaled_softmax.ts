/**
 * The attention softmax: softmax(scores·scale) along the last dim, optionally with the causal
 * mask (query i sees keys j ≤ i), as one op where the composition is three (mul, maskedFill,
 * softmax) each with its own backward. One backend kernel forward and one backward
 * (scaledSoftmax / scaledSoftmaxBackward, FusedKernels), with the composition's bits; the backward
 * rule scale·y·(g − Σ g·y) is written with differentiable ops when a graph is being built, so
 * double backward works. Masked positions are exactly 0 and get gradient 0.
 */
import { traceKernel } from '../../backend/kernel_trace.js';
import { ones } from '../../tensor/creation.js';
import { formatShape } from '../../tensor/shape.js';
import type { Tensor } from '../../tensor/tensor.js';
import { assertFloatTensor, fromStorage, record } from '../define.js';
import { isGradEnabled } from '../grad_mode.js';

/**
 * softmax(x·scale) along the last dim of scores x [..., L, S]; with `isCausal`, position (i, j)
 * of each [L, S] matrix is masked (weight 0) when j > i. No row is wholly masked (j = 0 stays).
 * @example
 * scaledSoftmax(randn([2, 4, 8, 8]), 0.25, true); // rows of the lower triangle summing to 1
 */
export function scaledSoftmax(scores: Tensor, scale: number, isCausal: boolean): Tensor {
  const x = assertFloatTensor('scaledSoftmax', scores, 'scores');
  if (x.ndim < (isCausal ? 2 : 1))
    throw new Error(
      `scaledSoftmax: expected scores [..., L, S]${isCausal ? ' (2 dims at least with isCausal)' : ''}, got ${formatShape(x.shape)}`,
    );
  if (typeof scale !== 'number' || Number.isNaN(scale))
    throw new TypeError(`scaledSoftmax: scale must be a number, got ${String(scale)}`);
  const backend = x.backend;
  if (!backend.scaledSoftmax) {
    traceKernel('scaledSoftmax', 'composed');
    let scaled = x.mul(scale);
    if (isCausal) {
      const [l, s] = x.shape.slice(-2);
      const masked = ones([l, s], { dtype: 'bool', device: x.device }).triu(1);
      scaled = scaled.maskedFill(masked, -Infinity);
    }
    return scaled.softmax(-1);
  }
  traceKernel('scaledSoftmax', 'fused');
  const y = fromStorage(backend.scaledSoftmax(x, scale, isCausal), x.shape, x.dtype, x);
  return record('ScaledSoftmaxBackward', y, [x], [y], (g, [sy]) => {
    // Without a graph to build, one kernel; the same rule in differentiable ops otherwise.
    if (!isGradEnabled() && backend.scaledSoftmaxBackward)
      return [
        fromStorage(backend.scaledSoftmaxBackward(g, sy, scale, isCausal), x.shape, x.dtype, x),
      ];
    return [sy.mul(g.sub(g.mul(sy).sum(-1, true))).mul(scale)];
  });
}
