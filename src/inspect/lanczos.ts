/**
 * The Lanczos iteration with full reorthogonalisation, on a symmetric operator given as a function
 * of flat float64 host vectors (Hessian-vector products here). Each step is one operator
 * application; the new vector is orthogonalised against every earlier one, twice (classical
 * Gram–Schmidt twice is enough: Giraud et al. 2005), so the tridiagonal T = QᵀHQ stays exact in
 * float64 and no ghost copies of converged eigenvalues appear. The basis is kept: m vectors of n
 * float64 values (8·m·n bytes).
 */
import type { Generator } from '../tensor/random.js';
import { tridiagonalEigen } from './tridiagonal_eigen.js';

export type SymmetricOperator = (v: Float64Array) => Promise<Float64Array>;

export interface LanczosOptions {
  /** Most operator applications (steps); capped at the dimension n. */
  maxSteps: number;
  /**
   * When the Krylov space becomes invariant (β = 0), continue from a fresh random vector
   * orthogonal to the basis (T gets a zero off-diagonal entry there), so that eigenvalues the
   * start vector did not see (repeated ones) can still be found. Without it the iteration stops.
   */
  restart?: Generator;
  /**
   * Called after each step with the tridiagonal so far; returning true stops the iteration.
   * `residualScale` is β of the step just taken: a Ritz pair (θ, Qs) has ‖Hy − θy‖ = β·|s_last|.
   * Not called on a step that ended in an invariant subspace.
   */
  converged?: (state: LanczosState) => boolean;
}

export interface LanczosState {
  /** T's diagonal (α), one per step. */
  alpha: Float64Array;
  /** T's off-diagonal (β between consecutive steps), one fewer than alpha. */
  beta: Float64Array;
  /** β of the latest step: the size of the component that leaves the Krylov space. */
  residualScale: number;
}

export interface LanczosResult extends LanczosState {
  /** The orthonormal Lanczos vectors q₁…q_m. */
  basis: Float64Array[];
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** w minus its projection on the basis, twice; returns w (changed in place). */
function orthogonalize(w: Float64Array, basis: readonly Float64Array[]): Float64Array {
  for (let pass = 0; pass < 2; pass++) {
    for (const q of basis) {
      const c = dot(w, q);
      for (let i = 0; i < w.length; i++) w[i] -= c * q[i];
    }
  }
  return w;
}

/** A random unit vector orthogonal to the basis, or null if the basis spans everything. */
function freshDirection(
  n: number,
  basis: readonly Float64Array[],
  generator: Generator,
): Float64Array | null {
  for (let attempt = 0; attempt < 3; attempt++) {
    const w = orthogonalize(
      Float64Array.from({ length: n }, () => generator.nextNormal()),
      basis,
    );
    const norm = Math.sqrt(dot(w, w));
    // Almost all of it was in the span: rounding noise, not a new direction.
    if (norm > 1e-8 * Math.sqrt(n)) return w.map((x) => x / norm);
  }
  return null;
}

/** Runs Lanczos from `start` (any nonzero vector; it is normalised). */
export async function lanczos(
  apply: SymmetricOperator,
  start: Float64Array,
  options: LanczosOptions,
): Promise<LanczosResult> {
  const n = start.length;
  const steps = Math.min(options.maxSteps, n);
  const startNorm = Math.sqrt(dot(start, start));
  if (!(startNorm > 0)) throw new Error('lanczos: the start vector is zero');
  const basis: Float64Array[] = [start.map((x) => x / startNorm)];
  const alpha: number[] = [];
  const beta: number[] = [];
  let residualScale = 0;
  let scale = 0;
  for (let j = 0; j < steps; j++) {
    const q = basis[j];
    const w = await apply(q);
    const a = dot(q, w);
    alpha.push(a);
    // The three-term recurrence, then full reorthogonalisation against every vector.
    for (let i = 0; i < n; i++) w[i] -= a * q[i] + (j > 0 ? beta[j - 1] * basis[j - 1][i] : 0);
    orthogonalize(w, basis);
    const b = Math.sqrt(dot(w, w));
    residualScale = b;
    scale = Math.max(scale, Math.abs(a) + b + (j > 0 ? beta[j - 1] : 0));
    const state = () => ({
      alpha: Float64Array.from(alpha),
      beta: Float64Array.from(beta),
      residualScale: b,
    });
    if (j === steps - 1) break;
    // β at rounding level relative to ‖T‖: the Krylov space is invariant.
    if (b <= 64 * Number.EPSILON * Math.max(scale, Number.MIN_VALUE) * Math.sqrt(n)) {
      const next = options.restart ? freshDirection(n, basis, options.restart) : null;
      if (next === null) break;
      beta.push(0);
      basis.push(next);
      continue;
    }
    if (options.converged?.(state())) break;
    beta.push(b);
    basis.push(w.map((x) => x / b));
  }
  return {
    alpha: Float64Array.from(alpha),
    beta: Float64Array.from(beta),
    residualScale,
    basis,
  };
}

/** The Ritz values of T (ascending) and, for each, the first and last entries of its eigenvector. */
export function ritz(state: LanczosState): {
  values: Float64Array;
  first: Float64Array;
  last: Float64Array;
} {
  const m = state.alpha.length;
  const { values, rows } = tridiagonalEigen(state.alpha, state.beta, [0, m - 1]);
  return { values, first: rows[0], last: rows[1] };
}
