/** Metrics computed from a batch's model output and targets. */
import { noGrad } from '../autograd/grad_mode.js';
import type { Tensor } from '../tensor/tensor.js';

/** A metric: (model output, target) → a number averaged over the batch. */
export type Metric = (output: Tensor, target: Tensor) => number;

/**
 * Fraction of rows whose highest logit is the target class.
 * @example
 * accuracy(model.call(x), labels); // 0.97
 */
export function accuracy(logits: Tensor, labels: Tensor): number {
  if (logits.ndim !== 2 || labels.ndim !== 1 || logits.shape[0] !== labels.shape[0]) {
    throw new Error(
      `accuracy: expected logits [N, C] and labels [N], got shapes [${logits.shape.join(', ')}] and [${labels.shape.join(', ')}]`,
    );
  }
  if (labels.shape[0] === 0) return 0;
  return noGrad(() => logits.argmax(1).eq(labels).to('float32').mean().itemSync() as number);
}
