/**
 * nn.init: gains and fans as PyTorch computes them, and sample statistics (mean, std, bounds) of
 * large tensors against the theoretical values of each distribution, including the layers'
 * default initialization.
 */
import { describe, expect, it } from 'vitest';
import { Generator, nn, zeros, type Tensor } from '../src/index.js';

const { init } = nn;

function stats(t: Tensor): { mean: number; std: number; min: number; max: number } {
  const v = t.dataSync();
  let sum = 0;
  let min = Infinity;
  let max = -Infinity;
  for (const x of v) {
    sum += x;
    if (x < min) min = x;
    if (x > max) max = x;
  }
  const mean = sum / v.length;
  let sq = 0;
  for (const x of v) sq += (x - mean) ** 2;
  return { mean, std: Math.sqrt(sq / (v.length - 1)), min, max };
}

/** Checks mean and std against theory (relative tolerance on std) and optional bounds. */
function expectDistribution(
  t: Tensor,
  mean: number,
  std: number,
  bound?: [number, number],
  rtol = 0.02,
): void {
  const s = stats(t);
  expect(Math.abs(s.mean - mean), `mean ${s.mean} vs ${mean}`).toBeLessThan(
    5 * (std / Math.sqrt(t.numel())) + 1e-7,
  );
  expect(Math.abs(s.std - std) / std, `std ${s.std} vs ${std}`).toBeLessThan(rtol);
  if (bound) {
    expect(s.min).toBeGreaterThanOrEqual(bound[0]);
    expect(s.max).toBeLessThanOrEqual(bound[1]);
    // Large samples reach close to the bounds.
    expect(s.min).toBeLessThan(bound[0] + 0.01 * (bound[1] - bound[0]));
    expect(s.max).toBeGreaterThan(bound[1] - 0.01 * (bound[1] - bound[0]));
  }
}

const big = (shape: number[]) => zeros(shape);

describe('calculateGain and fans', () => {
  it('matches PyTorch calculate_gain', () => {
    expect(init.calculateGain('linear')).toBe(1);
    expect(init.calculateGain('conv2d')).toBe(1);
    expect(init.calculateGain('sigmoid')).toBe(1);
    expect(init.calculateGain('tanh')).toBeCloseTo(5 / 3, 12);
    expect(init.calculateGain('relu')).toBeCloseTo(Math.SQRT2, 12);
    expect(init.calculateGain('leaky_relu')).toBeCloseTo(Math.sqrt(2 / (1 + 0.01 ** 2)), 12);
    expect(init.calculateGain('leaky_relu', 0.2)).toBeCloseTo(Math.sqrt(2 / 1.04), 12);
    expect(init.calculateGain('leaky_relu', Math.sqrt(5))).toBeCloseTo(Math.sqrt(1 / 3), 12);
    expect(init.calculateGain('selu')).toBe(0.75);
    expect(() => init.calculateGain('softmax' as 'relu')).toThrow(
      /unsupported nonlinearity 'softmax'/,
    );
  });

  it('computes fan in / fan out with the receptive field, and rejects 1-D tensors', () => {
    expect(init.calculateFanInAndFanOut(zeros([16, 8, 3, 3]))).toEqual({ fanIn: 72, fanOut: 144 });
    expect(init.calculateFanInAndFanOut(zeros([10, 20]))).toEqual({ fanIn: 20, fanOut: 10 });
    expect(() => init.kaimingUniform_(zeros([5]))).toThrow(/fewer than 2 dimensions/);
  });
});

describe('distributions', () => {
  it('uniform_ and normal_', () => {
    expectDistribution(init.uniform_(big([300, 400]), -2, 1), -0.5, 3 / Math.sqrt(12), [-2, 1]);
    expectDistribution(init.normal_(big([300, 400]), 3, 0.5), 3, 0.5);
  });

  it('constant_, zeros_, ones_, eye_', () => {
    expect(Array.from(init.constant_(zeros([3]), 2.5).dataSync())).toEqual([2.5, 2.5, 2.5]);
    expect(Array.from(init.ones_(zeros([2])).dataSync())).toEqual([1, 1]);
    expect(Array.from(init.zeros_(init.ones_(zeros([2]))).dataSync())).toEqual([0, 0]);
    expect(init.eye_(zeros([2, 3])).arraySync()).toEqual([
      [1, 0, 0],
      [0, 1, 0],
    ]);
  });

  it('xavierUniform_ and xavierNormal_ (with a gain)', () => {
    const [fanOut, fanIn] = [200, 300];
    const bound = Math.sqrt(6 / (fanIn + fanOut));
    expectDistribution(init.xavierUniform_(big([fanOut, fanIn])), 0, bound / Math.sqrt(3), [
      -bound,
      bound,
    ]);
    const gain = init.calculateGain('tanh');
    expectDistribution(
      init.xavierNormal_(big([fanOut, fanIn]), gain),
      0,
      gain * Math.sqrt(2 / (fanIn + fanOut)),
    );
  });

  it('kaimingUniform_ and kaimingNormal_ in both modes', () => {
    const w = big([250, 40, 3, 3]); // fanIn 360, fanOut 2250
    const bound = Math.SQRT2 * Math.sqrt(3 / 360);
    expectDistribution(init.kaimingUniform_(w, { nonlinearity: 'relu' }), 0, bound / Math.sqrt(3), [
      -bound,
      bound,
    ]);
    expectDistribution(
      init.kaimingNormal_(w, { mode: 'fanOut', nonlinearity: 'relu' }),
      0,
      Math.SQRT2 / Math.sqrt(2250),
    );
    const leaky = init.calculateGain('leaky_relu', 0.1);
    expectDistribution(init.kaimingNormal_(w, { a: 0.1 }), 0, leaky / Math.sqrt(360));
    expect(() => init.kaimingNormal_(w, { mode: 'fanAvg' as 'fanIn' })).toThrow(
      /mode fanAvg not supported/,
    );
  });

  it('orthogonal_ gives orthonormal rows (wide) or columns (tall), scaled by gain', () => {
    for (const shape of [
      [6, 20],
      [20, 6],
      [4, 2, 3, 3],
    ]) {
      const gain = 1.5;
      const w = init.orthogonal_(zeros(shape), gain, new Generator(1));
      const m = w.reshape(shape[0], -1);
      const gram = shape[0] <= m.shape[1] ? m.matmul(m.t()) : m.t().matmul(m);
      const n = gram.shape[0];
      const g = gram.dataSync();
      for (let i = 0; i < n; i++)
        for (let j = 0; j < n; j++) expect(g[i * n + j]).toBeCloseTo(i === j ? gain * gain : 0, 4);
    }
    // Entries of a random orthogonal n×n matrix have variance 1/n.
    expectDistribution(init.orthogonal_(zeros([300, 300])), 0, 1 / Math.sqrt(300), undefined, 0.03);
  });

  it('truncNormal_ stays in [a, b] with the truncated normal mean and std', () => {
    const pdf = (x: number) => Math.exp((-x * x) / 2) / Math.sqrt(2 * Math.PI);
    // Φ by numerical integration (Simpson), independent of the implementation's erf.
    const cdf = (x: number) => {
      const lo = -12;
      const n = 4000;
      const h = (x - lo) / n;
      let s = pdf(lo) + pdf(x);
      for (let i = 1; i < n; i++) s += (i % 2 ? 4 : 2) * pdf(lo + i * h);
      return (s * h) / 3;
    };
    for (const [mean, std, a, b] of [
      [0, 1, -2, 2],
      [1, 0.5, 0, 3],
      [0, 0.02, -0.04, 0.04],
    ]) {
      const [al, be] = [(a - mean) / std, (b - mean) / std];
      const z = cdf(be) - cdf(al);
      const mu = mean + (std * (pdf(al) - pdf(be))) / z;
      const variance =
        std * std * (1 + (al * pdf(al) - be * pdf(be)) / z - ((pdf(al) - pdf(be)) / z) ** 2);
      const t = init.truncNormal_(
        zeros([300, 300], { dtype: 'float64' }),
        mean,
        std,
        a,
        b,
        new Generator(5),
      );
      const s = stats(t);
      expect(s.min).toBeGreaterThanOrEqual(a);
      expect(s.max).toBeLessThanOrEqual(b);
      expect(Math.abs(s.mean - mu)).toBeLessThan(5 * Math.sqrt(variance / t.numel()));
      expect(Math.abs(s.std - Math.sqrt(variance)) / Math.sqrt(variance)).toBeLessThan(0.01);
    }
    expect(() => init.truncNormal_(zeros([2]), 0, 1, 1, -1)).toThrow(/expected a < b/);
  });
});

describe('generators and grad mode', () => {
  it('the same generator seed gives the same values, another seed different ones', () => {
    const draw = (seed: number) =>
      Array.from(
        init.kaimingUniform_(zeros([4, 5]), { generator: new Generator(seed) }).dataSync(),
      );
    expect(draw(1)).toEqual(draw(1));
    expect(draw(1)).not.toEqual(draw(2));
    const t = (seed: number) =>
      Array.from(init.xavierNormal_(zeros([3, 3]), 1, new Generator(seed)).dataSync());
    expect(t(9)).toEqual(t(9));
    expect(
      Array.from(init.truncNormal_(zeros([5]), 0, 1, -2, 2, new Generator(4)).dataSync()),
    ).toEqual(Array.from(init.truncNormal_(zeros([5]), 0, 1, -2, 2, new Generator(4)).dataSync()));
  });

  it('works on parameters (leaves that require grad) without recording the graph', () => {
    const p = new nn.Parameter(zeros([3, 4]));
    for (const fn of [
      () => init.uniform_(p),
      () => init.normal_(p),
      () => init.xavierUniform_(p),
      () => init.kaimingNormal_(p),
      () => init.orthogonal_(p),
      () => init.truncNormal_(p),
      () => init.constant_(p, 1),
    ]) {
      expect(fn()).toBe(p);
      expect(p.isLeaf).toBe(true);
      expect(p.requiresGrad).toBe(true);
    }
  });
});

describe("layers' default initialization matches PyTorch's distributions", () => {
  it('Linear: weight and bias in ±1/√in_features (kaiming uniform with a = √5)', () => {
    const fc = new nn.Linear(400, 300);
    const bound = 1 / Math.sqrt(400);
    expectDistribution(fc.weight, 0, bound / Math.sqrt(3), [-bound, bound]);
    const b = stats(fc.bias!);
    expect(b.min).toBeGreaterThanOrEqual(-bound);
    expect(b.max).toBeLessThanOrEqual(bound);
    expect(b.std).toBeGreaterThan(0.4 * bound);
  });

  it('Conv2d and ConvTranspose2d: bound 1/√fan_in computed from the weight', () => {
    const conv = new nn.Conv2d(16, 256, 3);
    const bound = 1 / Math.sqrt(16 * 9);
    expectDistribution(conv.weight, 0, bound / Math.sqrt(3), [-bound, bound]);
    const up = new nn.ConvTranspose2d(256, 32, 3, { groups: 2 }); // weight [256, 16, 3, 3]: fan_in = 16·9
    expectDistribution(up.weight, 0, bound / Math.sqrt(3), [-bound, bound]);
    expect(stats(up.bias!).max).toBeLessThanOrEqual(bound);
  });

  it('Embedding: N(0, 1); Bilinear: U(±1/√in1_features)', () => {
    expectDistribution(new nn.Embedding(500, 200).weight, 0, 1);
    const bl = new nn.Bilinear(16, 30, 200);
    expectDistribution(bl.weight, 0, 0.25 / Math.sqrt(3), [-0.25, 0.25]);
  });
});
