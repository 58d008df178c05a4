/** The `onnx` namespace of `chainrule/node`: exportBytes plus `export` to a file (atomically). */
import type { Module } from '../../nn/module.js';
import type { Tensor } from '../../tensor/tensor.js';
import { writeFileAtomic } from '../../train/write_file_atomic.js';
import { exportBytes, type OnnxExportOptions } from './export.js';

export { exportBytes, exportableLayers, type OnnxExportOptions } from './export.js';

/**
 * Traces `model` on `exampleInputs` (in evaluation mode) and writes an ONNX model to `path`.
 * @example
 * onnx.export(model, [randn([1, 1, 28, 28])], 'model.onnx', {
 *   inputNames: ['image'], outputNames: ['logits'], dynamicAxes: { image: [0], logits: [0] },
 * });
 */
function exportModel(
  model: Module,
  exampleInputs: Tensor | Tensor[],
  path: string,
  options: OnnxExportOptions = {},
): void {
  writeFileAtomic(path, exportBytes(model, exampleInputs, options), 'onnx.export');
}

export { exportModel as export };
