/**
 * Input validation shared by the functional ops: each helper throws an error that names the op,
 * the argument, what it got and what was expected, so that a bad call fails at the call site
 * instead of deep inside a kernel.
 */
import { assertFloatTensor } from '../../autograd/define.js';
import { formatShape, shapesEqual } from '../../tensor/shape.js';
import { describeArg } from '../../tensor/args.js';
import type { Tensor } from '../../tensor/tensor.js';

export type Reduction = 'mean' | 'sum' | 'none';

/** `value` as a tensor of floating dtype. */
export const floatInput = assertFloatTensor;

/** An optional float tensor (weight, bias) that must have `shape` and the input's dtype. */
export function optionalParam(
  op: string,
  value: Tensor | null | undefined,
  name: string,
  shape: readonly number[],
  like: Tensor,
): Tensor | null {
  if (value === undefined || value === null) return null;
  const t = floatInput(op, value, name);
  if (!shapesEqual(t.shape, shape))
    throw new Error(
      `${op}: expected ${name} of shape ${formatShape(shape)}, got ${formatShape(t.shape)}`,
    );
  sameDType(op, like, t, name);
  return t;
}

export function sameDType(op: string, input: Tensor, other: Tensor, name: string): void {
  if (input.dtype !== other.dtype) {
    throw new TypeError(
      `${op}: input has dtype ${input.dtype} but ${name} has dtype ${other.dtype}; they must match`,
    );
  }
}

/** Throws unless x has `rank` dims; `layout` names them, e.g. '[N, C, H, W]'. */
export function expectRank(
  op: string,
  x: Tensor,
  rank: number,
  layout: string,
  name = 'input',
): void {
  if (x.ndim !== rank)
    throw new Error(
      `${op}: expected ${name} of rank ${rank} ${layout}, got shape ${formatShape(x.shape)}`,
    );
}

export function sameShape(op: string, input: Tensor, target: Tensor, name = 'target'): void {
  if (!shapesEqual(input.shape, target.shape)) {
    throw new Error(
      `${op}: ${name} shape ${formatShape(target.shape)} must match the input shape ${formatShape(input.shape)}`,
    );
  }
}

/** A TypeError for a value that is not a number at all (an options object, a string). */
function notANumber(op: string, name: string, value: unknown): void {
  if (typeof value !== 'number')
    throw new TypeError(`${op}: ${name} must be a number, got ${describeArg(value)}`);
}

export function positiveInt(op: string, name: string, value: number): number {
  notANumber(op, name, value);
  if (!Number.isInteger(value) || value <= 0)
    throw new RangeError(`${op}: ${name} must be a positive integer, got ${String(value)}`);
  return value;
}

export function nonNegativeInt(op: string, name: string, value: number): number {
  notANumber(op, name, value);
  if (!Number.isInteger(value) || value < 0)
    throw new RangeError(`${op}: ${name} must be a non-negative integer, got ${String(value)}`);
  return value;
}

/** A number or an [h, w] pair as a pair, each checked by `check`. */
export function pair(
  op: string,
  name: string,
  value: number | readonly number[],
  check: typeof positiveInt,
): [number, number] {
  const values = typeof value === 'number' ? [value, value] : [...value];
  if (values.length !== 2)
    throw new Error(`${op}: ${name} must be a number or a pair [h, w], got [${values.join(', ')}]`);
  return [check(op, name, values[0]), check(op, name, values[1])];
}

export function finiteNumber(op: string, name: string, value: number): number {
  notANumber(op, name, value);
  if (!Number.isFinite(value))
    throw new RangeError(`${op}: ${name} must be a finite number, got ${String(value)}`);
  return value;
}

export function checkReduction<R extends string>(
  op: string,
  reduction: R,
  allowed: readonly R[],
): R {
  if (!allowed.includes(reduction)) {
    throw new Error(
      `${op}: reduction must be one of ${allowed.map((r) => `'${r}'`).join(', ')}, got '${String(reduction)}'`,
    );
  }
  return reduction;
}

/** Reduces an elementwise loss as PyTorch's `reduction` argument says. */
export function reduce(op: string, loss: Tensor, reduction: Reduction = 'mean'): Tensor {
  switch (checkReduction(op, reduction, ['mean', 'sum', 'none'])) {
    case 'mean':
      return loss.mean();
    case 'sum':
      return loss.sum();
    case 'none':
      return loss;
  }
}

/**
 * The values of an integer tensor, for checks that need them (class labels, embedding indices).
 * Only tensors whose backend reads synchronously (the CPU ones) can be read without waiting; on
 * other devices the check is left to the kernel.
 */
export function readIndices(t: Tensor): ArrayLike<number> | null {
  if (!t.backend.canReadSync) return null;
  // A tensor that is all of its storage is read there, not copied (a copy of a batch's labels
  // cost ~1 µs per loss); the checks only read it.
  return t.spansStorage() ? (t.storage as ArrayLike<number>) : t.dataSync();
}
