/**
 * `inspect.hessianEigenvalues`: a few extreme eigenvalues (and eigenvectors) of the loss Hessian
 * by Lanczos on Hessian-vector products, never forming the Hessian; PyHessian's `eigenvalues` for
 * chainrule, with Lanczos in place of power iteration (fewer products, several eigenvalues at
 * once, negative ones too).
 */
import type { Tensor } from '../tensor/tensor.js';
import type { Generator } from '../tensor/random.js';
import { HessianOperator, type LossFn, type Params } from './hessian_vector_product.js';
import { lanczos, ritz, type LanczosState } from './lanczos.js';
import { tridiagonalEigen } from './tridiagonal_eigen.js';
import { nonNegative, optionGenerator, optionsObject, positiveInteger } from './options.js';

/** Which end of the spectrum `hessianEigenvalues` returns. */
export type EigenvalueSelection = 'largest' | 'smallest' | 'largest-magnitude';

export interface HessianEigenvaluesOptions {
  /** How many eigenvalues (default 1); at most the number of scalar parameters. */
  k?: number;
  /**
   * 'largest' (default): the k algebraically largest, descending. 'smallest': the k algebraically
   * smallest, ascending (the most negative first: saddle directions). 'largest-magnitude': the k
   * of largest |λ|, by descending |λ|.
   */
  which?: EigenvalueSelection;
  /** Most Hessian-vector products (Lanczos steps); default max(100, 3k), capped at the parameter count. */
  maxIter?: number;
  /**
   * Stop once every wanted Ritz pair (θ, y) has ‖Hy − θy‖ ≤ tol·‖T‖ (‖T‖: the largest |θ| so far).
   * The eigenvalue error is then about ‖Hy − θy‖²/gap, far below tol. Default 1e-6.
   */
  tol?: number;
  /** Seed of the random start vector (default: the default generator, which manualSeed resets). */
  seed?: number;
  /** Generator of the start vector, instead of a seed. */
  generator?: Generator;
  /** Also return the eigenvectors, as tensors shaped like the params (default false). */
  returnEigenvectors?: boolean;
}

export interface HessianEigenvalues {
  /** The k eigenvalues, ordered as `which` says (descending for 'largest'). */
  eigenvalues: number[];
  /**
   * With returnEigenvectors: eigenvectors[i] is the unit eigenvector of eigenvalues[i], one tensor
   * per param (its shape, dtype and device), over all params together of norm 1; its sign is
   * fixed so that its largest-magnitude element is positive.
   */
  eigenvectors?: Tensor[][];
  /** ‖Hy − θy‖ of each returned pair, as Lanczos estimates it (free: |β·s_last|). */
  residuals: number[];
  /** Hessian-vector products used. */
  iterations: number;
  /** Whether every residual met tol (or Lanczos spanned the whole parameter space). */
  converged: boolean;
  /** The loss at the params. */
  loss: number;
}

/** Indices of the wanted Ritz values (ascending `values`), in the order they are returned. */
function select(values: Float64Array, k: number, which: EigenvalueSelection): number[] {
  const idx = Array.from(values, (_, i) => i);
  if (which === 'largest') return idx.reverse().slice(0, k);
  if (which === 'smallest') return idx.slice(0, k);
  return idx.sort((a, b) => Math.abs(values[b]) - Math.abs(values[a]) || b - a).slice(0, k);
}

function residualsOf(state: LanczosState, k: number, which: EigenvalueSelection) {
  const { values, last } = ritz(state);
  const chosen = select(values, k, which);
  const norm = values.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  return {
    values,
    chosen,
    norm,
    residuals: chosen.map((j) => Math.abs(state.residualScale * last[j])),
  };
}

/**
 * The k largest eigenvalues (descending, by algebraic value) of the Hessian of `lossFn()` with
 * respect to `params`, by Lanczos with full reorthogonalisation on Hessian-vector products: the
 * Hessian is never formed, each step costs one double backward, and the small tridiagonal
 * eigenproblem is solved in float64 on the host. `which: 'smallest'` gives the most negative
 * eigenvalues instead (saddle points), `'largest-magnitude'` the largest |λ|.
 *
 * `lossFn` computes the scalar loss from the params (it is called once); `params` are tensors that
 * require grad, e.g. `model.parameters()`. Memory: the Lanczos vectors are kept on the host, 8
 * bytes × parameters × iterations. Repeated eigenvalues: Lanczos from one start vector sees an
 * eigenvalue of exact multiplicity > 1 (a symmetry of the network, such as the null space of
 * softmax regression) once, and finds its copies only after its Krylov space is exhausted (it then
 * restarts from a fresh direction); if it converges first, k > 1 gives the k extreme distinct
 * eigenvalues.
 * @example
 * const { eigenvalues } = await inspect.hessianEigenvalues(
 *   () => F.mseLoss(model.forward(x), y), model.parameters(), { k: 3 });
 * // eigenvalues[0] is the sharpness λ_max; plain GD diverges for lr > 2 / λ_max
 */
export async function hessianEigenvalues(
  lossFn: LossFn,
  params: Params,
  options: HessianEigenvaluesOptions = {},
): Promise<HessianEigenvalues> {
  const op = 'inspect.hessianEigenvalues';
  optionsObject(op, options);
  const k = positiveInteger(op, 'k', options.k ?? 1);
  const which = options.which ?? 'largest';
  if (!['largest', 'smallest', 'largest-magnitude'].includes(which))
    throw new RangeError(
      `${op}: which must be 'largest', 'smallest' or 'largest-magnitude', got ${String(which)}`,
    );
  const tol = nonNegative(op, 'tol', options.tol ?? 1e-6);
  const generator = optionGenerator(op, options);
  const hessian = await HessianOperator.create(op, lossFn, params);
  const n = hessian.numel;
  if (k > n)
    throw new RangeError(
      `${op}: k = ${k} is larger than the number of parameters (${n}): the Hessian has only ${n} eigenvalues`,
    );
  const maxIter = Math.min(
    positiveInteger(op, 'maxIter', options.maxIter ?? Math.max(100, 3 * k)),
    n,
  );
  if (maxIter < k)
    throw new RangeError(
      `${op}: maxIter = ${maxIter} is smaller than k = ${k}; Lanczos needs at least k steps`,
    );

  const start = Float64Array.from({ length: n }, () => generator.nextNormal());
  const run = await lanczos((v) => hessian.apply(v), start, {
    maxSteps: maxIter,
    restart: generator,
    converged: (state) => {
      if (state.alpha.length < k) return false;
      const r = residualsOf(state, k, which);
      return r.residuals.every((x) => x <= tol * r.norm);
    },
  });
  const m = run.alpha.length;
  const final = residualsOf(run, k, which);
  const result: HessianEigenvalues = {
    eigenvalues: final.chosen.map((j) => final.values[j]),
    residuals: final.residuals,
    iterations: m,
    converged: m === n || final.residuals.every((x) => x <= tol * final.norm),
    loss: hessian.loss,
  };
  if (options.returnEigenvectors) {
    const all = tridiagonalEigen(
      run.alpha,
      run.beta,
      Array.from({ length: m }, (_, i) => i),
    ).rows;
    result.eigenvectors = final.chosen.map((j) => {
      // The Ritz vector y = Q·s, s the j-th eigenvector of T.
      const y = new Float64Array(n);
      run.basis.slice(0, m).forEach((q, i) => {
        const s = all[i][j];
        for (let t = 0; t < n; t++) y[t] += s * q[t];
      });
      let biggest = 0;
      let norm = 0;
      for (let t = 0; t < n; t++) {
        norm += y[t] * y[t];
        if (Math.abs(y[t]) > Math.abs(y[biggest])) biggest = t;
      }
      const factor = (y[biggest] < 0 ? -1 : 1) / Math.sqrt(norm);
      return hessian.unflatten(y.map((x) => x * factor));
    });
  }
  return result;
}
