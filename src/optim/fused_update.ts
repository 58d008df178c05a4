/**
 * When the optimizers use the backend's fused update kernels (one pass over a parameter, its
 * gradient and its state instead of a chain of in-place ops), and the version bump that goes with
 * writing through them. The composed in-place ops stay the general path.
 */
import { traceKernel } from '../backend/kernel_trace.js';
import { shapesEqual } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';

/**
 * Whether the fused `kernel` runs this update: p's backend has it, and `p` and `grad` are float32
 * or float64 tensors of one dtype, shape and backend, and so is every state tensor already
 * created (undefined entries are created by the caller).
 */
export function fusedUpdateApplies(
  kernel: 'sgdUpdate' | 'adamUpdate',
  p: Tensor,
  grad: Tensor,
  state: readonly unknown[],
): boolean {
  // A backend without the fused kernel runs the composed update (the trace says which ran).
  const applies = fusedUpdateAppliesTo(p, grad, state) && p.backend[kernel] !== undefined;
  traceKernel(kernel === 'sgdUpdate' ? 'sgd' : 'adam', applies ? 'fused' : 'composed');
  return applies;
}

function fusedUpdateAppliesTo(p: Tensor, grad: Tensor, state: readonly unknown[]): boolean {
  if (p.dtype !== 'float32' && p.dtype !== 'float64') return false;
  const matches = (t: Tensor) =>
    t.dtype === p.dtype && t.backend === p.backend && shapesEqual(t.shape, p.shape);
  if (!matches(grad) || grad.storage === p.storage) return false;
  return state.every(
    (s) =>
      s === undefined ||
      (s instanceof Tensor && matches(s) && s.storage !== p.storage && s.storage !== grad.storage),
  );
}

/** Marks tensors written by a fused kernel as modified, as in-place ops do. */
export function bumpVersions(...tensors: (Tensor | null | undefined)[]): void {
  for (const t of tensors) if (t) t.buffer.version++;
}
