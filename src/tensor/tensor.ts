/**
 * The Tensor: a strided view (shape, strides, offset) over backend storage, plus the autograd
 * state (requiresGrad, grad, gradFn). Op methods are thin: each calls the op's one declaration
 * under `autograd/ops/`, where its forward and backward live together.
 */
import type { Backend, Storage, View } from '../backend/backend.js';
import { UNARY_OP_NAMES, type UNARY_OPS } from '../backend/op_table.js';
import { applyUnary } from '../autograd/ops/unary.js';
import {
  AccumulateGrad,
  addHook,
  type GradHook,
  type Node,
  type RemovableHandle,
} from '../autograd/node.js';
import * as elementwise from '../autograd/ops/elementwise.js';
import * as reduction from '../autograd/ops/reduction.js';
import * as linalg from '../autograd/ops/linalg.js';
import * as views from '../autograd/ops/views.js';
import * as shapeOps from '../autograd/ops/shape_ops.js';
import * as indexing from '../autograd/ops/indexing.js';
import * as inplace from '../autograd/ops/inplace.js';
import * as softmaxOps from '../autograd/ops/softmax.js';
import * as conversion from '../autograd/ops/conversion.js';
import { backward as runTensorBackward, type BackwardOptions } from '../autograd/backward.js';
import { isFloatingDType, type DType, type TypedArray } from './dtype.js';
import { contiguousStrides, isContiguous, normalizeDim, shapeSize } from './shape.js';
import { assertOneElement, assertReadableSync, checkRequiresGradChange } from './tensor_checks.js';
import { formatTensor } from './format.js';
import { boolArg } from './args.js';
import {
  flattenShapeArgs,
  nest,
  TensorBuffer,
  type NestedArray,
  type ShapeArgs,
} from './tensor_buffer.js';
import type { Generator } from './random.js';
import type { IndexItem } from '../autograd/ops/views.js';

/** A tensor or a plain number, accepted wherever an op takes an operand. */
export type TensorLike = Tensor | number | boolean;

export {
  flattenShapeArgs,
  TensorBuffer,
  type NestedArray,
  type ShapeArgs,
} from './tensor_buffer.js';

/**
 * The op table's unary ops as Tensor methods (`x.exp()`, `x.relu()`, …): one per entry of
 * UNARY_OPS (backend/op_table.ts), attached below the class and documented on the entry.
 */
export type UnaryMethods = { readonly [K in keyof typeof UNARY_OPS]: () => Tensor };

// The class's declaration merges with this interface: the op table's methods are added to the
// prototype after the class, so a new table entry is a Tensor method without a line here.
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging, @typescript-eslint/no-empty-object-type
export interface Tensor extends UnaryMethods {}

// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export class Tensor implements View {
  /** The tensor this one is a view of, if any (the root of the view chain). */
  readonly base: Tensor | null;
  private _grad: Tensor | null = null;
  /** Whether autograd alone holds `_grad`'s storage (see releaseGrad). */
  private gradOwnedByAutograd = false;
  private _requiresGrad = false;
  private _gradFn: Node | null = null;
  private accumulator: AccumulateGrad | null = null;
  private retainsGradHook: RemovableHandle | null = null;

  constructor(
    readonly buffer: TensorBuffer,
    readonly shape: readonly number[],
    readonly strides: readonly number[],
    readonly offset: number,
    readonly dtype: DType,
    base: Tensor | null = null,
  ) {
    this.base = base;
    this.baseGradFnAtView = base ? base.gradFn : null;
  }

  /**
   * Internal: the base's gradFn when this view was taken. If an in-place op later gives the base
   * a new history, this view's recorded history is stale, and autograd refuses to use it.
   */
  readonly baseGradFnAtView: Node | null;

  /** A contiguous tensor over freshly made storage. @example Tensor.fromStorage(storage, [2, 3], 'float32', getBackend('cpu')); */
  static fromStorage(
    storage: Storage,
    shape: readonly number[],
    dtype: DType,
    backend: Backend,
  ): Tensor {
    return new Tensor(
      new TensorBuffer(storage, backend),
      [...shape],
      contiguousStrides(shape),
      0,
      dtype,
    );
  }

  /** A view sharing this tensor's storage (no autograd; views/ops record that). @example x.asStrided([2], [2], 0); // elements 0 and 2 of x's storage */
  asStrided(shape: readonly number[], strides: readonly number[], offset: number): Tensor {
    return new Tensor(this.buffer, [...shape], [...strides], offset, this.dtype, this.base ?? this);
  }

  /** The backend storage this tensor views (a typed array on the CPU devices). @example x.storage; */
  get storage(): Storage {
    return this.buffer.storage;
  }
  /** The backend that holds this tensor's storage and runs its kernels. @example x.backend.name; // 'cpu' */
  get backend(): Backend {
    return this.buffer.backend;
  }
  /** The device name: 'cpu' (WebAssembly kernels), 'cpu-reference', … @example tensor([1], { device: 'cpu-reference' }).device; // 'cpu-reference' */
  get device(): string {
    return this.buffer.backend.name;
  }
  /** Bumped by every in-place op on this storage; autograd checks it on saved tensors. @example x.add_(1); x.version; // 1 */
  get version(): number {
    return this.buffer.version;
  }
  /** The number of dimensions. @example zeros([2, 3]).ndim; // 2 */
  get ndim(): number {
    return this.shape.length;
  }
  /** The number of dimensions (PyTorch's dim()). @example zeros([2, 3]).dim(); // 2 */
  dim(): number {
    return this.shape.length;
  }
  /** The number of elements. @example zeros([2, 3]).numel(); // 6 */
  numel(): number {
    return shapeSize(this.shape);
  }
  /** The shape, or the size of one dimension. @example zeros([2, 3]).size(); // [2, 3]; .size(1) is 3 */
  size(): number[];
  size(dim: number): number;
  size(dim?: number): number[] | number {
    return dim === undefined ? [...this.shape] : this.shape[normalizeDim('size', dim, this.ndim)];
  }
  /** Whether the elements lie in row-major order with no gaps. @example zeros([2, 3]).t().isContiguous(); // false */
  isContiguous(): boolean {
    return isContiguous(this.shape, this.strides);
  }
  /**
   * Internal: whether this tensor is all of its storage in order (offset 0, contiguous, as many
   * elements), so the storage itself can be read or handed on in its place.
   */
  spansStorage(): boolean {
    const storage = this.storage as { length?: number };
    return this.offset === 0 && storage.length === this.numel() && this.isContiguous();
  }
  /** Whether the dtype is float32 or float64. @example tensor([1, 2]).isFloatingPoint(); // true */
  isFloatingPoint(): boolean {
    return isFloatingDType(this.dtype);
  }

  // ---- autograd state ----

  /** Whether autograd records ops on this tensor (set it on leaves). @example const w = zeros([3]); w.requiresGrad = true; */
  get requiresGrad(): boolean {
    return this._requiresGrad;
  }
  set requiresGrad(value: boolean) {
    this.requiresGrad_(value);
  }
  /** The backward node of the op that produced this tensor; null for leaves. @example tensor([1], { requiresGrad: true }).mul(2).gradFn?.name; // 'MulBackward' */
  get gradFn(): Node | null {
    return this._gradFn;
  }
  /** Leaves are tensors not produced by a recorded op: their .grad is filled by backward(). @example tensor([1], { requiresGrad: true }).isLeaf; // true */
  get isLeaf(): boolean {
    return this._gradFn === null;
  }

  /**
   * Sets whether autograd records ops on this leaf tensor. Returns this tensor.
   * @example
   * const w = randn([3, 3]).requiresGrad_();
   */
  requiresGrad_(requiresGrad = true): this {
    boolArg('requiresGrad_', 'requiresGrad', requiresGrad);
    if (!this.isLeaf && requiresGrad) return this;
    checkRequiresGradChange(this, requiresGrad);
    this._requiresGrad = requiresGrad;
    return this;
  }

  /** Internal: makes this tensor the output of `node`. */
  setGradFn(node: Node | null): void {
    this._gradFn = node;
    this._requiresGrad = node !== null || (this._requiresGrad && this.isLeaf);
  }

  /** Internal: the graph node gradients flow into for this tensor. */
  gradNode(): Node {
    if (this._gradFn) return this._gradFn;
    this.accumulator ??= new AccumulateGrad(this);
    return this.accumulator;
  }

  /**
   * The gradient, filled in by backward() for leaves (and for non-leaves after retainGrad()).
   * Reading or assigning it hands the tensor to user code, which may keep it; until then autograd
   * alone holds a gradient it made, and zeroGrad() gives its memory back at once.
   * @example
   * const w = tensor([1, 2], { requiresGrad: true });
   * w.mul(w).sum().backward();
   * w.grad; // [2, 4]
   */
  get grad(): Tensor | null {
    this.gradOwnedByAutograd = false;
    return this._grad;
  }
  set grad(value: Tensor | null) {
    this.gradOwnedByAutograd = false;
    this._grad = value;
  }

  /** Internal: .grad for library code that reads it without keeping it (optimizers, clipping). */
  peekGrad(): Tensor | null {
    return this._grad;
  }

  /** Internal: sets .grad to a gradient on storage that nothing but autograd holds (the engine's). */
  setOwnGrad(value: Tensor): void {
    this._grad = value;
    this.gradOwnedByAutograd = true;
  }

  /**
   * Internal: sets .grad to null (zeroGrad). Storage only autograd ever held goes back to its
   * backend at once, as PyTorch frees a gradient with its last reference: the next step's
   * gradient of that size reuses it while it is still in cache, instead of memory the collector
   * returns hundreds of steps later (the MLP step at batch 128 was 2.4% faster).
   */
  releaseGrad(): void {
    const grad = this._grad;
    if (grad !== null && this.gradOwnedByAutograd) grad.backend.release?.(grad.storage);
    this._grad = null;
    this.gradOwnedByAutograd = false;
  }

  /**
   * Computes the gradient of this tensor with respect to the graph's leaves and accumulates it
   * into their `.grad`. A non-scalar tensor needs `gradient` (the vector of the vector-Jacobian product).
   * @example
   * const x = tensor([1, 2, 3], { requiresGrad: true });
   * x.mul(x).sum().backward();
   * x.grad; // tensor([2., 4., 6.])
   */
  backward(gradient?: Tensor, options: BackwardOptions = {}): void {
    runTensorBackward([this], gradient === undefined ? undefined : [gradient], options);
  }

  /** Makes backward() fill in `.grad` for this non-leaf tensor too. @example const h = x.mul(2).retainGrad(); h.sum().backward(); h.grad; */
  retainGrad(): this {
    if (!this.requiresGrad)
      throw new Error(`retainGrad: can't retain the grad of a tensor that does not require grad`);
    if (this.isLeaf || this.retainsGradHook) return this;
    this.retainsGradHook = addHook(this.gradNode().retainGradHooks, (grad) => {
      this.grad = this.grad ? this.grad.add(grad.detach()) : grad.detach();
    });
    return this;
  }

  /** Whether retainGrad() was called on this non-leaf tensor. @example x.mul(2).retainGrad().retainsGrad; // true */
  get retainsGrad(): boolean {
    return this.retainsGradHook !== null;
  }

  /**
   * Registers a hook called with this tensor's gradient during backward; a returned tensor
   * replaces the gradient. Returns a handle whose remove() unregisters it.
   * @example
   * x.registerHook((g) => g.mul(2)); // doubles the gradient flowing into x
   */
  registerHook(hook: GradHook): RemovableHandle {
    if (!this.requiresGrad)
      throw new Error(`registerHook: can't register a hook on a tensor that does not require grad`);
    return addHook(this.gradNode().preHooks, hook);
  }

  // ---- reading values ----

  /** The elements in row-major order, as a new typed array. @example await tensor([1, 2]).data(); // Float32Array [1, 2] */
  async data(): Promise<TypedArray> {
    return this.backend.read(this);
  }
  /** The elements in row-major order, as a new typed array (CPU tensors only). @example tensor([1, 2]).dataSync(); // Float32Array [1, 2] */
  dataSync(): TypedArray {
    assertReadableSync(this, 'dataSync');
    return this.backend.readSync(this);
  }
  /** The elements as nested JavaScript arrays (booleans for bool tensors). @example await tensor([[1, 2]]).array(); // [[1, 2]] */
  async array(): Promise<NestedArray> {
    return nest(await this.data(), this.shape, this.dtype);
  }
  /** The elements as nested JavaScript arrays (CPU tensors only). @example tensor([[1, 2]]).arraySync(); // [[1, 2]] */
  arraySync(): NestedArray {
    return nest(this.dataSync(), this.shape, this.dtype);
  }
  /**
   * The value of a one-element tensor, as a promise (a GPU may still be computing it): await it.
   * `loss.item() < 0.1` compares a promise and is always false; on the CPU, itemSync() reads at once.
   * @example
   * const value = await loss.item();
   * if (loss.itemSync() < 0.1) console.log('converged');
   */
  async item(): Promise<number | boolean> {
    assertOneElement(this, 'item');
    const value = (await this.data())[0];
    return this.dtype === 'bool' ? value !== 0 : value;
  }
  /** item() without waiting, for tensors on a CPU device (throws on a device that cannot read synchronously). @example tensor([1, 2]).sum().itemSync(); // 3 */
  itemSync(): number | boolean {
    assertOneElement(this, 'itemSync');
    const value = this.dataSync()[0];
    return this.dtype === 'bool' ? value !== 0 : value;
  }

  /** Prints like PyTorch, with camelCase suffixes: `tensor([[1., 2.], [3., 4.]], requiresGrad=true)`. @example tensor([1, 2]).toString(); // 'tensor([1., 2.])' */
  toString(): string {
    return formatTensor(this);
  }

  /** How Node's console.log prints a tensor: as toString(). @example console.log(tensor([1, 2])); // tensor([1., 2.]) */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }

  // ---- elementwise ----

  /** this + alpha·other, broadcasting. @example tensor([1, 2]).add(tensor([10, 20]), 2); // tensor([21., 42.]) */
  add(other: TensorLike, alpha?: elementwise.Alpha): Tensor {
    return elementwise.add(this, other, alpha);
  }
  /** this − alpha·other, broadcasting. @example tensor([5, 7]).sub(2); // tensor([3., 5.]) */
  sub(other: TensorLike, alpha?: elementwise.Alpha): Tensor {
    return elementwise.sub(this, other, alpha);
  }
  /** this · other, elementwise, broadcasting. @example tensor([1, 2]).mul(3); // tensor([3., 6.]) */
  mul(other: TensorLike): Tensor {
    return elementwise.mul(this, other);
  }
  /** this / other, elementwise, broadcasting (integers give float32). @example tensor([1, 2]).div(4); // tensor([0.2500, 0.5000]) */
  div(other: TensorLike): Tensor {
    return elementwise.div(this, other);
  }
  /** this ** exponent, elementwise (0 ** 0 = 1). @example tensor([2, 3]).pow(2); // tensor([4., 9.]) */
  pow(exponent: TensorLike): Tensor {
    return elementwise.pow(this, exponent);
  }
  /** The elementwise larger of this and other (NaN wins). @example tensor([1, 5]).maximum(tensor([3, 2])); // tensor([3., 5.]) */
  maximum(other: TensorLike): Tensor {
    return elementwise.maximum(this, other);
  }
  /** The elementwise smaller of this and other (NaN wins). @example tensor([1, 5]).minimum(tensor([3, 2])); // tensor([1., 2.]) */
  minimum(other: TensorLike): Tensor {
    return elementwise.minimum(this, other);
  }
  /** atan2(this, other): the angle of the point (other, this), elementwise. @example tensor([1]).atan2(tensor([1])); // tensor([0.7854]) */
  atan2(other: TensorLike): Tensor {
    return elementwise.atan2(this, other);
  }
  /** Each element limited to [min, max] (either may be null). @example tensor([-2, 0.5, 3]).clamp(0, 1); // tensor([0.0000, 0.5000, 1.0000]) */
  clamp(min?: TensorLike | null, max?: TensorLike | null): Tensor {
    return elementwise.clamp(this, min, max);
  }
  /** this == other elementwise, as a bool tensor. @example tensor([1, 2]).eq(2); // tensor([False,  True]) */
  eq(other: TensorLike): Tensor {
    return elementwise.eq(this, other);
  }
  /** this != other elementwise, as a bool tensor. @example tensor([1, 2]).ne(2); // tensor([ True, False]) */
  ne(other: TensorLike): Tensor {
    return elementwise.ne(this, other);
  }
  /** this < other elementwise, as a bool tensor. @example tensor([1, 2]).lt(2); // tensor([ True, False]) */
  lt(other: TensorLike): Tensor {
    return elementwise.lt(this, other);
  }
  /** this <= other elementwise, as a bool tensor. @example tensor([1, 2]).le(2); // tensor([True, True]) */
  le(other: TensorLike): Tensor {
    return elementwise.le(this, other);
  }
  /** this > other elementwise, as a bool tensor. @example tensor([1, 2]).gt(1); // tensor([False,  True]) */
  gt(other: TensorLike): Tensor {
    return elementwise.gt(this, other);
  }
  /** this >= other elementwise, as a bool tensor. @example tensor([1, 2]).ge(2); // tensor([False,  True]) */
  ge(other: TensorLike): Tensor {
    return elementwise.ge(this, other);
  }
  /** Elementwise AND of truthiness (non-zero is true), as a bool tensor. @example tensor([0, 1]).logicalAnd(tensor([1, 1])); // tensor([False,  True]) */
  logicalAnd(other: TensorLike): Tensor {
    return elementwise.logicalAnd(this, other);
  }
  /** Elementwise OR of truthiness (non-zero is true), as a bool tensor. @example tensor([0, 1]).logicalOr(tensor([0, 0])); // tensor([False,  True]) */
  logicalOr(other: TensorLike): Tensor {
    return elementwise.logicalOr(this, other);
  }
  /** Elements of this tensor where `condition` holds, else of `other`. @example x.where(x.gt(0), 0); // relu */
  where(condition: TensorLike, other: TensorLike): Tensor {
    return elementwise.where(condition, this, other);
  }
  /**
   * A copy converted to `dtype` (differentiable between float dtypes), moved to a device, or both:
   * `to('float64')`, `to('cpu-reference')`, `to('cpu', 'float64')`, `to(other)`, `to({ dtype, device })`.
   * @example tensor([1.7]).to('int32'); // tensor([1], dtype=int32)
   */
  to(target: conversion.ToTarget, dtype?: DType): Tensor {
    return conversion.to(this, target, dtype);
  }
  /** A float32 copy. @example tensor([1, 2], { dtype: 'int32' }).float(); */
  float(): Tensor {
    return this.to('float32');
  }
  /** A float64 copy. @example tensor([1, 2]).double().dtype; // 'float64' */
  double(): Tensor {
    return this.to('float64');
  }
  /** An int32 copy (truncated toward zero). @example tensor([1.7, -1.7]).int(); // tensor([ 1, -1], dtype=int32) */
  int(): Tensor {
    return this.to('int32');
  }
  /** A bool copy (non-zero is true). @example tensor([0, 2]).bool(); // tensor([False,  True]) */
  bool(): Tensor {
    return this.to('bool');
  }

  // ---- reductions ----

  /** The sum over `dim` (every dim by default); keywords as options, as every reduction: `sum(1, { keepdim: true })`. @example tensor([[1, 2], [3, 4]]).sum(1); // tensor([3., 7.]) */
  sum(dim?: reduction.DimArg, keepdim?: reduction.KeepdimArg): Tensor {
    return reduction.sum(this, dim, keepdim);
  }
  /** The mean over `dim` (every dim by default). @example tensor([[1, 2], [3, 4]]).mean(0); // tensor([2., 3.]) */
  mean(dim?: reduction.DimArg, keepdim?: reduction.KeepdimArg): Tensor {
    return reduction.mean(this, dim, keepdim);
  }
  /** The product over `dim` (every element by default). @example tensor([1, 2, 3]).prod(); // tensor(6.) */
  prod(dim?: number | reduction.ReduceOptions, keepdim?: reduction.KeepdimArg): Tensor {
    return reduction.prod(this, dim, keepdim);
  }
  /** The variance over `dim`; `var(1, { correction: 0 })` is torch's `var(1, correction=0)`. @example tensor([1, 2, 3, 4]).var(); // tensor(1.6667) */
  var(
    dim?: reduction.DimArg | reduction.VarianceOptions,
    keepdim?: boolean | reduction.VarianceOptions,
    options?: reduction.VarianceOptions,
  ): Tensor {
    return reduction.variance(this, dim, keepdim, options);
  }
  /** The standard deviation over `dim`; `std(1, { correction: 0 })` is torch's `std(1, correction=0)`. @example tensor([1, 2, 3, 4]).std(); // tensor(1.2910) */
  std(
    dim?: reduction.DimArg | reduction.VarianceOptions,
    keepdim?: boolean | reduction.VarianceOptions,
    options?: reduction.VarianceOptions,
  ): Tensor {
    return reduction.std(this, dim, keepdim, options);
  }
  /** The largest element; with `dim`, the values and indices along it; with a tensor, maximum(). @example x.max(); x.max(1).values; x.max(other); */
  max(): Tensor;
  max(
    dim: number | reduction.ReduceOptions,
    keepdim?: reduction.KeepdimArg,
  ): reduction.ValuesIndices;
  max(other: Tensor): Tensor;
  max(
    dimOrOther?: number | reduction.ReduceOptions | Tensor,
    keepdim?: reduction.KeepdimArg,
  ): Tensor | reduction.ValuesIndices {
    if (dimOrOther instanceof Tensor) return this.maximum(dimOrOther);
    return dimOrOther === undefined
      ? reduction.amax(this)
      : reduction.maxAlong(this, dimOrOther, keepdim);
  }
  /** The smallest element; with `dim`, the values and indices along it; with a tensor, minimum(). @example x.min(); x.min(1).indices; x.min(other); */
  min(): Tensor;
  min(
    dim: number | reduction.ReduceOptions,
    keepdim?: reduction.KeepdimArg,
  ): reduction.ValuesIndices;
  min(other: Tensor): Tensor;
  min(
    dimOrOther?: number | reduction.ReduceOptions | Tensor,
    keepdim?: reduction.KeepdimArg,
  ): Tensor | reduction.ValuesIndices {
    if (dimOrOther instanceof Tensor) return this.minimum(dimOrOther);
    return dimOrOther === undefined
      ? reduction.amin(this)
      : reduction.minAlong(this, dimOrOther, keepdim);
  }
  /** The largest values over `dim` (every dim by default), without indices. @example tensor([[1, 5], [3, 2]]).amax(1); // tensor([5., 3.]) */
  amax(dim?: reduction.DimArg, keepdim?: reduction.KeepdimArg): Tensor {
    return reduction.amax(this, dim, keepdim);
  }
  /** The smallest values over `dim` (every dim by default), without indices. @example tensor([[1, 5], [3, 2]]).amin(1); // tensor([1., 2.]) */
  amin(dim?: reduction.DimArg, keepdim?: reduction.KeepdimArg): Tensor {
    return reduction.amin(this, dim, keepdim);
  }
  /** The int32 index of the first largest element (along `dim`, or of the flattened tensor). @example tensor([1, 5, 3]).argmax(); // tensor(1, dtype=int32) */
  argmax(dim?: number | reduction.ReduceOptions, keepdim?: reduction.KeepdimArg): Tensor {
    return reduction.argmax(this, dim, keepdim);
  }
  /** The int32 index of the first smallest element (along `dim`, or of the flattened tensor). @example tensor([1, 5, 0]).argmin(); // tensor(2, dtype=int32) */
  argmin(dim?: number | reduction.ReduceOptions, keepdim?: reduction.KeepdimArg): Tensor {
    return reduction.argmin(this, dim, keepdim);
  }
  /** log Σ exp over `dim`, without overflow. @example tensor([0, 0]).logsumexp(0); // tensor(0.6931) */
  logsumexp(dim?: reduction.DimArg, keepdim?: reduction.KeepdimArg): Tensor {
    return reduction.logsumexp(this, dim, keepdim);
  }
  /** The p-norm over `dim` (2 and every dim by default; 'fro', Infinity allowed). @example tensor([3, 4]).norm(); // tensor(5.) */
  norm(
    p: number | 'fro' | reduction.NormOptions = 2,
    dim?: reduction.DimArg,
    keepdim?: reduction.KeepdimArg,
  ): Tensor {
    return reduction.norm(this, p, dim, keepdim);
  }
  /** Running sums along `dim`. @example tensor([1, 2, 3]).cumsum(0); // tensor([1., 3., 6.]) */
  cumsum(dim: number): Tensor {
    return reduction.cumsum(this, dim);
  }
  /** Softmax along `dim`: eˣ normalized to sum to 1. @example tensor([1, 2, 3]).softmax(0); // tensor([0.0900, 0.2447, 0.6652]) */
  softmax(dim: number): Tensor {
    return softmaxOps.softmax(this, dim);
  }
  /** log(softmax(x)) along `dim`, computed stably. @example tensor([1, 2, 3]).logSoftmax(0); // tensor([-2.4076, -1.4076, -0.4076]) */
  logSoftmax(dim: number): Tensor {
    return softmaxOps.logSoftmax(this, dim);
  }

  // ---- linear algebra ----

  /** Matrix product with NumPy's rules (vectors, batches broadcast). @example randn([2, 3]).matmul(randn([3, 4])).shape; // [2, 4] */
  matmul(other: Tensor): Tensor {
    return linalg.matmul(this, other);
  }
  /** Product of two matrices [n, k] · [k, m]. @example randn([2, 3]).mm(randn([3, 4])).shape; // [2, 4] */
  mm(other: Tensor): Tensor {
    return linalg.mm(this, other);
  }
  /** Batched matrix product [b, n, k] · [b, k, m]. @example randn([5, 2, 3]).bmm(randn([5, 3, 4])).shape; // [5, 2, 4] */
  bmm(other: Tensor): Tensor {
    return linalg.bmm(this, other);
  }
  /** The outer product of two vectors. @example tensor([1, 2]).outer(tensor([3, 4])); // tensor([[3., 4.], [6., 8.]]) */
  outer(other: Tensor): Tensor {
    return linalg.outer(this, other);
  }
  /** The dot product of two vectors. @example tensor([1, 2]).dot(tensor([3, 4])); // tensor(11.) */
  dot(other: Tensor): Tensor {
    return linalg.dot(this, other);
  }

  // ---- views ----

  /** The same elements in a new shape (a view when possible; -1 infers a dim). @example arange(6).reshape(2, -1).shape; // [2, 3] */
  reshape(...shape: ShapeArgs): Tensor {
    return views.reshape(this, flattenShapeArgs(shape));
  }
  /** A view in a new shape; throws where the strides do not allow one. @example arange(6).view(3, 2).shape; // [3, 2] */
  view(...shape: ShapeArgs): Tensor {
    return views.view(this, flattenShapeArgs(shape));
  }
  /** Dims startDim..endDim merged into one. @example zeros([2, 3, 4]).flatten(1).shape; // [2, 12] */
  flatten(startDim = 0, endDim = -1): Tensor {
    return views.flatten(this, startDim, endDim);
  }
  /** Dim `dim` split into `sizes`. @example zeros([2, 12]).unflatten(1, [3, 4]).shape; // [2, 3, 4] */
  unflatten(dim: number, sizes: readonly number[]): Tensor {
    return views.unflatten(this, dim, sizes);
  }
  /** Size-1 dims removed (all, or those named). @example zeros([2, 1, 3]).squeeze().shape; // [2, 3] */
  squeeze(dim?: number | readonly number[]): Tensor {
    return views.squeeze(this, dim);
  }
  /** A size-1 dim inserted at `dim`. @example zeros([2, 3]).unsqueeze(0).shape; // [1, 2, 3] */
  unsqueeze(dim: number): Tensor {
    return views.unsqueeze(this, dim);
  }
  /** A view with dims dim0 and dim1 swapped. @example zeros([2, 3, 4]).transpose(0, 2).shape; // [4, 3, 2] */
  transpose(dim0: number, dim1: number): Tensor {
    return views.transpose(this, dim0, dim1);
  }
  /** Transpose of a tensor of rank ≤ 2. @example zeros([2, 3]).t().shape; // [3, 2] */
  t(): Tensor {
    return views.t(this);
  }
  /** All dimensions reversed. @example zeros([2, 3, 4]).T.shape; // [4, 3, 2] */
  get T(): Tensor {
    return views.permute(
      this,
      this.shape.map((_, i) => this.ndim - 1 - i),
    );
  }
  /** The last two dimensions swapped (batched matrix transpose). @example zeros([5, 2, 3]).mT.shape; // [5, 3, 2] */
  get mT(): Tensor {
    return views.transpose(this, -2, -1);
  }
  /** A view with the dims in the order given. @example zeros([2, 3, 4]).permute(2, 0, 1).shape; // [4, 2, 3] */
  permute(...dims: ShapeArgs): Tensor {
    return views.permute(this, flattenShapeArgs(dims));
  }
  /** A view broadcast to `sizes` (size-1 dims repeated without copying; -1 keeps a dim). @example tensor([[1], [2]]).expand(2, 3).shape; // [2, 3] */
  expand(...sizes: ShapeArgs): Tensor {
    return views.expand(this, flattenShapeArgs(sizes));
  }
  /** A view broadcast to other's shape. @example tensor([1, 2]).expandAs(zeros([3, 2])).shape; // [3, 2] */
  expandAs(other: Tensor): Tensor {
    return views.expand(this, other.shape);
  }
  /** A view of `length` elements of `dim` from `start`. @example arange(5).narrow(0, 1, 3); // tensor([1, 2, 3], dtype=int32) */
  narrow(dim: number, start: number, length: number): Tensor {
    return views.narrow(this, dim, start, length);
  }
  /** A view of index `index` along `dim`, that dim removed. @example zeros([2, 3]).select(1, 0).shape; // [2] */
  select(dim: number, index: number): Tensor {
    return views.select(this, dim, index);
  }
  /** Elements start, start+step, … before end along `dim`; negative bounds count from the end. @example arange(6).slice(0, 1, 5, 2); // tensor([1, 3], dtype=int32) */
  slice(dim: number, start?: number, end?: number, step = 1): Tensor {
    return views.slice(this, dim, start, end, step);
  }
  /**
   * Python-style indexing: numbers select, strings like '1:3', ':', '::2', '-1:' slice,
   * '...' skips dimensions, null inserts a new axis.
   * @example
   * x.index(0, '1:', null); // x[0, 1:, None]
   */
  index(...indices: IndexItem[]): Tensor {
    return views.index(this, indices);
  }
  /** This tensor, or a contiguous copy of it. @example x.t().contiguous().isContiguous(); // true */
  contiguous(): Tensor {
    return views.contiguous(this);
  }
  /** A copy with its own storage; gradients flow back to this tensor. @example const y = x.clone(); y.add_(1); // x unchanged */
  clone(): Tensor {
    return views.clone(this);
  }
  /** A tensor sharing this storage that is cut off from the graph. @example x.detach().requiresGrad; // false */
  detach(): Tensor {
    return views.detach(this);
  }
  /** A view of the diagonal of dims dim1 and dim2 (`offset` above it). @example tensor([[1, 2], [3, 4]]).diagonal(); // tensor([1., 4.]) */
  diagonal(offset = 0, dim1 = 0, dim2 = 1): Tensor {
    return views.diagonal(this, offset, dim1, dim2);
  }

  // ---- copying shape ops ----

  /** Pieces of `splitSize` along `dim` (or of the sizes listed). @example arange(5).split(2).map((p) => p.shape); // [[2], [2], [1]] */
  split(splitSize: number | readonly number[], dim = 0): Tensor[] {
    return shapeOps.split(this, splitSize, dim);
  }
  /** `chunks` pieces of nearly equal size along `dim`. @example arange(6).chunk(3).length; // 3 */
  chunk(chunks: number, dim = 0): Tensor[] {
    return shapeOps.chunk(this, chunks, dim);
  }
  /** The tensor tiled `sizes` times along each dim (a copy). @example tensor([1, 2]).repeat(2); // tensor([1., 2., 1., 2.]) */
  repeat(...sizes: ShapeArgs): Tensor {
    return shapeOps.repeat(this, flattenShapeArgs(sizes));
  }
  /** As repeat(), with missing leading dims taken as 1 (NumPy's tile). @example tensor([1, 2]).tile(2, 1).shape; // [2, 2] */
  tile(...dims: ShapeArgs): Tensor {
    return shapeOps.tile(this, flattenShapeArgs(dims));
  }
  /** A copy with the order of the elements reversed along `dims`. @example tensor([1, 2, 3]).flip(0); // tensor([3., 2., 1.]) */
  flip(...dims: ShapeArgs): Tensor {
    return shapeOps.flip(this, flattenShapeArgs(dims));
  }
  /** Elements shifted by `shifts` along `dims`, wrapping around (flattened without dims). @example tensor([1, 2, 3]).roll(1); // tensor([3., 1., 2.]) */
  roll(shifts: number | readonly number[], dims?: number | readonly number[]): Tensor {
    return shapeOps.roll(this, shifts, dims);
  }
  /** The lower triangle (on and below diagonal `diagonal`), the rest zeroed. @example ones([2, 2]).tril(); // tensor([[1., 0.], [1., 1.]]) */
  tril(diagonal = 0): Tensor {
    return shapeOps.tril(this, diagonal);
  }
  /** The upper triangle (on and above diagonal `diagonal`), the rest zeroed. @example ones([2, 2]).triu(); // tensor([[1., 1.], [0., 1.]]) */
  triu(diagonal = 0): Tensor {
    return shapeOps.triu(this, diagonal);
  }

  // ---- indexing ----

  /** The entries at int32 `index` along `dim`. @example tensor([10, 20, 30]).indexSelect(0, tensor([2, 0], { dtype: 'int32' })); // tensor([30., 10.]) */
  indexSelect(dim: number, index: Tensor): Tensor {
    return indexing.indexSelect(this, dim, index);
  }
  /** out[i][j] = this[index[i][j]][j] for dim 0 (and likewise for other dims). @example tensor([[1, 2], [3, 4]]).gather(1, tensor([[1], [0]], { dtype: 'int32' })); // tensor([[2.], [3.]]) */
  gather(dim: number, index: Tensor): Tensor {
    return indexing.gather(this, dim, index);
  }
  /** A copy with `src` written at `index` along `dim`. @example zeros([3]).scatter(0, tensor([2], { dtype: 'int32' }), 5); // tensor([0., 0., 5.]) */
  scatter(dim: number, index: Tensor, src: TensorLike): Tensor {
    return indexing.scatter(this, dim, index, src);
  }
  /** A copy with `src` added at `index` along `dim` (repeated indices accumulate). @example zeros([2]).scatterAdd(0, tensor([1, 1], { dtype: 'int32' }), ones([2])); // tensor([0., 2.]) */
  scatterAdd(dim: number, index: Tensor, src: Tensor): Tensor {
    return indexing.scatterAdd(this, dim, index, src);
  }
  /** A copy with `value` where the bool `mask` is true. @example tensor([1, 2]).maskedFill(tensor([true, false]), 0); // tensor([0., 2.]) */
  maskedFill(mask: Tensor, value: TensorLike): Tensor {
    return indexing.maskedFill(this, mask, value);
  }

  // ---- in place (each bumps the version counter) ----

  /** In place: this += alpha·other. @example x.add_(1); */
  add_(other: TensorLike, alpha?: elementwise.Alpha): this {
    return inplace.applyInPlace(this, 'add_', (x) => x.add(other, alpha));
  }
  /** In place: this −= alpha·other. @example x.sub_(g, 0.1); */
  sub_(other: TensorLike, alpha?: elementwise.Alpha): this {
    return inplace.applyInPlace(this, 'sub_', (x) => x.sub(other, alpha));
  }
  /** In place: this *= other. @example x.mul_(0.5); */
  mul_(other: TensorLike): this {
    return inplace.applyInPlace(this, 'mul_', (x) => x.mul(other));
  }
  /** In place: this /= other. @example x.div_(2); */
  div_(other: TensorLike): this {
    return inplace.applyInPlace(this, 'div_', (x) => x.div(other));
  }
  /** In place: this = this ** exponent. @example x.pow_(2); */
  pow_(exponent: TensorLike): this {
    return inplace.applyInPlace(this, 'pow_', (x) => x.pow(exponent));
  }
  /** In place: this = −this. @example x.neg_(); */
  neg_(): this {
    return inplace.applyInPlace(this, 'neg_', (x) => x.neg());
  }
  /** In place: this = √this. @example x.sqrt_(); */
  sqrt_(): this {
    return inplace.applyInPlace(this, 'sqrt_', (x) => x.sqrt());
  }
  /** In place: this = eˣ. @example x.exp_(); */
  exp_(): this {
    return inplace.applyInPlace(this, 'exp_', (x) => x.exp());
  }
  /** In place: this = max(this, 0). @example x.relu_(); */
  relu_(): this {
    return inplace.applyInPlace(this, 'relu_', (x) => x.relu());
  }
  /** In place: this = sigmoid(this). @example x.sigmoid_(); */
  sigmoid_(): this {
    return inplace.applyInPlace(this, 'sigmoid_', (x) => x.sigmoid());
  }
  /** In place: each element limited to [min, max]. @example x.clamp_(-1, 1); */
  clamp_(min?: TensorLike | null, max?: TensorLike | null): this {
    return inplace.applyInPlace(this, 'clamp_', (x) => x.clamp(min, max));
  }
  /** In place: `value` where the bool `mask` is true. @example x.maskedFill_(x.isnan(), 0); */
  maskedFill_(mask: Tensor, value: TensorLike): this {
    return inplace.applyInPlace(this, 'maskedFill_', (x) => x.maskedFill(mask, value));
  }
  /** Copies `src` (broadcast to this shape) into this tensor. @example x.copy_(tensor([1, 2])); */
  copy_(src: Tensor): this {
    return inplace.copyInPlace(this, src);
  }
  /** In place: every element set to 0. @example w.grad!.zero_(); */
  zero_(): this {
    return inplace.fillInPlace(this, 'zero_', 0);
  }
  /** In place: every element set to `value`. @example zeros([3]).fill_(7); // tensor([7., 7., 7.]) */
  fill_(value: number): this {
    return inplace.fillInPlace(this, 'fill_', value);
  }
  /** In place: values drawn uniformly from [low, high). @example zeros([3]).uniform_(-1, 1); */
  uniform_(low = 0, high = 1, generator?: Generator): this {
    return inplace.uniformInPlace(this, low, high, generator);
  }
  /** In place: values drawn from N(mean, std²). @example zeros([3]).normal_(0, 0.02); */
  normal_(mean = 0, std = 1, generator?: Generator): this {
    return inplace.normalInPlace(this, mean, std, generator);
  }
}

for (const op of UNARY_OP_NAMES) {
  Object.defineProperty(Tensor.prototype, op, {
    value: function (this: Tensor): Tensor {
      return applyUnary(op, this);
    },
    writable: true,
    configurable: true,
  });
}
