/**
 * `func.*`: JAX-style function transforms (grad, valueAndGrad, vjp, jvp, jacrev, jacfwd, hessian,
 * hvp, vmap). Each takes a function of tensors and returns a function, and they compose:
 * `func.grad(func.grad(f))`, `func.jacfwd(func.jacrev(f))`, `func.vmap(func.grad(loss))`.
 * @example
 * import { func, tensor } from 'chainrule';
 * func.grad((x) => x.sin().sum())(tensor([0, 1])); // cos(x)
 */
export { grad, valueAndGrad, type GradOptions } from './grad.js';
export { vjp, type VjpFn } from './vjp.js';
export { jvp } from './jvp.js';
export { jacrev, jacfwd, hessian, hvp, type JacobianOptions } from './jacobian.js';
export { vmap, type VmapOptions, type InDim } from './vmap.js';
export type { TensorTree } from './tree.js';
