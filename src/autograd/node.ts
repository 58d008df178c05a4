/**
 * A node of the recorded graph: the backward function of one op output. Each node knows the
 * nodes of its differentiable inputs (its edges), the tensors it saved, and hooks on its output.
 */
import type { Tensor } from '../tensor/tensor.js';
import type { DType } from '../tensor/dtype.js';
import { formatShape } from '../tensor/shape.js';
import { captureCreationStack, isAnomalyEnabled } from './anomaly.js';

/**
 * Computes the gradients of an op's inputs from the gradient of its output. Written with
 * differentiable tensor ops, so that it can itself be differentiated (createGraph).
 * `needsGrad[i]` says whether input i wants a gradient; the rule may return null for others.
 */
export type BackwardFn = (
  grad: Tensor,
  saved: Tensor[],
  needsGrad: readonly boolean[],
) => (Tensor | null | undefined)[];

/** A hook on a gradient: may return a replacement. */
export type GradHook = (grad: Tensor) => Tensor | void | undefined;

export interface RemovableHandle {
  remove(): void;
}

/** A tensor saved for backward with the version it had, to detect in-place changes. */
class SavedTensor {
  readonly version: number;
  constructor(readonly tensor: Tensor) {
    this.version = tensor.version;
  }

  unpack(node: Node): Tensor {
    if (this.tensor.version !== this.version) {
      const t = this.tensor;
      const producer = t.gradFn ? `, which is the output of ${t.gradFn.name},` : '';
      throw new Error(
        `one of the tensors needed for gradient computation has been modified by an in-place operation: ` +
          `[${t.dtype} ${formatShape(t.shape)}]${producer} is at version ${t.version}; expected version ${this.version}` +
          ` (it was saved by ${node.name}). Use an out-of-place op, or clone() the tensor before modifying it.`,
      );
    }
    return this.tensor;
  }
}

let nextNodeId = 0;

/** The id the next node will get: nodes with an id from here on were made after this call. */
export function nextNodeIdValue(): number {
  return nextNodeId;
}

export class Node {
  /** Creation order: later nodes are never inputs of earlier ones. */
  readonly id = nextNodeId++;
  readonly inputs: readonly (Node | null)[];
  /** Shapes of the op's inputs, to check the gradients its backward returns. */
  readonly inputShapes: readonly (readonly number[])[];
  /** Dtypes of the op's inputs: a gradient of another float dtype is cast to it (mixed precision). */
  readonly inputDTypes: readonly (DType | null)[];
  // The hook lists are allocated on first use: almost no node gets a hook, and ops create many nodes.
  private preHookList: GradHook[] | null = null;
  private retainGradHookList: GradHook[] | null = null;
  /** Where the op was created, recorded in anomaly mode. */
  readonly creationStack: string | undefined;
  private saved: SavedTensor[] | null;
  /** Whether the op saved tensors for backward. */
  readonly hadSaved: boolean;
  /** Null once released: the rule's closure may hold input tensors (for their shapes), so it goes too. */
  private backwardFn: BackwardFn | null;
  /**
   * Saved tensors that the op made for its own backward and that nothing else can reach (conv2d's
   * columns): their memory goes back to the backend when the node is released.
   */
  scratch: readonly Tensor[] = [];
  /**
   * Set on the node of an op with several outputs (split's pieces): each output's node passes it
   * its gradient (of that output's shape) and this places it in the running gradient `sum` of
   * the whole, instead of the engine summing gradients of the input's shape. Such a node saves
   * nothing and is not released by backward: as with PyTorch's SplitBackward, a later pass may
   * reach it through pieces an earlier one did not use.
   */
  gather: ((sum: Tensor | undefined, grad: Tensor, from: Node) => Tensor) | null = null;

  constructor(
    readonly name: string,
    inputs: readonly (Node | null)[],
    saved: readonly Tensor[],
    backwardFn: BackwardFn,
    inputShapes: readonly (readonly number[])[] = [],
    inputDTypes: readonly (DType | null)[] = [],
  ) {
    this.inputs = inputs;
    this.inputShapes = inputShapes;
    this.inputDTypes = inputDTypes;
    this.saved = saved.map((t) => new SavedTensor(t));
    this.hadSaved = saved.length > 0;
    this.backwardFn = backwardFn;
    this.creationStack = isAnomalyEnabled() ? captureCreationStack() : undefined;
  }

  /** Hooks on the gradient of this node's output tensor (registerHook on a non-leaf). */
  get preHooks(): GradHook[] {
    return (this.preHookList ??= []);
  }

  /** retainGrad() hooks: run after preHooks, so the retained gradient is the hooked one (as PyTorch). */
  get retainGradHooks(): GradHook[] {
    return (this.retainGradHookList ??= []);
  }

  /** Whether any hook is registered (without allocating the lists). */
  get hasHooks(): boolean {
    return (
      (this.preHookList !== null && this.preHookList.length > 0) ||
      (this.retainGradHookList !== null && this.retainGradHookList.length > 0)
    );
  }

  /** Runs the backward rule; throws if saved tensors were freed or modified in place. */
  apply(grad: Tensor): (Tensor | null | undefined)[] {
    if (this.saved === null || this.backwardFn === null) throw this.releasedError();
    const saved = this.saved.map((s) => s.unpack(this));
    return this.backwardFn(
      grad,
      saved,
      this.inputs.map((input) => input !== null),
    );
  }

  /** The tensors saved for backward (none once released), unchecked: for memory accounting. */
  get savedTensors(): readonly Tensor[] {
    return this.saved?.map((s) => s.tensor) ?? [];
  }

  /** Whether backward already ran through this node without retainGraph. */
  get released(): boolean {
    return this.backwardFn === null;
  }

  releasedError(): Error {
    return new Error(
      `${this.name}: trying to backward through the graph a second time (or to read saved tensors ` +
        `after they were freed). Saved tensors are freed by backward() and autograd.grad(); pass ` +
        `{ retainGraph: true } if you need to backward through the graph a second time.`,
    );
  }

  /**
   * Drops saved tensors and the backward rule (whose closure may reference input tensors), so
   * that a graph kept alive after backward (say, by a loss kept for logging) holds no tensor data.
   */
  release(): void {
    if (this.gather !== null) return;
    this.saved = null;
    this.backwardFn = null;
    // Given back at once rather than when collected, so that the next step's op reuses the
    // memory while it is still in cache.
    for (const t of this.scratch) t.backend.release?.(t.storage);
    this.scratch = [];
  }
}

/** The node that accumulates into a leaf tensor's `.grad`. One per leaf, shared by its uses. */
export class AccumulateGrad extends Node {
  constructor(readonly variable: Tensor) {
    super('AccumulateGrad', [], [], () => []);
  }
}

export function addHook(list: GradHook[], hook: GradHook): RemovableHandle {
  list.push(hook);
  return {
    remove() {
      const i = list.indexOf(hook);
      if (i >= 0) list.splice(i, 1);
    },
  };
}
