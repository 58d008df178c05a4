/**
 * Integer-only layers (NITI, Wang et al. 2020): int8 weights, activations and errors with
 * per-tensor power-of-two scales, int32 accumulation, and a weight update that is the int32
 * gradient shifted down to a few bits with stochastic rounding. Each layer keeps what its
 * backward needs from its forward; `backward` takes the int8 error of the output, computes the
 * int32 gradients of the parameters and returns the int8 error of the input.
 */
import {
  alignExponent,
  bitLength,
  maxAbs,
  QMAX,
  requantize,
  type IntRandom,
  type QTensor,
} from './int_arith.js';
import {
  col2imInt32,
  convOutSize,
  im2colInt8,
  transposeInt8,
  type IntConvGeometry,
} from './int8_kernels.js';
import { matmulNT } from './int8_gemm.js';
import { applyUpdate } from './int_update.js';

export interface IntLayer {
  /** The layer's name in messages. */
  readonly name: string;
  forward(x: QTensor, training: boolean): QTensor;
  /** The error of the input (null when `needInputError` is false: the first layer). */
  backward(error: QTensor, needInputError: boolean): QTensor | null;
  /** Applies the last backward's gradient: at most about 2^(updateBits−1) units per weight. */
  update?(updateBits: number, rng: IntRandom): void;
}

function size(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/**
 * Kaiming-uniform int8 weights: uniform integers in [−127, 127] at the power-of-two scale nearest
 * to √(6 / fanIn) / 127. The scale's exponent is picked with Math.log2 once, at construction
 * (not in the training loop).
 */
function initWeights(
  count: number,
  fanIn: number,
  rng: IntRandom,
): { data: Int8Array; exp: number } {
  const exp = Math.round(Math.log2(Math.sqrt(6 / fanIn) / QMAX));
  const data = new Int8Array(count);
  for (let i = 0; i < count; i++) data[i] = rng.nextInt(2 * QMAX + 1) - QMAX;
  return { data, exp };
}

/**
 * The parameters of a linear or convolutional layer: weight [out, fanIn] and bias [out], int8,
 * and their last int32 gradients with the exponents those carry.
 */
class IntParams {
  readonly weight: Int8Array;
  readonly wExp: number;
  readonly bias: Int8Array;
  gradW: Int32Array | null = null;
  gradB: Int32Array | null = null;
  /** Exponents of the gradients: of the error, and of the input that multiplied it. */
  errorExp = 0;
  inputExp = 0;

  constructor(
    readonly out: number,
    readonly fanIn: number,
    rng: IntRandom,
  ) {
    const w = initWeights(out * fanIn, fanIn, rng);
    this.weight = w.data;
    this.wExp = w.exp;
    // The bias shares the weight's scale; it starts at zero.
    this.bias = new Int8Array(out);
  }

  /** acc [rows, out] += bias, aligned to the accumulator's exponent. */
  addBias(acc: Int32Array, rows: number, accExp: number): void {
    for (let j = 0; j < this.out; j++) {
      const b = alignExponent(this.bias[j], this.wExp, accExp);
      if (b === 0) continue;
      for (let i = 0; i < rows; i++) acc[i * this.out + j] += b;
    }
  }

  /**
   * NITI's update: the weight gradient is shifted so that its largest magnitude keeps `bits` bits
   * (so `bits` plays the learning rate's part), with stochastic rounding; the bias gradient gets
   * the same effective step size (the shift adjusted for the exponents).
   */
  update(bits: number, rng: IntRandom): void {
    if (!this.gradW || !this.gradB) return;
    const shift = bitLength(maxAbs(this.gradW)) - bits;
    applyUpdate(this.weight, this.gradW, Math.max(0, shift), rng);
    // Δb·2^wExp = lr·gb·2^errorExp with lr = 2^(wExp − shift − errorExp − inputExp).
    const biasShift = Math.max(0, shift) + this.inputExp;
    if (biasShift >= 0) applyUpdate(this.bias, this.gradB, biasShift, rng);
    else
      applyUpdate(
        this.bias,
        this.gradB.map((g) => g << -biasShift),
        0,
        rng,
      );
    this.gradW = null;
    this.gradB = null;
  }
}

/** y = x·Wᵀ + b for x [N, in]. */
export class IntLinear implements IntLayer {
  readonly name: string;
  readonly params: IntParams;
  private input: QTensor | null = null;

  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    rng: IntRandom,
  ) {
    this.name = `IntLinear(${inFeatures}, ${outFeatures})`;
    this.params = new IntParams(outFeatures, inFeatures, rng);
  }

  forward(x: QTensor, training: boolean): QTensor {
    const n = x.shape[0];
    if (size(x.shape) !== n * this.inFeatures)
      throw new Error(
        `${this.name}: expected input [N, ${this.inFeatures}], got [${x.shape.join(', ')}]`,
      );
    if (training) this.input = x;
    const p = this.params;
    const acc = matmulNT(x.data, p.weight, n, this.outFeatures, this.inFeatures);
    const exp = x.exp + p.wExp;
    p.addBias(acc, n, exp);
    return requantize({ data: acc, shape: [n, this.outFeatures], exp });
  }

  backward(error: QTensor, needInputError: boolean): QTensor | null {
    const x = this.input;
    if (!x) throw new Error(`${this.name}: backward before a training forward`);
    const n = x.shape[0];
    const p = this.params;
    const out = this.outFeatures;
    // dW [out, in] = Eᵀ X, as the NT product of Eᵀ [out, N] and Xᵀ [in, N].
    p.gradW = matmulNT(
      transposeInt8(error.data, n, out),
      transposeInt8(x.data, n, this.inFeatures),
      out,
      this.inFeatures,
      n,
    );
    const gb = new Int32Array(out);
    for (let i = 0; i < n; i++) for (let j = 0; j < out; j++) gb[j] += error.data[i * out + j];
    p.gradB = gb;
    p.errorExp = error.exp;
    p.inputExp = x.exp;
    this.input = null;
    if (!needInputError) return null;
    // dX [N, in] = E W, as the NT product of E [N, out] and Wᵀ [in, out].
    const dx = matmulNT(
      error.data,
      transposeInt8(p.weight, out, this.inFeatures),
      n,
      this.inFeatures,
      out,
    );
    return requantize({ data: dx, shape: [...x.shape], exp: error.exp + p.wExp });
  }

  update(bits: number, rng: IntRandom): void {
    this.params.update(bits, rng);
  }
}

/** A k×k, stride-1 convolution of x [N, C, H, W] with zero padding `pad`. */
export class IntConv2d implements IntLayer {
  readonly name: string;
  readonly params: IntParams;
  private saved: {
    cols: Int8Array;
    geometry: IntConvGeometry;
    exp: number;
    shape: number[];
  } | null = null;

  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    readonly kernelSize: number,
    rng: IntRandom,
    readonly padding = 0,
  ) {
    this.name = `IntConv2d(${inChannels}, ${outChannels}, ${kernelSize})`;
    this.params = new IntParams(outChannels, inChannels * kernelSize * kernelSize, rng);
  }

  forward(x: QTensor, training: boolean): QTensor {
    if (x.shape.length !== 4 || x.shape[1] !== this.inChannels)
      throw new Error(
        `${this.name}: expected input [N, ${this.inChannels}, H, W], got [${x.shape.join(', ')}]`,
      );
    const [n, c, h, w] = x.shape;
    const geometry = { n, c, h, w, k: this.kernelSize, pad: this.padding };
    const { oh, ow } = convOutSize(geometry);
    const cols = im2colInt8(x.data, geometry);
    const rows = n * oh * ow;
    const o = this.outChannels;
    const p = this.params;
    const acc = matmulNT(cols, p.weight, rows, o, p.fanIn);
    const exp = x.exp + p.wExp;
    p.addBias(acc, rows, exp);
    const q = requantize({ data: acc, shape: [rows, o], exp });
    // [N, L, O] → [N, O, L]
    const l = oh * ow;
    const out = new Int8Array(rows * o);
    for (let b = 0; b < n; b++) {
      const src = q.data.subarray(b * l * o, (b + 1) * l * o);
      out.set(transposeInt8(src, l, o), b * l * o);
    }
    if (training) this.saved = { cols, geometry, exp: x.exp, shape: [...x.shape] };
    return { data: out, shape: [n, o, oh, ow], exp: q.exp };
  }

  backward(error: QTensor, needInputError: boolean): QTensor | null {
    const saved = this.saved;
    if (!saved) throw new Error(`${this.name}: backward before a training forward`);
    const { cols, geometry } = saved;
    const [n, o, oh, ow] = error.shape;
    const l = oh * ow;
    const rows = n * l;
    const p = this.params;
    // E as [O, N·L] (channel-major) and as [N·L, O] (row per output position).
    const eByChannel = new Int8Array(rows * o);
    for (let b = 0; b < n; b++)
      for (let ch = 0; ch < o; ch++)
        eByChannel.set(
          error.data.subarray((b * o + ch) * l, (b * o + ch + 1) * l),
          ch * rows + b * l,
        );
    p.gradW = matmulNT(eByChannel, transposeInt8(cols, rows, p.fanIn), o, p.fanIn, rows);
    const gb = new Int32Array(o);
    for (let ch = 0; ch < o; ch++) {
      let s = 0;
      for (let i = ch * rows; i < (ch + 1) * rows; i++) s += eByChannel[i];
      gb[ch] = s;
    }
    p.gradB = gb;
    p.errorExp = error.exp;
    p.inputExp = saved.exp;
    this.saved = null;
    if (!needInputError) return null;
    const eRows = transposeInt8(eByChannel, o, rows);
    const dcols = matmulNT(eRows, transposeInt8(p.weight, o, p.fanIn), rows, p.fanIn, o);
    const dx = col2imInt32(dcols, geometry);
    return requantize({ data: dx, shape: saved.shape, exp: error.exp + p.wExp });
  }

  update(bits: number, rng: IntRandom): void {
    this.params.update(bits, rng);
  }
}

/** max(0, x); its backward passes the error where x > 0. */
export class IntReLU implements IntLayer {
  readonly name = 'IntReLU';
  private mask: Uint8Array | null = null;

  forward(x: QTensor, training: boolean): QTensor {
    const out = new Int8Array(x.data.length);
    const mask = training ? new Uint8Array(x.data.length) : null;
    for (let i = 0; i < out.length; i++) {
      const v = x.data[i];
      if (v > 0) {
        out[i] = v;
        if (mask) mask[i] = 1;
      }
    }
    this.mask = mask;
    return { data: out, shape: x.shape, exp: x.exp };
  }

  backward(error: QTensor): QTensor {
    const mask = this.mask;
    if (!mask) throw new Error(`${this.name}: backward before a training forward`);
    const out = new Int8Array(error.data.length);
    for (let i = 0; i < out.length; i++) if (mask[i]) out[i] = error.data[i];
    this.mask = null;
    return { data: out, shape: error.shape, exp: error.exp };
  }
}

/** 2×2 max pooling with stride 2 over [N, C, H, W] (odd edges dropped, as PyTorch's floor mode). */
export class IntMaxPool2d implements IntLayer {
  readonly name = 'IntMaxPool2d(2)';
  private saved: { argmax: Int32Array; shape: number[] } | null = null;

  forward(x: QTensor, training: boolean): QTensor {
    const [n, c, h, w] = x.shape;
    const oh = h >> 1;
    const ow = w >> 1;
    const out = new Int8Array(n * c * oh * ow);
    const argmax = new Int32Array(out.length);
    let o = 0;
    for (let plane = 0; plane < n * c; plane++) {
      const base = plane * h * w;
      for (let y = 0; y < oh; y++) {
        for (let xo = 0; xo < ow; xo++, o++) {
          const first = base + 2 * y * w + 2 * xo;
          // The first maximum in row-major window order, as the float max pooling picks it.
          let best = first;
          if (x.data[first + 1] > x.data[best]) best = first + 1;
          if (x.data[first + w] > x.data[best]) best = first + w;
          if (x.data[first + w + 1] > x.data[best]) best = first + w + 1;
          out[o] = x.data[best];
          argmax[o] = best;
        }
      }
    }
    if (training) this.saved = { argmax, shape: [...x.shape] };
    return { data: out, shape: [n, c, oh, ow], exp: x.exp };
  }

  backward(error: QTensor): QTensor {
    const saved = this.saved;
    if (!saved) throw new Error(`${this.name}: backward before a training forward`);
    const out = new Int8Array(size(saved.shape));
    for (let i = 0; i < saved.argmax.length; i++) out[saved.argmax[i]] = error.data[i];
    this.saved = null;
    return { data: out, shape: saved.shape, exp: error.exp };
  }
}

/** [N, …] → [N, rest]. */
export class IntFlatten implements IntLayer {
  readonly name = 'IntFlatten';
  private shape: number[] | null = null;

  forward(x: QTensor): QTensor {
    this.shape = [...x.shape];
    return { data: x.data, shape: [x.shape[0], size(x.shape.slice(1))], exp: x.exp };
  }

  backward(error: QTensor): QTensor {
    return { data: error.data, shape: this.shape ?? error.shape, exp: error.exp };
  }
}
