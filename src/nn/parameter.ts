/**
 * `Parameter`: a tensor that a Module owns and an optimizer updates. It shares its storage with
 * the tensor it is made from (no copy), is a leaf, and requires grad unless told otherwise.
 */
import { Tensor } from '../tensor/tensor.js';

/**
 * A leaf tensor registered as a module's learnable parameter when assigned to one of its fields.
 * @example
 * class Scale extends Module {
 *   weight = new Parameter(ones([3]));
 *   forward(x: Tensor) { return x.mul(this.weight); }
 * }
 */
export class Parameter extends Tensor {
  constructor(data: Tensor, requiresGrad = true) {
    if (!(data instanceof Tensor)) {
      throw new TypeError(
        `Parameter: expected a Tensor, got ${data === null ? 'null' : typeof data}`,
      );
    }
    super(data.buffer, data.shape, data.strides, data.offset, data.dtype, null);
    if (requiresGrad) this.requiresGrad_(true);
  }

  /** Prints like PyTorch: `Parameter containing:` followed by the tensor. */
  override toString(): string {
    return `Parameter containing:\n${super.toString()}`;
  }
}
