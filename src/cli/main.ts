#!/usr/bin/env node
/** The `chainrule` command: train, evaluate and use MNIST models. */
import { accessSync, constants, existsSync, realpathSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, InvalidArgumentError, Option } from 'commander';
import '../index.js';
import { mnist } from '../data/datasets/mnist.js';
import { DataLoader } from '../data/index.js';
import { noGrad } from '../autograd/grad_mode.js';
import { evaluate } from '../train/fit.js';
import { accuracy } from '../train/metrics.js';
import type { Tensor } from '../tensor/tensor.js';
import { MODEL_NAMES, type ModelName } from './models.js';
import { loadModel } from './load_model.js';
import { exportCheckpoint, EXPORT_FORMATS, type ExportFormat } from './export_command.js';
import { crossEntropyLoss, OPTIMIZER_NAMES, trainMnist, type OptimizerName } from './mnist_job.js';
import { readDigitPng } from './predict_image.js';
import { GENERATIVE_JOBS, type GenerativeJob } from './generative_jobs.js';
import { runGenerativeJob } from './generative_command.js';
import { METHOD_DEFAULTS, METHOD_NAMES, type MethodName } from './learn_methods.js';
import { runSequenceJob, SEQUENCE_DATASETS, SEQUENCE_MODEL_NAMES } from './sequence_cli.js';
import type { DpOptions } from './private_job.js';
import { trainInt8Mnist } from './int8_job.js';
import { runInspect } from './inspect_command.js';
import { plotFile, PLOT_KINDS, type PlotKind } from './plot_command.js';

function positiveInt(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n <= 0)
      throw new InvalidArgumentError(`${name} must be a positive integer`);
    return n;
  };
}

function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0)
    throw new InvalidArgumentError('must be a non-negative integer');
  return n;
}

function positiveNumber(value: string): number {
  const n = Number(value);
  if (!(n > 0) || !Number.isFinite(n)) throw new InvalidArgumentError('must be a positive number');
  return n;
}

/** `train --int8`: the integer job, with the same closing line as the float job. */
function runInt8(model: ModelName, epochs: number, opts: Record<string, unknown>): void {
  if (model !== 'mlp' && model !== 'cnn')
    throw new InvalidArgumentError(`--int8 trains the mlp and cnn models, not '${model}'`);
  const batchSize = opts.batchSize as number;
  const updateBits = (opts.updateBits as number | undefined) ?? 4;
  const trainImages = opts.limit
    ? Math.min(opts.limit as number, 8000).toLocaleString('en-US')
    : '8,000';
  process.stderr.write(
    `training ${model} in int8 (NITI) on MNIST (${trainImages} train / 2,000 test), batch ${batchSize}, ${epochs} epochs, update bits ${updateBits}, seed ${opts.seed}\n`,
  );
  const result = trainInt8Mnist({
    model,
    batchSize,
    epochs,
    seed: opts.seed as number,
    updateBits,
    limit: opts.limit as number | undefined,
    progress: process.stderr,
  });
  process.stdout.write(
    `test accuracy: ${(result.testAccuracy * 100).toFixed(2)}% (int8, ${result.seconds.toFixed(1)} s of training)\n`,
  );
}

/** The DP-SGD options of `train`, or undefined without --dp (whose own options then may not be given). */
function dpOptionsOf(opts: Record<string, unknown>): DpOptions | undefined {
  const names = ['noiseMultiplier', 'maxGradNorm', 'delta', 'targetEpsilon'] as const;
  if (!opts.dp) {
    const stray = names.find((n) => opts[n] !== undefined);
    if (stray)
      throw new InvalidArgumentError(
        `--${stray.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} needs --dp`,
      );
    return undefined;
  }
  const delta = (opts.delta as number | undefined) ?? 1e-5;
  if (!(delta < 1)) throw new InvalidArgumentError('--delta must be in (0, 1)');
  return {
    noiseMultiplier: (opts.noiseMultiplier as number | undefined) ?? 1.1,
    maxGradNorm: (opts.maxGradNorm as number | undefined) ?? 1.0,
    delta,
    targetEpsilon: opts.targetEpsilon as number | undefined,
  };
}

/**
 * Fails before training, not after its first epoch, when --save (or another output option) names a
 * file in a folder that is not there or cannot be written, or names a folder.
 */
function checkSaveTarget(path: string, option = '--save'): void {
  const folder = dirname(resolve(path));
  let isFolder = false;
  try {
    isFolder = statSync(folder).isDirectory();
  } catch {
    // reported below
  }
  if (!isFolder)
    throw new InvalidArgumentError(`${option} ${path}: the folder ${folder} does not exist`);
  try {
    accessSync(folder, constants.W_OK);
  } catch {
    throw new InvalidArgumentError(`${option} ${path}: the folder ${folder} is not writable`);
  }
  if (existsSync(path) && statSync(path).isDirectory())
    throw new InvalidArgumentError(`${option} ${path}: that is a folder; give a file name`);
}

function report(probabilities: Tensor): string {
  const p = Array.from(probabilities.dataSync());
  const best = p.indexOf(Math.max(...p));
  return (
    `prediction: ${best} (${(p[best] * 100).toFixed(1)}%)\n` +
    p.map((v, d) => `  ${d}: ${(v * 100).toFixed(2)}%`).join('\n')
  );
}

export function createProgram(): Command {
  const program = new Command('chainrule')
    .description('Train, evaluate and use neural networks with chainrule.')
    .showHelpAfterError();

  program
    .command('train')
    .description('train a model on a dataset and print its test accuracy')
    .argument(
      '<dataset>',
      "the dataset: 'mnist' (8,000 train / 2,000 test real digits), 'adding' (the adding problem), 'names' (a character-level model of first names)",
    )
    .addOption(
      new Option('--model <name>', 'model architecture (adding and names: lstm by default)')
        .choices([...MODEL_NAMES, ...SEQUENCE_MODEL_NAMES])
        .default('mlp'),
    )
    .addOption(
      new Option('--optimizer <name>', 'optimizer').choices(OPTIMIZER_NAMES).default('adam'),
    )
    .option(
      '--lr <number>',
      'learning rate (default: 1e-3 for adam/adamw/rmsprop, 0.05 for sgd, 0.01 for adagrad)',
      positiveNumber,
    )
    .option('--batch-size <n>', 'examples per batch', positiveInt('--batch-size'), 64)
    .option(
      '--epochs <n>',
      'passes over the training set (default: 20 for mlp and lstm, 10 for cnn)',
      positiveInt('--epochs'),
    )
    .option(
      '--seed <n>',
      'seed of the split, the initial weights and the batch order',
      nonNegativeInt,
      0,
    )
    .addOption(
      new Option(
        '--method <name>',
        'how the mnist model learns: backprop, or a trainer of learn (ff: Forward-Forward, 8 epochs at lr 0.03 unless given; dfa: direct feedback alignment; dni: synthetic gradients)',
      )
        .choices(METHOD_NAMES)
        .default('backprop'),
    )
    .option(
      '--classifier <path>',
      "train gan: the MNIST classifier that judges the samples ('chainrule train mnist --model cnn --save <path>')",
    )
    .option(
      '--out <dir>',
      'train autoencoder|vae|gan: folder for the PNG grids',
      'chainrule-images',
    )
    .option('--save <path>', 'write a checkpoint after every epoch (atomically)')
    .option(
      '--limit <n>',
      'train on the first n training images only (quick runs)',
      positiveInt('--limit'),
    )
    .option('--int8', 'integer-only training (NITI): int8 weights, activations and errors')
    .option(
      '--update-bits <n>',
      '--int8: bits of the largest weight change per step (the learning rate; default 4)',
      positiveInt('--update-bits'),
    )
    .option('--dp', 'train with DP-SGD: Poisson sampling, per-sample clipping and Gaussian noise')
    .option('--noise-multiplier <x>', 'DP-SGD noise std over the clipping norm', positiveNumber)
    .option('--max-grad-norm <x>', 'DP-SGD per-sample clipping norm', positiveNumber)
    .option('--delta <x>', 'DP-SGD delta of the reported epsilon', positiveNumber)
    .option(
      '--target-epsilon <x>',
      'DP-SGD: choose the noise to end at this epsilon',
      positiveNumber,
    )
    .option('--length <n>', 'adding: the sequence length T (default 100)', positiveInt('--length'))
    .option('--temperature <t>', 'names: sampling temperature (default 0.8)', positiveNumber)
    .option(
      '--plot <file.svg>',
      'mnist: record gradient reports during training (inspect.GradientMonitor, every 10 steps) and write the plots here at the end, and the history beside it (<file>.json)',
    )
    .action(async (dataset: string, opts, command: Command) => {
      if (opts.plot !== undefined && (dataset !== 'mnist' || opts.int8))
        throw new InvalidArgumentError(
          `--plot records the fit loop of 'train mnist' (not --int8); got 'train ${dataset}${opts.int8 ? ' --int8' : ''}'`,
        );
      if (opts.plot !== undefined) checkSaveTarget(opts.plot, '--plot');
      if ((GENERATIVE_JOBS as readonly string[]).includes(dataset))
        return runGenerativeJob(dataset as GenerativeJob, opts, (path) => loadModel(path).model);
      if (SEQUENCE_DATASETS.includes(dataset)) {
        const explicit = command.getOptionValueSource('model') !== 'default';
        const batchSize =
          command.getOptionValueSource('batchSize') === 'default' ? undefined : opts.batchSize;
        runSequenceJob(
          dataset,
          { ...opts, batchSize, model: explicit ? opts.model : 'lstm' },
          (line) => process.stdout.write(line + '\n'),
        );
        return;
      }
      if (dataset !== 'mnist')
        throw new InvalidArgumentError(
          `unknown dataset '${dataset}'; available: mnist, ${[...SEQUENCE_DATASETS, ...GENERATIVE_JOBS].join(', ')}`,
        );
      if (!MODEL_NAMES.includes(opts.model))
        throw new InvalidArgumentError(
          `model '${opts.model}' is not an MNIST model; available: ${MODEL_NAMES.join(', ')}`,
        );
      if (opts.save) checkSaveTarget(opts.save);
      const model = opts.model as ModelName;
      const method = opts.method as MethodName;
      const epochs = opts.epochs ?? METHOD_DEFAULTS[method].epochs ?? (model === 'cnn' ? 10 : 20);
      const dp = dpOptionsOf(opts);
      if ((opts.int8 || dp) && method !== 'backprop')
        throw new InvalidArgumentError(`--method ${method} cannot be combined with --int8 or --dp`);
      if (opts.int8 || opts.updateBits !== undefined) {
        if (!opts.int8) throw new InvalidArgumentError('--update-bits needs --int8');
        if (dp) throw new InvalidArgumentError('--int8 and --dp cannot be combined');
        runInt8(model, epochs, opts);
        return;
      }
      const trainImages = opts.limit ? Math.min(opts.limit, 8000).toLocaleString('en-US') : '8,000';
      process.stderr.write(
        `training ${model} on MNIST (${trainImages} train / 2,000 test), ${opts.optimizer}, batch ${opts.batchSize}, ${epochs} epochs, seed ${opts.seed}${dp ? `, DP-SGD (clip ${dp.maxGradNorm}, ${dp.targetEpsilon !== undefined ? `target epsilon ${dp.targetEpsilon}` : `noise ${dp.noiseMultiplier}`})` : ''}\n`,
      );
      if (method !== 'backprop') process.stderr.write(`learning by ${method}, not backprop\n`);
      const result = await trainMnist({
        model,
        optimizer: opts.optimizer as OptimizerName,
        lr: opts.lr,
        batchSize: opts.batchSize,
        epochs,
        seed: opts.seed,
        save: opts.save,
        limit: opts.limit,
        method,
        dp,
        plot: opts.plot,
      });
      if (result.plot) process.stderr.write(`${result.plot}\n`);
      process.stdout.write(
        `test accuracy: ${(result.testAccuracy * 100).toFixed(2)}% (test loss ${result.testLoss.toFixed(4)}, ${result.seconds.toFixed(1)} s of training)\n`,
      );
      if (result.privacy) {
        const { epsilon, delta } = result.privacy;
        process.stdout.write(
          `privacy: epsilon ${epsilon.toFixed(2)} at delta ${delta.toExponential()}\n`,
        );
      }
      if (opts.save) process.stdout.write(`saved checkpoint to ${opts.save}\n`);
    });

  program.commands
    .find((c) => c.name() === 'train')!
    .addHelpText(
      'after',
      '\nGenerative models on MNIST: chainrule train autoencoder|vae|gan (PNG grids in --out;\ndefault epochs 10, 20 and 15; lr 1e-3, 1e-3 and 2e-4).',
    );

  program
    .command('eval')
    .description('evaluate a checkpoint on its test split')
    .requiredOption('--checkpoint <path>', "a checkpoint written by 'chainrule train --save'")
    .action(async (opts) => {
      const { model, name, seed } = loadModel(opts.checkpoint);
      const { test } = mnist({ seed });
      const result = await evaluate(
        model,
        new DataLoader(test, { batchSize: 500 }),
        crossEntropyLoss,
        { accuracy },
      );
      process.stdout.write(
        `${name}: test accuracy ${(result.accuracy * 100).toFixed(2)}%, test loss ${result.loss.toFixed(4)} (${test.length} images)\n`,
      );
    });

  program
    .command('predict')
    .description('classify a digit: a PNG image file or an index into the test split')
    .requiredOption('--checkpoint <path>', "a checkpoint written by 'chainrule train --save'")
    .option('--image <path>', 'a PNG image of one digit')
    .option('--index <n>', 'an index into the test split', nonNegativeInt)
    .action(async (opts) => {
      if ((opts.image === undefined) === (opts.index === undefined))
        throw new InvalidArgumentError('give exactly one of --image and --index');
      const { model, seed } = loadModel(opts.checkpoint);
      let input: Tensor;
      if (opts.image !== undefined) {
        const image = readDigitPng(opts.image);
        for (const change of image.changes) process.stdout.write(`${opts.image}: ${change}\n`);
        input = image.input;
      } else {
        const { test } = mnist({ seed });
        if (opts.index >= test.length)
          throw new InvalidArgumentError(`--index must be below ${test.length}`);
        const [image, label] = test.get(opts.index) as [Tensor, Tensor];
        process.stdout.write(`test image ${opts.index}, label ${label.itemSync()}\n`);
        input = image.unsqueeze(0);
      }
      const probabilities = noGrad(() => model.call(input).softmax(1).squeeze(0));
      process.stdout.write(report(probabilities) + '\n');
    });

  program
    .command('plot')
    .description(
      'draw a history as SVG: loss / accuracy curves, the per-layer gradient-norm heat map, the Hessian spectrum',
    )
    .argument(
      '<history.json>',
      "a GradientMonitor history ('chainrule train mnist --plot') or a fit History",
    )
    .requiredOption('--out <file.svg>', 'the SVG file to write')
    .addOption(new Option('--kind <kind>', 'which plot').choices(PLOT_KINDS).default('all'))
    .action((input: string, opts) => {
      checkSaveTarget(opts.out, '--out');
      process.stdout.write(plotFile(input, opts.out, opts.kind as PlotKind) + '\n');
    });

  program
    .command('export')
    .description('write a checkpoint as ONNX (for ONNX Runtime) or safetensors (for PyTorch)')
    .addOption(
      new Option('--format <format>', 'output format')
        .choices(EXPORT_FORMATS)
        .makeOptionMandatory(),
    )
    .argument('<checkpoint>', "a checkpoint written by 'chainrule train --save'")
    .argument('<out>', 'the file to write')
    .action((checkpoint: string, out: string, opts) => {
      process.stdout.write(exportCheckpoint(opts.format as ExportFormat, checkpoint, out) + '\n');
    });

  program
    .command('inspect')
    .description(
      'the inspector: a page where chainrule runs in the browser (graph, backward step-through, training)',
    )
    .option('--port <n>', 'port to serve the page on', nonNegativeInt, 8080)
    .option('--static <dir>', 'write the page into DIR instead of serving it')
    .action(async (opts) => {
      await runInspect({ port: opts.port as number, static: opts.static as string | undefined });
    });
  return program;
}

/**
 * Whether this file is the program node was started with. npm installs the command as a symlink
 * (node_modules/.bin/chainrule, npx): argv[1] is that link, so both sides are resolved first.
 */
function invokedDirectly(): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (invokedDirectly()) {
  createProgram()
    .parseAsync(process.argv)
    .catch((error: Error) => {
      process.stderr.write(`chainrule: ${error.message}\n`);
      process.exit(1);
    });
}
