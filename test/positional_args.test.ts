/**
 * JavaScript has no keyword arguments: a PyTorch user writes `x.std(1, { correction: 0 })`.
 * Reductions take PyTorch's keyword arguments in an options object; everywhere else a boolean or
 * number argument of the wrong type is an error that names the op, the argument and the value,
 * never silently read as something else.
 */
import { describe, expect, it } from 'vitest';
import { F, nn, std, sum, tensor, var as variance } from '../src/index.js';
import { expectAllClose } from './helpers/close.js';

const x = tensor([
  [1, 2, 4],
  [3, 5, 9],
]);
const options = { correction: 0 } as never;

describe('keyword arguments in an options object', () => {
  it('var and std take correction, unbiased and keepdim by keyword', () => {
    // Population variance of each row: [14/9, 56/9].
    const population = [14 / 9, 56 / 9];
    expectAllClose(x.var(1, { correction: 0 }), population);
    expectAllClose(x.std(1, { correction: 0 }), population.map(Math.sqrt));
    expectAllClose(x.var({ dim: 1, unbiased: false }), population);
    expectAllClose(variance(x, 1, false, { correction: 0 }), population);
    expect(x.std(1, { correction: 0, keepdim: true }).shape).toEqual([2, 1]);
    expect(std(x, 1, true, { unbiased: true }).shape).toEqual([2, 1]);
    expectAllClose(x.var(1), [7 / 3, 28 / 3]); // Bessel's correction by default
  });

  it('reductions take dim and keepdim by keyword', () => {
    expect(x.sum(1, { keepdim: true }).shape).toEqual([2, 1]);
    expect(x.sum({ dim: 1, keepdim: true }).shape).toEqual([2, 1]);
    expect(sum(x, { dim: [0, 1] }).itemSync()).toBe(24);
    expect(x.mean({ dim: 0 }).shape).toEqual([3]);
    expect(x.amax(1, { keepdim: true }).shape).toEqual([2, 1]);
    expect(x.argmax(1, { keepdim: true }).shape).toEqual([2, 1]);
    expect(x.logsumexp({ dim: 1 }).shape).toEqual([2]);
    const { values, indices } = x.max({ dim: 1, keepdim: true });
    expect([values.shape, Array.from(indices.dataSync())]).toEqual([
      [2, 1],
      [2, 2],
    ]);
    expectAllClose(x.norm({ p: 1, dim: 1 }), [7, 17]);
  });
});

describe('arguments of the wrong type', () => {
  const cases: [string, () => unknown, string | RegExp][] = [
    [
      'sum keepdim',
      () => x.sum(1, 'yes' as never),
      "sum: keepdim must be a boolean, got the string 'yes'",
    ],
    [
      'sum unknown option',
      () => x.sum(1, options),
      "sum: unknown option 'correction'; sum takes 'dim', 'keepdim'",
    ],
    [
      'sum dim',
      () => x.sum('1' as never),
      "sum: dim must be an integer or an array of integers, got the string '1'",
    ],
    [
      'var both',
      () => x.var(1, { correction: 0, unbiased: false }),
      'var: give correction or unbiased, not both',
    ],
    [
      'std correction',
      () => x.std(1, { correction: '0' as never }),
      "std: correction must be a number, got the string '0'",
    ],
    [
      'std options then keepdim',
      () => x.std({ dim: 1 }, true),
      /std: an options object given as dim must be the last argument/,
    ],
    [
      'argmax dims',
      () => x.argmax([0, 1] as never),
      'argmax: dim must be one integer, got an array [0, 1]',
    ],
    [
      'transpose',
      () => x.transpose(options, 1),
      'transpose: dim must be an integer, got an options object {correction: 0}',
    ],
    [
      'softmax',
      () => x.softmax('1' as never),
      "softmax: dim must be an integer, got the string '1'",
    ],
    [
      'narrow',
      () => x.narrow(0, '1' as never, 1),
      "narrow: start must be an integer, got the string '1'",
    ],
    ['select', () => x.select(0, true as never), 'select: index must be an integer, got true'],
    [
      'slice',
      () => x.slice(1, 0, 2, options),
      'slice: step must be an integer, got an options object {correction: 0}',
    ],
    ['chunk', () => x.chunk('2' as never), "chunk: chunks must be an integer, got the string '2'"],
    [
      'split',
      () => x.split(options),
      'split: splitSize must be an integer, got an options object {correction: 0}',
    ],
    ['tril', () => x.tril('1' as never), "tril: diagonal must be an integer, got the string '1'"],
    ['roll', () => x.roll('1' as never, 0), "roll: shifts must be an integer, got the string '1'"],
    [
      'diagonal',
      () => x.diagonal(options),
      'diagonal: offset must be an integer, got an options object {correction: 0}',
    ],
    [
      'requiresGrad_',
      () => x.clone().requiresGrad_(options),
      'requiresGrad_: requiresGrad must be a boolean, got an options object {correction: 0}',
    ],
    [
      'Module.requiresGrad_',
      () => new nn.Linear(2, 2).requiresGrad_('no' as never),
      "Linear.requiresGrad_: requiresGrad must be a boolean, got the string 'no'",
    ],
    [
      'Module.parameters',
      () => new nn.Linear(2, 2).parameters({ recurse: false } as never),
      'Linear.parameters: recurse must be a boolean, got an options object {recurse: false}',
    ],
    [
      'leakyRelu',
      () => F.leakyRelu(x, { negativeSlope: 0.1 } as never),
      'leakyRelu: negativeSlope must be a number, got an options object {negativeSlope: 0.1}',
    ],
    [
      'dropout p',
      () => F.dropout(x, { p: 0.5 } as never),
      'dropout: p must be a number, got an options object {p: 0.5}',
    ],
    [
      'dropout training',
      () => F.dropout(x, 0.5, { training: false } as never),
      'dropout: training must be a boolean, got an options object {training: false}',
    ],
    [
      'uniform_',
      () => x.clone().uniform_(options),
      'uniform_: low must be a number, got an options object {correction: 0}',
    ],
    [
      'normal_',
      () => x.clone().normal_(0, '1' as never),
      "normal_: std must be a number, got the string '1'",
    ],
  ];
  it.each(cases)('%s', (_, call, message) => {
    expect(call).toThrow(message);
  });
});
