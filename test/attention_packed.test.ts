/**
 * MultiheadAttention's self-attention input projection as one linear of in_proj_weight (rows
 * taken head by head) and split: the same outputs, weights and gradients as three linears (the
 * path a query that is not the key takes), gradcheck in float64, and one gradient node for q, k, v.
 */
import { describe, expect, it } from 'vitest';
import { Generator, gradcheck, nn, randn, type Tensor } from '../src/index.js';
import { expectAllClose } from './helpers/close.js';

describe('MultiheadAttention self-attention (packed in-projection)', () => {
  it('matches the three-projection path: output, weights, input and parameter gradients', () => {
    const gen = new Generator(3);
    for (const batchFirst of [false, true]) {
      const mha = new nn.MultiheadAttention(12, 3, { batchFirst, generator: gen }).double();
      const f64 = { dtype: 'float64' as const, generator: gen };
      // Random biases too (PyTorch's init zeroes them), so their layout is checked.
      for (const p of mha.parameters()) p.detach().copy_(randn(p.shape, f64).mul(0.5));
      const x0 = randn([5, 4, 12], f64);
      const g = randn([5, 4, 12], f64);
      const run = (packed: boolean) => {
        mha.zeroGrad();
        const x = x0.clone().requiresGrad_(true);
        // A clone as key and value is another tensor: MultiheadAttention projects it separately.
        const kv = packed ? x : x.mul(1);
        const [out, w] = mha.call(x, kv, kv, { isCausal: true, averageAttnWeights: false });
        out.backward(g);
        return [out.detach(), w!.detach(), x.grad!, ...mha.parameters().map((p) => p.grad!)];
      };
      const packed = run(true);
      const separate = run(false);
      packed.forEach((t, i) =>
        expectAllClose(t, separate[i], { rtol: 1e-10, atol: 1e-12, message: `[${i}]` }),
      );
    }
  });

  it('takes q, k and v from one projection whose gradient one split node assembles', () => {
    const mha = new nn.MultiheadAttention(8, 2);
    const x = randn([3, 2, 8], { requiresGrad: true });
    const [out] = mha.call(x, x, x, { needWeights: false });
    // Walk back from the output: one node (the packed linear) reads x, through one split node.
    const names: string[] = [];
    let readers = 0;
    const seen = new Set<unknown>();
    const stack = [out.gradFn!];
    while (stack.length > 0) {
      const node = stack.pop()!;
      if (seen.has(node)) continue;
      seen.add(node);
      names.push(node.name);
      if (node.inputs.includes(x.gradNode())) readers++;
      for (const input of node.inputs) if (input) stack.push(input);
    }
    expect(readers).toBe(1);
    expect(names.filter((n) => n === 'SplitBackward').length).toBe(4); // 3 pieces + the whole
    expect(names).not.toContain('NarrowBackward');
  });

  it('gradcheck in float64: input and every parameter, causal', () => {
    const mha = new nn.MultiheadAttention(4, 2, { batchFirst: true }).double();
    const gen = new Generator(9);
    const fn = (x: Tensor) => mha.call(x, x, x, { isCausal: true }) as Tensor[];
    const x = randn([2, 3, 4], { dtype: 'float64', generator: gen, requiresGrad: true });
    expect(gradcheck(fn, [x, ...mha.parameters()])).toBe(true);
  });
});
