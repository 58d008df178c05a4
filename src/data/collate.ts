/**
 * Collation: turning a list of samples into one batch, as PyTorch's `default_collate`.
 */
import { Tensor } from '../tensor/tensor.js';
import type { TypedArray } from '../tensor/dtype.js';
import { formatShape } from '../tensor/shape.js';
import { tensor } from '../tensor/creation.js';
import { stack } from '../autograd/ops/shape_ops.js';
import { describe } from './dataset.js';

/** The batch type `defaultCollate` makes from samples of type T. */
export type Collated<T> = T extends Tensor
  ? Tensor
  : T extends number | boolean
    ? Tensor
    : T extends string
      ? string[]
      : T extends TypedArray
        ? Tensor
        : T extends readonly unknown[]
          ? { -readonly [K in keyof T]: Collated<T[K]> }
          : T extends object
            ? { -readonly [K in keyof T]: Collated<T[K]> }
            : never;

/**
 * Stacks a list of samples into a batch, field by field, as PyTorch's `default_collate`:
 * - tensors of one shape and dtype → one tensor with a new leading batch dimension;
 * - numbers → a float32 tensor of shape [B] (always float32, so every batch has the same dtype;
 *   for integer class labels, store them in an int32 tensor, e.g. a TensorDataset column);
 * - booleans → a bool tensor [B]; typed arrays of one length → a tensor [B, length]
 *   (dtype as `tensor()` gives it);
 * - strings → an array of the strings;
 * - arrays / tuples of one length → an array of each position collated;
 * - plain objects with the same keys → an object of each key collated.
 * @example
 * defaultCollate([[randn([3]), 1], [randn([3]), 0]]); // [Tensor [2, 3], Tensor [2] float32]
 * defaultCollate([{ x: randn([2]), id: 'a' }, { x: randn([2]), id: 'b' }]); // { x: [2, 2], id: ['a', 'b'] }
 */
export function defaultCollate<T>(samples: readonly T[]): Collated<T> {
  if (!Array.isArray(samples) || samples.length === 0) {
    throw new TypeError(
      `defaultCollate: expected a non-empty array of samples, got ${describe(samples)}`,
    );
  }
  return collate(samples, 'batch') as Collated<T>;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function fail(path: string, message: string): never {
  throw new TypeError(`defaultCollate: ${message} (at ${path})`);
}

function collate(samples: readonly unknown[], path: string): unknown {
  const first = samples[0];
  const mismatch = (i: number, expected: string): never =>
    fail(
      path,
      `sample 0 is ${expected} but sample ${i} is ${describe(samples[i])}; every sample must have the same structure`,
    );

  if (first instanceof Tensor) {
    samples.forEach((s, i) => {
      if (!(s instanceof Tensor)) mismatch(i, 'a Tensor');
      const t = s as Tensor;
      if (t.ndim !== first.ndim || t.shape.some((d, j) => d !== first.shape[j])) {
        fail(
          path,
          `tensors must have the same shape to be stacked: sample 0 has shape ${formatShape(first.shape)}, sample ${i} has shape ${formatShape(t.shape)}`,
        );
      }
      if (t.dtype !== first.dtype)
        fail(
          path,
          `tensors must have the same dtype: sample 0 is ${first.dtype}, sample ${i} is ${t.dtype}`,
        );
      if (t.device !== first.device)
        fail(
          path,
          `tensors must be on the same device: sample 0 is on ${first.device}, sample ${i} on ${t.device}`,
        );
    });
    return stack(samples as Tensor[], 0);
  }
  if (typeof first === 'number') {
    const values = new Float32Array(samples.length);
    samples.forEach((s, i) => {
      if (typeof s !== 'number') mismatch(i, 'a number');
      values[i] = s as number;
    });
    return tensor(values);
  }
  if (typeof first === 'boolean') {
    const values = samples.map((s, i) => (typeof s === 'boolean' ? s : mismatch(i, 'a boolean')));
    return tensor(values);
  }
  if (typeof first === 'string') {
    return samples.map((s, i) => (typeof s === 'string' ? s : mismatch(i, 'a string')));
  }
  if (ArrayBuffer.isView(first) && !(first instanceof DataView)) {
    const kind = first.constructor;
    const length = (first as unknown as TypedArray).length;
    samples.forEach((s, i) => {
      if (!ArrayBuffer.isView(s) || s.constructor !== kind) mismatch(i, `a ${kind.name}`);
      if ((s as unknown as TypedArray).length !== length) {
        fail(
          path,
          `typed arrays must have the same length: sample 0 has ${length} elements, sample ${i} has ${(s as unknown as TypedArray).length}`,
        );
      }
    });
    return stack(
      samples.map((s) => tensor(s as unknown as TypedArray)),
      0,
    );
  }
  if (Array.isArray(first)) {
    samples.forEach((s, i) => {
      if (!Array.isArray(s)) mismatch(i, `an array of length ${first.length}`);
      if ((s as unknown[]).length !== first.length) {
        fail(
          path,
          `each sample must have the same number of fields: sample 0 has ${first.length}, sample ${i} has ${(s as unknown[]).length}`,
        );
      }
    });
    return first.map((_, k) =>
      collate(
        samples.map((s) => (s as unknown[])[k]),
        `${path}[${k}]`,
      ),
    );
  }
  if (isPlainObject(first)) {
    const keys = Object.keys(first);
    const keySet = keys.join(',');
    samples.forEach((s, i) => {
      if (!isPlainObject(s)) mismatch(i, 'an object');
      const other = Object.keys(s as object);
      if (other.length !== keys.length || other.some((k) => !(k in first))) {
        fail(
          path,
          `each sample must have the same keys: sample 0 has {${keySet}}, sample ${i} has {${other.join(',')}}`,
        );
      }
    });
    const out: Record<string, unknown> = {};
    for (const k of keys)
      out[k] = collate(
        samples.map((s) => (s as Record<string, unknown>)[k]),
        `${path}.${k}`,
      );
    return out;
  }
  return fail(
    path,
    `cannot collate ${describe(first)}: expected tensors, numbers, booleans, strings, typed arrays, or arrays / plain objects of them`,
  );
}
