/** `chainrule export`: a CLI checkpoint as ONNX or safetensors. */
import { zeros } from '../tensor/creation.js';
import * as onnx from '../io/onnx/file.js';
import * as safetensors from '../io/safetensors/file.js';
import { loadModel } from './load_model.js';

export type ExportFormat = 'onnx' | 'safetensors';
export const EXPORT_FORMATS: readonly ExportFormat[] = ['onnx', 'safetensors'];

/**
 * Writes the model of `checkpoint` to `out`: ONNX with input `image` [batch, 1, 28, 28] and output
 * `logits` [batch, 10] (the batch size is dynamic), or safetensors with PyTorch's key names.
 * Returns the line to print.
 */
export function exportCheckpoint(format: ExportFormat, checkpoint: string, out: string): string {
  const { model, name } = loadModel(checkpoint);
  if (format === 'onnx') {
    onnx.export(model, [zeros([1, 1, 28, 28])], out, {
      inputNames: ['image'],
      outputNames: ['logits'],
      dynamicAxes: { image: { 0: 'batch' }, logits: { 0: 'batch' } },
    });
    return `wrote ${name} to ${out} (ONNX opset 17: image [batch, 1, 28, 28] -> logits [batch, 10])`;
  }
  if (format === 'safetensors') {
    safetensors.save(model.stateDict(), out, { format: 'pt', model: name });
    return `wrote ${name} weights to ${out} (safetensors, PyTorch key names)`;
  }
  throw new Error(
    `unknown format '${String(format)}'; expected one of ${EXPORT_FORMATS.join(', ')}`,
  );
}
