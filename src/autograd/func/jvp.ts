/**
 * `func.jvp`: forward mode, as jax.jvp. The engine is reverse-mode only, so forward mode uses
 * the double-vjp trick: with u a dummy cotangent, g(u) = uᵀJ is linear in u, and the vjp of g
 * with respect to u, taken with cotangent v, is Jv. That needs only that every op's backward is
 * itself differentiable, which holds for every op here.
 */
import type { Tensor } from '../../tensor/tensor.js';
import {
  assertFunction,
  assertSameShape,
  makePrimals,
  resolveArgnums,
  transformLeaf,
  vjpOf,
  zerosOf,
  runTransform,
} from './core.js';
import { flattenTree, type FlatTree } from './tree.js';

/** f at the primals and the pushforward of tangents through its linearization: shared by jvp and jacfwd. */
export interface Linearized {
  output: unknown;
  outputs: FlatTree;
  /** The differentiation variables, flattened over argnums. */
  inputs: Tensor[];
  /**
   * J·v for tangents given per input (null: zero tangent for that input), as one tensor per
   * output leaf. `retainGraph` keeps the graph for another pushforward.
   */
  pushforward(
    tangents: readonly (Tensor | null)[],
    createGraph: boolean,
    retainGraph: boolean,
  ): Tensor[];
}

export function linearize(
  op: string,
  f: (...args: any[]) => unknown,
  args: readonly unknown[],
  argnums: readonly number[],
): Linearized {
  const primals = makePrimals(op, args, argnums);
  const output = f(...primals.args);
  const outputs = flattenTree(output, { op, what: 'the output of f' });
  outputs.leaves.forEach((o, i) => {
    if (!o.isFloatingPoint())
      throw new TypeError(
        `${op}: f must return floating-point tensors, got dtype ${o.dtype} at output ${i}`,
      );
  });
  const dummies = outputs.leaves.map((o) => transformLeaf(zerosOf(o)));
  // uᵀJ for each input, recorded so that it can be differentiated with respect to u.
  const transposed = vjpOf(outputs.leaves, primals.inputs, dummies, {
    createGraph: true,
    retainGraph: true,
  });
  return {
    output,
    outputs,
    inputs: primals.inputs,
    pushforward(tangents, createGraph, retainGraph) {
      const given = transposed
        .map((g, i) => ({ g, v: tangents[i] }))
        .filter((p): p is { g: Tensor; v: Tensor } => p.v !== null);
      return vjpOf(
        given.map((p) => p.g),
        dummies,
        given.map((p) => p.v),
        { createGraph, retainGraph },
      );
    },
  };
}

/**
 * Evaluates f at `primals` and its directional derivative along `tangents`: returns
 * `[output, tangentOut]`, where tangentOut = J·tangents is shaped like the output. `primals` and
 * `tangents` are arrays with one entry per argument of f (a tensor, or an array / object of
 * tensors), tangent shapes matching their primals.
 * @example
 * const [y, dy] = func.jvp((x: Tensor) => x.sin(), [x], [onesLike(x)]); // dy = cos(x)
 */
export function jvp(
  f: (...args: any[]) => unknown,
  primals: readonly unknown[],
  tangents: readonly unknown[],
): [any, any] {
  const op = 'func.jvp';
  assertFunction(op, f);
  if (!Array.isArray(primals) || !Array.isArray(tangents)) {
    throw new TypeError(`${op}: primals and tangents must be arrays, one entry per argument of f`);
  }
  if (primals.length !== tangents.length) {
    throw new Error(
      `${op}: got ${primals.length} primals but ${tangents.length} tangents; expected one tangent per primal`,
    );
  }
  if (primals.length === 0) throw new Error(`${op}: expected at least one primal`);
  const tangentLeaves = tangents.flatMap((t, i) => {
    const primal = flattenTree(primals[i], { op, what: `primal ${i}` }).leaves;
    const leaves = flattenTree(t, { op, what: `tangent ${i}` }).leaves;
    if (leaves.length !== primal.length)
      throw new Error(
        `${op}: tangent ${i} has ${leaves.length} tensors but primal ${i} has ${primal.length}`,
      );
    leaves.forEach((v, j) =>
      assertSameShape(
        op,
        `tangent ${i}${leaves.length > 1 ? ` (tensor ${j})` : ''}`,
        v,
        primal[j],
        'its primal',
      ),
    );
    return leaves;
  });
  return runTransform((createGraph) => {
    const lin = linearize(
      op,
      f,
      primals,
      resolveArgnums(
        op,
        primals.map((_, i) => i),
        primals.length,
      ),
    );
    return [lin.output, lin.outputs.rebuild(lin.pushforward(tangentLeaves, createGraph, false))];
  });
}
