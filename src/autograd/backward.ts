/** The user-facing entry points of the reverse pass: `tensor.backward()` and `autograd.grad()`. */
import { Tensor } from '../tensor/tensor.js';
import { formatShape } from '../tensor/shape.js';
import { isFloatingDType } from '../tensor/dtype.js';
import { checkGradShape, runBackward } from './engine.js';
import { noGrad } from './grad_mode.js';

export interface BackwardOptions {
  /** Keep saved tensors so backward can run through this graph again. Defaults to createGraph. */
  retainGraph?: boolean;
  /** Record the backward pass itself, for higher-order derivatives. */
  createGraph?: boolean;
  /** Accumulate only into these leaves' .grad. */
  inputs?: readonly Tensor[];
}

export interface GradOptions {
  /** Vector of the vector-Jacobian product, one per output; required for non-scalar outputs. */
  gradOutputs?: readonly (Tensor | null)[];
  retainGraph?: boolean;
  createGraph?: boolean;
  /** Return null for inputs the outputs do not depend on, instead of throwing. */
  allowUnused?: boolean;
  /** Return zeros instead of null for unused inputs (needs allowUnused). */
  materializeGrads?: boolean;
}

function seedGradients(
  op: string,
  outputs: readonly Tensor[],
  given: readonly (Tensor | null | undefined)[] | undefined,
): Tensor[] {
  return outputs.map((output, i) => {
    if (!output.requiresGrad) {
      throw new Error(`${op}: element ${i} of the outputs does not require grad and has no gradFn`);
    }
    const grad = given?.[i];
    if (grad === undefined || grad === null) {
      if (output.numel() !== 1) {
        throw new Error(
          `${op}: grad can be implicitly created only for scalar outputs; output ${i} has shape ${formatShape(output.shape)}, ` +
            `so pass a gradient of that shape`,
        );
      }
      return noGrad(() =>
        Tensor.fromStorage(
          output.backend.fromValues(output.dtype, [1]),
          output.shape,
          output.dtype,
          output.backend,
        ),
      );
    }
    if (!(grad instanceof Tensor)) throw new TypeError(`${op}: gradient ${i} must be a Tensor`);
    checkGradShape(op, output, grad);
    // A gradient of another float dtype is cast to the output's, as the engine does for inputs.
    if (grad.dtype !== output.dtype && isFloatingDType(output.dtype) && isFloatingDType(grad.dtype))
      return grad.to(output.dtype);
    return grad;
  });
}

/** Accumulates d(outputs)/d(leaf) into every leaf's .grad (or only into `options.inputs`). */
export function backward(
  outputs: readonly Tensor[],
  gradients?: readonly (Tensor | null | undefined)[],
  options: BackwardOptions = {},
): void {
  const grads = seedGradients('backward', outputs, gradients);
  const createGraph = options.createGraph ?? false;
  const retainGraph = options.retainGraph ?? createGraph;
  const roots = outputs.map((t) => t.gradNode());
  if (options.inputs) {
    const inputs = options.inputs;
    const found = runBackward(roots, grads, {
      retainGraph,
      createGraph,
      captureNodes: inputs.map((t) => t.gradNode()),
    });
    inputs.forEach((input, i) => {
      const grad = found[i];
      if (grad === undefined) return;
      // A new .grad gets storage of its own (the gradient may be an expand, or shared), as in the engine.
      const value = createGraph ? grad : input.grad ? grad.detach() : grad.detach().clone();
      input.grad = input.grad ? input.grad.add(value) : value;
    });
    return;
  }
  runBackward(roots, grads, { retainGraph, createGraph });
}

/**
 * The gradients of `outputs` with respect to `inputs`, returned rather than accumulated.
 * @example
 * const x = tensor(3, { requiresGrad: true });
 * const [dx] = grad(x.pow(3), [x], { createGraph: true }); // 27, differentiable again
 */
export function grad(
  outputs: Tensor | readonly Tensor[],
  inputs: Tensor | readonly Tensor[],
  options: GradOptions = {},
): (Tensor | null)[] {
  const outs = outputs instanceof Tensor ? [outputs] : [...outputs];
  const ins = inputs instanceof Tensor ? [inputs] : [...inputs];
  ins.forEach((input, i) => {
    if (!input.requiresGrad) throw new Error(`grad: input ${i} does not require grad`);
  });
  const grads = seedGradients('grad', outs, options.gradOutputs);
  const createGraph = options.createGraph ?? false;
  const retainGraph = options.retainGraph ?? createGraph;
  const found = runBackward(
    outs.map((t) => t.gradNode()),
    grads,
    {
      retainGraph,
      createGraph,
      captureNodes: ins.map((t) => t.gradNode()),
    },
  );
  return found.map((g, i) => {
    if (g !== undefined) return g;
    if (!options.allowUnused) {
      throw new Error(
        `grad: input ${i} was not used in the graph of the outputs; pass { allowUnused: true } to get null for it`,
      );
    }
    return options.materializeGrads ? noGrad(() => ins[i].mul(0)) : null;
  });
}
