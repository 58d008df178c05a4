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
 * The matmuls go through gemmF32 (threaded, SIMD); the layout passes are plain loops. Results
 * match the composed unfold2d + matmul path up to float32 rounding (the sums run in another
 * order); test/conv_fast.test.ts compares them on random geometries.
 */
import type { Conv2dGeometry, View } from '../backend.js';
import { cpuBackend } from '../cpu/cpu_backend.js';
import { isContiguous } from '../../tensor/shape.js';
import { gemmF32 } from './gemm.js';

function outputSize(h: number, w: number, g: Conv2dGeometry): [number, number] {
  const outH = Math.floor((h + 2 * g.padding[0] - g.dilation[0] * (g.kernel[0] - 1) - 1) / g.stride[0]) + 1;
  const outW = Math.floor((w + 2 * g.padding[1] - g.dilation[1] * (g.kernel[1] - 1) - 1) / g.stride[1]) + 1;
  return [outH, outW];
}

/** First and one-past-last output positions whose input index (start + o·stride) lies in [0, size). */
function validRange(start: number, stride: number, out: number, size: number): [number, number] {
  const lo = start >= 0 ? 0 : Math.ceil(-start / stride);
  const hi = start > size - 1 ? 0 : Math.floor((size - 1 - start) / stride) + 1;
  const a = Math.min(lo, out);
  return [a, Math.max(a, Math.min(hi, out))];
}

/**
 * x [N, C, H, W] (any strides) to columns [C·kh·kw, N·outH·outW]: row (c, ki, kj), column
 * (n, oy, ox) holds x[n, c, oy·sy + ki·dy − py, ox·sx + kj·dx − px], 0 in the padding.
 */
export function im2colChannelMajor(x: View, g: Conv2dGeometry): Float32Array {
  const [n, c, h, w] = x.shape;
  const [kh, kw] = g.kernel;
  const [sy, sx] = g.stride;
  const [py, px] = g.padding;
  const [dy, dx] = g.dilation;
  const [outH, outW] = outputSize(h, w, g);
  const L = outH * outW;
  const NL = n * L;
  const src = x.storage as Float32Array;
  const [sn, sc, sh, sw] = x.strides;
  const out = new Float32Array(c * kh * kw * NL);
  const step = sx * sw;
  for (let ch = 0; ch < c; ch++) {
    for (let ki = 0; ki < kh; ki++) {
      const [y0, y1] = validRange(ki * dy - py, sy, outH, h);
      for (let kj = 0; kj < kw; kj++) {
        const xStart = kj * dx - px;
        const [x0, x1] = validRange(xStart, sx, outW, w);
        const rowBase = ((ch * kh + ki) * kw + kj) * NL;
        for (let b = 0; b < n; b++) {
          const plane = x.offset + b * sn + ch * sc;
          const base = rowBase + b * L;
          for (let oy = y0; oy < y1; oy++) {
            let q = plane + (oy * sy + ki * dy - py) * sh + (xStart + x0 * sx) * sw;
            let p = base + oy * outW + x0;
            const end = p + (x1 - x0);
            if (step === 1) {
              for (; p < end; p++, q++) out[p] = src[q];
            } else {
              for (; p < end; p++, q += step) out[p] = src[q];
            }
          }
        }
      }
    }
  }
  return out;
}

/** The adjoint of im2colChannelMajor: columns [C·kh·kw, N·L] summed into images [N, C, H, W]. */
export function col2imChannelMajor(cols: Float32Array, shape: readonly [number, number, number, number], g: Conv2dGeometry): Float32Array {
  const [n, c, h, w] = shape;
  const [kh, kw] = g.kernel;
  const [sy, sx] = g.stride;
  const [py, px] = g.padding;
  const [dy, dx] = g.dilation;
  const [outH, outW] = outputSize(h, w, g);
  const L = outH * outW;
  const NL = n * L;
  const out = new Float32Array(n * c * h * w);
  for (let ch = 0; ch < c; ch++) {
    for (let ki = 0; ki < kh; ki++) {
      const [y0, y1] = validRange(ki * dy - py, sy, outH, h);
      for (let kj = 0; kj < kw; kj++) {
        const xStart = kj * dx - px;
        const [x0, x1] = validRange(xStart, sx, outW, w);
        const rowBase = ((ch * kh + ki) * kw + kj) * NL;
        for (let b = 0; b < n; b++) {
          const plane = (b * c + ch) * h * w;
          const base = rowBase + b * L;
          for (let oy = y0; oy < y1; oy++) {
            let p = plane + (oy * sy + ki * dy - py) * w + xStart + x0 * sx;
            let q = base + oy * outW + x0;
            const end = q + (x1 - x0);
            if (sx === 1) {
              for (; q < end; q++, p++) out[p] += cols[q];
            } else {
              for (; q < end; q++, p += sx) out[p] += cols[q];
            }
          }
        }
      }
    }
  }
  return out;
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

/** A float32 [B, M, K] × [B, K, N] product on the gemm kernels, or the reference kernel when they decline. */
function matmul(a: View, b: View): Float32Array {
  return gemmF32(a, b) ?? (cpuBackend.matmul(a, b, 'float32') as Float32Array);
}

function matrix(data: Float32Array, rows: number, cols: number, transposed = false, offset = 0): View {
  return transposed
    ? { storage: data, dtype: 'float32', shape: [1, rows, cols], strides: [0, 1, rows], offset }
    : { storage: data, dtype: 'float32', shape: [1, rows, cols], strides: [0, cols, 1], offset };
}

/** The weight [O, C, kh, kw] as a contiguous array and its offset. */
function weightData(w: View): { data: Float32Array; offset: number } {
  if (isContiguous(w.shape, w.strides)) return { data: w.storage as Float32Array, offset: w.offset };
  return { data: cpuBackend.copy(w, 'float32') as Float32Array, offset: 0 };
}

/** Whether the fast path takes this convolution: float32 operands and at least one window. */
export function conv2dFastSupported(x: View, w: View, bias: View | null): boolean {
  return x.dtype === 'float32' && w.dtype === 'float32' && (bias === null || bias.dtype === 'float32');
}

export interface Conv2dForwardResult {
  /** [N, O, outH, outW], contiguous. */
  output: Float32Array;
  /** The columns [C·kh·kw, N·L] (the weight gradient reads them again). */
  columns: Float32Array;
}

/** conv2d (groups = 1) of float32 x [N, C, H, W] with w [O, C, kh, kw] and an optional bias [O]. */
export function conv2dForwardF32(x: View, w: View, bias: View | null, g: Conv2dGeometry): Conv2dForwardResult {
  const [n, , h, wd] = x.shape;
  const [o, c, kh, kw] = w.shape;
  const [outH, outW] = outputSize(h, wd, g);
  const L = outH * outW;
  const NL = n * L;
  const ckk = c * kh * kw;
  const columns = im2colChannelMajor(x, g);
  const wt = weightData(w);
  const y = matmul(matrix(wt.data, o, ckk, false, wt.offset), matrix(columns, ckk, NL)); // [O, N·L]
  // Reorder [O, N, L] → [N, O, L], adding the bias.
  const output = new Float32Array(n * o * L);
  const bs = bias ? (bias.storage as Float32Array) : null;
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
  return { output, columns };
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
  const [n, , h, wd] = x.shape;
  const [o, c, kh, kw] = w.shape;
  const [, , outH, outW] = grad.shape;
  const L = outH * outW;
  const NL = n * L;
  const ckk = c * kh * kw;
  const src = grad.storage as Float32Array;
  const [gn, go, gh, gw] = grad.strides;
  // g as [O, N·L], the layout both gradient products read; the bias gradient on the way.
  const gOL = needs[0] || needs[1] ? scratch(0, o * NL) : null;
  const biasGrad = needs[2] ? new Float32Array(o) : null;
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
  let weight: Float32Array | null = null;
  if (needs[1]) {
    // cols [C·kh·kw, N·L] × gᵀ (the [O, N·L] array read transposed) → [C·kh·kw, O], then transposed.
    const cols = columns ?? im2colChannelMajor(x, g);
    const t = matmul(matrix(cols, ckk, NL), matrix(gOL!, NL, o, true));
    weight = new Float32Array(o * ckk);
    for (let r = 0; r < ckk; r++) for (let oc = 0; oc < o; oc++) weight[oc * ckk + r] = t[r * o + oc];
  }
  let input: Float32Array | null = null;
  if (needs[0]) {
    const wt = weightData(w);
    const dcols = matmul(matrix(wt.data, ckk, o, true, wt.offset), matrix(gOL!, o, NL)); // [C·kh·kw, N·L]
    input = col2imChannelMajor(dcols, [n, c, h, wd], g);
  }
  return { input, weight, bias: biasGrad };
}
