/**
 * conv2d (groups = 1, float32) as one large matmul per layer over the whole batch, instead of
 * one small matmul per image followed by a sum over the batch for the weight gradient.
 *
 * The columns are laid out channel-major, [C·kh·kw, N·L] (L = outH·outW windows per image), so:
 * - forward: W [O, C·kh·kw] × cols → [O, N·L], then one pass that reorders to [N, O, L] and adds
 *   the bias;
 * - weight gradient: cols × gᵀ → [C·kh·kw, O] (g read transposed from [O, N·L]), transposed
 *   into [O, C·kh·kw] (small);
 * - input gradient: Wᵀ × g [O, N·L] → columns [C·kh·kw, N·L], summed back into the image (col2im).
 * g is reordered once into [O, N·L], and the bias gradient (its sum over N and L) is taken in the
 * same pass.
 *
 * The matmuls go through gemmF32With (threaded, SIMD), and the passes after them (reorder, weight
 * transpose, col2im) read the product where the kernels wrote it, with no copy out; columns not
 * kept from the forward are written by im2col straight into the kernels' memory. The reorders and
 * the bias sums run on the elementwise WebAssembly kernels for arena storage (plain loops
 * otherwise). Results match the composed unfold2d + matmul path up to float32 rounding (the sums run in another
 * order); test/conv_fast.test.ts compares them on random geometries.
 */
import type { Conv2dGeometry, View } from '../backend.js';
import { cpuBackend } from '../cpu/cpu_backend.js';
import { allocateStorage } from '../cpu/storage.js';
import { convOutputSize, isContiguous } from '../../tensor/shape.js';
import { gemmF32With } from './gemm.js';
import { type GemmOperand, materialize } from './gemm_operands.js';
import { type GemmRuntime, kernelRuntime } from './kernel_runtime.js';
import { elementwiseRuntime, sumEachRowWasm, swapOuterWasm } from './elementwise.js';
import { col2imChannelMajor, im2colChannelMajor } from './window_loops.js';
import { col2imInMemory, im2colInMemory } from './window_kernels.js';

/** A writer of the columns [C·kh·kw, N·L] of x: im2col on the kernels, or in JavaScript into dst. */
function columnsWriter(x: View, g: Conv2dGeometry, rows: number, NL: number): GemmOperand {
  return {
    shape: [1, rows, NL],
    write: (dst, ptr) => {
      if (ptr === undefined || !im2colInMemory(x, g, ptr)) im2colChannelMajor(x, g, dst);
    },
  };
}

/**
 * Reusable scratch arrays for the backward's temporaries (fresh large arrays cost page faults on
 * first touch). Kernels run one at a time and never keep these past the call;
 * they are dropped when a smaller request comes after a much larger one.
 */
const scratchArrays: (Float32Array | null)[] = [null, null];

function scratch(slot: number, size: number): Float32Array {
  const have = scratchArrays[slot];
  if (have && have.length >= size && have.length <= 4 * size + 65536) return have.subarray(0, size);
  const fresh = new Float32Array(size);
  scratchArrays[slot] = fresh;
  return fresh;
}

/**
 * A float32 [B, M, K] × [B, K, N] product on the gemm kernels, C handed to `consume` (a view of
 * the kernels' memory, valid during the call: no copy out), or on the reference kernel when they
 * decline.
 */
function matmulWith<T>(
  a: GemmOperand,
  b: GemmOperand,
  consume: (c: Float32Array, ptr?: number) => T,
): T {
  const r = gemmF32With(a, b, consume);
  if (r !== null) return r;
  return consume(cpuBackend.matmul(materialize(a), materialize(b), 'float32') as Float32Array);
}

function matrix(
  data: Float32Array,
  rows: number,
  cols: number,
  transposed = false,
  offset = 0,
): View {
  return transposed
    ? { storage: data, dtype: 'float32', shape: [1, rows, cols], strides: [0, 1, rows], offset }
    : { storage: data, dtype: 'float32', shape: [1, rows, cols], strides: [0, cols, 1], offset };
}

/** The weight [O, C, kh, kw] as a contiguous array and its offset. */
function weightData(w: View): { data: Float32Array; offset: number } {
  if (isContiguous(w.shape, w.strides))
    return { data: w.storage as Float32Array, offset: w.offset };
  return { data: cpuBackend.copy(w, 'float32') as Float32Array, offset: 0 };
}

/** Whether the fast path takes this convolution: float32 operands and at least one window. */
export function conv2dFastSupported(x: View, w: View, bias: View | null): boolean {
  return (
    x.dtype === 'float32' && w.dtype === 'float32' && (bias === null || bias.dtype === 'float32')
  );
}

export interface Conv2dForwardResult {
  /** [N, O, outH, outW], contiguous. */
  output: Float32Array;
  /**
   * The columns [C·kh·kw, N·L] (the weight gradient reads them again), or null where the
   * WebAssembly kernels cannot keep them in arena storage (the weight gradient writes them again).
   */
  columns: Float32Array | null;
}

/** conv2d (groups = 1) of float32 x [N, C, H, W] with w [O, C, kh, kw] and an optional bias [O]. */
export function conv2dForwardF32(
  x: View,
  w: View,
  bias: View | null,
  g: Conv2dGeometry,
): Conv2dForwardResult {
  const [n, , h, wd] = x.shape;
  const [o, c, kh, kw] = w.shape;
  const { outH, outW } = convOutputSize(h, wd, g);
  const L = outH * outW;
  const NL = n * L;
  const ckk = c * kh * kw;
  // The columns are kept for the weight gradient. In arena storage im2col writes them on the
  // kernels' threads and the gemms read them in place; elsewhere they are written by im2col
  // straight into the kernels' memory and not kept (the weight gradient writes them again:
  // cheaper than copying them out and in).
  const columns = keptColumns(x, g, ckk * NL);
  const wt = weightData(w);
  // y [O, N·L], read in the kernels' memory and reordered [O, N, L] → [N, O, L], adding the bias.
  const output = allocateStorage('float32', n * o * L, false) as Float32Array;
  const bs = bias ? (bias.storage as Float32Array) : null;
  matmulWith(
    matrix(wt.data, o, ckk, false, wt.offset),
    columns ? matrix(columns, ckk, NL) : columnsWriter(x, g, ckk, NL),
    (y, ptr) => {
      if (ptr === undefined || !reorderOutInMemory(ptr, output, bias, o, n, L))
        reorderOut(y, output, bs, bias, o, n, L);
    },
  );
  return { output, columns };
}

/** im2col of x into arena storage, or into an ordinary array without WebAssembly; null otherwise. */
function keptColumns(x: View, g: Conv2dGeometry, size: number): Float32Array | null {
  const k = kernelRuntime(false);
  if (!k) return im2colChannelMajor(x, g);
  const out = allocateStorage('float32', size, false) as Float32Array;
  return k.rt.arena.contains(out) && im2colInMemory(x, g, out.byteOffset) ? out : null;
}

/**
 * reorderOut on the WebAssembly kernels: y [O, N, L] at byte address `yPtr` into arena storage
 * `output` [N, O, L], plus the bias. False when they cannot take it.
 */
function reorderOutInMemory(
  yPtr: number,
  output: Float32Array,
  bias: View | null,
  o: number,
  n: number,
  L: number,
): boolean {
  const rt = elementwiseRuntime();
  if (!rt || !rt.arena.contains(output)) return false;
  return rt.arena.withTemporaries((take) => {
    let biasPtr = 0;
    if (bias) {
      biasPtr = take(o * 4);
      if (biasPtr === 0) return false;
      const heap = rt.heap();
      const bs = bias.storage as Float32Array;
      for (let oc = 0; oc < o; oc++)
        heap[(biasPtr >> 2) + oc] = bs[bias.offset + oc * bias.strides[0]];
    }
    return swapOuterWasm(yPtr, output.byteOffset, biasPtr, o, n, L);
  });
}

/** y [O, N, L] → output [N, O, L] plus the bias. */
function reorderOut(
  y: Float32Array,
  output: Float32Array,
  bs: Float32Array | null,
  bias: View | null,
  o: number,
  n: number,
  L: number,
): void {
  const NL = n * L;
  for (let oc = 0; oc < o; oc++) {
    const add = bs ? bs[bias!.offset + oc * bias!.strides[0]] : 0;
    let q = oc * NL;
    for (let b = 0; b < n; b++) {
      let p = (b * o + oc) * L;
      const end = p + L;
      if (bs) {
        for (; p < end; p++, q++) output[p] = y[q] + add;
      } else {
        output.set(y.subarray(q, q + L), p);
        q += L;
      }
    }
  }
}

export interface Conv2dBackwardResult {
  input: Float32Array | null;
  weight: Float32Array | null;
  bias: Float32Array | null;
}

/**
 * The gradients of conv2d (groups = 1) for the output gradient g [N, O, outH, outW] (any
 * strides): input [N, C, H, W], weight [O, C, kh, kw] and bias [O], each only if asked for.
 * `columns` are the forward's im2col of x (recomputed when null).
 */
export function conv2dBackwardF32(
  x: View,
  w: View,
  grad: View,
  g: Conv2dGeometry,
  columns: Float32Array | null,
  needs: readonly [boolean, boolean, boolean],
): Conv2dBackwardResult {
  const [n] = x.shape;
  const [o] = w.shape;
  const [, , outH, outW] = grad.shape;
  const L = outH * outW;
  // g as [O, N·L], the layout both gradient products read; the bias gradient on the way.
  const wantRows = needs[0] || needs[1];
  const rt = elementwiseRuntime();
  if (rt) {
    const done = rt.arena.withTemporaries((take) => {
      const inMemory = gradRowsInMemory(rt, take, grad, wantRows, needs[2], o, n, L);
      return inMemory && gradientProducts(x, w, g, inMemory.gOL, inMemory.bias, columns, needs);
    });
    if (done) return done;
  }
  const gOL = wantRows ? scratch(0, o * n * L) : null;
  const bias = gradRows(grad, gOL, needs[2], o, n, L);
  return gradientProducts(x, w, g, gOL, bias, columns, needs);
}

/**
 * The reorder of a contiguous g [N, O, L] in arena storage into [O, N·L] (a temporary block from
 * `take`) and the bias gradient, on the WebAssembly kernels; null when they cannot take it.
 */
function gradRowsInMemory(
  rt: GemmRuntime,
  take: (bytes: number) => number,
  grad: View,
  wantRows: boolean,
  wantBias: boolean,
  o: number,
  n: number,
  L: number,
): { gOL: Float32Array | null; bias: Float32Array | null } | null {
  const src = grad.storage as Float32Array;
  if (!rt.arena.contains(src) || !isContiguous(grad.shape, grad.strides)) return null;
  const size = o * n * L;
  const ptr = take(size * 4);
  if (ptr === 0) return null;
  swapOuterWasm(src.byteOffset + grad.offset * 4, ptr, 0, n, o, L);
  let bias: Float32Array | null = null;
  if (wantBias) {
    const sums = take(o * 4);
    if (sums !== 0) {
      sumEachRowWasm(ptr, sums, o, n * L);
      bias = rt.view(sums, o).slice();
    } else {
      bias = gradRows(grad, null, true, o, n, L);
    }
  }
  return { gOL: wantRows ? new Float32Array(rt.arena.buffer(), ptr, size) : null, bias };
}

/**
 * g [N, O, L] (any strides) reordered into gOL [O, N·L] (when given) in TypeScript, and the bias
 * gradient (its sums over N and L) when `wantBias`.
 */
function gradRows(
  grad: View,
  gOL: Float32Array | null,
  wantBias: boolean,
  o: number,
  n: number,
  L: number,
): Float32Array | null {
  const [, , outH, outW] = grad.shape;
  const NL = n * L;
  const src = grad.storage as Float32Array;
  const [gn, go, gh, gw] = grad.strides;
  const biasGrad = wantBias ? new Float32Array(o) : null;
  const sums = new Float64Array(o);
  const rows = go === L && gh === outW && gw === 1;
  for (let b = 0; b < n; b++) {
    for (let oc = 0; oc < o; oc++) {
      const plane = grad.offset + b * gn + oc * go;
      let p = oc * NL + b * L;
      if (rows && gOL && !biasGrad) {
        gOL.set(src.subarray(plane, plane + L), p);
        continue;
      }
      let sum = 0;
      for (let oy = 0; oy < outH; oy++) {
        let q = plane + oy * gh;
        for (let ox = 0; ox < outW; ox++, p++, q += gw) {
          const v = src[q];
          sum += v;
          if (gOL) gOL[p] = v;
        }
      }
      sums[oc] += sum;
    }
  }
  if (biasGrad) biasGrad.set(sums);
  return biasGrad;
}

/** The weight and input gradients from g as [O, N·L] (gOL), with the bias gradient passed through. */
function gradientProducts(
  x: View,
  w: View,
  g: Conv2dGeometry,
  gOL: Float32Array | null,
  bias: Float32Array | null,
  columns: Float32Array | null,
  needs: readonly [boolean, boolean, boolean],
): Conv2dBackwardResult {
  const [n, , h, wd] = x.shape;
  const [o, c, kh, kw] = w.shape;
  const { outH, outW } = convOutputSize(h, wd, g);
  const NL = n * outH * outW;
  const ckk = c * kh * kw;
  let weight: Float32Array | null = null;
  if (needs[1]) {
    // cols [C·kh·kw, N·L] × gᵀ (the [O, N·L] array read transposed) → [C·kh·kw, O], then transposed.
    // Columns not kept from the forward are written straight into the kernels' memory.
    const cols: GemmOperand = columns ? matrix(columns, ckk, NL) : columnsWriter(x, g, ckk, NL);
    const wg = allocateStorage('float32', o * ckk, false) as Float32Array;
    matmulWith(cols, matrix(gOL!, NL, o, true), (t) => {
      for (let r = 0; r < ckk; r++) for (let oc = 0; oc < o; oc++) wg[oc * ckk + r] = t[r * o + oc];
    });
    weight = wg;
  }
  let input: Float32Array | null = null;
  if (needs[0]) {
    const wt = weightData(w);
    // The column gradient [C·kh·kw, N·L] is summed into the image from the kernels' memory.
    input = matmulWith(
      matrix(wt.data, ckk, o, true, wt.offset),
      matrix(gOL!, o, NL),
      (dcols, ptr) =>
        (ptr !== undefined && col2imInMemory([n, c, h, wd], g, ptr)) ||
        col2imChannelMajor(dcols, [n, c, h, wd], g),
    );
  }
  return { input, weight, bias };
}
