/**
 * The elementwise WebAssembly kernels (src/backend/wasm/elementwise.ts) bit for bit against the
 * reference backend: relu and its backward, add/sub/mul/div on equal shapes and with a broadcast
 * row, the sum over leading dims, and max pooling's scatter-add, on data with NaN, ±Infinity,
 * ±0 and denormals, at sizes with and without a SIMD tail. Each case also checks that the
 * kernel really ran (it returns null when it declines). The softmax kernels are the exception:
 * their vector exp is checked against Math.exp in ulps, and their results against the reference
 * within the rounding that allows.
 */
import { describe, expect, it } from 'vitest';
import type { View } from '../src/backend/backend.js';
import { cpuBackend } from '../src/backend/cpu/cpu_backend.js';
import { plainSgdOptions } from './helpers/values.js';
import { scatterLastDimFast } from '../src/backend/wasm/gather_scatter.js';
import { ARENA_MIN_ELEMENTS } from '../src/backend/wasm/arena.js';
import { contiguousStrides } from '../src/tensor/shape.js';
import {
  adamWasm,
  binaryWasm,
  logSoftmaxBackwardWasm,
  reluBackwardWasm,
  unaryWasm,
  scatterAddWasm,
  sgdWasm,
  softmaxWasm,
  sumLeadingWasm,
  sumEachRowWasm,
  swapOuterWasm,
} from '../src/backend/wasm/elementwise.js';
import { arenaData } from './helpers/arena.js';
import { expectWithinBound } from './helpers/close.js';

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
    if (gotBits[i] !== wantBits[i])
      expect.fail(
        `${label}[${i}]: got ${got![i]} (bits ${gotBits[i]}), expected ${w[i]} (bits ${wantBits[i]})`,
      );
  }
}

// Above the arena threshold, with and without a tail of 1–3 elements past the SIMD blocks.
// The largest is split over the threads.
const SIZES = [ARENA_MIN_ELEMENTS, ARENA_MIN_ELEMENTS + 3, 5 * 1021, 100_003];

describe('elementwise WebAssembly kernels', () => {
  it('relu and its backward match the reference', () => {
    for (const size of SIZES) {
      const x = contiguous(arenaData(size, 1), [size]);
      expectSameBits(
        unaryWasm('relu', x, 'float32'),
        cpuBackend.unary('relu', x, 'float32'),
        `relu ${size}`,
      );
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
        [3, 1021],
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
    expect(unaryWasm('relu', contiguous(new Float32Array(4096), [4096]), 'float32')).toBeNull(); // not arena storage
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

/** Distance in float32 steps between two finite float32 values of one sign (or both zero). */
function ulps(a: number, b: number): number {
  const bits = (x: number) => new Int32Array(Float32Array.of(x).buffer)[0];
  return Math.abs(bits(a) - bits(b));
}

/** Plain (non-arena) float32 rows, deterministic, with `special` rows of NaN and ±Infinity. */
function rowsData(rows: number, n: number, seed: number, scale: number, inArena: boolean) {
  const data = inArena ? arenaData(rows * n, seed, false) : new Float32Array(rows * n);
  let s = seed;
  for (let i = 0; i < data.length; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    data[i] = ((s / 2 ** 32) * 2 - 1) * scale;
  }
  if (rows >= 4) {
    data[n + 1] = NaN; // a NaN row
    data.fill(-Infinity, 2 * n, 3 * n); // a row of −Infinity: NaN everywhere
    data[3 * n] = Infinity; // +Infinity in a row: shift 0
    if (n > 2) data[3 * n + 2] = -Infinity;
  }
  return contiguous(data, [rows, n]);
}

describe('softmax WebAssembly kernels', () => {
  it('the vector exp is within 2 ulp of Math.exp, 0 below the normal range, ±Infinity and NaN as exp', () => {
    // Rows [0, x] with gradient [−1, 0]: the log-softmax backward's out[1] = 0 − exp(x)·(−1) = exp(x).
    const xs: number[] = [];
    for (let x = -90; x <= 89; x += 0.0137) xs.push(Math.fround(x));
    // Around the ends of the range (exp overflows past 88.72284, is subnormal below −87.33655).
    const edges = [-Infinity, Infinity, NaN, -0, 0, 88.72283, 88.7229, -87.3365, -87.33655, 1e-30];
    xs.push(...edges.map(Math.fround));
    const y = new Float32Array(xs.length * 2);
    const g = new Float32Array(xs.length * 2);
    xs.forEach((x, i) => {
      y[2 * i + 1] = x;
      g[2 * i] = -1;
    });
    const out = logSoftmaxBackwardWasm(
      contiguous(g, [xs.length, 2]),
      contiguous(y, [xs.length, 2]),
      1,
    );
    expect(out).not.toBeNull();
    let worst = 0;
    let worstAt = 0;
    xs.forEach((x, i) => {
      const got = out![2 * i + 1];
      const want = Math.fround(Math.exp(x));
      if (Number.isNaN(x)) expect(got).toBeNaN();
      else if (want < 2 ** -126) expect(got, `exp(${x})`).toBe(0);
      else if (want === Infinity) expect(got, `exp(${x})`).toBe(Infinity);
      else if (ulps(got, want) > worst) {
        worst = ulps(got, want);
        worstAt = x;
      }
    });
    expect(worst, `the most ulps, at exp(${worstAt})`).toBeLessThanOrEqual(2);
  });

  // Rows of 10 (the MLP's logits), tails of 1–3 past the vectors, a row of one, and rows split
  // over the threads; inputs in arena storage and in ordinary arrays.
  const SHAPES: [number, number][] = [
    [128, 10],
    [5, 7],
    [6, 1],
    [3, 4099],
    [1000, 41],
  ];

  it('softmax and log-softmax match the reference within the vector exp’s rounding', () => {
    for (const [rows, n] of SHAPES) {
      for (const inArena of [false, true]) {
        const x = rowsData(rows, n, rows + n, 12, inArena && rows * n >= ARENA_MIN_ELEMENTS);
        const label = `[${rows}, ${n}]${inArena ? ' in the arena' : ''}`;
        const logWant = cpuBackend.softmax(x, 1, true) as Float32Array;
        // x − lse in float64 from the same max: only Σ exp differs (a few ulps of each term).
        expectWithinBound(
          softmaxWasm(x, 1, true),
          logWant,
          (i) => 1e-6 + 2 ** -23 * Math.abs(logWant[i]),
          `log-softmax ${label}`,
        );
        // e / Σ: exp of the float32 difference x − max, whose rounding grows with |x − max|.
        const want = cpuBackend.softmax(x, 1, false) as Float32Array;
        expectWithinBound(
          softmaxWasm(x, 1, false),
          want,
          (i) => 1e-37 + 5e-6 * want[i],
          `softmax ${label}`,
        );
      }
    }
  });

  it('the log-softmax backward matches the reference within the vector exp’s rounding', () => {
    for (const [rows, n] of SHAPES) {
      const x = rowsData(rows, n, 7 * rows + n, 8, false);
      const y = contiguous(cpuBackend.softmax(x, 1, true) as Float32Array, [rows, n]);
      const g = rowsData(rows, n, 3 * rows + n, 1, rows * n >= ARENA_MIN_ELEMENTS);
      const want = cpuBackend.softmaxBackward(g, y, 1, true) as Float32Array;
      const ys = y.storage as Float32Array;
      const gs = g.storage as Float32Array;
      // exp(y) within 2 ulp, times the row's Σg: the bound scales with that term.
      const rowSum = (i: number) => {
        const start = Math.floor(i / n) * n;
        let total = 0;
        for (let k = start; k < start + n; k++) total += gs[k];
        return Math.abs(total);
      };
      expectWithinBound(
        logSoftmaxBackwardWasm(g, y, 1),
        want,
        (i) => 1e-38 + 2 ** -22 * (Math.exp(ys[i]) * rowSum(i) + Math.abs(gs[i])),
        `log-softmax backward [${rows}, ${n}]`,
      );
    }
  });

  it('reads strided views (gathered first): the results of their contiguous copies', () => {
    const x = rowsData(6, 9, 2, 5, false);
    const transposed: View = { ...x, shape: [9, 6], strides: [1, 9] };
    const copy = contiguous(cpuBackend.copy(transposed, 'float32') as Float32Array, [9, 6]);
    for (const log of [true, false]) {
      const got = softmaxWasm(transposed, 1, log);
      expect(got).not.toBeNull();
      expect([...got!]).toEqual([...softmaxWasm(copy, 1, log)!]);
    }
    const g = rowsData(9, 6, 3, 1, false);
    const got = logSoftmaxBackwardWasm(g, transposed, 1);
    expect([...got!]).toEqual([...logSoftmaxBackwardWasm(g, copy, 1)!]);
  });

  it('declines what the kernels do not take: other dims, float64, 0-d, mismatched shapes', () => {
    const x = rowsData(4, 6, 1, 1, false);
    expect(softmaxWasm(x, 0, true)).toBeNull();
    expect(
      softmaxWasm({ ...x, dtype: 'float64', storage: new Float64Array(24) }, 1, true),
    ).toBeNull();
    expect(softmaxWasm({ ...x, shape: [], strides: [] }, 0, true)).toBeNull();
    expect(logSoftmaxBackwardWasm(x, x, 0)).toBeNull();
    // A gradient of another shape with as many elements.
    expect(logSoftmaxBackwardWasm({ ...x, shape: [6, 4], strides: [4, 1] }, x, 1)).toBeNull();
  });
});
