/**
 * The checks Tensor's methods make before they act (reading values, changing requiresGrad): each
 * throws an error that names the method, what the tensor is and what was expected.
 */
import { isFloatingDType } from './dtype.js';
import { formatShape } from './shape.js';
import type { Tensor } from './tensor.js';

/** Throws unless the tensor's device can be read synchronously (`op` is e.g. 'dataSync'). */
export function assertReadableSync(tensor: Tensor, op: string): void {
  if (!tensor.backend.canReadSync) {
    throw new Error(
      `${op}: synchronous reads work on CPU tensors only; this tensor is on ${tensor.device}: use await ${op.replace('Sync', '')}()`,
    );
  }
}

/** Throws unless the tensor has exactly one element, so that `op` (item, itemSync) can give it as a number. */
export function assertOneElement(tensor: Tensor, op: string): void {
  if (tensor.numel() !== 1) {
    throw new Error(
      `${op}: a tensor with ${tensor.numel()} elements (shape ${formatShape(tensor.shape)}) cannot be converted to a number`,
    );
  }
}

/**
 * Throws unless requiresGrad_ may set requiresGrad to `requiresGrad` on this tensor: only leaves
 * can change it (a non-leaf asked to require grad already does, and the caller returns early),
 * and only floating point tensors can require gradients.
 */
export function checkRequiresGradChange(tensor: Tensor, requiresGrad: boolean): void {
  if (!tensor.isLeaf) {
    throw new Error(
      `requiresGrad_: you can only change requiresGrad of leaf tensors; use detach() for a tensor that does not require grad`,
    );
  }
  if (requiresGrad && !isFloatingDType(tensor.dtype)) {
    throw new TypeError(
      `requiresGrad_: only tensors of floating point dtype can require gradients, got ${tensor.dtype}`,
    );
  }
}
