/** Gradient clipping: by total norm (clipGradNorm_) and by value (clipGradValue_), as torch.nn.utils. */
import { noGrad } from '../../autograd/grad_mode.js';
import { stack } from '../../autograd/ops/shape_ops.js';
import { tensor } from '../../tensor/creation.js';
import { Tensor } from '../../tensor/tensor.js';

function gradsOf(op: string, parameters: Tensor | Iterable<Tensor>): Tensor[] {
  if (parameters instanceof Tensor) parameters = [parameters];
  if (
    parameters === null ||
    typeof parameters !== 'object' ||
    typeof (parameters as Iterable<Tensor>)[Symbol.iterator] !== 'function'
  ) {
    throw new TypeError(`${op}: parameters must be a Tensor or an iterable of Tensors`);
  }
  const grads: Tensor[] = [];
  let i = 0;
  for (const p of parameters) {
    if (!(p instanceof Tensor))
      throw new TypeError(
        `${op}: parameter ${i} is not a Tensor (got ${p === null ? 'null' : typeof p})`,
      );
    const grad = p.peekGrad();
    if (grad !== null) grads.push(grad);
    i++;
  }
  return grads;
}

export interface ClipGradNormOptions {
  /** Throw if the total norm is NaN or infinite, instead of scaling the gradients by it (default false). */
  errorIfNonfinite?: boolean;
}

/**
 * Scales the gradients of `parameters` in place so that their total norm (the norm of the vector
 * of all gradient elements) is at most `maxNorm`: each is multiplied by min(1, maxNorm / (norm + 1e-6)).
 * Returns the total norm before clipping, as a 0-dim tensor. Parameters without a gradient are skipped.
 * `normType` is any p > 0, or Infinity (also accepted as 'inf') for the largest absolute value.
 *
 * @example
 * loss.backward();
 * const norm = nn.utils.clipGradNorm_(model.parameters(), 1.0);
 * optimizer.step();
 */
export function clipGradNorm_(
  parameters: Tensor | Iterable<Tensor>,
  maxNorm: number,
  normType: number | 'inf' = 2,
  { errorIfNonfinite = false }: ClipGradNormOptions = {},
): Tensor {
  const op = 'clipGradNorm_';
  const grads = gradsOf(op, parameters);
  if (typeof maxNorm !== 'number' || Number.isNaN(maxNorm))
    throw new TypeError(`${op}: maxNorm must be a number, got ${String(maxNorm)}`);
  const p = normType === 'inf' ? Infinity : normType;
  if (typeof p !== 'number' || !(p > 0))
    throw new RangeError(
      `${op}: normType must be a positive number or Infinity, got ${String(normType)}`,
    );
  if (grads.length === 0) return tensor(0);
  return noGrad(() => {
    let total: Tensor;
    if (p === Infinity) {
      const norms = grads.map((g) => g.detach().abs().max());
      total = norms.length === 1 ? norms[0] : stack(norms).max();
    } else {
      total = stack(grads.map((g) => g.detach().norm(p))).norm(p);
    }
    if (errorIfNonfinite) {
      const value = Number(total.itemSync());
      if (!Number.isFinite(value)) {
        throw new Error(
          `${op}: the total norm of order ${p} for gradients from parameters is non-finite (${value}), so it cannot be clipped. ` +
            `To disable this error and scale the gradients by the non-finite norm anyway, pass { errorIfNonfinite: false }`,
        );
      }
    }
    // Like PyTorch: maxNorm / (total + 1e-6), clamped to 1, applied without a data-dependent branch.
    const coef = total.add(1e-6).reciprocal().mul(maxNorm).clamp(null, 1);
    for (const g of grads) g.detach().mul_(coef);
    return total;
  });
}

/**
 * Clamps every gradient element of `parameters` to [−clipValue, clipValue], in place.
 *
 * @example
 * loss.backward();
 * nn.utils.clipGradValue_(model.parameters(), 0.5);
 * optimizer.step();
 */
export function clipGradValue_(parameters: Tensor | Iterable<Tensor>, clipValue: number): void {
  const op = 'clipGradValue_';
  const grads = gradsOf(op, parameters);
  if (typeof clipValue !== 'number' || !(clipValue >= 0))
    throw new RangeError(
      `${op}: clipValue must be a non-negative number, got ${String(clipValue)}`,
    );
  noGrad(() => {
    for (const g of grads) g.detach().clamp_(-clipValue, clipValue);
  });
}
