/**
 * `chainrule train autoencoder|vae|gan`: generative models on the seeded 8,000 / 2,000 MNIST
 * split. Each writes PNG grids and returns the numbers of its closing line.
 */
import { join } from 'node:path';
import { noGrad } from '../autograd/grad_mode.js';
import { mnist } from '../data/datasets/mnist.js';
import { DataLoader, TensorDataset } from '../data/index.js';
import * as F from '../nn/functional/index.js';
import type * as nn from '../nn/index.js';
import * as optim from '../optim/index.js';
import { cat } from '../autograd/ops/shape_ops.js';
import { ones, randn, zeros } from '../tensor/creation.js';
import { Generator, manualSeed } from '../tensor/random.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Callback } from '../train/callbacks.js';
import { evaluate, fit } from '../train/fit.js';
import { ProgressBar } from '../train/progress_bar.js';
import {
  createAutoencoder,
  createDiscriminator,
  createGenerator,
  VAE,
} from './generative_models.js';
import { writeImageGrid } from './png_grid.js';

export type GenerativeJob = 'autoencoder' | 'vae' | 'gan';
export const GENERATIVE_JOBS: readonly GenerativeJob[] = ['autoencoder', 'vae', 'gan'];

/** Epochs and learning rate of each job's default run. */
export const GENERATIVE_DEFAULTS: Record<GenerativeJob, { epochs: number; lr: number }> = {
  autoencoder: { epochs: 10, lr: 1e-3 },
  vae: { epochs: 20, lr: 1e-3 },
  gan: { epochs: 15, lr: 2e-4 },
};

export interface GenerativeJobOptions {
  epochs: number;
  lr: number;
  batchSize: number;
  seed: number;
  /** Folder the PNG grids go to. */
  out: string;
  /** Use at most this many training images. */
  limit?: number;
  /** Show progress on this stream (null: silent). */
  progress?: NodeJS.WritableStream | null;
}

/** Training images [N, 1, 28, 28] (the first `limit`) and test images [2000, 1, 28, 28]. */
function digits(options: GenerativeJobOptions): { train: Tensor; test: Tensor } {
  manualSeed(options.seed);
  const { train, test } = mnist({ seed: options.seed });
  const n = Math.min(options.limit ?? train.length, train.length);
  return { train: train.images.narrow(0, 0, n), test: test.images };
}

function progress(options: GenerativeJobOptions): Callback[] {
  return options.progress === null
    ? []
    : [new ProgressBar(options.epochs, { stream: options.progress ?? process.stderr })];
}

/** Rows of 16 originals followed by their 16 reconstructions. */
function pairs(originals: Tensor, reconstructions: Tensor): Tensor {
  const rows: Tensor[] = [];
  for (let i = 0; i < originals.shape[0]; i += 16) {
    const k = Math.min(16, originals.shape[0] - i);
    rows.push(originals.narrow(0, i, k).reshape([k, 784]));
    rows.push(reconstructions.narrow(0, i, k).reshape([k, 784]));
  }
  return cat(rows, 0);
}

export interface AutoencoderResult {
  testMse: number;
  seconds: number;
  images: string[];
}

const mse = (output: Tensor, target: Tensor): Tensor => F.mseLoss(output, target);

/** Trains `model` through fit with Adam on (inputs, targets) pairs; returns the seconds it took. */
async function fitPairs(
  model: nn.Module,
  inputs: Tensor,
  targets: Tensor,
  options: GenerativeJobOptions,
): Promise<number> {
  const loader = new DataLoader(new TensorDataset(inputs, targets), {
    batchSize: options.batchSize,
    shuffle: true,
    generator: new Generator(options.seed),
  });
  const start = performance.now();
  await fit(model, loader, {
    optimizer: new optim.Adam(model.parameters(), { lr: options.lr }),
    loss: mse,
    epochs: options.epochs,
    callbacks: progress(options),
  });
  return (performance.now() - start) / 1000;
}

/** Writes the first 64 test digits, each row of 16 followed by its reconstructions. */
function writeReconstructions(model: nn.Module, test: Tensor, path: string): string {
  const shown = test.narrow(0, 0, 64);
  model.eval();
  return writeImageGrid(
    path,
    pairs(
      shown,
      noGrad(() => model.call(shown)),
    ),
    16,
  );
}

const flat = (x: Tensor): Tensor => x.reshape([x.shape[0], 784]);

/** Trains the 784-256-32-256-784 autoencoder on mean squared reconstruction error. */
export async function trainAutoencoder(options: GenerativeJobOptions): Promise<AutoencoderResult> {
  const { train, test } = digits(options);
  const model = createAutoencoder();
  const seconds = await fitPairs(model, train, flat(train), options);
  const testLoader = new DataLoader(new TensorDataset(test, flat(test)), { batchSize: 500 });
  const { loss: testMse } = await evaluate(model, testLoader, mse);
  const path = join(options.out, 'autoencoder-reconstructions.png');
  return { testMse, seconds, images: [writeReconstructions(model, test, path)] };
}

export interface VaeResult extends AutoencoderResult {
  /** Mean ELBO of a test image in nats (one sample of z per image): higher is better. */
  testElbo: number;
  testKl: number;
}

/** Trains the VAE (16-dimensional code) on the negative ELBO. */
export async function trainVae(options: GenerativeJobOptions): Promise<VaeResult> {
  const { train, test } = digits(options);
  const noise = new Generator(options.seed + 1);
  const model = new VAE(16, noise);
  // The VAE's trainStep ignores the targets; fit's batches are pairs.
  const seconds = await fitPairs(model, train, zeros([train.shape[0]]).int(), options);
  model.eval();
  let elbo = 0;
  let kl = 0;
  let squared = 0;
  noise.manualSeed(options.seed + 2);
  for (let i = 0; i < test.shape[0]; i += 500) {
    const x = test.narrow(0, i, Math.min(500, test.shape[0] - i));
    const n = x.shape[0];
    noGrad(() => {
      const terms = model.elboTerms(x);
      elbo -= (terms.reconstruction.add(terms.kl).itemSync() as number) * n;
      kl += (terms.kl.itemSync() as number) * n;
      squared += (F.mseLoss(model.call(x), x.reshape([n, 784])).itemSync() as number) * n;
    });
  }
  const count = test.shape[0];
  const reconstructions = writeReconstructions(
    model,
    test,
    join(options.out, 'vae-reconstructions.png'),
  );
  const z = randn([64, model.latent], { generator: new Generator(options.seed + 3) });
  const samples = writeImageGrid(
    join(options.out, 'vae-samples.png'),
    noGrad(() => model.decode(z)),
    16,
  );
  return {
    testMse: squared / count,
    testElbo: elbo / count,
    testKl: kl / count,
    seconds,
    images: [reconstructions, samples],
  };
}

export interface GanResult {
  /** Mean over the samples of the classifier's highest class probability. */
  meanTopProbability: number;
  /** How many samples the classifier puts in each digit class. */
  classCounts: number[];
  samples: number;
  seconds: number;
  images: string[];
}

const LATENT = 64;

/**
 * Trains a GAN (Goodfellow et al. 2014) with two Adam optimizers and alternating steps: the
 * discriminator on real against generated digits, then the generator on the non-saturating loss
 * -log D(G(z)). Judges 1,000 samples with `classifier` (an MNIST classifier taking [N, 1, 28, 28]).
 */
export async function trainGan(
  options: GenerativeJobOptions,
  classifier: nn.Module,
): Promise<GanResult> {
  const { train } = digits(options);
  const g = createGenerator(LATENT);
  const d = createDiscriminator();
  const optG = new optim.Adam(g.parameters(), { lr: options.lr, betas: [0.5, 0.999] });
  const optD = new optim.Adam(d.parameters(), { lr: options.lr, betas: [0.5, 0.999] });
  const generator = new Generator(options.seed);
  const noise = new Generator(options.seed + 1);
  const loader = new DataLoader(new TensorDataset(train), {
    batchSize: options.batchSize,
    shuffle: true,
    generator,
  });
  const bce = (logits: Tensor, target: Tensor) => F.binaryCrossEntropyWithLogits(logits, target);
  const stream = options.progress === undefined ? process.stderr : options.progress;
  const start = performance.now();
  for (let epoch = 0; epoch < options.epochs; epoch++) {
    let lossD = 0;
    let lossG = 0;
    let steps = 0;
    for (const [real] of loader) {
      const n = real.shape[0];
      const yes = ones([n, 1]);
      const no = zeros([n, 1]);
      // Discriminator step: real digits are 0.9 (one-sided label smoothing), generated ones 0;
      // the generator is not updated.
      optD.zeroGrad();
      const fake = noGrad(() => g.call(randn([n, LATENT], { generator: noise })));
      const valueD = bce(d.call(real), yes.mul(0.9)).add(bce(d.call(fake), no));
      valueD.backward();
      optD.step();
      // Generator step, non-saturating: maximise log D(G(z)) rather than minimise log(1 - D(G(z))).
      optG.zeroGrad();
      const valueG = bce(d.call(g.call(randn([n, LATENT], { generator: noise }))), yes);
      valueG.backward();
      optG.step();
      lossD += valueD.itemSync() as number;
      lossG += valueG.itemSync() as number;
      steps++;
    }
    const elapsed = (performance.now() - start) / 1000;
    stream?.write(
      `epoch ${epoch + 1}/${options.epochs}  discriminator loss ${(lossD / steps).toFixed(4)}  generator loss ${(lossG / steps).toFixed(4)}  (${elapsed.toFixed(1)} s)\n`,
    );
  }
  const seconds = (performance.now() - start) / 1000;
  g.eval();
  classifier.eval();
  const samples = 1000;
  const z = randn([samples, LATENT], { generator: new Generator(options.seed + 2) });
  const images = noGrad(() => g.call(z)).reshape([samples, 1, 28, 28]);
  const probabilities = noGrad(() => classifier.call(images).softmax(1));
  const top = probabilities.amax(1);
  const predicted = probabilities.argmax(1).dataSync();
  const classCounts = Array.from({ length: 10 }, () => 0);
  for (const c of predicted) classCounts[c]++;
  const path = writeImageGrid(join(options.out, 'gan-samples.png'), images.narrow(0, 0, 100), 10);
  return {
    meanTopProbability: top.mean().itemSync() as number,
    classCounts,
    samples,
    seconds,
    images: [path],
  };
}
