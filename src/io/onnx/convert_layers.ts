/**
 * ONNX converters of the feed-forward layers: each takes the traced inputs of one module call
 * and adds the nodes that compute the same outputs (in evaluation mode), returning their names.
 * Opset 17 semantics (LayerNormalization is its newest op used here; GELU is composed from Erf
 * and Tanh since the Gelu op needs opset 20).
 */
import * as nn from '../../nn/index.js';
import type { Module } from '../../nn/module.js';
import type { GraphBuilder, Traced } from './graph.js';

/** A layer class, the key of the converter tables. */
export type LayerClass = abstract new (...args: never[]) => Module;

export type Converter = (g: GraphBuilder, module: any, inputs: Traced[], path: string) => string[];

type Size = number | readonly number[];
const pair = (v: Size, n = 2): number[] =>
  typeof v === 'number' ? Array<number>(n).fill(v) : [...v];

function unsupported(path: string, module: Module, what: string): never {
  throw new Error(`onnx.export: cannot export '${path}' (${module.constructor.name}): ${what}`);
}

function requireRank(path: string, module: Module, x: Traced, rank: number): void {
  if (x.tensor.dim() !== rank)
    unsupported(
      path,
      module,
      `the exporter needs a batched input of rank ${rank}, got shape [${x.tensor.shape.join(', ')}]`,
    );
}

function linear(g: GraphBuilder, m: nn.Linear, [x]: Traced[], path: string): string[] {
  const w = g.weight(m.weight, `${path}.weight`);
  const b = m.bias ? g.weight(m.bias, `${path}.bias`) : undefined;
  if (x.tensor.dim() === 2) return [g.op('Gemm', b ? [x.name, w, b] : [x.name, w], { transB: 1 })];
  const y = g.op('MatMul', [x.name, g.op('Transpose', [w], { perm: [1, 0] })]);
  return [b ? g.op('Add', [y, b]) : y];
}

function convPads(path: string, m: any, spatial: number): number[] {
  if (m.padding === 'valid') return Array<number>(2 * spatial).fill(0);
  if (m.padding === 'same') {
    // PyTorch's 'same': total = dilation * (k - 1), the odd extra element on the right.
    const total = m.kernelSize.map((k: number, i: number) => m.dilation[i] * (k - 1));
    return [
      ...total.map((t: number) => Math.floor(t / 2)),
      ...total.map((t: number) => t - Math.floor(t / 2)),
    ];
  }
  if (m.paddingMode !== undefined && m.paddingMode !== 'zeros')
    unsupported(path, m, `padding_mode '${m.paddingMode}' has no ONNX Conv equivalent`);
  return [...m.padding, ...m.padding];
}

function conv(g: GraphBuilder, m: any, [x]: Traced[], path: string): string[] {
  const spatial = m.kernelSize.length;
  requireRank(path, m, x, spatial + 2);
  const inputs = [x.name, g.weight(m.weight, `${path}.weight`)];
  if (m.bias) inputs.push(g.weight(m.bias, `${path}.bias`));
  const transposed = m instanceof nn.ConvTranspose2d;
  return [
    g.op(transposed ? 'ConvTranspose' : 'Conv', inputs, {
      kernel_shape: m.kernelSize,
      strides: m.stride,
      pads: convPads(path, m, spatial),
      dilations: m.dilation,
      group: m.groups,
      output_padding: transposed ? m.outputPadding : undefined,
    }),
  ];
}

function maxPool(g: GraphBuilder, m: nn.MaxPool2d, [x]: Traced[], path: string): string[] {
  requireRank(path, m, x, 4);
  const pads = pair(m.padding);
  return [
    g.op('MaxPool', [x.name], {
      kernel_shape: pair(m.kernelSize),
      strides: pair(m.stride),
      pads: [...pads, ...pads],
      dilations: pair(m.dilation),
      ceil_mode: m.ceilMode ? 1 : 0,
    }),
  ];
}

function avgPool(g: GraphBuilder, m: nn.AvgPool2d, [x]: Traced[], path: string): string[] {
  requireRank(path, m, x, 4);
  if (m.ceilMode)
    unsupported(
      path,
      m,
      'ceil_mode=True (ONNX Runtime and PyTorch place the last window differently)',
    );
  const pads = pair(m.padding);
  return [
    g.op('AveragePool', [x.name], {
      kernel_shape: pair(m.kernelSize),
      strides: pair(m.stride),
      pads: [...pads, ...pads],
      count_include_pad: m.countIncludePad ? 1 : 0,
    }),
  ];
}

function adaptiveAvgPool(
  g: GraphBuilder,
  m: nn.AdaptiveAvgPool2d,
  [x]: Traced[],
  path: string,
): string[] {
  requireRank(path, m, x, 4);
  const size = x.tensor.shape.slice(2);
  const out = pair(m.outputSize as Size).map((o, i) => o ?? size[i]);
  if (out.every((o) => o === 1)) return [g.op('GlobalAveragePool', [x.name])];
  if (out.some((o, i) => size[i] % o !== 0))
    unsupported(
      path,
      m,
      `output size [${out.join(', ')}] does not divide the input's [${size.join(', ')}]; ONNX has no adaptive pooling`,
    );
  const kernel = size.map((s, i) => s / out[i]);
  return [g.op('AveragePool', [x.name], { kernel_shape: kernel, strides: kernel })];
}

function batchNorm(g: GraphBuilder, m: any, [x]: Traced[], path: string): string[] {
  if (!m.trackRunningStats || !m.runningMean)
    unsupported(
      path,
      m,
      'without running statistics it normalises with batch statistics even in eval mode',
    );
  const c = m.numFeatures;
  const like = m.runningMean;
  const scale = m.weight
    ? g.weight(m.weight, `${path}.weight`)
    : g.constant(Array(c).fill(1), like.dtype, `${path}.weight`);
  const bias = m.bias
    ? g.weight(m.bias, `${path}.bias`)
    : g.constant(Array(c).fill(0), like.dtype, `${path}.bias`);
  const inputs = [
    x.name,
    scale,
    bias,
    g.weight(m.runningMean, `${path}.running_mean`),
    g.weight(m.runningVar, `${path}.running_var`),
  ];
  return [g.op('BatchNormalization', inputs, { epsilon: { float: m.eps } })];
}

function layerNorm(g: GraphBuilder, m: nn.LayerNorm, [x]: Traced[], path: string): string[] {
  const n = m.normalizedShape.reduce((a, b) => a * b, 1);
  const dtype = x.tensor.dtype === 'float64' ? 'float64' : 'float32';
  const scale = m.weight
    ? g.weight(m.weight, `${path}.weight`)
    : g.constant(Array(n).fill(1), dtype, `${path}.weight`, m.normalizedShape);
  const inputs = [x.name, scale];
  if (m.bias) inputs.push(g.weight(m.bias, `${path}.bias`));
  return [
    g.op('LayerNormalization', inputs, {
      axis: -m.normalizedShape.length,
      epsilon: { float: m.eps },
    }),
  ];
}

/** GELU: 0.5 x (1 + erf(x / √2)), or the tanh approximation. */
export function gelu(g: GraphBuilder, x: Traced, approximate: 'none' | 'tanh'): string {
  const s = (v: number) => g.scalar(v, x.tensor);
  let inner: string;
  if (approximate === 'tanh') {
    const cube = g.op('Mul', [g.op('Mul', [x.name, x.name]), x.name]);
    const poly = g.op('Add', [x.name, g.op('Mul', [cube, s(0.044715)])]);
    inner = g.op('Tanh', [g.op('Mul', [poly, s(Math.sqrt(2 / Math.PI))])]);
  } else inner = g.op('Erf', [g.op('Mul', [x.name, s(Math.SQRT1_2)])]);
  return g.op('Mul', [g.op('Mul', [x.name, s(0.5)]), g.op('Add', [inner, s(1)])]);
}

function softplus(g: GraphBuilder, x: Traced, beta: number, threshold: number): string {
  const s = (v: number) => g.scalar(v, x.tensor);
  const scaled = beta === 1 ? x.name : g.op('Mul', [x.name, s(beta)]);
  let soft = g.op('Softplus', [scaled]);
  if (beta !== 1) soft = g.op('Div', [soft, s(beta)]);
  // Like PyTorch: linear above the threshold (where exp would overflow).
  return g.op('Where', [g.op('Greater', [scaled, s(threshold)]), x.name, soft]);
}

const unary =
  (op: string, attrs: (m: any) => Record<string, any> = () => ({})): Converter =>
  (g, m, [x]) => [g.op(op, [x.name], attrs(m))];

const normDim = (dim: number, x: Traced) => (dim < 0 ? dim + x.tensor.dim() : dim);

function flatten(g: GraphBuilder, m: nn.Flatten, [x]: Traced[]): string[] {
  const rank = x.tensor.dim();
  const start = normDim(m.startDim, x);
  const end = normDim(m.endDim, x);
  if (end === rank - 1 && start === 1) return [g.op('Flatten', [x.name], { axis: 1 })];
  // 0 keeps a dimension as it is at run time (so a dynamic batch stays dynamic), -1 is the merged one.
  const shape = [...Array<number>(start).fill(0), -1, ...x.tensor.shape.slice(end + 1)];
  return [g.op('Reshape', [x.name, g.constant(shape, 'int64', 'shape')])];
}

function unflatten(g: GraphBuilder, m: nn.Unflatten, [x]: Traced[]): string[] {
  const dim = normDim(m.dim, x);
  const shape = [
    ...Array<number>(dim).fill(0),
    ...m.unflattenedSize,
    ...x.tensor.shape.slice(dim + 1),
  ];
  return [g.op('Reshape', [x.name, g.constant(shape, 'int64', 'shape')])];
}

/** The converters of the feed-forward layers, by class. */
export const LAYER_CONVERTERS = new Map<LayerClass, Converter>([
  [nn.Linear, linear],
  [nn.Conv1d, conv],
  [nn.Conv2d, conv],
  [nn.ConvTranspose2d, conv],
  [nn.MaxPool2d, maxPool],
  [nn.AvgPool2d, avgPool],
  [nn.AdaptiveAvgPool2d, adaptiveAvgPool],
  [nn.BatchNorm1d, batchNorm],
  [nn.BatchNorm2d, batchNorm],
  [nn.LayerNorm, layerNorm],
  [nn.ReLU, unary('Relu')],
  [nn.LeakyReLU, unary('LeakyRelu', (m) => ({ alpha: { float: m.negativeSlope } }))],
  [nn.Sigmoid, unary('Sigmoid')],
  [nn.Tanh, unary('Tanh')],
  [nn.ELU, unary('Elu', (m) => ({ alpha: { float: m.alpha } }))],
  [nn.GELU, (g, m, [x]) => [gelu(g, x, m.approximate)]],
  [nn.SiLU, (g, _m, [x]) => [g.op('Mul', [x.name, g.op('Sigmoid', [x.name])])]],
  [nn.Mish, (g, _m, [x]) => [g.op('Mul', [x.name, g.op('Tanh', [softplus(g, x, 1, 20)])])]],
  [nn.Softplus, (g, m, [x]) => [softplus(g, x, m.beta, m.threshold)]],
  [
    nn.Hardtanh,
    (g, m, [x]) => [
      g.op('Clip', [x.name, g.scalar(m.minVal, x.tensor), g.scalar(m.maxVal, x.tensor)]),
    ],
  ],
  [nn.Softmax, (g, m, [x]) => [g.op('Softmax', [x.name], { axis: m.dim })]],
  [nn.LogSoftmax, (g, m, [x]) => [g.op('LogSoftmax', [x.name], { axis: m.dim })]],
  // Evaluation mode: dropout is the identity.
  [nn.Dropout, unary('Identity')],
  [nn.Dropout2d, unary('Identity')],
  [nn.Identity, unary('Identity')],
  [nn.Flatten, flatten],
  [nn.Unflatten, unflatten],
  [
    nn.Embedding,
    (g, m, [x], path) => [g.op('Gather', [g.weight(m.weight, `${path}.weight`), x.name])],
  ],
]);
