import { describe, expect, it } from 'vitest';
import { tensor, randn, manualSeed, gradcheck, gradgradcheck, arange, einsum, cat, F } from '../src/index.js';

describe('smoke', () => {
  it('backward of x^2', () => {
    const x = tensor([1, 2, 3], { requiresGrad: true });
    x.mul(x).sum().backward();
    expect(Array.from(x.grad!.dataSync())).toEqual([2, 4, 6]);
    expect(x.grad!.toString()).toBe('tensor([2., 4., 6.])');
  });
  it('gradcheck many', () => {
    manualSeed(0);
    const x = randn([3, 4], { dtype: 'float64', requiresGrad: true });
    const y = randn([4], { dtype: 'float64', requiresGrad: true });
    expect(gradcheck((a, b) => a.mul(b).tanh().sum(1).exp(), [x, y])).toBe(true);
    expect(gradcheck((a, b) => a.matmul(b.unsqueeze(1)).sigmoid(), [x, y])).toBe(true);
    expect(gradgradcheck((a, b) => a.matmul(b).pow(2), [x, y])).toBe(true);
    expect(gradcheck((a) => a.logsumexp(1), [x])).toBe(true);
    expect(gradcheck((a) => a.prod(1), [x])).toBe(true);
    expect(gradcheck((a) => a.norm(), [x])).toBe(true);
    expect(gradcheck((a) => a.index('1:', '::2').mul(2), [x])).toBe(true);
    expect(gradcheck((a) => a.cumsum(1), [x])).toBe(true);
    expect(gradgradcheck((a) => a.max(1).values, [x])).toBe(true);
    expect(gradcheck((a, b) => einsum('ij,j->i', a, b), [x, y])).toBe(true);
    expect(gradcheck((a) => cat([a, a.mul(2)], 1).var(0), [x])).toBe(true);
    expect(gradcheck((a) => a.erf().sum(), [x])).toBe(true);
  });
  it('prints', () => {
    console.log(arange(6).reshape(2, 3).toString(), randn([2, 2]).toString());
  });
});
