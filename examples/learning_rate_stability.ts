/**
 * The largest Hessian eigenvalue sets the largest stable learning rate: 2/λ_max.
 *
 * Near a minimum the loss is about ½·dᵀHd in the distance d to it, and a gradient-descent step
 * multiplies d's component along each eigenvector of H by (1 − lr·λ). Along the sharpest one,
 * |1 − lr·λ_max| < 1 exactly when lr < 2/λ_max: below that the iterates converge, above it they
 * oscillate with growing amplitude. Linear regression with a mean squared error has a constant
 * Hessian, so the threshold is exact: here lr = 0.95·2/λ_max converges and lr = 1.05·2/λ_max
 * diverges, with λ_max from inspect.hessianEigenvalues.
 *
 *   npx tsx examples/learning_rate_stability.ts
 */
import { fileURLToPath } from 'node:url';
import { F, Generator, inspect, noGrad, randn, zeros } from '../src/index.js';

export interface StabilityOptions {
  features?: number;
  samples?: number;
  steps?: number;
  seed?: number;
  log?: (line: string) => void;
}

export interface StabilityReport {
  largestEigenvalue: number;
  /** 2/λ_max. */
  threshold: number;
  /** The loss before training and after `steps` steps at 0.95 and 1.05 times the threshold. */
  initialLoss: number;
  lossBelow: number;
  lossAbove: number;
}

export async function main(options: StabilityOptions = {}): Promise<StabilityReport> {
  const { features = 5, samples = 64, steps = 200, seed = 0, log = console.log } = options;
  const generator = new Generator(seed);
  // Features of unequal scales, so that the Hessian's eigenvalues are spread out.
  const scales = randn([features], { generator, dtype: 'float64' }).abs().add(0.2);
  const x = randn([samples, features], { generator, dtype: 'float64' }).mul(scales);
  const y = x.matmul(randn([features], { generator, dtype: 'float64' })).add(0.5);
  const w = zeros([features], { dtype: 'float64', requiresGrad: true });
  const b = zeros([], { dtype: 'float64', requiresGrad: true });
  const lossFn = () => F.mseLoss(x.matmul(w).add(b), y);

  const { eigenvalues } = await inspect.hessianEigenvalues(lossFn, [w, b], { seed });
  const largestEigenvalue = eigenvalues[0];
  const threshold = 2 / largestEigenvalue;
  log(
    `largest Hessian eigenvalue ${largestEigenvalue.toFixed(6)}: stable learning rates lr < 2/λ_max = ${threshold.toFixed(6)}`,
  );

  const initialLoss = Number(lossFn().itemSync());
  const train = (lr: number): number => {
    noGrad(() => [w, b].forEach((p) => p.zero_()));
    for (let i = 0; i < steps; i++) {
      w.grad = null;
      b.grad = null;
      lossFn().backward();
      noGrad(() => [w, b].forEach((p) => p.sub_(p.grad!.mul(lr))));
    }
    return Number(lossFn().itemSync());
  };
  const lossBelow = train(0.95 * threshold);
  log(
    `lr = 0.95·2/λ_max = ${(0.95 * threshold).toFixed(6)}: loss ${initialLoss.toFixed(4)} -> ${lossBelow.toExponential(3)} after ${steps} steps (converges)`,
  );
  const lossAbove = train(1.05 * threshold);
  log(
    `lr = 1.05·2/λ_max = ${(1.05 * threshold).toFixed(6)}: loss ${initialLoss.toFixed(4)} -> ${lossAbove.toExponential(3)} after ${steps} steps (diverges)`,
  );
  return { largestEigenvalue, threshold, initialLoss, lossBelow, lossAbove };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
