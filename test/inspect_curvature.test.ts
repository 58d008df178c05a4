/**
 * inspect's curvature tools against the full Hessians PyTorch formed in float64
 * (scripts/fixtures/hessian.py → test/fixtures/hessian.json): Hessian-vector products, the extreme
 * eigenvalues and the top eigenvector by Lanczos, Hutchinson's trace, and the SLQ density.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { F, inspect, linalg, noGrad, tensor, type Tensor } from '../src/index.js';
import { tridiagonalEigen } from '../src/inspect/tridiagonal_eigen.js';
import { expectAllClose } from './helpers/close.js';
import { main as saddlePoint } from '../examples/saddle_point.js';
import { main as learningRateStability } from '../examples/learning_rate_stability.js';
import { fromFixture, type FixtureTensor } from './helpers/reference.js';

interface ModelFixture {
  name: 'mlp_tanh' | 'softmax_regression' | 'tiny_cnn';
  params: FixtureTensor[];
  data: Record<string, FixtureTensor>;
  loss: number;
  numel: number;
  eigenvalues: number[];
  topEigenvector: number[];
  trace: number;
  hvps: { v: FixtureTensor[]; hv: FixtureTensor[] }[];
}

const fixtures = (
  JSON.parse(
    readFileSync(fileURLToPath(new URL('./fixtures/hessian.json', import.meta.url)), 'utf8'),
  ) as { models: ModelFixture[] }
).models;

type Loss = (params: Tensor[], data: Record<string, Tensor>) => Tensor;

/** The same networks as the fixture script, as functions of the parameter list. */
const losses: Record<ModelFixture['name'], Loss> = {
  mlp_tanh: ([w1, b1, w2, b2], { x, y }) =>
    F.mseLoss(F.linear(F.linear(x, w1, b1).tanh(), w2, b2), y),
  softmax_regression: ([w, b], { x, labels }) => F.crossEntropy(F.linear(x, w, b), labels),
  tiny_cnn: ([cw, cb, w, b], { x, labels }) =>
    F.crossEntropy(F.linear(F.conv2d(x, cw, cb).tanh().flatten(1), w, b), labels),
};

/** The fixture's network in `dtype`: its params (requiring grad) and the loss as a closure over them. */
function setup(fixture: ModelFixture, dtype: 'float32' | 'float64' = 'float64') {
  const cast = (t: Tensor) => (t.isFloatingPoint() ? t.to(dtype) : t);
  const params = fixture.params.map((p) => cast(fromFixture(p)).requiresGrad_());
  const data = Object.fromEntries(
    Object.entries(fixture.data).map(([k, v]) => [k, cast(fromFixture(v))]),
  );
  return { params, lossFn: () => losses[fixture.name](params, data) };
}

/** |Δ| / |expected| of each pair. */
const relative = (got: number[], expected: number[]) =>
  got.map((g, i) => Math.abs(g - expected[i]) / Math.abs(expected[i]));

const flat = (ts: Tensor[]) => ts.flatMap((t) => Array.from(t.dataSync()));

describe.each(fixtures)('inspect curvature on $name ($numel params) against PyTorch', (fixture) => {
  const ascending = fixture.eigenvalues;
  const descending = [...ascending].reverse();
  const norm = Math.max(Math.abs(ascending[0]), Math.abs(descending[0]));

  it('hessianVectorProduct equals PyTorch (float64)', async () => {
    const { params, lossFn } = setup(fixture);
    for (const { v, hv } of fixture.hvps) {
      const got = await inspect.hessianVectorProduct(
        lossFn,
        params,
        v.map((t) => fromFixture(t)),
      );
      expectAllClose(flat(got), flat(hv.map((t) => fromFixture(t))), { rtol: 1e-10, atol: 1e-12 });
    }
  });

  it('hessianVectorProduct and hessianEigenvalues on the reference backend (cpu-reference)', async () => {
    const params = fixture.params.map((p) => fromFixture(p, 'cpu-reference').requiresGrad_());
    const data = Object.fromEntries(
      Object.entries(fixture.data).map(([k, v]) => [k, fromFixture(v, 'cpu-reference')]),
    );
    const { v, hv } = fixture.hvps[1];
    const got = await inspect.hessianVectorProduct(
      () => losses[fixture.name](params, data),
      params,
      v.map((t) => fromFixture(t, 'cpu-reference')),
    );
    expect(got.map((t) => t.device)).toEqual(params.map(() => 'cpu-reference'));
    expectAllClose(flat(got), flat(hv.map((t) => fromFixture(t))), { rtol: 1e-10, atol: 1e-12 });
    const top = await inspect.hessianEigenvalues(() => losses[fixture.name](params, data), params, {
      seed: 1,
      returnEigenvectors: true,
    });
    expect(top.eigenvalues[0]).toBeCloseTo(fixture.eigenvalues.at(-1)!, 8);
    expect(top.eigenvectors![0][0].device).toBe('cpu-reference');
  });

  it('hessianVectorProduct matches central differences of the gradient', async () => {
    const { params, lossFn } = setup(fixture);
    const v = fixture.hvps[0].v.map((t) => fromFixture(t));
    const hv = flat(await inspect.hessianVectorProduct(lossFn, params, v));
    const eps = 1e-5;
    const gradientAt = (sign: number) => {
      const moved = params.map((p, i) =>
        p
          .detach()
          .add(v[i].mul(sign * eps))
          .requiresGrad_(),
      );
      const data = Object.fromEntries(
        Object.entries(fixture.data).map(([k, t]) => [k, fromFixture(t)]),
      );
      losses[fixture.name](moved, data).backward();
      return flat(moved.map((p) => p.grad!));
    };
    const [plus, minus] = [gradientAt(1), gradientAt(-1)];
    const scale = Math.max(...hv.map(Math.abs));
    expectAllClose(
      hv,
      plus.map((g, i) => (g - minus[i]) / (2 * eps)),
      { rtol: 0, atol: 1e-7 * scale },
    );
  });

  it('hessianEigenvalues: the top 3 (descending) and the top eigenvector, float64', async () => {
    const { params, lossFn } = setup(fixture);
    const result = await inspect.hessianEigenvalues(lossFn, params, {
      k: 3,
      seed: 1,
      returnEigenvectors: true,
    });
    expect(result.converged).toBe(true);
    expect(result.eigenvalues).toHaveLength(3);
    expect(Math.max(...relative(result.eigenvalues, descending.slice(0, 3)))).toBeLessThan(1e-8);
    expect(result.loss).toBeCloseTo(fixture.loss, 12);
    // autograd.grad returns the derivatives: nothing accumulates into .grad.
    expect(params.every((p) => p.grad === null)).toBe(true);
    const top = result.eigenvectors![0];
    expect(top.map((t) => t.shape)).toEqual(params.map((p) => p.shape));
    expectAllClose(flat(top), fixture.topEigenvector, { atol: 1e-6, rtol: 0 });
  });

  it("hessianEigenvalues: 'smallest' and 'largest-magnitude'", async () => {
    const { params, lossFn } = setup(fixture);
    const smallest = await inspect.hessianEigenvalues(lossFn, params, {
      k: 2,
      which: 'smallest',
      seed: 2,
    });
    // Lanczos from one vector sees an exactly repeated eigenvalue once (softmax regression's null
    // space: 5 zeros) until its Krylov space closes, so the reference is the distinct eigenvalues.
    const distinct = ascending.filter((x, i) => i === 0 || x - ascending[i - 1] > 1e-9 * norm);
    expectAllClose(smallest.eigenvalues, distinct.slice(0, 2), { rtol: 0, atol: 1e-8 * norm });
    const byMagnitude = [...ascending].sort((a, b) => Math.abs(b) - Math.abs(a)).slice(0, 2);
    const largest = await inspect.hessianEigenvalues(lossFn, params, {
      k: 2,
      which: 'largest-magnitude',
      seed: 3,
    });
    expectAllClose(largest.eigenvalues, byMagnitude, { rtol: 1e-8 });
  });

  // float32 Hessian-vector products carry float32 rounding (~1e-7 relative); Lanczos is float64.
  it('hessianEigenvalues in float32 agrees within 1e-5 relative', async () => {
    const { params, lossFn } = setup(fixture, 'float32');
    const result = await inspect.hessianEigenvalues(lossFn, params, { k: 2, seed: 4 });
    expect(Math.max(...relative(result.eigenvalues, descending.slice(0, 2)))).toBeLessThan(1e-5);
  });

  it('hessianTrace (Hutchinson) is within 4 standard errors of the trace', async () => {
    const { params, lossFn } = setup(fixture);
    const result = await inspect.hessianTrace(lossFn, params, { maxIter: 60, seed: 5 });
    expect(result.standardError).toBeGreaterThan(0);
    expect(Number.isFinite(result.standardError)).toBe(true);
    expect(Math.abs(result.trace - fixture.trace)).toBeLessThan(4 * result.standardError);
  });
});

describe('inspect.hessianDensity (stochastic Lanczos quadrature)', () => {
  const fixture = fixtures.find((f) => f.name === 'mlp_tanh')!;

  it('with as many steps as parameters, its nodes are the eigenvalues and it integrates to 1', async () => {
    const { params, lossFn } = setup(fixture);
    const { runs, grid, density, sigma } = await inspect.hessianDensity(lossFn, params, {
      iterations: fixture.numel,
      runs: 2,
      seed: 6,
    });
    expect(runs).toHaveLength(2);
    for (const run of runs) {
      expectAllClose(run.nodes, fixture.eigenvalues, { rtol: 0, atol: 1e-9 });
      expect(run.weights.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    }
    const step = grid[1] - grid[0];
    expect(density.reduce((a, b) => a + b, 0) * step).toBeCloseTo(1, 6);
    // The mass within 3σ of the top eigenvalue is its weight (averaged over the runs): it sits there.
    const top = fixture.eigenvalues[fixture.numel - 1];
    const mass = density.reduce(
      (m, d, i) => (Math.abs(grid[i] - top) < 3 * sigma ? m + d * step : m),
      0,
    );
    const weight = (runs[0].weights.at(-1)! + runs[1].weights.at(-1)!) / 2;
    expect(mass).toBeGreaterThan(0.99 * 0.9973 * weight);
    expect(mass).toBeLessThan(1.01 * weight + 1e-6);
  });

  it('with few steps, the nodes lie within the spectrum and the weights sum to 1', async () => {
    const { params, lossFn } = setup(fixture);
    const { runs } = await inspect.hessianDensity(lossFn, params, { iterations: 12, seed: 7 });
    const [lo, hi] = [fixture.eigenvalues[0], fixture.eigenvalues.at(-1)!];
    expect(runs[0].nodes).toHaveLength(12);
    expect(runs[0].nodes.every((x) => x >= lo - 1e-9 && x <= hi + 1e-9)).toBe(true);
    expect(runs[0].weights.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    // Gauss quadrature's extreme nodes converge first: the top one is λ_max already.
    expect(runs[0].nodes.at(-1)!).toBeCloseTo(hi, 4);
  });
});

describe('Lanczos details', () => {
  /** 0.5·xᵀAx: its Hessian is A (symmetric). */
  const quadratic = (a: number[][]) => {
    const A = tensor(a, { dtype: 'float64' });
    const x = tensor(
      a.map((_, i) => i / 10),
      { dtype: 'float64', requiresGrad: true },
    );
    return { x, lossFn: () => x.dot(A.matmul(x)).mul(0.5), A };
  };

  it('finds repeated eigenvalues (restarting when the Krylov space closes)', async () => {
    const { x, lossFn } = quadratic([
      [5, 0, 0, 0],
      [0, 5, 0, 0],
      [0, 0, 1, 0],
      [0, 0, 0, -2],
    ]);
    const result = await inspect.hessianEigenvalues(lossFn, x, { k: 3, seed: 8 });
    expectAllClose(result.eigenvalues, [5, 5, 1], { atol: 1e-12 });
    const smallest = await inspect.hessianEigenvalues(lossFn, [x], { which: 'smallest', seed: 9 });
    expect(smallest.eigenvalues[0]).toBeCloseTo(-2, 12);
  });

  it('hessianVectorProduct: the TSDoc example, one tensor in, one tensor out', async () => {
    const w = tensor([1, 2], { requiresGrad: true });
    const [hv] = await inspect.hessianVectorProduct(() => w.pow(3).sum(), [w], [tensor([1, 1])]);
    expectAllClose(hv, [6, 12]);
    // A single tensor gives a single tensor; v of another float dtype is cast to the param's.
    const single = await inspect.hessianVectorProduct(
      () => w.pow(3).sum(),
      w,
      tensor([1, -1], { dtype: 'float64' }),
    );
    expect(single.dtype).toBe('float32');
    expectAllClose(single, [6, -12]);
  });

  it('hessianTrace is exact, and stops at minIter, when the Hessian is diagonal', async () => {
    const { x, lossFn } = quadratic([
      [3, 0, 0],
      [0, -1, 0],
      [0, 0, 0.5],
    ]);
    const result = await inspect.hessianTrace(lossFn, x, { minIter: 4, seed: 10 });
    expect(result.samples).toHaveLength(4);
    expect(result.trace).toBeCloseTo(2.5, 14);
    expect(result.standardError).toBeCloseTo(0, 14);
  });

  it('one parameter: its Hessian is a number', async () => {
    const w = tensor(0.5, { dtype: 'float64', requiresGrad: true });
    const result = await inspect.hessianEigenvalues(() => w.pow(4), w, {
      returnEigenvectors: true,
    });
    expect(result.eigenvalues[0]).toBeCloseTo(12 * 0.25, 12);
    expect(result.converged).toBe(true);
    expect(result.eigenvectors![0][0].shape).toEqual([]);
    expectAllClose(result.eigenvectors![0][0].reshape([1]), [1]);
  });

  it('the tridiagonal QL solver agrees with linalg.eigh', () => {
    const alpha = [2, -1, 0.5, 3, 1e-3, 4, -2];
    const beta = [1, 0.3, -2, 0.7, 1e-9, 1.5];
    const m = alpha.length;
    const dense = Array.from({ length: m }, (_, i) =>
      Array.from({ length: m }, (_, j) =>
        i === j ? alpha[i] : Math.abs(i - j) === 1 ? beta[Math.min(i, j)] : 0,
      ),
    );
    const { values, rows } = tridiagonalEigen(alpha, beta, [0, m - 1]);
    const { eigenvalues, eigenvectors } = linalg.eigh(tensor(dense, { dtype: 'float64' }));
    expectAllClose(values, eigenvalues, { atol: 1e-13 });
    // Rows of the eigenvector matrix, compared without sign (each column's sign is arbitrary).
    const v = eigenvectors.arraySync() as number[][];
    expectAllClose(rows[0].map(Math.abs), v[0].map(Math.abs), { atol: 1e-12 });
    expectAllClose(rows[1].map(Math.abs), v[m - 1].map(Math.abs), { atol: 1e-12 });
  });
});

describe('inspect curvature errors name the function and the problem', () => {
  const w = () => tensor([1, 2, 3], { dtype: 'float64', requiresGrad: true });

  it('params that do not require grad', async () => {
    const p = tensor([1, 2]);
    await expect(inspect.hessianEigenvalues(() => p.pow(2).sum(), [p])).rejects.toThrow(
      /inspect\.hessianEigenvalues: params\[0\] \(shape \[2\]\) does not require grad/,
    );
  });

  it('a loss that is not a scalar', async () => {
    const p = w();
    await expect(inspect.hessianTrace(() => p.pow(2), [p])).rejects.toThrow(
      /inspect\.hessianTrace: lossFn must return a scalar loss \(one element\), got shape \[3\]/,
    );
  });

  it('k larger than the parameter count', async () => {
    const p = w();
    await expect(inspect.hessianEigenvalues(() => p.pow(3).sum(), p, { k: 4 })).rejects.toThrow(
      /inspect\.hessianEigenvalues: k = 4 is larger than the number of parameters \(3\)/,
    );
  });

  it('a loss whose graph does not reach a param', async () => {
    const p = w();
    const unused = w();
    await expect(inspect.hessianDensity(() => p.pow(3).sum(), [p, unused])).rejects.toThrow(
      /inspect\.hessianDensity: the loss does not depend on params\[1\] \(shape \[3\]\): its gradient is None/,
    );
    await expect(
      inspect.hessianVectorProduct(() => noGrad(() => p.pow(3).sum()), [p], [w()]),
    ).rejects.toThrow(/inspect\.hessianVectorProduct: the loss does not require grad/);
  });

  it('v shaped unlike the params', async () => {
    const p = w();
    await expect(
      inspect.hessianVectorProduct(() => p.pow(3).sum(), [p], [tensor([1, 2])]),
    ).rejects.toThrow(/v\[0\] has shape \[2\] but params\[0\] has shape \[3\]/);
  });
});

describe('curvature examples (tiny sizes)', () => {
  it('saddle_point: gradient descent stalls, the negative eigenvalue is found, the escape lowers the loss', async () => {
    const report = await saddlePoint({
      inputs: 2,
      hidden: 3,
      samples: 8,
      steps: 20,
      log: () => {},
    });
    expect(report.gradientNorm).toBe(0);
    expect(report.lossAfterDescent).toBe(report.lossAtStart);
    expect(report.smallestEigenvalue).toBeLessThan(0);
    // The Hessian there is [[0, B], [Bᵀ, 0]]: its spectrum is symmetric about 0.
    expect(report.smallestEigenvalue).toBeCloseTo(-report.largestEigenvalue, 10);
    expect(report.lossAfterEscape).toBeLessThan(report.lossAfterDescent);
    expect(report.lossAfterEscapeAndDescent).toBeLessThan(report.lossAfterEscape);
  });

  it('learning_rate_stability: lr just below 2/λ_max converges, just above diverges', async () => {
    const report = await learningRateStability({
      features: 3,
      samples: 16,
      steps: 80,
      log: () => {},
    });
    expect(report.threshold).toBeCloseTo(2 / report.largestEigenvalue, 12);
    expect(report.lossBelow).toBeLessThan(1e-3 * report.initialLoss);
    expect(report.lossAbove).toBeGreaterThan(report.initialLoss);
  });
});
