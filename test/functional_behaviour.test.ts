/**
 * F behaviour that fixtures cannot show: dropout's randomness, batchNorm's running statistics
 * across steps, numerical edge cases, and the error messages for bad input.
 */
import { describe, expect, it } from 'vitest';
import {
  F,
  Generator,
  autograd,
  noGrad,
  ones,
  randn,
  tensor,
  zeros,
  type Tensor,
} from '../src/index.js';

const ints = (values: number[], shape = [values.length]) =>
  tensor(values, { dtype: 'int32', shape });
const values = (t: Tensor) => Array.from(t.dataSync());

describe('dropout', () => {
  it('zeroes about p of the elements and scales the rest by 1 / (1 - p)', () => {
    const x = ones([20000]);
    const y = values(F.dropout(x, 0.3, true, new Generator(1)));
    const kept = y.filter((v) => v !== 0);
    expect(kept.every((v) => Math.abs(v - 1 / 0.7) < 1e-6)).toBe(true);
    expect(Math.abs(1 - kept.length / y.length - 0.3)).toBeLessThan(0.015);
  });

  it('is reproducible with a seeded generator and differs across seeds', () => {
    const x = randn([100]);
    expect(values(F.dropout(x, 0.5, true, new Generator(5)))).toEqual(
      values(F.dropout(x, 0.5, true, new Generator(5))),
    );
    expect(values(F.dropout(x, 0.5, true, new Generator(5)))).not.toEqual(
      values(F.dropout(x, 0.5, true, new Generator(6))),
    );
  });

  it('passes gradients only through kept elements, scaled', () => {
    const x = randn([50], { requiresGrad: true });
    const y = F.dropout(x, 0.5, true, new Generator(2));
    y.sum().backward();
    const mask = values(y).map((v) => (v === 0 ? 0 : 2));
    expect(values(x.grad!)).toEqual(mask);
  });

  it('is the identity when not training or p = 0, and zeroes everything for p = 1', () => {
    const x = randn([4]);
    expect(F.dropout(x, 0.5, false)).toBe(x);
    expect(F.dropout(x, 0)).toBe(x);
    expect(values(F.dropout(x, 1)).every((v) => v === 0)).toBe(true);
  });

  it('validates p', () => {
    expect(() => F.dropout(ones([2]), 1.5)).toThrow(
      'dropout: probability has to be between 0 and 1, but got 1.5',
    );
    expect(() => F.dropout(ones([2]), -0.1)).toThrow(/dropout: probability/);
    expect(() => F.dropout(ones([2]), NaN)).toThrow(/dropout: probability/);
  });
});

describe('batchNorm running statistics', () => {
  it('follow the exponential moving average of the batch mean and unbiased variance over several steps', () => {
    const runningMean = zeros([2]);
    const runningVar = ones([2]);
    let mean = [0, 0];
    let variance = [1, 1];
    for (let step = 0; step < 3; step++) {
      const x = randn([4, 2]);
      const columns = [0, 1].map((c) => (x.arraySync() as number[][]).map((row) => row[c]));
      const batchMean = columns.map((col) => col.reduce((a, b) => a + b, 0) / col.length);
      const unbiased = columns.map(
        (col, c) => col.reduce((a, b) => a + (b - batchMean[c]) ** 2, 0) / (col.length - 1),
      );
      mean = mean.map((m, c) => 0.9 * m + 0.1 * batchMean[c]);
      variance = variance.map((v, c) => 0.9 * v + 0.1 * unbiased[c]);
      F.batchNorm(x, runningMean, runningVar, { training: true });
    }
    values(runningMean).forEach((v, c) => expect(v).toBeCloseTo(mean[c], 5));
    values(runningVar).forEach((v, c) => expect(v).toBeCloseTo(variance[c], 5));
  });

  it('are not recorded by autograd and are left alone in evaluation', () => {
    const runningMean = zeros([3]);
    const runningVar = ones([3]);
    const x = randn([4, 3], { requiresGrad: true });
    F.batchNorm(x, runningMean, runningVar, { training: true }).sum().backward();
    expect(runningMean.requiresGrad).toBe(false);
    const before = values(runningMean);
    F.batchNorm(x, runningMean, runningVar);
    expect(values(runningMean)).toEqual(before);
  });

  it('training normalizes with the biased batch variance', () => {
    const y = F.batchNorm(tensor([[1], [3]]), null, null, { training: true, eps: 0 });
    expect(values(y)).toEqual([-1, 1]);
  });
});

describe('numerical edge cases', () => {
  it('softmax and logSoftmax are stable for huge logits', () => {
    const x = tensor([[1000, 1001, -1000]]);
    const p = values(F.softmax(x, 1));
    expect(p[0]).toBeCloseTo(0.2689, 4);
    expect(p[2]).toBe(0);
    expect(values(F.logSoftmax(x, 1)).every(Number.isFinite)).toBe(true);
  });

  it('binaryCrossEntropy clamps log(0) at -100 with finite gradients', () => {
    const p = tensor([0, 1, 0.5], { requiresGrad: true });
    const loss = F.binaryCrossEntropy(p, tensor([1, 0, 1]), { reduction: 'sum' });
    expect(loss.itemSync()).toBeCloseTo(200 + Math.LN2, 4);
    loss.backward();
    expect(values(p.grad!).every(Number.isFinite)).toBe(true);
  });

  it('binaryCrossEntropyWithLogits and softplus do not overflow', () => {
    const x = tensor([-1000, 1000], { requiresGrad: true });
    const loss = F.binaryCrossEntropyWithLogits(x, tensor([1, 0]), { reduction: 'none' });
    expect(values(loss)).toEqual([1000, 1000]);
    loss.sum().backward();
    expect(values(x.grad!)).toEqual([-1, 1]);
    expect(values(F.softplus(tensor([1000, -1000])))).toEqual([1000, 0]);
  });

  it('crossEntropy with every target ignored gives NaN for mean, like PyTorch', () => {
    expect(Number.isNaN(F.crossEntropy(randn([2, 3]), ints([-100, -100])).itemSync())).toBe(true);
  });

  it('conv2d supports double backward (a gradient penalty)', () => {
    const x = randn([1, 1, 4, 4], { dtype: 'float64', requiresGrad: true });
    const w = randn([2, 1, 3, 3], { dtype: 'float64', requiresGrad: true });
    const [gx] = autograd.grad([F.conv2d(x, w).square().sum()], [x], { createGraph: true });
    const [gw] = autograd.grad([gx!.square().sum()], [w]);
    expect(gw!.shape).toEqual([2, 1, 3, 3]);
    expect(values(gw!).some((v) => v !== 0)).toBe(true);
  });

  it('embedding gives padding rows no gradient but other rows their counts', () => {
    const w = randn([3, 2], { requiresGrad: true });
    F.embedding(ints([0, 1, 1, 2, 2]), w, { paddingIdx: 2 })
      .sum()
      .backward();
    expect(values(w.grad!)).toEqual([1, 1, 2, 2, 0, 0]);
  });

  it('convTranspose2d is the adjoint of conv2d', () => {
    const x = randn([1, 2, 5, 5], { dtype: 'float64' });
    const w = randn([3, 2, 3, 3], { dtype: 'float64' });
    const y = randn([1, 3, 3, 3], { dtype: 'float64' });
    const options = { stride: 2, padding: 1 } as const;
    const left = F.conv2d(x, w, null, options).mul(y).sum().itemSync() as number;
    const right = noGrad(() => F.convTranspose2d(y, w, null, options))
      .mul(x)
      .sum()
      .itemSync() as number;
    expect(left).toBeCloseTo(right, 10);
  });
});

describe('F errors name the function, the shapes and what was expected', () => {
  const x4 = randn([1, 3, 8, 8]);
  const cases: [string, () => unknown, string | RegExp][] = [
    [
      'conv2d rank',
      () => F.conv2d(randn([3, 28, 28]), randn([1, 3, 3, 3])),
      'conv2d: expected input of rank 4 [N, C, H, W], got shape [3, 28, 28]',
    ],
    [
      'conv2d channels',
      () => F.conv2d(x4, randn([4, 1, 3, 3])),
      'conv2d: input has 3 channels but weight expects 1 (groups=1)',
    ],
    [
      'conv2d groups',
      () => F.conv2d(x4, randn([4, 1, 3, 3]), null, { groups: 2 }),
      'conv2d: input has 3 channels but weight expects 2 (groups=2)',
    ],
    [
      'conv2d out channels',
      () => F.conv2d(randn([1, 4, 8, 8]), randn([3, 2, 3, 3]), null, { groups: 2 }),
      'conv2d: 3 output channels are not divisible by groups=2',
    ],
    [
      'conv2d bias',
      () => F.conv2d(x4, randn([4, 3, 3, 3]), randn([3])),
      'conv2d: expected bias of shape [4], got [3]',
    ],
    [
      'conv2d kernel too big',
      () => F.conv2d(randn([1, 1, 2, 2]), randn([1, 1, 3, 3])),
      /conv2d: the \(dilated\) kernel 3x3 is larger than the padded input 2x2/,
    ],
    [
      'conv2d same strided',
      () => F.conv2d(x4, randn([1, 3, 3, 3]), null, { stride: 2, padding: 'same' }),
      /conv2d: padding='same' is not supported for strided convolutions/,
    ],
    [
      'conv2d bad padding',
      () => F.conv2d(x4, randn([1, 3, 3, 3]), null, { padding: -1 }),
      'conv2d: padding must be a non-negative integer, got -1',
    ],
    [
      'conv2d bad stride',
      () => F.conv2d(x4, randn([1, 3, 3, 3]), null, { stride: 0 }),
      'conv2d: stride must be a positive integer, got 0',
    ],
    [
      'conv2d dtype',
      () => F.conv2d(x4, randn([1, 3, 3, 3], { dtype: 'float64' })),
      'conv2d: input has dtype float32 but weight has dtype float64; they must match',
    ],
    [
      'conv2d int input',
      () => F.conv2d(ints([1, 2, 3, 4], [1, 1, 2, 2]), randn([1, 1, 1, 1])),
      /conv2d: expected input of a floating point dtype, got int32/,
    ],
    [
      'conv1d rank',
      () => F.conv1d(randn([3, 10]), randn([1, 3, 3])),
      'conv1d: expected input of rank 3 [N, C, L], got shape [3, 10]',
    ],
    [
      'conv1d channels',
      () => F.conv1d(randn([1, 2, 10]), randn([1, 3, 3])),
      /conv1d: input has 2 channels but weight expects 3/,
    ],
    [
      'convTranspose2d channels',
      () => F.convTranspose2d(x4, randn([2, 1, 3, 3])),
      /convTranspose2d: input has 3 channels but weight \[2, 1, 3, 3\] expects 2/,
    ],
    [
      'convTranspose2d outputPadding',
      () => F.convTranspose2d(x4, randn([3, 1, 3, 3]), null, { outputPadding: 1 }),
      /convTranspose2d: outputPadding \(1, 1\) must be smaller than either stride/,
    ],
    [
      'maxPool2d rank',
      () => F.maxPool2d(randn([8, 8]), 2),
      'maxPool2d: expected input of rank 4 [N, C, H, W], got shape [8, 8]',
    ],
    [
      'maxPool2d padding',
      () => F.maxPool2d(x4, 2, { padding: 2 }),
      /maxPool2d: padding should be at most half of the effective kernel size/,
    ],
    [
      'maxPool2d too small',
      () => F.maxPool2d(randn([1, 1, 2, 2]), 3),
      /maxPool2d: input of shape \[1, 1, 2, 2\] is too small for kernelSize \[3, 3\]/,
    ],
    [
      'avgPool2d padding',
      () => F.avgPool2d(x4, 2, { padding: 2 }),
      /avgPool2d: padding should be at most half of the kernel size/,
    ],
    [
      'avgPool2d kernel',
      () => F.avgPool2d(x4, [2, 2, 2] as unknown as number),
      /avgPool2d: kernelSize must be a number or a pair/,
    ],
    [
      'adaptiveAvgPool2d size',
      () => F.adaptiveAvgPool2d(x4, 0),
      'adaptiveAvgPool2d: outputSize must be a positive integer, got 0',
    ],
    [
      'crossEntropy label',
      () => F.crossEntropy(randn([2, 3]), ints([0, 3])),
      /crossEntropy: target label 3 is out of range for 3 classes/,
    ],
    [
      // A column of a [2, 2] tensor: strided, read through a copy, not its storage.
      'crossEntropy label in a strided target',
      () => F.crossEntropy(randn([2, 3]), ints([0, 1, 3, 0]).reshape([2, 2]).select(1, 0)),
      /crossEntropy: target label 3 is out of range for 3 classes/,
    ],
    [
      'crossEntropy negative label',
      () => F.crossEntropy(randn([2, 3]), ints([-1, 0])),
      /crossEntropy: target label -1 is out of range for 3 classes/,
    ],
    [
      'crossEntropy target shape',
      () => F.crossEntropy(randn([2, 3]), ints([0, 1, 2])),
      'crossEntropy: expected a target of class indices of shape [2] for input of shape [2, 3] (or class probabilities of shape [2, 3]), got shape [3]',
    ],
    [
      'crossEntropy target dtype',
      () => F.crossEntropy(randn([2, 3]), tensor([true, false])),
      /crossEntropy: expected target of class indices of dtype int32, got bool/,
    ],
    [
      'crossEntropy probabilities shape',
      () => F.crossEntropy(randn([2, 3]), randn([2, 4])),
      "crossEntropy: expected a target of class indices of shape [2] (int32, or whole numbers) or of class probabilities of the input's shape [2, 3], got a float32 target of shape [2, 4]",
    ],
    [
      'crossEntropy weight',
      () => F.crossEntropy(randn([2, 3]), ints([0, 1]), { weight: ones([2]) }),
      'crossEntropy: expected weight of shape [3], got [2]',
    ],
    [
      'crossEntropy smoothing',
      () => F.crossEntropy(randn([2, 3]), ints([0, 1]), { labelSmoothing: 1.5 }),
      'crossEntropy: labelSmoothing must be in [0, 1], got 1.5',
    ],
    [
      'crossEntropy reduction',
      () => F.crossEntropy(randn([2, 3]), ints([0, 1]), { reduction: 'avg' as 'mean' }),
      "crossEntropy: reduction must be one of 'mean', 'sum', 'none', got 'avg'",
    ],
    [
      'nllLoss label',
      () => F.nllLoss(randn([2, 3]), ints([0, 5])),
      /nllLoss: target label 5 is out of range for 3 classes/,
    ],
    [
      'mseLoss shapes',
      () => F.mseLoss(randn([2, 3]), randn([3])),
      'mseLoss: target shape [3] must match the input shape [2, 3]',
    ],
    [
      'binaryCrossEntropy range',
      () => F.binaryCrossEntropy(tensor([0.5, 1.5]), tensor([0, 1])),
      /binaryCrossEntropy: all elements of input should be between 0 and 1/,
    ],
    [
      'binaryCrossEntropyWithLogits posWeight',
      () => F.binaryCrossEntropyWithLogits(randn([2, 3]), randn([2, 3]), { posWeight: ones([2]) }),
      /binaryCrossEntropyWithLogits: posWeight of shape \[2\] does not broadcast to the input shape \[2, 3\]/,
    ],
    [
      'klDiv reduction',
      () => F.klDiv(randn([2]), randn([2]), { reduction: 'avg' as 'mean' }),
      /klDiv: reduction must be one of 'mean', 'sum', 'none', 'batchmean'/,
    ],
    [
      'huberLoss delta',
      () => F.huberLoss(randn([2]), randn([2]), { delta: 0 }),
      'huberLoss: delta must be positive, got 0',
    ],
    [
      'linear features',
      () => F.linear(randn([2, 4]), randn([3, 5])),
      'linear: input of shape [2, 4] does not end in 5 features, as weight [3, 5] expects',
    ],
    [
      'linear weight rank',
      () => F.linear(randn([2, 4]), randn([4])),
      'linear: expected weight of rank 2 [out, in], got shape [4]',
    ],
    [
      'bilinear shapes',
      () => F.bilinear(randn([2, 3]), randn([2, 4]), randn([5, 3, 2])),
      /bilinear: inputs of shapes \[2, 3\] and \[2, 4\] do not fit weight \[5, 3, 2\]/,
    ],
    [
      'layerNorm shape',
      () => F.layerNorm(randn([2, 3]), [4]),
      'layerNorm: input of shape [2, 3] does not end in normalizedShape [4]',
    ],
    [
      'layerNorm weight',
      () => F.layerNorm(randn([2, 3]), [3], ones([2])),
      'layerNorm: expected weight of shape [3], got [2]',
    ],
    [
      'rmsNorm shape',
      () => F.rmsNorm(randn([2, 3]), [2, 3, 4]),
      /rmsNorm: input of shape \[2, 3\] does not end in normalizedShape \[2, 3, 4\]/,
    ],
    [
      'groupNorm groups',
      () => F.groupNorm(randn([2, 6, 3]), 4),
      'groupNorm: expected the number of channels 6 to be divisible by numGroups 4 (input shape [2, 6, 3])',
    ],
    [
      'batchNorm eval stats',
      () => F.batchNorm(randn([2, 3]), null, null),
      /batchNorm: runningMean and runningVar must be given in evaluation mode/,
    ],
    [
      'batchNorm one value',
      () => F.batchNorm(randn([1, 3]), null, null, { training: true }),
      'batchNorm: expected more than 1 value per channel when training, got input shape [1, 3]',
    ],
    [
      'batchNorm stats shape',
      () => F.batchNorm(randn([2, 3]), zeros([2]), ones([2])),
      'batchNorm: expected runningMean of shape [3], got [2]',
    ],
    [
      'embedding dtype',
      () => F.embedding(tensor([1, 2]), randn([3, 2])),
      'embedding: indices must be an int32 tensor, got float32',
    ],
    [
      'embedding range',
      () => F.embedding(ints([1, 3]), randn([3, 2])),
      'embedding: index 3 is out of range for a weight of shape [3, 2] (expected [0, 3))',
    ],
    [
      'embedding paddingIdx',
      () => F.embedding(ints([1]), randn([3, 2]), { paddingIdx: 3 }),
      /embedding: paddingIdx must be an integer in \[-3, 3\)/,
    ],
    [
      'softmax dim',
      () => F.softmax(randn([2, 3]), 2),
      /softmax: dimension 2 is out of range for a tensor of rank 2/,
    ],
    [
      'gelu approximate',
      () => F.gelu(randn([2]), { approximate: 'fast' as 'tanh' }),
      "gelu: approximate must be 'none' or 'tanh', got 'fast'",
    ],
    [
      'relu int',
      () => F.relu(ints([1, -1])),
      /relu: expected input of a floating point dtype, got int32/,
    ],
    [
      'hardtanh bounds',
      () => F.hardtanh(randn([2]), 1, -1),
      'hardtanh: minVal (1) must not exceed maxVal (-1)',
    ],
    [
      'not a tensor',
      () => F.sigmoid([1, 2] as unknown as Tensor),
      /sigmoid: expected input to be a Tensor/,
    ],
  ];
  for (const [name, call, message] of cases) {
    it(name, () => expect(call).toThrow(message));
  }
});
