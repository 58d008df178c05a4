/**
 * Finite-difference checks in float64 of backpropagation through time and attention: cells
 * unrolled over several steps (gradients of the inputs, the initial state and every weight),
 * whole RNN layers with a padded batch, scaled dot-product attention and multi-head attention
 * with masks; and second derivatives of an LSTM cell (gradgradcheck).
 */
import { describe, expect, it } from 'vitest';
import {
  autograd,
  F,
  Generator,
  gradcheck,
  gradgradcheck,
  nn,
  randn,
  type Tensor,
} from '../src/index.js';
import { composedSequence, recurrentSequence } from '../src/autograd/ops/rnn_sequence.js';
import { expectAllClose } from './helpers/close.js';

const gen = new Generator(7);
const r = (shape: number[]) =>
  randn(shape, { dtype: 'float64', generator: gen }).requiresGrad_(true);

function unroll(steps: number, step: (x: Tensor, s: Tensor[]) => Tensor[]) {
  return (xs: Tensor, ...state: Tensor[]): Tensor[] => {
    let s = state;
    const outs: Tensor[] = [];
    for (let t = 0; t < steps; t++) {
      s = step(xs.select(0, t), s);
      outs.push(s[0]);
    }
    return [...outs, ...s.slice(1)];
  };
}

describe('gradcheck of unrolled recurrent cells (float64)', () => {
  it('LSTMCell over 3 steps: input, [h0, c0] and every parameter', () => {
    const cell = new nn.LSTMCell(2, 2).double();
    const fn = unroll(3, (x, [h, c]) => cell.call(x, [h, c]));
    expect(
      gradcheck(
        (x, h, c) => fn(x, h, c),
        [r([3, 1, 2]), r([1, 2]), r([1, 2]), ...cell.parameters()],
      ),
    ).toBe(true);
  });

  it('GRUCell over 3 steps', () => {
    const cell = new nn.GRUCell(2, 2).double();
    const fn = unroll(3, (x, [h]) => [cell.call(x, h)]);
    expect(gradcheck((x, h) => fn(x, h), [r([3, 2, 2]), r([2, 2]), ...cell.parameters()])).toBe(
      true,
    );
  });

  it('RNNCell (tanh) over 4 steps', () => {
    const cell = new nn.RNNCell(2, 3).double();
    const fn = unroll(4, (x, [h]) => [cell.call(x, h)]);
    expect(gradcheck((x, h) => fn(x, h), [r([4, 2, 2]), r([2, 3]), ...cell.parameters()])).toBe(
      true,
    );
  });

  it('bidirectional 2-layer GRU on a padded batch (lengths)', () => {
    const gru = new nn.GRU(1, 1, { numLayers: 2, bidirectional: true }).double();
    const fn = (x: Tensor, h0: Tensor) => gru.call(x, h0, { lengths: [3, 1] });
    expect(gradcheck(fn, [r([3, 2, 1]), r([4, 2, 1]), ...gru.parameters()])).toBe(true);
  });

  it('batch-first LSTM layer with a given state', () => {
    const lstm = new nn.LSTM(2, 2, { batchFirst: true }).double();
    const fn = (x: Tensor, h0: Tensor, c0: Tensor) => lstm.call(x, [h0, c0]).flat(2);
    expect(gradcheck(fn, [r([2, 3, 2]), r([1, 2, 2]), r([1, 2, 2]), ...lstm.parameters()])).toBe(
      true,
    );
  });
});

describe('gradcheck of attention (float64)', () => {
  it('scaledDotProductAttention with a float mask, a causal mask and a custom scale', () => {
    const mask = randn([3, 4], { dtype: 'float64', generator: gen });
    expect(
      gradcheck(
        (q, k, v) => F.scaledDotProductAttention(q, k, v, { attnMask: mask, scale: 0.7 }),
        [r([2, 3, 2]), r([2, 4, 2]), r([2, 4, 3])],
      ),
    ).toBe(true);
    expect(
      gradcheck(
        (q, k, v) => F.scaledDotProductAttention(q, k, v, { isCausal: true }),
        [r([2, 3, 2]), r([2, 3, 2]), r([2, 3, 2])],
      ),
    ).toBe(true);
  });

  it('MultiheadAttention with a causal mask and a key padding mask: inputs and parameters', () => {
    const mha = new nn.MultiheadAttention(4, 2, { batchFirst: true }).double();
    const padding = nn.Transformer.generateSquareSubsequentMask(3).isinf().narrow(0, 0, 2);
    const fn = (q: Tensor, kv: Tensor) =>
      mha.call(q, kv, kv, { isCausal: true, keyPaddingMask: padding }) as Tensor[];
    expect(gradcheck(fn, [r([2, 3, 4]), r([2, 3, 4]), ...mha.parameters()])).toBe(true);
  });
});

describe('second derivatives', () => {
  it('gradgradcheck of an LSTM cell step (input, state and weights)', () => {
    const cell = new nn.LSTMCell(2, 2).double();
    const [wIh, wHh, bIh, bHh] = cell.parameters();
    expect(
      gradgradcheck(
        (x, h, c) => cell.call(x, [h, c]),
        [r([2, 2]), r([2, 2]), r([2, 2]), wIh, wHh, bIh, bHh],
      ),
    ).toBe(true);
  });
});

describe('the fused recurrent pass (autograd/ops/rnn_sequence.ts)', () => {
  const modes = ['LSTM', 'GRU', 'RNN_TANH', 'RNN_RELU'] as const;
  for (const mode of modes) {
    it(`${mode}: the kernels give the composed ops' values and gradients (both directions, lengths)`, () => {
      const g = mode === 'LSTM' ? 4 : mode === 'GRU' ? 3 : 1;
      for (const reverse of [false, true]) {
        const inputs = {
          mode,
          proj: r([4, 3, g * 2]),
          h0: r([3, 2]),
          c0: mode === 'LSTM' ? r([3, 2]) : null,
          weightHh: r([g * 2, 2]),
          biasHh: r([g * 2]),
          reverse,
          lengths: [4, 1, 3],
        };
        const leaves = [inputs.proj, inputs.h0, inputs.c0, inputs.weightHh, inputs.biasHh].filter(
          (t): t is Tensor => t !== null,
        );
        const cot = randn([4, 3, mode === 'LSTM' ? 4 : 2], { dtype: 'float64', generator: gen });
        const fused = recurrentSequence(inputs);
        const gf = autograd.grad(fused.mul(cot).sum(), leaves);
        const composed = composedSequence(inputs);
        const gc = autograd.grad(composed.mul(cot).sum(), leaves);
        expectAllClose(fused, composed, { rtol: 1e-12, atol: 1e-14 });
        gf.forEach((a, i) =>
          expectAllClose(a!, gc[i]!, { rtol: 1e-10, atol: 1e-12, message: `grad ${i}` }),
        );
      }
    });
  }

  it('gradgradcheck through an LSTM layer (the fused pass differentiates its recomputation)', () => {
    const lstm = new nn.LSTM(1, 1).double();
    expect(
      gradgradcheck((x: Tensor) => lstm.call(x)[0], [r([3, 1, 1]), ...lstm.parameters()]),
    ).toBe(true);
  });
});
