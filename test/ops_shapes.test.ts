/**
 * Shapes and layouts: broadcasting, 0-d and empty tensors, non-contiguous inputs (transposed,
 * sliced, expanded, offset) to every op family, storage sharing of views, when reshape copies,
 * and view()'s error when no view exists.
 */
import { describe, expect, it } from 'vitest';
import {
  Generator,
  tensor,
  randn,
  zeros,
  ones,
  arange,
  cat,
  stack,
  einsum,
  where,
  pad,
  maximum,
  autograd,
  type Tensor,
} from '../src/index.js';

const gen = new Generator(11);
const r = (shape: number[], requiresGrad = false) =>
  randn(shape, { dtype: 'float64', generator: gen, requiresGrad });
const idx = (values: number[], shape?: number[]) => tensor(values, { dtype: 'int32', shape });
const mask = (values: boolean[], shape?: number[]) => tensor(values, { dtype: 'bool', shape });
const grad = autograd.grad;
const values = (t: Tensor) => Array.from(t.dataSync());

function expectClose(actual: Tensor, expected: Tensor, label: string): void {
  expect(actual.shape, `${label}: shape`).toEqual(expected.shape);
  expect(actual.dtype, `${label}: dtype`).toBe(expected.dtype);
  const a = values(actual);
  const b = values(expected);
  a.forEach((v, i) => {
    if (Number.isNaN(b[i])) expect(v, `${label}[${i}]`).toBeNaN();
    else
      expect(Math.abs(v - b[i]), `${label}[${i}]: ${v} vs ${b[i]}`).toBeLessThanOrEqual(
        1e-12 + 1e-10 * Math.abs(b[i]),
      );
  });
}

const sameStorage = (a: Tensor, b: Tensor) => a.storage === b.storage;

describe('broadcasting', () => {
  const cases: [number[], number[], number[]][] = [
    [[3, 1], [4], [3, 4]],
    [[], [2, 3], [2, 3]],
    [
      [2, 1, 3],
      [4, 1],
      [2, 4, 3],
    ],
    [[1], [0], [0]],
    [[2, 0, 1], [3], [2, 0, 3]],
  ];
  for (const [sa, sb, out] of cases) {
    it(`[${sa}] with [${sb}] gives [${out}] and gradients of the input shapes`, () => {
      const a = r(sa, true);
      const b = r(sb, true);
      for (const op of ['add', 'sub', 'mul', 'div', 'maximum', 'atan2'] as const) {
        a.grad = null;
        b.grad = null;
        const y = a[op](b);
        expect(y.shape).toEqual(out);
        y.sum().backward();
        expect(a.grad!.shape).toEqual(sa);
        expect(b.grad!.shape).toEqual(sb);
      }
    });
  }
  it('broadcast gradients sum over the expanded dims', () => {
    const a = r([3, 1], true);
    const b = r([4], true);
    a.mul(b).sum().backward();
    const bSum = values(b).reduce((s, v) => s + v, 0);
    const aSum = values(a).reduce((s, v) => s + v, 0);
    values(a.grad!).forEach((g) => expect(g).toBeCloseTo(bSum, 12));
    values(b.grad!).forEach((g) => expect(g).toBeCloseTo(aSum, 12));
  });
  it('where broadcasts condition, input and other together', () => {
    const c = mask([true, false], [2, 1, 1]);
    const x = r([3, 1], true);
    const y = r([4], true);
    const out = where(c, x, y);
    expect(out.shape).toEqual([2, 3, 4]);
    out.sum().backward();
    expect(values(x.grad!)).toEqual([4, 4, 4]);
    expect(values(y.grad!)).toEqual([3, 3, 3, 3]);
  });
  it('incompatible shapes throw an error naming the op and the shapes', () => {
    expect(() => r([2, 3]).add(r([4]))).toThrow(
      /add: shapes \[2, 3\] and \[4\] cannot be broadcast/,
    );
    expect(() => r([2, 3]).mul(r([2]))).toThrow(/mul/);
    expect(() => r([3, 2]).matmul(r([3, 2]))).toThrow(
      /matmul: shapes \[3, 2\] and \[3, 2\] are incompatible: inner dimensions 2 != 3/,
    );
    expect(() => r([2, 2, 3]).matmul(r([3, 3, 2]))).toThrow(/matmul/);
  });
});

describe('0-d tensors', () => {
  it('unary, binary and scalar ops keep shape []', () => {
    const x = r([], true);
    expect(x.exp().shape).toEqual([]);
    expect(x.add(1).mul(x).shape).toEqual([]);
    expect(x.add(r([2])).shape).toEqual([2]);
    expect(x.clamp(-0.1, 0.1).shape).toEqual([]);
    const y = x.sin().mul(x);
    y.backward();
    expect(x.grad!.shape).toEqual([]);
    const v = x.itemSync() as number;
    expect(x.grad!.itemSync()).toBeCloseTo(Math.cos(v) * v + Math.sin(v), 12);
  });
  it('reductions over a 0-d tensor', () => {
    const x = tensor(2.5, { dtype: 'float64', requiresGrad: true });
    expect(x.sum().shape).toEqual([]);
    expect(x.sum(0).itemSync()).toBe(2.5);
    expect(x.mean().itemSync()).toBe(2.5);
    expect(x.prod().itemSync()).toBe(2.5);
    expect(x.amax().itemSync()).toBe(2.5);
    expect(x.max().itemSync()).toBe(2.5);
    expect(x.argmax().itemSync()).toBe(0);
    expect(x.argmax(0).shape).toEqual([]);
    expect(x.logsumexp(0).itemSync()).toBeCloseTo(2.5, 12);
    expect(x.norm().itemSync()).toBe(2.5);
    expect(x.cumsum(0).shape).toEqual([]);
    const [m, i] = x.max(0);
    expect(m.shape).toEqual([]);
    expect(i.itemSync()).toBe(0);
    x.prod().add(x.cumsum(0)).add(m).backward();
    expect(x.grad!.itemSync()).toBe(3);
  });
  it('shape ops to and from 0-d', () => {
    const x = tensor(1.5, { dtype: 'float64', requiresGrad: true });
    expect(x.unsqueeze(0).shape).toEqual([1]);
    expect(x.reshape(1, 1).squeeze().shape).toEqual([]);
    expect(x.expand(2, 3).shape).toEqual([2, 3]);
    expect(x.flatten().shape).toEqual([1]);
    expect(x.t().shape).toEqual([]);
    expect(x.T.shape).toEqual([]);
    expect(stack([x, x]).shape).toEqual([2]);
    expect(() => cat([x, x])).toThrow(/cat: zero-dimensional/);
    expect(() => x.matmul(r([2]))).toThrow(/matmul: both arguments need at least 1 dimension/);
    x.expand(2, 3).sum().backward();
    expect(x.grad!.itemSync()).toBe(6);
  });
  it('a 0-d tensor of a higher category decides the dtype, otherwise the dimensioned one does', () => {
    const f64 = tensor(1.5, { dtype: 'float64' });
    expect(r([2]).to('float32').mul(f64).dtype).toBe('float32');
    expect(idx([1, 2]).add(f64).dtype).toBe('float64');
    expect(mask([true]).add(idx([3], [])).dtype).toBe('int32');
    expect(f64.add(tensor(2, { dtype: 'float32' })).dtype).toBe('float64');
  });
});

describe('empty tensors', () => {
  it('elementwise ops and their gradients', () => {
    const x = r([0, 3], true);
    const y = x
      .exp()
      .mul(r([1, 3]))
      .add(1);
    expect(y.shape).toEqual([0, 3]);
    y.sum().backward();
    expect(x.grad!.shape).toEqual([0, 3]);
  });
  it('reductions over empty dims', () => {
    const x = r([0, 3], true);
    expect(values(x.sum(0))).toEqual([0, 0, 0]);
    expect(x.sum(1).shape).toEqual([0]);
    expect(values(x.prod(0))).toEqual([1, 1, 1]);
    expect(values(x.mean(0)).every(Number.isNaN)).toBe(true);
    expect(x.logsumexp(0).dataSync()[0]).toBe(-Infinity);
    expect(values(x.norm(2, 0))).toEqual([0, 0, 0]);
    expect(() => x.amax(0)).toThrow(/amax: cannot reduce over dimension 0 of size 0/);
    expect(() => x.argmax()).toThrow(/argmax/);
    expect(() => x.max(0)).toThrow();
    x.sum().backward();
    expect(x.grad!.shape).toEqual([0, 3]);
  });
  it('prod over an empty dim has gradients of the input shape, also when recording the graph', () => {
    const x = r([0, 3], true);
    const [g] = grad([x.prod(0).sum()], [x], { createGraph: true });
    expect(g!.shape).toEqual([0, 3]);
    const y = r([2, 0], true);
    y.prod(1).sum().backward();
    expect(y.grad!.shape).toEqual([2, 0]);
  });
  it('matmul with an empty inner dimension gives zeros', () => {
    const a = r([2, 0], true);
    const b = r([0, 3], true);
    const y = a.matmul(b);
    expect(y.shape).toEqual([2, 3]);
    expect(values(y)).toEqual([0, 0, 0, 0, 0, 0]);
    y.sum().backward();
    expect(a.grad!.shape).toEqual([2, 0]);
  });
  it('shape ops on empty tensors', () => {
    const x = r([0, 4], true);
    expect(x.reshape(2, 0, 2).shape).toEqual([2, 0, 2]);
    expect(x.t().shape).toEqual([4, 0]);
    expect(cat([x, r([2, 4])]).shape).toEqual([2, 4]);
    expect(x.index(':', '1:3').shape).toEqual([0, 2]);
    expect(r([3, 4]).index('2:1').shape).toEqual([0, 4]);
    expect(x.flip(0).shape).toEqual([0, 4]);
    expect(pad(x, [1, 1]).shape).toEqual([0, 6]);
    expect(pad(x, [0, 0, 1, 0]).shape).toEqual([1, 4]);
    expect(x.split(2, 0).map((t) => t.shape)).toEqual([[0, 4]]);
    expect(x.cumsum(1).shape).toEqual([0, 4]);
    expect(x.indexSelect(1, idx([0, 3])).shape).toEqual([0, 2]);
    expect(r([2, 3]).indexSelect(1, idx([])).shape).toEqual([2, 0]);
    const y = cat([x.mul(2), r([1, 4], true)]);
    y.sum().backward();
    expect(x.grad!.shape).toEqual([0, 4]);
  });
});

// ---- non-contiguous inputs: f(view) must equal f(view.contiguous()), values and gradients ----

interface Layout {
  name: string;
  /** A [3, 4] non-contiguous view of a fresh leaf. */
  make: (base: Tensor) => Tensor;
  baseShape: number[];
}

const layouts: Layout[] = [
  { name: 'transposed', baseShape: [4, 3], make: (b) => b.t() },
  { name: 'sliced with step', baseShape: [3, 8], make: (b) => b.index(':', '1::2') },
  { name: 'expanded', baseShape: [1, 4], make: (b) => b.expand(3, 4) },
  { name: 'offset window', baseShape: [4, 6], make: (b) => b.narrow(0, 1, 3).narrow(1, 2, 4) },
  { name: 'permuted 3-D', baseShape: [4, 1, 3], make: (b) => b.permute(2, 1, 0).squeeze(1) },
];

const other34 = r([3, 4]);
const positive = (x: Tensor) => x.abs().add(0.5);
const families: Record<string, ((x: Tensor) => Tensor | Tensor[])[]> = {
  unary: [
    (x) => x.exp(),
    (x) => x.relu(),
    (x) => x.abs(),
    (x) => positive(x).log(),
    (x) => x.sigmoid(),
    (x) => x.tanh(),
    (x) => x.erf(),
    (x) => x.sign(),
  ],
  binary: [
    (x) => x.add(other34, 2),
    (x) => other34.sub(x),
    (x) => x.mul(x),
    (x) => x.div(positive(other34)),
    (x) => positive(x).pow(other34),
    (x) => x.pow(3),
    (x) => maximum(x, other34),
    (x) => x.atan2(other34),
    (x) => where(x.gt(0), x, other34),
    (x) => x.clamp(-0.3, 0.4),
    (x) => x.add(x.t().t()),
  ],
  comparison: [
    (x) => x.gt(other34).to('float64').mul(x),
    (x) => x.eq(x).logicalAnd(x.lt(0)).to('float64').add(x),
  ],
  reduction: [
    (x) => x.sum(1),
    (x) => x.mean([0, 1]),
    (x) => x.prod(0),
    (x) => x.var(1),
    (x) => x.std(0, true),
    (x) => x.amax(1),
    (x) => x.max(0).values,
    (x) => x.min(1).values,
    (x) => x.argmax(1).to('float64').add(x.sum(1)),
    (x) => x.logsumexp(0),
    (x) => x.norm(2, 1),
    (x) => x.norm(1),
    (x) => x.cumsum(1),
    (x) => x.cumsum(0),
  ],
  linalg: [
    (x) => x.matmul(other34.t()),
    (x) => other34.t().matmul(x),
    (x) => x.mm(x.t()),
    (x) =>
      x
        .unsqueeze(0)
        .expand(2, 3, 4)
        .bmm(other34.t().unsqueeze(0).expand(2, 4, 3)),
    (x) => einsum('ij,kj->ik', x, other34),
    (x) => einsum('ij->j', x),
    (x) => x.select(0, 1).dot(other34.select(0, 2)),
    (x) => x.select(1, 0).outer(x.select(0, 0)),
  ],
  shape: [
    (x) => x.reshape(12),
    (x) => x.reshape(4, 3),
    (x) => x.flatten(),
    (x) => x.transpose(0, 1).contiguous(),
    (x) => cat([x, other34, x], 1),
    (x) => stack([x, other34], 2),
    (x) => x.flip(0, 1),
    (x) => x.roll(1, 1),
    (x) => pad(x, [1, 2, 1, 0], 'constant', 0.5),
    (x) => x.tril(),
    (x) => x.triu(1),
    (x) => x.diagonal(1),
    (x) => x.repeat(2, 1),
    (x) => x.index('1:', '::2'),
    (x) => x.split(3, 1),
    (x) => x.chunk(2, 1),
    (x) => x.clone(),
  ],
  indexing: [
    (x) => x.gather(1, idx([0, 3, 1, 1, 2, 0], [3, 2])),
    (x) => x.indexSelect(1, idx([3, 0, 3])),
    (x) => x.scatter(1, idx([0, 2, 1, 3, 3, 0], [3, 2]), other34),
    (x) => other34.scatter(1, idx([0, 2, 1, 3, 3, 0], [3, 2]), x),
    (x) => x.scatterAdd(0, idx([0, 0, 2, 1], [1, 4]), x),
    (x) => x.maskedFill(mask([true, false, false, true]), -1),
  ],
};

function runFamily(x: Tensor, f: (x: Tensor) => Tensor | Tensor[]): Tensor[] {
  const out = f(x);
  return Array.isArray(out) ? out : [out];
}

describe('non-contiguous inputs give the same values and gradients as contiguous ones', () => {
  for (const layout of layouts) {
    describe(layout.name, () => {
      it('is really a non-contiguous [3, 4] view of its base', () => {
        const base = r(layout.baseShape);
        const v = layout.make(base);
        expect(v.shape).toEqual([3, 4]);
        expect(v.isContiguous()).toBe(false);
        expect(sameStorage(v, base)).toBe(true);
      });
      for (const [family, fns] of Object.entries(families)) {
        it(family, () => {
          fns.forEach((f, k) => {
            const base1 = r(layout.baseShape, true);
            const base2 = base1.detach().clone().requiresGrad_();
            const out1 = runFamily(layout.make(base1), f);
            const out2 = runFamily(layout.make(base2).contiguous(), f);
            expect(out1.length).toBe(out2.length);
            out1.forEach((o, i) => expectClose(o, out2[i], `${family} #${k} output ${i}`));
            const cotangents = out1.map((o) => r([...o.shape]));
            const total = (outs: Tensor[]) =>
              outs.map((o, i) => o.mul(cotangents[i]).sum()).reduce((a, b) => a.add(b));
            total(out1).backward();
            total(out2).backward();
            expectClose(base1.grad!, base2.grad!, `${family} #${k} gradient`);
          });
        });
      }
    });
  }
});

describe('views share storage; copies do not', () => {
  it('view ops return tensors over the same storage', () => {
    const x = r([2, 3, 4]);
    const views: [string, Tensor][] = [
      ['reshape', x.reshape(6, 4)],
      ['view', x.view(-1)],
      ['flatten', x.flatten(1)],
      ['unflatten', x.unflatten(2, [2, 2])],
      ['squeeze', x.unsqueeze(0).squeeze(0)],
      ['unsqueeze', x.unsqueeze(1)],
      ['transpose', x.transpose(0, 2)],
      ['permute', x.permute(1, 2, 0)],
      ['t', x.select(0, 0).t()],
      ['T', x.T],
      ['mT', x.mT],
      ['expand', x.unsqueeze(0).expand(3, 2, 3, 4)],
      ['expandAs', x.select(1, 0).unsqueeze(1).expandAs(x)],
      ['narrow', x.narrow(2, 1, 2)],
      ['select', x.select(1, 2)],
      ['slice', x.slice(2, 0, 4, 2)],
      ['index', x.index('...', null, '1:')],
      ['diagonal', x.diagonal(0, 1, 2)],
      ['split', x.split(1, 0)[1]],
      ['chunk', x.chunk(2, 2)[1]],
      ['detach', x.detach()],
      ['contiguous (already contiguous)', x.contiguous()],
    ];
    for (const [name, v] of views) expect(sameStorage(v, x), name).toBe(true);
    expect(x.contiguous()).toBe(x);
    for (const [name, copy] of [
      ['clone', x.clone()],
      ['contiguous of transposed', x.mT.contiguous()],
      ['flip', x.flip(0)],
      ['repeat', x.repeat(1, 1, 1)],
      ['cat', cat([x])],
      ['add 0', x.add(0)],
    ] as [string, Tensor][]) {
      expect(sameStorage(copy, x), name).toBe(false);
    }
  });
  it('writes through one view are seen by the others', () => {
    const x = zeros([3, 4], { dtype: 'float64' });
    const row = x.select(0, 1);
    const col = x.t().narrow(0, 2, 1);
    row.fill_(5);
    expect(values(x.index(1))).toEqual([5, 5, 5, 5]);
    expect(values(col)).toEqual([0, 5, 0]);
    x.diagonal().fill_(-1);
    expect(values(x.flatten())).toEqual([-1, 0, 0, 0, 5, -1, 5, 5, 0, 0, -1, 0]);
    const d = x.detach();
    d.add_(1);
    expect(x.index(0, 0).itemSync()).toBe(0);
  });
  it('views have correct element order after several view ops', () => {
    const x = arange(24, undefined, 1, { dtype: 'float64' }).reshape(2, 3, 4);
    expect(values(x.permute(2, 0, 1).index(1))).toEqual([1, 5, 9, 13, 17, 21]);
    expect(values(x.index(1, '::2', '-2:'))).toEqual([14, 15, 22, 23]);
    expect(values(x.diagonal(1, 1, 2))).toEqual([1, 6, 11, 13, 18, 23]);
    expect(values(x.transpose(0, 2).reshape(-1).narrow(0, 0, 6))).toEqual([0, 12, 4, 16, 8, 20]);
    expect(values(x.flip(2).index(0, 0))).toEqual([3, 2, 1, 0]);
  });
});

describe('reshape copies only when it must; view() refuses', () => {
  it('reshape of a contiguous tensor is a view', () => {
    const x = r([2, 3, 4]);
    expect(sameStorage(x.reshape(4, 6), x)).toBe(true);
    expect(sameStorage(x.reshape([-1]), x)).toBe(true);
  });
  it('reshape of a transposed tensor copies when dims must merge across strides', () => {
    const x = r([2, 3]);
    const y = x.t().reshape(6);
    expect(sameStorage(y, x)).toBe(false);
    expect(values(y)).toEqual(values(x.t().contiguous()));
  });
  it('reshape of a transposed tensor is a view when it only splits or keeps dims', () => {
    const x = r([2, 3, 4]);
    const t = x.transpose(0, 1); // [3, 2, 4]
    const split = t.reshape(3, 2, 2, 2);
    expect(sameStorage(split, x)).toBe(true);
    expect(values(split)).toEqual(values(t.contiguous()));
    const merged = x.permute(1, 0, 2).reshape(3, 8);
    expect(sameStorage(merged, x)).toBe(false);
  });
  it('reshape of an expanded tensor copies unless it keeps the broadcast dim', () => {
    const x = r([1, 4]);
    const e = x.expand(3, 4);
    expect(sameStorage(e.reshape(12), x)).toBe(false);
    expect(sameStorage(e.reshape(3, 2, 2), x)).toBe(true);
    expect(values(e.reshape(3, 2, 2))).toEqual(values(e.contiguous()));
  });
  it('reshape of a sliced tensor: views along intact dims, copies otherwise', () => {
    const x = r([4, 6]);
    const s = x.index('1:3');
    expect(sameStorage(s.reshape(12), x)).toBe(true);
    expect(sameStorage(x.index(':', '::2').reshape(12), x)).toBe(true); // strides [6, 2] merge
    const c = x.index(':', '1:4');
    expect(sameStorage(c.reshape(12), x)).toBe(false);
    expect(values(c.reshape(12))).toEqual(values(c.contiguous()));
  });
  it('view() throws a clear error when no view exists, and works when one does', () => {
    const x = r([2, 3]);
    expect(() => x.t().view(6)).toThrow(
      /view: shape \[6\] is not compatible with the input's shape \[3, 2\].*use reshape\(\) instead/,
    );
    expect(() => r([1, 4]).expand(3, 4).view(12)).toThrow(/view/);
    expect(() => x.view(4)).toThrow(/view: shape \[4\] is invalid for input of shape \[2, 3\]/);
    expect(() => x.reshape(-1, -1)).toThrow(/only one dimension can be inferred/);
    expect(sameStorage(x.t().view(3, 1, 2), x)).toBe(true);
  });
  it('gradients flow through views and copies alike', () => {
    const x = r([2, 3], true);
    x.t()
      .reshape(6)
      .mul(arange(6, undefined, 1, { dtype: 'float64' }))
      .sum()
      .backward();
    expect(values(x.grad!)).toEqual([0, 2, 4, 1, 3, 5]);
  });
});

describe('scatter with a src larger than its index', () => {
  it('gives src a gradient of its own shape, zero where src is not read', () => {
    const x = r([2, 3], true);
    const src = tensor([1, 2, 3, 4, 5, 6], { dtype: 'float64', shape: [2, 3], requiresGrad: true });
    const out = x.scatter(0, idx([1, 0], [1, 2]), src);
    expect(values(out.index(1, ':2'))).toEqual([1, values(x)[4]]);
    expect(out.index(0, 1).itemSync()).toBe(2);
    out
      .mul(tensor([10, 20, 30, 40, 50, 60], { dtype: 'float64', shape: [2, 3] }))
      .sum()
      .backward();
    expect(values(src.grad!)).toEqual([40, 20, 0, 0, 0, 0]);
    expect(values(x.grad!)).toEqual([10, 0, 30, 0, 50, 60]);
  });
});

describe('documented choices', () => {
  it('sign(NaN) is NaN (NumPy); PyTorch 1.13 returns 0', () => {
    expect(values(tensor([NaN, -0, 2, -3]).sign())).toEqual([NaN, 0, 1, -1]);
  });
  it('NaN is truthy in logical ops and in bool casts, as in PyTorch', () => {
    const x = tensor([NaN, 0, 1]);
    expect(values(x.logicalNot())).toEqual([0, 1, 0]);
    expect(values(x.to('bool'))).toEqual([1, 0, 1]);
    expect(values(x.logicalAnd(ones([3])))).toEqual([1, 0, 1]);
  });
  it('bool + bool stays a bool of 0/1 (logical or), so casting it gives 0/1', () => {
    const t = mask([true, true, false]);
    expect(t.add(t).dtype).toBe('bool');
    expect(values(t.add(t).to('int32'))).toEqual([1, 1, 0]);
  });
});
