/**
 * A saddle point found through the Hessian's eigenvalues.
 *
 * A one-hidden-layer tanh network y = w2 · tanh(W1 x), fitted to a teacher network's outputs, is
 * started at all-zero weights (a classic mistake). There the gradient vanishes: tanh(0) = 0 kills
 * ∂L/∂w2, and w2 = 0 kills ∂L/∂W1, so gradient descent stalls. (From weights of size ε it would
 * drift off, but only after about ln(1/ε)/ln(1 + lr·|λ_min|) steps: the plateau of a saddle.) The point is not a minimum: the
 * Hessian couples W1 and w2 ([[0, B], [Bᵀ, 0]]), so it has eigenvalues ±σ(B), and the most
 * negative one, found by Lanczos on Hessian-vector products, gives a direction of descent. One
 * step along its eigenvector lowers the loss (by about ½·α²·λ, the gradient being zero), and
 * gradient descent goes on from there.
 *
 *   npx tsx examples/saddle_point.ts
 */
import { fileURLToPath } from 'node:url';
import { Generator, inspect, noGrad, randn, zeros } from '../src/index.js';

export interface SaddleOptions {
  inputs?: number;
  hidden?: number;
  samples?: number;
  /** Gradient-descent steps before and after the escape. */
  steps?: number;
  lr?: number;
  /** Length of the step along the negative-curvature eigenvector. */
  escapeStep?: number;
  seed?: number;
  log?: (line: string) => void;
}

export interface SaddleReport {
  lossAtStart: number;
  /** ‖∇L‖ at the start. */
  gradientNorm: number;
  lossAfterDescent: number;
  /** The most negative Hessian eigenvalue there, and the largest (for scale). */
  smallestEigenvalue: number;
  largestEigenvalue: number;
  lossAfterEscape: number;
  /** ½·α²·λ_min: what the second-order model predicts the escape step gains. */
  predictedChange: number;
  lossAfterEscapeAndDescent: number;
}

export async function main(options: SaddleOptions = {}): Promise<SaddleReport> {
  const {
    inputs = 3,
    hidden = 6,
    samples = 32,
    steps = 200,
    lr = 0.1,
    escapeStep = 0.5,
    seed = 0,
    log = console.log,
  } = options;
  const generator = new Generator(seed);
  const x = randn([samples, inputs], { generator, dtype: 'float64' });
  const teacher = randn([inputs], { generator, dtype: 'float64' });
  const y = x.matmul(teacher).tanh().mul(2);
  const w1 = zeros([hidden, inputs], { dtype: 'float64', requiresGrad: true });
  const w2 = zeros([hidden], { dtype: 'float64', requiresGrad: true });
  const params = [w1, w2];
  const lossFn = () => x.matmul(w1.t()).tanh().matmul(w2).sub(y).pow(2).mean();

  const descend = (count: number): number => {
    for (let i = 0; i < count; i++) {
      for (const p of params) p.grad = null;
      lossFn().backward();
      noGrad(() => params.forEach((p) => p.sub_(p.grad!.mul(lr))));
    }
    return Number(lossFn().itemSync());
  };
  const gradientNorm = (): number => {
    for (const p of params) p.grad = null;
    lossFn().backward();
    return Math.sqrt(params.reduce((s, p) => s + Number(p.grad!.pow(2).sum().itemSync()), 0));
  };

  const lossAtStart = Number(lossFn().itemSync());
  const norm = gradientNorm();
  log(
    `start at all-zero weights: loss ${lossAtStart.toFixed(6)}, gradient norm ${norm.toExponential(2)}`,
  );
  const lossAfterDescent = descend(steps);
  log(
    `after ${steps} gradient-descent steps (lr ${lr}): loss ${lossAfterDescent.toFixed(6)}: stalled`,
  );

  const { eigenvalues, eigenvectors } = await inspect.hessianEigenvalues(lossFn, params, {
    which: 'smallest',
    returnEigenvectors: true,
    seed,
  });
  const largest = await inspect.hessianEigenvalues(lossFn, params, { seed });
  const smallestEigenvalue = eigenvalues[0];
  log(
    `Hessian eigenvalues (Lanczos): smallest ${smallestEigenvalue.toFixed(6)}, largest ${largest.eigenvalues[0].toFixed(6)}: ` +
      (smallestEigenvalue < 0 ? 'a saddle point, not a minimum' : 'no negative curvature'),
  );

  // Either sign of the eigenvector descends to second order; take the one that descends more.
  const direction = eigenvectors![0];
  const before = params.map((p) => p.detach().clone());
  const tryStep = (sign: number): number => {
    noGrad(() =>
      params.forEach((p, i) => p.copy_(before[i].add(direction[i].mul(sign * escapeStep)))),
    );
    return Number(lossFn().itemSync());
  };
  const plus = tryStep(1);
  const minus = tryStep(-1);
  const lossAfterEscape = Math.min(plus, minus);
  if (plus < minus) tryStep(1);
  const predictedChange = 0.5 * escapeStep * escapeStep * smallestEigenvalue;
  log(
    `one step of length ${escapeStep} along its eigenvector: loss ${lossAfterEscape.toFixed(6)} ` +
      `(change ${(lossAfterEscape - lossAfterDescent).toFixed(6)}; second-order prediction ½α²λ = ${predictedChange.toFixed(6)})`,
  );
  const lossAfterEscapeAndDescent = descend(steps);
  log(`then ${steps} gradient-descent steps: loss ${lossAfterEscapeAndDescent.toFixed(6)}`);
  return {
    lossAtStart,
    gradientNorm: norm,
    lossAfterDescent,
    smallestEigenvalue,
    largestEigenvalue: largest.eigenvalues[0],
    lossAfterEscape,
    predictedChange,
    lossAfterEscapeAndDescent,
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
