/**
 * Activation checkpointing, as torch.utils.checkpoint: a segment's forward keeps none of its
 * activations; its backward runs the forward again and differentiates that. Memory for
 * activations drops from every layer's to the segment boundaries' plus one segment's, for about
 * one more forward pass of compute.
 *
 * How: the forward runs `fn` on leaf copies of the arguments with the graph recorded, only to find
 * which leaves (the arguments, and parameters `fn` closes over) the segment reaches; then that
 * graph is released at once (its saved tensors and scratch memory go back) and the outputs get one
 * node, `CheckpointBackward`, whose edges are those leaves. Its backward restores the default
 * generator's state of the forward (so dropout draws the same mask), recomputes, and returns the
 * gradients for the arguments and the parameters: the outer pass accumulates them as usual.
 */
import { defaultGenerator } from '../tensor/random.js';
import { Tensor } from '../tensor/tensor.js';
import { cat } from './ops/shape_ops.js';
import { record } from './define.js';
import { grad as autogradGrad } from './backward.js';
import { enableGrad, isGradEnabled } from './grad_mode.js';
import { AccumulateGrad, nextNodeIdValue, type Node } from './node.js';
import { flattenTree } from './func/tree.js';

const op = 'utils.checkpoint';

/** The arguments with each tensor that requires grad replaced by a new leaf of its values. */
function leafArgs(args: readonly unknown[]): { args: unknown[]; leaves: (Tensor | null)[] } {
  const leaves = args.map((a) =>
    a instanceof Tensor && a.requiresGrad ? a.detach().requiresGrad_() : null,
  );
  return { args: args.map((a, i) => leaves[i] ?? a), leaves };
}

/**
 * The leaves the graph behind `outputs` reaches (each once), releasing every node the segment
 * made (those with an id from `firstId`). A node from before the segment that is not a leaf
 * means `fn` used a tensor computed outside it, which this checkpoint cannot recompute.
 */
function segmentLeaves(outputs: readonly Tensor[], firstId: number): Tensor[] {
  const leaves = new Set<Tensor>();
  const seen = new Set<Node>();
  const stack: Node[] = outputs.filter((t) => t.requiresGrad).map((t) => t.gradNode());
  const segment: Node[] = [];
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (seen.has(node)) continue;
    seen.add(node);
    if (node instanceof AccumulateGrad) {
      leaves.add(node.variable);
      continue;
    }
    if (node.id < firstId)
      throw new Error(
        `${op}: fn uses a tensor that requires grad and was computed outside the segment (the output of ${node.name}); pass it to checkpoint as an argument`,
      );
    segment.push(node);
    for (const input of node.inputs) if (input !== null) stack.push(input);
  }
  for (const node of segment) node.release();
  return [...leaves];
}

/** The differentiable outputs as one tensor for the node (several are concatenated, flat). */
function packOutputs(outputs: readonly Tensor[]): Tensor {
  if (outputs.length === 1) return outputs[0].detach();
  const dtype = outputs[0].dtype;
  if (outputs.some((t) => t.dtype !== dtype))
    throw new TypeError(
      `${op}: the differentiable outputs of fn must share one dtype, got ${outputs.map((t) => t.dtype).join(', ')}`,
    );
  return cat(outputs.map((t) => t.detach().reshape([-1])));
}

/** The packed tensor cut back into outputs of these shapes (differentiable views). */
function unpackOutputs(packed: Tensor, like: readonly Tensor[]): Tensor[] {
  if (like.length === 1) return [packed];
  let offset = 0;
  return like.map((t) => {
    const n = t.numel();
    const part = packed.narrow(0, offset, n).reshape([...t.shape]);
    offset += n;
    return part;
  });
}

/**
 * Runs `fn(...args)` without keeping the activations inside it; backward recomputes them. Use it
 * on the segments of a deep model to trade compute for memory. `fn` must compute the same thing
 * when run again: the default generator is restored for the recomputation (dropout repeats its
 * mask), but a module that updates state in forward (batch norm's running statistics in
 * training mode) updates it twice, as in PyTorch. Tensors that `fn` uses and that require grad
 * must be parameters (leaves) or arguments. Double backward through a checkpoint (createGraph,
 * and so func.grad / hessian) is not supported.
 * @example
 * const h = utils.checkpoint((x: Tensor) => block2.call(block1.call(x)), input);
 * loss(head.call(h)).backward(); // block1 and block2 run again here
 */
export function checkpoint<T>(fn: (...args: any[]) => T, ...args: unknown[]): T {
  if (typeof fn !== 'function')
    throw new TypeError(`${op}: expected fn to be a function, got ${typeof fn}`);
  if (!isGradEnabled()) return fn(...args);
  const rngState = defaultGenerator.getState();
  const firstId = nextNodeIdValue();
  const forward = leafArgs(args);
  const result = fn(...forward.args);
  const flat = flattenTree(result, null);
  const differentiable = flat.leaves.filter((t) => t.requiresGrad);
  const leaves = segmentLeaves(differentiable, firstId);
  const inputs = new Map<Tensor, Tensor>();
  forward.leaves.forEach((leaf, i) => leaf && inputs.set(leaf, args[i] as Tensor));
  // The node's edges: the arguments that require grad, then the parameters fn reached.
  const edges = leaves.map((leaf) => inputs.get(leaf) ?? leaf);
  const detached = flat.leaves.map((t) => (t.requiresGrad ? t.detach() : t));
  if (differentiable.length === 0 || edges.length === 0) return flat.rebuild(detached);
  const argIndex = new Map<Tensor, number>();
  args.forEach((a, i) => a instanceof Tensor && a.requiresGrad && argIndex.set(a, i));
  const shapes = differentiable.map((t) => t.shape);
  const packed = record(
    'CheckpointBackward',
    packOutputs(differentiable),
    edges,
    edges.filter((t) => argIndex.has(t)),
    (grad, _saved, needsGrad) => {
      if (isGradEnabled())
        throw new Error(
          `${op}: double backward (createGraph, func.grad, hessian) through a checkpointed segment is not supported; run the segment without checkpoint`,
        );
      const now = defaultGenerator.getState();
      defaultGenerator.setState(rngState);
      try {
        const again = leafArgs(args);
        const outs = flattenTree(
          enableGrad(() => fn(...again.args)),
          null,
        ).leaves.filter((t) => t.requiresGrad);
        if (outs.length !== shapes.length)
          throw new Error(
            `${op}: fn gave ${outs.length} differentiable outputs when run again in backward, ${shapes.length} in forward; it must compute the same thing both times`,
          );
        const wrt = edges.map((t) => {
          const i = argIndex.get(t);
          return i === undefined ? t : (again.leaves[i] as Tensor);
        });
        const wanted = wrt.filter((_, k) => needsGrad[k]);
        const grads = autogradGrad(outs, wanted, {
          gradOutputs: unpackOutputs(grad, differentiable),
          allowUnused: true,
        });
        let next = 0;
        return needsGrad.map((needed) => (needed ? grads[next++] : null));
      } finally {
        defaultGenerator.setState(now);
      }
    },
  );
  const outputs = unpackOutputs(packed, differentiable);
  let k = 0;
  return flat.rebuild(flat.leaves.map((t, i) => (t.requiresGrad ? outputs[k++] : detached[i])));
}
