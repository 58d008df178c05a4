/**
 * split / chunk with one backward node for all pieces: the pieces' gradients land side by side in
 * one input gradient (zeros where no gradient came), through repeated passes, hooks, captures
 * and createGraph; compared with the same gradients written out by hand.
 */
import { describe, expect, it } from 'vitest';
import {
  autograd,
  cat,
  Generator,
  gradcheck,
  gradgradcheck,
  optim,
  randn,
  type Tensor,
} from '../src/index.js';
import { expectAllClose } from './helpers/close.js';

const gen = new Generator(11);
const f64 = (...shape: number[]) =>
  randn(shape, { dtype: 'float64', generator: gen, requiresGrad: true });
const cot = (...shape: number[]) => randn(shape, { dtype: 'float64', generator: gen });

describe('split backward', () => {
  it('is one node: every piece passes its gradient to the same node of the whole', () => {
    const x = f64(4, 6);
    const pieces = x.split([1, 2, 3], 1);
    const joint = pieces[0].gradFn!.inputs[0];
    expect(pieces.map((p) => p.gradFn!.name)).toEqual(Array(3).fill('SplitBackward'));
    expect(pieces.every((p) => p.gradFn!.inputs[0] === joint)).toBe(true);
    expect(joint?.inputs[0]).toBe(x.gradNode());
  });

  it('writes each piece’s gradient into its window and zeros where none came', () => {
    const x = f64(3, 7);
    const [a, , c] = x.split([2, 4, 1], 1);
    const ga = cot(3, 2);
    const gc = cot(3, 1);
    a.mul(ga).sum().add(c.mul(gc).sum()).backward();
    const expected = cat([ga, randn([3, 4], { dtype: 'float64' }).mul(0), gc], 1);
    expectAllClose(x.grad!, expected, { rtol: 0, atol: 0 });
  });

  it('leaves zeros, not stale memory, where no gradient came (float32 storage is reused)', () => {
    const x = randn([64, 96], { generator: gen, requiresGrad: true });
    const opt = new optim.SGD([x], { lr: 0.1 });
    for (let i = 0; i < 3; i++) {
      // Gradients of x's size with no zeros, given back to the backend for reuse.
      x.mul(3).sin().mul(x).sum().backward();
      opt.zeroGrad();
      x.chunk(3, 1)[1].sum().backward();
      const grad = x.peekGrad()!.dataSync();
      const right = grad.filter((v, j) => v === (j % 96 >= 32 && j % 96 < 64 ? 1 : 0));
      expect(right.length).toBe(grad.length);
      opt.zeroGrad();
    }
  });

  it('adds to the gradient from other uses of the input, and piece used twice sums', () => {
    const x = f64(6, 2);
    const [a, b] = x.chunk(2, 0);
    const g = cot(6, 2);
    const ga = cot(3, 2);
    x.mul(g).sum().add(a.mul(ga).sum()).add(a.sum()).add(b.mul(2).sum()).backward();
    const expected = g.add(cat([ga.add(1), ga.mul(0).add(2)], 0));
    expectAllClose(x.grad!, expected, { rtol: 1e-12 });
  });

  it('starts afresh in each pass: retainGraph, a capture of a piece, then a full pass', () => {
    const x = f64(2, 6);
    const [a, b, c] = x.chunk(3, 1);
    const y = a.mul(2).sum().add(b.mul(3).sum()).add(c.square().sum());
    const [ga] = autograd.grad([y], [a], { retainGraph: true });
    expectAllClose(ga!, a.detach().mul(0).add(2), { rtol: 0, atol: 0 });
    y.backward(undefined, { retainGraph: true });
    y.backward();
    const once = cat([a.detach().mul(0).add(2), b.detach().mul(0).add(3), c.detach().mul(2)], 1);
    expectAllClose(x.grad!, once.mul(2), { rtol: 1e-12 });
  });

  it('lets a later backward reach pieces an earlier one did not use (as PyTorch)', () => {
    const x = f64(4);
    const [a, b] = x.chunk(2);
    a.sum().backward();
    b.mul(2).sum().backward();
    expect(Array.from(x.grad!.dataSync())).toEqual([1, 1, 2, 2]);
  });

  it('runs hooks on the pieces’ gradients', () => {
    const x = f64(4);
    const [a, b] = x.split(2);
    a.registerHook((g) => g.mul(10));
    a.sum().add(b.sum()).backward();
    expect(Array.from(x.grad!.dataSync())).toEqual([10, 10, 1, 1]);
  });

  it('gradcheck and gradgradcheck in float64 (pieces used, unused and nonlinear)', () => {
    const fn = (x: Tensor) => {
      const [a, , c] = x.split([2, 1, 2], 1);
      return a.mul(c).sin();
    };
    expect(gradcheck(fn, [f64(3, 5)])).toBe(true);
    expect(gradgradcheck(fn, [f64(3, 5)])).toBe(true);
  });
});
