/**
 * What every function transform shares: how inputs are made differentiable, the one
 * vector-Jacobian product they are all built on, and how results are cut off from the
 * transform's private graph once the outermost transform returns.
 *
 * Transforms nest because each runs on the ordinary tape: the gradients a transform returns are
 * computed with `createGraph` whenever grad mode was on where it was called, so an enclosing
 * transform (or the user's own `backward()`) can differentiate them again.
 */
import { Tensor } from '../../tensor/tensor.js';
import { formatShape } from '../../tensor/shape.js';
import { ones, zeros } from '../../tensor/creation.js';
import { grad as autogradGrad } from '../backward.js';
import { enableGrad, isGradEnabled } from '../grad_mode.js';
import { AccumulateGrad, type Node } from '../node.js';
import { flattenTree, type FlatTree } from './tree.js';

/** How many transforms are running now (nested calls). */
let depth = 0;

/** Leaves that transforms created as their own differentiation variables. */
const transformLeaves = new WeakSet<Tensor>();

/** A new leaf that requires grad, private to a transform. */
export function transformLeaf(t: Tensor): Tensor {
  const leaf = t.detach().requiresGrad_();
  transformLeaves.add(leaf);
  return leaf;
}

/**
 * Runs one transform. `body` gets `createGraph`: whether grad mode was on where the transform
 * was called, i.e. whether its results must stay differentiable for whoever called it. The body
 * itself always runs with grad mode on (as torch.func.grad does), so the transform works inside
 * `noGrad` too. When the outermost transform returns, results that depend only on the
 * transforms' private leaves are detached, so that they neither hold the graph alive nor look
 * differentiable; results that depend on a tensor from outside (a closure over a parameter that
 * requires grad, say) keep their graph.
 */
export function runTransform<T>(body: (createGraph: boolean) => T): T {
  const createGraph = isGradEnabled();
  depth++;
  let result: T;
  try {
    result = enableGrad(() => body(createGraph));
  } finally {
    depth--;
  }
  return depth === 0 ? release(result) : result;
}

/** Whether the graph behind `t` reaches a leaf that no transform created. */
function dependsOnOutsideLeaf(t: Tensor): boolean {
  if (t.isLeaf) return !transformLeaves.has(t);
  const seen = new Set<Node>();
  const stack: Node[] = [t.gradNode()];
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (node instanceof AccumulateGrad) {
      if (!transformLeaves.has(node.variable)) return true;
      continue;
    }
    for (const input of node.inputs) {
      if (input !== null && !seen.has(input)) {
        seen.add(input);
        stack.push(input);
      }
    }
  }
  return false;
}

function release<T>(result: T): T {
  const flat = flattenTree(result, null);
  if (flat.leaves.every((t) => !t.requiresGrad)) return result;
  return flat.rebuild(
    flat.leaves.map((t) => (t.requiresGrad && !dependsOnOutsideLeaf(t) ? t.detach() : t)),
  );
}

/**
 * The differentiation variable a transform feeds to `f` in place of `x`. If `x` already requires
 * grad (an enclosing transform or the user's autograd tracks it), a differentiable copy, so the
 * enclosing level still sees how the result depends on `x`; otherwise a fresh private leaf.
 */
export function differentiable(op: string, x: Tensor, what: string): Tensor {
  if (!x.isFloatingPoint()) {
    throw new TypeError(
      `${op}: ${what} must be a floating-point tensor to be differentiated, got dtype ${x.dtype}`,
    );
  }
  return x.requiresGrad ? x.clone() : transformLeaf(x);
}

export interface VjpOptions {
  createGraph: boolean;
  retainGraph: boolean;
}

/**
 * Σᵢ cotangentᵢ · ∂outputᵢ/∂input for each input, with zeros (not null) where an input does not
 * affect the outputs, as JAX gives. Outputs that do not require grad contribute nothing.
 */
export function vjpOf(
  outputs: readonly Tensor[],
  inputs: readonly Tensor[],
  cotangents: readonly Tensor[],
  options: VjpOptions,
): Tensor[] {
  const used = outputs
    .map((output, i) => ({ output, cotangent: cotangents[i] }))
    .filter(({ output }) => output.requiresGrad);
  if (used.length === 0 || inputs.length === 0) return inputs.map(zerosOf);
  const grads = autogradGrad(
    used.map((u) => u.output),
    inputs,
    {
      gradOutputs: used.map((u) => u.cotangent),
      createGraph: options.createGraph,
      // A recorded result may be differentiated again through this graph, so it must outlive this pass.
      retainGraph: options.retainGraph || options.createGraph,
      allowUnused: true,
    },
  );
  return grads.map((g, i) => g ?? zerosOf(inputs[i]));
}

export function zerosOf(t: Tensor): Tensor {
  return zeros(t.shape, { dtype: t.dtype, device: t.device });
}

/** argnums as a list of argument indices, validated against the number of arguments. */
export function resolveArgnums(
  op: string,
  argnums: number | readonly number[],
  argCount: number,
): number[] {
  const list =
    typeof argnums === 'number' ? [argnums] : Array.isArray(argnums) ? [...argnums] : null;
  if (list === null || list.length === 0) {
    throw new TypeError(
      `${op}: argnums must be an argument index or a non-empty array of them, got ${String(argnums)}`,
    );
  }
  list.forEach((i) => {
    if (!Number.isInteger(i) || i < 0 || i >= argCount) {
      throw new RangeError(
        `${op}: argnums ${i} is out of range: f was called with ${argCount} argument${argCount === 1 ? '' : 's'}`,
      );
    }
  });
  if (new Set(list).size !== list.length)
    throw new Error(`${op}: argnums has repeated entries: [${list.join(', ')}]`);
  return list;
}

export function assertFunction(op: string, f: unknown): void {
  if (typeof f !== 'function')
    throw new TypeError(
      `${op}: expected f to be a function, got ${f === null ? 'null' : typeof f}`,
    );
}

/** The arguments of one call with the differentiated ones replaced by their variables. */
export interface Primals {
  /** All arguments, ready to pass to `f`. */
  args: unknown[];
  /** The differentiation variables, flattened over the argnums in order. */
  inputs: Tensor[];
  /** Per-input values (gradients, tangents, …) regrouped into one tree per argnum. */
  regroup(values: readonly Tensor[]): unknown[];
}

/** Makes the arguments at `argnums` (tensors or trees of tensors) differentiable. */
export function makePrimals(
  op: string,
  args: readonly unknown[],
  argnums: readonly number[],
): Primals {
  const callArgs = [...args];
  const flats: FlatTree[] = [];
  const inputs: Tensor[] = [];
  for (const i of argnums) {
    const what = `argument ${i}`;
    const flat = flattenTree(args[i], { op, what });
    const variables = flat.leaves.map((x) => differentiable(op, x, what));
    callArgs[i] = flat.rebuild(variables);
    flats.push(flat);
    inputs.push(...variables);
  }
  return {
    args: callArgs,
    inputs,
    regroup(values) {
      let start = 0;
      return flats.map((flat) => {
        const part = values.slice(start, start + flat.leaves.length);
        start += flat.leaves.length;
        return flat.rebuild(part);
      });
    },
  };
}

/** Throws unless `value` is a tensor; `what` names it in the error. */
export function assertTensorValue(op: string, value: unknown, what: string): Tensor {
  if (!(value instanceof Tensor)) {
    throw new TypeError(
      `${op}: ${what} must be a Tensor, got ${value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value}`,
    );
  }
  return value;
}

/** Throws unless `t` has the shape of `expected` (a tangent against its primal, a cotangent against its output). */
export function assertSameShape(
  op: string,
  what: string,
  t: Tensor,
  expected: Tensor,
  expectedWhat: string,
): void {
  if (t.ndim !== expected.ndim || t.shape.some((d, i) => d !== expected.shape[i])) {
    throw new Error(
      `${op}: ${what} has shape ${formatShape(t.shape)} but ${expectedWhat} has shape ${formatShape(expected.shape)}`,
    );
  }
}

/** `value` as a floating-point 0-d tensor, or an error: grad, valueAndGrad and hvp need a scalar f. */
export function scalarOutput(op: string, value: unknown): Tensor {
  if (!(value instanceof Tensor))
    throw new TypeError(
      `${op}: f must return a scalar tensor, got ${Array.isArray(value) ? 'an array' : typeof value}`,
    );
  if (value.ndim !== 0)
    throw new Error(`${op}: f must return a scalar tensor, got shape ${formatShape(value.shape)}`);
  if (!value.isFloatingPoint())
    throw new TypeError(
      `${op}: f must return a floating-point scalar tensor, got dtype ${value.dtype}`,
    );
  return value;
}

/** The gradient of a scalar output with respect to `inputs` (seed 1). */
export function gradOfScalar(
  value: Tensor,
  inputs: readonly Tensor[],
  options: VjpOptions,
): Tensor[] {
  return vjpOf([value], inputs, [ones([], { dtype: value.dtype, device: value.device })], options);
}
