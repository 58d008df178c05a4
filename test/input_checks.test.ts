/**
 * No silent wrong results (issue 17): creation functions that refuse what they cannot produce,
 * one device check for every op of several tensors, sizes too large to allocate, and messages
 * that say what was wrong.
 */
import { describe, expect, it } from 'vitest';
import {
  cat,
  F,
  full,
  Generator,
  optim,
  rand,
  randint,
  randn,
  stack,
  tensor,
  where,
  zeros,
} from '../src/index.js';

describe('creation refuses what it cannot produce', () => {
  it('rand and randn with an integer or bool dtype', () => {
    expect(() => rand([2], { dtype: 'int32' })).toThrow(
      /rand: expected a floating point dtype \(float32 or float64\), got int32/,
    );
    expect(() => randn([2], { dtype: 'bool' })).toThrow(
      /randn: expected a floating point dtype.*got bool/,
    );
    expect(rand([2], { dtype: 'float64' }).dtype).toBe('float64');
  });

  it('randint with bounds beyond its dtype', () => {
    expect(() => randint(0, 2 ** 40, [2])).toThrow(
      /randint: the range \[0, 1099511627776\) is out of bounds for int32/,
    );
    expect(() => randint(-(2 ** 31) - 1, 0, [2])).toThrow(/out of bounds for int32/);
    const edge = randint(2 ** 31 - 3, 2 ** 31, [50]).dataSync();
    expect(edge.every((v) => v >= 2 ** 31 - 3 && v <= 2 ** 31 - 1)).toBe(true);
  });

  it('integer tensors from values outside the dtype range', () => {
    expect(() => tensor([1, 2 ** 31], { dtype: 'int32' })).toThrow(
      /tensor: value 2147483648 \(element 1\) cannot be converted to int32 without overflow/,
    );
    expect(() => tensor(new Float32Array([NaN]), { dtype: 'int32' })).toThrow(/value NaN/);
    expect(() => full([2], -(2 ** 32), { dtype: 'int32' })).toThrow(/full: value -4294967296/);
    expect(Array.from(tensor([-(2 ** 31), 2 ** 31 - 1], { dtype: 'int32' }).dataSync())).toEqual([
      -(2 ** 31),
      2 ** 31 - 1,
    ]);
  });

  it('a fill value that is not a number', () => {
    expect(() => full([2], 'a' as unknown as number)).toThrow(
      /full: expected a number or a boolean fill value, got string "a"/,
    );
    expect(() => full([2], undefined as unknown as number)).toThrow(/got undefined/);
  });
});

describe('one device check for every op of several tensors', () => {
  const a = zeros([2, 2]);
  const b = zeros([2, 2], { device: 'cpu-reference' });
  const message =
    /expected all tensors on the same device, got input 0 on cpu, input 1 on cpu-reference/;

  it('matmul, linear, cat, stack, where', () => {
    expect(() => a.matmul(b)).toThrow(message);
    expect(() => F.linear(a, b)).toThrow(/same device/);
    expect(() => cat([a, b])).toThrow(message);
    expect(() => stack([a, b])).toThrow(/same device/);
    expect(() => where(a.gt(0), a, b)).toThrow(/same device/);
  });

  it('with gradients on', () => {
    const w = zeros([2, 2], { requiresGrad: true });
    expect(() => w.matmul(b)).toThrow(message);
  });
});

describe('sizes too large to allocate', () => {
  it('name the op, the shape and the bytes', () => {
    expect(() => zeros([1e6, 1e6])).toThrow(
      /full: a float32 tensor of shape \[1000000, 1000000\] is too large to allocate: 1000000000000 elements, 3\.64 TB \(4000000000000 bytes\)/,
    );
    expect(() => randn([1e5, 1e5])).toThrow(
      /randn: a float32 tensor of shape \[100000, 100000\] is too large/,
    );
    expect(() => zeros([1]).expand([1e5, 1e5]).contiguous()).toThrow(
      /contiguous: a float32 tensor of shape \[100000, 100000\] is too large to allocate: 10000000000 elements, 37\.3 GB \(40000000000 bytes\)/,
    );
  });

  it('name the op and its operands when a result outgrows its inputs', () => {
    expect(() => zeros([70000, 1]).add(zeros([1, 70000]))).toThrow(
      /add: broadcasting \[70000, 1\] with \[1, 70000\]: a float32 tensor of shape \[70000, 70000\] is too large to allocate/,
    );
    expect(() => zeros([70000, 1]).matmul(zeros([1, 70000]))).toThrow(
      /matmul: \[1, 70000, 1\] @ \[1, 1, 70000\]: a float32 tensor of shape \[1, 70000, 70000\] is too large/,
    );
    expect(() => zeros([70000]).repeat([70000])).toThrow(
      /contiguous: a float32 tensor of shape \[70000, 70000\] is too large/,
    );
  });
});

describe('messages say what was wrong', () => {
  it('lr: NaN', () => {
    expect(() => new optim.SGD([zeros([1], { requiresGrad: true })], { lr: NaN })).toThrow(
      /SGD: option lr must be a number, got NaN/,
    );
  });

  it('a string as a shape', () => {
    expect(() => zeros('3' as unknown as number[])).toThrow(
      /expected a shape \(an array of sizes\), got the string "3"/,
    );
    expect(() => zeros([6]).reshape('23' as unknown as number[])).toThrow(
      /reshape: expected a shape/,
    );
    expect(() => zeros([2.5])).toThrow(/size 2\.5 is not an integer/);
    expect(() => zeros([-1])).toThrow(/size -1 is negative/);
  });

  it('a fractional index', () => {
    expect(() => zeros([4]).index(1.5)).toThrow(/index: index must be an integer, got 1\.5/);
    expect(() => zeros([4]).select(0, 1.5)).toThrow(/select: index must be an integer, got 1\.5/);
  });

  it('a negative narrow length', () => {
    expect(() => zeros([4]).narrow(0, 1, -1)).toThrow(
      /narrow: length must be non-negative, got -1/,
    );
    expect(() => zeros([4]).narrow(0, 1, 4)).toThrow(/exceeds dimension 0 of size 4/);
  });

  it('Generator.setState with a wrong object', () => {
    const g = new Generator(1);
    expect(() => g.setState({} as never)).toThrow(
      /Generator\.setState: .*its seed must be a finite number, got undefined/,
    );
    expect(() => g.setState({ seed: 1, words: [1, 2] } as never)).toThrow(
      /words must be 4 unsigned 32-bit integers, got \[1,2\]/,
    );
    expect(() => g.setState(null as never)).toThrow(/got null/);
    expect(() => g.setState({ seed: 1, words: [0, 0, 0, 0] })).toThrow(/all zero/);
  });
});
