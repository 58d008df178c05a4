/**
 * Jacobians and Hessians: `jacrev` (one vjp per output element), `jacfwd` (one jvp per input
 * element), `hessian` (forward over reverse) and `hvp` (reverse over reverse), as in JAX.
 */
import { Tensor } from '../../tensor/tensor.js';
import { eye, zeros } from '../../tensor/creation.js';
import { stack } from '../ops/shape_ops.js';
import {
  assertFunction,
  assertSameShape,
  assertTensorValue,
  gradOfScalar,
  resolveArgnums,
  runTransform,
  scalarOutput,
} from './core.js';
import { linearize } from './jvp.js';
import { trace } from './vjp.js';

export interface JacobianOptions {
  /** Which arguments (tensors) to differentiate: an index, or an array (then an array of Jacobians). Default 0. */
  argnums?: number | readonly number[];
}

/** The one-hot tensors shaped like `t`: `oneHot(k)` is 1 at flat position k. */
function oneHots(t: Tensor): (k: number) => Tensor {
  const n = t.numel();
  const identity = eye(n, n, { dtype: t.dtype, device: t.device });
  return (k) => identity.select(0, k).reshape(t.shape);
}

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

/** Rows (stacked at dim 0) or columns (stacked after the output dims) into a [...out, ...in] Jacobian. */
function assemble(
  parts: Tensor[],
  dim: number,
  outShape: readonly number[],
  inShape: readonly number[],
  like: Tensor,
): Tensor {
  const shape = [...outShape, ...inShape];
  // An empty output or input: nothing to stack.
  if (parts.length === 0) return zeros(shape, { dtype: like.dtype, device: like.device });
  return stack(parts, dim).reshape(shape);
}

/** Resolves argnums and checks that those arguments are tensors (Jacobians need plain tensors). */
function tensorArgnums(
  op: string,
  argnums: number | readonly number[],
  args: readonly unknown[],
): number[] {
  const list = resolveArgnums(op, argnums, args.length);
  list.forEach((i) => assertTensorValue(op, args[i], `argument ${i}`));
  return list;
}

/**
 * The Jacobian of f by reverse mode: for an output of shape O and an argument of shape I, a
 * tensor of shape [...O, ...I]. Costs one backward pass per output element: prefer it when the
 * output is smaller than the input.
 * @example
 * func.jacrev((x: Tensor) => x.sin())(tensor([0, 1])); // diag(cos(x)), shape [2, 2]
 */
export function jacrev(
  f: (...args: any[]) => unknown,
  options: JacobianOptions = {},
): (...args: any[]) => any {
  const op = 'func.jacrev';
  assertFunction(op, f);
  const { argnums = 0 } = options;
  return (...args) => {
    const argList = tensorArgnums(op, argnums, args);
    return runTransform((createGraph) => {
      const traced = trace(op, f, args, argList);
      const out = assertTensorValue(op, traced.output, 'the output of f');
      const oneHot = oneHots(out);
      const rows = range(out.numel()).map(
        (k) => traced.pullback([oneHot(k)], createGraph) as Tensor[],
      );
      const jacobians = argList.map((i, j) => {
        const x = args[i] as Tensor;
        return assemble(
          rows.map((row) => row[j]),
          0,
          out.shape,
          x.shape,
          out,
        );
      });
      return typeof argnums === 'number' ? jacobians[0] : jacobians;
    });
  };
}

/**
 * The Jacobian of f by forward mode, same shape as `jacrev`'s: [...O, ...I]. Costs one jvp per
 * input element: prefer it when the input is smaller than the output.
 * @example
 * func.jacfwd((x: Tensor) => x.outer(x))(tensor([1, 2])); // shape [2, 2, 2]
 */
export function jacfwd(
  f: (...args: any[]) => unknown,
  options: JacobianOptions = {},
): (...args: any[]) => any {
  const op = 'func.jacfwd';
  assertFunction(op, f);
  const { argnums = 0 } = options;
  return (...args) => {
    const argList = tensorArgnums(op, argnums, args);
    return runTransform((createGraph) => {
      const lin = linearize(op, f, args, argList);
      const out = assertTensorValue(op, lin.output, 'the output of f');
      const jacobians = lin.inputs.map((x, j) => {
        const oneHot = oneHots(x);
        const columns = range(x.numel()).map(
          (k) =>
            lin.pushforward(
              lin.inputs.map((_, m) => (m === j ? oneHot(k) : null)),
              createGraph,
              true,
            )[0],
        );
        return assemble(columns, out.ndim, out.shape, x.shape, out);
      });
      return typeof argnums === 'number' ? jacobians[0] : jacobians;
    });
  };
}

/**
 * The Hessian of a scalar function with respect to argument `argnums`: shape [...I, ...I].
 * Computed as jacfwd(jacrev(f)), forward over reverse, as JAX does.
 * @example
 * func.hessian((x: Tensor) => x.pow(3).sum())(tensor([1, 2])); // diag(6x) = [[6, 0], [0, 12]]
 */
export function hessian(
  f: (...args: any[]) => unknown,
  options: { argnums?: number } = {},
): (...args: any[]) => Tensor {
  const op = 'func.hessian';
  assertFunction(op, f);
  const { argnums = 0 } = options;
  if (!Number.isInteger(argnums))
    throw new TypeError(`${op}: argnums must be one argument index, got ${String(argnums)}`);
  const scalarF = (...args: any[]) => scalarOutput(op, f(...args));
  return jacfwd(jacrev(scalarF, { argnums }), { argnums });
}

/**
 * The Hessian-vector product of a scalar function without forming the Hessian: returns
 * `[f(...primals), hvps]` with hvps[i] = Σⱼ ∂²f/∂xᵢ∂xⱼ · tangents[j], shaped like primals[i]
 * (like torch.autograd.functional.hvp). Reverse over reverse: the vjp of ∇f with cotangent v is
 * Hᵀv = Hv.
 * @example
 * const [value, [hv]] = func.hvp((x: Tensor) => x.pow(3).sum(), [x], [v]); // hv = 6·x·v
 */
export function hvp(
  f: (...args: any[]) => unknown,
  primals: readonly Tensor[],
  tangents: readonly Tensor[],
): [Tensor, Tensor[]] {
  const op = 'func.hvp';
  assertFunction(op, f);
  if (!Array.isArray(primals) || !Array.isArray(tangents))
    throw new TypeError(`${op}: primals and tangents must be arrays of tensors`);
  if (primals.length !== tangents.length)
    throw new Error(`${op}: got ${primals.length} primals but ${tangents.length} tangents`);
  if (primals.length === 0) throw new Error(`${op}: expected at least one primal`);
  primals.forEach((x, i) => {
    assertTensorValue(op, x, `primal ${i}`);
    assertSameShape(
      op,
      `tangent ${i}`,
      assertTensorValue(op, tangents[i], `tangent ${i}`),
      x,
      `primal ${i}`,
    );
  });
  return runTransform((createGraph) => {
    let value!: Tensor;
    const gradient = (...xs: Tensor[]) => {
      value = scalarOutput(op, f(...xs));
      return gradOfScalar(value, xs, { createGraph: true, retainGraph: true });
    };
    const traced = trace(op, gradient, primals, range(primals.length));
    return [value, traced.pullback(tangents, createGraph) as Tensor[]];
  });
}
