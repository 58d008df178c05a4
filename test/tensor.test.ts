/**
 * Tensors: creation functions and their dtypes, seeded randomness, reading values, printing
 * (PyTorch's format), dtypes and type promotion.
 */
import { describe, expect, it } from 'vitest';
import {
  Generator,
  arange,
  eye,
  full,
  fullLike,
  linspace,
  manualSeed,
  ones,
  onesLike,
  rand,
  randLike,
  randint,
  randn,
  randnLike,
  tensor,
  zeros,
  zerosLike,
  type Tensor,
} from '../src/index.js';

function values(t: Tensor): number[] {
  return Array.from(t.dataSync());
}

describe('creation', () => {
  it('tensor() from nested arrays', () => {
    const t = tensor([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    expect(t.shape).toEqual([2, 3]);
    expect(t.dtype).toBe('float32');
    expect(t.strides).toEqual([3, 1]);
    expect(t.isContiguous()).toBe(true);
    expect(t.arraySync()).toEqual([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    expect(tensor(5).shape).toEqual([]);
    expect(tensor(5).itemSync()).toBe(5);
    expect(tensor([]).shape).toEqual([0]);
    expect(tensor([[], []]).shape).toEqual([2, 0]);
    expect(tensor([[[1], [2]]]).shape).toEqual([1, 2, 1]);
    expect(tensor([true, false]).dtype).toBe('bool');
    expect(tensor([true, false]).arraySync()).toEqual([true, false]);
    expect(tensor([1, 2], { dtype: 'float64' }).dtype).toBe('float64');
    expect(tensor([1.7, -2.7], { dtype: 'int32' }).arraySync()).toEqual([1, -2]);
    expect(tensor([0, 2, -1], { dtype: 'bool' }).arraySync()).toEqual([false, true, true]);
  });

  it('tensor() from typed arrays keeps their element type, and takes a shape', () => {
    expect(tensor(new Float64Array([1, 2])).dtype).toBe('float64');
    expect(tensor(new Float32Array([1, 2])).dtype).toBe('float32');
    expect(tensor(new Int32Array([1, 2])).dtype).toBe('int32');
    const t = tensor(new Float32Array([1, 2, 3, 4, 5, 6]), { shape: [3, 2] });
    expect(t.shape).toEqual([3, 2]);
    expect(t.arraySync()).toEqual([
      [1, 2],
      [3, 4],
      [5, 6],
    ]);
    const n = tensor([1, 2, 3, 4], { shape: [2, 2] });
    expect(n.arraySync()).toEqual([
      [1, 2],
      [3, 4],
    ]);
    // The tensor owns a copy: changing the source does not change it.
    const src = new Float32Array([1, 2]);
    const c = tensor(src);
    src[0] = 100;
    expect(values(c)).toEqual([1, 2]);
  });

  it('zeros, ones, full with dtypes', () => {
    expect(values(zeros([2, 2]))).toEqual([0, 0, 0, 0]);
    expect(zeros(3).shape).toEqual([3]);
    expect(zeros([]).shape).toEqual([]);
    expect(zeros([2, 0, 3]).numel()).toBe(0);
    expect(ones([2], { dtype: 'int32' }).dtype).toBe('int32');
    expect(values(ones([3], { dtype: 'float64' }))).toEqual([1, 1, 1]);
    expect(values(full([2], 3.5))).toEqual([3.5, 3.5]);
    expect(full([2], true).dtype).toBe('bool');
    expect(full([2], 7, { dtype: 'int32' }).arraySync()).toEqual([7, 7]);
    expect(full([1], -Infinity).itemSync()).toBe(-Infinity);
    const r = ones([2], { requiresGrad: true });
    expect(r.requiresGrad).toBe(true);
    expect(r.isLeaf).toBe(true);
  });

  it('*Like functions copy shape and dtype, and allow overrides', () => {
    const base = tensor([[1, 2, 3]], { dtype: 'float64' });
    for (const t of [
      zerosLike(base),
      onesLike(base),
      fullLike(base, 4),
      randnLike(base),
      randLike(base),
    ]) {
      expect(t.shape).toEqual([1, 3]);
      expect(t.dtype).toBe('float64');
      expect(t.requiresGrad).toBe(false);
    }
    expect(values(zerosLike(base))).toEqual([0, 0, 0]);
    expect(values(onesLike(base))).toEqual([1, 1, 1]);
    expect(values(fullLike(base, 4))).toEqual([4, 4, 4]);
    expect(zerosLike(base, { dtype: 'int32' }).dtype).toBe('int32');
    const i = tensor([1, 2], { dtype: 'int32' });
    expect(zerosLike(i).dtype).toBe('int32');
  });

  it('arange: integer and float, negative steps', () => {
    const a = arange(5);
    expect(a.dtype).toBe('int32');
    expect(values(a)).toEqual([0, 1, 2, 3, 4]);
    expect(values(arange(2, 8, 2))).toEqual([2, 4, 6]);
    expect(values(arange(5, 0, -2))).toEqual([5, 3, 1]);
    expect(values(arange(3, 3))).toEqual([]);
    const f = arange(0, 1, 0.25);
    expect(f.dtype).toBe('float32');
    expect(values(f)).toEqual([0, 0.25, 0.5, 0.75]);
    expect(arange(0.5, 3).dtype).toBe('float32');
    expect(values(arange(0.5, 3))).toEqual([0.5, 1.5, 2.5]);
    expect(arange(4, undefined, 1, { dtype: 'float64' }).dtype).toBe('float64');
    // like PyTorch, arange(1, 2.5, 0.5) has ceil((2.5 - 1) / 0.5) = 3 elements
    expect(values(arange(1, 2.5, 0.5))).toEqual([1, 1.5, 2]);
  });

  it('linspace includes both ends', () => {
    expect(values(linspace(0, 1, 5))).toEqual([0, 0.25, 0.5, 0.75, 1]);
    expect(values(linspace(-1, 1, 1))).toEqual([-1]);
    expect(values(linspace(3, 3, 0))).toEqual([]);
    const l = linspace(0, 1, 7, { dtype: 'float64' });
    expect(l.dtype).toBe('float64');
    const v = values(l);
    expect(v[0]).toBe(0);
    expect(v[6]).toBe(1);
    v.forEach((x, i) => expect(x).toBeCloseTo(i / 6, 12));
    expect(values(linspace(10, 0, 3))).toEqual([10, 5, 0]);
  });

  it('eye', () => {
    expect(eye(3).arraySync()).toEqual([
      [1, 0, 0],
      [0, 1, 0],
      [0, 0, 1],
    ]);
    expect(eye(2, 3).arraySync()).toEqual([
      [1, 0, 0],
      [0, 1, 0],
    ]);
    expect(eye(3, 2).arraySync()).toEqual([
      [1, 0],
      [0, 1],
      [0, 0],
    ]);
    expect(eye(2, 2, { dtype: 'int32' }).dtype).toBe('int32');
    expect(eye(0).shape).toEqual([0, 0]);
  });

  it('rand, randn, randint: shapes, dtypes and ranges', () => {
    manualSeed(123);
    const r = rand([100, 10]);
    expect(r.shape).toEqual([100, 10]);
    expect(r.dtype).toBe('float32');
    const rv = values(r);
    expect(Math.min(...rv)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...rv)).toBeLessThan(1);
    expect(rv.reduce((a, b) => a + b) / rv.length).toBeCloseTo(0.5, 1);
    const r64 = rand([3], { dtype: 'float64' });
    expect(r64.dtype).toBe('float64');
    const n = values(randn([4000]));
    const mean = n.reduce((a, b) => a + b) / n.length;
    const variance = n.reduce((a, b) => a + (b - mean) ** 2, 0) / n.length;
    expect(Math.abs(mean)).toBeLessThan(0.08);
    expect(variance).toBeGreaterThan(0.9);
    expect(variance).toBeLessThan(1.1);
    expect(randn([2, 3], { dtype: 'float64' }).dtype).toBe('float64');
    const i = randint(-3, 4, [1000]);
    expect(i.dtype).toBe('int32');
    const iv = values(i);
    expect(new Set(iv)).toEqual(new Set([-3, -2, -1, 0, 1, 2, 3]));
    expect(randn([2], { requiresGrad: true }).requiresGrad).toBe(true);
    expect(rand([]).shape).toEqual([]);
  });
});

describe('seeded randomness', () => {
  const draws: [string, () => Tensor][] = [
    ['rand', () => rand([5])],
    ['rand float64', () => rand([5], { dtype: 'float64' })],
    ['randn', () => randn([5])],
    ['randint', () => randint(0, 1000, [5])],
    ['randLike', () => randLike(zeros([5]))],
    ['randnLike', () => randnLike(zeros([5], { dtype: 'float64' }))],
    ['uniform_', () => zeros([5]).uniform_(-1, 1)],
    ['normal_', () => zeros([5]).normal_(2, 3)],
  ];
  for (const [name, draw] of draws) {
    it(`manualSeed makes ${name} reproducible`, () => {
      manualSeed(42);
      const a = values(draw());
      const b = values(draw());
      manualSeed(42);
      expect(values(draw())).toEqual(a);
      expect(values(draw())).toEqual(b);
      expect(b).not.toEqual(a);
      manualSeed(43);
      expect(values(draw())).not.toEqual(a);
    });
  }

  it('Generator objects are independent of the default generator and of each other', () => {
    const g1 = new Generator(7);
    const x1 = values(randn([6], { generator: g1 }));
    manualSeed(0);
    randn([100]); // advances only the default generator
    const g2 = new Generator(7);
    expect(values(randn([6], { generator: g2 }))).toEqual(x1);
    const g3 = new Generator(8);
    expect(values(randn([6], { generator: g3 }))).not.toEqual(x1);
    // draws from a generator do not move the default generator
    manualSeed(5);
    const d1 = values(rand([3]));
    manualSeed(5);
    rand([3], { generator: new Generator(1) });
    randint(0, 10, [3], { generator: new Generator(1) });
    zeros([3]).uniform_(0, 1, new Generator(1));
    expect(values(rand([3]))).toEqual(d1);
  });

  it('generator state can be saved and restored', () => {
    const g = new Generator(99);
    rand([3], { generator: g });
    const state = g.getState();
    const a = values(randn([4], { generator: g }));
    g.setState(state);
    expect(values(randn([4], { generator: g }))).toEqual(a);
    expect(g.manualSeed(99)).toBe(g);
    const fresh = values(rand([3], { generator: g }));
    expect(fresh).toEqual(values(rand([3], { generator: new Generator(99) })));
  });

  it('different seeds give different streams, including large and negative seeds', () => {
    const seeds = [0, 1, 2, -1, 2 ** 32, 2 ** 40 + 3, 123456789];
    const streams = seeds.map((s) => values(rand([4], { generator: new Generator(s) })).join(','));
    expect(new Set(streams).size).toBe(seeds.length);
  });
});

describe('reading values', () => {
  it('data / array / item and their sync twins', async () => {
    const t = tensor([
      [1, 2],
      [3, 4],
    ]);
    const data = await t.data();
    expect(data).toBeInstanceOf(Float32Array);
    expect(Array.from(data)).toEqual([1, 2, 3, 4]);
    expect(Array.from(t.dataSync())).toEqual([1, 2, 3, 4]);
    expect(await t.array()).toEqual([
      [1, 2],
      [3, 4],
    ]);
    expect(t.arraySync()).toEqual(await t.array());
    expect(await tensor([2.5]).item()).toBe(2.5);
    expect(tensor(7).itemSync()).toBe(7);
    expect(await tensor(true).item()).toBe(true);
    expect(tensor([false]).itemSync()).toBe(false);
    expect(await tensor(3).array()).toBe(3);
    expect(tensor([1], { dtype: 'float64' }).dataSync()).toBeInstanceOf(Float64Array);
    expect(tensor([1], { dtype: 'int32' }).dataSync()).toBeInstanceOf(Int32Array);
  });

  it('reads views in logical order and returns copies', async () => {
    const t = arange(6).reshape(2, 3);
    const tr = t.t();
    expect(tr.arraySync()).toEqual([
      [0, 3],
      [1, 4],
      [2, 5],
    ]);
    expect(Array.from(await tr.data())).toEqual([0, 3, 1, 4, 2, 5]);
    expect(t.select(1, 1).arraySync()).toEqual([1, 4]);
    const d = t.dataSync();
    d[0] = 100;
    expect(t.dataSync()[0]).toBe(0);
  });

  it('item on a tensor with more than one element throws', async () => {
    expect(() => tensor([1, 2]).itemSync()).toThrow(/itemSync.*2 elements.*\[2\]/);
    await expect(tensor([1, 2]).item()).rejects.toThrow(/item.*2 elements/);
    expect(() => zeros([0]).itemSync()).toThrow(/0 elements/);
  });
});

describe('printing (PyTorch format)', () => {
  const cases: [string, () => Tensor, string][] = [
    ['integral floats', () => tensor([1, 2, 3]), 'tensor([1., 2., 3.])'],
    ['floats', () => tensor([1.5, -2.25, 3]), 'tensor([ 1.5000, -2.2500,  3.0000])'],
    [
      'ints',
      () => tensor([1, -20, 300], { dtype: 'int32' }),
      'tensor([  1, -20, 300], dtype=int32)',
    ],
    ['bools', () => tensor([true, false]), 'tensor([ True, False])'],
    ['float64', () => tensor([1.5], { dtype: 'float64' }), 'tensor([1.5000], dtype=float64)'],
    ['large → scientific', () => tensor([1e10, 1]), 'tensor([1.0000e+10, 1.0000e+00])'],
    [
      'integral floats with a large ratio → scientific',
      () => tensor([1, 10000]),
      'tensor([1.0000e+00, 1.0000e+04])',
    ],
    ['small → scientific', () => tensor([0.00001, 0.5]), 'tensor([1.0000e-05, 5.0000e-01])'],
    [
      'ratio over 1000 → scientific',
      () => tensor([0.001, 2.5]),
      'tensor([1.0000e-03, 2.5000e+00])',
    ],
    ['NaN and inf', () => tensor([1, NaN, Infinity]), 'tensor([1., nan, inf])'],
    ['-inf padded to the width', () => tensor([1.5, -Infinity]), 'tensor([1.5000,   -inf])'],
    ['only NaN', () => tensor([NaN, NaN]), 'tensor([nan, nan])'],
    ['zeros', () => zeros([2]), 'tensor([0., 0.])'],
    ['0-d float', () => tensor(3.5), 'tensor(3.5000)'],
    ['0-d integral', () => tensor(2), 'tensor(2.)'],
    ['0-d int', () => tensor(2, { dtype: 'int32' }), 'tensor(2, dtype=int32)'],
    ['empty', () => zeros([0]), 'tensor([])'],
    ['empty 2-d', () => zeros([2, 0]), 'tensor([], size=[2, 0])'],
    [
      '2-d',
      () =>
        tensor([
          [1, 2],
          [3, 4],
        ]),
      'tensor([[1., 2.],\n        [3., 4.]])',
    ],
    [
      '3-d',
      () => arange(8).reshape(2, 2, 2).float(),
      'tensor([[[0., 1.],\n         [2., 3.]],\n\n        [[4., 5.],\n         [6., 7.]]])',
    ],
    [
      'line wrapping',
      () => linspace(0, 1, 12),
      'tensor([0.0000, 0.0909, 0.1818, 0.2727, 0.3636, 0.4545, 0.5455, 0.6364, 0.7273,\n        0.8182, 0.9091, 1.0000])',
    ],
    [
      'requiresGrad suffix',
      () => tensor([1, 2], { requiresGrad: true }),
      'tensor([1., 2.], requiresGrad=true)',
    ],
    [
      'gradFn suffix',
      () => tensor([1, 2], { requiresGrad: true }).sum(),
      'tensor(3., gradFn=<SumBackward>)',
    ],
    [
      'summarized 1-d',
      () => arange(2000),
      'tensor([   0,    1,    2,  ..., 1997, 1998, 1999], dtype=int32)',
    ],
    [
      'summarized 2-d',
      () => arange(2000).reshape(40, 50),
      [
        'tensor([[   0,    1,    2,  ...,   47,   48,   49],',
        '        [  50,   51,   52,  ...,   97,   98,   99],',
        '        [ 100,  101,  102,  ...,  147,  148,  149],',
        '        ...,',
        '        [1850, 1851, 1852,  ..., 1897, 1898, 1899],',
        '        [1900, 1901, 1902,  ..., 1947, 1948, 1949],',
        '        [1950, 1951, 1952,  ..., 1997, 1998, 1999]], dtype=int32)',
      ].join('\n'),
    ],
  ];
  for (const [name, make, expected] of cases) {
    it(name, () => {
      expect(make().toString()).toBe(expected);
    });
  }

  it('summarizes a large tensor without reading every value into the format', () => {
    const big = zeros([1000, 1000]);
    const s = big.toString();
    expect(s).toContain('...');
    expect(s.split('\n').length).toBe(7);
    expect(s.length).toBeLessThan(1000);
  });

  it('prints non-contiguous views by their logical order', () => {
    expect(
      tensor([
        [1, 2],
        [3, 4],
      ])
        .t()
        .toString(),
    ).toBe('tensor([[1., 3.],\n        [2., 4.]])');
  });
});

describe('dtypes and promotion', () => {
  const i = tensor([1, 2], { dtype: 'int32' });
  const f = tensor([0.5, 1.5]);
  const d = tensor([1, 2], { dtype: 'float64' });
  const b = tensor([true, false]);

  it('between tensors', () => {
    expect(i.add(f).dtype).toBe('float32');
    expect(f.add(d).dtype).toBe('float64');
    expect(i.add(d).dtype).toBe('float64');
    expect(i.add(b).dtype).toBe('int32');
    expect(b.logicalAnd(b).dtype).toBe('bool');
    expect(values(i.add(f))).toEqual([1.5, 3.5]);
  });

  it('with scalars (weak, as PyTorch)', () => {
    expect(i.add(2).dtype).toBe('int32');
    expect(i.add(2.5).dtype).toBe('float32');
    expect(values(i.add(2.5))).toEqual([3.5, 4.5]);
    expect(f.mul(2).dtype).toBe('float32');
    expect(d.mul(0.1).dtype).toBe('float64');
    expect(b.add(1).dtype).toBe('int32');
  });

  it('0-d tensors do not widen tensors of the same category', () => {
    expect(f.mul(tensor(2, { dtype: 'float64' })).dtype).toBe('float32');
    expect(i.add(tensor(2, { dtype: 'float64' })).dtype).toBe('float64');
  });

  it('division of integers is true division; comparisons give bool', () => {
    const q = tensor([1, 3], { dtype: 'int32' }).div(tensor([2, 2], { dtype: 'int32' }));
    expect(q.dtype).toBe('float32');
    expect(values(q)).toEqual([0.5, 1.5]);
    expect(f.gt(1).dtype).toBe('bool');
    expect(f.gt(1).arraySync()).toEqual([false, true]);
    expect(i.eq(d).arraySync()).toEqual([true, true]);
  });

  it('to() converts, and reductions keep sensible dtypes', () => {
    expect(f.to('int32').arraySync()).toEqual([0, 1]);
    expect(f.to('bool').arraySync()).toEqual([true, true]);
    expect(b.to('float32').arraySync()).toEqual([1, 0]);
    expect(i.double().dtype).toBe('float64');
    expect(i.sum().dtype).toBe('int32');
    expect(b.sum().dtype).toBe('int32');
    expect(b.sum().itemSync()).toBe(1);
    expect(d.sum().dtype).toBe('float64');
    expect(i.exp().dtype).toBe('float32');
    expect(i.neg().dtype).toBe('int32');
    expect(f.isFloatingPoint()).toBe(true);
    expect(i.isFloatingPoint()).toBe(false);
  });

  it('float32 storage rounds values', () => {
    expect(tensor([0.1]).itemSync()).toBe(Math.fround(0.1));
    expect(tensor([0.1], { dtype: 'float64' }).itemSync()).toBe(0.1);
  });
});
