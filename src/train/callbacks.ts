/**
 * Callbacks hook into the fit loop (Keras-style). EarlyStopping and scheduler stepping are
 * here; callbacks that touch files or the terminal live in Node-only files.
 */
import type { Tensor } from '../tensor/tensor.js';
import { noGrad } from '../autograd/grad_mode.js';

/** Numbers logged at the end of an epoch: loss, metrics, and their `val` twins (valLoss, valAccuracy). */
export type Logs = Record<string, number>;

/** What a callback can see and steer. */
export interface TrainerState {
  epoch: number;
  /** Steps per epoch (batches of the training loader). */
  stepsPerEpoch: number;
  /** Set to true to end training after the current epoch. */
  stopTraining: boolean;
  /** The model being trained (anything with stateDict/loadStateDict). */
  model: StatefulModel;
}

export interface StatefulModel {
  stateDict(): Record<string, Tensor>;
  loadStateDict(state: Record<string, Tensor>, options?: { strict?: boolean }): unknown;
}

export interface Callback {
  onTrainBegin?(state: TrainerState): void | Promise<void>;
  onEpochBegin?(epoch: number, state: TrainerState): void | Promise<void>;
  onBatchEnd?(
    step: number,
    logs: { loss: number; batchSize: number },
    state: TrainerState,
  ): void | Promise<void>;
  onEpochEnd?(epoch: number, logs: Logs, state: TrainerState): void | Promise<void>;
  onTrainEnd?(logs: Logs, state: TrainerState): void | Promise<void>;
}

export type MonitorMode = 'min' | 'max' | 'auto';

/** Keeps track of the best value of a logged quantity. */
export class Monitor {
  readonly mode: 'min' | 'max';
  best: number;

  constructor(
    readonly name: string,
    mode: MonitorMode = 'auto',
    readonly minDelta = 0,
  ) {
    this.mode = mode === 'auto' ? (/acc|accuracy/i.test(name) ? 'max' : 'min') : mode;
    this.best = this.mode === 'min' ? Infinity : -Infinity;
  }

  read(logs: Logs, owner: string): number {
    const value = logs[this.name];
    if (value === undefined) {
      throw new Error(
        `${owner}: monitored quantity '${this.name}' is not in the logs; available: ${Object.keys(logs).join(', ')}`,
      );
    }
    return value;
  }

  /** Whether `value` improves on the best by more than minDelta; records it if so. */
  update(value: number): boolean {
    const improved =
      this.mode === 'min' ? value < this.best - this.minDelta : value > this.best + this.minDelta;
    if (improved) this.best = value;
    return improved;
  }
}

export interface EarlyStoppingOptions {
  monitor?: string;
  patience?: number;
  minDelta?: number;
  mode?: MonitorMode;
  /** Load the weights of the best epoch when training stops. */
  restoreBestWeights?: boolean;
}

/**
 * Stops training when the monitored quantity has not improved for `patience` epochs.
 * @example
 * fit(model, loader, { ..., callbacks: [new EarlyStopping({ monitor: 'valLoss', patience: 3, restoreBestWeights: true })] });
 */
export class EarlyStopping implements Callback {
  readonly monitor: Monitor;
  readonly patience: number;
  readonly restoreBestWeights: boolean;
  wait = 0;
  stoppedEpoch: number | null = null;
  bestEpoch = -1;
  private bestWeights: Record<string, Tensor> | null = null;

  constructor(options: EarlyStoppingOptions = {}) {
    const patience = options.patience ?? 0;
    if (!Number.isInteger(patience) || patience < 0)
      throw new RangeError(
        `EarlyStopping: patience must be a non-negative integer, got ${patience}`,
      );
    const minDelta = options.minDelta ?? 0;
    if (!(minDelta >= 0))
      throw new RangeError(`EarlyStopping: minDelta must be >= 0, got ${minDelta}`);
    this.monitor = new Monitor(options.monitor ?? 'valLoss', options.mode, minDelta);
    this.patience = patience;
    this.restoreBestWeights = options.restoreBestWeights ?? false;
  }

  onEpochEnd(epoch: number, logs: Logs, state: TrainerState): void {
    const value = this.monitor.read(logs, 'EarlyStopping');
    if (this.monitor.update(value)) {
      this.wait = 0;
      this.bestEpoch = epoch;
      if (this.restoreBestWeights) this.bestWeights = snapshot(state.model);
      return;
    }
    this.wait++;
    // As Keras: stop once `patience` epochs in a row brought no improvement.
    if (this.wait >= Math.max(1, this.patience)) {
      state.stopTraining = true;
      this.stoppedEpoch = epoch;
      if (this.bestWeights) state.model.loadStateDict(this.bestWeights);
    }
  }
}

/** A copy of a model's state that later training cannot change. */
export function snapshot(model: StatefulModel): Record<string, Tensor> {
  return noGrad(() =>
    Object.fromEntries(Object.entries(model.stateDict()).map(([k, v]) => [k, v.detach().clone()])),
  );
}

/** A learning-rate scheduler as the fit loop sees it: step() or, like ReduceLROnPlateau, step(metric). */
export type SchedulerLike = { step(): void } | { step(metric: number): void };

/**
 * Steps a learning-rate scheduler once per epoch (or per batch), passing the monitored
 * quantity to schedulers that take one (ReduceLROnPlateau).
 */
export class LRSchedulerCallback implements Callback {
  constructor(
    readonly scheduler: SchedulerLike,
    readonly options: { perBatch?: boolean; monitor?: string } = {},
  ) {}

  onBatchEnd(): void {
    if (this.options.perBatch) (this.scheduler as { step(): void }).step();
  }

  onEpochEnd(_epoch: number, logs: Logs): void {
    if (this.options.perBatch) return;
    if (this.options.monitor) {
      const value = logs[this.options.monitor];
      if (value === undefined)
        throw new Error(`LRSchedulerCallback: '${this.options.monitor}' is not in the logs`);
      (this.scheduler as { step(metric: number): void }).step(value);
    } else (this.scheduler as { step(): void }).step();
  }
}
