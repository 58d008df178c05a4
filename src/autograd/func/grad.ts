/** `func.grad` and `func.valueAndGrad`: gradients of scalar functions, as in JAX. */
import type { Tensor } from '../../tensor/tensor.js';
import {
  assertFunction,
  gradOfScalar,
  makePrimals,
  resolveArgnums,
  runTransform,
  scalarOutput,
} from './core.js';

export interface GradOptions {
  /** Which arguments to differentiate: an index, or an array of indices (then grads is an array). Default 0. */
  argnums?: number | readonly number[];
  /** f returns `[scalar, aux]`; aux is passed through undifferentiated. Default false. */
  hasAux?: boolean;
}

interface Evaluated {
  value: Tensor;
  aux: unknown;
  /** One gradient tree per argnum, or the single tree when argnums is a number. */
  grads: any;
}

/** Runs f at args and differentiates its scalar output: the work shared by grad and valueAndGrad. */
function evaluate(
  op: string,
  f: (...args: any[]) => unknown,
  options: GradOptions,
  args: unknown[],
): Evaluated {
  const { argnums = 0, hasAux = false } = options;
  const argList = resolveArgnums(op, argnums, args.length);
  return runTransform((createGraph) => {
    const primals = makePrimals(op, args, argList);
    const result = f(...primals.args);
    let value: unknown = result;
    let aux: unknown;
    if (hasAux) {
      if (!Array.isArray(result) || result.length !== 2) {
        throw new TypeError(
          `${op}: with hasAux, f must return a pair [output, aux], got ${Array.isArray(result) ? `an array of length ${result.length}` : typeof result}`,
        );
      }
      [value, aux] = result;
    }
    const scalar = scalarOutput(op, value);
    const grads = primals.regroup(
      gradOfScalar(scalar, primals.inputs, { createGraph, retainGraph: false }),
    );
    return { value: scalar, aux, grads: typeof argnums === 'number' ? grads[0] : grads };
  });
}

/**
 * The gradient of a scalar-valued function: `grad(f)(x)` is ∂f/∂x, shaped like x. Arguments may
 * be tensors or arrays / plain objects of tensors (the gradient has the same structure). Nests:
 * `grad(grad(f))` is the second derivative; the result stays differentiable when grad mode is on
 * and it depends on tensors that an outer transform or `backward()` tracks (call it inside
 * `noGrad` to get plain values for arguments that require grad, e.g. a model's parameters).
 * @example
 * const df = func.grad((x: Tensor) => x.pow(3).sum());
 * df(tensor([1, 2])); // tensor([3., 12.])
 * const [dw, db] = func.grad(loss, { argnums: [0, 1] })(w, b, x);
 * const [g, aux] = func.grad((x: Tensor) => [x.square().sum(), x.mean()], { hasAux: true })(x);
 */
export function grad(
  f: (...args: any[]) => unknown,
  options: GradOptions = {},
): (...args: any[]) => any {
  assertFunction('func.grad', f);
  return (...args) => {
    const { aux, grads } = evaluate('func.grad', f, options, args);
    return options.hasAux ? [grads, aux] : grads;
  };
}

/**
 * Like `grad`, but returns `[value, grads]` (or `[[value, aux], grads]` with hasAux), computing
 * f only once.
 * @example
 * const [loss, dw] = func.valueAndGrad((w: Tensor) => w.mul(x).sum().square())(w);
 */
export function valueAndGrad(
  f: (...args: any[]) => unknown,
  options: GradOptions = {},
): (...args: any[]) => [any, any] {
  assertFunction('func.valueAndGrad', f);
  return (...args) => {
    const { value, aux, grads } = evaluate('func.valueAndGrad', f, options, args);
    return [options.hasAux ? [value, aux] : value, grads];
  };
}
