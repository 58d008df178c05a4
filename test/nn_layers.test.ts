/**
 * Layer parity with PyTorch: each layer is built here as in scripts/fixtures/nn.py, converted to
 * float64, given PyTorch's weights through loadStateDict, and must reproduce PyTorch's output,
 * input gradients, parameter gradients, updated buffers and repr. Also: input-shape errors,
 * BatchNorm running statistics over several steps, and Dropout in train and eval mode.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Generator, nn, ones, randn, tensor, type Tensor } from '../src/index.js';
import { expectMatches, fromFixture, type FixtureTensor } from './helpers/reference.js';

interface LayerCase {
  name: string;
  repr: string | null;
  state: Record<string, FixtureTensor>;
  inputs: FixtureTensor[];
  output: FixtureTensor;
  gradOutput: FixtureTensor;
  inputGrads: (FixtureTensor | null)[];
  paramGrads: Record<string, FixtureTensor>;
  stateAfter: Record<string, FixtureTensor>;
}

interface BatchNormCase {
  name: string;
  steps: FixtureTensor[];
  state: Record<string, FixtureTensor>;
  evalInput: FixtureTensor;
  evalOutput: FixtureTensor;
}

const fixture = JSON.parse(
  readFileSync(new URL('./fixtures/nn.json', import.meta.url), 'utf8'),
) as {
  layers: LayerCase[];
  batchnorm: BatchNormCase[];
};

/** The chainrule layer for each fixture case, built with the same arguments as in nn.py. */
const builders: Record<string, () => nn.Module> = {
  Linear: () => new nn.Linear(5, 3),
  'Linear/nobias3d': () => new nn.Linear(5, 2, { bias: false }),
  Bilinear: () => new nn.Bilinear(4, 3, 2),
  Identity: () => new nn.Identity(),
  Conv1d: () => new nn.Conv1d(3, 4, 3, { stride: 2, padding: 1 }),
  'Conv1d/groups': () => new nn.Conv1d(4, 6, 2, { dilation: 2, groups: 2, bias: false }),
  Conv2d: () => new nn.Conv2d(3, 4, 3, { padding: 1 }),
  'Conv2d/strided': () => new nn.Conv2d(4, 6, [3, 2], { stride: 2, dilation: [1, 2], groups: 2 }),
  'Conv2d/same': () => new nn.Conv2d(2, 3, 3, { padding: 'same' }),
  ConvTranspose2d: () =>
    new nn.ConvTranspose2d(4, 3, 3, { stride: 2, padding: 1, outputPadding: 1 }),
  MaxPool2d: () => new nn.MaxPool2d(2),
  'MaxPool2d/padded': () => new nn.MaxPool2d(3, { stride: 2, padding: 1 }),
  AvgPool2d: () => new nn.AvgPool2d(2),
  'AvgPool2d/padded': () => new nn.AvgPool2d(3, { stride: 2, padding: 1, countIncludePad: false }),
  AdaptiveAvgPool2d: () => new nn.AdaptiveAvgPool2d([2, 3]),
  BatchNorm1d: () => new nn.BatchNorm1d(4),
  'BatchNorm1d/3d': () => new nn.BatchNorm1d(3, { momentum: null }),
  BatchNorm2d: () => new nn.BatchNorm2d(3),
  'BatchNorm2d/noaffine': () => new nn.BatchNorm2d(3, { affine: false, trackRunningStats: false }),
  LayerNorm: () => new nn.LayerNorm([4, 5]),
  'LayerNorm/noaffine': () => new nn.LayerNorm(6, { eps: 1e-3, elementwiseAffine: false }),
  RMSNorm: () => new nn.RMSNorm([6]),
  'RMSNorm/eps': () => new nn.RMSNorm([2, 3], { eps: 1e-2 }),
  GroupNorm: () => new nn.GroupNorm(2, 6),
  Embedding: () => new nn.Embedding(10, 4, { paddingIdx: 1 }),
  ReLU: () => new nn.ReLU(),
  LeakyReLU: () => new nn.LeakyReLU(0.2),
  Sigmoid: () => new nn.Sigmoid(),
  Tanh: () => new nn.Tanh(),
  GELU: () => new nn.GELU(),
  'GELU/tanh': () => new nn.GELU({ approximate: 'tanh' }),
  SiLU: () => new nn.SiLU(),
  Mish: () => new nn.Mish(),
  ELU: () => new nn.ELU(0.5),
  Softplus: () => new nn.Softplus(2, 5),
  Hardtanh: () => new nn.Hardtanh(-0.5, 0.5),
  Softmax: () => new nn.Softmax(1),
  LogSoftmax: () => new nn.LogSoftmax(-1),
  Flatten: () => new nn.Flatten(),
  Unflatten: () => new nn.Unflatten(1, [2, 3]),
  SwiGLU: () => new nn.SwiGLU(6, 8),
  Residual: () => new nn.Residual(new nn.Linear(5, 5)),
  Sequential: () => new nn.Sequential(new nn.Linear(6, 5), new nn.ReLU(), new nn.Linear(5, 3)),
  MSELoss: () => new nn.MSELoss(),
  'MSELoss/sum': () => new nn.MSELoss({ reduction: 'sum' }),
  L1Loss: () => new nn.L1Loss(),
  SmoothL1Loss: () => new nn.SmoothL1Loss({ beta: 0.5 }),
  HuberLoss: () => new nn.HuberLoss({ delta: 0.7, reduction: 'none' }),
  CrossEntropyLoss: () => new nn.CrossEntropyLoss(),
  // The class weights come from the fixture's state (the 'weight' buffer); the placeholder has the right shape.
  'CrossEntropyLoss/weighted': () =>
    new nn.CrossEntropyLoss({ weight: ones([4]), labelSmoothing: 0.1 }),
  'CrossEntropyLoss/ignore': () => new nn.CrossEntropyLoss({ ignoreIndex: -100 }),
  'CrossEntropyLoss/probs': () => new nn.CrossEntropyLoss(),
  NLLLoss: () => new nn.NLLLoss({ weight: ones([4]) }),
  BCELoss: () => new nn.BCELoss(),
  BCEWithLogitsLoss: () => new nn.BCEWithLogitsLoss({ posWeight: ones([4]) }),
  KLDivLoss: () => new nn.KLDivLoss({ reduction: 'batchmean' }),
};

function loadState(module: nn.Module, state: Record<string, FixtureTensor>): void {
  const dict: Record<string, Tensor> = {};
  for (const [k, v] of Object.entries(state)) dict[k] = fromFixture(v);
  module.loadStateDict(dict);
}

describe('layer parity with PyTorch', () => {
  it('has a builder for every fixture case and a case for every builder', () => {
    expect(Object.keys(builders).sort()).toEqual(fixture.layers.map((c) => c.name).sort());
  });

  for (const c of fixture.layers) {
    it(c.name, () => {
      const module = builders[c.name]().double();
      expect(Object.keys(module.stateDict()), 'stateDict keys').toEqual(Object.keys(c.state));
      loadState(module, c.state);
      if (c.repr !== null) expect(module.toString()).toBe(c.repr);

      const inputs = c.inputs.map((t, i) => {
        const x = fromFixture(t);
        return c.inputGrads[i] ? x.requiresGrad_(true) : x;
      });
      const output = (module.call as (...args: Tensor[]) => Tensor)(...inputs);
      expectMatches(output, c.output, `${c.name} output`);

      for (const [key, want] of Object.entries(c.stateAfter)) {
        expectMatches(module.stateDict()[key], want, `${c.name} ${key} after forward`);
      }

      output.mul(fromFixture(c.gradOutput)).sum().backward();
      c.inputGrads.forEach((want, i) => {
        if (want === null) return;
        const got = inputs[i].grad;
        expect(got, `${c.name}: input ${i} has a gradient`).not.toBeNull();
        expectMatches(got!, want, `${c.name} grad of input ${i}`);
      });
      const params = Object.fromEntries(module.namedParameters());
      expect(Object.keys(params).sort(), 'parameters').toEqual(Object.keys(c.paramGrads).sort());
      for (const [key, want] of Object.entries(c.paramGrads)) {
        const got = params[key].grad;
        expect(got, `${c.name}: ${key} has a gradient`).not.toBeNull();
        expectMatches(got!, want, `${c.name} grad of ${key}`);
      }
    });
  }
});

describe('BatchNorm running statistics', () => {
  for (const c of fixture.batchnorm) {
    it(`match PyTorch after ${c.steps.length} training steps (${c.name})`, () => {
      const bn = new nn.BatchNorm2d(3, c.name === 'cumulative' ? { momentum: null } : {}).double();
      for (const step of c.steps) bn.call(fromFixture(step));
      const state = bn.stateDict();
      expect(Object.keys(state)).toEqual(Object.keys(c.state));
      for (const [key, want] of Object.entries(c.state))
        expectMatches(state[key], want, `${c.name} ${key}`);
      expect(bn.numBatchesTracked!.itemSync()).toBe(c.steps.length);
      bn.eval();
      const before = Array.from(bn.runningMean!.dataSync());
      expectMatches(bn.call(fromFixture(c.evalInput)), c.evalOutput, `${c.name} eval output`);
      expect(Array.from(bn.runningMean!.dataSync()), 'eval leaves the running mean alone').toEqual(
        before,
      );
      expect(bn.numBatchesTracked!.itemSync()).toBe(c.steps.length);
    });
  }

  it('eval mode uses the running statistics (fresh layer: identity up to eps)', () => {
    const bn = new nn.BatchNorm1d(4).eval();
    const x = randn([3, 4]);
    const y = bn.call(x).dataSync();
    const scale = 1 / Math.sqrt(1 + 1e-5);
    x.dataSync().forEach((v, i) => expect(y[i]).toBeCloseTo(v * scale, 6));
  });
});

describe('layer input validation', () => {
  it('Linear names in_features and the shape', () => {
    expect(() => new nn.Linear(784, 10).call(randn([32, 100]))).toThrow(
      'Linear: expected input with last dimension 784 (in_features), got shape [32, 100]',
    );
  });

  it('conv, norm, embedding and pooling layers reject wrong shapes and dtypes', () => {
    expect(() => new nn.Conv2d(3, 8, 3).call(randn([2, 4, 8, 8]))).toThrow(
      /Conv2d: expected input of shape \[N, 3, H, W\].*got shape \[2, 4, 8, 8\]/,
    );
    expect(() => new nn.Conv1d(3, 8, 3).call(randn([2, 3]))).toThrow(
      /Conv1d: .*got shape \[2, 3\]/,
    );
    expect(() => new nn.BatchNorm2d(3).call(randn([2, 3, 4]))).toThrow(
      /BatchNorm2d: expected a 4-D \[N, 3, H, W\] input.*\[2, 3, 4\]/,
    );
    expect(() => new nn.BatchNorm1d(3).call(randn([2, 4]))).toThrow(
      /BatchNorm1d: .*num_features=3.*\[2, 4\]/,
    );
    expect(() => new nn.LayerNorm([4, 5]).call(randn([2, 5, 4]))).toThrow(
      /LayerNorm: expected input with trailing dimensions \[4, 5\].*\[2, 5, 4\]/,
    );
    expect(() => new nn.GroupNorm(2, 6).call(randn([2, 4, 3]))).toThrow(
      /GroupNorm: .*num_channels=6/,
    );
    expect(() => new nn.Embedding(5, 2).call(randn([3]))).toThrow(
      /Embedding: expected int32 indices, got float32/,
    );
    expect(() => new nn.MaxPool2d(2).call(randn([4, 4]))).toThrow(
      /MaxPool2d: expected a 3-D .* got shape \[4, 4\]/,
    );
    expect(() => new nn.Bilinear(2, 3, 4).call(randn([5, 2]), randn([5, 2]))).toThrow(
      /Bilinear: expected input2 with last dimension 3/,
    );
    expect(() => new nn.Residual(new nn.Linear(4, 3)).call(randn([2, 4]))).toThrow(
      /Residual: the block changed the shape from \[2, 4\] to \[2, 3\]/,
    );
  });

  it('constructors reject invalid arguments', () => {
    expect(() => new nn.Conv2d(3, 8, 3, { groups: 2 })).toThrow(
      /in_channels \(3\) must be divisible by groups \(2\)/,
    );
    expect(() => new nn.GroupNorm(4, 6)).toThrow(
      /num_channels \(6\) must be divisible by num_groups \(4\)/,
    );
    expect(() => new nn.Dropout(1.5)).toThrow(/between 0 and 1/);
    expect(() => new nn.Linear(-1, 3)).toThrow(/in_features must be a non-negative integer/);
    expect(() => new nn.MSELoss({ reduction: 'avg' as 'mean' })).toThrow(
      /MSELoss: reduction must be one of/,
    );
  });

  it('conv and pooling layers accept unbatched input', () => {
    const conv = new nn.Conv2d(2, 3, 3, { padding: 1 });
    const x = randn([2, 5, 5]);
    expect(conv.call(x).shape).toEqual([3, 5, 5]);
    expectClose(conv.call(x), conv.call(x.unsqueeze(0)).squeeze(0));
    expect(new nn.MaxPool2d(2).call(x).shape).toEqual([2, 2, 2]);
  });
});

function expectClose(a: Tensor, b: Tensor): void {
  expect(a.shape).toEqual(b.shape);
  const bv = b.dataSync();
  a.dataSync().forEach((v, i) => expect(v).toBeCloseTo(bv[i], 5));
}

describe('Dropout', () => {
  it('zeroes about p of the elements in training and scales the rest by 1 / (1 - p)', () => {
    const drop = new nn.Dropout(0.3, { generator: new Generator(7) });
    expect(drop.training).toBe(true);
    const y = drop.call(ones([200, 100])).dataSync();
    const zeros = y.filter((v) => v === 0).length / y.length;
    expect(zeros).toBeGreaterThan(0.28);
    expect(zeros).toBeLessThan(0.32);
    for (const v of y) if (v !== 0) expect(v).toBeCloseTo(1 / 0.7, 5);
  });

  it('is the identity in eval mode, and gradients follow the mask in training', () => {
    const drop = new nn.Dropout(0.5);
    const x = randn([10, 10]);
    drop.eval();
    expect(Array.from(drop.call(x).dataSync())).toEqual(Array.from(x.dataSync()));
    drop.train();
    const leaf = randn([50, 50], { requiresGrad: true });
    const y = drop.call(leaf);
    y.sum().backward();
    const yv = y.dataSync();
    leaf.grad!.dataSync().forEach((g, i) => expect(g).toBe(yv[i] === 0 ? 0 : 2));
  });

  it('the same generator seed gives the same mask', () => {
    const a = new nn.Dropout(0.5, { generator: new Generator(3) }).call(ones([64]));
    const b = new nn.Dropout(0.5, { generator: new Generator(3) }).call(ones([64]));
    expect(Array.from(a.dataSync())).toEqual(Array.from(b.dataSync()));
  });

  it('Dropout2d drops whole channels', () => {
    const y = new nn.Dropout2d(0.5, { generator: new Generator(1) }).call(ones([4, 8, 3, 3]));
    const v = y.dataSync();
    let dropped = 0;
    for (let ch = 0; ch < 32; ch++) {
      const block = Array.from(v.slice(ch * 9, ch * 9 + 9));
      expect(new Set(block).size, `channel ${ch} is all kept or all dropped`).toBe(1);
      if (block[0] === 0) dropped++;
      else expect(block[0]).toBeCloseTo(2, 6);
    }
    expect(dropped).toBeGreaterThan(4);
    expect(dropped).toBeLessThan(28);
    const eval2d = new nn.Dropout2d(0.5).eval();
    const x = randn([2, 3, 2, 2]);
    expect(eval2d.call(x)).toBe(x);
  });
});

describe('layer defaults', () => {
  it('Embedding zeroes the padding row and gives it no gradient', () => {
    const emb = new nn.Embedding(6, 3, { paddingIdx: -1 });
    expect(emb.paddingIdx).toBe(5);
    expect(Array.from(emb.weight.select(0, 5).dataSync())).toEqual([0, 0, 0]);
    emb
      .call(tensor([5, 1, 5], { dtype: 'int32' }))
      .sum()
      .backward();
    expect(Array.from(emb.weight.grad!.select(0, 5).dataSync())).toEqual([0, 0, 0]);
    expect(Array.from(emb.weight.grad!.select(0, 1).dataSync())).toEqual([1, 1, 1]);
  });

  it('Embedding.fromPretrained shares the weight and freezes it by default', () => {
    const w = randn([4, 2]);
    const emb = nn.Embedding.fromPretrained(w);
    expect(emb.weight.requiresGrad).toBe(false);
    expect(emb.weight.storage).toBe(w.storage);
    expect(nn.Embedding.fromPretrained(w, { freeze: false }).weight.requiresGrad).toBe(true);
  });

  it('norm layers start at ones and zeros; BatchNorm buffers at 0, 1 and 0 batches', () => {
    const bn = new nn.BatchNorm2d(3);
    expect(Array.from(bn.weight!.dataSync())).toEqual([1, 1, 1]);
    expect(Array.from(bn.bias!.dataSync())).toEqual([0, 0, 0]);
    expect(Array.from(bn.runningMean!.dataSync())).toEqual([0, 0, 0]);
    expect(Array.from(bn.runningVar!.dataSync())).toEqual([1, 1, 1]);
    expect(bn.numBatchesTracked!.dtype).toBe('int32');
    expect(Array.from(new nn.LayerNorm(4).weight!.dataSync())).toEqual([1, 1, 1, 1]);
    expect(Array.from(new nn.RMSNorm(2).weight!.dataSync())).toEqual([1, 1]);
    expect(new nn.RMSNorm(2).toString()).toBe('RMSNorm((2,), eps=None, elementwise_affine=True)');
  });

  it('SwiGLU has PyTorch-style names and no biases by default', () => {
    const ffn = new nn.SwiGLU(8, 16);
    expect(Object.keys(ffn.stateDict())).toEqual([
      'gate_proj.weight',
      'up_proj.weight',
      'down_proj.weight',
    ]);
    expect(ffn.call(randn([2, 3, 8])).shape).toEqual([2, 3, 8]);
  });
});
