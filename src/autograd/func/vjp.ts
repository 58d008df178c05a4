/** `func.vjp`: reverse mode with the cotangent chosen later, as jax.vjp. */
import type { Tensor } from '../../tensor/tensor.js';
import { assertFunction, assertSameShape, makePrimals, runTransform, vjpOf } from './core.js';
import { flattenTree, type FlatTree } from './tree.js';

/** Maps a cotangent (shaped like f's output) to one gradient per primal. */
export type VjpFn = (cotangent: unknown) => any[];

/** The output leaves of f at the primals and the pullback of cotangents through them: shared by vjp and jacrev. */
export interface Traced {
  output: unknown;
  outputs: FlatTree;
  /** One gradient tree per differentiated argument. */
  pullback(cotangents: readonly Tensor[], createGraph: boolean): unknown[];
}

/** Runs f with the arguments at `argnums` made differentiable and keeps the graph for pullbacks. */
export function trace(
  op: string,
  f: (...args: any[]) => unknown,
  args: readonly unknown[],
  argnums: readonly number[],
): Traced {
  const primals = makePrimals(op, args, argnums);
  const output = f(...primals.args);
  const outputs = flattenTree(output, { op, what: 'the output of f' });
  return {
    output,
    outputs,
    pullback: (cotangents, createGraph) =>
      // The graph is kept: a pullback may run many times (one per Jacobian row, or by the user).
      primals.regroup(
        vjpOf(outputs.leaves, primals.inputs, cotangents, { createGraph, retainGraph: true }),
      ),
  };
}

/**
 * Evaluates f at the primals and returns `[output, vjpFn]`; `vjpFn(cotangent)` (cotangent shaped
 * like the output: a tensor, or the same array / object of tensors) returns the vector-Jacobian
 * product for each primal, as an array with one entry per primal. vjpFn may be called many times.
 * @example
 * const [y, vjpFn] = func.vjp((x: Tensor) => x.sin(), x);
 * const [dx] = vjpFn(onesLike(y)); // cos(x)
 */
export function vjp(f: (...args: any[]) => unknown, ...primals: unknown[]): [any, VjpFn] {
  const op = 'func.vjp';
  assertFunction(op, f);
  if (primals.length === 0) throw new Error(`${op}: expected at least one primal after f`);
  return runTransform(() => {
    const traced = trace(
      op,
      f,
      primals,
      primals.map((_, i) => i),
    );
    const vjpFn: VjpFn = (cotangent) =>
      runTransform((createGraph) => {
        const given = flattenTree(cotangent, { op, what: 'the cotangent' });
        const expected = traced.outputs.leaves;
        if (given.leaves.length !== expected.length) {
          throw new Error(
            `${op}: the cotangent has ${given.leaves.length} tensors but f's output has ${expected.length}`,
          );
        }
        given.leaves.forEach((c, i) =>
          assertSameShape(op, `cotangent ${i}`, c, expected[i], `output ${i} of f`),
        );
        return traced.pullback(given.leaves, createGraph);
      });
    return [traced.output, vjpFn];
  });
}
