/** The sequence jobs of `chainrule train`: their options, checks and closing lines. */
import { InvalidArgumentError } from 'commander';
import { ADDING_DEFAULTS, ADDING_MODELS, trainAdding, type AddingModel } from './adding_job.js';
import { NAMES_MODELS, trainNames, type NamesModel } from './names_job.js';

export const SEQUENCE_DATASETS: readonly string[] = ['adding', 'names'];
/** Models only the sequence jobs take (lstm is an MNIST model too). */
export const SEQUENCE_MODEL_NAMES: readonly string[] = ['gru', 'transformer'];

export interface SequenceCliOptions {
  model: string;
  lr?: number;
  /** Undefined: the job's own default. */
  batchSize?: number;
  epochs?: number;
  seed: number;
  length?: number;
  temperature?: number;
}

/** Runs `train adding` or `train names`; `print` gets the closing lines. */
export function runSequenceJob(
  dataset: string,
  opts: SequenceCliOptions,
  print: (line: string) => void,
): void {
  if (dataset === 'adding') {
    if (!ADDING_MODELS.includes(opts.model as AddingModel))
      throw new InvalidArgumentError(
        `model '${opts.model}' does not run the adding problem; available: ${ADDING_MODELS.join(', ')}`,
      );
    const result = trainAdding({
      model: opts.model as AddingModel,
      length: opts.length ?? 100,
      batchSize: opts.batchSize ?? ADDING_DEFAULTS.batchSize,
      epochs: opts.epochs ?? ADDING_DEFAULTS.epochs,
      lr: opts.lr,
      seed: opts.seed,
    });
    print(
      `test mse: ${result.testMse.toFixed(4)} (predicting 1 gives 0.1667; ${result.seconds.toFixed(1)} s of training)`,
    );
    return;
  }
  if (!NAMES_MODELS.includes(opts.model as NamesModel))
    throw new InvalidArgumentError(
      `model '${opts.model}' is not a names model; available: ${NAMES_MODELS.join(', ')}`,
    );
  const temperature = opts.temperature ?? 0.8;
  const result = trainNames({
    model: opts.model as NamesModel,
    epochs: opts.epochs,
    batchSize: opts.batchSize,
    lr: opts.lr,
    seed: opts.seed,
    temperature,
  });
  print(`samples at temperature ${temperature}:`);
  for (const name of result.samples) print(`  ${name}`);
  print(
    `validation loss: ${result.valLoss.toFixed(4)} nats/char (${result.seconds.toFixed(1)} s of training)`,
  );
}
