/**
 * F (nn.functional) against PyTorch: every case of test/fixtures/functional.json (written by
 * scripts/fixtures/functional.py) runs the same computation here and compares the output and
 * the input gradients for PyTorch's cotangent.
 */
import { describe, expect, it } from 'vitest';
import { F, type Tensor } from '../src/index.js';
import { checkCase, loadFixtures, type FixtureCase } from './helpers/reference.js';

type Args = Record<string, any>;
type Op = (inputs: Tensor[], args: Args, variant: string) => Tensor | Tensor[];

const unary =
  (fn: (x: Tensor) => Tensor): Op =>
  ([x]) =>
    fn(x);

/** Conv inputs are [x, weight] or [x, weight, bias]. */
const conv =
  (fn: (x: Tensor, w: Tensor, b: Tensor | null, o: Args) => Tensor): Op =>
  ([x, w, b], args) =>
    fn(x, w, b ?? null, args);

/** Loss inputs are [input, target] or [input, target, weight]. */
const weightedLoss =
  (fn: (x: Tensor, t: Tensor, o: Args) => Tensor): Op =>
  ([x, t, w], args) =>
    fn(x, t, { ...args, weight: w });

const OPS: Record<string, Op> = {
  relu: unary(F.relu),
  sigmoid: unary(F.sigmoid),
  tanh: unary(F.tanh),
  silu: unary(F.silu),
  mish: unary(F.mish),
  leakyRelu: ([x], a) => F.leakyRelu(x, a?.negativeSlope),
  elu: ([x], a) => F.elu(x, a?.alpha),
  gelu: ([x], a) => F.gelu(x, a ?? {}),
  softplus: ([x], a) => F.softplus(x, a?.beta, a?.threshold),
  hardtanh: ([x], a) => F.hardtanh(x, a?.minVal, a?.maxVal),
  softmax: ([x], a) => F.softmax(x, a.dim),
  logSoftmax: ([x], a) => F.logSoftmax(x, a.dim),
  linear: ([x, w, b]) => F.linear(x, w, b),
  bilinear: ([x1, x2, w, b]) => F.bilinear(x1, x2, w, b),
  layerNorm: ([x, w, b], a) => F.layerNorm(x, a.normalizedShape, w, b, a.eps),
  rmsNorm: ([x, w], a) => F.rmsNorm(x, a.normalizedShape, w, a.eps),
  groupNorm: ([x, w, b], a) => F.groupNorm(x, a.numGroups, w, b, a.eps),
  batchNorm: (inputs, a, variant) => {
    // Inputs: x, then running stats unless 'nostats', then weight and bias unless 'noaffine'.
    const [x, ...rest] = inputs;
    const [runningMean, runningVar] = variant.includes('nostats')
      ? [null, null]
      : rest.splice(0, 2);
    const [weight, bias] = rest;
    const y = F.batchNorm(x, runningMean, runningVar, { ...a, weight, bias });
    // The running stats were updated in place: compare them with PyTorch's updated ones.
    return runningMean && runningVar ? [y, runningMean, runningVar] : [y];
  },
  embedding: ([i, w], a) => F.embedding(i, w, a ?? {}),
  conv2d: conv(F.conv2d),
  conv1d: conv(F.conv1d),
  convTranspose2d: conv(F.convTranspose2d),
  maxPool2d: ([x], { kernelSize, ...o }) => F.maxPool2d(x, kernelSize, o),
  avgPool2d: ([x], { kernelSize, ...o }) => F.avgPool2d(x, kernelSize, o),
  adaptiveAvgPool2d: ([x], a) => F.adaptiveAvgPool2d(x, a.outputSize),
  crossEntropy: weightedLoss(F.crossEntropy),
  nllLoss: weightedLoss(F.nllLoss),
  mseLoss: ([x, t], a) => F.mseLoss(x, t, a),
  l1Loss: ([x, t], a) => F.l1Loss(x, t, a),
  smoothL1Loss: ([x, t], a) => F.smoothL1Loss(x, t, a),
  huberLoss: ([x, t], a) => F.huberLoss(x, t, a),
  binaryCrossEntropy: weightedLoss(F.binaryCrossEntropy),
  binaryCrossEntropyWithLogits: ([x, t, w, posWeight], a) =>
    F.binaryCrossEntropyWithLogits(x, t, { ...a, weight: w, posWeight }),
  klDiv: ([x, t], a) => F.klDiv(x, t, a),
};

const cases = loadFixtures('functional.json');
const byOp = new Map<string, FixtureCase[]>();
for (const c of cases) {
  const op = c.name.split(':')[0];
  byOp.set(op, [...(byOp.get(op) ?? []), c]);
}

describe('F against PyTorch', () => {
  it('has a fixture for every function of docs/functional-api.md, and every fixture maps to one', () => {
    expect([...byOp.keys()].sort()).toEqual(Object.keys(OPS).sort());
    expect(cases.length).toBeGreaterThan(150);
  });

  for (const [op, opCases] of byOp) {
    describe(op, () => {
      for (const c of opCases) {
        const variant = c.name.slice(op.length + 1);
        it(variant, () => checkCase(c, (inputs, args) => OPS[op](inputs, args ?? {}, variant)));
      }
    });
  }
});
