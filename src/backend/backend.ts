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

// The elementwise op unions are the keys of the op table, where each op is declared once.
export type { BinaryOp, UnaryOp } from './op_table.js';
export { BOOL_RESULT_BINARY_OPS } from './op_table.js';
import type { BinaryOp, UnaryOp } from './op_table.js';

export type ReduceOp = 'sum' | 'prod' | 'max' | 'min';
export type ArgReduceOp = 'argmax' | 'argmin';

/** im2col geometry for a batch of 2-D images [N, C, H, W]. */
export interface Conv2dGeometry {
  readonly kernel: readonly [number, number];
  readonly stride: readonly [number, number];
  readonly padding: readonly [number, number];
  readonly dilation: readonly [number, number];
}

export interface Conv2dResult {
  readonly output: Storage;
  readonly columns: Storage | null;
  /** The number of elements in `columns`. */
  readonly columnsSize: number;
}

export interface Conv2dGradients {
  readonly input: Storage | null;
  readonly weight: Storage | null;
  readonly bias: Storage | null;
}

export interface MaxPool2dResult {
  readonly values: Storage;
  /** int32 positions y·W + x within each [H, W] plane. */
  readonly indices: Storage;
}

/**
 * The primitives every backend implements: storage, copies, the elementwise ops of the op table,
 * reductions, matmul, gather / scatter and the window ops. With these alone a backend runs every
 * op, its gradients and the optimizers: everything else is composed from them.
 */
export interface BackendPrimitives {
  readonly name: string;
  /** Zero-filled storage of `size` elements. */
  allocate(dtype: DType, size: number): Storage;
  /** Storage holding a copy of `data` converted to `dtype`. */
  fromValues(dtype: DType, data: ArrayLike<number>): Storage;
  /** The view's elements in row-major order. */
  read(view: View): Promise<TypedArray>;
  readSync(view: View): TypedArray;
  /** Whether readSync works (storage in host memory, as on the CPU backends); false on a GPU. */
  readonly canReadSync: boolean;

  // Memory reporting (memory.ts): optional, a backend without them is reported as not counted.
  /** What the device's memory holds (`memory()` in memory.ts reports it); absent: not counted. */
  memory?(): DeviceMemory;
  /** Caps the device's own memory at `bytes` (null: no cap but the engine's), see memory.ts. */
  setMemoryLimit?(bytes: number | null): void;
  /** Starts the device's peak of bytes in use again from the bytes in use now. */
  resetPeakMemory?(): void;

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
  fold2d(
    columns: View,
    outputShape: readonly [number, number, number, number],
    geometry: Conv2dGeometry,
  ): Storage;
  /**
   * Max pooling of x [N, C, H, W] with `outSize` [outH, outW] windows (ceil mode may let the last
   * overhang the image; overhang and padding are skipped): contiguous values [N, C, outH, outW]
   * and int32 indices y·W + x of each window's first maximum in its plane (PyTorch's
   * max_pool2d_with_indices; a NaN beats any number). A window with nothing inside the image
   * gets −Infinity and index −1.
   */
  maxPool2d(x: View, geometry: Conv2dGeometry, outSize: readonly [number, number]): MaxPool2dResult;
  /** Writes `src` (same shape, any dtype) into the view `dst`. */
  copyInto(dst: View, src: View): void;
  fill(dst: View, value: number): void;
}

/**
 * Fused kernels a backend may add for speed: one pass (or two) over memory where a chain of
 * primitives would take several. Each is optional (Backend takes them as Partial); where a backend
 * lacks one, or a kernel returns null for operands it does not take, the op layer runs the
 * composed path built from primitives, with the same results up to rounding (most fused kernels
 * round where the composed ops round, and give the same bits). setKernelTrace shows which ran.
 */
export interface FusedKernels {
  /**
   * Optional fused relu backward: g·(y > 0) for views of one shape (the composed rule's
   * arithmetic), or null where the backend does not take them (the caller composes it).
   */
  reluBackward(grad: View, output: View): Storage | null;
  /**
   * Optional fused linear layer: x [M, K] · weightᵀ (weight [N, K]) + bias [N] as one product
   * whose output starts from the bias (PyTorch's addmm), or null where the backend does not take
   * these operands (the caller composes matmul and add).
   */
  linear(x: View, weight: View, bias: View): Storage | null;
  /**
   * Optional: a linear layer's gradients for the output gradient grad [M, N] (x [M, K], weight
   * [N, K]), each where `needs` asks: grad·weight [M, K], gradᵀ·x [N, K] and the bias gradient
   * Σ rows of grad [N], contiguous, with the bits of those matmuls and of grad.sum(0), computed
   * together where the backend does that faster. Any entry may be null (the caller computes it);
   * null where the backend takes none of them.
   */
  linearBackward(
    grad: View,
    x: View,
    weight: View,
    needs: readonly boolean[],
  ): [Storage | null, Storage | null, Storage | null] | null;
  /**
   * Optional: `storage`, which this backend's kernels made, will never be read or written again
   * (no tensor refers to it); the backend may reuse its memory at once instead of when the
   * garbage collector finds it. The autograd engine calls it for gradients it has consumed.
   */
  release(storage: Storage): void;
  /**
   * Optional whole-layer conv2d (groups = 1) of x [N, C, H, W] with weight [O, C, kh, kw] and an
   * optional bias [O]: the output [N, O, outH, outW] and backend-private `columns` that
   * conv2dBackward may reuse. Null (or absent) when the backend does not take these operands;
   * the caller then composes the convolution from unfold2d and matmul.
   */
  conv2d(x: View, weight: View, bias: View | null, geometry: Conv2dGeometry): Conv2dResult | null;
  /**
   * The gradients of conv2d for the output gradient `grad`: input, weight and bias, each only
   * where `needs` asks (else null). `columns` is what conv2d returned (or null).
   */
  conv2dBackward(
    x: View,
    weight: View,
    grad: View,
    geometry: Conv2dGeometry,
    columns: Storage | null,
    needs: readonly [boolean, boolean, boolean],
  ): Conv2dGradients;

  /**
   * Softmax (or, with `log`, log-softmax) of `x` along `axis`, shifted by the row's max so large
   * logits neither overflow nor lose precision; the result is contiguous in x's shape and dtype.
   * A row whose max is ±Infinity is not shifted (as logsumexp), so an all −Infinity row gives NaN.
   * A backend may compute exp itself within a couple of ulps (the WebAssembly one does).
   */
  softmax(x: View, axis: number, log: boolean): Storage;
  /**
   * The gradient of softmax (or, with `log`, log-softmax) along `axis` from the op's output y
   * and the incoming gradient g (same shape and dtype): g − exp(y)·Σg for log-softmax,
   * y·(g − Σ g·y) for softmax, sums along the axis; contiguous, every step rounded to the dtype
   * as the same backward composed of primitives rounds (float64 sums in axis order). A backend
   * may compute exp itself within a couple of ulps (the WebAssembly one does, in float32).
   */
  softmaxBackward(grad: View, output: View, axis: number, log: boolean): Storage;
  /**
   * Layer-norm forward: x is read as rows of its last `normalizedSize` elements (row-major), each
   * normalized with its mean and biased variance, then scaled by `weight` and shifted by `bias`
   * (views of `normalizedSize` elements, or null). Returns the contiguous output (x's shape and
   * dtype) and per-row `mean` and `rstd` = 1/√(var + eps), one element per row.
   */
  layerNorm(
    x: View,
    normalizedSize: number,
    weight: View | null,
    bias: View | null,
    eps: number,
  ): LayerNormResult;
  /**
   * Layer norm's gradients from the output gradient `grad` and the forward's x, per-row `mean`
   * and `rstd` (as layerNorm returned them) and `weight` (null without one), rows of the last
   * `normalizedSize` elements: with x̂ = (x − mean)·rstd and ĝ = grad·weight,
   * input = rstd·(ĝ − mean(ĝ) − x̂·mean(ĝ·x̂)), weight = Σ_rows grad·x̂, bias = Σ_rows grad; each
   * only where `needs` asks (else null), contiguous in x's dtype.
   */
  layerNormBackward(
    grad: View,
    x: View,
    mean: View,
    rstd: View,
    weight: View | null,
    normalizedSize: number,
    needs: readonly [boolean, boolean, boolean],
  ): LayerNormGradients;
  /**
   * RMS-norm forward: rows of the last `normalizedSize` elements of x, each times
   * rstd = 1/√(mean(x²) + eps), then by `weight` (or null). Returns the contiguous output and the
   * per-row rstd.
   */
  rmsNorm(x: View, normalizedSize: number, weight: View | null, eps: number): RmsNormResult;
  /**
   * RMS norm's gradients (layerNormBackward with the mean 0 and no mean(ĝ) term): with
   * x̂ = x·rstd and ĝ = grad·weight, input = rstd·(ĝ − x̂·mean(ĝ·x̂)), weight = Σ_rows grad·x̂,
   * each only where `needs` asks (bias is always null).
   */
  rmsNormBackward(
    grad: View,
    x: View,
    rstd: View,
    weight: View | null,
    normalizedSize: number,
    needs: readonly [boolean, boolean],
  ): LayerNormGradients;
  /** Per-channel statistics of x [N, C, *] over every axis but 1: mean and biased variance, each [C] in x's dtype. */
  batchNormStats(x: View): BatchNormStats;
  /**
   * (x − mean[c])·rstd[c]·weight[c] + bias[c] for x [N, C, *] and per-channel views [C]
   * (weight and bias may be null); contiguous, in x's dtype.
   */
  batchNormApply(x: View, mean: View, rstd: View, weight: View | null, bias: View | null): Storage;
  /**
   * Negative log-likelihood per sample for logProbs [N, C] and int32 class indices target [N]:
   * `loss[i]` = −w[t]·logProbs[i, t] and `weight[i]` = w[t] (1 without class weights), both 0
   * where t = ignoreIndex. Throws a RangeError on another index outside [0, C).
   */
  nllLoss(logProbs: View, target: View, weight: View | null, ignoreIndex: number): NllLossResult;
  /**
   * nllLoss's gradient with respect to logProbs [N, `classes`], from the target [N], the
   * per-sample weights [N] that nllLoss returned and the incoming gradient (a scalar for 'sum'
   * and 'mean', [N] for 'none'): zero but at (i, target[i]) (class 0 where ignored), which holds
   * −weights[i], divided by Σ weights for 'mean' (0 when that sum is 0), times the gradient.
   * Rounded as the composed backward rounds (contiguous, the weights' dtype).
   */
  nllLossBackward(
    grad: View,
    target: View,
    weights: View,
    classes: number,
    ignoreIndex: number,
    reduction: 'none' | 'sum' | 'mean',
  ): Storage;
  /**
   * One SGD step in place on `param` (and `momentumBuffer` when momentum ≠ 0), all of one
   * floating dtype and shape, rounding as the same update composed of elementwise primitives does.
   */
  sgdUpdate(param: View, grad: View, momentumBuffer: View | null, options: SgdUpdateOptions): void;
  /**
   * One Adam / AdamW step in place on `param` and its moment estimates (maxExpAvgSq only with
   * amsgrad), all of one floating dtype and shape, rounding as the composed update does.
   */
  adamUpdate(
    param: View,
    grad: View,
    expAvg: View,
    expAvgSq: View,
    maxExpAvgSq: View | null,
    options: AdamUpdateOptions,
  ): void;
  /**
   * GELU of a float32 or float64 view, contiguous in its shape and dtype: x·Φ(x), Φ the standard
   * normal CDF, for `approximate` 'none'; PyTorch's ½x(1 + tanh(√(2/π)(x + 0.044715x³))) for
   * 'tanh'. A backend may compute erf, exp and tanh itself within a few float32 ulp (the
   * WebAssembly one does, in float32).
   */
  gelu(x: View, approximate: GeluApproximate): Storage;
  /**
   * GELU's gradient for the incoming gradient `grad` and the op's input x (one shape and dtype):
   * g·(Φ(x) + x·φ(x)), φ the standard normal density, or g times the tanh approximation's
   * derivative (PyTorch's formula); contiguous.
   */
  geluBackward(grad: View, x: View, approximate: GeluApproximate): Storage;
  /**
   * The attention softmax: softmax(x·scale) along the last dim of scores x [..., L, S], the
   * scaled scores rounded to the dtype first (as x.mul(scale) rounds); with `causal`, query i
   * (i = row mod L) sees keys j ≤ i only, the others are exactly 0. Contiguous, x's dtype.
   */
  scaledSoftmax(x: View, scale: number, causal: boolean): Storage;
  /**
   * scaledSoftmax's gradient from its output y and the incoming g (same shape and dtype):
   * scale·y·(g − Σ g·y) along the last dim, rounded where the composed backward rounds (float64
   * sums in order); the masked positions (causal) are 0·scale.
   */
  scaledSoftmaxBackward(grad: View, output: View, scale: number, causal: boolean): Storage;
}

/** F.gelu's `approximate`: the exact GELU with erf, or PyTorch's tanh approximation. */
export type GeluApproximate = 'none' | 'tanh';

/** A device's memory, as `memory()` reports it (bytes). */
export interface DeviceMemory {
  /** Tensor storage and kernel scratch handed out and not yet given back (or collected). */
  readonly bytesInUse: number;
  /** The most bytesInUse has been since start-up or resetPeakMemory. */
  readonly peakBytesInUse: number;
  /** What the device holds from the system: its kernel memory's size plus storage outside it. */
  readonly reservedBytes: number;
  /** The most the device's kernel memory may grow to; null when it has none. */
  readonly limitBytes: number | null;
  /** The kernels' own memory (WebAssembly), part of the above; null when the device has none. */
  readonly kernel: {
    readonly bytesInUse: number;
    readonly peakBytesInUse: number;
    readonly reservedBytes: number;
    readonly freeBytes: number;
    readonly limitBytes: number;
    readonly collections: number;
  } | null;
}

/** A backend: the required primitives and any of the optional fused kernels. */
export type Backend = BackendPrimitives & Partial<FusedKernels>;

export interface LayerNormResult {
  readonly output: Storage;
  /** Per-row mean (x's dtype, one element per row). */
  readonly mean: Storage;
  /** Per-row 1/√(biased variance + eps) (x's dtype). */
  readonly rstd: Storage;
}

export interface RmsNormResult {
  readonly output: Storage;
  /** Per-row 1/√(mean(x²) + eps) (x's dtype). */
  readonly rstd: Storage;
}

/** Layer norm's gradients: of the input (x's shape), the weight and the bias (normalizedSize each). */
export interface LayerNormGradients {
  readonly input: Storage | null;
  readonly weight: Storage | null;
  readonly bias: Storage | null;
}

export interface BatchNormStats {
  readonly mean: Storage;
  /** Biased (population) variance. */
  readonly variance: Storage;
}

export interface NllLossResult {
  /** Per-sample −w[t]·logp[t], 0 where ignored. */
  readonly loss: Storage;
  /** Per-sample w[t], 0 where ignored. */
  readonly weight: Storage;
}

/** PyTorch's SGD options for one parameter. */
export interface SgdUpdateOptions {
  readonly lr: number;
  readonly momentum: number;
  readonly dampening: number;
  readonly weightDecay: number;
  readonly nesterov: boolean;
  readonly maximize: boolean;
  /** The momentum buffer has no history yet: it is set to the gradient (no dampening), as PyTorch's first step. */
  readonly firstStep: boolean;
}

/** PyTorch's Adam / AdamW options for one parameter. */
export interface AdamUpdateOptions {
  readonly lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  /** AdamW: p ← p·(1 − lr·weightDecay) first; otherwise weightDecay·p is added to the gradient. */
  readonly decoupledWeightDecay: boolean;
  readonly amsgrad: boolean;
  readonly maximize: boolean;
  /** The step number t ≥ 1 of this update (for the bias corrections). */
  readonly step: number;
}

const backends = new Map<string, Backend>();

export function registerBackend(backend: Backend): void {
  backends.set(backend.name, backend);
}

/** The names of the registered devices. */
export function backendNames(): string[] {
  return [...backends.keys()];
}

export function getBackend(name: string): Backend {
  const backend = backends.get(name);
  if (!backend) {
    throw new Error(
      `unknown device '${name}'; available devices: ${[...backends.keys()].join(', ')}`,
    );
  }
  return backend;
}

/** The names of the registered devices ('cpu', 'cpu-reference', …), in registration order. */
export function registeredDevices(): string[] {
  return [...backends.keys()];
}
