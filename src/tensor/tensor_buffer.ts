/**
 * What a Tensor is made of besides its class: the storage buffer it shares with its views (with
 * the version counter autograd checks), the nested arrays that `array()` returns and `tensor()`
 * takes, and shape arguments given either way (`reshape(2, 3)` or `reshape([2, 3])`).
 */
import type { Backend, Storage } from '../backend/backend.js';
import type { DType, TypedArray } from './dtype.js';

/** Nested arrays of numbers or booleans, as `array()` returns and `tensor()` accepts. */
export type NestedArray = number | boolean | NestedArray[];

/** A shape given as separate numbers or as one array: `reshape(2, 3)` or `reshape([2, 3])`. */
export type ShapeArgs = (number | readonly number[])[];

/** The shape in ShapeArgs as one array. */
export function flattenShapeArgs(args: ShapeArgs): number[] {
  return args.length === 1 && Array.isArray(args[0])
    ? [...(args[0] as readonly number[])]
    : (args as number[]).flat();
}

/** Storage shared by a tensor and its views, with the version counter autograd checks. */
export class TensorBuffer {
  /**
   * Advanced by the autograd engine at the start of each backward pass: a buffer made during a
   * pass carries that pass's number, so the engine knows which gradients it made itself (and may
   * hand to a leaf's .grad without a copy, see engine.ts). −1: seen by user code (a hook, a custom
   * Function's backward), never taken.
   */
  static epoch = 0;
  epoch = TensorBuffer.epoch;
  version = 0;
  constructor(
    readonly storage: Storage,
    readonly backend: Backend,
  ) {}
}

/** Row-major `data` as nested arrays of `shape` (booleans for bool). */
export function nest(data: TypedArray, shape: readonly number[], dtype: DType): NestedArray {
  const convert = dtype === 'bool' ? (v: number) => v !== 0 : (v: number) => v;
  if (shape.length === 0) return convert(data[0]);
  let position = 0;
  const build = (depth: number): NestedArray[] => {
    const out: NestedArray[] = [];
    for (let i = 0; i < shape[depth]; i++) {
      if (depth === shape.length - 1) out.push(convert(data[position++]));
      else out.push(build(depth + 1));
    }
    return out;
  };
  return build(0);
}
