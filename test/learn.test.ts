import { describe, expect, it } from 'vitest';
import {
  F,
  Generator,
  data,
  learn,
  manualSeed,
  nn,
  optim,
  randn,
  tensor,
  train,
  zeros,
  type Tensor,
} from '../src/index.js';
import { createLearner } from '../src/cli/learn_methods.js';
import { expectAllClose, expectBitEqual } from './helpers/close.js';

const CLASSES = 4;
const DIMS = 20;

/**
 * Four Gaussian blobs in 20-D whose first CLASSES inputs are zero, as MNIST's corner pixels are:
 * Forward-Forward writes the label there.
 */
function blobs(n: number, seed: number): data.TensorDataset<[Tensor, Tensor]> {
  const generator = new Generator(seed);
  const labels = Int32Array.from({ length: n }, (_, i) => i % CLASSES);
  const centres = randn([CLASSES, DIMS - CLASSES], { generator: new Generator(99) }).mul(1.5);
  const points = randn([n, DIMS - CLASSES], { generator })
    .mul(0.8)
    .add(centres.indexSelect(0, tensor(labels)));
  const x = F.pad(points, [CLASSES, 0]).relu();
  return new data.TensorDataset(x, tensor(labels));
}

const block = (i: number, o: number) => new nn.Sequential(new nn.Linear(i, o), new nn.ReLU());

type Learner = learn.ForwardForward | learn.DirectFeedbackAlignment | learn.SyntheticGradients;

const makers: Record<string, () => Learner> = {
  ForwardForward: () =>
    new learn.ForwardForward([block(DIMS, 32), block(32, 32)], {
      numClasses: CLASSES,
      objective: 'symba',
    }),
  DirectFeedbackAlignment: () =>
    new learn.DirectFeedbackAlignment([block(DIMS, 32), block(32, 32), new nn.Linear(32, CLASSES)]),
  SyntheticGradients: () =>
    new learn.SyntheticGradients([block(DIMS, 32), block(32, 32), new nn.Linear(32, CLASSES)]),
};

const lossFn = (out: Tensor, y: Tensor) => F.crossEntropy(out, y);

async function trainTiny(make: () => Learner, seed: number, epochs = 8) {
  manualSeed(seed);
  const model = make();
  const loader = new data.DataLoader(blobs(256, 1), {
    batchSize: 32,
    shuffle: true,
    generator: new Generator(seed),
  });
  const history = await train.fit(model, loader, {
    optimizer: new optim.Adam(model.parameters(), {
      lr: model instanceof learn.ForwardForward ? 0.03 : 0.01,
    }),
    loss: lossFn,
    epochs,
    metrics: { accuracy: train.accuracy },
  });
  return { model, history };
}

function testAccuracy(model: Learner): number {
  const [x, y] = blobs(200, 7).tensors;
  model.eval();
  return train.accuracy(model.call(x), y);
}

describe.each(Object.entries(makers))('learn.%s', (name, make) => {
  it('learns a tiny problem through fit: the loss falls, accuracy is far above chance', async () => {
    const { model, history } = await trainTiny(make, 0);
    const losses = history.series.loss;
    expect(losses[losses.length - 1]).toBeLessThan(losses[0] * 0.8);
    expect(testAccuracy(model)).toBeGreaterThan(0.85); // chance is 0.25
  });

  it('reproduces a seeded run bit for bit', async () => {
    const a = await trainTiny(make, 3, 2);
    const b = await trainTiny(make, 3, 2);
    const weights = (m: Learner) => m.parameters().flatMap((p) => Array.from(p.dataSync()));
    expectBitEqual(weights(a.model), weights(b.model));
  });

  it('keeps every layer input a graph leaf: no gradient path reaches an earlier layer', () => {
    manualSeed(0);
    const model = make();
    const inputs: Tensor[] = [];
    model.layers.slice(1).forEach((layer) =>
      layer.registerForwardPreHook((_m, args) => {
        inputs.push(args[0] as Tensor);
      }),
    );
    const [x, y] = blobs(16, 2).tensors;
    model.trainStep(x, y, lossFn);
    expect(inputs.length).toBeGreaterThanOrEqual(model.layers.length - 1);
    for (const input of inputs) expect(input.gradFn).toBeNull();
  });

  it('round-trips through stateDict (what checkpoints save)', async () => {
    const { model } = await trainTiny(make, 0, 1);
    manualSeed(123);
    const fresh = make();
    fresh.loadStateDict(model.stateDict());
    const [x] = blobs(8, 4).tensors;
    model.eval();
    fresh.eval();
    expectBitEqual(fresh.call(x), model.call(x));
  });
});

/** Layer 0's weight gradient after one trainStep, with layer `later`'s weights replaced by noise. */
function firstLayerGrad(make: () => Learner, scramble: boolean): Float32Array {
  manualSeed(5);
  const model = make();
  if (scramble)
    for (const p of model.layers[1].parameters()) p.detach().copy_(randn(p.shape).mul(3));
  const [x, y] = blobs(16, 2).tensors;
  manualSeed(6); // the same negative labels in both runs
  model.trainStep(x, y, lossFn);
  return (model.layers[0].parameters()[0].grad as Tensor).dataSync() as Float32Array;
}

describe('locality', () => {
  it('ForwardForward: layer 0 gets the same gradient whatever layer 1 holds', () => {
    const make = () =>
      new learn.ForwardForward([block(DIMS, 16), block(16, 16)], {
        numClasses: CLASSES,
        negatives: 'random',
      });
    expectBitEqual(firstLayerGrad(make, true), firstLayerGrad(make, false));
  });

  it('SyntheticGradients: layer 0 learns from its predictor, not from the layers above', () => {
    const make = () => {
      const dni = makers.SyntheticGradients() as learn.SyntheticGradients;
      // A non-zero predictor, so that the synthetic gradient is not trivially zero.
      for (const p of dni.predictors[0].parameters()) p.detach().copy_(randn(p.shape).mul(0.1));
      return dni;
    };
    const grad = firstLayerGrad(make, false);
    expect(grad.some((v) => v !== 0)).toBe(true);
    expectBitEqual(firstLayerGrad(make, true), grad);
  });

  it('DirectFeedbackAlignment: each hidden layer receives exactly e·B_i', () => {
    manualSeed(1);
    const dfa = makers.DirectFeedbackAlignment() as learn.DirectFeedbackAlignment;
    const arrived: Tensor[] = [];
    dfa.layers.slice(0, -1).forEach((layer, i) =>
      layer.registerForwardHook((_m, _args, out) => {
        (out as Tensor).registerHook((g) => {
          arrived[i] = g;
        });
      }),
    );
    const [x, y] = blobs(16, 2).tensors;
    const { output } = dfa.trainStep(x, y, lossFn);
    // e = dL/dŷ of the mean cross-entropy.
    const target = zeros([16, CLASSES]).scatter(1, y.reshape([-1, 1]), 1);
    const e = output!.detach().softmax(1).sub(target).div(16);
    dfa.feedback.forEach((b, i) => expectAllClose(arrived[i], e.matmul(b), { atol: 1e-6 }));
  });
});

describe('ForwardForward variants', () => {
  const layers = () => [block(DIMS, 16), block(16, 16)];
  const options = { numClasses: CLASSES, negatives: 'random' as const };

  it("predict: 'softmax' trains a head on detached activities, which sends no gradient into the layers", () => {
    manualSeed(2);
    const withHead = new learn.ForwardForward(layers(), { ...options, predict: 'softmax' });
    const plain = new learn.ForwardForward(layers(), options);
    plain.loadStateDict(withHead.stateDict(), { strict: false });
    const [x, y] = blobs(16, 2).tensors;
    manualSeed(3);
    const { output } = withHead.trainStep(x, y);
    manualSeed(3);
    plain.trainStep(x, y);
    expect(output!.shape).toEqual([16, CLASSES]);
    expect(withHead.head!.weight.grad).not.toBeNull();
    const grads = (m: learn.ForwardForward) =>
      m.layers.flatMap((l) => l.parameters().map((p) => p.grad!));
    grads(withHead).forEach((g, i) => expectBitEqual(g, grads(plain)[i]));
  });

  it('peerNormalization keeps a running mean per unit in the state dict', () => {
    manualSeed(2);
    const ff = new learn.ForwardForward(layers(), { ...options, peerNormalization: 0.03 });
    expect(Object.keys(ff.stateDict())).toContain('peer_mean_1');
    const [x, y] = blobs(16, 2).tensors;
    ff.trainStep(x, y);
    expect(Array.from(ff.stateDict().peer_mean_0.dataSync()).some((v) => v > 0)).toBe(true);
  });
});

describe('bad input', () => {
  it('rejects empty layer lists and sizes that do not chain, naming the trainer', () => {
    expect(() => new learn.ForwardForward([])).toThrow(
      'ForwardForward: expected a non-empty array of layers (nn.Module), got an empty array',
    );
    expect(() => new learn.DirectFeedbackAlignment([block(8, 5), new nn.Linear(6, 2)])).toThrow(
      'DirectFeedbackAlignment: layer sizes do not chain: layer 0 outputs 5 features but layer 1 expects 6',
    );
    expect(() => new learn.SyntheticGradients([block(8, 5), 'x' as never])).toThrow(
      'SyntheticGradients: layer 1 is string x, not an nn.Module',
    );
  });

  it('rejects negative-data options that make no sense', () => {
    const layers = () => [block(DIMS, 8)];
    expect(() => new learn.ForwardForward(layers(), { negatives: 'bogus' as never })).toThrow(
      "ForwardForward: unknown negatives 'bogus'; expected one of 'random', 'hard'",
    );
    expect(() => new learn.ForwardForward(layers(), { numClasses: 1 })).toThrow(
      'ForwardForward: numClasses must be an integer >= 2 (negative data needs a wrong label), got 1',
    );
    expect(() => new learn.ForwardForward(layers(), { threshold: -1 })).toThrow(
      'ForwardForward: threshold must be a finite number > 0, got -1',
    );
    expect(() => new learn.ForwardForward(layers(), { labelScale: 0 })).toThrow(
      'ForwardForward: labelScale must be a finite number > 0, got 0',
    );
    expect(() => new learn.ForwardForward([block(10, 8)], { numClasses: 10 })).toThrow(
      'ForwardForward: the first layer takes 10 inputs, too few to hold a 10-class label and any data',
    );
    const ff = new learn.ForwardForward(layers(), { numClasses: CLASSES });
    expect(() => ff.trainStep(randn([2, DIMS]), tensor(Int32Array.from([0, 7])))).toThrow(
      'ForwardForward: labels must lie in [0, 4), got values from 0 to 7',
    );
  });

  it('rejects an unknown method and a model the trainers do not handle', () => {
    expect(() => createLearner('bogus' as never, 'mlp')).toThrow(
      "unknown method 'bogus'; expected one of backprop, ff, dfa, dni",
    );
    expect(() => createLearner('dfa', 'cnn')).toThrow(
      '--method dfa trains the MLP (layer by layer); --model cnn is trained with --method backprop only',
    );
  });
});
