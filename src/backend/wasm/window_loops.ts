/**
 * Fast sliding-window kernels for convolution and pooling: unfold2d (im2col), fold2d (col2im)
 * and max pooling with argmax indices, as tight loops over the typed arrays. The reference
 * kernels in cpu_backend.ts visit every column element through a closure; these walk each
 * output row once, with the range of in-image positions computed up front (so the inner loop has
 * no bounds test) and a unit-stride copy where the window steps one pixel at a time.
 *
 * Results are bit-identical to the reference: unfold2d and max pooling only copy and compare,
 * and fold2d adds the columns into each image element in the reference's order (channel,
 * kernel row, kernel column, output row, output column), rounding to the storage dtype after
 * each addition as the reference does. test/conv_fast.test.ts compares both.
 */
import type { Conv2dGeometry, View } from '../backend.js';
import type { TypedArray } from '../../tensor/dtype.js';
import { convOutputSize } from '../../tensor/shape.js';
import { allocateStorage } from '../cpu/storage.js';

/** A window `g` sliding over images [N, C, H, W] of `shape`: their sizes and its parameters. */
function windowGeometry(shape: readonly number[], g: Conv2dGeometry) {
  const [n, c, h, w] = shape;
  const { outH, outW } = convOutputSize(h, w, g);
  const [kh, kw] = g.kernel;
  const [sy, sx] = g.stride;
  const [py, px] = g.padding;
  const [dy, dx] = g.dilation;
  return { n, c, h, w, kh, kw, sy, sx, py, px, dy, dx, outH, outW };
}

/**
 * For a kernel tap at offset `start` (= tap·dilation − padding) stepping by `stride` over `out`
 * output positions: the first and one-past-last output positions whose input index lies in [0, size).
 */
export function validRange(
  start: number,
  stride: number,
  out: number,
  size: number,
): [number, number] {
  const lo = start >= 0 ? 0 : Math.ceil(-start / stride);
  const hi = start > size - 1 ? 0 : Math.floor((size - 1 - start) / stride) + 1;
  const a = Math.min(lo, out);
  return [a, Math.max(a, Math.min(hi, out))];
}

/** x [N, C, H, W] (any strides) to contiguous columns [N, C·kh·kw, outH·outW]; padding reads padValue. */
export function unfold2dFast(x: View, g: Conv2dGeometry, padValue: number): TypedArray {
  const { n, c, h, w, kh, kw, sy, sx, py, px, dy, dx, outH, outW } = windowGeometry(x.shape, g);
  const src = x.storage as TypedArray;
  const [sn, sc, sh, sw] = x.strides;
  const out = allocateStorage(x.dtype, n * c * kh * kw * outH * outW);
  const L = outH * outW;
  let o = 0;
  for (let b = 0; b < n; b++) {
    for (let ch = 0; ch < c; ch++) {
      const plane = x.offset + b * sn + ch * sc;
      for (let ki = 0; ki < kh; ki++) {
        const [y0, y1] = validRange(ki * dy - py, sy, outH, h);
        for (let kj = 0; kj < kw; kj++) {
          const xStart = kj * dx - px;
          const [x0, x1] = validRange(xStart, sx, outW, w);
          // The array is zero-filled: only a non-zero pad value needs writing where windows overhang.
          if (padValue !== 0 && (y0 > 0 || y1 < outH || x0 > 0 || x1 < outW))
            out.fill(padValue, o, o + L);
          for (let oy = y0; oy < y1; oy++) {
            const row = plane + (oy * sy + ki * dy - py) * sh + xStart * sw;
            let p = o + oy * outW + x0;
            const step = sx * sw;
            let q = row + x0 * step;
            if (step === 1) {
              for (let ox = x0; ox < x1; ox++) out[p++] = src[q++];
            } else {
              for (let ox = x0; ox < x1; ox++, q += step) out[p++] = src[q];
            }
          }
          o += L;
        }
      }
    }
  }
  return out;
}

/** The adjoint of unfold2d: columns [N, C·kh·kw, L] (any strides) summed into images [N, C, H, W]. */
export function fold2dFast(
  columns: View,
  outputShape: readonly [number, number, number, number],
  g: Conv2dGeometry,
): TypedArray {
  const { n, c, h, w, kh, kw, sy, sx, py, px, dy, dx, outH, outW } = windowGeometry(outputShape, g);
  const cols = columns.storage as TypedArray;
  const [cn, cr, cl] = columns.strides;
  const out = allocateStorage(columns.dtype, n * c * h * w);
  for (let b = 0; b < n; b++) {
    for (let ch = 0; ch < c; ch++) {
      const plane = (b * c + ch) * h * w;
      for (let ki = 0; ki < kh; ki++) {
        const [y0, y1] = validRange(ki * dy - py, sy, outH, h);
        for (let kj = 0; kj < kw; kj++) {
          const xStart = kj * dx - px;
          const [x0, x1] = validRange(xStart, sx, outW, w);
          const colRow = columns.offset + b * cn + ((ch * kh + ki) * kw + kj) * cr;
          for (let oy = y0; oy < y1; oy++) {
            let p = plane + (oy * sy + ki * dy - py) * w + xStart + x0 * sx;
            let q = colRow + (oy * outW + x0) * cl;
            if (sx === 1 && cl === 1) {
              for (let ox = x0; ox < x1; ox++) out[p++] += cols[q++];
            } else {
              for (let ox = x0; ox < x1; ox++, p += sx, q += cl) out[p] += cols[q];
            }
          }
        }
      }
    }
  }
  return out;
}

/**
 * Max pooling of x [N, C, H, W] (any strides) over windows of `g`, with `outSize` windows per dim
 * (ceil mode may make the last hang over the end: the overhang counts as padding). For each
 * window: the max and the index y·W + x of the first maximum in its plane, as PyTorch's
 * max_pool2d_with_indices (ties go to the first maximum; a NaN is taken over anything, the last
 * NaN of a window winning, so the window's value is NaN). A window
 * with no element inside the image gets −Infinity and index −1.
 */
export function maxPool2dFast(
  x: View,
  g: Conv2dGeometry,
  outSize: readonly [number, number],
): { values: TypedArray; indices: Int32Array } {
  const [n, c, h, w] = x.shape;
  const [kh, kw] = g.kernel;
  const [sy, sx] = g.stride;
  const [py, px] = g.padding;
  const [dy, dx] = g.dilation;
  const [outH, outW] = outSize;
  const src = x.storage as TypedArray;
  const [sn, sc, sh, sw] = x.strides;
  const values = allocateStorage(x.dtype, n * c * outH * outW);
  const indices = new Int32Array(n * c * outH * outW);
  // The common 2×2, stride-2, unpadded window over a contiguous image: unrolled.
  if (
    kh === 2 &&
    kw === 2 &&
    sy === 2 &&
    sx === 2 &&
    py === 0 &&
    px === 0 &&
    dy === 1 &&
    dx === 1 &&
    sw === 1 &&
    2 * outH <= h &&
    2 * outW <= w
  ) {
    let o = 0;
    for (let b = 0; b < n; b++) {
      for (let ch = 0; ch < c; ch++) {
        const plane = x.offset + b * sn + ch * sc;
        for (let oy = 0; oy < outH; oy++) {
          const y = 2 * oy;
          let r0 = plane + y * sh;
          let r1 = r0 + sh;
          let i0 = y * w;
          for (let ox = 0; ox < outW; ox++, o++, r0 += 2, r1 += 2, i0 += 2) {
            let best = src[r0];
            let at = i0;
            let v = src[r0 + 1];
            if (v > best || v !== v) {
              best = v;
              at = i0 + 1;
            }
            v = src[r1];
            if (v > best || v !== v) {
              best = v;
              at = i0 + w;
            }
            v = src[r1 + 1];
            if (v > best || v !== v) {
              best = v;
              at = i0 + w + 1;
            }
            values[o] = best;
            indices[o] = at;
          }
        }
      }
    }
    return { values, indices };
  }
  let o = 0;
  for (let b = 0; b < n; b++) {
    for (let ch = 0; ch < c; ch++) {
      const plane = x.offset + b * sn + ch * sc;
      for (let oy = 0; oy < outH; oy++) {
        for (let ox = 0; ox < outW; ox++, o++) {
          let best = -Infinity;
          let at = -1;
          for (let ki = 0; ki < kh; ki++) {
            const y = oy * sy - py + ki * dy;
            if (y < 0 || y >= h) continue;
            for (let kj = 0; kj < kw; kj++) {
              const xx = ox * sx - px + kj * dx;
              if (xx < 0 || xx >= w) continue;
              const v = src[plane + y * sh + xx * sw];
              // As PyTorch: start from the first element inside the image, take a later one if larger or NaN.
              if (at < 0 || v > best || v !== v) {
                best = v;
                at = y * w + xx;
              }
            }
          }
          values[o] = best;
          indices[o] = at;
        }
      }
    }
  }
  return { values, indices };
}

/**
 * x [N, C, H, W] (any strides) to columns [C·kh·kw, N·outH·outW]: row (c, ki, kj), column
 * (n, oy, ox) holds x[n, c, oy·sy + ki·dy − py, ox·sx + kj·dx − px], 0 in the padding.
 */
export function im2colChannelMajor(x: View, g: Conv2dGeometry, into?: Float32Array): Float32Array {
  const { n, c, h, w, kh, kw, sy, sx, py, px, dy, dx, outH, outW } = windowGeometry(x.shape, g);
  const L = outH * outW;
  const NL = n * L;
  const src = x.storage as Float32Array;
  const [sn, sc, sh, sw] = x.strides;
  const size = c * kh * kw * NL;
  // A caller's array (e.g. the gemm's memory) may hold anything: the padding must be zeroed.
  const out = into ? into.subarray(0, size) : new Float32Array(size);
  // (Without padding every window lies inside the image and every entry is written.)
  if (into && (py !== 0 || px !== 0)) out.fill(0);
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
export function col2imChannelMajor(
  cols: Float32Array,
  shape: readonly [number, number, number, number],
  g: Conv2dGeometry,
): Float32Array {
  const { n, c, h, w, kh, kw, sy, sx, py, px, dy, dx, outH, outW } = windowGeometry(shape, g);
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
