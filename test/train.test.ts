import { mkdtempSync, readdirSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PNG } from 'pngjs';
import {
  Generator,
  manualSeed,
  nn,
  optim,
  randn,
  tensor,
  F,
  data,
  train,
  type Tensor,
} from '../src/index.js';
import {
  loadCheckpoint,
  ModelCheckpoint,
  ProgressBar,
  readCheckpoint,
  saveCheckpoint,
} from '../src/node.js';
import { loadIntoFresh, steppedState } from './helpers/checkpoint_round_trip.js';
import { runCli } from './helpers/cli.js';
import { expectAllClose } from './helpers/close.js';

const { fit, EarlyStopping, accuracy } = train;

/** Two Gaussian blobs in 2-D: a problem a small MLP solves quickly. */
function blobs(n: number, seed: number) {
  const generator = new Generator(seed);
  const labels = Array.from({ length: n }, (_, i) => i % 2);
  const points = randn([n, 2], { generator });
  const shift = tensor(labels.map((l) => [l ? 2 : -2, l ? 2 : -2]));
  return new data.TensorDataset(points.add(shift), tensor(Int32Array.from(labels)));
}

function makeModel(seed: number) {
  manualSeed(seed);
  return new nn.Sequential(new nn.Linear(2, 16), new nn.ReLU(), new nn.Linear(16, 2));
}

const lossFn = (out: Tensor, y: Tensor) => F.crossEntropy(out, y);

function weightsOf(model: nn.Module): number[] {
  return model.parameters().flatMap((p) => Array.from(p.dataSync()));
}

describe('fit', () => {
  it('trains, validates, computes metrics and records history', async () => {
    const model = makeModel(0);
    const loader = new data.DataLoader(blobs(256, 1), {
      batchSize: 32,
      shuffle: true,
      generator: new Generator(2),
    });
    const valLoader = new data.DataLoader(blobs(128, 3), { batchSize: 64 });
    const optimizer = new optim.Adam(model.parameters(), { lr: 0.05 });
    const history = await fit(model, loader, {
      optimizer,
      loss: lossFn,
      epochs: 5,
      valLoader,
      metrics: { accuracy },
    });
    expect(history.epochs).toHaveLength(5);
    expect(Object.keys(history.epochs[0]).sort()).toEqual([
      'accuracy',
      'loss',
      'valAccuracy',
      'valLoss',
    ]);
    expect(history.series.loss[4]).toBeLessThan(history.series.loss[0]);
    expect(history.series.valAccuracy[4]).toBeGreaterThan(0.95);
  });

  it('rejects bad options and a diverging loss', async () => {
    const model = makeModel(0);
    const loader = new data.DataLoader(blobs(8, 1), { batchSize: 4 });
    const optimizer = new optim.SGD(model.parameters(), { lr: 0.1 });
    await expect(fit(model, loader, { optimizer, loss: lossFn, epochs: -1 })).rejects.toThrow(
      /fit: epochs must be a non-negative integer/,
    );
    const nanLoss = (out: Tensor) => out.sum().mul(NaN);
    await expect(fit(model, loader, { optimizer, loss: nanLoss, epochs: 1 })).rejects.toThrow(
      /fit: the loss became NaN at epoch 0, step 0/,
    );
  });
});

describe('EarlyStopping', () => {
  const fakeState = (model: nn.Module) => ({
    epoch: 0,
    stepsPerEpoch: 1,
    stopTraining: false,
    model,
  });

  it('stops after `patience` epochs without improvement and restores the best weights', () => {
    const model = makeModel(0);
    const state = fakeState(model);
    const stopper = new EarlyStopping({
      monitor: 'valLoss',
      patience: 2,
      restoreBestWeights: true,
    });
    const best = weightsOf(model);
    stopper.onEpochEnd(0, { valLoss: 1.0 }, state);
    for (const p of model.parameters()) p.detach().add_(1); // later epochs change the weights
    stopper.onEpochEnd(1, { valLoss: 1.5 }, state);
    expect(state.stopTraining).toBe(false);
    stopper.onEpochEnd(2, { valLoss: 1.2 }, state);
    expect(state.stopTraining).toBe(true);
    expect(stopper.stoppedEpoch).toBe(2);
    expect(stopper.bestEpoch).toBe(0);
    expect(weightsOf(model)).toEqual(best);
  });

  it('honours minDelta and max mode, and names a missing monitored quantity', () => {
    const model = makeModel(0);
    const state = fakeState(model);
    const stopper = new EarlyStopping({ monitor: 'valAccuracy', patience: 0, minDelta: 0.01 });
    expect(stopper.monitor.mode).toBe('max');
    stopper.onEpochEnd(0, { valAccuracy: 0.9 }, state);
    stopper.onEpochEnd(1, { valAccuracy: 0.905 }, state); // below minDelta: no improvement
    expect(state.stopTraining).toBe(true);
    expect(() =>
      new EarlyStopping({ monitor: 'valLoss' }).onEpochEnd(0, { loss: 1 }, state),
    ).toThrow(/EarlyStopping: monitored quantity 'valLoss' is not in the logs; available: loss/);
    expect(() => new EarlyStopping({ patience: -1 })).toThrow(
      /patience must be a non-negative integer/,
    );
  });

  it('ends fit early', async () => {
    const model = makeModel(0);
    const loader = new data.DataLoader(blobs(32, 1), { batchSize: 32 });
    // lr 0 never improves the loss: training stops after 1 + patience epochs.
    const optimizer = new optim.SGD(model.parameters(), { lr: 0 });
    const history = await fit(model, loader, {
      optimizer,
      loss: lossFn,
      epochs: 10,
      callbacks: [new EarlyStopping({ monitor: 'loss', patience: 2 })],
    });
    expect(history.epochs).toHaveLength(3);
  });
});

describe('checkpoints', () => {
  const dir = mkdtempSync(join(tmpdir(), 'chainrule-ckpt-'));

  it('round-trips model, optimizer and generator state', () => {
    const model = makeModel(0);
    const { optimizer, generator } = steppedState(model);
    generator.nextUint32();
    const path = join(dir, 'roundtrip.ckpt');
    saveCheckpoint(path, {
      model,
      optimizer,
      generators: { loader: generator },
      epoch: 3,
      extra: { note: 'x' },
    });
    const other = makeModel(1);
    const loaded = loadIntoFresh(path, other);
    const { contents, optimizer: otherOptimizer, generator: otherGenerator } = loaded;
    expect(contents.epoch).toBe(3);
    expect(contents.extra).toEqual({ note: 'x' });
    expect(weightsOf(other)).toEqual(weightsOf(model));
    expect(otherOptimizer.paramGroups[0].lr).toBe(0.01);
    expect(otherGenerator.nextUint32()).toBe(generator.nextUint32());
  });

  it('recognises corrupted and foreign files', () => {
    const model = makeModel(0);
    const path = join(dir, 'corrupt.ckpt');
    saveCheckpoint(path, { model });
    const text = readFileSync(path, 'utf8');
    writeFileSync(path, text.slice(0, text.length / 2));
    expect(() => readCheckpoint(path)).toThrow(
      /corrupt\.ckpt is not a chainrule checkpoint or is corrupted/,
    );
    writeFileSync(path, text.replace(/"payload":"\{/, '"payload":"{ '));
    expect(() => readCheckpoint(path)).toThrow(/corrupted \(checksum mismatch\)/);
    writeFileSync(path, '{"hello": 1}');
    expect(() => readCheckpoint(path)).toThrow(/is not a chainrule checkpoint/);
    expect(() => readCheckpoint(join(dir, 'missing.ckpt'))).toThrow(/cannot read .*missing\.ckpt/);
    expect(() => loadCheckpoint(path, { model })).toThrow();
  });

  it('a failed save leaves the previous checkpoint intact and no temporary files', () => {
    const model = makeModel(0);
    const path = join(dir, 'keep.ckpt');
    saveCheckpoint(path, { model, epoch: 1 });
    const before = readFileSync(path, 'utf8');
    const failing = {
      stateDict: () => {
        throw new Error('disk full');
      },
      loadStateDict: () => undefined,
    };
    expect(() => saveCheckpoint(path, { model, optimizer: failing, epoch: 2 })).toThrow(
      /disk full/,
    );
    expect(readFileSync(path, 'utf8')).toBe(before);
    // The target is a directory: the rename fails after the temporary file was written.
    const blocked = join(dir, 'blocked.ckpt');
    mkdirSync(join(blocked, 'inside'), { recursive: true });
    expect(() => saveCheckpoint(blocked, { model })).toThrow(
      /saveCheckpoint: could not write .*blocked\.ckpt.*previous file there is unchanged/,
    );
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('resuming from a checkpoint continues exactly as if never stopped', async () => {
    const dataset = blobs(96, 7);
    const run = async (
      model: nn.Module,
      optimizer: optim.Optimizer,
      generator: Generator,
      from: number,
      to: number,
      callbacks: train.Callback[] = [],
    ) => {
      const loader = new data.DataLoader(dataset, { batchSize: 16, shuffle: true, generator });
      await fit(model, loader, {
        optimizer,
        loss: lossFn,
        epochs: to,
        initialEpoch: from,
        callbacks,
      });
    };
    // Uninterrupted: 4 epochs.
    const straight = makeModel(11);
    const straightGen = new Generator(3);
    await run(straight, new optim.Adam(straight.parameters(), { lr: 0.01 }), straightGen, 0, 4);
    // Interrupted after 2 epochs, saved by ModelCheckpoint, resumed in fresh objects.
    const path = join(dir, 'resume.ckpt');
    const first = makeModel(11);
    const firstGen = new Generator(3);
    const firstOptimizer = new optim.Adam(first.parameters(), { lr: 0.01 });
    await run(first, firstOptimizer, firstGen, 0, 2, [
      new ModelCheckpoint(path, {
        monitor: 'loss',
        state: { optimizer: firstOptimizer, generators: { loader: firstGen } },
      }),
    ]);
    const resumed = makeModel(99);
    const resumedGen = new Generator(0);
    const resumedOptimizer = new optim.Adam(resumed.parameters(), { lr: 0.01 });
    const { epoch } = loadCheckpoint(path, {
      model: resumed,
      optimizer: resumedOptimizer,
      generators: { loader: resumedGen },
    });
    expect(epoch).toBe(2);
    await run(resumed, resumedOptimizer, resumedGen, epoch!, 4);
    expect(weightsOf(resumed)).toEqual(weightsOf(straight));
  });
});

describe('fit with accumulateSteps', () => {
  /** SGD that counts its steps. */
  function countingSgd(model: nn.Module) {
    const sgd = new optim.SGD(model.parameters(), { lr: 0.1 });
    let steps = 0;
    return {
      optimizer: { step: () => (steps++, sgd.step()), zeroGrad: () => sgd.zeroGrad() },
      steps: () => steps,
    };
  }

  /** n blobs in float64, and two copies of one model: one for large batches, one accumulating. */
  function setup(n: number, seed: number) {
    const blobs32 = blobs(n, seed);
    const dataset = new data.TensorDataset(blobs32.tensors[0].double(), blobs32.tensors[1]);
    return { dataset, large: makeModel(seed).double(), small: makeModel(seed).double() };
  }

  it('steps once per group with the gradient of one large batch', async () => {
    const { dataset, large, small } = setup(40, 5);
    const a = countingSgd(large);
    await fit(large, new data.DataLoader(dataset, { batchSize: 40 }), {
      optimizer: a.optimizer,
      loss: lossFn,
      epochs: 2,
    });
    const b = countingSgd(small);
    await fit(small, new data.DataLoader(dataset, { batchSize: 10 }), {
      optimizer: b.optimizer,
      loss: lossFn,
      epochs: 2,
      accumulateSteps: 4,
    });
    expect([a.steps(), b.steps()]).toEqual([2, 2]);
    expectAllClose(weightsOf(small), weightsOf(large), { rtol: 1e-12, atol: 1e-14 });
  });

  it('averages a shorter last group over its own size', async () => {
    const { dataset, large, small } = setup(30, 6);
    // 3 batches of 10 in groups of 2: steps on batches {0, 1} and {2}.
    const b = countingSgd(small);
    await fit(small, new data.DataLoader(dataset, { batchSize: 10 }), {
      optimizer: b.optimizer,
      loss: lossFn,
      epochs: 1,
      accumulateSteps: 2,
    });
    const a = countingSgd(large);
    const first = new data.Subset(
      dataset,
      Array.from({ length: 20 }, (_, i) => i),
    );
    const last = new data.Subset(
      dataset,
      Array.from({ length: 10 }, (_, i) => 20 + i),
    );
    for (const part of [first, last])
      await fit(large, new data.DataLoader(part, { batchSize: part.length }), {
        optimizer: a.optimizer,
        loss: lossFn,
        epochs: 1,
      });
    expect(b.steps()).toBe(2);
    expectAllClose(weightsOf(small), weightsOf(large), { rtol: 1e-12, atol: 1e-14 });
    await expect(
      fit(small, [], { optimizer: b.optimizer, loss: lossFn, epochs: 1, accumulateSteps: 0 }),
    ).rejects.toThrow('fit: accumulateSteps must be a positive integer, got 0');
  });
});

describe('ProgressBar', () => {
  it('prints one plain line per epoch when not on a terminal', async () => {
    const lines: string[] = [];
    const stream = {
      write: (s: string) => (lines.push(s), true),
      isTTY: false,
    } as unknown as NodeJS.WritableStream;
    const model = makeModel(0);
    const loader = new data.DataLoader(blobs(64, 1), { batchSize: 16 });
    await fit(model, loader, {
      optimizer: new optim.SGD(model.parameters(), { lr: 0.1 }),
      loss: lossFn,
      epochs: 2,
      metrics: { accuracy },
      callbacks: [new ProgressBar(2, { stream })],
    });
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(
      /^epoch 1\/2 {2}train loss \d+\.\d{4} {2}train accuracy \d+\.\d{2}% {2}\(\d+\.\d s, \d+ ex\/s\)\n$/,
    );
  });
});

describe('the chainrule command', () => {
  it('trains, saves, evaluates and predicts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'chainrule-cli-'));
    const path = join(dir, 'mlp.ckpt');
    const trained = await runCli([
      'train',
      'mnist',
      '--limit',
      '512',
      '--epochs',
      '2',
      '--save',
      path,
    ]);
    expect(trained).toMatch(/test accuracy: \d+\.\d\d% \(test loss/);
    const accuracyLine = trained.match(/test accuracy: (\d+\.\d\d)%/)!;
    expect(Number(accuracyLine[1])).toBeGreaterThan(50); // 16 Adam steps on 512 digits; chance is 10%
    expect(await runCli(['eval', '--checkpoint', path])).toContain(
      `mlp: test accuracy ${accuracyLine[1]}%`,
    );
    const byIndex = await runCli(['predict', '--checkpoint', path, '--index', '0']);
    expect(byIndex).toMatch(/test image 0, label \d\nprediction: \d \(\d+\.\d%\)/);
    // The same digit as a PNG file (dark on light, 56×56, as a user might draw it) gets the same answer.
    const { datasets } = await import('../src/node.js');
    const pixels = datasets.mnist({ seed: 0 }).test.images.index(0, 0).dataSync();
    const png = new PNG({ width: 56, height: 56 });
    for (let y = 0; y < 56; y++) {
      for (let x = 0; x < 56; x++) {
        const v = Math.round(255 * (1 - pixels[Math.floor(y / 2) * 28 + Math.floor(x / 2)]));
        png.data.set([v, v, v, 255], 4 * (y * 56 + x));
      }
    }
    const image = join(dir, 'digit.png');
    writeFileSync(image, PNG.sync.write(png));
    const byImage = await runCli(['predict', '--checkpoint', path, '--image', image]);
    expect(byImage.match(/prediction: \d/)![0]).toBe(byIndex.match(/prediction: \d/)![0]);
    await expect(runCli(['predict', '--checkpoint', path, '--image', path])).rejects.toThrow(
      /predict: cannot read .*mlp\.ckpt as a PNG image/,
    );
  });
});
