/**
 * `inspect.hessianTrace`: Hutchinson's estimator of the loss Hessian's trace, tr(H) = E[vᵀHv] for
 * v with independent ±1 entries (Rademacher), as PyHessian's `trace`; one Hessian-vector product
 * per sample, with the standard error of the mean so the estimate says how far to trust it.
 */
import type { Generator } from '../tensor/random.js';
import { HessianOperator, type LossFn, type Params } from './hessian_vector_product.js';
import {
  nonNegative,
  optionGenerator,
  optionsObject,
  positiveInteger,
  rademacher,
} from './options.js';

export interface HessianTraceOptions {
  /** Most samples (Hessian-vector products); default 100. */
  maxIter?: number;
  /** Fewest samples before stopping early; default 10 (at least 2, for a standard error). */
  minIter?: number;
  /** Stop once standardError ≤ tol·|trace|; default 1e-3. 0 runs all maxIter samples. */
  tol?: number;
  /** Seed of the probe vectors (default: the default generator, which manualSeed resets). */
  seed?: number;
  /** Generator of the probe vectors, instead of a seed. */
  generator?: Generator;
}

export interface HessianTrace {
  /** The estimate of tr(H): the mean of the samples. */
  trace: number;
  /** The standard error of that mean: sample standard deviation / √samples. */
  standardError: number;
  /** Each sample vᵀHv. */
  samples: number[];
  /** The loss at the params. */
  loss: number;
}

/**
 * Estimates the trace of the Hessian of `lossFn()` with respect to `params` (Hutchinson, with
 * Rademacher vectors) from Hessian-vector products alone, stopping once the standard error is
 * below `tol` of the estimate. Each sample is unbiased; its variance is 2·Σ_{i≠j} H_ij², so a
 * nearly diagonal Hessian needs few samples.
 * @example
 * const { trace, standardError } = await inspect.hessianTrace(
 *   () => F.crossEntropy(model.forward(x), y), model.parameters(), { seed: 0 });
 */
export async function hessianTrace(
  lossFn: LossFn,
  params: Params,
  options: HessianTraceOptions = {},
): Promise<HessianTrace> {
  const op = 'inspect.hessianTrace';
  optionsObject(op, options);
  const maxIter = positiveInteger(op, 'maxIter', options.maxIter ?? 100);
  const minIter = positiveInteger(op, 'minIter', options.minIter ?? Math.min(10, maxIter));
  if (maxIter < 2 || minIter < 2 || minIter > maxIter)
    throw new RangeError(
      `${op}: need 2 <= minIter <= maxIter (a standard error needs two samples), got minIter = ${minIter}, maxIter = ${maxIter}`,
    );
  const tol = nonNegative(op, 'tol', options.tol ?? 1e-3);
  const generator = optionGenerator(op, options);
  const hessian = await HessianOperator.create(op, lossFn, params);
  const samples: number[] = [];
  let mean = 0;
  let squares = 0; // Welford's running sum of squared deviations
  let standardError = Infinity;
  while (samples.length < maxIter) {
    const v = rademacher(hessian.numel, generator);
    const hv = await hessian.apply(v);
    let sample = 0;
    for (let i = 0; i < v.length; i++) sample += v[i] * hv[i];
    samples.push(sample);
    const delta = sample - mean;
    mean += delta / samples.length;
    squares += delta * (sample - mean);
    if (samples.length < 2) continue;
    standardError = Math.sqrt(squares / (samples.length - 1) / samples.length);
    if (samples.length >= minIter && standardError <= tol * Math.abs(mean)) break;
  }
  return { trace: mean, standardError, samples, loss: hessian.loss };
}
