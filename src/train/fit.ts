/**
 * The fit loop: epochs of forward, loss, backward and optimizer step over a loader, with
 * validation, metrics and callbacks. Browser-safe; progress bars and checkpoints are callbacks.
 */
import { noGrad } from '../autograd/grad_mode.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Callback, Logs, StatefulModel, TrainerState } from './callbacks.js';
import type { Metric } from './metrics.js';

export interface TrainableModel extends StatefulModel {
  call(input: Tensor): Tensor;
  train(mode?: boolean): unknown;
  eval(): unknown;
  /**
   * A training step of the model's own (Keras's train_step), for models that do not learn by
   * backpropagating one loss end to end (the trainers of `learn`). It leaves the gradient of
   * every parameter it trains in `.grad`; fit zeroes the gradients before it and steps the
   * optimizer after it, as for backprop.
   */
  trainStep?(input: Tensor, target: Tensor, loss: LossFn): TrainStepResult;
}

/** (model output, target) → scalar loss. */
export type LossFn = (output: Tensor, target: Tensor) => Tensor;

/** What a custom training step reports: the loss to log, and the output metrics read (if any). */
export interface TrainStepResult {
  loss: Tensor;
  output?: Tensor;
}

export interface OptimizerLike {
  step(): void;
  zeroGrad(): void;
}

/** A batch as loaders yield it: [inputs, targets]. */
export type Batch = readonly [Tensor, Tensor] | Tensor[];

export interface BatchSource extends Iterable<Batch> {
  readonly length?: number;
}

export interface FitOptions {
  optimizer: OptimizerLike;
  /** (model output, target) → scalar loss (a model with `trainStep` receives it there). */
  loss: LossFn;
  epochs: number;
  valLoader?: BatchSource;
  callbacks?: Callback[];
  metrics?: Record<string, Metric>;
  /** Epoch to start from (after resuming from a checkpoint). */
  initialEpoch?: number;
  /**
   * Gradient accumulation: the gradients of this many consecutive batches are summed, each
   * batch's loss divided by their number, before one optimizer step (default 1). With a mean loss
   * and equal batches this is the gradient of one batch that many times larger, in the memory of
   * one batch. The last group of an epoch may be shorter; with a loader that has a length it is
   * averaged over its own size.
   */
  accumulateSteps?: number;
}

/** Per-epoch logs, and each logged quantity as a series (history.loss[epoch]). */
export interface History {
  epochs: Logs[];
  series: Record<string, number[]>;
}

function splitBatch(batch: Batch): [Tensor, Tensor] {
  if (!Array.isArray(batch) || batch.length < 2)
    throw new Error('fit: each batch must be [inputs, targets]');
  return [batch[0], batch[1]];
}

/** Mean loss and metrics of `model` over a loader, without recording the graph. */
export async function evaluate(
  model: TrainableModel,
  loader: BatchSource,
  loss: (output: Tensor, target: Tensor) => Tensor,
  metrics: Record<string, Metric> = {},
): Promise<Logs> {
  model.eval();
  const totals: Logs = { loss: 0 };
  let count = 0;
  for (const batch of loader) {
    const [x, y] = splitBatch(batch);
    const n = x.shape[0];
    const output = noGrad(() => model.call(x));
    totals.loss += ((await noGrad(() => loss(output, y)).item()) as number) * n;
    for (const [name, metric] of Object.entries(metrics))
      totals[name] = (totals[name] ?? 0) + metric(output, y) * n;
    count += n;
  }
  if (count === 0) throw new Error('evaluate: the loader yielded no examples');
  return Object.fromEntries(Object.entries(totals).map(([k, v]) => [k, v / count]));
}

/**
 * Trains `model` on the batches of `loader` for `epochs` epochs.
 * @example
 * const history = await fit(model, trainLoader, {
 *   optimizer: new optim.Adam(model.parameters(), { lr: 1e-3 }),
 *   loss: (out, y) => F.crossEntropy(out, y),
 *   epochs: 5, valLoader: testLoader, metrics: { accuracy },
 *   accumulateSteps: 4, // one step per 4 batches: the gradient of a 4× larger batch
 * });
 */
export async function fit(
  model: TrainableModel,
  loader: BatchSource,
  options: FitOptions,
): Promise<History> {
  const {
    optimizer,
    loss,
    epochs,
    valLoader,
    callbacks = [],
    metrics = {},
    initialEpoch = 0,
    accumulateSteps = 1,
  } = options;
  if (!Number.isInteger(accumulateSteps) || accumulateSteps < 1)
    throw new RangeError(
      `fit: accumulateSteps must be a positive integer, got ${String(accumulateSteps)}`,
    );
  if (model.trainStep && accumulateSteps !== 1)
    throw new RangeError(
      'fit: accumulateSteps applies to models trained by backprop of one loss; this model has its own trainStep (it runs its own backward passes)',
    );
  if (!Number.isInteger(epochs) || epochs < 0)
    throw new RangeError(`fit: epochs must be a non-negative integer, got ${epochs}`);
  if (typeof loss !== 'function')
    throw new TypeError('fit: options.loss must be a function (output, target) => Tensor');
  const state: TrainerState = {
    epoch: initialEpoch,
    stepsPerEpoch: loader.length ?? NaN,
    stopTraining: false,
    model,
  };
  const history: History = { epochs: [], series: {} };
  let lastLogs: Logs = {};
  for (const cb of callbacks) await cb.onTrainBegin?.(state);
  for (let epoch = initialEpoch; epoch < epochs && !state.stopTraining; epoch++) {
    state.epoch = epoch;
    model.train();
    for (const cb of callbacks) await cb.onEpochBegin?.(epoch, state);
    const totals: Logs = { loss: 0 };
    let count = 0;
    let metricCount = 0;
    let step = 0;
    let inGroup = 0;
    for (const batch of loader) {
      const [x, y] = splitBatch(batch);
      if (inGroup === 0) optimizer.zeroGrad();
      const left = loader.length === undefined ? Infinity : loader.length - (step - inGroup);
      const groupSize = Math.min(accumulateSteps, left);
      let output: Tensor | undefined;
      let value: Tensor;
      if (model.trainStep) ({ loss: value, output } = model.trainStep(x, y, loss));
      else {
        output = model.call(x);
        value = loss(output, y);
        (groupSize === 1 ? value : value.div(groupSize)).backward();
      }
      if (++inGroup >= groupSize) {
        optimizer.step();
        inGroup = 0;
      }
      const n = x.shape[0];
      const lossValue = (await value.item()) as number;
      if (!Number.isFinite(lossValue))
        throw new Error(
          `fit: the loss became ${lossValue} at epoch ${epoch}, step ${step}; lower the learning rate or check the data`,
        );
      totals.loss += lossValue * n;
      if (output) {
        for (const [name, metric] of Object.entries(metrics))
          totals[name] = (totals[name] ?? 0) + metric(output, y) * n;
        metricCount += n;
      }
      count += n;
      for (const cb of callbacks)
        await cb.onBatchEnd?.(step, { loss: lossValue, batchSize: n }, state);
      step++;
    }
    if (inGroup > 0) optimizer.step(); // the loader ended inside a group
    if (count === 0) throw new Error('fit: the training loader yielded no batches');
    const logs: Logs = Object.fromEntries(
      Object.entries(totals).map(([k, v]) => [k, v / (k === 'loss' ? count : metricCount)]),
    );
    if (valLoader) {
      const validation = await evaluate(model, valLoader, loss, metrics);
      for (const [k, v] of Object.entries(validation))
        logs[`val${k[0].toUpperCase()}${k.slice(1)}`] = v;
    }
    history.epochs.push(logs);
    for (const [k, v] of Object.entries(logs)) (history.series[k] ??= []).push(v);
    lastLogs = logs;
    for (const cb of callbacks) await cb.onEpochEnd?.(epoch, logs, state);
  }
  for (const cb of callbacks) await cb.onTrainEnd?.(lastLogs, state);
  return history;
}
