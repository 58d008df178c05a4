/** inspect.gradientReport: the figures it reports and the problems it finds (issue 21). */
import { describe, expect, it } from 'vitest';
import { F, inspect, manualSeed, nn, noGrad, randint, randn, tensor } from '../src/index.js';
import { expectAllClose } from './helpers/close.js';
import {
  normSummaries,
  readOutputSummary,
  summarizeOutput,
} from '../src/inspect/tensor_summary.js';

/** Linear layers of `width` with `act()` between them (none after the last). */
function mlp(depth: number, width: number, act: () => nn.Module, input = 8, output = 4) {
  const layers: nn.Module[] = [];
  for (let i = 0; i < depth; i++) {
    layers.push(new nn.Linear(i === 0 ? input : width, i === depth - 1 ? output : width));
    if (i < depth - 1) layers.push(act());
  }
  return new nn.Sequential(...layers);
}

const linears = (model: nn.Module) => model.modules().filter((m) => m instanceof nn.Linear);

/** One forward and backward of a classification loss with activations recorded; the report. */
async function reportOn(
  model: nn.Module,
  options: inspect.GradientReportOptions = {},
  mse = false,
) {
  const x = randn([32, 8]);
  const activations = inspect.recordActivations(model);
  const out = model.call(x);
  const loss = mse ? F.mseLoss(out, randn(out.shape)) : F.crossEntropy(out, randint(0, 4, [32]));
  loss.backward();
  const report = await inspect.gradientReport(model, { lr: 0.1, activations, ...options });
  activations.remove();
  return report;
}

const kinds = (report: inspect.GradientReport) =>
  report.problems.map((p) => `${p.kind}@${p.layer}`);

describe('inspect.gradientReport', () => {
  it('flags vanishing gradients in a 20-layer sigmoid MLP with default init, first layers first', async () => {
    manualSeed(1);
    const report = await reportOn(mlp(20, 16, () => new nn.Sigmoid()));
    const vanishing = report.problems.filter((p) => p.kind === 'vanishing').map((p) => p.layer);
    // the first layers' gradients are orders of magnitude below the output layer's ...
    expect(vanishing).toContain('0');
    expect(vanishing).toContain('2');
    expect(vanishing.length).toBeGreaterThanOrEqual(10);
    // ... and the layers near the output are not flagged
    expect(vanishing).not.toContain('38');
    expect(vanishing).not.toContain('36');
    const first = report.problems.find((p) => p.layer === '0')!;
    expect(first.message).toMatch(
      /layer '0' \(Linear\): gradient norm \S+ is \S+ of the output layer '38''s/,
    );
    expect(first.message).toMatch(/vanishing threshold 0.001 of it \(vanishingRatio\)/);
    expect(first.message).toMatch(/He \(Kaiming\) init/);
    expect(first.message).toMatch(/residual connections/);
    expect(first.message).toMatch(/normalisation/);
    expect(report.problems.every((p) => p.kind === 'vanishing')).toBe(true);
  });

  it('flags exploding gradients in a deep linear net with scaled-up weights', async () => {
    manualSeed(2);
    const model = mlp(10, 16, () => new nn.Identity());
    noGrad(() => linears(model).forEach((l) => l.weight.mul_(4)));
    const report = await reportOn(model, {}, true);
    const exploding = report.problems.filter((p) => p.kind === 'exploding');
    expect(exploding.length).toBe(10);
    expect(exploding[0].message).toMatch(
      /layer '0' \(Linear\): gradient norm \S+ is above the exploding threshold 100 \(explodingNorm\)/,
    );
    expect(exploding[0].message).toMatch(/gradient clipping/);
    expect(exploding[0].message).toMatch(/lower learning rate/);
    expect(exploding[0].value).toBeGreaterThan(1e4);
    // the same net at its default scale is healthy
    manualSeed(2);
    expect(
      kinds(
        await reportOn(
          mlp(10, 16, () => new nn.Identity()),
          {},
          true,
        ),
      ),
    ).toEqual([]);
  });

  it('flags dead ReLUs after a bias shift, naming the ReLU and the fraction', async () => {
    manualSeed(3);
    const model = mlp(4, 32, () => new nn.ReLU());
    noGrad(() => linears(model)[1].bias!.sub_(20));
    const report = await reportOn(model);
    const dead = report.problems.filter((p) => p.kind === 'dead-relu');
    expect(dead.map((p) => p.layer)).toEqual(['3']);
    expect(dead[0].value).toBe(1);
    expect(dead[0].message).toMatch(
      /layer '3' \(ReLU\): 100% of its 32 units output zero for every example of the batch, above the dead-ReLU threshold 50% \(deadReluFraction\)/,
    );
    expect(dead[0].message).toMatch(/LeakyReLU/);
    // nothing reaches the layers before it: their gradients vanish
    expect(report.problems.filter((p) => p.kind === 'vanishing').map((p) => p.layer)).toEqual([
      '0',
      '2',
    ]);
  });

  it('flags nothing in a 4-layer ReLU MLP with He init', async () => {
    for (const seed of [4, 5, 6]) {
      manualSeed(seed);
      const model = mlp(4, 64, () => new nn.ReLU());
      noGrad(() =>
        linears(model).forEach((l) => {
          nn.init.kaimingNormal_(l.weight, { nonlinearity: 'relu' });
          nn.init.zeros_(l.bias!);
        }),
      );
      const report = await reportOn(model);
      expect(kinds(report)).toEqual([]);
      expect(report.layers.map((l) => l.name)).toEqual(['0', '1', '2', '3', '4', '5', '6']);
    }
  });

  it('reports the figures: norms, update ratio, activation mean / std, dead fraction', async () => {
    manualSeed(7);
    const model = mlp(2, 6, () => new nn.ReLU(), 3, 2);
    const x = randn([5, 3]);
    const activations = inspect.recordActivations(model);
    const out = model.call(x);
    out.square().sum().backward();
    const report = await inspect.gradientReport(model, { lr: 0.5, activations });
    const [fc1, relu, fc2] = report.layers;
    const l1 = linears(model)[0];
    const w = Number(
      l1.weight.grad!.square().sum().add(l1.bias!.grad!.square().sum()).sqrt().itemSync(),
    );
    expect(fc1.gradNorm).toBeCloseTo(w, 5);
    expect(fc1.parameters.map((p) => p.name)).toEqual(['0.weight', '0.bias']);
    expect(fc1.parameters[0].gradNorm).toBeCloseTo(Number(l1.weight.grad!.norm().itemSync()), 5);
    expect(fc1.parameters[0].weightNorm).toBeCloseTo(Number(l1.weight.norm().itemSync()), 5);
    expect(fc1.parameters[0].updateRatio).toBeCloseTo(
      (0.5 * fc1.parameters[0].gradNorm!) / fc1.parameters[0].weightNorm,
      8,
    );
    expect(fc1.parameters[0].shape).toEqual([6, 3]);
    const hidden = noGrad(() => F.relu(l1.call(x)));
    expect(relu.type).toBe('ReLU');
    expect(relu.gradNorm).toBeNull();
    expect(relu.activation!.mean).toBeCloseTo(Number(hidden.mean().itemSync()), 5);
    expect(relu.activation!.std).toBeCloseTo(Number(hidden.std({ correction: 0 }).itemSync()), 5);
    const deadUnits = (hidden.amax(0).dataSync() as Float32Array).filter((v) => v <= 0).length;
    expect(relu.activation!.deadFraction).toBeCloseTo(deadUnits / 6, 10);
    expect(fc2.activation!.mean).toBeCloseTo(Number(out.mean().itemSync()), 5);
    expect(fc2.activation!.deadFraction).toBeNull();
    activations.remove();
  });

  it('merges the statistics of several calls exactly', async () => {
    const layer = new nn.Linear(2, 3);
    const recorder = inspect.recordActivations(layer);
    const a = randn([4, 2]);
    const b = randn([7, 2]);
    layer.call(a);
    layer.call(b);
    const outputs = noGrad(() => [layer.forward(a), layer.forward(b)]);
    const flat = [...outputs[0].dataSync(), ...outputs[1].dataSync()];
    const mean = flat.reduce((s, v) => s + v, 0) / flat.length;
    const std = Math.sqrt(flat.reduce((s, v) => s + (v - mean) ** 2, 0) / flat.length);
    const stats = (await recorder.stats(layer))!;
    expect(stats.calls).toBe(2);
    expectAllClose([stats.mean, stats.std], [mean, std], { rtol: 1e-5 });
  });

  it('flags NaN in a gradient and names the parameter', async () => {
    const model = mlp(2, 4, () => new nn.Tanh(), 3, 1);
    model
      .call(randn([2, 3]))
      .sum()
      .backward();
    const fc2 = linears(model)[1];
    fc2.weight.grad = tensor([[NaN, 1, 2, 3]]);
    const report = await inspect.gradientReport(model);
    expect(kinds(report)).toEqual(['nan@2']);
    expect(report.problems[0].message).toMatch(
      /layer '2' \(Linear\): 1 NaN\/Inf values \(1 in the gradient of '2.weight'\)/,
    );
    expect(report.layers[0].updateRatio).toBeNull(); // no lr given
  });

  it('takes configurable thresholds and rejects bad options with clear errors', async () => {
    manualSeed(8);
    const model = mlp(4, 16, () => new nn.ReLU());
    const strict = await reportOn(model, { thresholds: { explodingNorm: 1e-6 } });
    expect(strict.problems.filter((p) => p.kind === 'exploding').length).toBe(4);
    expect(strict.thresholds.explodingNorm).toBe(1e-6);
    expect(strict.thresholds.vanishingRatio).toBe(inspect.DEFAULT_THRESHOLDS.vanishingRatio);
    await expect(
      inspect.gradientReport(model, { thresholds: { explodingNorm: -1 } }),
    ).rejects.toThrow(
      /inspect.gradientReport: threshold explodingNorm must be a finite number >= 0, got -1/,
    );
    await expect(
      inspect.gradientReport(model, { thresholds: { vanishing: 1 } as never }),
    ).rejects.toThrow(/unknown threshold 'vanishing'; known: vanishingRatio/);
    await expect(inspect.gradientReport({} as never)).rejects.toThrow(
      /expected an nn.Module, got object/,
    );
    await expect(inspect.gradientReport(model, { lr: NaN })).rejects.toThrow(
      /lr must be a finite number/,
    );
    const other = inspect.recordActivations(new nn.Linear(1, 1));
    await expect(inspect.gradientReport(model, { activations: other })).rejects.toThrow(
      /records another model/,
    );
  });
});

describe('tensor summaries: the host pass and the device-op path agree', () => {
  it('norms and NaN/Inf counts', async () => {
    manualSeed(9);
    const tensors = [
      randn([50, 7]),
      randn([13]).mul(1e-30), // squares underflow float32
      randn([5]).mul(1e30), // squares overflow float32
      tensor([1, NaN, Infinity, 2]),
      randn([3, 4], { dtype: 'float64' }).mul(1e200), // squares overflow float64
      tensor([0, 0]),
    ];
    const host = await normSummaries(tensors);
    const device = await normSummaries(tensors, true);
    expect(host.map((s) => s.nonFinite)).toEqual([0, 0, 0, 2, 0, 0]);
    expect(device.map((s) => s.nonFinite)).toEqual(host.map((s) => s.nonFinite));
    // float64 with scaling: the norm without overflow or underflow
    const exact = tensors.map((t) => {
      const v = Array.from(t.dataSync());
      const top = Math.max(...v.map(Math.abs));
      return top === 0 ? 0 : top * Math.sqrt(v.reduce((s, x) => s + (x / top) ** 2, 0));
    });
    expectAllClose(
      host.map((s) => s.norm),
      [...exact.slice(0, 3), NaN, ...exact.slice(4)],
      { rtol: 1e-12 },
    );
    expectAllClose(
      device.map((s) => s.norm),
      host.map((s) => s.norm),
      { rtol: 1e-5 },
    );
  });

  it('output moments and fired units', async () => {
    manualSeed(10);
    const y = F.relu(randn([6, 3, 2]).sub(0.8));
    const host = await readOutputSummary(summarizeOutput(y, true));
    const device = await readOutputSummary(summarizeOutput(y, true, true));
    expectAllClose(
      [host.mean, host.variance, host.nonFinite],
      [device.mean, device.variance, device.nonFinite],
      { rtol: 1e-5 },
    );
    expect(Array.from(host.fired!)).toEqual(Array.from(device.fired!, Number));
    expect(Array.from(host.fired!)).toEqual(
      Array.from(y.amax(0).gt(0).reshape([-1]).dataSync(), Number),
    );
  });
});
