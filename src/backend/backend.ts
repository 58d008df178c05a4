/**
 * The backend contract: storage and a small set of primitive kernels. Everything above this
 * file sees storage only as an opaque handle, so a WebAssembly or WebGPU backend can implement
 * the same interface. Kernels read strided views (shape, strides, offset into a storage) and
 * write fresh contiguous storage, except `copyInto`/`fill`, which write into a view.
 */
import type { DType, TypedArray } from '../tensor/dtype.js';

/** Opaque storage owned by a backend (a TypedArray on the CPU, a GPU buffer on WebGPU). */
export type Storage = object;

/** A strided window into a storage: element i of the view is at offset + Σ index·stride. */
export interface View {
  readonly storage: Storage;
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly strides: readonly number[];
  readonly offset: number;
}

export type UnaryOp =
  | 'neg' | 'exp' | 'log' | 'log1p' | 'expm1' | 'sqrt' | 'rsqrt' | 'abs' | 'sign'
  | 'reciprocal' | 'sin' | 'cos' | 'tan' | 'tanh' | 'sigmoid' | 'relu' | 'erf' | 'square'
  | 'floor' | 'ceil' | 'round' | 'logicalNot' | 'isnan' | 'isinf';

export type BinaryOp =
  | 'add' | 'sub' | 'mul' | 'div' | 'pow' | 'maximum' | 'minimum' | 'atan2'
  | 'eq' | 'ne' | 'lt' | 'le' | 'gt' | 'ge' | 'logicalAnd' | 'logicalOr';

export type ReduceOp = 'sum' | 'prod' | 'max' | 'min';
export type ArgReduceOp = 'argmax' | 'argmin';

/** im2col geometry for a batch of 2-D images [N, C, H, W]. */
export interface Conv2dGeometry {
  readonly kernel: readonly [number, number];
  readonly stride: readonly [number, number];
  readonly padding: readonly [number, number];
  readonly dilation: readonly [number, number];
}

export interface Backend {
  readonly name: string;
  /** Zero-filled storage of `size` elements. */
  allocate(dtype: DType, size: number): Storage;
  /** Storage holding a copy of `data` converted to `dtype`. */
  fromValues(dtype: DType, data: ArrayLike<number>): Storage;
  /** The view's elements in row-major order. */
  read(view: View): Promise<TypedArray>;
  readSync(view: View): TypedArray;

  /** Contiguous copy of a view, converted to `dtype`. */
  copy(x: View, dtype: DType): Storage;
  unary(op: UnaryOp, x: View, outDType: DType): Storage;
  /** `a` and `b` are already broadcast to one shape (stride 0 on broadcast dims). */
  binary(op: BinaryOp, a: View, b: View, outDType: DType): Storage;
  where(condition: View, a: View, b: View, outDType: DType): Storage;
  /** Reduces over `axes`; the result is contiguous with those axes kept as size 1. */
  reduce(op: ReduceOp, x: View, axes: readonly number[], outDType: DType): Storage;
  /** Index (int32) of the first max/min along `axis`, that axis kept as size 1. */
  argReduce(op: ArgReduceOp, x: View, axis: number): Storage;
  cumsum(x: View, axis: number, outDType: DType): Storage;
  /** Batched matmul: a [B, M, K] and b [B, K, N] views give contiguous [B, M, N]. */
  matmul(a: View, b: View, outDType: DType): Storage;
  /** out[..i..] = x[..index[..i..] on `dim`..]; result has index's shape. */
  gather(x: View, dim: number, index: View): Storage;
  /** A copy of `base` where src is added to ('add') or written at ('assign') the positions `index` names along `dim`. */
  scatter(base: View, dim: number, index: View, src: View, mode: 'add' | 'assign'): Storage;
  /** x [N, C, H, W] to columns [N, C·kh·kw, outH·outW]; padding reads `padValue`. */
  unfold2d(x: View, geometry: Conv2dGeometry, padValue: number): Storage;
  /** The adjoint of unfold2d: columns summed back into images of size [N, C, H, W]. */
  fold2d(columns: View, outputShape: readonly [number, number, number, number], geometry: Conv2dGeometry): Storage;
  /** Writes `src` (same shape, any dtype) into the view `dst`. */
  copyInto(dst: View, src: View): void;
  fill(dst: View, value: number): void;
}

const backends = new Map<string, Backend>();

export function registerBackend(backend: Backend): void {
  backends.set(backend.name, backend);
}

export function getBackend(name: string): Backend {
  const backend = backends.get(name);
  if (!backend) {
    throw new Error(`unknown device '${name}'; available devices: ${[...backends.keys()].join(', ')}`);
  }
  return backend;
}
