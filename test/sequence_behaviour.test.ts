/**
 * Behaviour of the sequence layers beyond PyTorch parity: clear errors for bad input, padded
 * batches that do not leak padding into the state, truncated BPTT, the stacks' independent
 * copies of a layer, dropout between recurrent layers, and a tiny problem an LSTM learns.
 */
import { describe, expect, it } from 'vitest';
import {
  F,
  Generator,
  manualSeed,
  nn,
  noGrad,
  optim,
  randn,
  zeros,
  type Tensor,
} from '../src/index.js';
import { expectAllClose } from './helpers/close.js';

describe('sequence layers reject bad input with the layer and the shapes', () => {
  it('recurrent layers: rank, feature size, state shape, lengths', () => {
    const lstm = new nn.LSTM(10, 20, { numLayers: 2 });
    expect(() => lstm.call(randn([5, 3, 2, 10]))).toThrow(
      'LSTM: expected input of shape [L, N, 10] or [L, 10] (input_size=10), got shape [5, 3, 2, 10]',
    );
    expect(() => lstm.call(randn([5, 3, 7]))).toThrow(/LSTM: .*input_size=10.*\[5, 3, 7\]/);
    expect(() => lstm.call(randn([5, 3, 10]), [zeros([1, 3, 20]), zeros([2, 3, 20])])).toThrow(
      'LSTM: expected h0 of shape [2, 3, 20] (num_layers·num_directions, batch, hidden_size), got [1, 3, 20]',
    );
    expect(() => new nn.GRU(4, 3, { batchFirst: true }).call(randn([2, 5, 3]))).toThrow(
      /GRU: expected input of shape \[N, L, 4\]/,
    );
    expect(() => new nn.GRU(4, 3).call(randn([5, 2, 4]), undefined, { lengths: [5, 6] })).toThrow(
      /GRU: lengths must hold one integer in 1…5 .* got \[5, 6\]/,
    );
    expect(() => new nn.RNN(4, 3).call(randn([5, 2, 4]).int())).toThrow(
      /RNN: expected input of a floating dtype, got int32/,
    );
    expect(() => new nn.RNN(4, 3, { nonlinearity: 'sigmoid' as 'tanh' })).toThrow(
      /nonlinearity must be 'tanh' or 'relu'/,
    );
  });

  it('cells: feature size and state shape', () => {
    expect(() => new nn.LSTMCell(4, 3).call(randn([2, 5]))).toThrow(
      'LSTMCell: expected input of shape [N, 4] or [4] (input_size=4), got shape [2, 5]',
    );
    expect(() => new nn.GRUCell(4, 3).call(randn([2, 4]), zeros([3, 3]))).toThrow(
      'GRUCell: expected hidden state h of shape [2, 3] for input of shape [2, 4], got [3, 3]',
    );
  });

  it('attention: heads, masks and shapes', () => {
    expect(() => new nn.MultiheadAttention(10, 3)).toThrow(
      'MultiheadAttention: embed_dim (10) must be divisible by num_heads (3)',
    );
    const mha = new nn.MultiheadAttention(8, 2);
    const x = randn([4, 2, 8]);
    expect(() => mha.call(x, x, x, { attnMask: zeros([4, 5]) })).toThrow(
      'MultiheadAttention: attnMask must be [L, S] = [4, 4] or [N·num_heads, L, S] = [4, 4, 4], got [4, 5]',
    );
    expect(() => mha.call(x, x, x, { attnMask: zeros([4, 4], { dtype: 'int32' }) })).toThrow(
      /MultiheadAttention: attnMask must be bool or float32 .* got int32/,
    );
    expect(() => mha.call(x, x, x, { keyPaddingMask: zeros([4, 2], { dtype: 'bool' }) })).toThrow(
      'MultiheadAttention: keyPaddingMask must be [2, 4] ([N, S]), got [4, 2]',
    );
    expect(() => mha.call(randn([4, 2, 6]), x, x)).toThrow(
      'MultiheadAttention: expected query of shape [L, N, 8], got [4, 2, 6]',
    );
    const q = randn([2, 3, 4]);
    expect(() => F.scaledDotProductAttention(q, q, q, { attnMask: zeros([3, 5]) })).toThrow(
      /scaledDotProductAttention: attnMask of shape \[3, 5\] does not broadcast to .* \[2, 3, 3\]/,
    );
    expect(() => F.scaledDotProductAttention(q, randn([2, 3, 5]), q)).toThrow(
      /scaledDotProductAttention: expected key \[\.\.\., S, 4\]/,
    );
    expect(() => F.glu(randn([2, 3]))).toThrow(/glu: halving only works on an even size/);
    expect(() => F.rotaryEmbedding(randn([3, 5]))).toThrow(
      /rotaryEmbedding: the feature size must be an even integer/,
    );
    expect(() => new nn.TransformerEncoderLayer(8, 2).call(randn([3, 2, 6]))).toThrow(
      /TransformerEncoderLayer: expected src of shape .*d_model=8.* got \[3, 2, 6\]/,
    );
  });
});

describe('variable-length batches', () => {
  it('padding does not leak: each sequence gives what it gives alone', () => {
    manualSeed(3);
    const lstm = new nn.LSTM(3, 4, { batchFirst: true, bidirectional: true });
    const x = randn([2, 5, 3]);
    const [out, [h]] = lstm.call(x, undefined, { lengths: [5, 2] });
    // The second sequence alone, without padding.
    const [alone, [hAlone]] = lstm.call(x.narrow(0, 1, 1).narrow(1, 0, 2));
    expectAllClose(out.narrow(0, 1, 1).narrow(1, 0, 2), alone, { rtol: 1e-6, atol: 1e-7 });
    expectAllClose(h.narrow(1, 1, 1), hAlone, { rtol: 1e-6, atol: 1e-7 });
    // Its padded steps output zeros.
    expect(Array.from(out.narrow(0, 1, 1).narrow(1, 2, 3).dataSync()).every((v) => v === 0)).toBe(
      true,
    );
  });
});

describe('truncated BPTT', () => {
  it('truncatedBptt cuts along time; detachState cuts the graph but keeps the values', () => {
    const x = randn([7, 2, 3]);
    const chunks = [...nn.utils.truncatedBptt([x, x.sum(2)], 3)];
    expect(chunks.map(([a, b]) => [a.shape[0], b.shape[0]])).toEqual([
      [3, 3],
      [3, 3],
      [1, 1],
    ]);
    const lstm = new nn.LSTM(3, 4);
    const [, state] = lstm.call(chunks[0][0]);
    const detached = nn.utils.detachState(state);
    expect(detached.every((t) => !t.requiresGrad && t.gradFn === null)).toBe(true);
    expectAllClose(detached[0], state[0]);
    expect(() => [...nn.utils.truncatedBptt([x, randn([6, 2])], 3)]).toThrow(
      /truncatedBptt: every tensor needs the same length 7/,
    );
  });

  it('a detached state stops backward at the chunk boundary', () => {
    const rnn = new nn.RNN(2, 3);
    const x = randn([4, 1, 2], { requiresGrad: true });
    const [first, second] = [...nn.utils.truncatedBptt([x], 2)];
    const [, h] = rnn.call(first[0]);
    const [out] = rnn.call(second[0], nn.utils.detachState(h));
    out.sum().backward();
    const g = x.grad!.dataSync();
    expect(Array.from(g.slice(0, 4)).every((v) => v === 0)).toBe(true); // first chunk: cut off
    expect(Array.from(g.slice(4)).some((v) => v !== 0)).toBe(true);
  });
});

describe('stacks, dropout and training', () => {
  it('TransformerEncoder layers start as copies of the given layer but are independent', () => {
    const layer = new nn.TransformerEncoderLayer(8, 2, { dimFeedforward: 16 });
    const enc = new nn.TransformerEncoder(layer, 2);
    const [a, b] = enc.layers;
    expectAllClose(a.linear1.weight, layer.linear1.weight, { rtol: 0, atol: 0 });
    expect(a.linear1.weight).not.toBe(b.linear1.weight);
    noGrad(() => a.linear1.weight.fill_(0));
    expect(b.linear1.weight.dataSync().some((v) => v !== 0)).toBe(true);
  });

  it('dropout between recurrent layers is active in training only', () => {
    const gru = new nn.GRU(3, 8, { numLayers: 2, dropout: 0.5 });
    const x = randn([4, 2, 3]);
    const [a] = gru.call(x);
    const [b] = gru.call(x);
    expect(Array.from(a.dataSync())).not.toEqual(Array.from(b.dataSync()));
    gru.eval();
    expect(Array.from(gru.call(x)[0].dataSync())).toEqual(Array.from(gru.call(x)[0].dataSync()));
  });

  it('an LSTM learns the sum of its sequence (BPTT over 5 steps)', () => {
    manualSeed(11);
    const gen = new Generator(5);
    const lstm = new nn.LSTM(1, 8);
    const head = new nn.Linear(8, 1);
    const opt = new optim.Adam([...lstm.parameters(), ...head.parameters()], { lr: 0.05 });
    const loss = (x: Tensor) => {
      const [, [h]] = lstm.call(x);
      return F.mseLoss(head.call(h.select(0, 0)), x.sum(0));
    };
    const first = Number(loss(randn([5, 16, 1], { generator: gen })).itemSync());
    let last = first;
    for (let i = 0; i < 60; i++) {
      const l = loss(randn([5, 16, 1], { generator: gen }));
      opt.zeroGrad();
      l.backward();
      nn.utils.clipGradNorm_([...lstm.parameters(), ...head.parameters()], 1);
      opt.step();
      last = Number(l.itemSync());
    }
    expect(last).toBeLessThan(first / 5);
  });

  it('generateSquareSubsequentMask is 0 on and below the diagonal, −∞ above', () => {
    expect(nn.Transformer.generateSquareSubsequentMask(3).arraySync()).toEqual([
      [0, -Infinity, -Infinity],
      [0, 0, -Infinity],
      [0, 0, 0],
    ]);
  });
});
