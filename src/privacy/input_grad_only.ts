/**
 * A linear layer's output re-recorded so that backward computes the gradient of its input only.
 * DP-SGD replaces each parameter's `.grad` with the clipped noisy sum, which the per-layer rules
 * build from the captured activations and output gradients ((c ⊙ g)ᵀ a); the ordinary weight
 * gradient gᵀ a that backward would also compute is thrown away. Skipping it leaves one weight
 * product per layer in a DP step, as in a plain one (for the MLP at batch 256, the largest
 * product of the backward pass).
 */
import { Function as AutogradFunction, type FunctionContext } from '../autograd/function.js';
import type { Tensor } from '../tensor/tensor.js';

class LinearInputGrad extends AutogradFunction {
  // (x, weight, bias, output): the output was already computed by the layer's forward; it is
  // returned as it is, so nothing is computed twice.
  static override forward(
    ctx: FunctionContext,
    _x: Tensor,
    weight: Tensor,
    _bias: Tensor | null,
    output: Tensor,
  ): Tensor {
    ctx.saveForBackward(weight);
    return output;
  }

  static override backward(ctx: FunctionContext, g: Tensor): (Tensor | null)[] {
    const [weight] = ctx.savedTensors;
    return [ctx.needsInputGrad[0] ? g.matmul(weight) : null];
  }
}

/**
 * `output` (= x·weightᵀ + bias, computed by the caller) as a tensor whose backward gives x its
 * gradient and gives the weight and bias none. x is [N, in]; output [N, out].
 * @example
 * const y = linearInputGradOnly(x, fc.weight, fc.bias, F.linear(x, fc.weight, fc.bias));
 */
export function linearInputGradOnly(
  x: Tensor,
  weight: Tensor,
  bias: Tensor | null,
  output: Tensor,
): Tensor {
  // The parameters are inputs so that the output requires grad (and its hook runs) even when x
  // does not, as for a first layer; their gradients are never computed.
  return LinearInputGrad.apply(x, weight, bias, output.detach());
}
