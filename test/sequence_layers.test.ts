/**
 * Sequence layers against PyTorch (fixtures from scripts/fixtures/sequence.py): each layer is
 * built here as in the script, given PyTorch's state dict through loadStateDict, and must give
 * PyTorch's outputs and the gradients of its inputs and every parameter in float32 (1e-4
 * relative). Also the functions PyTorch 1.13 lacks (scaled dot-product attention, SwiGLU,
 * rotary and sinusoidal encodings), computed by hand in the script.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { F, nn, type Tensor } from '../src/index.js';
import { expectMatches, fromFixture, type FixtureTensor } from './helpers/reference.js';

interface LayerCase {
  name: string;
  state: Record<string, FixtureTensor>;
  inputs: (FixtureTensor | null)[];
  outputs: FixtureTensor[];
  gradOutputs: FixtureTensor[];
  inputGrads: (FixtureTensor | null)[];
  paramGrads: Record<string, FixtureTensor>;
}

interface FunctionCase {
  name: string;
  args: Record<string, number | boolean>;
  inputs: FixtureTensor[];
  output: FixtureTensor;
  gradOutput: FixtureTensor;
  inputGrads: (FixtureTensor | null)[];
}

const fixture = JSON.parse(
  readFileSync(new URL('./fixtures/sequence.json', import.meta.url), 'utf8'),
) as { layers: LayerCase[]; functions: FunctionCase[]; sinusoidal: FixtureTensor };

type Run = (m: any, x: Tensor[]) => Tensor[];
const [I, H, E, NH, FF] = [5, 6, 8, 2, 16];

const rnn: Run = (m: nn.RNN | nn.GRU, [x, h0]) => m.call(x, h0).flat();
const lstm: Run = (m: nn.LSTM, [x, h0, c0]) => {
  const [out, [h, c]] = m.call(x, h0 ? [h0, c0] : undefined);
  return [out, h, c];
};
const lengths =
  (lens: number[]): Run =>
  (m: nn.LSTM | nn.GRU | nn.RNN, [x, h0, c0]) => {
    if (m instanceof nn.LSTM) {
      const [out, [h, c]] = m.call(x, h0 ? [h0, c0] : undefined, { lengths: lens });
      return [out, h, c];
    }
    return (m as nn.GRU).call(x, h0, { lengths: lens }).flat();
  };
const mha =
  (options: nn.MultiheadAttentionCallOptions = {}): Run =>
  (m: nn.MultiheadAttention, [q, k, v]) => {
    const [out, w] = m.call(q, k ?? q, v ?? k ?? q, options);
    return w ? [out, w] : [out];
  };

const builders: Record<string, [() => nn.Module, Run]> = {
  'RNN/tanh/h0': [() => new nn.RNN(I, H), rnn],
  'RNN/relu/2layers/bi/batchFirst': [
    () =>
      new nn.RNN(I, H, {
        numLayers: 2,
        nonlinearity: 'relu',
        bidirectional: true,
        batchFirst: true,
      }),
    rnn,
  ],
  'RNN/nobias/unbatched': [() => new nn.RNN(I, H, { bias: false }), rnn],
  'LSTM/h0c0': [() => new nn.LSTM(I, H), lstm],
  'LSTM/2layers/bi/batchFirst': [
    () => new nn.LSTM(I, H, { numLayers: 2, bidirectional: true, batchFirst: true }),
    lstm,
  ],
  'LSTM/2layers/h0c0': [() => new nn.LSTM(I, H, { numLayers: 2 }), lstm],
  'LSTM/unbatched': [() => new nn.LSTM(I, H), lstm],
  'LSTM/lengths/bi/batchFirst': [
    () => new nn.LSTM(I, H, { bidirectional: true, batchFirst: true }),
    lengths([4, 2, 3]),
  ],
  'GRU/h0': [() => new nn.GRU(I, H), rnn],
  'GRU/2layers/bi': [() => new nn.GRU(I, H, { numLayers: 2, bidirectional: true }), rnn],
  'GRU/lengths/2layers': [() => new nn.GRU(I, H, { numLayers: 2 }), lengths([1, 4, 3])],
  'RNN/lengths/bi': [() => new nn.RNN(I, H, { bidirectional: true }), lengths([2, 4, 1])],
  RNNCell: [() => new nn.RNNCell(I, H), (m: nn.RNNCell, [x, h]) => [m.call(x, h)]],
  'RNNCell/relu/nostate': [
    () => new nn.RNNCell(I, H, { nonlinearity: 'relu' }),
    (m: nn.RNNCell, [x]) => [m.call(x)],
  ],
  LSTMCell: [() => new nn.LSTMCell(I, H), (m: nn.LSTMCell, [x, h, c]) => m.call(x, [h, c])],
  'LSTMCell/unbatched': [
    () => new nn.LSTMCell(I, H),
    (m: nn.LSTMCell, [x, h, c]) => m.call(x, [h, c]),
  ],
  GRUCell: [() => new nn.GRUCell(I, H), (m: nn.GRUCell, [x, h]) => [m.call(x, h)]],
  'GRUCell/nobias': [
    () => new nn.GRUCell(I, H, { bias: false }),
    (m: nn.GRUCell, [x, h]) => [m.call(x, h)],
  ],
  MultiheadAttention: [() => new nn.MultiheadAttention(E, NH), mha()],
  'MultiheadAttention/causal': [
    () => new nn.MultiheadAttention(E, NH),
    (m: nn.MultiheadAttention, [x, mask]) => mha({ attnMask: mask })(m, [x]),
  ],
  'MultiheadAttention/keyPadding/batchFirst': [
    () => new nn.MultiheadAttention(E, NH, { batchFirst: true }),
    (m: nn.MultiheadAttention, [q, kv, p]) => mha({ keyPaddingMask: p })(m, [q, kv, kv]),
  ],
  'MultiheadAttention/boolMask/perHead': [
    () => new nn.MultiheadAttention(E, NH, { batchFirst: true }),
    (m: nn.MultiheadAttention, [x, mask]) =>
      mha({ attnMask: mask, averageAttnWeights: false })(m, [x]),
  ],
  'MultiheadAttention/kdim/nobias': [
    () => new nn.MultiheadAttention(E, 4, { kdim: 3, vdim: 7, bias: false }),
    mha(),
  ],
  'MultiheadAttention/unbatched': [
    () => new nn.MultiheadAttention(E, NH),
    (m: nn.MultiheadAttention, [q, kv]) => mha()(m, [q, kv, kv]),
  ],
  'MultiheadAttention/noWeights': [
    () => new nn.MultiheadAttention(E, NH),
    mha({ needWeights: false }),
  ],
  'TransformerEncoderLayer/post/relu': [
    () => new nn.TransformerEncoderLayer(E, NH, { dimFeedforward: FF, dropout: 0 }),
    (m: nn.TransformerEncoderLayer, [x]) => [m.call(x)],
  ],
  'TransformerEncoderLayer/pre/gelu/causal/padding': [
    () =>
      new nn.TransformerEncoderLayer(E, NH, {
        dimFeedforward: FF,
        dropout: 0,
        activation: 'gelu',
        normFirst: true,
        batchFirst: true,
      }),
    (m: nn.TransformerEncoderLayer, [x, mask, p]) => [
      m.call(x, { srcMask: mask, srcKeyPaddingMask: p }),
    ],
  ],
  'TransformerDecoderLayer/post/relu': [
    () => new nn.TransformerDecoderLayer(E, NH, { dimFeedforward: FF, dropout: 0 }),
    (m: nn.TransformerDecoderLayer, [t, mem, mask]) => [m.call(t, mem, { tgtMask: mask })],
  ],
  'TransformerDecoderLayer/pre/gelu/batchFirst': [
    () =>
      new nn.TransformerDecoderLayer(E, NH, {
        dimFeedforward: FF,
        dropout: 0,
        activation: 'gelu',
        normFirst: true,
        batchFirst: true,
      }),
    (m: nn.TransformerDecoderLayer, [t, mem, p]) => [m.call(t, mem, { memoryKeyPaddingMask: p })],
  ],
  'TransformerEncoder/2layers/norm': [
    () =>
      new nn.TransformerEncoder(
        new nn.TransformerEncoderLayer(E, NH, { dimFeedforward: FF, dropout: 0 }),
        2,
        { norm: new nn.LayerNorm(E) },
      ),
    (m: nn.TransformerEncoder, [x, mask]) => [m.call(x, { mask })],
  ],
  'TransformerDecoder/2layers': [
    () =>
      new nn.TransformerDecoder(
        new nn.TransformerDecoderLayer(E, NH, { dimFeedforward: FF, dropout: 0, normFirst: true }),
        2,
      ),
    (m: nn.TransformerDecoder, [t, mem]) => [m.call(t, mem)],
  ],
  Transformer: [
    () =>
      new nn.Transformer(E, NH, {
        numEncoderLayers: 1,
        numDecoderLayers: 2,
        dimFeedforward: FF,
        dropout: 0,
      }),
    (m: nn.Transformer, [s, t, mask]) => [m.call(s, t, { tgtMask: mask })],
  ],
};

describe('sequence layers match PyTorch (float32, state dicts from PyTorch)', () => {
  it('has a builder for every fixture case and a case for every builder', () => {
    expect(Object.keys(builders).sort()).toEqual(fixture.layers.map((c) => c.name).sort());
  });

  for (const c of fixture.layers) {
    it(c.name, () => {
      const [build, run] = builders[c.name];
      const module = build();
      expect(Object.keys(module.stateDict()), 'stateDict keys').toEqual(Object.keys(c.state));
      const state: Record<string, Tensor> = {};
      for (const [k, v] of Object.entries(c.state)) state[k] = fromFixture(v);
      module.loadStateDict(state);
      const inputs = c.inputs.map((t, i) => {
        if (t === null) return undefined as unknown as Tensor;
        const x = fromFixture(t);
        return c.inputGrads[i] ? x.requiresGrad_(true) : x;
      });
      const outputs = run(module, inputs);
      expect(outputs.length, 'number of outputs').toBe(c.outputs.length);
      outputs.forEach((o, i) => expectMatches(o, c.outputs[i], `${c.name} output ${i}`));
      outputs
        .map((o, i) => o.mul(fromFixture(c.gradOutputs[i])).sum())
        .reduce((a, b) => a.add(b))
        .backward();
      c.inputGrads.forEach((want, i) => {
        if (want === null) return;
        expect(inputs[i].grad, `${c.name}: input ${i} has a gradient`).not.toBeNull();
        expectMatches(inputs[i].grad!, want, `${c.name} grad of input ${i}`);
      });
      const params = Object.fromEntries(module.namedParameters());
      expect(Object.keys(params).sort()).toEqual(Object.keys(c.paramGrads).sort());
      for (const [key, want] of Object.entries(c.paramGrads)) {
        expect(params[key].grad, `${c.name}: ${key} has a gradient`).not.toBeNull();
        expectMatches(params[key].grad!, want, `${c.name} grad of ${key}`);
      }
    });
  }
});

const functions: Record<string, (x: Tensor[], args: Record<string, any>) => Tensor> = {
  sdpa: ([q, k, v]) => F.scaledDotProductAttention(q, k, v),
  'sdpa/causal': ([q, k, v], a) => F.scaledDotProductAttention(q, k, v, a),
  'sdpa/boolMask/scale': ([q, k, v, m], a) =>
    F.scaledDotProductAttention(q, k, v, { attnMask: m, scale: a.scale }),
  'sdpa/floatMask': ([q, k, v, m]) => F.scaledDotProductAttention(q, k, v, { attnMask: m }),
  glu: ([x]) => F.glu(x),
  'glu/dim0': ([x], a) => F.glu(x, a.dim),
  swiglu: ([x]) => F.swiglu(x),
  rotary: ([x]) => F.rotaryEmbedding(x),
  'rotary/offset/base': ([x], a) => F.rotaryEmbedding(x, a),
};

describe('attention, GLU and positional functions match their PyTorch references', () => {
  it('has a function for every fixture case', () => {
    expect(Object.keys(functions).sort()).toEqual(fixture.functions.map((c) => c.name).sort());
  });

  for (const c of fixture.functions) {
    it(c.name, () => {
      const inputs = c.inputs.map((t, i) => {
        const x = fromFixture(t);
        return c.inputGrads[i] ? x.requiresGrad_(true) : x;
      });
      const out = functions[c.name](inputs, c.args);
      expectMatches(out, c.output, `${c.name} output`);
      out.mul(fromFixture(c.gradOutput)).sum().backward();
      c.inputGrads.forEach((want, i) => {
        if (want) expectMatches(inputs[i].grad!, want, `${c.name} grad of input ${i}`);
      });
    });
  }

  it('sinusoidal positional encoding', () => {
    expectMatches(F.sinusoidalPositionalEncoding(7, 10), fixture.sinusoidal, 'sinusoidal');
  });
});
