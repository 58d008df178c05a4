// Browser-safe parts of train/; checkpoint files, ModelCheckpoint and ProgressBar are in src/node.ts.
export {
  fit,
  evaluate,
  type FitOptions,
  type History,
  type TrainableModel,
  type OptimizerLike,
  type Batch,
  type BatchSource,
} from './fit.js';
export {
  EarlyStopping,
  LRSchedulerCallback,
  Monitor,
  snapshot,
  type Callback,
  type Logs,
  type TrainerState,
  type EarlyStoppingOptions,
} from './callbacks.js';
export { accuracy, type Metric } from './metrics.js';
export {
  serializeCheckpoint,
  deserializeCheckpoint,
  encodeState,
  decodeState,
  type CheckpointContents,
} from './checkpoint.js';
