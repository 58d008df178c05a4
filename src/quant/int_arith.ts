/**
 * The integer arithmetic of NITI-style training (Wang et al. 2020, "NITI: Training Integer Neural
 * Networks Using Integer-only Arithmetic"): int8 tensors with one power-of-two scale each
 * (value = q · 2^exp), int32 accumulators, and the rescaling of an int32 result back to int8 by a
 * shift, rounded to nearest or stochastically. Everything here is integer arithmetic on typed
 * arrays; no float is computed.
 */
import { maxAbsWasm } from './wasm_int_arith.js';

/** An int8 tensor with a per-tensor power-of-two scale: element i is data[i] · 2^exp. */
export interface QTensor {
  data: Int8Array;
  shape: number[];
  exp: number;
}

/** An int32 tensor (an accumulator) with its power-of-two scale. */
export interface QAccumulator {
  data: Int32Array;
  shape: number[];
  exp: number;
}

/** int8 values are kept in [−127, 127]: symmetric, and two products fit an int16 (SIMD dot products). */
export const QMAX = 127;

/** The number of bits of |x| (0 for 0): the position of the highest set bit, plus one. */
export function bitLength(x: number): number {
  return 32 - Math.clz32(x < 0 ? -x : x);
}

/** The largest |x| over an int32 array. */
export function maxAbs(data: Int32Array | Int8Array): number {
  if (data instanceof Int32Array) {
    const fast = maxAbsWasm(data);
    if (fast !== null) return fast;
  }
  return maxAbsReference(data);
}

/** maxAbs in TypeScript: the reference of the WebAssembly loop. */
export function maxAbsReference(data: Int32Array | Int8Array): number {
  let m = 0;
  for (let i = 0; i < data.length; i++) {
    const v = data[i] < 0 ? -data[i] : data[i];
    if (v > m) m = v;
  }
  return m;
}

/**
 * An integer random stream (xorshift32) for stochastic rounding: integer state, integer output,
 * seeded, so integer training is reproducible.
 */
export class IntRandom {
  private state: number;
  constructor(seed: number) {
    this.state = (seed ^ 0x9e3779b9) | 0 || 1;
  }
  /** The stream's state, for kernels that draw the same numbers elsewhere (setState puts it back). */
  getState(): number {
    return this.state;
  }
  setState(state: number): void {
    if (!Number.isInteger(state) || (state | 0) === 0)
      throw new RangeError(`IntRandom.setState: expected a non-zero 32-bit integer, got ${state}`);
    this.state = state | 0;
  }
  /** A uniform 32-bit unsigned integer. */
  nextUint32(): number {
    let x = this.state;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.state = x;
    return x >>> 0;
  }
  /** A uniform integer in [0, 2^bits), bits ≤ 30. */
  nextBits(bits: number): number {
    return this.nextUint32() >>> (32 - bits);
  }
  /** An integer in [0, n) (modulo bias below n / 2^32, negligible for shuffles and inits). */
  nextInt(n: number): number {
    return this.nextUint32() % n;
  }
}

/**
 * Rescales an int32 accumulator to int8: shifted right just enough that its largest magnitude fits
 * in 7 bits, rounding to nearest (ties up); the exponent grows by the shift. Values already in
 * range are kept as they are (no shift left: precision is not invented).
 */
export function requantize(acc: QAccumulator): QTensor {
  const src = acc.data;
  const shift = Math.max(0, bitLength(maxAbs(src)) - 7);
  const out = new Int8Array(src.length);
  if (shift === 0) {
    for (let i = 0; i < src.length; i++) out[i] = src[i];
  } else {
    const half = 1 << (shift - 1);
    for (let i = 0; i < src.length; i++) {
      const v = (src[i] + half) >> shift;
      out[i] = v > QMAX ? QMAX : v < -QMAX ? -QMAX : v;
    }
  }
  return { data: out, shape: acc.shape, exp: acc.exp + shift };
}

/**
 * Shifts an int32 array right by `shift` with stochastic rounding (NITI's weight update): the
 * dropped bits r give a round-up with probability r / 2^shift, so the result is unbiased.
 */
export function shiftStochastic(src: Int32Array, shift: number, rng: IntRandom): Int32Array {
  const out = new Int32Array(src.length);
  if (shift <= 0) {
    out.set(src);
    return out;
  }
  if (shift > 30) return out; // every value is far below one unit; its expectation rounds away
  const mask = (1 << shift) - 1;
  for (let i = 0; i < src.length; i++) {
    const v = src[i];
    const floor = v >> shift; // toward −∞
    const rest = v & mask; // in [0, 2^shift)
    out[i] = floor + (rng.nextBits(shift) < rest ? 1 : 0);
  }
  return out;
}

/** x · 2^(from − to) for an int32 x, exact when shifting left, rounded to nearest when right. */
export function alignExponent(x: number, from: number, to: number): number {
  const d = from - to;
  if (d >= 0) return x << d;
  const s = -d;
  if (s > 30) return 0;
  return (x + (1 << (s - 1))) >> s;
}
