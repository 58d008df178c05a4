/** L1 / L2 penalties over parameters, to add to a loss (differentiable). */
import { tensor } from '../../tensor/creation.js';
import { Tensor } from '../../tensor/tensor.js';

function reduceParams(
  op: string,
  parameters: Tensor | Iterable<Tensor>,
  term: (p: Tensor) => Tensor,
): Tensor {
  const list = parameters instanceof Tensor ? [parameters] : parameters;
  if (
    list === null ||
    typeof list !== 'object' ||
    typeof (list as Iterable<Tensor>)[Symbol.iterator] !== 'function'
  ) {
    throw new TypeError(`${op}: parameters must be a Tensor or an iterable of Tensors`);
  }
  let total: Tensor | null = null;
  let i = 0;
  for (const p of list) {
    if (!(p instanceof Tensor))
      throw new TypeError(
        `${op}: parameter ${i} is not a Tensor (got ${p === null ? 'null' : typeof p})`,
      );
    if (!p.isFloatingPoint())
      throw new TypeError(
        `${op}: parameter ${i} has dtype ${p.dtype}; expected a floating point tensor`,
      );
    const t = term(p).sum();
    total = total === null ? t : total.add(t);
    i++;
  }
  return total ?? tensor(0);
}

/**
 * Σ|p| over all elements of all parameters: add `lambda * l1Penalty(params)` to the loss for L1
 * regularization (its gradient is lambda·sign(p), which pushes weights to exactly zero).
 * @example
 * const loss = F.crossEntropy(model.forward(x), y).add(nn.utils.l1Penalty(model.parameters()).mul(1e-4));
 */
export function l1Penalty(parameters: Tensor | Iterable<Tensor>): Tensor {
  return reduceParams('l1Penalty', parameters, (p) => p.abs());
}

/**
 * Σp² over all elements of all parameters: adding `(lambda / 2) * l2Penalty(params)` to the loss
 * gives the gradient term lambda·p, the same as an optimizer's `weightDecay: lambda` (for SGD; Adam's
 * L2 weightDecay too, but not AdamW's decoupled one).
 * @example
 * const loss = F.mseLoss(model.forward(x), y).add(nn.utils.l2Penalty(model.parameters()).mul(5e-5));
 */
export function l2Penalty(parameters: Tensor | Iterable<Tensor>): Tensor {
  return reduceParams('l2Penalty', parameters, (p) => p.square());
}
