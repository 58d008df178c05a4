/**
 * `privacy.makePrivate`: Opacus's `PrivacyEngine.make_private` in one call: the model wrapped for
 * per-sample gradients, the optimizer made DP-SGD's, the loader made Poisson-sampled, and an
 * accountant that the optimizer steps.
 */
import type { DatasetLike } from '../data/dataset.js';
import type { Module } from '../nn/module.js';
import type { Optimizer } from '../optim/optimizer.js';
import type { Generator } from '../tensor/random.js';
import type { Tensor } from '../tensor/tensor.js';
import { noiseForEpsilon, RDPAccountant } from './accountant.js';
import { DPDataLoader } from './dp_data_loader.js';
import { DPOptimizer } from './dp_optimizer.js';
import { GradSampleModule, type LossReduction } from './grad_sample_module.js';

/** What makePrivate needs of a loader: a DataLoader has all of it. */
export interface LoaderLike extends Iterable<unknown> {
  readonly dataset: DatasetLike<unknown>;
  readonly batchSize: number;
  readonly generator: Generator;
  readonly length: number;
}

/** Batches of [inputs, targets], as the fit loop takes them. */
export type PrivateBatches = Iterable<[Tensor, Tensor]> & { readonly length: number };

export interface MakePrivateOptions {
  module: Module;
  /** An optimizer over module.parameters(). */
  optimizer: Optimizer;
  /** The training loader; its batch size over its dataset's size is the sampling rate. */
  dataLoader: LoaderLike;
  /** Noise std over maxGradNorm. Give it, or targetEpsilon with delta and epochs. */
  noiseMultiplier?: number;
  maxGradNorm: number;
  /** Sample each batch by Poisson sampling as the analysis assumes (default); false keeps the loader. */
  poissonSampling?: boolean;
  /** Find the noise for this ε after `epochs` epochs at `delta` (Opacus's make_private_with_epsilon). */
  targetEpsilon?: number;
  delta?: number;
  epochs?: number;
  /** How the loss combines the batch; 'mean' (default) as F.crossEntropy's default. */
  lossReduction?: LossReduction;
  /** Draws both the sampling and the noise; the loader's generator by default. */
  generator?: Generator;
}

export interface PrivateTraining {
  module: GradSampleModule;
  optimizer: DPOptimizer;
  dataLoader: PrivateBatches;
  accountant: RDPAccountant;
  noiseMultiplier: number;
  sampleRate: number;
}

/**
 * Makes a model, its optimizer and its loader train with DP-SGD.
 * @example
 * const { module, optimizer, dataLoader, accountant } = privacy.makePrivate({
 *   module: model, optimizer: new optim.SGD(model.parameters(), { lr: 0.1 }),
 *   dataLoader: new DataLoader(trainSet, { batchSize: 256, shuffle: true }),
 *   noiseMultiplier: 1.1, maxGradNorm: 1,
 * });
 * await train.fit(module, dataLoader, { optimizer, loss: F.crossEntropy, epochs: 30 });
 * accountant.getEpsilon(1e-5);
 */
export function makePrivate(options: MakePrivateOptions): PrivateTraining {
  const op = 'privacy.makePrivate';
  const { module, optimizer, dataLoader, maxGradNorm, poissonSampling = true } = options;
  if (!dataLoader || typeof dataLoader.batchSize !== 'number' || !dataLoader.dataset)
    throw new TypeError(`${op}: dataLoader must be a DataLoader`);
  const n = dataLoader.dataset.length;
  const sampleRate = Math.min(1, dataLoader.batchSize / n);
  const generator = options.generator ?? dataLoader.generator;
  const loader = poissonSampling
    ? new DPDataLoader(dataLoader.dataset, { sampleRate, generator })
    : dataLoader;
  let noiseMultiplier = options.noiseMultiplier;
  if (options.targetEpsilon !== undefined) {
    if (noiseMultiplier !== undefined)
      throw new Error(`${op}: give noiseMultiplier or targetEpsilon, not both`);
    const { delta, epochs } = options;
    if (delta === undefined || epochs === undefined || !Number.isSafeInteger(epochs) || epochs <= 0)
      throw new Error(`${op}: targetEpsilon needs delta and a positive integer number of epochs`);
    noiseMultiplier = noiseForEpsilon({
      targetEpsilon: options.targetEpsilon,
      delta,
      sampleRate,
      steps: epochs * loader.length,
    });
  }
  if (noiseMultiplier === undefined)
    throw new Error(`${op}: give noiseMultiplier, or targetEpsilon with delta and epochs`);
  const gsm = new GradSampleModule(module, { lossReduction: options.lossReduction });
  const accountant = new RDPAccountant();
  const dpOptimizer = new DPOptimizer(optimizer, {
    module: gsm,
    noiseMultiplier,
    maxGradNorm,
    expectedBatchSize: sampleRate * n,
    generator,
    accountant,
    sampleRate,
  });
  return {
    module: gsm,
    optimizer: dpOptimizer,
    dataLoader: loader as PrivateBatches,
    accountant,
    noiseMultiplier,
    sampleRate,
  };
}
