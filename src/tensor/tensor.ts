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
import { backward as runTensorBackward, type BackwardOptions } from '../autograd/backward.js';
import { isFloatingDType, type DType, type TypedArray } from './dtype.js';
import { contiguousStrides, formatShape, isContiguous, normalizeDim, shapeSize } from './shape.js';
import { formatTensor } from './format.js';
import type { Generator } from './random.js';
import type { IndexItem } from '../autograd/ops/views.js';

/** A tensor or a plain number, accepted wherever an op takes an operand. */
export type TensorLike = Tensor | number | boolean;

/** Nested arrays of numbers or booleans, as `array()` returns and `tensor()` accepts. */
export type NestedArray = number | boolean | NestedArray[];

/** A shape given as separate numbers or as one array: `reshape(2, 3)` or `reshape([2, 3])`. */
export type ShapeArgs = (number | readonly number[])[];

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

  /** A contiguous tensor over freshly made storage. */
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

  /** A view sharing this tensor's storage (no autograd; views/ops record that). */
  asStrided(shape: readonly number[], strides: readonly number[], offset: number): Tensor {
    return new Tensor(this.buffer, [...shape], [...strides], offset, this.dtype, this.base ?? this);
  }

  get storage(): Storage {
    return this.buffer.storage;
  }
  get backend(): Backend {
    return this.buffer.backend;
  }
  get device(): string {
    return this.buffer.backend.name;
  }
  /** Bumped by every in-place op on this storage; autograd checks it on saved tensors. */
  get version(): number {
    return this.buffer.version;
  }
  get ndim(): number {
    return this.shape.length;
  }
  dim(): number {
    return this.shape.length;
  }
  numel(): number {
    return shapeSize(this.shape);
  }
  /** The shape, or the size of one dimension. */
  size(): number[];
  size(dim: number): number;
  size(dim?: number): number[] | number {
    return dim === undefined ? [...this.shape] : this.shape[normalizeDim('size', dim, this.ndim)];
  }
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
  isFloatingPoint(): boolean {
    return isFloatingDType(this.dtype);
  }

  // ---- autograd state ----

  get requiresGrad(): boolean {
    return this._requiresGrad;
  }
  set requiresGrad(value: boolean) {
    this.requiresGrad_(value);
  }
  /** The backward node of the op that produced this tensor; null for leaves. */
  get gradFn(): Node | null {
    return this._gradFn;
  }
  /** Leaves are tensors not produced by a recorded op: their .grad is filled by backward(). */
  get isLeaf(): boolean {
    return this._gradFn === null;
  }

  /**
   * Sets whether autograd records ops on this leaf tensor. Returns this tensor.
   * @example
   * const w = randn([3, 3]).requiresGrad_();
   */
  requiresGrad_(requiresGrad = true): this {
    if (!this.isLeaf) {
      if (requiresGrad) return this;
      throw new Error(
        `requiresGrad_: you can only change requiresGrad of leaf tensors; use detach() for a tensor that does not require grad`,
      );
    }
    if (requiresGrad && !isFloatingDType(this.dtype)) {
      throw new TypeError(
        `requiresGrad_: only tensors of floating point dtype can require gradients, got ${this.dtype}`,
      );
    }
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

  /** Makes backward() fill in `.grad` for this non-leaf tensor too. */
  retainGrad(): this {
    if (!this.requiresGrad)
      throw new Error(`retainGrad: can't retain the grad of a tensor that does not require grad`);
    if (this.isLeaf || this.retainsGradHook) return this;
    this.retainsGradHook = addHook(this.gradNode().retainGradHooks, (grad) => {
      this.grad = this.grad ? this.grad.add(grad.detach()) : grad.detach();
    });
    return this;
  }

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

  private assertReadableSync(op: string): void {
    // The CPU devices ('cpu', 'cpu-reference', 'cpu-…') hold host arrays; others (a GPU) must be awaited.
    if (this.device !== 'cpu' && !this.device.startsWith('cpu-')) {
      throw new Error(
        `${op}: synchronous reads work on CPU tensors only; this tensor is on ${this.device}: use await ${op.replace('Sync', '')}()`,
      );
    }
  }

  /** The elements in row-major order, as a new typed array. */
  async data(): Promise<TypedArray> {
    return this.backend.read(this);
  }
  dataSync(): TypedArray {
    this.assertReadableSync('dataSync');
    return this.backend.readSync(this);
  }
  /** The elements as nested JavaScript arrays (booleans for bool tensors). */
  async array(): Promise<NestedArray> {
    return nest(await this.data(), this.shape, this.dtype);
  }
  arraySync(): NestedArray {
    return nest(this.dataSync(), this.shape, this.dtype);
  }
  /** The value of a one-element tensor. */
  async item(): Promise<number | boolean> {
    this.assertOneElement('item');
    const value = (await this.data())[0];
    return this.dtype === 'bool' ? value !== 0 : value;
  }
  itemSync(): number | boolean {
    this.assertOneElement('itemSync');
    const value = this.dataSync()[0];
    return this.dtype === 'bool' ? value !== 0 : value;
  }
  private assertOneElement(op: string): void {
    if (this.numel() !== 1) {
      throw new Error(
        `${op}: a tensor with ${this.numel()} elements (shape ${formatShape(this.shape)}) cannot be converted to a number`,
      );
    }
  }

  /** Prints like PyTorch, with camelCase suffixes: `tensor([[1., 2.], [3., 4.]], requiresGrad=true)`. */
  toString(): string {
    return formatTensor(this);
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }

  // ---- elementwise ----

  add(other: TensorLike, alpha?: number): Tensor {
    return elementwise.add(this, other, alpha);
  }
  sub(other: TensorLike, alpha?: number): Tensor {
    return elementwise.sub(this, other, alpha);
  }
  mul(other: TensorLike): Tensor {
    return elementwise.mul(this, other);
  }
  div(other: TensorLike): Tensor {
    return elementwise.div(this, other);
  }
  pow(exponent: TensorLike): Tensor {
    return elementwise.pow(this, exponent);
  }
  maximum(other: TensorLike): Tensor {
    return elementwise.maximum(this, other);
  }
  minimum(other: TensorLike): Tensor {
    return elementwise.minimum(this, other);
  }
  atan2(other: TensorLike): Tensor {
    return elementwise.atan2(this, other);
  }
  clamp(min?: TensorLike | null, max?: TensorLike | null): Tensor {
    return elementwise.clamp(this, min, max);
  }
  eq(other: TensorLike): Tensor {
    return elementwise.eq(this, other);
  }
  ne(other: TensorLike): Tensor {
    return elementwise.ne(this, other);
  }
  lt(other: TensorLike): Tensor {
    return elementwise.lt(this, other);
  }
  le(other: TensorLike): Tensor {
    return elementwise.le(this, other);
  }
  gt(other: TensorLike): Tensor {
    return elementwise.gt(this, other);
  }
  ge(other: TensorLike): Tensor {
    return elementwise.ge(this, other);
  }
  logicalAnd(other: TensorLike): Tensor {
    return elementwise.logicalAnd(this, other);
  }
  logicalOr(other: TensorLike): Tensor {
    return elementwise.logicalOr(this, other);
  }
  /** Elements of this tensor where `condition` holds, else of `other`. */
  where(condition: TensorLike, other: TensorLike): Tensor {
    return elementwise.where(condition, this, other);
  }
  /** A copy converted to `dtype` (differentiable between float dtypes). */
  to(dtype: DType): Tensor {
    return elementwise.cast(this, dtype);
  }
  float(): Tensor {
    return this.to('float32');
  }
  double(): Tensor {
    return this.to('float64');
  }
  int(): Tensor {
    return this.to('int32');
  }
  bool(): Tensor {
    return this.to('bool');
  }

  // ---- reductions ----

  sum(dim?: number | readonly number[], keepdim = false): Tensor {
    return reduction.sum(this, dim, keepdim);
  }
  mean(dim?: number | readonly number[], keepdim = false): Tensor {
    return reduction.mean(this, dim, keepdim);
  }
  prod(dim?: number, keepdim = false): Tensor {
    return reduction.prod(this, dim, keepdim);
  }
  var(
    dim?: number | readonly number[],
    keepdim = false,
    options?: reduction.VarianceOptions,
  ): Tensor {
    return reduction.variance(this, dim, keepdim, options);
  }
  std(
    dim?: number | readonly number[],
    keepdim = false,
    options?: reduction.VarianceOptions,
  ): Tensor {
    return reduction.std(this, dim, keepdim, options);
  }
  /** The largest element; with `dim`, the values and indices along it; with a tensor, maximum(). */
  max(): Tensor;
  max(dim: number, keepdim?: boolean): reduction.ValuesIndices;
  max(other: Tensor): Tensor;
  max(dimOrOther?: number | Tensor, keepdim = false): Tensor | reduction.ValuesIndices {
    if (dimOrOther instanceof Tensor) return this.maximum(dimOrOther);
    return dimOrOther === undefined
      ? reduction.amax(this)
      : reduction.maxAlong(this, dimOrOther, keepdim);
  }
  min(): Tensor;
  min(dim: number, keepdim?: boolean): reduction.ValuesIndices;
  min(other: Tensor): Tensor;
  min(dimOrOther?: number | Tensor, keepdim = false): Tensor | reduction.ValuesIndices {
    if (dimOrOther instanceof Tensor) return this.minimum(dimOrOther);
    return dimOrOther === undefined
      ? reduction.amin(this)
      : reduction.minAlong(this, dimOrOther, keepdim);
  }
  amax(dim?: number | readonly number[], keepdim = false): Tensor {
    return reduction.amax(this, dim, keepdim);
  }
  amin(dim?: number | readonly number[], keepdim = false): Tensor {
    return reduction.amin(this, dim, keepdim);
  }
  argmax(dim?: number, keepdim = false): Tensor {
    return reduction.argmax(this, dim, keepdim);
  }
  argmin(dim?: number, keepdim = false): Tensor {
    return reduction.argmin(this, dim, keepdim);
  }
  logsumexp(dim?: number | readonly number[], keepdim = false): Tensor {
    return reduction.logsumexp(this, dim, keepdim);
  }
  norm(p: number | 'fro' = 2, dim?: number | readonly number[], keepdim = false): Tensor {
    return reduction.norm(this, p, dim, keepdim);
  }
  cumsum(dim: number): Tensor {
    return reduction.cumsum(this, dim);
  }
  softmax(dim: number): Tensor {
    return softmaxOps.softmax(this, dim);
  }
  logSoftmax(dim: number): Tensor {
    return softmaxOps.logSoftmax(this, dim);
  }

  // ---- linear algebra ----

  matmul(other: Tensor): Tensor {
    return linalg.matmul(this, other);
  }
  mm(other: Tensor): Tensor {
    return linalg.mm(this, other);
  }
  bmm(other: Tensor): Tensor {
    return linalg.bmm(this, other);
  }
  outer(other: Tensor): Tensor {
    return linalg.outer(this, other);
  }
  dot(other: Tensor): Tensor {
    return linalg.dot(this, other);
  }

  // ---- views ----

  reshape(...shape: ShapeArgs): Tensor {
    return views.reshape(this, flattenShapeArgs(shape));
  }
  view(...shape: ShapeArgs): Tensor {
    return views.view(this, flattenShapeArgs(shape));
  }
  flatten(startDim = 0, endDim = -1): Tensor {
    return views.flatten(this, startDim, endDim);
  }
  unflatten(dim: number, sizes: readonly number[]): Tensor {
    return views.unflatten(this, dim, sizes);
  }
  squeeze(dim?: number | readonly number[]): Tensor {
    return views.squeeze(this, dim);
  }
  unsqueeze(dim: number): Tensor {
    return views.unsqueeze(this, dim);
  }
  transpose(dim0: number, dim1: number): Tensor {
    return views.transpose(this, dim0, dim1);
  }
  /** Transpose of a tensor of rank ≤ 2. */
  t(): Tensor {
    return views.t(this);
  }
  /** All dimensions reversed. */
  get T(): Tensor {
    return views.permute(
      this,
      this.shape.map((_, i) => this.ndim - 1 - i),
    );
  }
  /** The last two dimensions swapped (batched matrix transpose). */
  get mT(): Tensor {
    return views.transpose(this, -2, -1);
  }
  permute(...dims: ShapeArgs): Tensor {
    return views.permute(this, flattenShapeArgs(dims));
  }
  expand(...sizes: ShapeArgs): Tensor {
    return views.expand(this, flattenShapeArgs(sizes));
  }
  expandAs(other: Tensor): Tensor {
    return views.expand(this, other.shape);
  }
  narrow(dim: number, start: number, length: number): Tensor {
    return views.narrow(this, dim, start, length);
  }
  select(dim: number, index: number): Tensor {
    return views.select(this, dim, index);
  }
  /** Elements start, start+step, … before end along `dim`; negative bounds count from the end. */
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
  /** This tensor, or a contiguous copy of it. */
  contiguous(): Tensor {
    return views.contiguous(this);
  }
  /** A copy with its own storage; gradients flow back to this tensor. */
  clone(): Tensor {
    return views.clone(this);
  }
  /** A tensor sharing this storage that is cut off from the graph. */
  detach(): Tensor {
    return views.detach(this);
  }
  diagonal(offset = 0, dim1 = 0, dim2 = 1): Tensor {
    return views.diagonal(this, offset, dim1, dim2);
  }

  // ---- copying shape ops ----

  split(splitSize: number | readonly number[], dim = 0): Tensor[] {
    return shapeOps.split(this, splitSize, dim);
  }
  chunk(chunks: number, dim = 0): Tensor[] {
    return shapeOps.chunk(this, chunks, dim);
  }
  repeat(...sizes: ShapeArgs): Tensor {
    return shapeOps.repeat(this, flattenShapeArgs(sizes));
  }
  tile(...dims: ShapeArgs): Tensor {
    return shapeOps.tile(this, flattenShapeArgs(dims));
  }
  flip(...dims: ShapeArgs): Tensor {
    return shapeOps.flip(this, flattenShapeArgs(dims));
  }
  roll(shifts: number | readonly number[], dims?: number | readonly number[]): Tensor {
    return shapeOps.roll(this, shifts, dims);
  }
  tril(diagonal = 0): Tensor {
    return shapeOps.tril(this, diagonal);
  }
  triu(diagonal = 0): Tensor {
    return shapeOps.triu(this, diagonal);
  }

  // ---- indexing ----

  indexSelect(dim: number, index: Tensor): Tensor {
    return indexing.indexSelect(this, dim, index);
  }
  gather(dim: number, index: Tensor): Tensor {
    return indexing.gather(this, dim, index);
  }
  scatter(dim: number, index: Tensor, src: TensorLike): Tensor {
    return indexing.scatter(this, dim, index, src);
  }
  scatterAdd(dim: number, index: Tensor, src: Tensor): Tensor {
    return indexing.scatterAdd(this, dim, index, src);
  }
  maskedFill(mask: Tensor, value: TensorLike): Tensor {
    return indexing.maskedFill(this, mask, value);
  }

  // ---- in place (each bumps the version counter) ----

  add_(other: TensorLike, alpha?: number): this {
    return inplace.applyInPlace(this, 'add_', (x) => x.add(other, alpha));
  }
  sub_(other: TensorLike, alpha?: number): this {
    return inplace.applyInPlace(this, 'sub_', (x) => x.sub(other, alpha));
  }
  mul_(other: TensorLike): this {
    return inplace.applyInPlace(this, 'mul_', (x) => x.mul(other));
  }
  div_(other: TensorLike): this {
    return inplace.applyInPlace(this, 'div_', (x) => x.div(other));
  }
  pow_(exponent: TensorLike): this {
    return inplace.applyInPlace(this, 'pow_', (x) => x.pow(exponent));
  }
  neg_(): this {
    return inplace.applyInPlace(this, 'neg_', (x) => x.neg());
  }
  sqrt_(): this {
    return inplace.applyInPlace(this, 'sqrt_', (x) => x.sqrt());
  }
  exp_(): this {
    return inplace.applyInPlace(this, 'exp_', (x) => x.exp());
  }
  relu_(): this {
    return inplace.applyInPlace(this, 'relu_', (x) => x.relu());
  }
  sigmoid_(): this {
    return inplace.applyInPlace(this, 'sigmoid_', (x) => x.sigmoid());
  }
  clamp_(min?: TensorLike | null, max?: TensorLike | null): this {
    return inplace.applyInPlace(this, 'clamp_', (x) => x.clamp(min, max));
  }
  maskedFill_(mask: Tensor, value: TensorLike): this {
    return inplace.applyInPlace(this, 'maskedFill_', (x) => x.maskedFill(mask, value));
  }
  /** Copies `src` (broadcast to this shape) into this tensor. */
  copy_(src: Tensor): this {
    return inplace.copyInPlace(this, src);
  }
  zero_(): this {
    return inplace.fillInPlace(this, 'zero_', 0);
  }
  fill_(value: number): this {
    return inplace.fillInPlace(this, 'fill_', value);
  }
  uniform_(low = 0, high = 1, generator?: Generator): this {
    return inplace.uniformInPlace(this, low, high, generator);
  }
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

function nest(data: TypedArray, shape: readonly number[], dtype: DType): NestedArray {
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
