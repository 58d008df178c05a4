/**
 * A matmul's operands in the kernels' memory: views of arena storage read where they are, other
 * views copied in (their span, or gathered when it is mostly gaps), writers (GemmWriter) that
 * fill the kernels' memory themselves.
 */
import type { View } from '../backend.js';
import { elementOffsets } from '../cpu/strided.js';
import type { GemmRuntime } from './kernel_runtime.js';

/** A view's float32 storage when it lives in the arena (its byteOffset is then its address). */
function arenaStorage(rt: GemmRuntime, v: View): Float32Array | null {
  const s = v.storage;
  return s instanceof Float32Array && rt.arena.contains(s) ? s : null;
}

/** Storage range [lo, hi) a view touches, and whether copying it would be wasteful. */
function spanOf(v: View): { lo: number; hi: number; gather: boolean; elements: number } {
  let lo = v.offset;
  let hi = v.offset;
  let size = 1;
  for (let d = 0; d < v.shape.length; d++) {
    const extent = (v.shape[d] - 1) * v.strides[d];
    if (extent < 0) lo += extent;
    else hi += extent;
    size *= v.shape[d];
  }
  hi += 1;
  const gather = hi - lo > 2 * size + 1024;
  return { lo, hi, gather, elements: gather ? size : hi - lo };
}

/**
 * An operand that the caller writes straight into the kernel's memory, instead of a view that
 * gemm copies there: `write(dst)` fills `dst` (batch·rows·cols elements, row-major [batch, rows,
 * cols], or [batch, cols, rows] when `transposed`). `dst` is a view of WebAssembly memory valid
 * only during the call; `write` must not run other matmuls.
 */
export interface GemmWriter {
  readonly shape: readonly [number, number, number];
  readonly transposed?: boolean;
  /**
   * `ptr` (absent when the operand is materialized for the reference kernel) is dst's byte
   * address in the kernels' memory, for writers that fill it with kernels of their own
   * (kernelRuntime); they take any scratch memory they need from the runtime's arena.
   */
  write(dst: Float32Array, ptr?: number): void;
}

export type GemmOperand = View | GemmWriter;

function isWriter(x: GemmOperand): x is GemmWriter {
  return typeof (x as GemmWriter).write === 'function';
}

/** The strides the kernel reads a written operand with. */
function writerStrides(w: GemmWriter): number[] {
  const [batch, rows, cols] = w.shape;
  return w.transposed
    ? [batch === 1 ? 0 : rows * cols, 1, rows]
    : [batch === 1 ? 0 : rows * cols, cols, 1];
}

/** A writer's contents as a view (for the reference kernel when the WebAssembly kernels decline). */
export function materialize(x: GemmOperand): View {
  if (!isWriter(x)) return x;
  const data = new Float32Array(x.shape[0] * x.shape[1] * x.shape[2]);
  x.write(data);
  return {
    storage: data,
    dtype: 'float32',
    shape: [...x.shape],
    strides: writerStrides(x),
    offset: 0,
  };
}

/** An operand in the kernels' memory: element (0, 0, 0) at byte `base + 4·offset`, read with `strides`. */
interface PlacedOperand {
  base: number;
  offset: number;
  strides: readonly number[];
}

/**
 * Puts an operand where the kernels can read it: a view of arena storage as it is; any other view
 * copied (its span, or gathered when the span is mostly gaps) into a temporary block; a writer
 * run on a temporary block from `take`. Null when memory runs out.
 */
export function placeOperand(
  rt: GemmRuntime,
  x: GemmOperand,
  take: (bytes: number) => number,
): PlacedOperand | null {
  if (isWriter(x)) {
    const elements = x.shape[0] * x.shape[1] * x.shape[2];
    const ptr = take(elements * 4);
    if (ptr === 0) return null;
    x.write(rt.view(ptr, elements), ptr);
    return { base: ptr, offset: 0, strides: writerStrides(x) };
  }
  const inArena = arenaStorage(rt, x);
  if (inArena) return { base: inArena.byteOffset, offset: x.offset, strides: x.strides };
  const span = spanOf(x);
  const ptr = take(span.elements * 4);
  if (ptr === 0) return null;
  const src = x.storage as Float32Array;
  const heap = rt.heap();
  if (span.gather) {
    const offsets = elementOffsets(x.shape, x.strides, x.offset)!;
    const at = ptr >> 2;
    for (let i = 0; i < offsets.length; i++) heap[at + i] = src[offsets[i]];
    const [, m, k] = x.shape;
    return { base: ptr, offset: 0, strides: [m * k, k, 1] };
  }
  heap.set(src.subarray(span.lo, span.hi), ptr >> 2);
  return { base: ptr, offset: x.offset - span.lo, strides: x.strides };
}

/** An operand as a view of the kernels' memory (placed there once, for several jobs to read). */
export function inKernelMemory(
  rt: GemmRuntime,
  x: GemmOperand,
  take: (bytes: number) => number,
): View | null {
  const placed = placeOperand(rt, x, take);
  if (!placed) return null;
  return {
    storage: rt.heap(),
    dtype: 'float32',
    shape: [...x.shape],
    strides: placed.strides,
    offset: placed.base / 4 + placed.offset,
  };
}
