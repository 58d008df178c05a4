/**
 * In-place ops: values, the version counter, views seeing the change, the rules autograd imposes
 * (leaves, saved tensors) and gradients through in-place ops on non-leaves.
 */
import { describe, expect, it } from 'vitest';
import {
  Generator,
  arange,
  autograd,
  manualSeed,
  noGrad,
  ones,
  randn,
  tensor,
  zeros,
  type Tensor,
} from '../src/index.js';

import { expectClose, values } from './helpers/values.js';

describe('in-place values and versions', () => {
  const cases: [string, (t: Tensor) => Tensor, number[]][] = [
    ['add_', (t) => t.add_(tensor([10, 20, 30, 40])), [11, 22, 33, 44]],
    ['add_ alpha', (t) => t.add_(2, 3), [7, 8, 9, 10]],
    ['add_ { alpha }', (t) => t.add_(tensor([1, 1, 1, 1]), { alpha: 3 }), [4, 5, 6, 7]],
    ['sub_ { alpha }', (t) => t.sub_(2, { alpha: 0.5 }), [0, 1, 2, 3]],
    ['add_ broadcast', (t) => t.add_(tensor(1)), [2, 3, 4, 5]],
    ['sub_', (t) => t.sub_(tensor([1, 1, 1, 1]), 2), [-1, 0, 1, 2]],
    ['mul_', (t) => t.mul_(tensor([2, 3, 4, 5])), [2, 6, 12, 20]],
    ['div_', (t) => t.div_(2), [0.5, 1, 1.5, 2]],
    ['zero_', (t) => t.zero_(), [0, 0, 0, 0]],
    ['fill_', (t) => t.fill_(7.5), [7.5, 7.5, 7.5, 7.5]],
    ['copy_', (t) => t.copy_(tensor([9, 8, 7, 6])), [9, 8, 7, 6]],
    ['copy_ broadcast', (t) => t.copy_(tensor([5])), [5, 5, 5, 5]],
    ['clamp_', (t) => t.clamp_(2, 3), [2, 2, 3, 3]],
    ['clamp_ min only', (t) => t.clamp_(3), [3, 3, 3, 4]],
    ['pow_', (t) => t.pow_(2), [1, 4, 9, 16]],
    ['neg_', (t) => t.neg_(), [-1, -2, -3, -4]],
  ];
  for (const [name, op, expected] of cases) {
    it(`${name} writes the values, returns the tensor and bumps the version`, () => {
      const t = tensor([1, 2, 3, 4]);
      const storage = t.storage;
      const before = t.version;
      const result = op(t);
      expect(result).toBe(t);
      expect(t.storage).toBe(storage);
      expect(t.version).toBeGreaterThan(before);
      expectClose(t, expected);
    });
  }

  it('uniform_ and normal_ fill in place, bump the version and respect bounds', () => {
    manualSeed(3);
    const t = zeros([1000]);
    const v0 = t.version;
    t.uniform_(-2, 5);
    expect(t.version).toBe(v0 + 1);
    const u = values(t);
    expect(Math.min(...u)).toBeGreaterThanOrEqual(-2);
    expect(Math.max(...u)).toBeLessThan(5);
    expect(u.reduce((a, b) => a + b) / u.length).toBeCloseTo(1.5, 0);
    t.normal_(10, 0.5);
    expect(t.version).toBe(v0 + 2);
    const n = values(t);
    const mean = n.reduce((a, b) => a + b) / n.length;
    const std = Math.sqrt(n.reduce((a, b) => a + (b - mean) ** 2, 0) / n.length);
    expect(mean).toBeCloseTo(10, 1);
    expect(std).toBeGreaterThan(0.45);
    expect(std).toBeLessThan(0.55);
  });

  it('uniform_ and normal_ are reproducible with a seed or a generator', () => {
    manualSeed(11);
    const a = zeros([5]).uniform_();
    const b = zeros([5]).normal_();
    manualSeed(11);
    expect(values(zeros([5]).uniform_())).toEqual(values(a));
    expect(values(zeros([5]).normal_())).toEqual(values(b));
    const g1 = new Generator(5);
    const g2 = new Generator(5);
    expect(values(zeros([4]).normal_(0, 1, g1))).toEqual(values(zeros([4]).normal_(0, 1, g2)));
  });

  it('the version counter is shared with views and detached tensors', () => {
    const t = tensor([1, 2, 3, 4]);
    const v = t.view(2, 2);
    const d = t.detach();
    const before = t.version;
    v.add_(1);
    expect(t.version).toBe(before + 1);
    expect(d.version).toBe(before + 1);
    d.mul_(2);
    expect(v.version).toBe(before + 2);
  });

  it('views see the change, and writing into a view changes the base', () => {
    const t = arange(6).reshape(2, 3).float();
    const row = t.select(0, 1);
    const col = t.select(1, 0);
    const tr = t.t();
    t.add_(10);
    expectClose(row, [13, 14, 15]);
    expectClose(col, [10, 13]);
    expectClose(tr, [10, 13, 11, 14, 12, 15]);
    row.zero_();
    expectClose(t, [10, 11, 12, 0, 0, 0]);
    col.fill_(-1);
    expectClose(t, [-1, 11, 12, -1, 0, 0]);
    tr.select(0, 2).copy_(tensor([7, 8]));
    expectClose(t, [-1, 11, 7, -1, 0, 8]);
    t.narrow(1, 1, 2).mul_(tensor([2, 3]));
    expectClose(t, [-1, 22, 21, -1, 0, 24]);
  });

  it('random fills of a strided view write only the view', () => {
    const t = zeros([3, 4]);
    t.select(1, 2).uniform_(1, 2);
    const rows = t.arraySync() as number[][];
    for (const row of rows) {
      expect(row[0]).toBe(0);
      expect(row[1]).toBe(0);
      expect(row[2]).toBeGreaterThanOrEqual(1);
      expect(row[3]).toBe(0);
    }
    t.select(0, 1).normal_(5, 0);
    expect(t.arraySync()).toEqual([rows[0], [5, 5, 5, 5], rows[2]]);
  });

  it('in-place into an integer tensor keeps the dtype; float results are rejected', () => {
    const t = tensor([1, 2, 3], { dtype: 'int32' });
    t.add_(2);
    expect(t.dtype).toBe('int32');
    expect(values(t)).toEqual([3, 4, 5]);
    expect(() => t.mul_(0.5)).toThrow(/mul_.*float32.*int32/);
    expect(() => t.div_(2)).toThrow(/div_.*int32/);
  });

  it('copy_ converts dtypes and checks broadcasting', () => {
    const t = zeros([2, 3]);
    t.copy_(tensor([1, 2, 3], { dtype: 'int32' }));
    expectClose(t, [1, 2, 3, 1, 2, 3]);
    expect(t.dtype).toBe('float32');
    const i = zeros([2], { dtype: 'int32' });
    i.copy_(tensor([1.7, -2.7]));
    expect(values(i)).toEqual([1, -2]);
    expect(() => zeros([2]).copy_(tensor([1, 2, 3]))).toThrow(/copy_.*\[3\].*\[2\]/);
    expect(() => zeros([4]).copy_(tensor([1, 2]))).toThrow(/copy_.*\[2\].*\[4\]/);
    expect(() => zeros([2]).copy_(zeros([2, 2]))).toThrow(/copy_.*\[2, 2\].*\[2\]/);
  });

  it('the result of an in-place op must fit the tensor', () => {
    expect(() => zeros([3]).add_(ones([2, 3]))).toThrow(/add_.*\[2, 3\].*\[3\]/);
    expect(() => zeros([3]).mul_(ones([2]))).toThrow(/\[3\].*\[2\]|\[2\].*\[3\]/);
  });
});

describe('in-place and autograd', () => {
  it('in-place on a leaf that requires grad throws, but not under noGrad', () => {
    const w = tensor([1, 2], { requiresGrad: true });
    for (const op of [
      (t: Tensor) => t.add_(1),
      (t: Tensor) => t.mul_(2),
      (t: Tensor) => t.zero_(),
      (t: Tensor) => t.fill_(1),
      (t: Tensor) => t.copy_(ones([2])),
      (t: Tensor) => t.uniform_(),
      (t: Tensor) => t.normal_(),
      (t: Tensor) => t.clamp_(0, 1),
    ]) {
      expect(() => op(w)).toThrow(/leaf tensor that requires grad.*in-place.*noGrad/);
    }
    expectClose(w, [1, 2]);
    noGrad(() => w.add_(1));
    expectClose(w, [2, 3]);
    expect(w.isLeaf).toBe(true);
    expect(w.requiresGrad).toBe(true);
    expect(w.gradFn).toBeNull();
  });

  it('modifying a saved output (exp) makes backward throw naming the op and versions', () => {
    const x = tensor([1, 2], { requiresGrad: true });
    const y = x.exp();
    y.add_(1);
    const loss = y.sum();
    expect(() => loss.backward()).toThrow(/modified by an in-place operation/);
    const x2 = tensor([1, 2], { requiresGrad: true });
    const y2 = x2.exp();
    y2.add_(1);
    let message = '';
    try {
      y2.sum().backward();
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/ExpBackward/);
    expect(message).toMatch(/version 1; expected version 0/);
    expect(message).toMatch(/\[float32 \[2\]\]/);
  });

  it('modifying a saved input (sigmoid output, mul input) makes backward throw', () => {
    const x = tensor([1, 2], { requiresGrad: true });
    const s = x.sigmoid();
    const out = s.mul(3).sum();
    noGrad(() => s.mul_(2));
    expect(() => out.backward()).toThrow(/SigmoidBackward.*|version 1; expected version 0/);

    const a = tensor([1, 2], { requiresGrad: true });
    const b = a.mul(1); // non-leaf
    const c = b.mul(a);
    b.add_(1);
    expect(() => c.sum().backward()).toThrow(/MulBackward/);
  });

  it('modifying a tensor saved through a view is detected too', () => {
    const x = tensor([1, 2, 3, 4], { requiresGrad: true });
    const h = x.mul(2);
    const y = h.sin(); // saves its input h
    const v = h.detach().view(2, 2);
    v.zero_();
    expect(() => y.sum().backward()).toThrow(/SinBackward/);
  });

  it('modifying a tensor not saved by anyone is fine (add saves nothing)', () => {
    const x = tensor([1, 2], { requiresGrad: true });
    const h = x.mul(2);
    const out = h.add(1).sum();
    h.add_(5);
    out.backward();
    expectClose(x.grad, [2, 2]);
  });

  const inplaceVsOutOfPlace: [
    string,
    (t: Tensor, other: Tensor) => Tensor,
    (t: Tensor, other: Tensor) => Tensor,
  ][] = [
    ['add_', (t, o) => t.add_(o), (t, o) => t.add(o)],
    ['sub_', (t, o) => t.sub_(o, 2), (t, o) => t.sub(o, 2)],
    ['mul_', (t, o) => t.mul_(o), (t, o) => t.mul(o)],
    ['div_', (t, o) => t.div_(o), (t, o) => t.div(o)],
    ['pow_', (t) => t.pow_(3), (t) => t.pow(3)],
    ['exp_', (t) => t.exp_(), (t) => t.exp()],
    ['sigmoid_', (t) => t.sigmoid_(), (t) => t.sigmoid()],
    ['relu_', (t) => t.relu_(), (t) => t.relu()],
    ['clamp_', (t) => t.clamp_(-0.5, 0.5), (t) => t.clamp(-0.5, 0.5)],
    ['zero_', (t) => t.zero_(), (t) => t.mul(0)],
    ['fill_', (t) => t.fill_(2), (t) => t.mul(0).add(2)],
    ['copy_', (t, o) => t.copy_(o), (_t, o) => o.mul(1)],
  ];
  for (const [name, inplaceOp, outOfPlace] of inplaceVsOutOfPlace) {
    it(`${name} on a non-leaf gives the gradients of the out-of-place op`, () => {
      manualSeed(7);
      const x0 = randn([3, 2], { dtype: 'float64' });
      const o0 = randn([3, 2], { dtype: 'float64' }).abs().add(0.5);
      const run = (inplace: boolean) => {
        const x = x0.clone().requiresGrad_();
        const o = o0.clone().requiresGrad_();
        const h = x.mul(x).sub(0.3);
        const r = inplace ? inplaceOp(h, o) : outOfPlace(h, o);
        if (inplace) expect(r).toBe(h);
        const loss = r.mul(r.add(1)).sum();
        loss.backward();
        // A leaf the result does not depend on gets no gradient (out of place) or zeros (in place).
        return {
          value: values(r),
          gx: x.grad ? values(x.grad) : [0, 0, 0, 0, 0, 0],
          go: o.grad ? values(o.grad) : null,
        };
      };
      const a = run(true);
      const b = run(false);
      a.value.forEach((v, i) => expect(v).toBeCloseTo(b.value[i], 10));
      a.gx.forEach((v, i) => expect(v).toBeCloseTo(b.gx[i], 10));
      if (b.go) a.go!.forEach((v, i) => expect(v).toBeCloseTo(b.go![i], 10));
      else expect(a.go === null || a.go.every((v) => v === 0)).toBe(true);
    });
  }

  it('the tensor takes the history of the in-place op', () => {
    const x = tensor([1, 2], { requiresGrad: true });
    const h = x.mul(2);
    h.mul_(3);
    expect(h.gradFn!.name).toBe('MulBackward');
    h.exp_();
    expect(h.gradFn!.name).toBe('ExpBackward');
    h.sum().backward();
    expectClose(x.grad, [6 * Math.exp(6), 6 * Math.exp(12)], 0);
  });

  it('in-place with an operand that requires grad turns a plain tensor into a non-leaf', () => {
    const w = tensor([2, 3], { requiresGrad: true });
    const a = ones([2]);
    a.mul_(w);
    expect(a.requiresGrad).toBe(true);
    expect(a.isLeaf).toBe(false);
    a.mul(a).sum().backward();
    expectClose(w.grad, [4, 6]);
    const b = tensor([5, 7]);
    b.add_(w, 2);
    b.sum().backward();
    expectClose(w.grad, [6, 8]);
  });

  it('in-place on a view of a tensor that requires grad is rejected clearly', () => {
    const x = tensor([1, 2, 3, 4], { requiresGrad: true });
    const h = x.mul(1);
    expect(() => h.view(2, 2).add_(1)).toThrow(/add_.*view/);
  });

  it('using a view taken before an in-place op changed its base history throws (no silent wrong gradient)', () => {
    const x = tensor([1, 2, 3, 4], { requiresGrad: true });
    const h = x.mul(2);
    const v = h.view(2, 2);
    h.mul_(3);
    expect(() => v.sum()).toThrow(/SumBackward.*\[2, 2\].*view.*in-place/);
    // Taking the view again after the in-place op is fine and gives the right gradient.
    h.view(2, 2).sum().backward();
    expectClose(x.grad, [6, 6, 6, 6]);
    // Detached tensors and views of leaves modified under noGrad are unaffected.
    const d = h.detach();
    h.add_(1);
    expect(() => d.add(1)).not.toThrow();
    const w = tensor([1, 2], { requiresGrad: true });
    const wv = w.view(2, 1);
    noGrad(() => w.sub_(1));
    wv.sum().backward();
    expectClose(w.grad, [1, 1]);
  });

  it('copy_ from an overlapping view of itself reads the old values', () => {
    const t = tensor([
      [1, 2],
      [3, 4],
    ]);
    t.copy_(t.t());
    expect(t.arraySync()).toEqual([
      [1, 3],
      [2, 4],
    ]);
  });

  it('optimizer-style updates under noGrad', () => {
    manualSeed(0);
    const w = randn([3], { requiresGrad: true });
    const target = tensor([1, -2, 3]);
    let lastLoss = Infinity;
    for (let step = 0; step < 100; step++) {
      const loss = w.sub(target).square().sum();
      loss.backward();
      noGrad(() => {
        w.sub_(w.grad!.mul(0.1));
        w.grad!.zero_();
      });
      expect(w.isLeaf).toBe(true);
      lastLoss = loss.itemSync() as number;
    }
    expect(lastLoss).toBeLessThan(1e-6);
    expectClose(w, [1, -2, 3], 3);
  });

  it('momentum buffers updated in place under noGrad follow the closed form', () => {
    const p = tensor([1], { requiresGrad: true, dtype: 'float64' });
    const buf = zeros([1], { dtype: 'float64' });
    for (let i = 0; i < 3; i++) {
      p.mul(2).sum().backward();
      noGrad(() => {
        buf.mul_(0.9).add_(p.grad!);
        p.add_(buf, -0.1);
      });
      p.grad = null;
    }
    // buf: 2, 3.8, 5.42; p: 1 - 0.1·(2 + 3.8 + 5.42)
    expectClose(buf, [5.42]);
    expectClose(p, [1 - 0.1 * 11.22]);
  });

  it('double backward through an in-place op', () => {
    const x = tensor([1.5], { requiresGrad: true, dtype: 'float64' });
    const h = x.mul(1);
    h.mul_(x); // x²
    const [g] = autograd.grad(h.sum(), [x], { createGraph: true });
    expectClose(g, [3]);
    const [gg] = autograd.grad(g!.sum(), [x]);
    expectClose(gg, [2]);
  });
});

describe('add and sub alpha', () => {
  it('takes PyTorch keyword as an options object, and names the op when alpha is not a number', () => {
    expect(values(tensor([1, 2]).add(tensor([10, 20]), { alpha: 2 }))).toEqual([21, 42]);
    expect(values(tensor([5, 7]).sub(tensor([1, 1]), { alpha: 2 }))).toEqual([3, 5]);
    expect(() => tensor([1, 2]).add(tensor([1, 1]), 'x' as never)).toThrow(
      'add: alpha must be a number (or { alpha: number }), got string',
    );
    expect(() => tensor([1, 2]).sub(tensor([1, 1]), { alpha: null } as never)).toThrow(
      'sub: alpha must be a number',
    );
  });
});
