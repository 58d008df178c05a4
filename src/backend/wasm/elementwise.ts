/**
 * The elementwise WebAssembly kernels (elementwise_module.ts) on arena storage, run as tasks of
 * the kernel module: large tensors are split in chunks over all threads. Each function takes the
 * backend's views and returns the result, or null when the layout, dtype or storage is not one
 * the kernels take (then the caller runs the reference or TypeScript kernel). Results are
 * bit-identical to those kernels, whatever the split; test/elementwise_wasm.test.ts compares them.
 */
import type { AdamUpdateOptions, BinaryOp, ReduceOp, UnaryOp, View } from '../backend.js';
import { adamConstants } from '../cpu/fused_kernels.js';
import { isBroadcastValue, lastDimRows, scatterBase } from './gather_scatter.js';
import type { DType } from '../../tensor/dtype.js';
import { isContiguous, shapeSize } from '../../tensor/shape.js';
import { elementOffsets } from '../cpu/strided.js';
import { ARENA_MIN_ELEMENTS } from './arena.js';
import { ADAM_CONSTANTS } from './adam_module.js';
import { BINARY_KERNEL_IDS, EW, UNARY_KERNEL_IDS } from './elementwise_module.js';
import { allocateStorage } from '../cpu/storage.js';
import { getRuntime, type GemmRuntime, kernelRuntime } from './kernel_runtime.js';
import type { SideJob } from './side_by_side.js';
import { CTL, KIND_ELEMENTWISE } from './control_block.js';
import { swappedOuterDims } from './swap_layout.js';

/** Jobs touching at least this many bytes are split over the threads. */
const PARALLEL_BYTES = 1 << 18;

/** The runtime where the elementwise kernels exist (a SIMD module over shared memory). */
export function runtime(): GemmRuntime | null {
  const rt = getRuntime();
  return rt && rt.variant.level !== 'scalar' && rt.arena.holdsStorage ? rt : null;
}

/**
 * Runs kernel `fn` over `units` (elements, rows or columns, as the dispatcher in gemm_module.ts
 * reads them) with parameters p; split over the threads when it touches `bytes` or more, in
 * `chunksPerThread` chunks per thread (several, so a busy core takes fewer). Returns the EW_BAD
 * word (a scatter's bad index).
 */
export function runKernel(
  fn: number,
  units: number,
  params: readonly number[],
  bytes: number,
  chunksPerThread = 4,
): number {
  const k = kernelRuntime(bytes >= PARALLEL_BYTES)!;
  const { rt, parallel } = k;
  const tasks = parallel ? Math.min(units, chunksPerThread * rt.threads()) : 1;
  const ctl = rt.ctl;
  rt.run(writeKernelJob(ctl, fn, units, params, tasks), parallel);
  return ctl[CTL.EW_BAD];
}

/** Writes kernel `fn`'s job over `units` in `tasks` chunks into `ctl`; returns its task count. */
function writeKernelJob(
  ctl: Int32Array,
  fn: number,
  units: number,
  params: readonly number[],
  tasks: number,
): number {
  const chunk = Math.ceil(units / tasks);
  ctl[CTL.KIND] = KIND_ELEMENTWISE;
  ctl[CTL.EW_FN] = fn;
  ctl[CTL.EW_UNITS] = units;
  ctl[CTL.EW_CHUNK] = chunk;
  ctl[CTL.EW_BAD] = 0;
  params.forEach((value, i) => (ctl[CTL.EW_P0 + i] = value));
  return Math.ceil(units / chunk);
}

/**
 * Column sums of a [rows, cols] float32 view (float64 sums in row order, rounded once: the
 * reference's bits) as a job for runSideBySide; `result` holds them once it ran. Null where the
 * elementwise kernels do not exist.
 */
export function sumRowsSideJob(
  x: View,
  rows: number,
  cols: number,
): (SideJob & { result: Float32Array | null }) | null {
  const rt = x.dtype === 'float32' && x.storage instanceof Float32Array ? runtime() : null;
  if (!rt) return null;
  const out = kernelResult(rt, cols);
  const job = {
    result: null as Float32Array | null,
    prepare(ctl: Int32Array, take: (bytes: number) => number): number {
      const xp = readableAddress(rt, x, rows * cols, take);
      const outPtr = out.place(take);
      if (xp === 0 || outPtr === 0) return 0;
      return writeKernelJob(ctl, EW.SUM_ROWS, cols, [xp, outPtr, rows], 1);
    },
    finish(): void {
      job.result = out.read();
    },
  };
  return job;
}

/**
 * A kernel's result of `size` floats: `place(take)` gives its address, in arena storage when the
 * result is large enough to live there, else in a temporary block from `take` (0 when memory
 * runs out); `read()`, once the kernel ran, the storage itself or a copy of the block.
 */
export function kernelResult(
  rt: GemmRuntime,
  size: number,
): { place(take: (bytes: number) => number): number; read(): Float32Array } {
  let stored: Float32Array | null = null;
  let ptr = 0;
  return {
    place(take) {
      stored = size >= ARENA_MIN_ELEMENTS ? rt.arena.float32(size, false) : null;
      ptr = stored ? stored.byteOffset : take(size * 4);
      return ptr;
    },
    read: () => stored ?? rt.heap().slice(ptr >> 2, (ptr >> 2) + size),
  };
}

/** Byte address of a contiguous float32 view's first element in arena storage, or -1. */
function addressOf(rt: GemmRuntime, v: View): number {
  const s = v.storage;
  if (!(s instanceof Float32Array) || v.dtype !== 'float32' || !rt.arena.contains(s)) return -1;
  if (!isContiguous(v.shape, v.strides)) return -1;
  return s.byteOffset + v.offset * 4;
}

/**
 * A unary op with WebAssembly code in the op table (relu) on a contiguous float32 view in arena
 * storage; null for other ops, dtypes, layouts and storage.
 */
export function unaryWasm(op: UnaryOp, x: View, outDType: DType): Float32Array | null {
  const kernel = UNARY_KERNEL_IDS[op];
  const size = shapeSize(x.shape);
  if (kernel === undefined || outDType !== 'float32' || size < ARENA_MIN_ELEMENTS) return null;
  const rt = runtime();
  if (!rt) return null;
  const xp = addressOf(rt, x);
  const out = xp < 0 ? null : rt.arena.float32(size, false);
  if (!out) return null;
  runKernel(kernel, size, [xp, out.byteOffset], size * 8);
  return out;
}

/** g·(y > 0) for contiguous float32 views of one shape in arena storage. */
export function reluBackwardWasm(g: View, y: View): Float32Array | null {
  const size = shapeSize(g.shape);
  const rt = size >= ARENA_MIN_ELEMENTS && size === shapeSize(y.shape) ? runtime() : null;
  if (!rt) return null;
  const gp = addressOf(rt, g);
  const yp = addressOf(rt, y);
  const out = gp < 0 || yp < 0 ? null : rt.arena.float32(size, false);
  if (!out) return null;
  runKernel(EW.RELU_BACKWARD, size, [gp, yp, out.byteOffset], size * 12);
  return out;
}

/**
 * g·(y > 0) for contiguous float32 views of one shape outside the kernels' memory, as a
 * branch-free loop (the composed rule's arithmetic: y > 0 is 0 or 1); null otherwise.
 */
export function reluBackwardF32(g: View, y: View): Float32Array | null {
  if (g.dtype !== 'float32' || y.dtype !== 'float32') return null;
  if (!isContiguous(g.shape, g.strides) || !isContiguous(y.shape, y.strides)) return null;
  const size = shapeSize(g.shape);
  if (size !== shapeSize(y.shape)) return null;
  const gs = g.storage as Float32Array;
  const ys = y.storage as Float32Array;
  const go = g.offset;
  const yo = y.offset;
  const out = allocateStorage('float32', size, false) as Float32Array;
  for (let i = 0; i < size; i++) out[i] = gs[go + i] * +(ys[yo + i] > 0);
  return out;
}

/**
 * b's layout against a's shape: rows × cols where b repeats one row of `cols` elements (its
 * leading strides 0, the trailing dims contiguous), or cols = size for equal contiguous shapes;
 * null for anything else.
 */
function rowBroadcast(shape: readonly number[], b: View): { rows: number; cols: number } | null {
  let k = 0;
  while (k < shape.length && b.strides[k] === 0) k++;
  let expected = 1;
  for (let d = shape.length - 1; d >= k; d--) {
    if (shape[d] !== 1 && b.strides[d] !== expected) return null;
    expected *= shape[d];
  }
  let rows = 1;
  for (let d = 0; d < k; d++) rows *= shape[d];
  return { rows, cols: expected };
}

/**
 * a op b in float32 for an op with WebAssembly code in the op table (add, sub, mul, div): a
 * contiguous, b equal-shaped or a broadcast row.
 */
export function binaryWasm(op: BinaryOp, a: View, b: View, outDType: DType): Float32Array | null {
  const kernel = BINARY_KERNEL_IDS[op];
  if (outDType !== 'float32' || kernel === undefined) return null;
  const size = shapeSize(a.shape);
  const rt = size >= ARENA_MIN_ELEMENTS ? runtime() : null;
  if (!rt || b.dtype !== 'float32' || !(b.storage instanceof Float32Array)) return null;
  const ap = addressOf(rt, a);
  const layout = rowBroadcast(a.shape, b);
  if (ap < 0 || !layout) return null;
  const { rows, cols } = layout;
  const { arena } = rt;
  // A b outside the arena (a small bias, say) is copied into a temporary block.
  const inArena = arena.contains(b.storage);
  if (!inArena && cols > ARENA_MIN_ELEMENTS) return null;
  const out = arena.float32(size, false);
  if (!out) return null;
  const bStorage = b.storage;
  return arena.withTemporaries((take) => {
    const bp = inArena ? bStorage.byteOffset + b.offset * 4 : take(cols * 4);
    if (bp === 0) return null;
    if (!inArena) rt.heap().set(bStorage.subarray(b.offset, b.offset + cols), bp >> 2);
    // Rows of a broadcast b, or elements of equal shapes (b advancing with a).
    const byRows = rows > 1;
    runKernel(
      kernel,
      byRows ? rows : cols,
      [ap, bp, out.byteOffset, cols, byRows ? 1 : 0],
      size * 12,
    );
    return out;
  });
}

/** The float32 sum over leading dims [0, k) of a contiguous float32 view in arena storage. */
export function sumLeadingWasm(
  op: ReduceOp,
  x: View,
  axes: readonly number[],
  outDType: DType,
): Float32Array | null {
  const rank = x.shape.length;
  const k = axes.length;
  if (op !== 'sum' || outDType !== 'float32' || k === 0 || k >= rank) return null;
  for (let i = 0; i < k; i++) if (axes[i] !== i) return null;
  const size = shapeSize(x.shape);
  const rt = size >= ARENA_MIN_ELEMENTS ? runtime() : null;
  if (!rt) return null;
  const xp = addressOf(rt, x);
  if (xp < 0) return null;
  const rows = shapeSize(x.shape.slice(0, k));
  const cols = size / rows;
  const { arena } = rt;
  // Columns are independent sums: split over threads, each keeps the reference's order.
  const out = arena.float32(cols, false);
  if (out) {
    runKernel(EW.SUM_ROWS, cols, [xp, out.byteOffset, rows], size * 4);
    return out;
  }
  return arena.withTemporaries((take) => {
    const temp = take(cols * 4);
    if (temp === 0) return null;
    runKernel(EW.SUM_ROWS, cols, [xp, temp, rows], size * 4);
    return rt.view(temp, cols).slice();
  });
}

/**
 * Byte address of a float32 view's `size` elements, in row-major order, for a kernel to read:
 * where they are when contiguous in arena storage, else copied (gathered when strided) into a
 * block from `take`; 0 when that fails. With `runsKernels` (the caller has no job pending in the
 * control block), an arena view with two outer dims swapped (swap_layout.ts: a gradient through
 * attention's layout changes) is copied by the SWAP_OUTER kernel on the threads: the scalar
 * gather took ~4 ms for [16, 64, 128] in layerNormBackward, the kernel ~0.05.
 */
export function readableAddress(
  rt: GemmRuntime,
  v: View,
  size: number,
  take: (bytes: number) => number,
  runsKernels = false,
): number {
  const at = addressOf(rt, v);
  if (at >= 0) return at;
  const ptr = take(size * 4);
  if (ptr === 0) return 0;
  const src = v.storage as Float32Array;
  const swapped = runsKernels && rt.arena.contains(src) ? swappedOuterDims(v) : null;
  if (swapped) {
    const [p, q, r] = swapped;
    swapOuterWasm(src.byteOffset + v.offset * 4, ptr, 0, q, p, r);
    return ptr;
  }
  const offsets = elementOffsets(v.shape, v.strides, v.offset);
  if (offsets === null) rt.heap().set(src.subarray(v.offset, v.offset + size), ptr >> 2);
  else {
    const heap = rt.heap();
    for (let i = 0, q = ptr >> 2; i < size; i++, q++) heap[q] = src[offsets[i]];
  }
  return ptr;
}

/** Rows × n of a float32 view reduced along its last dim, or null for anything else. */
export function lastDimRowsOf(v: View, axis: number): { rows: number; n: number } | null {
  const rank = v.shape.length;
  if (rank === 0 || axis !== rank - 1 || v.dtype !== 'float32') return null;
  if (!(v.storage instanceof Float32Array)) return null;
  const n = v.shape[rank - 1];
  const size = shapeSize(v.shape);
  return size === 0 ? null : { rows: size / n, n };
}

/**
 * Runs kernel `fn` over `units` with parameters [...inputs' addresses, out, ...extra], for
 * float32 inputs of `size` elements each and a result of `size`: the inputs placed by
 * readableAddress (read in place, or copied or gathered in), the result in arena storage when
 * large enough to live there, else in a temporary block copied out after; null when memory runs
 * out.
 */
export function runPlacedKernel(
  rt: GemmRuntime,
  fn: number,
  inputs: readonly View[],
  size: number,
  units: number,
  extra: readonly number[],
): Float32Array | null {
  const out = kernelResult(rt, size);
  return rt.arena.withTemporaries((take) => {
    const outPtr = out.place(take);
    const pointers = inputs.map((v) => readableAddress(rt, v, size, take, true));
    if (outPtr === 0 || pointers.includes(0)) return null;
    runKernel(fn, units, [...pointers, outPtr, ...extra], size * 4 * (inputs.length + 1));
    return out.read();
  });
}

/** runPlacedKernel for row kernel `kernel` over `rows` rows of n elements (parameters n, ...extra). */
export function runRowKernel(
  rt: GemmRuntime,
  kernel: number,
  inputs: readonly View[],
  { rows, n }: { rows: number; n: number },
  extra: readonly number[],
): Float32Array | null {
  return runPlacedKernel(rt, kernel, inputs, rows * n, rows, [n, ...extra]);
}

/**
 * softmax / log-softmax along the last dim of a float32 view (a strided one gathered first), on
 * the kernels (a vector exp, within 2 ulp of the reference's Math.exp; the rest rounded as the
 * reference).
 */
export function softmaxWasm(x: View, axis: number, log: boolean): Float32Array | null {
  const layout = lastDimRowsOf(x, axis);
  const rt = layout ? runtime() : null;
  if (!layout || !rt) return null;
  return runRowKernel(rt, EW.SOFTMAX_ROWS, [x], layout, [log ? 1 : 0]);
}

/**
 * The log-softmax gradient g − exp(y)·Σg along the last dim of float32 views of one shape: the
 * reference's float32 steps with the kernels' vector exp.
 */
export function logSoftmaxBackwardWasm(g: View, y: View, axis: number): Float32Array | null {
  const layout = lastDimRowsOf(y, axis);
  const gLayout = lastDimRowsOf(g, axis);
  const sameRows = layout && gLayout && layout.rows === gLayout.rows && layout.n === gLayout.n;
  const rt = sameRows ? runtime() : null;
  if (!layout || !rt) return null;
  return runRowKernel(rt, EW.LOG_SOFTMAX_BACKWARD_ROWS, [g, y], layout, []);
}

/**
 * A copy of base with src added at index along the last dim (max pooling's gradient), for a
 * contiguous (or broadcast-value) float32 base and src in arena storage; errors as the reference's.
 */
export function scatterAddWasm(
  base: View,
  dim: number,
  index: View,
  src: View,
): Float32Array | null {
  const layout = src.dtype === 'float32' ? lastDimRows(base, dim, index, src) : null;
  if (!layout) return null;
  const { rows, size, count } = layout;
  const rt = rows * size >= ARENA_MIN_ELEMENTS ? runtime() : null;
  if (!rt) return null;
  const { arena } = rt;
  const srcPtr = addressOf(rt, src);
  const out = srcPtr < 0 ? null : arena.float32(rows * size, false);
  if (!out) return null;
  // A zero base (max pooling's gradient) is zeroed row by row inside the kernel: one pass.
  const zeroBase =
    isBroadcastValue(base) && Object.is((base.storage as Float32Array)[base.offset], 0);
  if (!zeroBase) scatterBase(base, rows * size, out);
  const indices = index.storage as Int32Array;
  // Indices in the arena (max pooling's) are read where they are; others copied in.
  const inPlace = arena.contains(indices);
  return arena.withTemporaries((take) => {
    const idxPtr = inPlace ? indices.byteOffset + index.offset * 4 : take(rows * count * 4);
    if (idxPtr === 0) return null;
    if (!inPlace)
      new Int32Array(arena.memory.buffer, idxPtr, rows * count).set(
        indices.subarray(index.offset, index.offset + rows * count),
      );
    const bad = runKernel(
      EW.SCATTER_ADD_ROWS,
      rows,
      [out.byteOffset, idxPtr, srcPtr, size, count, zeroBase ? 1 : 0],
      rows * (size + 2 * count) * 4,
    );
    if (bad) {
      // Named as the reference names it: the first bad index in order.
      const all = indices.subarray(index.offset, index.offset + rows * count);
      const first = all.find((j) => j < 0 || j >= size)!;
      throw new RangeError(
        `scatterAdd: index ${first} is out of bounds for dimension ${dim} with size ${size}`,
      );
    }
    return out;
  });
}

/**
 * conv2d's reorder: [outer, inner, l] at byte address `src` into [inner, outer, l] at `dst`
 * (rows of l every `dstRow` elements), plus bias[a] on group a when `bias` (an address) is not 0.
 * False without the kernels.
 */
export function swapOuterWasm(
  src: number,
  dst: number,
  bias: number,
  outer: number,
  inner: number,
  l: number,
  dstRow = l,
): boolean {
  if (!runtime()) return false;
  runKernel(EW.SWAP_OUTER, outer, [src, dst, bias, inner, l, dstRow], outer * inner * l * 8);
  return true;
}

/** conv2d's bias gradient: out[r] = Σ_c x[r, c] (addresses), float64 sums. False without the kernels. */
export function sumEachRowWasm(x: number, out: number, rows: number, cols: number): boolean {
  if (!runtime()) return false;
  runKernel(EW.SUM_EACH_ROW, rows, [x, out, cols], rows * cols * 4);
  return true;
}

/** The runtime when the elementwise kernels can run on its arena storage (conv.ts's layout passes). */
export function elementwiseRuntime(): GemmRuntime | null {
  return runtime();
}

/**
 * One Adam/AdamW step in place (no amsgrad) for contiguous float32 param, grad and moments in
 * arena storage: the reference float32 loop's arithmetic (fused_kernels.ts), split over the
 * threads for large tensors. False when the kernels do not take these operands.
 */
export function adamWasm(
  param: View,
  grad: View,
  expAvg: View,
  expAvgSq: View,
  o: AdamUpdateOptions,
): boolean {
  const size = shapeSize(param.shape);
  const rt = !o.amsgrad && size >= ARENA_MIN_ELEMENTS ? runtime() : null;
  if (!rt) return false;
  const pointers = [param, grad, expAvg, expAvgSq].map((v) => addressOf(rt, v));
  if (pointers.some((ptr) => ptr < 0)) return false;
  if ([grad, expAvg, expAvgSq].some((v) => shapeSize(v.shape) !== size)) return false;
  const constants = adamConstants(o, 'float32', false);
  const mode = constants.decoupled ? 2 : constants.coupled ? 1 : 0;
  const { arena } = rt;
  return arena.withTemporaries((take) => {
    const consts = take(ADAM_CONSTANTS.length * 4);
    if (consts === 0) return false;
    rt.view(consts, ADAM_CONSTANTS.length).set(ADAM_CONSTANTS.map((name) => constants[name]));
    runKernel(EW.ADAM, size, [...pointers, consts, mode], size * 24);
    return true;
  });
}

/**
 * A plain float32 SGD step in place, p += g·scale, for contiguous p and g in arena storage, on
 * the kernel module's sgd_f32 split over the threads (the reference loop's float32 rounding).
 * False when the kernels do not take these operands.
 */
export function sgdWasm(param: View, grad: View, scale: number): boolean {
  const size = shapeSize(param.shape);
  const rt = size >= ARENA_MIN_ELEMENTS && size === shapeSize(grad.shape) ? runtime() : null;
  if (!rt) return false;
  const pp = addressOf(rt, param);
  const gp = addressOf(rt, grad);
  if (pp < 0 || gp < 0) return false;
  const scaleBits = new Int32Array(Float32Array.of(scale).buffer)[0];
  // One chunk per thread, the caller claiming the first: the batch-128 MLP step ran 0.6–1.4%
  // faster than with four chunks per thread (29–31 of 40 blocks). The reason is a guess: each core
  // then updates the weight rows it packed in the forward product (gemmByColumns), though the
  // backward products in between may have evicted them.
  runKernel(EW.SGD, size, [pp, gp, scaleBits], size * 12, 1);
  return true;
}
