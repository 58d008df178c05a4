/** The main job: train a model on the 8,000 / 2,000 MNIST split and report test accuracy. */
import '../index.js'; // registers the backends, also when this module is imported on its own
import * as F from '../nn/functional/index.js';
import type { Module } from '../nn/index.js';
import * as optim from '../optim/index.js';
import { DataLoader, Subset } from '../data/index.js';
import { mnist } from '../data/datasets/mnist.js';
import { Generator, manualSeed } from '../tensor/random.js';
import type { Tensor } from '../tensor/tensor.js';
import { fit, evaluate, type History } from '../train/fit.js';
import { accuracy } from '../train/metrics.js';
import { LRSchedulerCallback, type Callback } from '../train/callbacks.js';
import { ProgressBar } from '../train/progress_bar.js';
import { ModelCheckpoint } from '../train/model_checkpoint.js';
import { createModel, MODEL_DEFAULTS, type ModelName } from './models.js';
import { createLearner, METHOD_DEFAULTS, type MethodName } from './learn_methods.js';
import { GradientMonitor } from '../inspect/gradient_monitor_file.js';
import { historyPlot } from '../inspect/plots/history_plot.js';
import { writeFileAtomic } from '../train/write_file_atomic.js';
import { dpReport, makeJobPrivate, type DpOptions, type DpReport } from './private_job.js';

export type OptimizerName = 'sgd' | 'adam' | 'adamw' | 'rmsprop' | 'adagrad';
export const OPTIMIZER_NAMES: readonly OptimizerName[] = [
  'sgd',
  'adam',
  'adamw',
  'rmsprop',
  'adagrad',
];

export interface MnistJobOptions {
  model: ModelName;
  optimizer: OptimizerName;
  lr?: number;
  batchSize: number;
  epochs: number;
  seed: number;
  /** Write the final model and optimizer here (atomically). */
  save?: string;
  /** Show progress on this stream (null: silent). */
  progress?: NodeJS.WritableStream | null;
  /** Use at most this many training images (for quick runs and tests). */
  limit?: number;
  /** backprop (default), or a trainer of `learn`: ff, dfa, dni. */
  method?: MethodName;
  /** Train with DP-SGD (Poisson sampling at batchSize / train size, clipping, noise). */
  dp?: DpOptions;
  /**
   * Record gradient reports every 10 steps (inspect.GradientMonitor) and write the plots to this
   * SVG file at the end, with the history JSON beside it (the same name ending in .json).
   */
  plot?: string;
}

/** `1 record`, `13 records`: counts in the CLI's messages. */
export const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** Where `--plot x.svg` writes the history: x.json. */
export function historyPathFor(plot: string): string {
  return plot.replace(/\.svg$/i, '') + '.json';
}

export const DEFAULT_LR: Record<OptimizerName, number> = {
  sgd: 0.05,
  adam: 1e-3,
  adamw: 1e-3,
  rmsprop: 1e-3,
  adagrad: 1e-2,
};

export function createOptimizer(
  name: OptimizerName,
  params: Tensor[],
  lr: number,
): optim.Optimizer {
  switch (name) {
    case 'sgd':
      return new optim.SGD(params, { lr, momentum: 0.9 });
    case 'adam':
      return new optim.Adam(params, { lr });
    case 'adamw':
      return new optim.AdamW(params, { lr });
    case 'rmsprop':
      return new optim.RMSprop(params, { lr });
    case 'adagrad':
      return new optim.Adagrad(params, { lr });
    default:
      throw new Error(
        `unknown optimizer '${String(name)}'; expected one of ${OPTIMIZER_NAMES.join(', ')}`,
      );
  }
}

export const crossEntropyLoss = (output: Tensor, target: Tensor): Tensor =>
  F.crossEntropy(output, target);

export interface MnistJobResult {
  model: Module;
  history: History;
  testAccuracy: number;
  testLoss: number;
  seconds: number;
  /** The privacy spent, for a --dp run. */
  privacy?: DpReport;
  /** With `plot`: what was written (a line to print). */
  plot?: string;
}

/** Trains and evaluates; the split, the initial weights and the batch order all follow `seed`. */
export async function trainMnist(options: MnistJobOptions): Promise<MnistJobResult> {
  const { model: modelName, optimizer: optimizerName, batchSize, epochs, seed } = options;
  const method = options.method ?? 'backprop';
  const recipe = method === 'backprop' && !options.dp ? MODEL_DEFAULTS[modelName] : undefined;
  const lr =
    options.lr ??
    METHOD_DEFAULTS[method].lr ??
    (optimizerName === 'adam' ? recipe?.adamLr : undefined) ??
    DEFAULT_LR[optimizerName];
  manualSeed(seed);
  const { train, test } = mnist({ seed });
  const trainSet = options.limit
    ? new Subset(
        train,
        Array.from({ length: Math.min(options.limit, train.length) }, (_, i) => i),
      )
    : train;
  let model: Module =
    method === 'backprop' ? createModel(modelName) : createLearner(method, modelName);
  let optimizer: optim.Optimizer | ReturnType<typeof makeJobPrivate>['optimizer'] = createOptimizer(
    optimizerName,
    model.parameters(),
    lr,
  );
  const generator = new Generator(seed);
  let trainLoader: Iterable<[Tensor, Tensor]> & { length: number } = new DataLoader(trainSet, {
    batchSize,
    shuffle: true,
    generator,
  });
  const dp = options.dp
    ? makeJobPrivate(
        options.dp,
        model,
        optimizer as optim.Optimizer,
        trainLoader as DataLoader<unknown, unknown>,
        epochs,
      )
    : null;
  if (dp) ({ module: model, optimizer, dataLoader: trainLoader } = dp);
  const testLoader = new DataLoader(test, { batchSize: 500 });
  const callbacks: Callback[] = [];
  if (recipe?.cosine)
    callbacks.push(
      new LRSchedulerCallback(
        new optim.lrScheduler.CosineAnnealingLR(optimizer as optim.Optimizer, { tMax: epochs }),
      ),
    );
  if (options.progress !== null)
    callbacks.push(new ProgressBar(epochs, { stream: options.progress ?? process.stderr }));
  if (options.save) {
    callbacks.push(
      new ModelCheckpoint(options.save, {
        monitor: 'valAccuracy',
        saveBestOnly: false,
        state: {
          optimizer,
          generators: { loader: generator },
          extra: { model: modelName, seed, method },
        },
      }),
    );
  }
  const monitor = options.plot
    ? new GradientMonitor(model, {
        every: 10,
        lr,
        path: historyPathFor(options.plot),
        warn: (problem, step) =>
          process.stderr.write(`\ngradient monitor, step ${step}: ${problem.message}\n`),
      })
    : null;
  if (monitor) callbacks.push(monitor);
  const start = performance.now();
  const history = await fit(model, trainLoader, {
    optimizer,
    loss: crossEntropyLoss,
    epochs,
    callbacks,
    metrics: { accuracy },
  });
  const seconds = (performance.now() - start) / 1000;
  const result = await evaluate(model, testLoader, crossEntropyLoss, { accuracy });
  let plot: string | undefined;
  if (monitor && options.plot) {
    writeFileAtomic(options.plot, historyPlot(monitor.history), 'train --plot');
    const { records, problems } = monitor.history;
    plot = `wrote plots to ${options.plot} and the gradient history to ${historyPathFor(options.plot)} (${plural(records.length, 'record')}, ${plural(problems.length, 'problem')})`;
  }
  return {
    model,
    history,
    testAccuracy: result.accuracy,
    testLoss: result.loss,
    seconds,
    ...(plot ? { plot } : {}),
    ...(dp && options.dp ? { privacy: dpReport(options.dp, dp) } : {}),
  };
}
