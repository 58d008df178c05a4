/**
 * The reverse pass: runs nodes in reverse topological order, sums the gradients that reach each
 * node from its consumers, and accumulates into leaves' `.grad` (or returns the gradients of
 * chosen inputs, for autograd.grad). Iterative throughout, so deep graphs cannot overflow the stack.
 */
import type { Storage } from '../backend/backend.js';
import { type Tensor, TensorBuffer } from '../tensor/tensor.js';
import { formatShape, shapesEqual } from '../tensor/shape.js';
import { isFloatingDType } from '../tensor/dtype.js';
import { isAnomalyEnabled } from './anomaly.js';
import { isGradEnabled, setGradEnabled } from './grad_mode.js';
import { AccumulateGrad, type Node } from './node.js';

export interface RunBackwardOptions {
  retainGraph: boolean;
  createGraph: boolean;
  /** When set, gradients are captured for these nodes and leaves' .grad is left alone. */
  captureNodes?: readonly Node[];
}

/** Every node reachable from the roots, with the number of consumers each has among them. */
function collectGraph(roots: readonly Node[]): Map<Node, number> {
  const consumers = new Map<Node, number>();
  const stack: Node[] = [];
  for (const root of roots) {
    if (!consumers.has(root)) {
      consumers.set(root, 0);
      stack.push(root);
    }
  }
  while (stack.length > 0) {
    const node = stack.pop()!;
    for (const input of node.inputs) {
      if (input === null) continue;
      const count = consumers.get(input);
      if (count === undefined) {
        consumers.set(input, 1);
        stack.push(input);
      } else consumers.set(input, count + 1);
    }
  }
  return consumers;
}

/** Nodes from which some capture node can be reached: only those need to run. */
function nodesLeadingTo(order: readonly Node[], targets: ReadonlySet<Node>): Set<Node> {
  const needed = new Set<Node>();
  for (let i = order.length - 1; i >= 0; i--) {
    const node = order[i];
    if (targets.has(node) || node.inputs.some((input) => input !== null && needed.has(input)))
      needed.add(node);
  }
  return needed;
}

/** Reverse topological order (consumers before producers), by Kahn's algorithm. */
function topologicalOrder(roots: readonly Node[], consumers: Map<Node, number>): Node[] {
  const remaining = new Map(consumers);
  const ready = [...new Set(roots)].filter((node) => remaining.get(node) === 0);
  const order: Node[] = [];
  while (ready.length > 0) {
    const node = ready.pop()!;
    order.push(node);
    for (const input of node.inputs) {
      if (input === null) continue;
      const left = remaining.get(input)! - 1;
      remaining.set(input, left);
      if (left === 0) ready.push(input);
    }
  }
  return order;
}

/** Every node reachable from `roots`, consumers before inputs: the order backward runs them in. */
export function reverseTopologicalOrder(roots: readonly Node[]): Node[] {
  return topologicalOrder(roots, collectGraph(roots));
}

function addGradients(a: Tensor | undefined, b: Tensor): Tensor {
  return a === undefined ? b : a.add(b);
}

function applyHooks(node: Node, grad: Tensor): Tensor {
  // Most nodes have no hooks: skip copying the (empty) hook lists.
  if (!node.hasHooks) return grad;
  // User code sees (and may keep) these gradients: never hand them to a leaf without a copy.
  grad.buffer.epoch = -1;
  let current = grad;
  for (const hook of [...node.preHooks]) {
    const replaced = hook(current);
    if (replaced !== undefined) current = replaced;
  }
  for (const hook of [...node.retainGradHooks]) hook(current);
  current.buffer.epoch = -1;
  return current;
}

/**
 * Whether a leaf's first gradient of this pass can become its .grad as it is, the way PyTorch's
 * AccumulateGrad steals a gradient nobody else holds: made by this pass's kernels (not the
 * user's, not seen by a hook), contiguous over the whole of its own storage, not given to another
 * leaf already, and not waiting to be read by another node. Anything else is copied, since
 * optimizers and clipping change .grad in place.
 */
function canTake(
  grad: Tensor,
  epoch: number,
  taken: Set<Storage>,
  pending: Map<Node, Tensor>,
): boolean {
  return ownedByPass(grad, epoch, taken, pending) && grad.spansStorage();
}

/**
 * Whether only this pass can reach `grad`'s storage: made by this pass's kernels (never seen by
 * a hook or user code), not a leaf's .grad, and not waiting in `pending` for another node.
 */
function ownedByPass(
  grad: Tensor,
  epoch: number,
  taken: Set<Storage>,
  pending: Map<Node, Tensor>,
): boolean {
  if (grad.buffer.epoch !== epoch || taken.has(grad.storage)) return false;
  for (const other of pending.values()) if (other.storage === grad.storage) return false;
  return true;
}

/**
 * Gives the memory of gradients the pass has consumed back to their backend at once (PyTorch
 * frees them when their last reference goes): the next kernel's result of that size reuses it
 * while it is still in cache. `kept` are tensors that live on (a node's results).
 */
function releaseSpent(
  spent: readonly (Tensor | undefined)[],
  kept: readonly (Tensor | null | undefined)[],
  epoch: number,
  taken: Set<Storage>,
  pending: Map<Node, Tensor>,
): void {
  for (const grad of spent) {
    if (!grad?.backend.release || !ownedByPass(grad, epoch, taken, pending)) continue;
    if (kept.some((t) => t?.storage === grad.storage)) continue;
    grad.backend.release(grad.storage);
  }
}

function checkAnomaly(node: Node, index: number, grad: Tensor): void {
  const values = grad.dataSync();
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) {
      throw new Error(
        `detectAnomaly: ${node.name} returned ${Number.isNaN(values[i]) ? 'NaN' : 'Inf'} values in its gradient for input ${index}. ` +
          `The op was created at:\n${node.creationStack ?? '(unknown: the op was created outside anomaly mode)'}`,
      );
    }
  }
}

/**
 * Runs the reverse pass from `roots` seeded with `rootGrads`. Returns the gradient reaching each
 * capture node (undefined when none reaches it).
 */
export function runBackward(
  roots: readonly Node[],
  rootGrads: readonly Tensor[],
  options: RunBackwardOptions,
): (Tensor | undefined)[] {
  const consumers = collectGraph(roots);
  const order = topologicalOrder(roots, consumers);
  const capture = options.captureNodes;
  const captureSet = capture ? new Set(capture) : null;
  const needed = captureSet ? nodesLeadingTo(order, captureSet) : null;
  const captured = new Map<Node, Tensor>();

  // A graph already freed by a backward without retainGraph fails before any gradient is
  // accumulated, naming (as PyTorch does) the first node that needed its saved tensors.
  const freed = order.filter((node) => node.released && (needed === null || needed.has(node)));
  if (freed.length > 0) throw (freed.find((node) => node.hadSaved) ?? freed[0]).releasedError();

  // Buffers made from here on belong to this pass (see canTake).
  const epoch = ++TensorBuffer.epoch;
  const taken = new Set<Storage>();
  // Consumed gradients go back to the backend at once, unless a graph of them is being built.
  const release = !options.createGraph;
  const pending = new Map<Node, Tensor>();
  roots.forEach((root, i) => pending.set(root, addGradients(pending.get(root), rootGrads[i])));

  const previousMode = isGradEnabled();
  setGradEnabled(options.createGraph);
  const anomaly = isAnomalyEnabled();
  try {
    for (const node of order) {
      let grad = pending.get(node);
      pending.delete(node);
      if (grad === undefined || (needed !== null && !needed.has(node))) continue;
      grad = applyHooks(node, grad);
      if (captureSet?.has(node)) {
        grad.buffer.epoch = -1;
        captured.set(node, grad);
        if (node instanceof AccumulateGrad) continue;
      }
      if (node instanceof AccumulateGrad) {
        const variable = node.variable;
        // A new .grad gets its own contiguous storage: the incoming gradient may be a stride-0
        // expand or shared with other leaves, and optimizers / clipping modify .grad in place.
        const current = variable.peekGrad();
        if (options.createGraph) {
          // The gradient is part of a graph now (and may be the user's own seed): user code's.
          variable.grad = current ? current.add(grad) : grad;
          continue;
        }
        const take = !current && canTake(grad, epoch, taken, pending);
        if (take) taken.add(grad.storage);
        const value = take || current ? grad.detach() : grad.detach().clone();
        // Taken, copied or summed, the new .grad's storage is this pass's alone.
        const sum = current ? current.add(value) : value;
        variable.setOwnGrad(sum);
        if (release) releaseSpent([grad], [sum], epoch, taken, pending);
        continue;
      }
      const inputGrads = node.apply(grad);
      for (let i = 0; i < node.inputs.length; i++) {
        const input = node.inputs[i];
        const inputGrad = inputGrads[i];
        if (input === null || inputGrad === null || inputGrad === undefined) continue;
        const expected = node.inputShapes[i];
        if (input.gather === null && !shapesEqual(inputGrad.shape, expected)) {
          throw new Error(
            `${node.name} returned a gradient of shape ${formatShape(inputGrad.shape)} for input ${i} of shape ${formatShape(expected)}`,
          );
        }
        if (anomaly) checkAnomaly(node, i, inputGrad);
        // Mixed precision: a gradient takes the dtype of the tensor it is the gradient of.
        const dtype = node.inputDTypes[i];
        const cast =
          dtype && dtype !== inputGrad.dtype && isFloatingDType(dtype)
            ? inputGrad.to(dtype)
            : inputGrad;
        const previous = pending.get(input);
        pending.set(
          input,
          input.gather ? input.gather(previous, cast, node) : addGradients(previous, cast),
        );
        // The two summed are spent, unless one is also the gradient of an input still to come;
        // so is one gathered (copied into the whole's gradient, which stays pending).
        if (release && (previous || input.gather)) {
          const later = inputGrads.slice(i + 1);
          releaseSpent([previous, cast], later, epoch, taken, pending);
        }
      }
      if (release) releaseSpent([grad], inputGrads, epoch, taken, pending);
      if (!options.retainGraph) node.release();
    }
  } finally {
    setGradEnabled(previousMode);
  }
  return (capture ?? []).map((node) => captured.get(node));
}

/** Shape check for a gradient passed in by the user. */
export function checkGradShape(op: string, output: Tensor, grad: Tensor): void {
  if (!shapesEqual(output.shape, grad.shape)) {
    throw new Error(
      `${op}: gradient of shape ${formatShape(grad.shape)} does not match the output's shape ${formatShape(output.shape)}`,
    );
  }
}
