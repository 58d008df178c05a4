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

/**
 * Fails before training, not after its first epoch, when --save names a file in a folder that is
 * not there or cannot be written, or names a folder.
 */
function checkSaveTarget(path: string): void {
  const folder = dirname(resolve(path));
  let isFolder = false;
  try {
    isFolder = statSync(folder).isDirectory();
  } catch {
    // reported below
  }
  if (!isFolder)
    throw new InvalidArgumentError(`--save ${path}: the folder ${folder} does not exist`);
  try {
    accessSync(folder, constants.W_OK);
  } catch {
    throw new InvalidArgumentError(`--save ${path}: the folder ${folder} is not writable`);
  }
  if (existsSync(path) && statSync(path).isDirectory())
    throw new InvalidArgumentError(`--save ${path}: that is a folder; give a file name`);
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
      'passes over the training set (default: 20 for mlp, 10 for cnn)',
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
    .option('--length <n>', 'adding: the sequence length T (default 100)', positiveInt('--length'))
    .option('--temperature <t>', 'names: sampling temperature (default 0.8)', positiveNumber)
    .action(async (dataset: string, opts, command: Command) => {
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
      const trainImages = opts.limit ? Math.min(opts.limit, 8000).toLocaleString('en-US') : '8,000';
      process.stderr.write(
        `training ${model} on MNIST (${trainImages} train / 2,000 test), ${opts.optimizer}, batch ${opts.batchSize}, ${epochs} epochs, seed ${opts.seed}\n`,
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
      });
      process.stdout.write(
        `test accuracy: ${(result.testAccuracy * 100).toFixed(2)}% (test loss ${result.testLoss.toFixed(4)}, ${result.seconds.toFixed(1)} s of training)\n`,
      );
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
