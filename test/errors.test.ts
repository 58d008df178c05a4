/**
 * Bad input is rejected with an error that names the op and the offending shapes or values.
 * One table: each row calls a public function wrongly and gives a regex for the message.
 */
import { describe, expect, it } from 'vitest';
import {
  F,
  Generator,
  arange,
  cat,
  chunk,
  einsum,
  eye,
  full,
  linspace,
  manualSeed,
  ones,
  rand,
  randint,
  randn,
  split,
  stack,
  tensor,
  where,
  zeros,
  type NestedArray,
  type Tensor,
} from '../src/index.js';

const m23 = () => ones([2, 3]);
const idx = (values: NestedArray) => tensor(values, { dtype: 'int32' });

type Row = [name: string, fn: () => unknown, message: RegExp];

const shapeMismatch: Row[] = [
  [
    'add',
    () => m23().add(ones([4])),
    /add: shapes \[2, 3\] and \[4\] cannot be broadcast.*size 4 does not match size 3/,
  ],
  ['sub', () => m23().sub(ones([2, 2])), /sub: shapes \[2, 3\] and \[2, 2\]/],
  ['mul', () => ones([3, 1]).mul(ones([2, 4])), /mul: shapes \[3, 1\] and \[2, 4\]/],
  ['div', () => ones([5]).div(ones([3])), /div: shapes \[5\] and \[3\]/],
  ['where', () => where(ones([2]).gt(0), ones([3]), 0), /where: shapes \[2\] and \[3\]/],
  [
    'matmul',
    () => m23().matmul(ones([4, 5])),
    /matmul: shapes \[2, 3\] and \[4, 5\] are incompatible: inner dimensions 3 != 4/,
  ],
  ['matmul batch', () => ones([2, 2, 3]).matmul(ones([3, 3, 4])), /matmul: .*\[2\].*\[3\]/],
  [
    'matmul 0-d',
    () => tensor(1).matmul(ones([2])),
    /matmul: .*at least 1 dimension.*\[\] and \[2\]/,
  ],
  [
    'mm',
    () => m23().mm(m23()),
    /mm: shapes \[2, 3\] and \[2, 3\] are incompatible: inner dimensions 3 != 2/,
  ],
  ['mm rank', () => ones([3]).mm(m23()), /mm: expected two matrices.*\[3\]/],
  ['bmm', () => ones([2, 2, 3]).bmm(ones([3, 3, 2])), /bmm: batch sizes 2 and 3 differ/],
  ['dot', () => ones([3]).dot(ones([4])), /dot: shapes \[3\] and \[4\] are incompatible/],
  ['einsum', () => einsum('ij,jk->ik', m23(), m23()), /einsum.*3.*2|einsum.*2.*3/],
  ['cat', () => cat([m23(), ones([2, 4])], 0), /cat: .*dimension 0.*\[2, 3\].*\[2, 4\]/],
  ['cat rank', () => cat([m23(), ones([3])], 0), /cat: .*\[2, 3\].*\[3\]/],
  ['cat empty list', () => cat([]), /cat: expected a non-empty list/],
  ['stack', () => stack([ones([2]), ones([3])]), /stack: .*\[2\].*\[3\]/],
  [
    'expand',
    () => m23().expand(4, 3),
    /expand: .*size 4 must match the existing size 2 at dimension 0.*\[2, 3\]/,
  ],
  ['expand rank', () => m23().expand(3), /expand: .*sizes \(1\).*rank 2.*\[2, 3\]/],
  [
    'reshape',
    () => m23().reshape(4, 2),
    /reshape: shape \[4, 2\] is invalid for input of shape \[2, 3\] \(6 elements\)/,
  ],
  [
    'reshape -1',
    () => m23().reshape(-1, 4),
    /reshape: shape \[-1, 4\] is invalid for input of shape \[2, 3\]/,
  ],
  [
    'reshape two -1',
    () => m23().reshape(-1, -1),
    /reshape: only one dimension can be inferred.*\[-1, -1\]/,
  ],
  ['view', () => m23().view(5), /view: shape \[5\] is invalid for input of shape \[2, 3\]/],
  [
    'view strides',
    () => m23().t().view(6),
    /view: shape \[6\] is not compatible with .*\[3, 2\].*reshape/,
  ],
  ['permute', () => m23().permute(0), /permute: .*1 dims.*rank 2.*\[2, 3\]/],
  ['permute repeat', () => m23().permute(0, 0), /permute: .*\[0, 0\].*repeat/],
  ['t', () => ones([2, 2, 2]).t(), /t: .*<= 2 dimensions.*\[2, 2, 2\]/],
  [
    'maskedFill',
    () => m23().maskedFill(tensor([true, false]), 0),
    /maskedFill: .*\[2\].*\[2, 3\]|maskedFill: shapes \[2\] and \[2, 3\]|maskedFill.*\[2, 3\].*\[2\]/,
  ],
  [
    'copy_',
    () => zeros([2]).copy_(ones([3])),
    /copy_: src of shape \[3\] does not broadcast to the tensor's shape \[2\]/,
  ],
  [
    'add_ result',
    () => zeros([3]).add_(ones([2, 3])),
    /add_: the result of shape \[2, 3\] does not fit the tensor of shape \[3\]/,
  ],
  [
    'gather rank',
    () => m23().gather(1, idx([0, 1])),
    /gather: index must have the same rank as input \(2\).*\[2\].*\[2, 3\]/,
  ],
  [
    'scatterAdd',
    () => zeros([2, 3]).scatterAdd(1, idx([[0, 1, 2, 0]]), ones([1, 2])),
    /scatterAdd: index shape \[1, 4\] is larger than/,
  ],
  [
    'backward gradient',
    () =>
      m23()
        .requiresGrad_()
        .mul(2)
        .backward(ones([3])),
    /backward: gradient of shape \[3\] does not match the output's shape \[2, 3\]/,
  ],
  [
    'backward non-scalar',
    () => m23().requiresGrad_().mul(2).backward(),
    /backward: .*scalar.*\[2, 3\]/,
  ],
  ['split sizes', () => split(ones([5]), [2, 2]), /split: sizes \[2, 2\] .*sum to 5/],
  ['repeat', () => m23().repeat(2), /repeat: .*\(1\).*rank 2/],
  ['pad', () => F.pad(ones([3]), [1, 1, 1, 1]), /pad: padding length 4 .*rank 1/],
  [
    'tensor shape option',
    () => tensor([1, 2, 3], { shape: [2, 2] }),
    /tensor: shape \[2, 2\] needs 4 elements, got 3/,
  ],
  [
    'tensor typed shape',
    () => tensor(new Float32Array(3), { shape: [2] }),
    /tensor: shape \[2\] needs 2 elements, but the typed array has 3/,
  ],
];

const wrongDType: Row[] = [
  [
    'gather float index',
    () => m23().gather(1, ones([2, 1])),
    /gather: index must be an int32 tensor, got float32/,
  ],
  [
    'indexSelect float index',
    () => m23().indexSelect(0, tensor([0])),
    /indexSelect: index must be an int32 tensor, got float32/,
  ],
  [
    'scatter float index',
    () => m23().scatter(0, ones([1, 3]), 1),
    /scatter: index must be an int32 tensor, got float32/,
  ],
  [
    'where condition',
    () => where(ones([2]), ones([2]), 0),
    /where: condition must be a bool tensor, got float32/,
  ],
  [
    'where int condition',
    () => where(idx([1, 0]), ones([2]), 0),
    /where: condition must be a bool tensor, got int32/,
  ],
  [
    'maskedFill mask',
    () => m23().maskedFill(ones([2, 3]), 0),
    /maskedFill: mask must be a bool tensor, got float32/,
  ],
  [
    'requiresGrad int',
    () => idx([1, 2]).requiresGrad_(),
    /requiresGrad_: only tensors of floating point dtype can require gradients, got int32/,
  ],
  [
    'requiresGrad bool option',
    () => tensor([true], { requiresGrad: true }),
    /tensor: only tensors of floating point dtype can require gradients, got bool/,
  ],
  [
    'zeros int requiresGrad',
    () => zeros([2], { dtype: 'int32', requiresGrad: true }),
    /full: .*floating point.*int32|zeros: .*floating point.*int32/,
  ],
  ['mean int', () => idx([1, 2]).mean(), /mean: input dtype must be floating point, got int32/],
  ['var int', () => idx([1, 2]).var(), /var: input dtype must be floating point, got int32/],
  [
    'unknown dtype',
    () => zeros([2], { dtype: 'float16' as never }),
    /zeros|full.*unknown dtype float16.*float32/,
  ],
  [
    'in-place float into int',
    () => idx([1, 2]).mul_(0.5),
    /mul_: result type float32 can't be cast to the tensor's dtype int32/,
  ],
  [
    'add tensor and string',
    () => ones([2]).add('1' as never),
    /add: expected a tensor or a number, got string/,
  ],
];

/** Every dim-taking op family, called with dim 5 (or -3) on a [2, 3] tensor. */
const dimOps: [string, (x: Tensor, dim: number) => unknown][] = [
  ['sum', (x, d) => x.sum(d)],
  ['mean', (x, d) => x.mean(d)],
  ['prod', (x, d) => x.prod(d)],
  ['var', (x, d) => x.var(d)],
  ['std', (x, d) => x.std(d)],
  ['amax', (x, d) => x.amax(d)],
  ['amin', (x, d) => x.amin(d)],
  ['argmax', (x, d) => x.argmax(d)],
  ['argmin', (x, d) => x.argmin(d)],
  ['max', (x, d) => x.max(d)],
  ['min', (x, d) => x.min(d)],
  ['logsumexp', (x, d) => x.logsumexp(d)],
  ['norm', (x, d) => x.norm(2, d)],
  ['cumsum', (x, d) => x.cumsum(d)],
  ['squeeze', (x, d) => x.squeeze(d)],
  ['unsqueeze', (x, d) => x.unsqueeze(d >= 0 ? d + 1 : d - 1)],
  ['transpose', (x, d) => x.transpose(0, d)],
  ['permute', (x, d) => x.permute(0, d)],
  ['flatten', (x, d) => x.flatten(d)],
  ['unflatten', (x, d) => x.unflatten(d, [1, 3])],
  ['narrow', (x, d) => x.narrow(d, 0, 1)],
  ['select', (x, d) => x.select(d, 0)],
  ['slice', (x, d) => x.slice(d, 0, 1)],
  ['diagonal', (x, d) => x.diagonal(0, 0, d)],
  ['cat', (x, d) => cat([x, x], d)],
  ['stack', (x, d) => stack([x, x], d >= 0 ? d + 1 : d - 1)],
  ['split', (x, d) => split(x, 1, d)],
  ['chunk', (x, d) => chunk(x, 2, d)],
  ['flip', (x, d) => x.flip(d)],
  ['roll', (x, d) => x.roll(1, d)],
  ['gather', (x, d) => x.gather(d, idx([[0], [0]]))],
  ['scatter', (x, d) => x.scatter(d, idx([[0], [0]]), 1)],
  ['scatterAdd', (x, d) => x.scatterAdd(d, idx([[0], [0]]), ones([2, 1]))],
  ['indexSelect', (x, d) => x.indexSelect(d, idx([0]))],
  ['size', (x, d) => x.size(d)],
  ['softmax', (x, d) => F.softmax(x, d)],
  ['logSoftmax', (x, d) => F.logSoftmax(x, d)],
];

const outOfRangeDims: Row[] = dimOps.flatMap(([op, call]): Row[] => [
  [
    `${op} dim 5`,
    () => call(m23(), 5),
    new RegExp(
      `^${op}: dimension ${op === 'unsqueeze' || op === 'stack' ? 6 : 5} is out of range for a tensor of rank ${op === 'unsqueeze' || op === 'stack' ? 3 : 2}`,
    ),
  ],
  [
    `${op} dim -3`,
    () => call(m23(), -3),
    new RegExp(
      `^${op}: dimension ${op === 'unsqueeze' || op === 'stack' ? -4 : -3} is out of range`,
    ),
  ],
  [
    `${op} dim 1.5`,
    () => call(m23(), 1.5),
    new RegExp(
      `^${op}: dimension ${op === 'unsqueeze' || op === 'stack' ? 2.5 : 1.5} is out of range`,
    ),
  ],
]);

const outOfRangeIndex: Row[] = [
  [
    'select',
    () => m23().select(1, 3),
    /select: index 3 is out of range for dimension 1 with size 3/,
  ],
  [
    'select negative',
    () => m23().select(0, -3),
    /select: index -3 is out of range for dimension 0 with size 2/,
  ],
  ['index', () => m23().index(2), /index: index 2 is out of range for dimension 0 with size 2/],
  [
    'index second dim',
    () => m23().index(':', -4),
    /index: index -4 is out of range for dimension 1 with size 3/,
  ],
  [
    'index too many',
    () => m23().index(0, 0, 0),
    /index: too many indices for a tensor of rank 2 \(shape \[2, 3\]\): got 3/,
  ],
  ['index bad slice', () => m23().index('1:x'), /index: cannot parse '1:x'/],
  ['index slice step 0', () => m23().index('::0'), /index: slice '::0' has step 0/],
  [
    'narrow start',
    () => m23().narrow(1, 4, 1),
    /narrow: start 4 is out of range for dimension 1 of size 3/,
  ],
  [
    'narrow length',
    () => m23().narrow(1, 1, 3),
    /narrow: start 1 \+ length 3 exceeds dimension 1 of size 3/,
  ],
  [
    'gather',
    () => m23().gather(1, idx([[0], [3]])),
    /gather: index 3 is out of bounds for dimension 1 with size 3/,
  ],
  [
    'gather negative',
    () => m23().gather(0, idx([[-1, 0, 0]])),
    /gather: index -1 is out of bounds for dimension 0 with size 2/,
  ],
  [
    'indexSelect',
    () => m23().indexSelect(1, idx([0, 5])),
    /indexSelect: index 5 is out of bounds for dimension 1 with size 3/,
  ],
  [
    'scatter',
    () => zeros([2, 3]).scatter(0, idx([[2, 0, 0]]), 1),
    /scatter: index 2 is out of bounds for dimension 0 with size 2/,
  ],
  [
    'scatterAdd',
    () => zeros([2, 3]).scatterAdd(1, idx([[7]]), ones([1, 1])),
    /scatterAdd: index 7 is out of bounds for dimension 1 with size 3/,
  ],
  ['item', () => m23().itemSync(), /itemSync: a tensor with 6 elements \(shape \[2, 3\]\)/],
];

const invalidScalars: Row[] = [
  ['arange step 0', () => arange(0, 5, 0), /arange: step must be non-zero, got 0/],
  ['arange NaN', () => arange(0, NaN), /arange: end must be a finite number, got NaN/],
  ['arange inf', () => arange(Infinity), /arange: end must be a finite number, got Infinity/],
  [
    'arange wrong sign',
    () => arange(0, 5, -1),
    /arange: upper bound 5 and lower bound 0 are inconsistent with step sign -1/,
  ],
  [
    'linspace negative steps',
    () => linspace(0, 1, -2),
    /linspace: steps must be a non-negative integer, got -2/,
  ],
  [
    'linspace fractional steps',
    () => linspace(0, 1, 2.5),
    /linspace: steps must be a non-negative integer, got 2.5/,
  ],
  ['linspace NaN', () => linspace(0, NaN, 3), /linspace: end must be a finite number, got NaN/],
  ['clamp NaN min', () => ones([2]).clamp(NaN, 1), /clamp: min must not be NaN/],
  ['clamp NaN max', () => ones([2]).clamp(0, NaN), /clamp: max must not be NaN/],
  ['clamp no bounds', () => ones([2]).clamp(), /clamp: at least one of min and max/],
  [
    'clamp_ NaN',
    () => ones([2]).clamp_(NaN),
    /clamp: min must not be NaN|clamp_: min must not be NaN/,
  ],
  [
    'uniform_ low > high',
    () => zeros([2]).uniform_(2, 1),
    /uniform_: expects finite low <= high, got low=2, high=1/,
  ],
  ['uniform_ NaN', () => zeros([2]).uniform_(NaN, 1), /uniform_: .*low=NaN/],
  [
    'normal_ negative std',
    () => zeros([2]).normal_(0, -1),
    /normal_: .*std >= 0, got mean=0, std=-1/,
  ],
  ['normal_ inf mean', () => zeros([2]).normal_(Infinity, 1), /normal_: .*mean=Infinity/],
  ['manualSeed NaN', () => manualSeed(NaN), /manualSeed: seed must be a finite number, got NaN/],
  [
    'Generator NaN',
    () => new Generator(Infinity),
    /manualSeed: seed must be a finite number, got Infinity|Generator: .*Infinity/,
  ],
  [
    'randint low >= high',
    () => randint(5, 5, [2]),
    /randint: expected integers low < high, got low=5, high=5/,
  ],
  ['randint fractional', () => randint(0, 2.5, [2]), /randint: .*high=2.5/],
  ['zeros negative size', () => zeros([2, -1]), /(zeros|full): invalid shape \[2, -1\]/],
  ['randn fractional size', () => randn([2.5]), /randn: invalid shape \[2.5\]/],
  ['rand NaN size', () => rand([NaN]), /rand: invalid shape \[NaN\]/],
  ['full NaN size', () => full([NaN], 1), /full: invalid shape \[NaN\]/],
  ['eye negative', () => eye(-1), /eye: invalid shape \[-1, -1\]/],
  ['reshape fractional', () => m23().reshape(1.5, 4), /reshape: invalid shape \[1.5, 4\]/],
  ['expand negative', () => m23().expand(-2, 3), /expand: invalid size -2 at dimension 0/],
  ['slice step 0', () => m23().slice(1, 0, 2, 0), /slice: step must be a positive integer, got 0/],
  ['split size 0', () => split(m23(), 0), /split: splitSize must be a positive integer, got 0/],
  ['chunk 0', () => chunk(m23(), 0), /chunk: chunks must be a positive integer, got 0/],
  [
    'repeat negative',
    () => m23().repeat(1, -1),
    /repeat: repeats must be non-negative integers, got \[1, -1\]/,
  ],
  ['norm order', () => m23().norm(-1), /norm: order p=-1 is not supported/],
  [
    'fill_ string',
    () => zeros([2]).fill_('1' as never),
    /fill_: value must be a number, got string/,
  ],
];

const ragged: Row[] = [
  [
    'ragged rows',
    () => tensor([[1, 2], [3]]),
    /tensor: ragged nested array: expected length 2 at index \[1\] \(shape \[2, 2\]\), got 1/,
  ],
  [
    'number among rows',
    () => tensor([[1, 2], 3 as never]),
    /tensor: ragged nested array: expected length 2 at index \[1\].*got number/,
  ],
  [
    'row among numbers',
    () => tensor([1, [2] as never]),
    /tensor: ragged nested array at index \[1\]: expected a number, got an array/,
  ],
  [
    'deep ragged',
    () =>
      tensor([
        [[1, 2]],
        [
          [3, 4],
          [5, 6],
        ],
      ]),
    /tensor: ragged nested array: expected length 1 at index \[1\]/,
  ],
  [
    'string element',
    () => tensor(['a' as never]),
    /tensor: expected numbers or booleans, got string at index \[0\]/,
  ],
  [
    'null element',
    () => tensor([1, null as never]),
    /tensor: expected numbers or booleans, got object at index \[1\]/,
  ],
];

const table: [string, Row[]][] = [
  ['shape mismatch', shapeMismatch],
  ['wrong dtype', wrongDType],
  ['out-of-range dim', outOfRangeDims],
  ['out-of-range index', outOfRangeIndex],
  ['invalid scalars', invalidScalars],
  ['ragged nested arrays', ragged],
];

for (const [group, rows] of table) {
  describe(group, () => {
    it.each(rows)('%s', (_name, fn, message) => {
      let error: unknown;
      try {
        fn();
      } catch (e) {
        error = e;
      }
      expect(error, 'expected an error to be thrown').toBeInstanceOf(Error);
      expect((error as Error).message).toMatch(message);
    });
  });
}

describe('errors leave no trace', () => {
  it('a failed op does not change its inputs or grad mode', () => {
    const x = tensor([1, 2, 3], { requiresGrad: true });
    const v = x.version;
    expect(() => x.add(ones([2]))).toThrow();
    expect(() => zeros([3]).add_(ones([2]))).toThrow();
    expect(x.version).toBe(v);
    expect(x.gradFn).toBeNull();
    x.sum().backward();
    expect(Array.from(x.grad!.dataSync())).toEqual([1, 1, 1]);
  });

  it('a failed in-place op leaves the tensor unchanged', () => {
    const t = tensor([1, 2, 3]);
    expect(() => t.add_(ones([2, 3]))).toThrow();
    expect(Array.from(t.dataSync())).toEqual([1, 2, 3]);
    expect(t.version).toBe(0);
  });
});
