/** Creating tensors: from JavaScript data, filled, ranges, identity and random. */
import { getBackend } from '../backend/backend.js';
import { assertAllocatable, assertDType, type DType, type TypedArray } from './dtype.js';
import { assertValidShape, formatShape, shapeSize } from './shape.js';
import { Tensor, type NestedArray } from './tensor.js';
import { defaultGenerator, type Generator } from './random.js';

export interface CreationOptions {
  dtype?: DType;
  requiresGrad?: boolean;
  /** Device name; 'cpu' by default. */
  device?: string;
}

export interface RandomOptions extends CreationOptions {
  generator?: Generator;
}

function make(
  op: string,
  values: ArrayLike<number>,
  shape: readonly number[],
  dtype: DType,
  options: CreationOptions,
): Tensor {
  const backend = getBackend(options.device ?? 'cpu');
  if (dtype === 'int32') assertInt32Values(op, values);
  const t = Tensor.fromStorage(backend.fromValues(dtype, values), shape, dtype, backend);
  if (options.requiresGrad) {
    if (dtype !== 'float32' && dtype !== 'float64') {
      throw new TypeError(
        `${op}: only tensors of floating point dtype can require gradients, got ${dtype}`,
      );
    }
    t.requiresGrad_(true);
  }
  return t;
}

/**
 * `length` values of `value(i)`, in a typed array the size of the dtype's elements (float32 in
 * four bytes, others as float64, exact for every int32 and bool): a plain array of a billion
 * numbers takes 8+ GB and turns into a dictionary past V8's fast-array limit.
 */
function generate(dtype: DType, length: number, value: (i: number) => number): ArrayLike<number> {
  const values = dtype === 'float32' ? new Float32Array(length) : new Float64Array(length);
  for (let i = 0; i < length; i++) values[i] = value(i);
  return values;
}

function toShape(op: string, shape: number | readonly number[]): number[] {
  const out = typeof shape === 'number' ? [shape] : shape;
  assertValidShape(op, out);
  return [...out];
}

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

/** Throws, naming the value and the dtype, if an int32 tensor cannot hold every one of `values`. */
function assertInt32Values(op: string, values: ArrayLike<number>): void {
  if (values instanceof Int32Array || values instanceof Int16Array || values instanceof Int8Array)
    return;
  if (values instanceof Uint16Array || values instanceof Uint8Array) return;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!(v >= INT32_MIN && v < INT32_MAX + 1))
      throw new RangeError(
        `${op}: value ${v} (element ${i}) cannot be converted to int32 without overflow; int32 holds [${INT32_MIN}, ${INT32_MAX}]`,
      );
  }
}

/** The dtype of a random function that draws floats: a float dtype, as PyTorch requires. */
function floatDTypeOf(op: string, options: CreationOptions): DType {
  const dtype = dtypeOf(op, options, 'float32');
  if (dtype !== 'float32' && dtype !== 'float64')
    throw new TypeError(
      `${op}: expected a floating point dtype (float32 or float64), got ${dtype}; use randint for integers`,
    );
  return dtype;
}

function dtypeOf(op: string, options: CreationOptions, fallback: DType): DType {
  return options.dtype === undefined ? fallback : assertDType(op, options.dtype);
}

function typedArrayDType(data: TypedArray | ArrayLike<number>): DType {
  if (data instanceof Float64Array) return 'float64';
  if (
    data instanceof Int32Array ||
    data instanceof Int16Array ||
    data instanceof Int8Array ||
    data instanceof Uint16Array ||
    data instanceof Uint8Array
  )
    return 'int32';
  return 'float32';
}

/** Shape of nested arrays; throws on ragged input. */
function nestedShape(data: NestedArray): number[] {
  const shape: number[] = [];
  let level: NestedArray = data;
  while (Array.isArray(level)) {
    shape.push(level.length);
    if (level.length === 0) break;
    level = level[0];
  }
  return shape;
}

function flattenNested(
  data: NestedArray,
  shape: readonly number[],
): { values: number[]; sawBoolean: boolean } {
  const values: number[] = [];
  let sawBoolean = false;
  let sawNumber = false;
  const visit = (node: NestedArray, depth: number, path: number[]) => {
    if (depth === shape.length) {
      if (Array.isArray(node))
        throw new Error(
          `tensor: ragged nested array at index [${path.join(', ')}]: expected a number, got an array`,
        );
      if (typeof node === 'boolean') sawBoolean = true;
      else if (typeof node === 'number') sawNumber = true;
      else
        throw new TypeError(
          `tensor: expected numbers or booleans, got ${typeof node} at index [${path.join(', ')}]`,
        );
      values.push(Number(node));
      return;
    }
    if (!Array.isArray(node) || node.length !== shape[depth]) {
      throw new Error(
        `tensor: ragged nested array: expected length ${shape[depth]} at index [${path.join(', ')}] (shape ${formatShape(shape)}), got ${Array.isArray(node) ? node.length : typeof node}`,
      );
    }
    node.forEach((child, i) => visit(child, depth + 1, [...path, i]));
  };
  visit(data, 0, []);
  return { values, sawBoolean: sawBoolean && !sawNumber };
}

/**
 * A tensor from nested arrays, a number, or a typed array. Numbers become float32 (JavaScript
 * has no separate integer type), booleans bool, typed arrays keep their element type.
 * @example
 * const x = tensor([[1, 2], [3, 4]], { requiresGrad: true });
 */
export function tensor(
  data: NestedArray | TypedArray,
  options: CreationOptions & { shape?: readonly number[] } = {},
): Tensor {
  if (ArrayBuffer.isView(data)) {
    const typed = data as TypedArray;
    const shape = options.shape ? toShape('tensor', options.shape) : [typed.length];
    if (shapeSize(shape) !== typed.length) {
      throw new Error(
        `tensor: shape ${formatShape(shape)} needs ${shapeSize(shape)} elements, but the typed array has ${typed.length}`,
      );
    }
    return make(
      'tensor',
      typed,
      shape,
      dtypeOf('tensor', options, typedArrayDType(typed)),
      options,
    );
  }
  const shape = nestedShape(data);
  const { values, sawBoolean } = flattenNested(data, shape);
  const fallback: DType = sawBoolean ? 'bool' : 'float32';
  const dtype = dtypeOf('tensor', options, fallback);
  if (options.shape) {
    const target = toShape('tensor', options.shape);
    if (shapeSize(target) !== values.length)
      throw new Error(
        `tensor: shape ${formatShape(target)} needs ${shapeSize(target)} elements, got ${values.length}`,
      );
    return make('tensor', values, target, dtype, options);
  }
  return make('tensor', values, shape, dtype, options);
}

/** A tensor of `shape` filled with `value`. */
export function full(
  shape: number | readonly number[],
  value: number | boolean,
  options: CreationOptions = {},
): Tensor {
  const dims = toShape('full', shape);
  if (typeof value !== 'number' && typeof value !== 'boolean')
    throw new TypeError(
      `full: expected a number or a boolean fill value, got ${value === null ? 'null' : `${typeof value} ${JSON.stringify(value)}`}`,
    );
  const fallback: DType = typeof value === 'boolean' ? 'bool' : 'float32';
  const dtype = dtypeOf('full', options, fallback);
  assertAllocatable('full', dims, dtype);
  const values = new Float64Array(shapeSize(dims)).fill(Number(value));
  return make('full', values, dims, dtype, options);
}

/** @example zeros([2, 3]) */
export function zeros(shape: number | readonly number[], options: CreationOptions = {}): Tensor {
  return full(shape, 0, options);
}

export function ones(shape: number | readonly number[], options: CreationOptions = {}): Tensor {
  return full(shape, 1, options);
}

function likeOptions(t: Tensor, options: CreationOptions): CreationOptions {
  return { dtype: t.dtype, device: t.device, ...options };
}

export function zerosLike(t: Tensor, options: CreationOptions = {}): Tensor {
  return zeros(t.shape, likeOptions(t, options));
}

export function onesLike(t: Tensor, options: CreationOptions = {}): Tensor {
  return ones(t.shape, likeOptions(t, options));
}

export function fullLike(t: Tensor, value: number, options: CreationOptions = {}): Tensor {
  return full(t.shape, value, likeOptions(t, options));
}

/**
 * Values from start (inclusive) to end (exclusive) by step; arange(n) is 0…n-1. Integer arguments
 * give int32, like PyTorch's integer arange.
 */
export function arange(
  start: number,
  end?: number,
  step = 1,
  options: CreationOptions = {},
): Tensor {
  const [from, to] = end === undefined ? [0, start] : [start, end];
  for (const [name, v] of [
    ['start', from],
    ['end', to],
    ['step', step],
  ] as const) {
    if (!Number.isFinite(v))
      throw new RangeError(`arange: ${name} must be a finite number, got ${v}`);
  }
  if (step === 0) throw new RangeError('arange: step must be non-zero, got 0');
  if ((to - from) * step < 0)
    throw new RangeError(
      `arange: upper bound ${to} and lower bound ${from} are inconsistent with step sign ${step}`,
    );
  const length = Math.max(0, Math.ceil((to - from) / step));
  const integral = [from, to, step].every(Number.isInteger);
  const dtype = dtypeOf('arange', options, integral ? 'int32' : 'float32');
  assertAllocatable('arange', [length], dtype);
  const values = generate(dtype, length, (i) => from + i * step);
  return make('arange', values, [length], dtype, options);
}

/** `steps` evenly spaced values from start to end, both included. */
export function linspace(
  start: number,
  end: number,
  steps: number,
  options: CreationOptions = {},
): Tensor {
  if (!Number.isInteger(steps) || steps < 0)
    throw new RangeError(`linspace: steps must be a non-negative integer, got ${steps}`);
  for (const [name, v] of [
    ['start', start],
    ['end', end],
  ] as const) {
    if (!Number.isFinite(v))
      throw new RangeError(`linspace: ${name} must be a finite number, got ${v}`);
  }
  const step = steps > 1 ? (end - start) / (steps - 1) : 0;
  const dtype = dtypeOf('linspace', options, 'float32');
  assertAllocatable('linspace', [steps], dtype);
  // Like PyTorch, fill the second half from the end so that both endpoints are exact.
  const values = generate(dtype, steps, (i) =>
    i < steps / 2 ? start + i * step : end - (steps - 1 - i) * step,
  );
  return make('linspace', values, [steps], dtype, options);
}

/** An n×m matrix with ones on the diagonal. */
export function eye(n: number, m: number = n, options: CreationOptions = {}): Tensor {
  const shape = toShape('eye', [n, m]);
  const values = new Float64Array(n * m);
  for (let i = 0; i < Math.min(n, m); i++) values[i * m + i] = 1;
  return make('eye', values, shape, dtypeOf('eye', options, 'float32'), options);
}

/** Uniform samples in [0, 1). */
export function rand(shape: number | readonly number[], options: RandomOptions = {}): Tensor {
  const dims = toShape('rand', shape);
  const dtype = floatDTypeOf('rand', options);
  assertAllocatable('rand', dims, dtype);
  const generator = options.generator ?? defaultGenerator;
  const draw = dtype === 'float64' ? () => generator.nextDouble() : () => generator.nextFloat();
  return make('rand', generate(dtype, shapeSize(dims), draw), dims, dtype, options);
}

/** Standard normal samples. */
export function randn(shape: number | readonly number[], options: RandomOptions = {}): Tensor {
  const dims = toShape('randn', shape);
  const dtype = floatDTypeOf('randn', options);
  assertAllocatable('randn', dims, dtype);
  const generator = options.generator ?? defaultGenerator;
  const values = generate(dtype, shapeSize(dims), () => generator.nextNormal());
  return make('randn', values, dims, dtype, options);
}

/** Uniform integers in [low, high). */
export function randint(
  low: number,
  high: number,
  shape: number | readonly number[],
  options: RandomOptions = {},
): Tensor {
  if (!Number.isInteger(low) || !Number.isInteger(high) || high <= low) {
    throw new RangeError(`randint: expected integers low < high, got low=${low}, high=${high}`);
  }
  const dims = toShape('randint', shape);
  const dtype = dtypeOf('randint', options, 'int32');
  // PyTorch: "from is out of bounds" / "to - 1 is out of bounds" for the dtype.
  const [min, max] =
    dtype === 'int32' ? [INT32_MIN, INT32_MAX] : dtype === 'bool' ? [0, 1] : [-(2 ** 53), 2 ** 53];
  if (low < min || high - 1 > max)
    throw new RangeError(
      `randint: the range [${low}, ${high}) is out of bounds for ${dtype}, which holds [${min}, ${max}]`,
    );
  assertAllocatable('randint', dims, dtype);
  const generator = options.generator ?? defaultGenerator;
  const values = generate(dtype, shapeSize(dims), () => generator.nextInt(low, high));
  return make('randint', values, dims, dtype, options);
}

export function randLike(t: Tensor, options: RandomOptions = {}): Tensor {
  return rand(t.shape, { dtype: t.dtype, device: t.device, ...options });
}

export function randnLike(t: Tensor, options: RandomOptions = {}): Tensor {
  return randn(t.shape, { dtype: t.dtype, device: t.device, ...options });
}

/**
 * A tensor of `shape` whose values are not to be relied on, as torch.empty: write them before
 * reading. (Storage comes zero-filled from every backend, so here they are zeros.)
 * @example
 * const out = empty([2, 3]).copy_(source);
 */
export function empty(shape: number | readonly number[], options: CreationOptions = {}): Tensor {
  return zeros(shape, options);
}

/** empty() with the shape, dtype and device of `t`. */
export function emptyLike(t: Tensor, options: CreationOptions = {}): Tensor {
  return empty(t.shape, likeOptions(t, options));
}
