/**
 * The `func` namespace: the function transforms of `autograd/func` (grad, vmap, jacrev, …) and
 * `functionalCall`, which makes a module a function of its parameters for them. functionalCall
 * needs `nn.Module`, a layer above autograd, so the two meet here rather than in autograd/func.
 * @example
 * import { func } from 'chainrule';
 * const grads = func.grad((p) => func.functionalCall(model, p, x).sum())(params);
 */
export * from './autograd/func/index.js';
export {
  functionalCall,
  type FunctionalCallOptions,
  type ParamsAndBuffers,
} from './nn/utils/stateless.js';
