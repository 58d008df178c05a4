/**
 * `func.vmap`: vectorizing map, with JAX's semantics. It is implemented by running f once per
 * batch element on `select`ed slices and stacking the results, so it is exactly as fast as a
 * loop; what it gives is the program transformation: f is written for one example, and vmap
 * composes with itself and with the differentiation transforms (per-sample gradients are
 * `vmap(grad(loss), …)`). Because slicing and stacking are differentiable, gradients flow
 * through vmap too.
 */
import { formatShape, normalizeDim } from '../../tensor/shape.js';
import { stack } from '../ops/shape_ops.js';
import { assertFunction } from './core.js';
import { flattenTree, type FlatTree } from './tree.js';

const op = 'vmap';

/** Which dimension of an argument is mapped; null: the argument is passed whole to every call. */
export type InDim = number | null;

export interface VmapOptions {
  /** The mapped dim of every argument (a number or null), or one entry per argument. Default 0. */
  inDims?: InDim | readonly InDim[];
  /** Where the batch dim goes in each output tensor: one number for all, or one per output tensor. Default 0. */
  outDims?: number | readonly number[];
}

interface MappedArg {
  flat: FlatTree;
  /** The mapped dim of each tensor of the argument, normalized. */
  dims: number[];
}

function checkDimEntry(value: unknown, what: string): InDim {
  if (value === null || Number.isInteger(value)) return value as InDim;
  throw new TypeError(`${op}: ${what} must be an integer or null, got ${String(value)}`);
}

/** One inDim per argument. */
function resolveInDims(inDims: InDim | readonly InDim[], argCount: number): InDim[] {
  if (!Array.isArray(inDims))
    return Array.from({ length: argCount }, () => checkDimEntry(inDims, 'inDims'));
  if (inDims.length !== argCount) {
    throw new Error(
      `${op}: inDims has ${inDims.length} entries but f was called with ${argCount} argument${argCount === 1 ? '' : 's'}`,
    );
  }
  return inDims.map((d, i) => checkDimEntry(d, `inDims[${i}]`));
}

/** The batch size all mapped tensors agree on, or an error naming the first disagreement. */
function batchSize(mapped: readonly { arg: number; flat: FlatTree; dims: number[] }[]): number {
  let size: { n: number; where: string } | null = null;
  for (const { arg, flat, dims } of mapped) {
    flat.leaves.forEach((t, j) => {
      const n = t.shape[dims[j]];
      const where = `argument ${arg}${flat.leaves.length > 1 ? ` (tensor ${j})` : ''} has size ${n} along dim ${dims[j]}`;
      if (size === null) size = { n, where };
      else if (size.n !== n)
        throw new Error(
          `${op}: mapped arguments have different batch sizes: ${size.where}, but ${where}`,
        );
    });
  }
  if (size === null)
    throw new Error(
      `${op}: at least one argument must be mapped (a tensor with an inDims entry that is not null)`,
    );
  return (size as { n: number }).n;
}

/** Stacks the per-example output tensors of each output along its outDim. */
function stackOutputs(results: readonly unknown[], outDims: number | readonly number[]): unknown {
  const flats = results.map((r, b) =>
    flattenTree(r, { op, what: `the output of f (batch element ${b})` }),
  );
  const first = flats[0];
  const count = first.leaves.length;
  if (Array.isArray(outDims) && outDims.length !== count) {
    throw new Error(
      `${op}: outDims has ${outDims.length} entries but f returned ${count} tensor${count === 1 ? '' : 's'}`,
    );
  }
  const stacked = first.leaves.map((t0, i) => {
    const parts = flats.map((flat, b) => {
      if (flat.leaves.length !== count) {
        throw new Error(
          `${op}: f returned ${count} tensors for batch element 0 but ${flat.leaves.length} for batch element ${b}`,
        );
      }
      const t = flat.leaves[i];
      if (t.ndim !== t0.ndim || t.shape.some((d, k) => d !== t0.shape[k])) {
        throw new Error(
          `${op}: f returned outputs of different shapes: output ${i} has shape ${formatShape(t0.shape)} for batch element 0 but ${formatShape(t.shape)} for batch element ${b}`,
        );
      }
      return t;
    });
    const entry = checkDimEntry(
      Array.isArray(outDims) ? outDims[i] : outDims,
      Array.isArray(outDims) ? `outDims[${i}]` : 'outDims',
    );
    if (entry === null)
      throw new TypeError(
        `${op}: outDims entries must be integers; null (an unmapped output) is not supported`,
      );
    const dim = normalizeDim(
      `${op}: outDims for output ${i} of shape ${formatShape(t0.shape)}`,
      entry,
      t0.ndim + 1,
    );
    return stack(parts, dim);
  });
  return first.rebuild(stacked);
}

/**
 * Maps f over a batch dimension of its arguments: `vmap(f)(xs)` stacks `f(xs[0]), f(xs[1]), …`.
 * `inDims` picks the mapped dim of each argument (null: pass the argument whole, unmapped);
 * `outDims` places the batch dim in the outputs. Arguments and outputs may be tensors or arrays /
 * plain objects of tensors (an inDims entry applies to every tensor of its argument). All mapped
 * tensors must have the same size along their mapped dims.
 *
 * Runs f once per batch element (see the module note): JAX's semantics, a loop's speed.
 * @example
 * const dots = func.vmap((a: Tensor, b: Tensor) => a.dot(b))(A, B); // row-wise dot products
 * const outer = func.vmap(func.vmap((a: Tensor, b: Tensor) => a.mul(b), { inDims: [null, 0] }), { inDims: [0, null] });
 * // per-sample gradients of loss(params, x, y):
 * const grads = func.vmap(func.grad(loss), { inDims: [null, 0, 0] })(params, xs, ys);
 */
export function vmap(
  f: (...args: any[]) => unknown,
  options: VmapOptions = {},
): (...args: any[]) => any {
  assertFunction(op, f);
  const { inDims = 0, outDims = 0 } = options;
  return (...args) => {
    const dims = resolveInDims(inDims, args.length);
    const mapped: (MappedArg | null)[] = args.map((a, i) => {
      const d = dims[i];
      if (d === null) return null;
      const what = `argument ${i}`;
      const flat = flattenTree(a, {
        op,
        what: `${what} (mapped: inDims ${d}; pass null to leave it unmapped)`,
      });
      return {
        flat,
        dims: flat.leaves.map((t) => {
          if (t.ndim === 0)
            throw new Error(
              `${op}: ${what} is a 0-d tensor, which has no dimension ${d} to map over`,
            );
          return normalizeDim(
            `${op}: inDims for ${what} of shape ${formatShape(t.shape)}`,
            d,
            t.ndim,
          );
        }),
      };
    });
    const size = batchSize(mapped.flatMap((m, arg) => (m === null ? [] : [{ arg, ...m }])));
    if (size === 0) throw new Error(`${op}: cannot map over a batch of size 0`);
    const results = Array.from({ length: size }, (_, b) =>
      f(
        ...args.map((a, i) => {
          const m = mapped[i];
          return m === null
            ? a
            : m.flat.rebuild(m.flat.leaves.map((t, j) => t.select(m.dims[j], b)));
        }),
      ),
    );
    return stackOutputs(results, outDims);
  };
}
