import { describe, expect, it } from 'vitest';
import { tensor } from '../src/index.js';
import { expectAllClose, expectBitEqual } from './helpers/close.js';

describe('the array matchers', () => {
  it('pass on close arrays and tensors, NaN where NaN is expected', () => {
    expectAllClose(tensor([1, 2, NaN]), [1 + 1e-7, 2, NaN]);
    expectBitEqual(new Float32Array([0, 1.5]), [0, 1.5]);
  });
  it('fail naming the first mismatch, its index and the tolerance', () => {
    expect(() => expectAllClose([1, 2, 3], [1, 2.1, 3], { rtol: 1e-3 })).toThrow(
      /\[1\] got 2, expected 2.1/,
    );
    expect(() => expectAllClose([1, 2], [1, 2, 3])).toThrow(/length 2, expected 3/);
    expect(() => expectAllClose([NaN], [1])).toThrow(/1 of 1 elements/);
    expect(() => expectAllClose([1e30, Infinity], [Infinity, -Infinity])).toThrow(/2 of 2/);
    expect(() => expectAllClose([1], [NaN], { equalNan: false })).toThrow(/1 of 1/);
    expect(() => expectBitEqual([0], [-0])).toThrow(/bit-equal/);
  });
});
