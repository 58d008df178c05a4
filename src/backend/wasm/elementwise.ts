/**
 * The elementwise WebAssembly kernels (elementwise_module.ts) on arena storage: each function
 * takes the backend's views and returns the result, or null when the layout, dtype or storage is
 * not one the kernels take (then the caller runs the reference or TypeScript kernel). Results are
 * bit-identical to those kernels; test/elementwise_wasm.test.ts compares them.
 */
import type { ReduceOp, View } from '../backend.js';
import { lastDimRows, scatterBase } from '../cpu/indexing_kernels.js';
import type { DType } from '../../tensor/dtype.js';
import { isContiguous, shapeSize } from '../../tensor/shape.js';
import { ARENA_MIN_ELEMENTS } from './arena.js';
import {
  buildElementwiseModule,
  ELEMENTWISE_OPS,
  type ElementwiseExports,
  type ElementwiseOp,
} from './elementwise_module.js';
import { getRuntime, type GemmRuntime } from './gemm.js';

const instances = new WeakMap<GemmRuntime, ElementwiseExports | null>();

/** The runtime and the module's exports where both exist (SIMD engine, shared memory). */
function kernels(): { rt: GemmRuntime; k: ElementwiseExports } | null {
  const rt = getRuntime();
  if (!rt || rt.variant.level === 'scalar' || !rt.arena.holdsStorage) return null;
  let k = instances.get(rt);
  if (k === undefined) {
    try {
      const module = new WebAssembly.Module(buildElementwiseModule(rt.limits));
      const instance = new WebAssembly.Instance(module, { env: { memory: rt.memory } });
      k = instance.exports as unknown as ElementwiseExports;
    } catch {
      k = null;
    }
    instances.set(rt, k);
  }
  return k ? { rt, k } : null;
}

/** Byte address of a contiguous float32 view's first element in arena storage, or -1. */
function addressOf(rt: GemmRuntime, v: View): number {
  const s = v.storage;
  if (!(s instanceof Float32Array) || v.dtype !== 'float32' || !rt.arena.contains(s)) return -1;
  if (!isContiguous(v.shape, v.strides)) return -1;
  return s.byteOffset + v.offset * 4;
}

/** relu of a contiguous float32 view in arena storage. */
export function reluWasm(x: View): Float32Array | null {
  const size = shapeSize(x.shape);
  const kr = size >= ARENA_MIN_ELEMENTS ? kernels() : null;
  if (!kr) return null;
  const xp = addressOf(kr.rt, x);
  const out = xp < 0 ? null : kr.rt.arena.float32(size, false);
  if (!out) return null;
  kr.k.relu(xp, out.byteOffset, size);
  return out;
}

/** g·(y > 0) for contiguous float32 views of one shape in arena storage. */
export function reluBackwardWasm(g: View, y: View): Float32Array | null {
  const size = shapeSize(g.shape);
  const kr = size >= ARENA_MIN_ELEMENTS && size === shapeSize(y.shape) ? kernels() : null;
  if (!kr) return null;
  const gp = addressOf(kr.rt, g);
  const yp = addressOf(kr.rt, y);
  const out = gp < 0 || yp < 0 ? null : kr.rt.arena.float32(size, false);
  if (!out) return null;
  kr.k.relu_backward(gp, yp, out.byteOffset, size);
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

/** a op b (add, sub, mul, div) in float32: a contiguous, b equal-shaped or a broadcast row. */
export function binaryWasm(op: string, a: View, b: View, outDType: DType): Float32Array | null {
  if (outDType !== 'float32' || !(ELEMENTWISE_OPS as readonly string[]).includes(op)) return null;
  const size = shapeSize(a.shape);
  const kr = size >= ARENA_MIN_ELEMENTS ? kernels() : null;
  if (!kr || b.dtype !== 'float32' || !(b.storage instanceof Float32Array)) return null;
  const ap = addressOf(kr.rt, a);
  const layout = rowBroadcast(a.shape, b);
  if (ap < 0 || !layout) return null;
  const { rows, cols } = layout;
  const { arena } = kr.rt;
  // A b outside the arena (a small bias, say) is copied into a temporary block.
  const inArena = arena.contains(b.storage);
  if (!inArena && cols > ARENA_MIN_ELEMENTS) return null;
  const out = arena.float32(size, false);
  if (!out) return null;
  const bp = inArena ? b.storage.byteOffset + b.offset * 4 : arena.allocate(cols * 4);
  if (bp === 0) return null;
  try {
    if (!inArena) kr.rt.heap().set(b.storage.subarray(b.offset, b.offset + cols), bp >> 2);
    kr.k[`binary_${op as ElementwiseOp}`](ap, bp, out.byteOffset, rows, cols, 0);
  } finally {
    if (!inArena) arena.release(bp);
  }
  return out;
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
  const kr = size >= ARENA_MIN_ELEMENTS ? kernels() : null;
  if (!kr) return null;
  const xp = addressOf(kr.rt, x);
  if (xp < 0) return null;
  const rows = shapeSize(x.shape.slice(0, k));
  const cols = size / rows;
  const { arena } = kr.rt;
  const out = arena.float32(cols, false);
  if (out) {
    kr.k.sum_rows(xp, out.byteOffset, rows, cols);
    return out;
  }
  const temp = arena.allocate(cols * 4);
  if (temp === 0) return null;
  try {
    kr.k.sum_rows(xp, temp, rows, cols);
    return new Float32Array(arena.memory.buffer, temp, cols).slice();
  } finally {
    arena.release(temp);
  }
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
  const kr = rows * size >= ARENA_MIN_ELEMENTS ? kernels() : null;
  if (!kr) return null;
  const { arena } = kr.rt;
  const srcPtr = addressOf(kr.rt, src);
  const out = srcPtr < 0 ? null : arena.float32(rows * size, false);
  if (!out) return null;
  scatterBase(base, rows * size, out);
  const indices = index.storage as Int32Array;
  const idxPtr = arena.allocate(rows * count * 4);
  if (idxPtr === 0) return null;
  try {
    new Int32Array(arena.memory.buffer, idxPtr, rows * count).set(
      indices.subarray(index.offset, index.offset + rows * count),
    );
    const bad = kr.k.scatter_add_rows(out.byteOffset, idxPtr, srcPtr, rows, size, count);
    if (bad >= 0)
      throw new RangeError(
        `scatterAdd: index ${indices[index.offset + bad]} is out of bounds for dimension ${dim} with size ${size}`,
      );
    return out;
  } finally {
    arena.release(idxPtr);
  }
}

/** The elementwise kernels where they can run (SIMD engine, shared memory), for conv.ts's layout passes. */
export function layoutKernels(): { rt: GemmRuntime; k: ElementwiseExports } | null {
  return kernels();
}
