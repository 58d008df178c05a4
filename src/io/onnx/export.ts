/**
 * ONNX export by tracing: the model runs once on the example inputs in evaluation mode, module by
 * module; containers (Sequential) are followed, and each layer with a converter adds the ONNX
 * nodes that compute its output, with the shapes it really had. Weights become initializers named
 * by their state-dict keys. A module with no converter (a custom forward, an unsupported layer)
 * is an error naming it: the exporter never guesses at code it cannot see.
 */
import { noGrad } from '../../autograd/grad_mode.js';
import * as nn from '../../nn/index.js';
import type { Module } from '../../nn/module.js';
import { Tensor } from '../../tensor/tensor.js';
import { LAYER_CONVERTERS, type Converter, type LayerClass } from './convert_layers.js';
import { SEQUENCE_CONVERTERS } from './convert_sequence.js';
import { ATTENTION_CONVERTERS } from './convert_attention.js';
import { GraphBuilder, ONNX_ELEM_TYPE, type Traced } from './graph.js';
import { encodeModel } from './proto.js';

export interface OnnxExportOptions {
  /** Names of the graph inputs (default input_0, input_1, ...). */
  inputNames?: string[];
  /** Names of the graph outputs (default output_0, ...), in the order the model returns them. */
  outputNames?: string[];
  /** Axes of inputs/outputs whose size may change, by name: `{ input_0: { 0: 'batch' } }` or `[0]`. */
  dynamicAxes?: Record<string, number[] | Record<number, string>>;
  /** ONNX opset, 17 (the default) to 21. */
  opsetVersion?: number;
}

const CONVERTERS = new Map<LayerClass, Converter>([
  ...LAYER_CONVERTERS,
  ...SEQUENCE_CONVERTERS,
  ...ATTENTION_CONVERTERS,
]);

/** The layer classes the exporter converts. */
export function exportableLayers(): string[] {
  return ['Sequential', ...[...CONVERTERS.keys()].map((c) => c.name)];
}

function flattenOutputs(value: unknown, path: string, module: Module): Tensor[] {
  if (value instanceof Tensor) return [value];
  if (Array.isArray(value)) return value.flatMap((v) => flattenOutputs(v, path, module));
  throw new Error(
    `onnx.export: '${path || 'model'}' (${module.constructor.name}) returned ${typeof value}; only tensors and arrays of them can be exported`,
  );
}

function emit(g: GraphBuilder, module: Module, path: string, inputs: Traced[]): Traced[] {
  if (module instanceof nn.Sequential) {
    let current = inputs;
    for (const [name, child] of module.namedChildren()) {
      current = emit(g, child, path ? `${path}.${name}` : name, current);
      if (current.length !== 1)
        throw new Error(
          `onnx.export: '${path ? `${path}.${name}` : name}' (${child.constructor.name}) returns ${current.length} tensors inside a Sequential, which passes one on`,
        );
    }
    return current;
  }
  const convert = CONVERTERS.get(module.constructor as LayerClass);
  if (!convert)
    throw new Error(
      `onnx.export: cannot export '${path || 'model'}' (${module.constructor.name}): there is no ONNX converter for it (a custom forward is not traced op by op); exportable layers: ${exportableLayers().join(', ')}`,
    );
  const outputs = flattenOutputs(
    noGrad(() => (module.call as (...a: Tensor[]) => unknown)(...inputs.map((t) => t.tensor))),
    path,
    module,
  );
  const names = convert(g, module, inputs, path);
  if (names.length !== outputs.length)
    throw new Error(
      `onnx.export: internal error: the converter of ${module.constructor.name} gave ${names.length} outputs for ${outputs.length}`,
    );
  return names.map((name, i) => ({ name, tensor: outputs[i] }));
}

function valueInfo(
  name: string,
  tensor: Tensor,
  dynamic: number[] | Record<number, string> | undefined,
) {
  const labels: Record<number, string> = Array.isArray(dynamic)
    ? Object.fromEntries(dynamic.map((axis) => [axis, `${name}_dim_${axis}`]))
    : (dynamic ?? {});
  for (const axis of Object.keys(labels).map(Number))
    if (!(axis >= 0 && axis < tensor.dim()))
      throw new Error(
        `onnx.export: dynamicAxes for '${name}' names axis ${axis}, but it has shape [${tensor.shape.join(', ')}]`,
      );
  return {
    name,
    type: {
      tensor_type: {
        elem_type: ONNX_ELEM_TYPE[tensor.dtype],
        shape: {
          dim: tensor.shape.map((size, axis) =>
            labels[axis] !== undefined ? { dim_param: labels[axis] } : { dim_value: size },
          ),
        },
      },
    },
  };
}

/**
 * Traces `model` on `exampleInputs` and returns the ONNX model's bytes.
 * @example
 * const bytes = onnx.exportBytes(model, [randn([1, 784])], { inputNames: ['x'], dynamicAxes: { x: [0] } });
 */
export function exportBytes(
  model: Module,
  exampleInputs: Tensor | Tensor[],
  options: OnnxExportOptions = {},
): Uint8Array {
  const opset = options.opsetVersion ?? 17;
  if (!Number.isInteger(opset) || opset < 17 || opset > 21)
    throw new Error(`onnx.export: opsetVersion ${opset} is not supported; use 17 to 21`);
  const examples = Array.isArray(exampleInputs) ? exampleInputs : [exampleInputs];
  if (!examples.every((t) => t instanceof Tensor))
    throw new TypeError('onnx.export: exampleInputs must be a Tensor or an array of Tensors');
  const inputNames = options.inputNames ?? examples.map((_, i) => `input_${i}`);
  if (inputNames.length !== examples.length)
    throw new Error(
      `onnx.export: ${inputNames.length} inputNames for ${examples.length} example inputs`,
    );
  const g = new GraphBuilder(opset);
  const inputs = examples.map((tensor, i) => ({ name: g.reserve(inputNames[i]), tensor }));
  const wasTraining = model.training;
  model.eval();
  let outputs: Traced[];
  try {
    outputs = emit(g, model, '', inputs);
  } finally {
    model.train(wasTraining);
  }
  const outputNames = options.outputNames ?? outputs.map((_, i) => `output_${i}`);
  if (outputNames.length !== outputs.length)
    throw new Error(
      `onnx.export: ${outputNames.length} outputNames for the model's ${outputs.length} outputs`,
    );
  // Outputs get their requested names through Identity nodes (an input may also be an output).
  const graphOutputs = outputs.map((o, i) => {
    const name = g.reserve(outputNames[i]);
    g.nodes.push({
      op_type: 'Identity',
      name: g.fresh('output_node'),
      input: [o.name],
      output: [name],
      attribute: [],
    });
    return valueInfo(name, o.tensor, options.dynamicAxes?.[name]);
  });
  for (const key of Object.keys(options.dynamicAxes ?? {}))
    if (!inputNames.includes(key) && !outputNames.includes(key))
      throw new Error(
        `onnx.export: dynamicAxes names '${key}', which is neither an input nor an output (${[...inputNames, ...outputNames].join(', ')})`,
      );
  return encodeModel({
    ir_version: opset >= 21 ? 10 : opset >= 19 ? 9 : 8,
    producer_name: 'chainrule',
    opset_import: [{ domain: '', version: opset }],
    graph: {
      name: model.constructor.name,
      node: g.nodes,
      initializer: g.initializers,
      input: inputs.map((t) => valueInfo(t.name, t.tensor, options.dynamicAxes?.[t.name])),
      output: graphOutputs,
    },
  });
}
