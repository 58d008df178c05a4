/**
 * First and second derivatives of every F function by finite differences (gradcheck and
 * gradgradcheck in float64). Shapes are tiny because the checks cost
 * (output size) × (input size) evaluations.
 */
import { describe, expect, it } from 'vitest';
import {
  F,
  Generator,
  gradcheck,
  gradgradcheck,
  rand,
  randn,
  tensor,
  type Tensor,
} from '../src/index.js';

const generator = new Generator(7);
const normal = (...shape: number[]) =>
  randn(shape, { dtype: 'float64', generator, requiresGrad: true });
const uniform = (low: number, high: number, ...shape: number[]) =>
  rand(shape, { dtype: 'float64', generator })
    .mul(high - low)
    .add(low)
    .detach()
    .requiresGrad_();
const constant = (t: Tensor) => t.detach();
const labels = (values: number[], shape = [values.length]) =>
  tensor(values, { dtype: 'int32', shape });

interface GradCase {
  name: string;
  fn: (...inputs: Tensor[]) => Tensor | Tensor[];
  inputs: () => Tensor[];
  /** Whether to also run gradgradcheck (off only where it would be too slow). */
  second?: boolean;
}

const CASES: GradCase[] = [
  { name: 'relu', fn: F.relu, inputs: () => [normal(5)] },
  { name: 'sigmoid', fn: F.sigmoid, inputs: () => [normal(5)] },
  { name: 'tanh', fn: F.tanh, inputs: () => [normal(5)] },
  { name: 'silu', fn: F.silu, inputs: () => [normal(5)] },
  { name: 'mish', fn: F.mish, inputs: () => [normal(5)] },
  { name: 'leakyRelu', fn: (x) => F.leakyRelu(x, 0.2), inputs: () => [normal(5)] },
  { name: 'elu', fn: (x) => F.elu(x, 0.7), inputs: () => [normal(5)] },
  { name: 'gelu', fn: (x) => F.gelu(x), inputs: () => [normal(5)] },
  { name: 'gelu tanh', fn: (x) => F.gelu(x, { approximate: 'tanh' }), inputs: () => [normal(5)] },
  {
    name: 'softplus',
    fn: (x) => F.softplus(x, 2, 3),
    inputs: () => [normal(6).mul(2).detach().requiresGrad_()],
  },
  { name: 'hardtanh', fn: (x) => F.hardtanh(x, -0.5, 0.8), inputs: () => [normal(6)] },
  { name: 'softmax', fn: (x) => F.softmax(x, 1), inputs: () => [normal(2, 3)] },
  { name: 'logSoftmax', fn: (x) => F.logSoftmax(x, 0), inputs: () => [normal(3, 2)] },
  {
    name: 'dropout',
    fn: (x) => F.dropout(x, 0.4, true, new Generator(3)),
    inputs: () => [normal(6)],
  },
  { name: 'linear', fn: F.linear, inputs: () => [normal(2, 3), normal(2, 3), normal(2)] },
  {
    name: 'bilinear',
    fn: F.bilinear,
    inputs: () => [normal(2, 2), normal(2, 3), normal(2, 2, 3), normal(2)],
  },
  {
    name: 'layerNorm',
    fn: (x, w, b) => F.layerNorm(x, [3], w, b),
    inputs: () => [normal(2, 3), normal(3), normal(3)],
  },
  { name: 'rmsNorm', fn: (x, w) => F.rmsNorm(x, [3], w), inputs: () => [normal(2, 3), normal(3)] },
  {
    name: 'groupNorm',
    fn: (x, w, b) => F.groupNorm(x, 2, w, b),
    inputs: () => [normal(2, 4, 1), normal(4), normal(4)],
  },
  {
    name: 'batchNorm training',
    fn: (x, w, b) => F.batchNorm(x, null, null, { weight: w, bias: b, training: true }),
    inputs: () => [normal(3, 2), normal(2), normal(2)],
  },
  {
    name: 'batchNorm eval',
    fn: (x, w, b) =>
      F.batchNorm(
        x,
        tensor([0.1, -0.2], { dtype: 'float64' }),
        tensor([0.5, 2], { dtype: 'float64' }),
        { weight: w, bias: b },
      ),
    inputs: () => [normal(3, 2), normal(2), normal(2)],
  },
  {
    name: 'embedding',
    fn: (w) => F.embedding(labels([2, 0, 2, 1]), w),
    inputs: () => [normal(3, 2)],
  },
  {
    name: 'conv2d',
    fn: (x, w, b) => F.conv2d(x, w, b, { padding: 1, stride: 2 }),
    inputs: () => [normal(1, 2, 3, 3), normal(2, 2, 2, 2), normal(2)],
  },
  {
    name: 'conv2d groups dilation',
    fn: (x, w) => F.conv2d(x, w, null, { groups: 2, dilation: 2 }),
    inputs: () => [normal(1, 2, 3, 3), normal(2, 1, 2, 2)],
  },
  {
    name: 'conv2d same',
    fn: (x, w) => F.conv2d(x, w, null, { padding: 'same' }),
    inputs: () => [normal(1, 1, 3, 2), normal(1, 1, 2, 2)],
  },
  {
    name: 'conv1d',
    fn: (x, w, b) => F.conv1d(x, w, b, { padding: 1, stride: 2 }),
    inputs: () => [normal(1, 2, 4), normal(2, 2, 3), normal(2)],
  },
  {
    name: 'convTranspose2d',
    fn: (x, w, b) => F.convTranspose2d(x, w, b, { stride: 2, padding: 1, outputPadding: 1 }),
    inputs: () => [normal(1, 2, 2, 2), normal(2, 1, 2, 2), normal(1)],
  },
  {
    name: 'maxPool2d',
    fn: (x) => F.maxPool2d(x, 2, { stride: 1, padding: 1 }),
    inputs: () => [normal(1, 1, 3, 3)],
  },
  {
    name: 'maxPool2d ceilMode',
    fn: (x) => F.maxPool2d(x, 2, { ceilMode: true }),
    inputs: () => [normal(1, 2, 3, 3)],
  },
  {
    name: 'avgPool2d',
    fn: (x) => F.avgPool2d(x, 2, { stride: 2, padding: 1, ceilMode: true, countIncludePad: false }),
    inputs: () => [normal(1, 1, 3, 4)],
  },
  {
    name: 'adaptiveAvgPool2d',
    fn: (x) => F.adaptiveAvgPool2d(x, [2, 3]),
    inputs: () => [normal(1, 1, 3, 4)],
  },
  { name: 'pad', fn: (x) => F.pad(x, [1, 0, -1, 2]), inputs: () => [normal(3, 2)] },
  {
    name: 'crossEntropy',
    fn: (x, w) => F.crossEntropy(x, labels([0, 2, -100]), { weight: w, labelSmoothing: 0.2 }),
    inputs: () => [normal(3, 3), constant(uniform(0.5, 1.5, 3))],
  },
  {
    name: 'crossEntropy probabilities',
    fn: (x, p) => F.crossEntropy(x, p, { labelSmoothing: 0.1 }),
    inputs: () => [normal(2, 3), uniform(0, 1, 2, 3)],
  },
  {
    name: 'nllLoss',
    fn: (x) => F.nllLoss(x, labels([1, 0, 1]), { reduction: 'sum' }),
    inputs: () => [normal(3, 2)],
  },
  { name: 'mseLoss', fn: (x, t) => F.mseLoss(x, t), inputs: () => [normal(4), normal(4)] },
  { name: 'l1Loss', fn: (x, t) => F.l1Loss(x, t), inputs: () => [normal(4), normal(4)] },
  {
    name: 'smoothL1Loss',
    fn: (x, t) => F.smoothL1Loss(x, t, { beta: 0.8 }),
    inputs: () => [normal(5), normal(5)],
  },
  {
    name: 'huberLoss',
    fn: (x, t) => F.huberLoss(x, t, { delta: 0.8 }),
    inputs: () => [normal(5), normal(5)],
  },
  {
    name: 'binaryCrossEntropy',
    fn: (p, t) => F.binaryCrossEntropy(p, t),
    inputs: () => [uniform(0.1, 0.9, 4), uniform(0, 1, 4)],
  },
  {
    name: 'binaryCrossEntropyWithLogits',
    fn: (x, t) =>
      F.binaryCrossEntropyWithLogits(x, t, { posWeight: tensor([2, 0.5], { dtype: 'float64' }) }),
    inputs: () => [normal(2, 2), uniform(0, 1, 2, 2)],
  },
  {
    name: 'klDiv',
    fn: (x, t) => F.klDiv(x, t, { reduction: 'batchmean' }),
    inputs: () => [normal(2, 2), uniform(0.1, 1, 2, 2)],
  },
  {
    name: 'klDiv logTarget',
    fn: (x, t) => F.klDiv(x, t, { logTarget: true }),
    inputs: () => [normal(2, 2), normal(2, 2)],
  },
];

describe('F gradients by finite differences', () => {
  for (const c of CASES) {
    it(`gradcheck ${c.name}`, () => {
      expect(gradcheck(c.fn, c.inputs())).toBe(true);
    });
    if (c.second !== false) {
      it(`gradgradcheck ${c.name}`, () => {
        expect(gradgradcheck(c.fn, c.inputs())).toBe(true);
      });
    }
  }
});
