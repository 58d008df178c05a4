/**
 * Gradient clipping against torch.nn.utils.clip_grad_norm_ / clip_grad_value_ (PyTorch 1.13
 * fixtures in test/fixtures/optim.json), and the L1 / L2 penalty helpers.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { tensor, zeros, type Tensor } from '../src/index.js';
import { clipGradNorm_, clipGradValue_, l1Penalty, l2Penalty } from '../src/nn/utils/index.js';
import { expectMatches, fromFixture, type FixtureTensor } from './helpers/reference.js';

interface ClipCase {
  kind: 'norm' | 'value';
  maxNorm?: number;
  normType?: number | 'inf';
  clipValue?: number;
  grads: FixtureTensor[];
  totalNorm?: FixtureTensor;
  clipped: FixtureTensor[];
}

const fixture = JSON.parse(
  readFileSync(fileURLToPath(new URL('./fixtures/optim.json', import.meta.url)), 'utf8'),
) as { clipping: ClipCase[] };

/** Leaves with the fixture's gradients, plus one parameter without a gradient. */
function paramsWithGrads(grads: FixtureTensor[]): Tensor[] {
  const params = grads.map((g) => {
    const p = zeros(g.shape, { requiresGrad: true });
    p.grad = fromFixture(g);
    return p;
  });
  return [...params, zeros([2], { requiresGrad: true })];
}

describe('clipGradNorm_ matches torch.nn.utils.clip_grad_norm_', () => {
  const cases = fixture.clipping.filter((c) => c.kind === 'norm');
  it('covers p = 2, 1, inf, 3, 0.5, no clipping and a non-finite gradient', () => {
    expect(cases.map((c) => c.normType)).toEqual([2, 1, 'inf', 3, 2, 0.5, 2]);
  });
  for (const c of cases) {
    it(`maxNorm ${c.maxNorm}, normType ${c.normType}${c.grads.some((g) => g.data.includes('inf')) ? ', with an infinite gradient' : ''}`, () => {
      const params = paramsWithGrads(c.grads);
      const normType = c.normType === 'inf' ? Infinity : c.normType!;
      const total = clipGradNorm_(params, c.maxNorm!, normType);
      expectMatches(total, c.totalNorm!, 'total norm', { atol: 1e-6, rtol: 1e-5 });
      c.clipped.forEach((g, i) =>
        expectMatches(params[i].grad!, g, `clipped grad ${i}`, { atol: 1e-6, rtol: 1e-5 }),
      );
      expect(params[params.length - 1].grad).toBeNull();
    });
  }

  it("accepts 'inf' for the infinity norm", () => {
    const c = cases.find((x) => x.normType === 'inf')!;
    const params = paramsWithGrads(c.grads);
    expectMatches(clipGradNorm_(params, c.maxNorm!, 'inf'), c.totalNorm!, 'total norm');
  });

  it('errorIfNonfinite throws on an infinite or NaN norm and leaves the gradients alone', () => {
    for (const bad of [Infinity, NaN]) {
      const p = tensor([1, 2, 3], { requiresGrad: true });
      p.grad = tensor([3, bad, 4]);
      const q = tensor([1], { requiresGrad: true });
      q.grad = tensor([10]);
      expect(() => clipGradNorm_([p, q], 1, 2, { errorIfNonfinite: true })).toThrow(
        /clipGradNorm_: the total norm of order 2 for gradients from parameters is non-finite/,
      );
      expect(Array.from(q.grad.dataSync())).toEqual([10]);
    }
    const p = tensor([1, 2], { requiresGrad: true });
    p.grad = tensor([3, 4]);
    expect(Number(clipGradNorm_(p, 1, 2, { errorIfNonfinite: true }).itemSync())).toBeCloseTo(5, 6);
    expect(Array.from(p.grad.dataSync()).map((v) => Number(v.toFixed(5)))).toEqual([0.6, 0.8]);
  });

  it('returns 0 when no parameter has a gradient, and validates its arguments', () => {
    expect(clipGradNorm_([tensor([1], { requiresGrad: true })], 1).itemSync()).toBe(0);
    const p = tensor([1], { requiresGrad: true });
    p.grad = tensor([2]);
    expect(() => clipGradNorm_([p], 1, -1)).toThrow(
      /clipGradNorm_: normType must be a positive number or Infinity/,
    );
    expect(() => clipGradNorm_([p], NaN)).toThrow(/clipGradNorm_: maxNorm must be a number/);
    expect(() => clipGradNorm_([1 as unknown as Tensor], 1)).toThrow(
      /clipGradNorm_: parameter 0 is not a Tensor/,
    );
  });

  it('scales only the given parameters even when backward gave two leaves the same gradient', () => {
    const x = tensor([1, 2, 3], { requiresGrad: true });
    const y = tensor([1, 2, 3], { requiresGrad: true });
    x.add(y).sum().backward();
    clipGradNorm_([x], 0.5);
    expect(Array.from(y.grad!.dataSync())).toEqual([1, 1, 1]);
    const norm = Math.hypot(...Array.from(x.grad!.dataSync()));
    expect(norm).toBeCloseTo(0.5, 5);
  });
});

describe('clipGradValue_ matches torch.nn.utils.clip_grad_value_', () => {
  for (const c of fixture.clipping.filter((x) => x.kind === 'value')) {
    it(`clipValue ${c.clipValue}`, () => {
      const params = paramsWithGrads(c.grads);
      clipGradValue_(params, c.clipValue!);
      c.clipped.forEach((g, i) =>
        expectMatches(params[i].grad!, g, `clipped grad ${i}`, { atol: 0, rtol: 0 }),
      );
      // The fixture really clips something.
      expect(c.grads.some((g, i) => g.data.some((v, j) => v !== c.clipped[i].data[j]))).toBe(true);
    });
  }
  it('validates clipValue', () => {
    expect(() => clipGradValue_([], -1)).toThrow(
      /clipGradValue_: clipValue must be a non-negative number/,
    );
  });
});

describe('l1Penalty / l2Penalty', () => {
  it('sum |p| and p² over all parameters, differentiably', () => {
    const a = tensor(
      [
        [1, -2],
        [0.5, 0],
      ],
      { requiresGrad: true },
    );
    const b = tensor([-3], { requiresGrad: true });
    const l1 = l1Penalty([a, b]);
    expect(l1.itemSync()).toBeCloseTo(6.5, 6);
    l1.backward();
    expect(a.grad!.arraySync()).toEqual([
      [1, -1],
      [1, 0],
    ]);
    expect(b.grad!.arraySync()).toEqual([-1]);
    a.grad = null;
    b.grad = null;
    const l2 = l2Penalty([a, b]);
    expect(l2.itemSync()).toBeCloseTo(1 + 4 + 0.25 + 9, 6);
    l2.backward();
    expect(a.grad!.arraySync()).toEqual([
      [2, -4],
      [1, 0],
    ]);
    expect(b.grad!.arraySync()).toEqual([-6]);
  });

  it('accept a single tensor, give 0 for none, and validate', () => {
    expect(l2Penalty(tensor([3, 4])).itemSync()).toBe(25);
    expect(l1Penalty([]).itemSync()).toBe(0);
    expect(() => l1Penalty([tensor([1], { dtype: 'int32' })])).toThrow(
      /l1Penalty: parameter 0 has dtype int32/,
    );
    expect(() => l2Penalty(5 as unknown as Tensor)).toThrow(
      /l2Penalty: parameters must be a Tensor or an iterable of Tensors/,
    );
  });
});
