/**
 * The elementwise WebAssembly kernels (src/backend/wasm/elementwise.ts) bit for bit against the
 * reference backend: relu and its backward, add/sub/mul/div on equal shapes and with a broadcast
 * row, the sum over leading dims, and max pooling's scatter-add, on data with NaN, ±Infinity,
 * ±0 and denormals, at sizes with and without a SIMD tail. Each case also checks that the
 * kernel really ran (it returns null when it declines).
 */
import { describe, expect, it } from 'vitest';
import type { View } from '../src/backend/backend.js';
import { cpuBackend } from '../src/backend/cpu/cpu_backend.js';
import { plainSgdOptions } from './helpers/values.js';
import { scatterLastDimFast } from '../src/backend/cpu/indexing_kernels.js';
import { ARENA_MIN_ELEMENTS } from '../src/backend/wasm/arena.js';
import { contiguousStrides } from '../src/tensor/shape.js';
import {
  adamWasm,
  binaryWasm,
  reluBackwardWasm,
  reluWasm,
  scatterAddWasm,
  sgdWasm,
  sumLeadingWasm,
  sumEachRowWasm,
  swapOuterWasm,
} from '../src/backend/wasm/elementwise.js';
import { kernelRuntime } from '../src/backend/wasm/gemm.js';

const SPECIAL = [NaN, Infinity, -Infinity, 0, -0, 1e-40, -1e-40, 3.4e38, -3.4e38];

/** Arena storage (of any size) holding `size` deterministic floats, specials sprinkled in. */
function arenaData(size: number, seed: number, specials = true): Float32Array {
  const out = kernelRuntime(false)?.rt.arena.float32(size, false) ?? null;
  expect(out, 'arena storage').not.toBeNull();
  let s = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out![i] = ((s >>> 0) / 2 ** 32) * 8 - 4;
    if (specials && i % 37 === 5) out![i] = SPECIAL[((i / 37) % SPECIAL.length) | 0];
  }
  return out!;
}

function contiguous(storage: Float32Array | Int32Array, shape: number[], offset = 0): View {
  const dtype = storage instanceof Int32Array ? 'int32' : 'float32';
  return { storage, dtype, shape, strides: contiguousStrides(shape), offset };
}

/**
 * The same bits element by element, except that any NaN matches any NaN: NaN payloads and signs
 * are not part of the contract (WebAssembly on x86 makes negative NaNs where V8's JavaScript
 * makes positive ones) and JavaScript cannot tell them apart.
 */
function expectSameBits(got: Float32Array | null, storage: unknown, label: string): void {
  expect(got, `${label}: the kernel ran`).not.toBeNull();
  const want = storage as Float32Array;
  const w = new Float32Array(want.buffer, want.byteOffset, got!.length);
  const gotBits = new Uint32Array(got!.buffer, got!.byteOffset, got!.length);
  const wantBits = new Uint32Array(w.buffer, w.byteOffset, w.length);
  expect(want.byteLength, `${label}: length`).toBe(got!.byteLength);
  for (let i = 0; i < got!.length; i++) {
    if (Number.isNaN(w[i]) && Number.isNaN(got![i])) continue;
    if (gotBits[i] !== wantBits[i]) expect(got![i], `${label}[${i}]`).toBe(w[i]);
  }
}

// Above the arena threshold, with and without a tail of 1–3 elements past the SIMD blocks.
// The largest is split over the threads.
const SIZES = [ARENA_MIN_ELEMENTS, ARENA_MIN_ELEMENTS + 3, 5 * 1021, 100_003];

describe('elementwise WebAssembly kernels', () => {
  it('relu and its backward match the reference', () => {
    for (const size of SIZES) {
      const x = contiguous(arenaData(size, 1), [size]);
      expectSameBits(reluWasm(x), cpuBackend.unary('relu', x, 'float32'), `relu ${size}`);
      const g = contiguous(arenaData(size, 2), [size]);
      const y = contiguous(arenaData(size, 3), [size]);
      // The reference backward is the composed rule g·(y > 0).
      const zero: View = { ...contiguous(new Float32Array(1), [1]), shape: [size], strides: [0] };
      const mask = cpuBackend.binary('gt', y, zero, 'bool');
      const want = cpuBackend.binary(
        'mul',
        g,
        { storage: mask, dtype: 'bool', shape: [size], strides: [1], offset: 0 },
        'float32',
      );
      expectSameBits(reluBackwardWasm(g, y), want, `relu backward ${size}`);
    }
  });

  it('add, sub, mul and div match the reference, equal shapes and a broadcast row', () => {
    for (const op of ['add', 'sub', 'mul', 'div'] as const) {
      for (const [rows, cols] of [
        [64, 33],
        [3, 1031],
        [128, 256],
        [1000, 257],
      ]) {
        const a = contiguous(arenaData(rows * cols, 4), [rows, cols]);
        const b = contiguous(arenaData(rows * cols, 5), [rows, cols]);
        const label = `${op} [${rows}, ${cols}]`;
        expectSameBits(
          binaryWasm(op, a, b, 'float32'),
          cpuBackend.binary(op, a, b, 'float32'),
          label,
        );
        // A bias row, expanded over the rows: in the arena and (small) outside it.
        for (const row of [arenaData(cols + 7, 6), Float32Array.from(arenaData(cols + 7, 6))]) {
          const bias: View = {
            storage: row,
            dtype: 'float32',
            shape: [rows, cols],
            strides: [0, 1],
            offset: 7,
          };
          expectSameBits(
            binaryWasm(op, a, bias, 'float32'),
            cpuBackend.binary(op, a, bias, 'float32'),
            `${label}, broadcast row`,
          );
        }
      }
    }
  });

  it('declines layouts it does not take', () => {
    const a = contiguous(arenaData(4096, 7), [64, 64]);
    const transposed: View = { ...a, strides: [1, 64] };
    expect(binaryWasm('add', transposed, a, 'float32')).toBeNull();
    expect(binaryWasm('add', a, transposed, 'float32')).toBeNull();
    expect(binaryWasm('pow', a, a, 'float32')).toBeNull();
    expect(binaryWasm('add', a, a, 'float64')).toBeNull();
    expect(reluWasm(contiguous(new Float32Array(4096), [4096]))).toBeNull(); // not arena storage
    expect(sumLeadingWasm('sum', a, [1], 'float32')).toBeNull(); // not leading dims
    expect(sumLeadingWasm('max', a, [0], 'float32')).toBeNull();
  });

  it('the sum over leading dims matches the reference (float64 accumulation, same order)', () => {
    for (const shape of [
      [128, 256],
      [1000, 257],
      [3, 5, 1031],
      [2048, 3],
      [64, 10, 7],
    ]) {
      const x = contiguous(
        arenaData(
          shape.reduce((p, q) => p * q, 1),
          8,
        ),
        shape,
      );
      for (let k = 1; k < shape.length; k++) {
        const axes = Array.from({ length: k }, (_, i) => i);
        expectSameBits(
          sumLeadingWasm('sum', x, axes, 'float32'),
          cpuBackend.reduce('sum', x, axes, 'float32'),
          `sum [${shape}] over ${k} dims`,
        );
      }
    }
  });

  it("conv2d's layout kernels: swapping the outer dims (plus a bias) and summing each row", () => {
    for (const [outer, inner, l] of [
      [32, 64, 676],
      [3, 5, 7],
      [64, 64, 121],
    ]) {
      const size = outer * inner * l;
      const src = arenaData(size, 11);
      const dst = arenaData(size, 12);
      const bias = arenaData(outer, 13);
      for (const withBias of [false, true]) {
        swapOuterWasm(
          src.byteOffset,
          dst.byteOffset,
          withBias ? bias.byteOffset : 0,
          outer,
          inner,
          l,
        );
        const want = new Float32Array(size);
        for (let a = 0; a < outer; a++)
          for (let b = 0; b < inner; b++)
            for (let j = 0; j < l; j++) {
              const v = src[(a * inner + b) * l + j];
              want[(b * outer + a) * l + j] = withBias ? v + bias[a] : v;
            }
        expectSameBits(dst, want, `swap_outer [${outer}, ${inner}, ${l}] bias ${withBias}`);
      }
      const finite = arenaData(size, 14, false);
      const sums = arenaData(outer, 15);
      sumEachRowWasm(finite.byteOffset, sums.byteOffset, outer, inner * l);
      for (let a = 0; a < outer; a++) {
        let exact = 0;
        let magnitude = 0;
        for (let j = 0; j < inner * l; j++) {
          exact += finite[a * inner * l + j];
          magnitude += Math.abs(finite[a * inner * l + j]);
        }
        // float64 partial sums: only the final rounding to float32 is visible.
        expect(Math.abs(sums[a] - exact), `row ${a}`).toBeLessThanOrEqual(
          Math.abs(exact) * 2 ** -23 + magnitude * 2 ** -45,
        );
      }
    }
  });

  it('Adam and AdamW steps match the reference loop bit for bit', () => {
    const size = 100_003; // split over the threads, with a SIMD tail
    for (const [weightDecay, decoupledWeightDecay, maximize] of [
      [0, false, false],
      [0.01, false, true],
      [0.05, true, false],
    ] as const) {
      const options = {
        lr: 1e-3,
        beta1: 0.9,
        beta2: 0.999,
        eps: 1e-8,
        weightDecay,
        amsgrad: false,
        maximize,
        decoupledWeightDecay,
        step: 7,
      };
      const views = [20, 21, 22, 23].map((seed) =>
        contiguous(arenaData(size, seed, false), [size]),
      );
      // Second moments are non-negative.
      const v = views[3].storage as Float32Array;
      for (let i = 0; i < size; i++) v[i] = Math.abs(v[i]);
      const copies = views.map((x) =>
        contiguous(Float32Array.from(x.storage as Float32Array), [size]),
      );
      expect(adamWasm(views[0], views[1], views[2], views[3], options)).toBe(true);
      cpuBackend.adamUpdate(copies[0], copies[1], copies[2], copies[3], null, options);
      const label = `Adam weightDecay ${weightDecay} decoupled ${decoupledWeightDecay} maximize ${maximize}`;
      for (const k of [0, 2, 3])
        expectSameBits(views[k].storage as Float32Array, copies[k].storage, `${label} [${k}]`);
    }
  });

  it('plain SGD steps match the reference loop bit for bit', () => {
    const size = 100_003;
    for (const maximize of [false, true]) {
      const p = contiguous(arenaData(size, 30), [size]);
      const g = contiguous(arenaData(size, 31), [size]);
      const copy = contiguous(Float32Array.from(p.storage as Float32Array), [size]);
      const options = plainSgdOptions(0.05, maximize);
      const scale = (maximize ? -1 : 1) * Math.fround(-options.lr);
      expect(sgdWasm(p, g, scale)).toBe(true);
      cpuBackend.sgdUpdate(copy, g, null, options);
      expectSameBits(p.storage as Float32Array, copy.storage, `SGD maximize ${maximize}`);
    }
  });

  it("max pooling's scatter-add matches the reference and names a bad index", () => {
    const [rows, size, count] = [96, 676, 169];
    const base = contiguous(arenaData(rows * size, 9, false), [rows, size]);
    const src = contiguous(arenaData(rows * count, 10), [rows, count]);
    const indices = new Int32Array(rows * count);
    for (let i = 0; i < indices.length; i++) indices[i] = (i * 7919) % size; // with repeats
    const index = contiguous(indices, [rows, count]);
    expectSameBits(
      scatterAddWasm(base, 1, index, src),
      cpuBackend.scatter(base, 1, index, src, 'add'),
      'scatter-add',
    );
    // A base that is one value expanded (max pooling's zero) is filled, not copied.
    for (const value of [0, 2.5]) {
      const broadcast: View = {
        storage: Float32Array.of(9, value),
        dtype: 'float32',
        shape: [rows, size],
        strides: [0, 0],
        offset: 1,
      };
      expectSameBits(
        scatterAddWasm(broadcast, 1, index, src),
        cpuBackend.scatter(broadcast, 1, index, src, 'add'),
        `scatter-add into ${value} expanded`,
      );
      const js = scatterLastDimFast(broadcast, 1, index, src, 'add') as Float32Array;
      expectSameBits(js, cpuBackend.scatter(broadcast, 1, index, src, 'add'), 'TypeScript path');
    }
    indices[5 * count + 3] = size;
    expect(() => scatterAddWasm(base, 1, index, src)).toThrow(
      `scatterAdd: index ${size} is out of bounds for dimension 1 with size ${size}`,
    );
    indices[5 * count + 3] = -1;
    expect(() => scatterAddWasm(base, 1, index, src)).toThrow(/index -1 is out of bounds/);
  });
});
