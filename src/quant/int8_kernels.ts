/**
 * Reference integer kernels in plain TypeScript: the int8 product with int32 accumulation, and
 * the layout passes around it (transposes, im2col, col2im). The WebAssembly kernels
 * (`wasm_int8_gemm.ts`) must give the same integers; integer sums are exact, so they do, bit for bit.
 */
import { windowOutputSize } from '../tensor/shape.js';

/**
 * C[i, j] = Σₖ A[i, k] · B[j, k] for A [m, k] and B [n, k] int8, row-major (both K-contiguous:
 * "NT"), into int32 C [m, n].
 */
export function matmulNTReference(
  a: Int8Array,
  b: Int8Array,
  m: number,
  n: number,
  k: number,
  out = new Int32Array(m * n),
): Int32Array {
  for (let i = 0; i < m; i++) {
    const ai = i * k;
    for (let j = 0; j < n; j++) {
      const bj = j * k;
      let s = 0;
      for (let t = 0; t < k; t++) s += a[ai + t] * b[bj + t];
      out[i * n + j] = s;
    }
  }
  return out;
}

/** The transpose of a row-major [rows, cols] int8 matrix. */
export function transposeInt8(src: Int8Array, rows: number, cols: number): Int8Array {
  const out = new Int8Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    const r = i * cols;
    for (let j = 0; j < cols; j++) out[j * rows + i] = src[r + j];
  }
  return out;
}

/** Geometry of a square-kernel, stride-1 convolution. */
export interface IntConvGeometry {
  n: number;
  c: number;
  h: number;
  w: number;
  k: number;
  pad: number;
}

export function convOutSize(g: IntConvGeometry): { oh: number; ow: number } {
  return {
    oh: windowOutputSize(g.h, g.k, 1, g.pad, 1),
    ow: windowOutputSize(g.w, g.k, 1, g.pad, 1),
  };
}

/**
 * im2col for int8 images [N, C, H, W]: one row per output position (n, y, x), K-contiguous over
 * (channel, ky, kx), so that the convolution is the NT product cols · Wᵀ.
 */
export function im2colInt8(x: Int8Array, g: IntConvGeometry): Int8Array {
  const { n, c, h, w, k, pad } = g;
  const { oh, ow } = convOutSize(g);
  const kk = c * k * k;
  const out = new Int8Array(n * oh * ow * kk);
  let row = 0;
  for (let b = 0; b < n; b++) {
    for (let y = 0; y < oh; y++) {
      for (let xo = 0; xo < ow; xo++, row++) {
        let col = row * kk;
        for (let ch = 0; ch < c; ch++) {
          const plane = (b * c + ch) * h * w;
          for (let ky = 0; ky < k; ky++) {
            const iy = y + ky - pad;
            for (let kx = 0; kx < k; kx++, col++) {
              const ix = xo + kx - pad;
              out[col] = iy >= 0 && iy < h && ix >= 0 && ix < w ? x[plane + iy * w + ix] : 0;
            }
          }
        }
      }
    }
  }
  return out;
}

/** col2im: sums the rows of int32 columns [N·OH·OW, C·k·k] back into images [N, C, H, W]. */
export function col2imInt32(cols: Int32Array, g: IntConvGeometry): Int32Array {
  const { n, c, h, w, k, pad } = g;
  const { oh, ow } = convOutSize(g);
  const out = new Int32Array(n * c * h * w);
  let row = 0;
  for (let b = 0; b < n; b++) {
    for (let y = 0; y < oh; y++) {
      for (let xo = 0; xo < ow; xo++, row++) {
        let col = row * c * k * k;
        for (let ch = 0; ch < c; ch++) {
          const plane = (b * c + ch) * h * w;
          for (let ky = 0; ky < k; ky++) {
            const iy = y + ky - pad;
            for (let kx = 0; kx < k; kx++, col++) {
              const ix = xo + kx - pad;
              if (iy >= 0 && iy < h && ix >= 0 && ix < w) out[plane + iy * w + ix] += cols[col];
            }
          }
        }
      }
    }
  }
  return out;
}
