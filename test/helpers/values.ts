/** Reading tensors in assertions: shared by the engine and in-place tests. */
import { expect } from 'vitest';
import type { Tensor } from '../../src/index.js';

/** The elements of a tensor that must exist (a `.grad`, say), as plain numbers. */
export function values(t: Tensor | null | undefined): number[] {
  expect(t).toBeTruthy();
  return Array.from(t!.dataSync());
}

/** Element-wise toBeCloseTo against `expected`, with the same number of elements. */
export function expectClose(t: Tensor | null | undefined, expected: number[], digits = 5): void {
  const got = values(t);
  expect(got.length).toBe(expected.length);
  got.forEach((v, i) => expect(v).toBeCloseTo(expected[i], digits));
}

/** The bytes an array covers (not its whole buffer: arena storage shares one memory), for bit-exact comparisons. */
export function bytesOf(a: ArrayBufferView): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

/** The options of a plain SGD step (no momentum, no weight decay), as Backend.sgdUpdate takes them. */
export function plainSgdOptions(lr: number, maximize = false) {
  return {
    lr,
    momentum: 0,
    dampening: 0,
    weightDecay: 0,
    nesterov: false,
    maximize,
    firstStep: true,
  };
}
