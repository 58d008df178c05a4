/**
 * The backward pass one node at a time, for teaching and inspection: for every node in the order
 * the engine runs them, the gradient reaching its output (upstream), and for each input the
 * node's local derivative (its Jacobian, when small) and the product that the chain rule passes
 * on. The graph is left as it was: nothing is released and no `.grad` changes.
 */
import { AccumulateGrad, type Node } from '../autograd/node.js';
import { noGrad } from '../autograd/grad_mode.js';
import { reverseTopologicalOrder } from '../autograd/engine.js';
import { eye, onesLike, zeros } from '../tensor/creation.js';
import { stack } from '../autograd/ops/shape_ops.js';
import { formatShape, shapesEqual } from '../tensor/shape.js';
import { isFloatingDType } from '../tensor/dtype.js';
import type { Tensor } from '../tensor/tensor.js';

/** What one input of a node receives. */
export interface BackwardStepInput {
  /** Position of the input among the op's inputs. */
  readonly index: number;
  /** The graph node the gradient flows to. */
  readonly node: Node;
  /**
   * ∂output/∂input as a [output elements, input elements] matrix, or null when it has more than
   * `jacobianLimit` entries (the product is then still the rule's vector-Jacobian product).
   */
  readonly local: Tensor | null;
  /** upstream · local: the gradient this node sends to the input (the chain rule). */
  readonly product: Tensor;
}

/** One node of the backward pass. */
export interface BackwardStep {
  readonly node: Node;
  /** The gradient of the root with respect to this node's output, summed over its consumers. */
  readonly upstream: Tensor;
  /** Empty for leaves (AccumulateGrad), whose upstream is what backward() adds to `.grad`. */
  readonly inputs: readonly BackwardStepInput[];
}

export interface BackwardStepsOptions {
  /** The seed gradient (required when the output is not a scalar); ones for a scalar. */
  gradient?: Tensor;
  /** Largest Jacobian (output elements × input elements) formed for `local`; default 256. */
  jacobianLimit?: number;
}

/**
 * Replays the backward pass of `output` node by node, in the engine's order (every consumer
 * before its inputs). Hooks are not run: the steps show the chain rule itself. The graph must
 * not have been freed by a backward() without `retainGraph`.
 * @example
 * const w = tensor(0.5, { requiresGrad: true });
 * const y = w.mul(3).sigmoid();
 * for (const s of inspect.backwardSteps(y)) console.log(s.node.name, s.upstream.itemSync());
 */
export function backwardSteps(output: Tensor, options: BackwardStepsOptions = {}): BackwardStep[] {
  const root = output.gradFn ?? (output.requiresGrad ? output.gradNode() : null);
  if (root === null) {
    throw new Error(
      `backwardSteps: the tensor (shape ${formatShape(output.shape)}) does not require grad, so it has no backward graph`,
    );
  }
  const limit = options.jacobianLimit ?? 256;
  if (!Number.isInteger(limit) || limit < 0)
    throw new Error(`backwardSteps: jacobianLimit must be a non-negative integer, got ${limit}`);
  const seed = seedGradient(output, options.gradient);
  const order = reverseTopologicalOrder([root]);
  const released = order.find((node) => node.released && !(node instanceof AccumulateGrad));
  if (released) throw released.releasedError();

  return noGrad(() => {
    const pending = new Map<Node, Tensor>([[root, seed]]);
    const steps: BackwardStep[] = [];
    for (const node of order) {
      const upstream = pending.get(node);
      if (upstream === undefined) continue;
      if (node instanceof AccumulateGrad) {
        steps.push({ node, upstream, inputs: [] });
        continue;
      }
      const grads = node.apply(upstream);
      const inputs: BackwardStepInput[] = [];
      node.inputs.forEach((input, i) => {
        const grad = grads[i];
        if (input === null || grad === null || grad === undefined) return;
        const product = castLike(node, i, grad);
        const local = jacobian(node, i, upstream, limit);
        inputs.push({ index: i, node: input, local, product });
        const previous = pending.get(input);
        pending.set(input, previous === undefined ? product : previous.add(product));
      });
      steps.push({ node, upstream, inputs });
    }
    return steps;
  });
}

function seedGradient(output: Tensor, gradient: Tensor | undefined): Tensor {
  if (gradient === undefined) {
    if (output.numel() !== 1) {
      throw new Error(
        `backwardSteps: the output has shape ${formatShape(output.shape)}; a non-scalar output needs { gradient } (as backward() does)`,
      );
    }
    return onesLike(output);
  }
  if (!shapesEqual(gradient.shape, output.shape)) {
    throw new Error(
      `backwardSteps: gradient of shape ${formatShape(gradient.shape)} does not match the output's shape ${formatShape(output.shape)}`,
    );
  }
  return gradient;
}

/** A gradient takes the dtype of the tensor it is the gradient of, as in the engine. */
function castLike(node: Node, i: number, grad: Tensor): Tensor {
  const dtype = node.inputDTypes[i];
  return dtype && dtype !== grad.dtype && isFloatingDType(dtype) ? grad.to(dtype) : grad;
}

/** Row k is the rule applied to the k-th unit upstream gradient: the Jacobian's k-th row. */
function jacobian(node: Node, i: number, upstream: Tensor, limit: number): Tensor | null {
  const outCount = upstream.numel();
  const inShape = node.inputShapes[i];
  const inCount = inShape.reduce((a, b) => a * b, 1);
  if (outCount * inCount > limit || outCount === 0) return null;
  const units = eye(outCount, outCount, { dtype: upstream.dtype, device: upstream.device });
  const rows: Tensor[] = [];
  for (let k = 0; k < outCount; k++) {
    const g = node.apply(units.select(0, k).reshape(upstream.shape))[i];
    // A rule may return null for an input whose gradient is zero.
    rows.push(
      g
        ? castLike(node, i, g).reshape([inCount])
        : zeros([inCount], { dtype: upstream.dtype, device: upstream.device }),
    );
  }
  return stack(rows, 0);
}
