/** ModelCheckpoint (Node-only): saves the training state after epochs, keeping the best. */
import type { Callback, Logs, MonitorMode, TrainerState } from './callbacks.js';
import { Monitor } from './callbacks.js';
import { saveCheckpoint, type TrainingState } from './checkpoint_file.js';

export interface ModelCheckpointOptions {
  monitor?: string;
  mode?: MonitorMode;
  /** Only write when the monitored quantity improves (the file then holds the best epoch). */
  saveBestOnly?: boolean;
  /** Optimizer, scheduler and generators to save along with the model, for exact resumption. */
  state?: Omit<TrainingState, 'model' | 'epoch'>;
}

/**
 * Writes a checkpoint (atomically) at the end of each epoch, or only on improvement.
 * @example
 * new ModelCheckpoint('best.ckpt', { monitor: 'valAccuracy', saveBestOnly: true, state: { optimizer } });
 */
export class ModelCheckpoint implements Callback {
  readonly monitor: Monitor;
  savedEpochs: number[] = [];

  constructor(
    readonly path: string,
    readonly options: ModelCheckpointOptions = {},
  ) {
    this.monitor = new Monitor(options.monitor ?? 'valLoss', options.mode);
  }

  onEpochEnd(epoch: number, logs: Logs, state: TrainerState): void {
    if (
      this.options.saveBestOnly &&
      !this.monitor.update(this.monitor.read(logs, 'ModelCheckpoint'))
    )
      return;
    saveCheckpoint(this.path, {
      ...this.options.state,
      model: state.model as TrainingState['model'],
      epoch: epoch + 1,
      extra: { ...(this.options.state?.extra as object | undefined), logs },
    });
    this.savedEpochs.push(epoch);
  }
}
