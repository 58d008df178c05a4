/**
 * `inspect.*`: seeing backprop happen: gradient diagnostics, graph export and curvature.
 * @example
 * import { inspect } from 'chainrule';
 * const { eigenvalues } = await inspect.hessianEigenvalues(lossFn, model.parameters(), { k: 2 });
 */

// Curvature: Hessian-vector products, eigenvalues (Lanczos), trace (Hutchinson), density (SLQ).
export { hessianVectorProduct, type LossFn, type Params } from './hessian_vector_product.js';
export {
  hessianEigenvalues,
  type HessianEigenvalues,
  type HessianEigenvaluesOptions,
  type EigenvalueSelection,
} from './hessian_eigenvalues.js';
export { hessianTrace, type HessianTrace, type HessianTraceOptions } from './hessian_trace.js';
export {
  hessianDensity,
  type HessianDensity,
  type HessianDensityOptions,
  type QuadratureRun,
} from './spectral_density.js';
