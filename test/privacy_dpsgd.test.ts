import { describe, expect, it } from 'vitest';
import {
  F,
  Generator,
  manualSeed,
  nn,
  optim,
  privacy,
  randn,
  randint,
  tensor,
  Tensor,
  data,
  train,
  cat,
} from '../src/index.js';
import { expectAllClose, expectBitEqual } from './helpers/close.js';
import { gaussianNoise, gaussianNoiseInto } from '../src/privacy/noise.js';

/** A model with every layer kind that has a per-sample rule, in float64. */
class Mixed extends nn.Module {
  conv1 = new nn.Conv2d(2, 4, 3, { padding: 1, stride: 2 });
  gn = new nn.GroupNorm(2, 4);
  conv2 = new nn.Conv2d(4, 3, 2, { padding: 'same' });
  fc1 = new nn.Linear(3 * 3 * 3, 5);
  seq = new nn.Linear(3, 4); // applied to a sequence [N, T, 3]
  ln = new nn.LayerNorm([4]);
  shared = new nn.Linear(5, 5); // called twice: its per-sample gradients add up
  fc2 = new nn.Linear(5 + 4, 3);
  forward(x: Tensor): Tensor {
    const h = this.conv2.call(F.relu(this.gn.call(this.conv1.call(x)))); // [N, 3, 3, 3]
    const a = F.relu(this.fc1.call(h.flatten(1))); // [N, 5]
    const b = this.shared.call(this.shared.call(a).tanh()); // [N, 5]
    const s = this.ln.call(this.seq.call(h.flatten(2).transpose(1, 2))).sum(1); // [N, 4]
    return this.fc2.call(cat([b, s], 1));
  }
}

function mixedModel(): nn.Module {
  manualSeed(1);
  return new Mixed().double();
}

/** The gradient of example i's own loss, one backward per example. */
function oneAtATime(model: nn.Module, x: Tensor, y: Tensor, i: number): Map<Tensor, Tensor> {
  model.zeroGrad();
  F.crossEntropy(model.call(x.narrow(0, i, 1)), y.narrow(0, i, 1)).backward();
  return new Map(model.parameters().map((p) => [p as Tensor, p.grad!.clone()]));
}

describe('privacy.GradSampleModule', () => {
  it('gives per-sample gradients equal to gradients computed one example at a time', () => {
    const model = mixedModel();
    const gsm = new privacy.GradSampleModule(model);
    const x = randn([5, 2, 6, 6], { dtype: 'float64' });
    const y = randint(0, 3, [5]);
    F.crossEntropy(gsm.call(x), y).backward();
    const perSample = gsm.perSampleGrads();
    expect(perSample.size).toBe(model.parameters().length);
    const batchGrads = new Map(model.parameters().map((p) => [p as Tensor, p.grad!.clone()]));
    // The batch's ordinary gradient is still the mean of the per-sample ones.
    for (const [p, ps] of perSample)
      expectAllClose(ps.mean(0), batchGrads.get(p)!, { rtol: 1e-9, atol: 1e-12 });
    gsm.clearCaptures();
    for (let i = 0; i < 5; i++) {
      const single = oneAtATime(model, x, y, i);
      for (const [p, ps] of perSample)
        expectAllClose(ps.select(0, i), single.get(p)!, {
          rtol: 1e-9,
          atol: 1e-12,
          message: `example ${i}, parameter of shape [${p.shape}]`,
        });
    }
  });

  it('clips each example to maxGradNorm: the shortcuts agree with clipping built gradients', () => {
    manualSeed(3);
    const model = new nn.Sequential(
      new nn.Linear(6, 8),
      new nn.ReLU(),
      new nn.Linear(8, 3),
    ).double();
    const gsm = new privacy.GradSampleModule(model);
    const x = randn([7, 6], { dtype: 'float64' }).mul(3);
    const y = randint(0, 3, [7]);
    F.crossEntropy(gsm.call(x), y).backward();
    const perSample = gsm.perSampleGrads();
    const C = 0.5;
    const { sums, norms, batchSize } = gsm.clipAndSum(C);
    expect(batchSize).toBe(7);
    // Norms over all parameters, from the built per-sample gradients.
    const built = Array.from({ length: 7 }, (_, i) =>
      Math.sqrt(
        [...perSample.values()].reduce(
          (s, ps) => s + (ps.select(0, i).square().sum().itemSync() as number),
          0,
        ),
      ),
    );
    expectAllClose(norms!, built, { rtol: 1e-9 });
    expect(built.some((n) => n > C)).toBe(true);
    for (const [p, ps] of perSample) {
      const factors = built.map((n) => Math.min(1, C / (n + 1e-6)));
      const want = ps
        .mul(tensor(factors, { dtype: 'float64' }).reshape([7, ...p.shape.map(() => 1)]))
        .sum(0);
      expectAllClose(sums.get(p)!, want, { rtol: 1e-9, atol: 1e-12 });
    }
    // Each clipped example's gradient has norm at most C.
    const clippedNorms = built.map((n) => n * Math.min(1, C / (n + 1e-6)));
    expect(Math.max(...clippedNorms)).toBeLessThanOrEqual(C);
  });

  it("with accumulateGrads off, skips the parameters' .grad and clips the same", () => {
    manualSeed(6);
    const model = new nn.Sequential(
      new nn.Linear(6, 8),
      new nn.ReLU(),
      new nn.Linear(8, 3),
    ).double();
    const gsm = new privacy.GradSampleModule(model);
    const x = randn([5, 6], { dtype: 'float64', requiresGrad: true });
    const y = randint(0, 3, [5]);
    F.crossEntropy(gsm.call(x), y).backward();
    const want = gsm.clipAndSum(0.5);
    const wantInputGrad = x.grad!.clone();
    gsm.zeroGrad();
    gsm.clearCaptures();
    x.grad = null;
    gsm.accumulateGrads = false;
    F.crossEntropy(gsm.call(x), y).backward();
    for (const p of model.parameters()) expect(p.grad).toBeNull();
    // The input's gradient flows as before, and the clipped sums need no ordinary .grad.
    expectAllClose(x.grad!, wantInputGrad, { rtol: 1e-12 });
    const got = gsm.clipAndSum(0.5);
    expectAllClose(got.norms!, want.norms!, { rtol: 1e-12 });
    for (const [p, s] of want.sums) expectAllClose(got.sums.get(p)!, s, { rtol: 1e-12 });
  });

  it('refuses batch norm, naming the layer and group norm as the fix', () => {
    const model = new nn.Sequential(new nn.Conv2d(1, 8, 3), new nn.BatchNorm2d(8), new nn.ReLU());
    expect(() => new privacy.GradSampleModule(model)).toThrow(
      /layer '1' \(BatchNorm2d\) is batch norm.*nn\.GroupNorm\(8, 8\)/,
    );
    const custom = new nn.Sequential(new nn.Embedding(10, 4));
    expect(() => privacy.validateModule(custom)).toThrow(
      /layer '0' \(Embedding\).*no per-sample gradient rule/,
    );
  });
});

describe('privacy.DPOptimizer', () => {
  it('adds noise of std noiseMultiplier·maxGradNorm / expectedBatchSize', () => {
    const layer = new nn.Linear(400, 50).double();
    const gsm = new privacy.GradSampleModule(layer, { lossReduction: 'sum' });
    const sgd = new optim.SGD(gsm.parameters(), { lr: 1 });
    const opt = new privacy.DPOptimizer(sgd, {
      module: gsm,
      noiseMultiplier: 1.3,
      maxGradNorm: 2,
      expectedBatchSize: 10,
      generator: new Generator(5),
    });
    // A zero loss: the gradients are all zero, so what the step adds is the noise alone.
    gsm
      .call(randn([4, 400], { dtype: 'float64' }))
      .mul(0)
      .sum()
      .backward();
    opt.privatizeGrads();
    const g = Array.from(layer.weight.grad!.dataSync());
    const n = g.length;
    const mean = g.reduce((s, v) => s + v, 0) / n;
    const std = Math.sqrt(g.reduce((s, v) => s + (v - mean) ** 2, 0) / n);
    // 20,000 draws: the sample std is within 2% of the truth with overwhelming probability.
    expect(Math.abs(mean)).toBeLessThan(0.02 * 2.6);
    expect(Math.abs(std - 2.6) / 2.6).toBeLessThan(0.02);
  });

  it('draws normal noise: variance, tails and kurtosis of 200,000 samples', () => {
    const x = gaussianNoise([200000], 1, new Generator(8), 'float64').dataSync();
    let v = 0;
    let k = 0;
    let beyond2 = 0;
    let beyond3 = 0;
    for (const a of x) {
      v += a * a;
      k += a ** 4;
      if (Math.abs(a) > 2) beyond2++;
      if (Math.abs(a) > 3) beyond3++;
    }
    const n = x.length;
    // Each bound is about five standard errors of its estimate.
    expect(Math.abs(v / n - 1)).toBeLessThan(0.016);
    expect(Math.abs(k / n - 3)).toBeLessThan(0.11);
    expect(Math.abs(beyond2 / n - 0.0455)).toBeLessThan(0.0024);
    expect(Math.abs(beyond3 / n - 0.0027)).toBeLessThan(0.0006);
  });

  it('draws the same noise bits in WebAssembly as in JavaScript, and leaves the generator the same', () => {
    // 150,000 samples: three of the kernel's chunks, some thousand rejections.
    const fast = new Float32Array(150_001);
    const slow = new Float32Array(150_001);
    const g1 = new Generator(11);
    const g2 = new Generator(11);
    gaussianNoiseInto(fast, 0.7, g1);
    gaussianNoiseInto(slow, 0.7, g2, true);
    expectBitEqual(fast, slow);
    expect(g1.getState()).toEqual(g2.getState());
    expect(fast.some((v) => Math.abs(v) > 0.7 * 3.442619855899)).toBe(true); // the tail was drawn
  });

  it('divides the clipped sum by the expected batch size for a mean loss', () => {
    manualSeed(4);
    const layer = new nn.Linear(3, 2).double();
    const gsm = new privacy.GradSampleModule(layer);
    const opt = new privacy.DPOptimizer(new optim.SGD(gsm.parameters(), { lr: 1 }), {
      module: gsm,
      noiseMultiplier: 0,
      maxGradNorm: 1e6,
      expectedBatchSize: 8,
    });
    const x = randn([4, 3], { dtype: 'float64' });
    const t = randn([4, 2], { dtype: 'float64' });
    // The plain gradient through F.linear: the layer's own calls skip it under a DPOptimizer.
    F.mseLoss(F.linear(x, layer.weight, layer.bias), t).backward();
    const plain = layer.weight.grad!.clone(); // mean over 4 examples
    opt.zeroGrad();
    F.mseLoss(gsm.call(x), t).backward();
    opt.privatizeGrads();
    // No clipping and no noise: the sum of the 4 examples' gradients over 8.
    expectAllClose(layer.weight.grad!, plain.mul(4 / 8), { rtol: 1e-9 });
  });
});

describe('privacy.DPDataLoader and makePrivate', () => {
  it('samples each example with probability sampleRate', () => {
    const ds = new data.TensorDataset(randn([400, 2]), randint(0, 2, [400]));
    const loader = new privacy.DPDataLoader(ds, { sampleRate: 0.05, generator: new Generator(2) });
    expect(loader.length).toBe(20);
    const sizes = [...loader].map((b) => (b as Tensor[])[0].shape[0]);
    const mean = sizes.reduce((a, b) => a + b, 0) / sizes.length;
    expect(Math.abs(mean - 20)).toBeLessThan(4); // std of the mean ≈ 1
    // Each example on its own: in about 30% of 2,000 batches (std ≈ 1%), the last one included.
    const small = new data.TensorDataset(tensor(Array.from({ length: 50 }, (_, i) => i)));
    const many = new privacy.DPDataLoader(small, {
      sampleRate: 0.3,
      generator: new Generator(3),
      stepsPerEpoch: 2000,
    });
    const counts = new Array(50).fill(0);
    for (const [b] of many as Iterable<Tensor[]>) for (const i of b.dataSync()) counts[i]++;
    expect(Math.min(...counts) / 2000).toBeGreaterThan(0.25);
    expect(Math.max(...counts) / 2000).toBeLessThan(0.35);
    const all = new privacy.DPDataLoader(small, { sampleRate: 1, generator: new Generator(3) });
    expect([...all].map((b) => (b as Tensor[])[0].shape[0])).toEqual([50]);
    expect(new Set(sizes).size).toBeGreaterThan(3); // sizes vary
  });

  it('trains a small problem privately and counts the steps', async () => {
    manualSeed(0);
    const x = randn([256, 4]);
    const y = x.narrow(1, 0, 1).squeeze(1).gt(0).int();
    const ds = new data.TensorDataset(x, y);
    const model = new nn.Sequential(new nn.Linear(4, 8), new nn.ReLU(), new nn.Linear(8, 2));
    const { module, optimizer, dataLoader, accountant, sampleRate } = privacy.makePrivate({
      module: model,
      optimizer: new optim.SGD(model.parameters(), { lr: 0.5 }),
      dataLoader: new data.DataLoader(ds, { batchSize: 32, generator: new Generator(1) }),
      noiseMultiplier: 0.5,
      maxGradNorm: 1,
    });
    expect(sampleRate).toBe(32 / 256);
    const history = await train.fit(module, dataLoader, {
      optimizer,
      loss: (o, t) => F.crossEntropy(o, t),
      epochs: 5,
      metrics: { accuracy: train.accuracy },
    });
    expect(history.series.accuracy.at(-1)).toBeGreaterThan(0.8);
    expect(accountant.steps).toBe(5 * 8);
    const eps = accountant.getEpsilon(1e-5);
    expect(eps).toBeCloseTo(
      privacy.computeEpsilon({ sampleRate, noiseMultiplier: 0.5, steps: 40, delta: 1e-5 }).epsilon,
      10,
    );
    // The wrapper's state dict is the model's own, without a prefix.
    expect(Object.keys(module.stateDict())).toEqual(Object.keys(model.stateDict()));
  });

  it('chooses the noise for a target ε over the planned epochs', () => {
    const ds = new data.TensorDataset(randn([100, 3]), randint(0, 2, [100]));
    const model = new nn.Linear(3, 2);
    const { noiseMultiplier, dataLoader, sampleRate } = privacy.makePrivate({
      module: model,
      optimizer: new optim.SGD(model.parameters(), { lr: 0.1 }),
      dataLoader: new data.DataLoader(ds, { batchSize: 10 }),
      maxGradNorm: 1,
      targetEpsilon: 2,
      delta: 1e-5,
      epochs: 4,
    });
    const steps = 4 * dataLoader.length;
    const eps = privacy.computeEpsilon({ sampleRate, noiseMultiplier, steps, delta: 1e-5 });
    expect(eps.epsilon).toBeLessThanOrEqual(2);
    expect(eps.epsilon).toBeGreaterThan(1.98);
    expect(() =>
      privacy.makePrivate({
        module: model,
        optimizer: new optim.SGD(model.parameters(), { lr: 0.1 }),
        dataLoader: new data.DataLoader(ds, { batchSize: 10 }),
        maxGradNorm: 1,
        targetEpsilon: 2,
      }),
    ).toThrow(/targetEpsilon needs delta/);
  });

  it('takes a step of noise alone on an empty batch', () => {
    const ds = new data.TensorDataset(randn([3, 4]), randint(0, 2, [3]));
    const model = new nn.Linear(4, 2);
    const { module, optimizer, dataLoader } = privacy.makePrivate({
      module: model,
      optimizer: new optim.SGD(model.parameters(), { lr: 1 }),
      dataLoader: new data.DataLoader(ds, { batchSize: 1, generator: new Generator(0) }),
      noiseMultiplier: 1,
      maxGradNorm: 1,
      poissonSampling: true,
    });
    const empty = [...dataLoader].find((b) => (b as Tensor[])[0].shape[0] === 0) as
      Tensor[] | undefined;
    // With q = 1/3 and 3 examples, each batch is empty with probability 8/27; force one if none came.
    const [bx, by] = empty ?? [ds.tensors[0].narrow(0, 0, 0), ds.tensors[1].narrow(0, 0, 0)];
    expect(bx.shape).toEqual([0, 4]);
    const before = model.weight.clone();
    optimizer.zeroGrad();
    F.crossEntropy(module.call(bx), by, { reduction: 'sum' }).backward();
    optimizer.step();
    const moved = model.weight.sub(before).dataSync();
    expect(moved.every((v) => Number.isFinite(v) && v !== 0)).toBe(true);
  });
});
