import { formatShape, shapeSize } from './shape.js';

/** Element types. float32 is the default; float64 exists for gradcheck and precise CPU work. */
export type DType = 'float32' | 'float64' | 'int32' | 'bool';

export type TypedArray = Float32Array | Float64Array | Int32Array | Uint8Array;

export const DTYPES: readonly DType[] = ['float32', 'float64', 'int32', 'bool'];

/**
 * The dtypes as values, as PyTorch's torch.float32 etc.: `zeros([2], { dtype: float64 })`. They
 * are the dtype strings themselves, so `x.dtype === float64` holds.
 */
export const float32 = 'float32' satisfies DType;
export const float64 = 'float64' satisfies DType;
export const int32 = 'int32' satisfies DType;
export const bool = 'bool' satisfies DType;

/** Bytes per element of each dtype. */
export const DTYPE_BYTES: Record<DType, number> = { float32: 4, float64: 8, int32: 4, bool: 1 };

/** The most elements a typed array may hold (V8 on 64-bit systems). */
export const MAX_ELEMENTS = 2 ** 32;

/** `bytes` in the largest unit that keeps it at or above 1 (for error messages). */
export function formatBytes(bytes: number): string {
  const units = ['bytes', 'KB', 'MB', 'GB', 'TB', 'PB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} bytes` : `${value.toPrecision(3)} ${units[unit]} (${bytes} bytes)`;
}

/**
 * Allocates a zero-filled typed array that stores elements of `dtype`; a size no array can hold,
 * or memory the system refuses, is an error that says how many elements and bytes were asked.
 */
export function allocateTypedArray(dtype: DType, size: number): TypedArray {
  try {
    switch (dtype) {
      case 'float32':
        return new Float32Array(size);
      case 'float64':
        return new Float64Array(size);
      case 'int32':
        return new Int32Array(size);
      case 'bool':
        return new Uint8Array(size);
    }
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
    throw new RangeError(
      `cannot allocate a ${dtype} result of ${size} elements, ${formatBytes(size * DTYPE_BYTES[dtype])}: ${error.message}`,
    );
  }
}

/**
 * Throws, naming the op, the shape and the bytes (and `inputs`, how the op got there, when given),
 * when a tensor of `shape` and `dtype` is larger than a typed array can hold: checked before
 * anything of that size is allocated.
 */
export function assertAllocatable(
  op: string,
  shape: readonly number[],
  dtype: DType,
  inputs?: string,
): void {
  const elements = shapeSize(shape);
  if (elements > MAX_ELEMENTS)
    throw new RangeError(
      `${op}: ${inputs ? `${inputs}: ` : ''}a ${dtype} tensor of shape ${formatShape(shape)} is too large to allocate: ${elements} elements, ${formatBytes(elements * DTYPE_BYTES[dtype])}; at most ${MAX_ELEMENTS} elements fit in one tensor`,
    );
}

export function isFloatingDType(dtype: DType): boolean {
  return dtype === 'float32' || dtype === 'float64';
}

export function assertDType(op: string, value: unknown): DType {
  if (typeof value === 'string' && (DTYPES as readonly string[]).includes(value)) {
    return value as DType;
  }
  throw new TypeError(
    `${op}: unknown dtype ${String(value)}; expected one of ${DTYPES.join(', ')}`,
  );
}

const RANK: Record<DType, number> = { bool: 0, int32: 1, float32: 2, float64: 3 };

/** The dtype of a binary op's result, following PyTorch's promotion between tensors. */
export function promoteTypes(a: DType, b: DType): DType {
  return RANK[a] >= RANK[b] ? a : b;
}

/**
 * The dtype of `tensor op scalar`. Like PyTorch, a JavaScript number does not widen a tensor
 * of its own category (float32 + 0.5 stays float32), but a fractional number lifts an integer
 * or bool tensor to the default float type.
 */
export function promoteWithScalar(tensorDType: DType, scalar: number | boolean): DType {
  if (typeof scalar === 'boolean') return tensorDType;
  if (isFloatingDType(tensorDType)) return tensorDType;
  if (!Number.isInteger(scalar)) return 'float32';
  return tensorDType === 'bool' ? 'int32' : tensorDType;
}
