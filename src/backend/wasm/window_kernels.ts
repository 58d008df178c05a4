/**
 * The sliding-window tasks of the kernel module (window_module.ts) run from TypeScript: im2col
 * and col2im between images and conv2d's channel-major columns, and max pooling, split over
 * channels, images or planes on the thread pool. Same loops and float32 sums as the TypeScript
 * kernels in window_loops.ts, bit for bit.
 */
import type { Conv2dGeometry, View } from '../backend.js';
import { allocateStorage } from '../cpu/storage.js';
import { convOutputSize, isContiguous, shapeSize } from '../../tensor/shape.js';
import { ARENA_MIN_ELEMENTS } from './arena.js';
import { CTL, KIND_COL2IM, KIND_IM2COL, KIND_MAXPOOL, setControls } from './control_block.js';
import { type GemmRuntime, kernelRuntime } from './kernel_runtime.js';
import { validRange } from './window_loops.js';

/** im2col / col2im with at least this many column elements use the worker threads. */
const PARALLEL_COLUMNS = 1 << 16;

/**
 * The control words every sliding-window task (im2col, col2im, max pool) reads: `planes` images
 * of h×w at `image`, the output at `output`, the window geometry, `nb` images or planes per task.
 */
function setWindowControls(
  ctl: Int32Array,
  at: { image: number; output: number },
  size: { planes: number; h: number; w: number; outH: number; outW: number; nb: number },
  g: Conv2dGeometry,
): void {
  setControls(ctl, {
    IC_IMAGE: at.image,
    IC_COLS: at.output,
    IC_N: size.planes,
    IC_H: size.h,
    IC_W: size.w,
    IC_KH: g.kernel[0],
    IC_KW: g.kernel[1],
    IC_SY: g.stride[0],
    IC_SX: g.stride[1],
    IC_PY: g.padding[0],
    IC_PX: g.padding[1],
    IC_DY: g.dilation[0],
    IC_DX: g.dilation[1],
    IC_OUTH: size.outH,
    IC_OUTW: size.outW,
    IC_NB: size.nb,
  });
}

/** Copies x [N, C, H, W] (any strides) contiguously into `heap` from element `base` on. */
function copyImageIn(x: View, heap: Float32Array, base: number): void {
  const [n, c, h, w] = x.shape;
  const src = x.storage as Float32Array;
  if (isContiguous(x.shape, x.strides)) {
    heap.set(src.subarray(x.offset, x.offset + n * c * h * w), base);
    return;
  }
  const [sn, sc, sh, sw] = x.strides;
  let p = base;
  for (let b = 0; b < n; b++)
    for (let ch = 0; ch < c; ch++)
      for (let y = 0; y < h; y++) {
        let q = x.offset + b * sn + ch * sc + y * sh;
        for (let xx = 0; xx < w; xx++, q += sw) heap[p++] = src[q];
      }
}

/**
 * The byte address of image x [N, C, H, W] contiguous in the kernels' memory: where it is, for
 * contiguous arena storage, else a copy in a temporary block from `take`; 0 when memory
 * runs out.
 */
function imageInMemory(rt: GemmRuntime, x: View, take: (bytes: number) => number): number {
  const s = x.storage as Float32Array;
  if (rt.arena.contains(s) && isContiguous(x.shape, x.strides)) return s.byteOffset + x.offset * 4;
  const ptr = take(shapeSize(x.shape) * 4);
  if (ptr === 0) return 0;
  copyImageIn(x, rt.heap(), ptr >> 2);
  return ptr;
}

/**
 * Runs an im2col or col2im job (`kind`) on the WebAssembly kernels between the columns at
 * `colsPtr` and the image at `imagePtr` (contiguous [N, C, H, W] of `shape`); false when memory
 * for the valid-ranges table runs out.
 */
function runColumnsJob(
  rt: GemmRuntime,
  parallel: boolean,
  kind: number,
  shape: readonly number[],
  g: Conv2dGeometry,
  at: { cols: number; image: number },
): boolean {
  const [n, c, h, w] = shape;
  const [kh, kw] = g.kernel;
  const { outH, outW } = convOutputSize(h, w, g);
  return rt.arena.withTemporaries((take) => {
    const rangesPtr = take((kh + kw) * 8);
    if (rangesPtr === 0) return false;
    const ranges = new Int32Array(rt.memory.buffer, rangesPtr, 2 * (kh + kw));
    for (let ki = 0; ki < kh; ki++)
      ranges.set(validRange(ki * g.dilation[0] - g.padding[0], g.stride[0], outH, h), 2 * ki);
    for (let kj = 0; kj < kw; kj++)
      ranges.set(
        validRange(kj * g.dilation[1] - g.padding[1], g.stride[1], outW, w),
        2 * (kh + kj),
      );
    // Tasks: each channel, its images in chunks, enough for every thread to take several. col2im
    // splits the images at least once per thread, so that threads claiming tasks in order sum
    // into different images: neighbouring channels' planes share cache lines at their ends, and
    // with one chunk the 2-thread col2im of conv2's input gradient took as long as one thread
    // (1.50 ms; 0.84 ms with two chunks).
    const threads = parallel ? rt.threads() : 1;
    const least = kind === KIND_COL2IM ? threads : 1;
    const chunks = threads > 1 ? Math.min(n, Math.max(least, Math.ceil((8 * threads) / c))) : 1;
    const nb = Math.ceil(n / chunks);
    setWindowControls(
      rt.ctl,
      { image: at.image, output: at.cols },
      { planes: n, h, w, outH, outW, nb },
      g,
    );
    setControls(rt.ctl, {
      IC_C: c,
      IC_RANGES: rangesPtr,
      IC_ZERO: g.padding[0] !== 0 || g.padding[1] !== 0 ? 1 : 0,
    });
    rt.ctl[CTL.KIND] = kind;
    rt.run(c * Math.ceil(n / nb), parallel);
    return true;
  });
}

/** The kernels' runtime for a columns job of `shape` (threaded when the columns are large). */
function columnsRuntime(shape: readonly number[], g: Conv2dGeometry) {
  const [n, c, h, w] = shape;
  const { outH, outW } = convOutputSize(h, w, g);
  return kernelRuntime(c * g.kernel[0] * g.kernel[1] * n * outH * outW >= PARALLEL_COLUMNS);
}

/**
 * im2colChannelMajor on the WebAssembly kernels (threaded): the columns written at byte address
 * `colsPtr` of the kernels' memory. False when the kernels cannot take it.
 */
export function im2colInMemory(x: View, g: Conv2dGeometry, colsPtr: number): boolean {
  if (x.shape.some((d) => d === 0)) return false;
  const k = columnsRuntime(x.shape, g);
  if (!k) return false;
  const { rt, parallel } = k;
  return rt.arena.withTemporaries((take) => {
    const image = imageInMemory(rt, x, take);
    return (
      image !== 0 && runColumnsJob(rt, parallel, KIND_IM2COL, x.shape, g, { cols: colsPtr, image })
    );
  });
}

/**
 * col2imChannelMajor on the WebAssembly kernels (threaded) of the columns at byte address
 * `colsPtr`, the image summed into a fresh array (arena storage where there is room); null when
 * the kernels cannot take it.
 */
export function col2imInMemory(
  shape: readonly [number, number, number, number],
  g: Conv2dGeometry,
  colsPtr: number,
): Float32Array | null {
  if (shape.some((d) => d === 0)) return null;
  const k = columnsRuntime(shape, g);
  if (!k) return null;
  const { rt, parallel } = k;
  const size = shapeSize(shape);
  // The kernel zeroes every plane before it sums into it.
  const out = allocateStorage('float32', size, false) as Float32Array;
  return rt.arena.withTemporaries((take) => {
    const image = rt.arena.contains(out) ? out.byteOffset : take(size * 4);
    if (image === 0) return null;
    if (!runColumnsJob(rt, parallel, KIND_COL2IM, shape, g, { cols: colsPtr, image })) return null;
    if (!rt.arena.contains(out)) out.set(rt.view(image, size));
    return out;
  });
}

/** Max pools whose input has at least this many elements run on the WebAssembly kernels. */
const MAXPOOL_MIN_INPUT = 1 << 14;

/**
 * Max pooling of float32 x [N, C, H, W] (any strides) on the WebAssembly kernels, threaded over
 * planes when `parallel` (default: large inputs): the same values and first-maximum indices as
 * window_loops.ts's maxPool2dFast (the NaN rules included), without its mispredicted branches.
 * Null when the kernels decline (not float32, small, or no memory): the caller runs the JS kernel.
 */
export function maxPool2dF32(
  x: View,
  g: Conv2dGeometry,
  outSize: readonly [number, number],
  options: { force?: boolean; parallel?: boolean } = {},
): { values: Float32Array; indices: Int32Array } | null {
  if (x.dtype !== 'float32') return null;
  const [n, c, h, w] = x.shape;
  const [outH, outW] = outSize;
  const planes = n * c;
  const inSize = planes * h * w;
  const outCount = planes * outH * outW;
  if (outCount === 0 || (!options.force && inSize < MAXPOOL_MIN_INPUT)) return null;
  const k = kernelRuntime(options.parallel ?? inSize >= PARALLEL_COLUMNS);
  if (!k) return null;
  const { rt, parallel } = k;
  const values = allocateStorage('float32', outCount, false) as Float32Array;
  return rt.arena.withTemporaries((take) => {
    const inPtr = imageInMemory(rt, x, take);
    const inArena = rt.arena.contains(values);
    const valPtr = inArena ? values.byteOffset : take(outCount * 4);
    if (inPtr === 0 || valPtr === 0) return null;
    // The indices are int32 storage in the arena too (the backward's scatter reads them there).
    const kept = outCount >= ARENA_MIN_ELEMENTS ? rt.arena.int32(outCount, false) : null;
    const idxPtr = kept ? kept.byteOffset : take(outCount * 4);
    if (idxPtr === 0) return null;
    // Chunks of planes, enough for every thread to take several.
    const threads = parallel ? rt.threads() : 1;
    const nb = threads > 1 ? Math.ceil(planes / (8 * threads)) : planes;
    const ctl = rt.ctl;
    setWindowControls(ctl, { image: inPtr, output: valPtr }, { planes, h, w, outH, outW, nb }, g);
    ctl[CTL.MP_INDICES] = idxPtr;
    const [kh, kw] = g.kernel;
    ctl[CTL.MP_2X2] =
      kh === 2 &&
      kw === 2 &&
      g.stride[0] === 2 &&
      g.stride[1] === 2 &&
      g.padding[0] === 0 &&
      g.padding[1] === 0 &&
      g.dilation[0] === 1 &&
      g.dilation[1] === 1 &&
      2 * outH <= h &&
      2 * outW <= w
        ? 1
        : 0;
    ctl[CTL.KIND] = KIND_MAXPOOL;
    rt.run(Math.ceil(planes / nb), parallel);
    const mem = rt.memory.buffer;
    if (!inArena) values.set(new Float32Array(mem, valPtr, outCount));
    return { values, indices: kept ?? new Int32Array(mem, idxPtr, outCount).slice() };
  });
}
