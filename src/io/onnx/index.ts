/**
 * The `onnx` namespace of the main entry (browser-safe): export a model to ONNX bytes.
 * @example
 * import { onnx } from 'chainrule';
 * const bytes = onnx.exportBytes(model, [randn([1, 784])], { dynamicAxes: { input_0: [0] } });
 */
export { exportBytes, exportableLayers, type OnnxExportOptions } from './export.js';
