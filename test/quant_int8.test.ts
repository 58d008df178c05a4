import { describe, expect, it } from 'vitest';
import { F, quant, tensor } from '../src/index.js';
import { expectBitEqual, expectAllClose } from './helpers/close.js';
import {
  requantize,
  shiftStochastic,
  bitLength,
  IntRandom,
  maxAbs,
  maxAbsReference,
} from '../src/quant/int_arith.js';
import { matmulNTWasm } from '../src/quant/wasm_int8_gemm.js';
import { crossEntropyErrorInt } from '../src/quant/int_cross_entropy.js';
import { applyUpdate, applyUpdateReference } from '../src/quant/int_update.js';
import { applyUpdateWasm, maxAbsWasm } from '../src/quant/wasm_int_arith.js';

function randomInt8(n: number, rng: IntRandom, nonNegative = false): Int8Array {
  return Int8Array.from({ length: n }, () =>
    nonNegative ? rng.nextInt(128) : rng.nextInt(255) - 127,
  );
}

/** Integer values as float64 (exact: every sum here stays far below 2^53). */
const f64 = (x: ArrayLike<number>, shape: number[], requiresGrad = false) =>
  tensor(Array.from(x), { shape, dtype: 'float64', requiresGrad });

describe('int8 matmul kernels', () => {
  it('give the reference integers on every path (relaxed, plain SIMD), any shape, 1 or N threads', () => {
    const rng = new IntRandom(1);
    try {
      for (const kind of ['relaxed', 'simd'] as const) {
        quant.setInt8Kernel(kind);
        for (const [m, n, k] of [
          [1, 1, 1],
          [3, 5, 17],
          [7, 9, 64],
          [130, 66, 200], // several tasks: the thread pool when there are threads
          [38, 302, 600], // two blocks of B's rows (128 KB each), the second one partial
        ]) {
          for (const nonNegative of [true, false]) {
            const a = randomInt8(m * k, rng, nonNegative);
            const b = randomInt8(n * k, rng);
            const got = matmulNTWasm(a, b, m, n, k);
            expect(got, 'a WebAssembly kernel exists in Node').not.toBeNull();
            expectBitEqual(
              got!,
              quant.matmulNTReference(a, b, m, n, k),
              `${kind} ${m}x${n}x${k} nonNegative=${nonNegative}`,
            );
          }
        }
      }
      // Extremes: ±127 everywhere (two products must not overflow the i16 step).
      const a = new Int8Array(64).fill(127);
      const b = new Int8Array(64).fill(-127);
      quant.setInt8Kernel(null);
      expect(Array.from(quant.matmulNT(a, b, 2, 2, 32))).toEqual(Array(4).fill(-127 * 127 * 32));
    } finally {
      quant.setInt8Kernel(null);
    }
  });
});

describe('integer arithmetic', () => {
  it('requantizes int32 to int8 by the smallest shift that fits, rounding to nearest', () => {
    const q = requantize({ data: Int32Array.from([1000, -1000, 3, 0]), shape: [4], exp: -10 });
    // 1000 has 10 bits: shift 3; 1000 / 8 = 125, 3 / 8 = 0.375 → 0
    expect(Array.from(q.data)).toEqual([125, -125, 0, 0]);
    expect(q.exp).toBe(-7);
    expect(bitLength(1000)).toBe(10);
    const small = requantize({ data: Int32Array.from([5, -7]), shape: [2], exp: 2 });
    expect(Array.from(small.data)).toEqual([5, -7]);
    expect(small.exp).toBe(2);
  });

  it('rounds stochastically without bias', () => {
    const rng = new IntRandom(3);
    const src = new Int32Array(20000).fill(5); // 5 / 4 = 1.25
    const out = shiftStochastic(src, 2, rng);
    const mean = out.reduce((s, v) => s + v, 0) / out.length;
    expect(new Set(out)).toEqual(new Set([1, 2]));
    expect(Math.abs(mean - 1.25)).toBeLessThan(0.02);
    const neg = shiftStochastic(new Int32Array(20000).fill(-5), 2, rng);
    expect(Math.abs(neg.reduce((s, v) => s + v, 0) / neg.length + 1.25)).toBeLessThan(0.02);
  });

  it('finds the largest magnitude in WebAssembly as the reference does', () => {
    const rng = new IntRandom(4);
    const data = Int32Array.from({ length: 5000 }, () => (rng.nextUint32() | 0) >> 3);
    expect(maxAbsWasm(data)).toBe(maxAbsReference(data));
    data[4321] = -(2 ** 31);
    expect(maxAbsWasm(data)).toBe(2 ** 31);
    expect(maxAbs(data)).toBe(maxAbsReference(data));
  });

  it("updates weights in WebAssembly with the reference's integers and random stream", () => {
    const rng = new IntRandom(9);
    for (const [n, shift] of [
      [1, 1],
      [2001, 0],
      [1003, 3],
      [70_001, 12],
      [5000, 30],
    ]) {
      const w = randomInt8(n, rng);
      // Gradients of shift + 8 bits (all 32 for the largest shift): steps of up to ±256, so
      // some weights clamp and most do not, with both signs.
      const bits = Math.min(31, shift + 8);
      const g = Int32Array.from({ length: n }, () => (rng.nextUint32() | 0) >> (31 - bits));
      const want = w.slice();
      const got = w.slice();
      const r1 = new IntRandom(shift);
      const r2 = new IntRandom(shift);
      applyUpdateReference(want, g, shift, r1);
      expect(applyUpdateWasm(got, g, shift, r2), 'a WebAssembly kernel exists in Node').toBe(true);
      expectBitEqual(got, want, `n ${n}, shift ${shift}`);
      expect(r2.getState()).toBe(r1.getState());
      if (n > 1000) expect(new Set(want).size).toBeGreaterThan(100); // not all clamped
    }
    expect(() => applyUpdate(new Int8Array(2), new Int32Array(3), 1, rng)).toThrow(
      /2 weights but 3 gradient values/,
    );
  });

  it('computes the cross-entropy error close to 128·(softmax − onehot)', () => {
    const rng = new IntRandom(5);
    const logits = { data: randomInt8(40, rng), shape: [4, 10], exp: -5 };
    const labels = Int32Array.from([0, 3, 9, 4]);
    const { error, correct } = crossEntropyErrorInt(logits, labels);
    const probs = F.softmax(f64(logits.data, [4, 10]).mul(2 ** -5), 1)
      .mul(128)
      .dataSync();
    const want = Array.from(probs, (p, i) => p - (labels[Math.floor(i / 10)] === i % 10 ? 128 : 0));
    expectAllClose(error.data, want, { atol: 1.5, rtol: 0 });
    expect(error.exp).toBe(-7);
    expect(correct).toBeGreaterThanOrEqual(0);
  });
});

describe('integer layers', () => {
  it('IntLinear: forward, weight gradient and input error are the exact integer products', () => {
    const rng = new IntRandom(7);
    const layer = new quant.IntLinear(5, 3, rng);
    const x = { data: randomInt8(4 * 5, rng, true), shape: [4, 5], exp: -7 };
    const y = layer.forward(x, true);
    const w = f64(layer.params.weight, [3, 5], true);
    const xf = f64(x.data, [4, 5], true);
    const out = xf.matmul(w.t());
    // forward: the int32 product (zero bias) rescaled by y's shift
    const shift = y.exp - (x.exp + layer.params.wExp);
    const expected = Array.from(out.dataSync(), (v) =>
      Math.floor((v + 2 ** (shift - 1)) / 2 ** shift),
    );
    expectBitEqual(y.data, shift > 0 ? expected : Array.from(out.dataSync()));
    const e = { data: randomInt8(4 * 3, rng), shape: [4, 3], exp: -7 };
    const dx = layer.backward(e, true)!;
    out.backward(f64(e.data, [4, 3]));
    expectBitEqual(layer.params.gradW!, w.grad!.dataSync());
    const dxShift = dx.exp - (e.exp + layer.params.wExp);
    expectBitEqual(
      dx.data,
      Array.from(xf.grad!.dataSync(), (v) =>
        dxShift > 0 ? Math.floor((v + 2 ** (dxShift - 1)) / 2 ** dxShift) : v,
      ),
    );
  });

  it('IntConv2d: weight gradient and input error match float64 conv2d on the same integers', () => {
    const rng = new IntRandom(9);
    const conv = new quant.IntConv2d(2, 3, 3, rng, 1);
    const x = { data: randomInt8(2 * 2 * 5 * 5, rng, true), shape: [2, 2, 5, 5], exp: -7 };
    const y = conv.forward(x, true);
    expect(y.shape).toEqual([2, 3, 5, 5]);
    const w = f64(conv.params.weight, [3, 2, 3, 3], true);
    const xf = f64(x.data, [2, 2, 5, 5], true);
    const out = F.conv2d(xf, w, null, { padding: 1 });
    const shift = y.exp - (x.exp + conv.params.wExp);
    expectBitEqual(
      y.data,
      Array.from(out.dataSync(), (v) =>
        shift > 0 ? Math.floor((v + 2 ** (shift - 1)) / 2 ** shift) : v,
      ),
    );
    const e = { data: randomInt8(2 * 3 * 25, rng), shape: [2, 3, 5, 5], exp: -7 };
    const dx = conv.backward(e, true)!;
    out.backward(f64(e.data, [2, 3, 5, 5]));
    expectBitEqual(conv.params.gradW!, w.grad!.dataSync());
    const s = dx.exp - (e.exp + conv.params.wExp);
    expectBitEqual(
      dx.data,
      Array.from(xf.grad!.dataSync(), (v) => (s > 0 ? Math.floor((v + 2 ** (s - 1)) / 2 ** s) : v)),
    );
  });

  it('an int8 network learns a small problem with integer steps only', () => {
    const rng = new IntRandom(11);
    const net = new quant.IntSequential([
      new quant.IntLinear(8, 16, rng),
      new quant.IntReLU(),
      new quant.IntLinear(16, 2, rng),
    ]);
    // Class 1 when feature 0 exceeds feature 1.
    const n = 256;
    const x = { data: randomInt8(n * 8, rng, true), shape: [n, 8], exp: -7 };
    const labels = Int32Array.from({ length: n }, (_, i) =>
      x.data[i * 8] > x.data[i * 8 + 1] ? 1 : 0,
    );
    const before = net.predict(x).filter((p, i) => p === labels[i]).length;
    for (let epoch = 0; epoch < 30; epoch++)
      for (let b = 0; b < n; b += 32) {
        const idx = Int32Array.from({ length: 32 }, (_, i) => b + i);
        net.trainStep(quant.gatherRows(x, idx), labels.subarray(b, b + 32), 3, rng);
      }
    const after = net.predict(x).filter((p, i) => p === labels[i]).length;
    expect(after / n).toBeGreaterThan(0.8); // chance is about 0.5
    expect(after).toBeGreaterThan(before);
  });
});
