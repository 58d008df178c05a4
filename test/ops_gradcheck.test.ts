/**
 * First derivatives (gradcheck) of every differentiable core op, and second derivatives
 * (gradgradcheck) of every op that is twice differentiable, in float64 on the CPU backend.
 * Inputs are drawn away from kinks (|x|, relu, max, clamp bounds) so finite differences are valid.
 */
import { describe, expect, it } from 'vitest';
import {
  Generator,
  randn,
  rand,
  tensor,
  cat,
  stack,
  einsum,
  where,
  pad,
  pow,
  gradcheck,
  gradgradcheck,
  type Tensor,
} from '../src/index.js';

const gen = new Generator(7);
const opts = (requiresGrad = true) => ({ dtype: 'float64' as const, requiresGrad, generator: gen });
/** Standard normal inputs. */
const r = (...shape: number[]) => randn(shape, opts());
/** Positive inputs in [0.5, 2). */
const p = (...shape: number[]) => rand(shape, opts(false)).mul(1.5).add(0.5).requiresGrad_();
/** Inputs at least 0.2 away from 0 (for kinks at zero). */
const away = (...shape: number[]) => {
  const x = randn(shape, opts(false));
  return x.add(x.sign().mul(0.2)).requiresGrad_();
};
const f64 = (values: number[], shape?: number[]) =>
  tensor(values, { dtype: 'float64', shape, requiresGrad: true });
const idx = (values: number[], shape?: number[]) => tensor(values, { dtype: 'int32', shape });
const mask = (values: boolean[], shape?: number[]) => tensor(values, { dtype: 'bool', shape });

interface Check {
  name: string;
  fn: (...xs: Tensor[]) => Tensor | Tensor[];
  inputs: () => Tensor[];
  /** false for piecewise-constant ops: their second derivative is not checked. */
  twice?: boolean;
}

const checks: Check[] = [
  // ---- unary ----
  { name: 'neg', fn: (x) => x.neg(), inputs: () => [r(2, 3)] },
  { name: 'exp', fn: (x) => x.exp(), inputs: () => [r(2, 3)] },
  { name: 'log', fn: (x) => x.log(), inputs: () => [p(2, 3)] },
  { name: 'log1p', fn: (x) => x.log1p(), inputs: () => [p(2, 3)] },
  { name: 'expm1', fn: (x) => x.expm1(), inputs: () => [r(2, 3)] },
  { name: 'sqrt', fn: (x) => x.sqrt(), inputs: () => [p(2, 3)] },
  { name: 'rsqrt', fn: (x) => x.rsqrt(), inputs: () => [p(2, 3)] },
  { name: 'square', fn: (x) => x.square(), inputs: () => [r(2, 3)] },
  { name: 'abs', fn: (x) => x.abs(), inputs: () => [away(2, 3)] },
  { name: 'sign', fn: (x) => x.sign(), inputs: () => [away(2, 3)], twice: false },
  { name: 'reciprocal', fn: (x) => x.reciprocal(), inputs: () => [away(2, 3)] },
  { name: 'sin', fn: (x) => x.sin(), inputs: () => [r(2, 3)] },
  { name: 'cos', fn: (x) => x.cos(), inputs: () => [r(2, 3)] },
  { name: 'tan', fn: (x) => x.tan(), inputs: () => [f64([-1.1, -0.4, 0.1, 0.9])] },
  { name: 'tanh', fn: (x) => x.tanh(), inputs: () => [r(2, 3)] },
  { name: 'sigmoid', fn: (x) => x.sigmoid(), inputs: () => [r(2, 3)] },
  { name: 'relu', fn: (x) => x.relu(), inputs: () => [away(2, 3)] },
  { name: 'erf', fn: (x) => x.erf(), inputs: () => [r(2, 3)] },
  {
    name: 'floor',
    fn: (x) => x.floor(),
    inputs: () => [f64([0.3, 1.4, -0.6, -2.2])],
    twice: false,
  },
  { name: 'ceil', fn: (x) => x.ceil(), inputs: () => [f64([0.3, 1.4, -0.6, -2.2])], twice: false },
  {
    name: 'round',
    fn: (x) => x.round(),
    inputs: () => [f64([0.3, 1.2, -0.6, -2.3])],
    twice: false,
  },
  { name: 'unary 0-d', fn: (x) => x.exp().sin(), inputs: () => [r()] },

  // ---- binary ----
  { name: 'add broadcast', fn: (a, b) => a.add(b), inputs: () => [r(3, 1), r(2)] },
  { name: 'add alpha', fn: (a, b) => a.add(b, 2.5), inputs: () => [r(2, 3), r(3)] },
  { name: 'sub alpha', fn: (a, b) => a.sub(b, -1.5), inputs: () => [r(2, 1), r(2, 3)] },
  { name: 'mul broadcast', fn: (a, b) => a.mul(b), inputs: () => [r(2, 3), r(2, 1)] },
  { name: 'mul 0-d', fn: (a, b) => a.mul(b), inputs: () => [r(), r(3)] },
  { name: 'div', fn: (a, b) => a.div(b), inputs: () => [r(2, 3), away(3)] },
  { name: 'pow tensor', fn: (a, b) => a.pow(b), inputs: () => [p(2, 3), r(2, 3)] },
  {
    name: 'pow negative base, integer exponent',
    fn: (a) => a.pow(3),
    inputs: () => [f64([-2, -0.5, 1.5])],
  },
  { name: 'pow scalar 2', fn: (a) => a.pow(2), inputs: () => [r(2, 3)] },
  { name: 'pow scalar 0.5', fn: (a) => a.pow(0.5), inputs: () => [p(2, 3)] },
  { name: 'pow scalar -1', fn: (a) => a.pow(-1), inputs: () => [away(2, 3)] },
  { name: 'pow scalar 0', fn: (a) => a.pow(0), inputs: () => [r(2, 3)] },
  { name: 'pow scalar base', fn: (a) => pow(2.5, a), inputs: () => [r(2, 3)] },
  { name: 'rpow (number ** tensor)', fn: (a) => a.mul(0).add(1.7).pow(a), inputs: () => [r(3)] },
  {
    name: 'maximum',
    fn: (a, b) => a.maximum(b),
    inputs: () => [f64([0.1, 2, -1, 3.5, -0.3, 0.9]), f64([1.3, 0.4, -2.2, 1.1, 0.7, -0.5])],
  },
  {
    name: 'minimum broadcast',
    fn: (a, b) => a.minimum(b),
    inputs: () => [f64([0.1, 2, -1, 3.5, -0.3, 0.9], [2, 3]), f64([1.3, 0.4, -2.2])],
  },
  { name: 'atan2', fn: (a, b) => a.atan2(b), inputs: () => [r(2, 3), away(2, 3)] },
  {
    name: 'where',
    fn: (a, b) => where(mask([true, false, true]), a, b),
    inputs: () => [r(2, 3), r(2, 1)],
  },
  {
    name: 'where scalar',
    fn: (a) => where(mask([true, false, true]), a, 1.5),
    inputs: () => [r(2, 3)],
  },
  {
    name: 'clamp numbers',
    fn: (x) => x.clamp(-0.5, 0.5),
    inputs: () => [f64([-1.2, -0.3, 0.1, 0.45, 0.9, 2])],
  },
  {
    name: 'clamp min only',
    fn: (x) => x.clamp(0.2),
    inputs: () => [f64([-1.2, -0.3, 0.1, 0.45, 0.9, 2])],
  },
  {
    name: 'clamp tensors',
    fn: (x, lo, hi) => x.clamp(lo, hi),
    inputs: () => [
      f64([-1.2, -0.3, 0.1, 0.45, 0.9, 2], [2, 3]),
      f64([-0.5, 0.2, -1]),
      f64([0.6, 1.5], [2, 1]),
    ],
  },
  { name: 'to float64', fn: (x) => x.to('float64').mul(x), inputs: () => [r(3)] },

  // ---- reductions ----
  { name: 'sum all', fn: (x) => x.sum(), inputs: () => [r(2, 3)] },
  { name: 'sum dims keepdim', fn: (x) => x.sum([0, 2], true), inputs: () => [r(2, 3, 2)] },
  { name: 'mean dim', fn: (x) => x.mean(1), inputs: () => [r(2, 3)] },
  { name: 'mean all', fn: (x) => x.mean(), inputs: () => [r(2, 3)] },
  { name: 'prod all', fn: (x) => x.prod(), inputs: () => [r(2, 3)] },
  { name: 'prod dim keepdim', fn: (x) => x.prod(1, true), inputs: () => [r(2, 3)] },
  {
    name: 'prod with one zero',
    fn: (x) => x.prod(1),
    inputs: () => [f64([1.5, 0, -2, 0.7, 1.2, 0.4], [2, 3])],
  },
  {
    name: 'prod with two zeros',
    fn: (x) => x.prod(1),
    inputs: () => [f64([0, 0, -2, 0.5, 0, 0, 1.5, 0.3], [2, 4])],
  },
  {
    name: 'prod all with one zero',
    fn: (x) => x.prod(),
    inputs: () => [f64([1.5, 0, -2, 0.7], [2, 2])],
  },
  { name: 'var', fn: (x) => x.var(1), inputs: () => [r(2, 4)] },
  {
    name: 'var all unbiased=false',
    fn: (x) => x.var(undefined, false, { unbiased: false }),
    inputs: () => [r(2, 3)],
  },
  {
    name: 'var correction 2 keepdim',
    fn: (x) => x.var([0, 1], true, { correction: 2 }),
    inputs: () => [r(2, 3)],
  },
  { name: 'std', fn: (x) => x.std(0), inputs: () => [r(3, 2)] },
  {
    name: 'std correction 0',
    fn: (x) => x.std(1, true, { correction: 0 }),
    inputs: () => [r(2, 3)],
  },
  { name: 'max all', fn: (x) => x.max(), inputs: () => [r(2, 3)] },
  { name: 'min all', fn: (x) => x.min(), inputs: () => [r(2, 3)] },
  { name: 'max dim values', fn: (x) => x.max(1).values, inputs: () => [r(3, 4)] },
  { name: 'min dim keepdim values', fn: (x) => x.min(0, true).values, inputs: () => [r(3, 4)] },
  { name: 'amax dims', fn: (x) => x.amax([0, 2]), inputs: () => [r(2, 3, 2)] },
  { name: 'amin dim', fn: (x) => x.amin(1, true), inputs: () => [r(3, 4)] },
  { name: 'logsumexp', fn: (x) => x.logsumexp(1), inputs: () => [r(2, 4)] },
  { name: 'logsumexp dims keepdim', fn: (x) => x.logsumexp([0, 1], true), inputs: () => [r(2, 3)] },
  { name: 'norm 2', fn: (x) => x.norm(), inputs: () => [r(2, 3)] },
  { name: 'norm fro dim', fn: (x) => x.norm('fro', 1), inputs: () => [r(2, 3)] },
  { name: 'norm 1', fn: (x) => x.norm(1, 0), inputs: () => [away(2, 3)] },
  { name: 'norm 3 keepdim', fn: (x) => x.norm(3, 1, true), inputs: () => [away(2, 3)] },
  { name: 'norm inf', fn: (x) => x.norm(Infinity, 1), inputs: () => [away(2, 3)] },
  { name: 'norm 0.5', fn: (x) => x.norm(0.5), inputs: () => [away(2, 2)] },
  { name: 'cumsum', fn: (x) => x.cumsum(1), inputs: () => [r(2, 3)] },
  { name: 'cumsum dim 0', fn: (x) => x.cumsum(0), inputs: () => [r(3, 2)] },

  // ---- linalg ----
  { name: 'matmul 1-D·1-D', fn: (a, b) => a.matmul(b), inputs: () => [r(3), r(3)] },
  { name: 'matmul 1-D·2-D', fn: (a, b) => a.matmul(b), inputs: () => [r(3), r(3, 2)] },
  { name: 'matmul 2-D·1-D', fn: (a, b) => a.matmul(b), inputs: () => [r(2, 3), r(3)] },
  { name: 'matmul 2-D', fn: (a, b) => a.matmul(b), inputs: () => [r(2, 3), r(3, 2)] },
  { name: 'matmul batched', fn: (a, b) => a.matmul(b), inputs: () => [r(2, 2, 3), r(2, 3, 2)] },
  {
    name: 'matmul broadcast batch',
    fn: (a, b) => a.matmul(b),
    inputs: () => [r(2, 1, 2, 2), r(2, 2, 2)],
  },
  { name: 'mm', fn: (a, b) => a.mm(b), inputs: () => [r(2, 3), r(3, 2)] },
  { name: 'bmm', fn: (a, b) => a.bmm(b), inputs: () => [r(2, 2, 2), r(2, 2, 3)] },
  { name: 'outer', fn: (a, b) => a.outer(b), inputs: () => [r(3), r(2)] },
  { name: 'dot', fn: (a, b) => a.dot(b), inputs: () => [r(4), r(4)] },
  {
    name: 'einsum matmul',
    fn: (a, b) => einsum('ij,jk->ik', a, b),
    inputs: () => [r(2, 3), r(3, 2)],
  },
  {
    name: 'einsum batched',
    fn: (a, b) => einsum('bij,bjk->bik', a, b),
    inputs: () => [r(2, 2, 2), r(2, 2, 2)],
  },
  { name: 'einsum trace', fn: (a) => einsum('ii', a), inputs: () => [r(3, 3)] },
  { name: 'einsum diagonal', fn: (a) => einsum('ii->i', a), inputs: () => [r(3, 3)] },
  { name: 'einsum outer', fn: (a, b) => einsum('i,j->ij', a, b), inputs: () => [r(3), r(2)] },
  { name: 'einsum transpose', fn: (a) => einsum('ij->ji', a), inputs: () => [r(2, 3)] },
  {
    name: 'einsum ellipsis transpose',
    fn: (a) => einsum('...ij->...ji', a),
    inputs: () => [r(2, 2, 3)],
  },
  { name: 'einsum sum', fn: (a) => einsum('ij->', a), inputs: () => [r(2, 3)] },
  {
    name: 'einsum implicit',
    fn: (a, b) => einsum('ij,jk', a, b),
    inputs: () => [r(2, 2), r(2, 3)],
  },
  {
    name: 'einsum three operands',
    fn: (a, b, c) => einsum('i,ij,j->', a, b, c),
    inputs: () => [r(2), r(2, 3), r(3)],
  },

  // ---- shape ----
  { name: 'reshape', fn: (x) => x.reshape(3, -1), inputs: () => [r(2, 3)] },
  { name: 'reshape of transposed (copy)', fn: (x) => x.t().reshape(-1), inputs: () => [r(2, 3)] },
  { name: 'view', fn: (x) => x.view(6), inputs: () => [r(2, 3)] },
  { name: 'flatten', fn: (x) => x.flatten(1), inputs: () => [r(2, 2, 2)] },
  { name: 'unflatten', fn: (x) => x.unflatten(1, [2, 2]), inputs: () => [r(2, 4)] },
  { name: 'squeeze', fn: (x) => x.squeeze(), inputs: () => [r(1, 3, 1)] },
  { name: 'unsqueeze', fn: (x) => x.unsqueeze(1), inputs: () => [r(2, 3)] },
  { name: 'transpose', fn: (x) => x.transpose(0, 2), inputs: () => [r(2, 3, 2)] },
  { name: 'permute', fn: (x) => x.permute(2, 0, 1), inputs: () => [r(2, 3, 2)] },
  { name: 't', fn: (x) => x.t(), inputs: () => [r(2, 3)] },
  { name: '.T', fn: (x) => x.T, inputs: () => [r(2, 1, 3)] },
  { name: '.mT', fn: (x) => x.mT, inputs: () => [r(2, 2, 3)] },
  { name: 'expand', fn: (x) => x.expand(2, 3, 2), inputs: () => [r(3, 1)] },
  {
    name: 'expandAs',
    fn: (x, y) => x.expandAs(y),
    inputs: () => [r(1, 3), randn([2, 3], opts(false))],
  },
  { name: 'repeat', fn: (x) => x.repeat(2, 1, 2), inputs: () => [r(2, 2)] },
  { name: 'tile', fn: (x) => x.tile(2), inputs: () => [r(2, 2)] },
  { name: 'cat', fn: (a, b) => cat([a, b, a], 1), inputs: () => [r(2, 1), r(2, 2)] },
  { name: 'stack', fn: (a, b) => stack([a, b], 1), inputs: () => [r(2, 2), r(2, 2)] },
  { name: 'split', fn: (x) => x.split(2, 1), inputs: () => [r(2, 5)] },
  { name: 'split sizes', fn: (x) => x.split([1, 2], 0), inputs: () => [r(3, 2)] },
  { name: 'chunk', fn: (x) => x.chunk(2, 0), inputs: () => [r(3, 2)] },
  { name: 'narrow', fn: (x) => x.narrow(1, 1, 2), inputs: () => [r(2, 4)] },
  { name: 'select', fn: (x) => x.select(0, -1), inputs: () => [r(3, 2)] },
  { name: 'slice', fn: (x) => x.slice(1, 1, undefined, 2), inputs: () => [r(2, 5)] },
  { name: 'index', fn: (x) => x.index(0, '1:', null, '::2'), inputs: () => [r(2, 3, 4)] },
  { name: 'index ellipsis', fn: (x) => x.index('...', -1), inputs: () => [r(2, 2, 3)] },
  { name: 'flip', fn: (x) => x.flip(0, 1), inputs: () => [r(2, 3)] },
  { name: 'roll', fn: (x) => x.roll([1, -1], [0, 1]), inputs: () => [r(2, 3)] },
  { name: 'roll flat', fn: (x) => x.roll(2), inputs: () => [r(2, 3)] },
  { name: 'pad', fn: (x) => pad(x, [1, 2, 0, 1], 'constant', 0.5), inputs: () => [r(2, 2)] },
  { name: 'pad negative (crop)', fn: (x) => pad(x, [-1, 1, 1, -1]), inputs: () => [r(3, 3)] },
  { name: 'tril', fn: (x) => x.tril(), inputs: () => [r(3, 3)] },
  { name: 'triu offset', fn: (x) => x.triu(1), inputs: () => [r(3, 4)] },
  { name: 'diagonal', fn: (x) => x.diagonal(), inputs: () => [r(3, 3)] },
  { name: 'diagonal offset dims', fn: (x) => x.diagonal(-1, 2, 1), inputs: () => [r(2, 3, 3)] },
  { name: 'indexSelect', fn: (x) => x.indexSelect(0, idx([2, 0, 2])), inputs: () => [r(3, 2)] },
  { name: 'gather', fn: (x) => x.gather(1, idx([0, 2, 1, 1], [2, 2])), inputs: () => [r(2, 3)] },
  {
    name: 'scatter',
    fn: (x, s) => x.scatter(1, idx([0, 2, 1, 0], [2, 2]), s),
    inputs: () => [r(2, 3), r(2, 2)],
  },
  {
    name: 'scatter with src larger than index',
    fn: (x, s) => x.scatter(0, idx([1, 0], [1, 2]), s),
    inputs: () => [r(2, 3), r(2, 3)],
  },
  {
    name: 'scatterAdd with src larger than index',
    fn: (x, s) => x.scatterAdd(1, idx([2, 2, 0, 1], [2, 2]), s),
    inputs: () => [r(2, 3), r(3, 3)],
  },
  {
    name: 'scatter value',
    fn: (x) => x.scatter(0, idx([1, 0, 1], [1, 3]), 2.5),
    inputs: () => [r(2, 3)],
  },
  {
    name: 'scatterAdd',
    fn: (x, s) => x.scatterAdd(1, idx([0, 0, 1, 2], [2, 2]), s),
    inputs: () => [r(2, 3), r(2, 2)],
  },
  {
    name: 'maskedFill',
    fn: (x) => x.maskedFill(mask([true, false, true]), -1),
    inputs: () => [r(2, 3)],
  },
  {
    name: 'maskedFill tensor value',
    fn: (x, v) => x.maskedFill(mask([false, true, true]), v),
    inputs: () => [r(2, 3), r()],
  },
  { name: 'contiguous', fn: (x) => x.t().contiguous(), inputs: () => [r(2, 3)] },
  { name: 'clone', fn: (x) => x.clone(), inputs: () => [r(2, 3)] },
];

describe('gradcheck', () => {
  for (const c of checks) {
    it(c.name, () => {
      expect(gradcheck(c.fn, c.inputs())).toBe(true);
    });
  }
});

describe('gradgradcheck', () => {
  for (const c of checks.filter((c) => c.twice !== false)) {
    it(c.name, () => {
      expect(gradgradcheck(c.fn, c.inputs())).toBe(true);
    });
  }
});

describe('gradcheck catches wrong derivatives', () => {
  it('rejects a backward that disagrees with the values', () => {
    const x = r(3);
    // Values are x², but the detached factor hides half of the derivative from autograd.
    expect(gradcheck((a) => a.detach().mul(a), [x], { raiseException: false })).toBe(false);
    expect(() => gradcheck((a) => a.detach().mul(a), [x])).toThrow(/Jacobian mismatch/);
    // Same values as x², but the analytical derivative is 3x.
    const wrong = (a: Tensor) => a.mul(a).sub(a.detach().mul(a.detach())).add(a.detach().mul(a));
    expect(gradcheck(wrong, [x], { raiseException: false })).toBe(false);
    // Correct first derivative (2x) whose graph is cut: the second derivative comes out 0, not 2.
    const cutSecond = (a: Tensor) => a.detach().mul(a).mul(2).sub(a.detach().square());
    expect(gradcheck(cutSecond, [x])).toBe(true);
    expect(gradgradcheck(cutSecond, [x], { raiseException: false })).toBe(false);
  });
});
