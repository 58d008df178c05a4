/**
 * `inspect.hessianDensity`: the eigenvalue density of the loss Hessian by stochastic Lanczos
 * quadrature (Lin, Saad & Yang 2016; Ghorbani, Krishnan & Xiao 2019), PyHessian's `density`. Each
 * run starts Lanczos from a random ±1 vector v; the eigenvalues θ_j of its tridiagonal T are the
 * nodes and the squared first components of T's eigenvectors the weights of a Gauss quadrature
 * for the measure Σᵢ (qᵢ·v̂)² δ(λ − λᵢ), whose expectation is the spectral density (1/n)Σᵢ δ(λ − λᵢ).
 * The density on a grid is the runs' average of Gaussians of width `sigma` at the nodes.
 */
import type { Generator } from '../tensor/random.js';
import { HessianOperator, type LossFn, type Params } from './hessian_vector_product.js';
import { lanczos, ritz } from './lanczos.js';
import {
  nonNegative,
  optionGenerator,
  optionsObject,
  positiveInteger,
  rademacher,
} from './options.js';

export interface HessianDensityOptions {
  /** Independent Lanczos runs (random start vectors) averaged; default 1 (PyHessian's n_v). */
  runs?: number;
  /** Lanczos steps (Hessian-vector products) per run, capped at the parameter count; default 100. */
  iterations?: number;
  /** Points of the grid the density is evaluated on; default 1000. */
  gridSize?: number;
  /**
   * Standard deviation of the Gaussian put at each node; default 1% of the spread of the nodes
   * (PyHessian uses a variance of 1e-5 × max(1, spread)). The grid runs from the smallest node − 6σ to
   * the largest + 6σ, so the density integrates to 1 on it.
   */
  sigma?: number;
  /** Seed of the start vectors (default: the default generator, which manualSeed resets). */
  seed?: number;
  /** Generator of the start vectors, instead of a seed. */
  generator?: Generator;
}

export interface QuadratureRun {
  /** Ritz values of the run, ascending: the quadrature nodes. */
  nodes: number[];
  /** Their weights (squared first eigenvector components of T); they sum to 1. */
  weights: number[];
}

export interface HessianDensity {
  /** One quadrature per run. */
  runs: QuadratureRun[];
  /** Evenly spaced eigenvalue grid. */
  grid: number[];
  /** The density at each grid point: Σ over runs and nodes of weight · N(grid; node, sigma²), over runs. */
  density: number[];
  /** The broadening used. */
  sigma: number;
  /** The loss at the params. */
  loss: number;
}

/**
 * The eigenvalue density of the Hessian of `lossFn()` with respect to `params`, by stochastic
 * Lanczos quadrature: `runs` Lanczos runs of `iterations` Hessian-vector products each, their
 * nodes and weights, and the Gaussian-broadened density on a grid. For a problem with at most
 * `iterations` parameters the nodes are the exact eigenvalues.
 * @example
 * const { grid, density, runs } = await inspect.hessianDensity(
 *   () => F.crossEntropy(model.forward(x), y), model.parameters(), { iterations: 80, runs: 3 });
 */
export async function hessianDensity(
  lossFn: LossFn,
  params: Params,
  options: HessianDensityOptions = {},
): Promise<HessianDensity> {
  const op = 'inspect.hessianDensity';
  optionsObject(op, options);
  const runCount = positiveInteger(op, 'runs', options.runs ?? 1);
  const iterations = positiveInteger(op, 'iterations', options.iterations ?? 100);
  const gridSize = positiveInteger(op, 'gridSize', options.gridSize ?? 1000);
  if (gridSize < 2) throw new RangeError(`${op}: gridSize must be at least 2, got ${gridSize}`);
  if (options.sigma !== undefined && !(nonNegative(op, 'sigma', options.sigma) > 0))
    throw new RangeError(`${op}: sigma must be positive, got ${options.sigma}`);
  const generator = optionGenerator(op, options);
  const hessian = await HessianOperator.create(op, lossFn, params);
  const runs: QuadratureRun[] = [];
  for (let r = 0; r < runCount; r++) {
    // No restart: a Krylov space that closes early is an exact quadrature already.
    const state = await lanczos((v) => hessian.apply(v), rademacher(hessian.numel, generator), {
      maxSteps: iterations,
    });
    const { values, first } = ritz(state);
    runs.push({ nodes: Array.from(values), weights: Array.from(first, (s) => s * s) });
  }
  const nodes = runs.flatMap((run) => run.nodes);
  const lo = Math.min(...nodes);
  const hi = Math.max(...nodes);
  const spread = hi - lo > 0 ? hi - lo : Math.max(Math.abs(hi), 1);
  const sigma = options.sigma ?? 0.01 * spread;
  const start = lo - 6 * sigma;
  const step = (hi - lo + 12 * sigma) / (gridSize - 1);
  const grid = Array.from({ length: gridSize }, (_, i) => start + i * step);
  const density = new Float64Array(gridSize);
  const norm = 1 / (runCount * sigma * Math.sqrt(2 * Math.PI));
  for (const run of runs) {
    run.nodes.forEach((node, j) => {
      const w = run.weights[j] * norm;
      for (let i = 0; i < gridSize; i++) {
        const z = (grid[i] - node) / sigma;
        density[i] += w * Math.exp(-0.5 * z * z);
      }
    });
  }
  return { runs, grid, density: Array.from(density), sigma, loss: hessian.loss };
}
