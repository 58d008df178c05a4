/**
 * The Node.js entry point, `chainrule/node`: everything the browser-safe core exports, plus the
 * parts that need Node (file IO): the built-in datasets.
 * @example
 * import { datasets, data, nn } from 'chainrule/node';
 * const { train, test } = datasets.mnist({ seed: 0 });
 */
export * from './index.js';
export * as datasets from './data/datasets/mnist.js';
export {
  saveCheckpoint,
  loadCheckpoint,
  readCheckpoint,
  writeFileAtomic,
  type TrainingState,
} from './train/checkpoint_file.js';
export { ModelCheckpoint, type ModelCheckpointOptions } from './train/model_checkpoint.js';
export { ProgressBar, type ProgressBarOptions } from './train/progress_bar.js';
export * as safetensors from './io/safetensors/file.js';
export * as onnx from './io/onnx/file.js';
export * as inspect from './inspect/node.js';
