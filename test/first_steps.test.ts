/**
 * The first steps of a new user that used to fail: `.to()` with a wrong or a device argument,
 * sync reads on the cpu-reference device, float class indices in crossEntropy, and the exports a
 * PyTorch user types.
 */
import { describe, expect, it } from 'vitest';
import {
  F,
  bool,
  empty,
  emptyLike,
  float32,
  float64,
  fullLike,
  getBackend,
  registerBackend,
  int32,
  nn,
  randn,
  tensor,
  zeros,
} from '../src/index.js';
import { expectAllClose, expectBitEqual } from './helpers/close.js';

describe('to()', () => {
  it('names an unknown dtype or device and lists the valid ones', () => {
    const x = randn([2]);
    const message =
      /to: unknown dtype or device 'float16'; dtypes: float32, float64, int32, bool; devices: .*cpu-reference/;
    expect(() => x.to('float16' as never)).toThrow(message);
    expect(() => x.to('webgpu')).toThrow(/to: unknown dtype or device 'webgpu'; dtypes: float32/);
    expect(() => x.to({ device: 'webgpu' })).toThrow(/to: unknown device 'webgpu'/);
    expect(() => x.to({ dtype: 'half' as never })).toThrow(/to: unknown dtype 'half'/);
    expect(() => x.to(undefined as never)).toThrow(/to: unknown dtype or device undefined/);
    expect(() => x.to('float64', 'float32')).toThrow(
      /a second argument \(dtype\) only follows a device/,
    );
    const model = new nn.Linear(2, 2);
    expect(() => model.to('webgpu')).toThrow(/Linear\.to: unknown dtype or device 'webgpu'/);
  });

  it('moves a tensor between devices, with the gradient moved back', () => {
    const x = randn([2, 3]).requiresGrad_();
    const y = x.to('cpu-reference');
    expect(y.device).toBe('cpu-reference');
    expectBitEqual(y, x.detach());
    const both = x.to('cpu-reference', 'float64');
    expect([both.device, both.dtype]).toEqual(['cpu-reference', 'float64']);
    expect(x.to({ dtype: float64 }).dtype).toBe('float64');
    expect(x.to(both).device).toBe('cpu-reference');
    y.mul(2).sum().backward();
    expect(x.grad!.device).toBe('cpu');
    expectAllClose(x.grad!, [2, 2, 2, 2, 2, 2]);
  });

  it('moves a module to a device and converts its dtype', () => {
    const model = new nn.Sequential(new nn.Linear(3, 2), new nn.BatchNorm1d(2));
    model.to('cpu-reference', 'float64');
    for (const p of model.parameters())
      expect([p.device, p.dtype]).toEqual(['cpu-reference', 'float64']);
    const tracked = model.namedBuffers().find(([name]) => name.endsWith('num_batches_tracked'))!;
    expect([tracked[1].device, tracked[1].dtype]).toEqual(['cpu-reference', 'int32']);
    const out = model.call(randn([4, 3], { dtype: 'float64', device: 'cpu-reference' }));
    expect(out.device).toBe('cpu-reference');
  });
});

describe('synchronous reads', () => {
  it('work on cpu-reference tensors, which live in host memory', () => {
    const x = tensor([1.5, 2], { device: 'cpu-reference' });
    expect(Array.from(x.dataSync())).toEqual([1.5, 2]);
    expect(x.arraySync()).toEqual([1.5, 2]);
    expect(x.sum().itemSync()).toBe(3.5);
    expect(x.toString()).toBe("tensor([1.5000, 2.0000], device='cpu-reference')");
  });

  it('are refused where the backend says it cannot read synchronously (a GPU)', async () => {
    registerBackend({ ...getBackend('cpu-reference'), name: 'async-only', canReadSync: false });
    const x = tensor([1, 2], { device: 'async-only' });
    expect(() => x.dataSync()).toThrow(
      'dataSync: synchronous reads work on CPU tensors only; this tensor is on async-only: use await data()',
    );
    expect(x.toString()).toBe(
      "tensor(<2 values on async-only; await data() to read>, device='async-only')",
    );
    expect(await x.array()).toEqual([1, 2]);
  });
});

describe('crossEntropy with float targets', () => {
  const logits = tensor([
    [1, 2, 0.5],
    [0.1, -1, 3],
  ]);

  it('takes whole-number float targets of the index shape as class indices', () => {
    const asInt = F.crossEntropy(logits, tensor([0, 2], { dtype: 'int32' }));
    expectBitEqual(F.crossEntropy(logits, tensor([0, 2])), asInt);
    const logProbs = F.logSoftmax(logits, 1);
    expectBitEqual(
      F.nllLoss(logProbs, tensor([0, 2])),
      F.nllLoss(logProbs, tensor([0, 2], { dtype: int32 })),
    );
    // An unbatched input [C] takes a 0-d float index.
    expectBitEqual(
      F.crossEntropy(logits.select(0, 1), tensor(2)),
      F.crossEntropy(logits.select(0, 1), tensor(2, { dtype: 'int32' })),
    );
  });

  it('keeps targets of the input shape as probabilities, and explains any other shape', () => {
    const probabilities = tensor([
      [0.2, 0.3, 0.5],
      [1, 0, 0],
    ]);
    expect(F.crossEntropy(logits, probabilities).itemSync()).toBeGreaterThan(0);
    expect(() => F.crossEntropy(logits, tensor([0.5, 1]))).toThrow(
      "crossEntropy: a float32 target of shape [2] is read as class indices, but element 0 is 0.5, not a whole number; give int32 class indices, or class probabilities of the input's shape [2, 3]",
    );
    expect(() => F.crossEntropy(logits, tensor([0, 1, 2]))).toThrow(
      "crossEntropy: expected a target of class indices of shape [2] (int32, or whole numbers) or of class probabilities of the input's shape [2, 3], got a float32 target of shape [3]",
    );
    expect(() => F.crossEntropy(logits, tensor([0, 5]))).toThrow(
      /target label 5 is out of range for 3 classes/,
    );
  });
});

describe('exports a PyTorch user types', () => {
  it('has empty, emptyLike, fullLike and the dtypes as values', () => {
    expect([float32, float64, int32, bool]).toEqual(['float32', 'float64', 'int32', 'bool']);
    const e = empty([2, 3], { dtype: float64 });
    expect([e.shape, e.dtype]).toEqual([[2, 3], 'float64']);
    const like = emptyLike(zeros([4], { dtype: int32 }));
    expect([like.shape, like.dtype]).toEqual([[4], 'int32']);
    expect(Array.from(fullLike(e, 7).dataSync())).toEqual([7, 7, 7, 7, 7, 7]);
    expect(randn([2]).to(float64).dtype).toBe(float64);
  });
});
