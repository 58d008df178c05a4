/**
 * The WebAssembly CPU backend against the reference backend (the oracle): matmul on many shapes
 * and layouts for every SIMD level, threads against one thread, and the backend registry.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { View } from '../src/backend/backend.js';
import { cpuBackend } from '../src/backend/cpu/cpu_backend.js';
import { buildCeilingModule } from '../bench/lib/ceiling_module.js';
import { gemmF32Into, gemmF32With } from '../src/backend/wasm/gemm.js';
import { type GemmWriter, materialize } from '../src/backend/wasm/gemm_operands.js';
import { sgdStepF32 } from '../src/backend/wasm/sgd.js';
import { DEFAULT_VARIANTS } from '../src/backend/wasm/gemm_module.js';
import { buildKernelModule } from '../src/backend/wasm/kernel_module.js';
import { bestSimdLevel, simdLevelSupported, type SimdLevel } from '../src/backend/wasm/platform.js';
import {
  configureGemm,
  numThreads,
  setNumThreads,
  setSimdLevel,
  simdLevel,
  tasksByThread,
  useCpuKernels,
  wasmBackend,
} from '../src/backend/wasm/wasm_backend.js';
import { getBackend, matmul, randn, tensor, F } from '../src/index.js';
import { bytesOf, plainSgdOptions } from './helpers/values.js';
import { expectAllClose, expectBitEqual } from './helpers/close.js';
import { threadEvenSmallProducts } from './helpers/threaded_gemm.js';

const EPS32 = 2 ** -23;

/** Deterministic pseudo-random floats in [-1, 1). */
function randomData(size: number, seed: number): Float32Array {
  const out = new Float32Array(size);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = ((s >>> 0) / 2 ** 32) * 2 - 1;
  }
  return out;
}

function view(storage: Float32Array, shape: number[], strides?: number[], offset = 0): View {
  return {
    storage,
    dtype: 'float32',
    shape,
    strides: strides ?? [shape[1] * shape[2], shape[2], 1],
    offset,
  };
}

function absView(v: View): View {
  return { ...v, storage: (v.storage as Float32Array).map(Math.abs) };
}

/** Asserts wasm matmul(a, b) equals the reference within float32 summation error. */
function expectMatchesReference(a: View, b: View): Float32Array {
  const got = wasmBackend.matmul(a, b, 'float32') as Float32Array;
  const want = cpuBackend.matmul(a, b, 'float32') as Float32Array;
  const bound = cpuBackend.matmul(absView(a), absView(b), 'float32') as Float32Array;
  const k = a.shape[2];
  expect(got).toBeInstanceOf(Float32Array);
  expect(got.length).toBe(want.length);
  let worst = 0;
  for (let i = 0; i < want.length; i++) {
    if (Number.isNaN(want[i])) {
      expect(Number.isNaN(got[i]), `element ${i}: expected NaN, got ${got[i]}`).toBe(true);
      continue;
    }
    const err = Math.abs(got[i] - want[i]);
    const tol = (k + 2) * EPS32 * bound[i] + 1e-30;
    if (!(err <= tol))
      expect.fail(
        `element ${i} of [${a.shape}]x[${b.shape}]: got ${got[i]}, want ${want[i]} (tolerance ${tol})`,
      );
    worst = Math.max(worst, err / (bound[i] || 1));
  }
  expect(worst).toBeLessThan(1e-4);
  return got;
}

/** [batch, M, K, N] cases: tiny, odd, exact tiles, non-multiples of the tile, several K and M blocks. */
const SHAPES: [number, number, number, number][] = [
  [1, 1, 1, 1],
  [1, 1, 5, 1],
  [1, 6, 8, 8],
  [1, 12, 16, 16],
  [1, 7, 13, 9],
  [1, 5, 3, 7],
  [2, 33, 70, 17],
  [1, 1, 300, 1],
  [1, 300, 1, 1],
  [1, 1, 1, 300],
  [1, 4, 600, 4],
  [3, 100, 257, 50],
  [1, 150, 530, 41],
  [4, 9, 31, 23],
];

const LEVELS: SimdLevel[] = ['relaxed', 'simd', 'scalar'];

describe('wasm kernel modules', () => {
  it('probes the engine: Node 20+ validates relaxed SIMD once the flag is set', () => {
    expect(simdLevelSupported('scalar')).toBe(true);
    expect(simdLevelSupported('simd')).toBe(true);
    expect(simdLevelSupported('relaxed')).toBe(true);
    expect(bestSimdLevel).toBe('relaxed');
  });

  it('emits valid modules for every variant, with shared or private memory', () => {
    for (const level of LEVELS) {
      for (const shared of [false, true]) {
        const bytes = buildKernelModule(DEFAULT_VARIANTS[level], {
          initialPages: 1,
          maximumPages: 16,
          shared,
        });
        expect(WebAssembly.validate(bytes), `${level} shared=${shared}`).toBe(true);
      }
    }
    expect(WebAssembly.validate(buildCeilingModule('relaxed'))).toBe(true);
    expect(WebAssembly.validate(buildCeilingModule('simd'))).toBe(true);
    // The emitter's output is checked by the engine: a broken module must not validate.
    const bytes = buildKernelModule(DEFAULT_VARIANTS.simd, {
      initialPages: 1,
      maximumPages: 16,
      shared: false,
    });
    const broken = bytes.slice(0, bytes.length - 1);
    expect(WebAssembly.validate(broken)).toBe(false);
  });
});

describe.each(LEVELS)('wasm matmul, %s kernels', (level) => {
  let restore: ReturnType<typeof configureGemm>;
  beforeAll(async () => {
    setSimdLevel(level);
    restore = configureGemm({ minWork: 0 });
    await setNumThreads(1);
  });
  afterAll(async () => {
    configureGemm(restore);
    setSimdLevel(null);
    await setNumThreads(null);
  });

  it('runs the requested level', () => {
    expect(simdLevel()).toBe(level);
  });

  it.each(SHAPES)('contiguous [%i, %i, %i] x [.., %i]', (batch, m, k, n) => {
    const a = view(randomData(batch * m * k, m * 31 + k), [batch, m, k]);
    const b = view(randomData(batch * k * n, n * 17 + k), [batch, k, n]);
    expectMatchesReference(a, b);
  });

  it('writer operands, gemmF32With and gemmF32Into equal gemmF32 bit for bit (odd shapes, transposed writers)', () => {
    for (const [batch, m, k, n] of [...SHAPES, [1, 64, 290, 301], [2, 13, 7, 45]] as [
      number,
      number,
      number,
      number,
    ][]) {
      for (const [ta, tb] of [
        [false, false],
        [true, false],
        [false, true],
        [true, true],
      ]) {
        const ad = randomData(batch * m * k, m + 7 * k);
        const bd = randomData(batch * k * n, n + 5 * k);
        // Views with the layouts the writers produce ([batch, cols, rows] when transposed).
        const av = view(ad, [batch, m, k], ta ? [m * k, 1, m] : [m * k, k, 1]);
        const bv = view(bd, [batch, k, n], tb ? [k * n, 1, k] : [k * n, n, 1]);
        const writes: number[] = [];
        const aw: GemmWriter = {
          shape: [batch, m, k],
          transposed: ta,
          write: (d) => (writes.push(d.length), d.set(ad)),
        };
        const bw: GemmWriter = {
          shape: [batch, k, n],
          transposed: tb,
          write: (d) => (writes.push(d.length), d.set(bd)),
        };
        const label = `[${batch}, ${m}, ${k}] x [.., ${n}] transposed ${ta} ${tb}`;
        const want = expectMatchesReference(av, bv);
        const got = gemmF32With(aw, bv, (c) => c.slice())!;
        expect(bytesOf(got).equals(bytesOf(want)), label).toBe(true);
        const into = new Float32Array(want.length).fill(Number.NaN);
        expect(gemmF32Into(av, bw, into), label).toBe(true);
        expect(bytesOf(into).equals(bytesOf(want)), label).toBe(true);
        const both = gemmF32With(aw, bw, (c) => c.slice())!;
        expect(bytesOf(both).equals(bytesOf(want)), label).toBe(true);
        expect(writes).toEqual([ad.length, bd.length, ad.length, bd.length]);
        // materialize gives the view the writer describes.
        expectBitEqual(
          cpuBackend.matmul(materialize(aw), materialize(bw), 'float32') as Float32Array,
          cpuBackend.matmul(av, bv, 'float32') as Float32Array,
          label,
        );
      }
    }
  });

  it('gemmF32With declines below minWork without running writers or the consumer', () => {
    const restoreMin = configureGemm({ minWork: 1 << 30 });
    try {
      let ran = 0;
      const w: GemmWriter = { shape: [1, 8, 8], write: () => ran++ };
      expect(gemmF32With(w, w, () => ran++)).toBeNull();
      expect(gemmF32Into(w, w, new Float32Array(64))).toBe(false);
      expect(ran).toBe(0);
    } finally {
      configureGemm(restoreMin);
    }
  });

  it('K = 0 gives zeros and empty dims give empty results', () => {
    const zero = wasmBackend.matmul(
      view(new Float32Array(0), [2, 3, 0]),
      view(new Float32Array(0), [2, 0, 4]),
      'float32',
    );
    expect(Array.from(zero as Float32Array)).toEqual(new Array(24).fill(0));
    const empty = wasmBackend.matmul(
      view(new Float32Array(0), [1, 0, 5]),
      view(randomData(15, 3), [1, 5, 3]),
      'float32',
    );
    expect((empty as Float32Array).length).toBe(0);
  });

  it('transposed, sliced and broadcast operands', () => {
    const [m, k, n] = [37, 45, 29];
    // A transposed: the storage holds A^T [K, M].
    const aT = view(randomData(m * k, 1), [1, m, k], [m * k, 1, m]);
    const bT = view(randomData(k * n, 2), [1, k, n], [k * n, 1, k]);
    const a = view(randomData(m * k, 3), [1, m, k]);
    const b = view(randomData(k * n, 4), [1, k, n]);
    expectMatchesReference(aT, b);
    expectMatchesReference(a, bT);
    expectMatchesReference(aT, bT);
    // A slice with an offset: rows 3.. and columns 2.. of a wider matrix.
    const wide = randomData(60 * 80, 5);
    expectMatchesReference(view(wide, [1, m, k], [60 * 80, 80, 1], 3 * 80 + 2), b);
    // A narrow column of a large storage (gathered instead of copying the whole span).
    const tall = randomData(400 * 300, 6);
    expectMatchesReference(
      view(tall, [1, 300, 1], [0, 300, 1], 7),
      view(randomData(5, 7), [1, 1, 5]),
    );
    // Batch broadcast (stride 0) on either side, as conv2d's kernels · columns produce.
    const batch = 3;
    expectMatchesReference(
      view(randomData(m * k, 8), [batch, m, k], [0, k, 1]),
      view(randomData(batch * k * n, 9), [batch, k, n]),
    );
    expectMatchesReference(
      view(randomData(batch * m * k, 10), [batch, m, k]),
      view(randomData(k * n, 11), [batch, k, n], [0, n, 1]),
    );
    // Every stride non-unit: A[b, i, j] = s[2 + b·1 + i·7 + j·3].
    expectMatchesReference(
      view(randomData(5000, 12), [2, 20, 30], [1, 7 * 30, 3], 2),
      view(randomData(2 * 30 * 10, 13), [2, 30, 10]),
    );
  });

  it('runs batches of more tasks than one job numbers (16 bits) in slices', () => {
    // 25,000 products of three tasks each (pack B, pack A, compute): two jobs.
    const batch = 25_000;
    const a = view(randomData(batch * 2 * 3, 16), [batch, 2, 3]);
    expectMatchesReference(a, view(randomData(batch * 3 * 2, 17), [batch, 3, 2]));
    // B shared by the batch is packed once, in the first slice.
    expectMatchesReference(a, view(randomData(3 * 2, 18), [batch, 3, 2], [0, 2, 1]));
  });

  it('propagates NaN and Inf as IEEE arithmetic does', () => {
    const a = view(randomData(6 * 8, 14), [1, 6, 8]);
    const b = view(randomData(8 * 10, 15), [1, 8, 10]);
    (a.storage as Float32Array)[3] = Infinity; // row 0
    (b.storage as Float32Array).fill(0, 30, 40); // row 3 of B is zero: Inf·0 = NaN in row 0
    (a.storage as Float32Array)[2 * 8 + 5] = NaN; // row 2
    const got = expectMatchesReference(a, b);
    expect(Number.isNaN(got[0])).toBe(true);
    expect(Number.isNaN(got[2 * 10 + 4])).toBe(true);
    expect(Number.isFinite(got[1 * 10 + 4])).toBe(true);
  });
});

describe('wasm matmul on worker threads', () => {
  threadEvenSmallProducts();

  it('gives bit-identical results on 2 threads and on 1, and the worker takes tasks', async () => {
    const cases: [View, View][] = [
      [
        view(randomData(2 * 300 * 200, 21), [2, 300, 200]),
        view(randomData(2 * 200 * 250, 22), [2, 200, 250]),
      ],
      // conv2d-like: small M, long N, kernels broadcast over the batch.
      [
        view(randomData(32 * 9, 23), [4, 32, 9], [0, 9, 1]),
        view(randomData(4 * 9 * 784, 24), [4, 9, 784]),
      ],
      [
        view(randomData(129 * 515, 25), [1, 129, 515]),
        view(randomData(515 * 77, 26), [1, 515, 77], [0, 1, 515]),
      ],
      // A linear layer's weight gradient: A transposed (x^T), small M against a long N.
      [
        view(randomData(70 * 100, 27), [1, 100, 70], [0, 1, 100]),
        view(randomData(70 * 203, 28), [1, 70, 203]),
      ],
      // conv weight-gradient-like: M split into more blocks for the threads, long K, N = 64
      // read transposed; and M below one tile row group with a short last panel.
      [
        view(randomData(97 * 1201, 29), [1, 97, 1201]),
        view(randomData(64 * 1201, 30), [1, 1201, 64], [0, 1, 1201]),
      ],
      [view(randomData(5 * 33, 31), [1, 5, 33]), view(randomData(33 * 2051, 32), [1, 33, 2051])],
      // A small output over a long K (conv1's weight gradient): run as two half-K products.
      [
        view(randomData(9 * 16384, 33), [1, 9, 16384]),
        view(randomData(32 * 16384, 34), [1, 16384, 32], [0, 1, 16384]),
      ],
    ];
    await setNumThreads(1);
    const single = cases.map(([a, b]) => expectMatchesReference(a, b));
    await setNumThreads(2);
    const before = tasksByThread();
    expect(before.length).toBe(2);
    for (let round = 0; round < 20; round++) {
      cases.forEach(([a, b], i) => {
        const threaded = wasmBackend.matmul(a, b, 'float32') as Float32Array;
        expect(bytesOf(threaded).equals(bytesOf(single[i])), `case ${i}, round ${round}`).toBe(
          true,
        );
      });
      if (tasksByThread()[1] > before[1]) break;
    }
    expect(tasksByThread()[1]).toBeGreaterThan(before[1]);
  });

  it('a small output over K of at least 4,096 is two half-K products added after, on any number of threads', async () => {
    // conv2's weight gradient shape class: [M, K]·[K, 64] with B read transposed.
    const [m, k, n] = [100, 4100, 64];
    const a = view(randomData(m * k, 51), [1, m, k]);
    const b = view(randomData(k * n, 52), [1, k, n], [0, 1, k]);
    const half = (v: View, dim: number, first: number): View => ({
      ...v,
      shape: dim === 2 ? [1, m, k / 2] : [1, k / 2, n],
      offset: v.offset + first * v.strides[dim],
    });
    await setNumThreads(1);
    const first = wasmBackend.matmul(half(a, 2, 0), half(b, 1, 0), 'float32') as Float32Array;
    const second = wasmBackend.matmul(half(a, 2, k / 2), half(b, 1, k / 2), 'float32');
    const summed = Float32Array.from(first, (v, i) => v + (second as Float32Array)[i]);
    for (const threads of [1, 2]) {
      await setNumThreads(threads);
      const whole = expectMatchesReference(a, b);
      expect(bytesOf(whole).equals(bytesOf(summed)), `${threads} threads`).toBe(true);
    }
  });

  it('products of up to 512 rows run as one column range per thread, each a one-thread product: bit-identical to 1 thread', async () => {
    const data = (size: number, seed: number) => randomData(size, seed);
    const as2d = (storage: Float32Array, rows: number, cols: number): View => ({
      storage,
      dtype: 'float32',
      shape: [rows, cols],
      strides: [cols, 1],
      offset: 0,
    });
    // A linear layer with its bias (MLP fc1 at batch 128); an odd width whose last range ends in
    // an edge tile, B transposed; a weight gradient with its bias sum beside the two ranges.
    const x = as2d(data(128 * 784, 41), 128, 784);
    const w = as2d(data(256 * 784, 42), 256, 784);
    const bias: View = { ...as2d(data(256, 43), 1, 256), shape: [256], strides: [1] };
    const a = view(data(129 * 515, 44), [1, 129, 515]);
    const b = view(data(515 * 77, 45), [1, 515, 77], [0, 1, 515]);
    const grad = as2d(data(128 * 256, 46), 128, 256);
    const run = () => [
      wasmBackend.linear!(x, w, bias) as Float32Array,
      wasmBackend.matmul(a, b, 'float32') as Float32Array,
      ...(wasmBackend.linearBackward!(grad, x, w, [false, true, true])!.slice(1) as Float32Array[]),
    ];
    await setNumThreads(1);
    const single = run();
    expectMatchesReference(a, b);
    const linearWant = cpuBackend.matmul(
      view(x.storage as Float32Array, [1, 128, 784]),
      view(w.storage as Float32Array, [1, 784, 256], [0, 1, 784]),
      'float32',
    ) as Float32Array;
    const biasValues = bias.storage as Float32Array;
    for (let i = 0; i < linearWant.length; i++) {
      const err = Math.abs(single[0][i] - (linearWant[i] + biasValues[i % 256]));
      if (!(err < 1e-4)) expect.fail(`linear element ${i}: error ${err}`);
    }
    await setNumThreads(2);
    for (let round = 0; round < 20; round++) {
      const before = tasksByThread();
      const threaded = run();
      const after = tasksByThread();
      threaded.forEach((t, i) =>
        expect(bytesOf(t).equals(bytesOf(single[i])), `result ${i}, round ${round}`).toBe(true),
      );
      // Each product is one job of two tasks (its ranges), the weight gradient's bias sum a third.
      expect(after[0] + after[1] - before[0] - before[1]).toBe(2 + 2 + 3);
      if (after[1] > before[1]) break;
    }
    expect(tasksByThread()[1]).toBeGreaterThan(0);
  });

  it('writer operands and gemmF32Into: bit-identical on 2 threads and on 1', async () => {
    const shapes: [number, number, number][] = [
      [64, 290, 1001],
      [289, 777, 64],
      [7, 65, 900],
    ];
    const run = () =>
      shapes.map(([m, k, n]) => {
        const ad = randomData(m * k, m + k);
        const bd = randomData(k * n, n + k);
        const a: GemmWriter = { shape: [1, m, k], write: (d) => d.set(ad) };
        const b: GemmWriter = { shape: [1, k, n], transposed: true, write: (d) => d.set(bd) };
        const out = new Float32Array(m * n);
        expect(gemmF32Into(a, b, out)).toBe(true);
        expectMatchesReference(materialize(a), materialize(b));
        return out;
      });
    await setNumThreads(1);
    const single = run();
    await setNumThreads(2);
    const threaded = run();
    threaded.forEach((t, i) =>
      expect(bytesOf(t).equals(bytesOf(single[i])), `case ${i}`).toBe(true),
    );
  });

  it("a linear layer's backward kernels (side by side, or the bias sum in the weight gradient's packing phase) equal the matmuls and the sum bit for bit", async () => {
    // [M, K] input, [N, K] weight: the MLP's fc2 and fc3 at batch 128, an fc3 whose weight
    // gradient is too small for the arena, a weight gradient over a long batch (split K), a
    // strided gradient, a bias gradient large enough for the arena, fc2 at batch 1000 (over the
    // side-by-side bound).
    const cases: { m: number; k: number; n: number; gradTransposed?: boolean }[] = [
      { m: 128, k: 256, n: 128 },
      { m: 128, k: 128, n: 10 },
      { m: 128, k: 96, n: 10 },
      { m: 8192, k: 16, n: 8 },
      { m: 45, k: 70, n: 33, gradTransposed: true },
      { m: 16, k: 8, n: 2100 },
      { m: 1000, k: 256, n: 128 },
    ];
    // [dX, dW, bias] asked: all, no input gradient (a first layer), no bias.
    const asked = [
      [true, true, true],
      [false, true, true],
      [true, true, false],
    ];
    const sideBySide = (m: number, k: number, n: number, needs: boolean[]) =>
      needs[0] && needs[1] && numThreads() > 1 && m * n * k <= 1 << 23;
    // The scalar module has no elementwise kernels: there the caller sums the bias itself.
    const run = (biasSummed = true) =>
      cases.forEach(({ m, k, n, gradTransposed }, i) => {
        const x = view(randomData(m * k, 60 + i), [1, m, k]);
        const w = view(randomData(n * k, 70 + i), [1, n, k]);
        const gData = randomData(m * n, 80 + i);
        const grad: View = gradTransposed
          ? { storage: gData, dtype: 'float32', shape: [m, n], strides: [1, m], offset: 0 }
          : { storage: gData, dtype: 'float32', shape: [m, n], strides: [n, 1], offset: 0 };
        const as2d = (v: View): View => ({
          ...v,
          shape: v.shape.slice(1),
          strides: v.strides.slice(1),
        });
        const g3: View = { ...grad, shape: [1, m, n], strides: [0, ...grad.strides] };
        const gT: View = {
          ...grad,
          shape: [1, n, m],
          strides: [0, grad.strides[1], grad.strides[0]],
        };
        const want = [
          wasmBackend.matmul(g3, w, 'float32') as Float32Array,
          wasmBackend.matmul(gT, x, 'float32') as Float32Array,
          cpuBackend.reduce('sum', grad, [0], 'float32') as Float32Array,
        ];
        for (const needs of asked) {
          const label = `case ${i}, needs [${needs}]`;
          const got = wasmBackend.linearBackward!(grad, as2d(x), as2d(w), needs);
          const expected = sideBySide(m, k, n, needs) || (needs[1] && needs[2] && biasSummed);
          expect(got !== null, label).toBe(expected);
          if (!got) continue;
          got.forEach((result, j) => {
            if (!needs[j]) expect(result, `${label}: [${j}]`).toBeNull();
            else if (result)
              expect(
                bytesOf(result as Float32Array).equals(bytesOf(want[j])),
                `${label}: [${j}]`,
              ).toBe(true);
          });
          if (needs[2] && biasSummed) expect(got[2], label).not.toBeNull();
          if (!biasSummed) expect(got[2], label).toBeNull();
        }
        expectMatchesReference(gT, x);
      });
    await setNumThreads(1);
    run(); // one thread: the products one after the other, the bias beside the weight gradient
    await setNumThreads(2);
    // Products below the kernels' minimum work decline (the caller's matmuls take the reference).
    const tiny = view(randomData(15, 5), [5, 3], [3, 1]);
    expect(
      wasmBackend.linearBackward!(
        tiny,
        view(randomData(35, 6), [5, 7], [7, 1]),
        view(randomData(21, 7), [3, 7], [7, 1]),
        [true, true, true],
      ),
    ).toBeNull();
    const before = tasksByThread();
    for (let round = 0; round < 20; round++) {
      run();
      if (tasksByThread()[1] > before[1]) break;
    }
    expect(tasksByThread()[1]).toBeGreaterThan(before[1]);
    setSimdLevel('scalar');
    try {
      await setNumThreads(2);
      run(false);
    } finally {
      setSimdLevel(null);
      await setNumThreads(2);
    }
  });

  it('linear gradients through autograd: the side-by-side pair where no graph is built, the matmuls under createGraph', async () => {
    await setNumThreads(2);
    const x = tensor(Array.from(randomData(128 * 64, 91)), {
      shape: [128, 64],
      requiresGrad: true,
    });
    const w = tensor(Array.from(randomData(32 * 64, 92)), { shape: [32, 64], requiresGrad: true });
    const b = tensor(Array.from(randomData(32, 93)), { requiresGrad: true });
    const cot = tensor(Array.from(randomData(128 * 32, 94)), { shape: [128, 32] });
    const sameBits = (
      t: { dataSync(): ArrayLike<number> },
      want: { dataSync(): ArrayLike<number> },
    ) => bytesOf(t.dataSync() as Float32Array).equals(bytesOf(want.dataSync() as Float32Array));
    const wantDx = cot.matmul(w.detach());
    const wantDw = cot.t().matmul(x.detach());
    F.linear(x, w, b).backward(cot);
    expect(x.grad!.gradFn).toBeNull();
    expect(sameBits(x.grad!, wantDx) && sameBits(w.grad!, wantDw)).toBe(true);
    expect(sameBits(b.grad!, cot.sum(0))).toBe(true);
    // With createGraph the gradients are differentiable ops (and still the same values).
    x.grad = null;
    w.grad = null;
    F.linear(x, w, b).backward(cot, { createGraph: true });
    expect(x.grad!.gradFn).not.toBeNull();
    expect(sameBits(x.grad!, wantDx) && sameBits(w.grad!, wantDw)).toBe(true);
  });

  it('does not keep a Node process alive at exit', () => {
    const dir = mkdtempSync(join(tmpdir(), 'chainrule-wasm-'));
    const file = join(dir, 'exit.mts');
    const gemm = fileURLToPath(new URL('../src/backend/wasm/gemm.ts', import.meta.url));
    const runtime = fileURLToPath(
      new URL('../src/backend/wasm/kernel_runtime.ts', import.meta.url),
    );
    writeFileSync(
      file,
      `import { gemmF32 } from ${JSON.stringify(gemm)};
import { whenThreadsReady, tasksByThread } from ${JSON.stringify(runtime)};
const n = 256, data = new Float32Array(n * n).fill(1);
const v = { storage: data, dtype: 'float32', shape: [1, n, n], strides: [n * n, n, 1], offset: 0 };
await whenThreadsReady();
const c = gemmF32(v, v);
console.log(c[0], tasksByThread().length);
`,
    );
    const started = Date.now();
    const result = spawnSync(process.execPath, ['--import', 'tsx', file], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(result.stderr).not.toMatch(/Error/);
    expect(result.status).toBe(0);
    expect(result.stdout.trim()).toBe('256 2');
    expect(Date.now() - started).toBeLessThan(30_000);
  });
});

describe.each(LEVELS)('wasm plain SGD step, %s kernels', (level) => {
  beforeAll(() => setSimdLevel(level));
  afterAll(() => setSimdLevel(null));

  const options = plainSgdOptions(0.05);
  const run = (
    backend: typeof cpuBackend,
    p: View,
    g: View,
    o: typeof options,
    buf: View | null = null,
  ) => {
    const copy = { ...p, storage: (p.storage as Float32Array).slice() };
    backend.sgdUpdate(copy, g, buf, o);
    return copy.storage as Float32Array;
  };
  const flat = (data: Float32Array, size: number, offset = 0): View => ({
    storage: data,
    dtype: 'float32',
    shape: [size],
    strides: [1],
    offset,
  });

  it.each([1024, 1031, 4099])(
    'gives the reference bits, %i elements, with and without maximize',
    (size) => {
      const p = flat(randomData(size, size), size);
      const g = flat(
        randomData(size, size + 1).map((x, i) => (i % 97 === 0 ? x * 1e-30 : x * 3)),
        size,
      );
      for (const o of [options, { ...options, maximize: true }, { ...options, lr: 0.1 }]) {
        const want = run(cpuBackend, p, g, o);
        const got = run(wasmBackend, p, g, o);
        expect(bytesOf(got).equals(bytesOf(want))).toBe(true);
        expect(got.some((x, i) => x !== (p.storage as Float32Array)[i])).toBe(true);
        // The kernel itself runs (no silent fallback to the reference).
        const direct = (p.storage as Float32Array).slice();
        expect(
          sgdStepF32(direct, g.storage as Float32Array, (o.maximize ? 1 : -1) * Math.fround(o.lr)),
        ).toBe(true);
        expect(bytesOf(direct).equals(bytesOf(want))).toBe(true);
      }
    },
  );

  it('updates only its span of a larger storage, and falls back for momentum or weight decay', () => {
    const size = 2000;
    const storage = randomData(size + 13, 91);
    const p = flat(storage, size, 7);
    const g = flat(randomData(size + 5, 92), size, 5);
    const want = run(cpuBackend, p, g, options);
    const got = run(wasmBackend, p, g, options);
    expect(bytesOf(got).equals(bytesOf(want))).toBe(true);
    expectBitEqual(got.subarray(0, 7), storage.subarray(0, 7));
    expectBitEqual(got.subarray(size + 7), storage.subarray(size + 7));
    for (const o of [
      { ...options, weightDecay: 0.01 },
      { ...options, momentum: 0.9 },
    ]) {
      const bufRef = flat(new Float32Array(size), size);
      const bufWasm = flat(new Float32Array(size), size);
      const w = run(cpuBackend, p, g, o, bufRef);
      const x = run(wasmBackend, p, g, o, bufWasm);
      expect(bytesOf(x).equals(bytesOf(w))).toBe(true);
      expectBitEqual(bufWasm.storage as Float32Array, bufRef.storage as Float32Array);
    }
  });
});

describe('float32 elementwise fast paths', () => {
  it('add/sub/mul/div give the reference bits on contiguous, scalar, row-broadcast and other layouts', () => {
    const shape = [13, 17];
    const full = (seed: number): View => ({
      storage: randomData(13 * 17 + 5, seed),
      dtype: 'float32',
      shape,
      strides: [17, 1],
      offset: 5,
    });
    const row: View = {
      storage: randomData(17, 41),
      dtype: 'float32',
      shape,
      strides: [0, 1],
      offset: 0,
    };
    const column: View = {
      storage: randomData(13, 42),
      dtype: 'float32',
      shape,
      strides: [1, 0],
      offset: 0,
    };
    const scalar: View = {
      storage: new Float32Array([0, -2.5]),
      dtype: 'float32',
      shape,
      strides: [0, 0],
      offset: 1,
    };
    const transposed: View = {
      storage: randomData(13 * 17, 43),
      dtype: 'float32',
      shape,
      strides: [1, 13],
      offset: 0,
    };
    const operands = [full(44), row, column, scalar, transposed];
    for (const op of ['add', 'sub', 'mul', 'div', 'maximum', 'pow'] as const) {
      for (const a of operands) {
        for (const b of operands) {
          const got = wasmBackend.binary(op, a, b, 'float32') as Float32Array;
          const want = cpuBackend.binary(op, a, b, 'float32') as Float32Array;
          expect(got).toBeInstanceOf(Float32Array);
          expect(bytesOf(got).equals(bytesOf(want)), `${op} [${a.strides}] [${b.strides}]`).toBe(
            true,
          );
        }
      }
    }
  });
});

describe('fused linear layer (bias written first, the product added)', () => {
  it('matches matmul + add on the reference kernels, values and gradients', () => {
    const cases: { x: number[]; w: [number, number]; transposedX?: boolean; strided?: boolean }[] =
      [
        { x: [128, 784], w: [256, 784] },
        { x: [37, 19], w: [13, 19], transposedX: true, strided: true },
        { x: [4, 6, 33], w: [10, 33] },
        { x: [9, 16384], w: [32, 16384] }, // split K, onto the bias
        { x: [0, 8], w: [5, 8] },
        { x: [7, 0], w: [5, 0] },
      ];
    const run = (c: (typeof cases)[number], seed: number) => {
      const size = (s: number[]) => s.reduce((a, b) => a * b, 1);
      const xShape = c.transposedX ? [...c.x].reverse() : c.x;
      let x = tensor(Array.from(randomData(size(xShape), seed)), {
        shape: xShape,
        requiresGrad: true,
      });
      const leaf = x;
      if (c.transposedX) x = x.t();
      const w = tensor(Array.from(randomData(size(c.w), seed + 1)), {
        shape: c.w,
        requiresGrad: true,
      });
      const biasData = tensor(Array.from(randomData(2 * c.w[0], seed + 2)), {
        requiresGrad: true,
      });
      const b = c.strided ? biasData.index('::2') : biasData.index(`:${c.w[0]}`);
      const y = F.linear(x, w, b);
      const cot = tensor(Array.from(randomData(y.numel(), seed + 3)), { shape: y.shape });
      y.backward(cot);
      const data = (t: { dataSync(): ArrayLike<number> } | null) => Array.from(t!.dataSync());
      return {
        gradFn: y.gradFn?.name ?? '',
        values: [data(y), data(leaf.grad), data(w.grad), data(biasData.grad)],
      };
    };
    cases.forEach((c, i) => {
      const fast = run(c, 50 + 4 * i);
      useCpuKernels('reference');
      let reference: ReturnType<typeof run>;
      try {
        reference = run(c, 50 + 4 * i);
      } finally {
        useCpuKernels('wasm');
      }
      const label = `x [${c.x}] weight [${c.w}]`;
      // The fused kernel ran (for 2-D inputs the output's node is its own; N-D ones are reshaped).
      if (c.x.length === 2 && c.x[0] * c.w[0] * c.x[1] >= 512)
        expect(fast.gradFn, label).toBe('AddmmBackward');
      expect(reference.gradFn, label).not.toBe('AddmmBackward');
      fast.values.forEach((got, k) => {
        const want = reference.values[k];
        // |got − want| ≤ 16e-5·(1 + |want|), no NaN on either side.
        expectAllClose(got, want, {
          rtol: 16e-5,
          atol: 16e-5,
          equalNan: false,
          message: `${label} [${k}]`,
        });
      });
    });
  });
});

describe('cpu device registry', () => {
  it("'cpu' is the WebAssembly backend and 'cpu-reference' the reference one", () => {
    expect(getBackend('cpu')).toBe(wasmBackend);
    expect(getBackend('cpu-reference').name).toBe('cpu-reference');
    expect(randn([2, 2]).backend).toBe(wasmBackend);
  });

  it('tensor matmul, its gradient and conv2d agree between the two kernel sets', () => {
    const run = () => {
      const rows = (data: Float32Array, cols: number) =>
        Array.from({ length: data.length / cols }, (_, i) =>
          Array.from(data.subarray(i * cols, (i + 1) * cols)),
        );
      const x = tensor(rows(randomData(64 * 50, 31), 50), { requiresGrad: true });
      const w = tensor(rows(randomData(50 * 40, 32), 40), { requiresGrad: true });
      const y = matmul(x, w);
      y.square().sum().backward();
      const img = tensor(Array.from(randomData(2 * 3 * 12 * 12, 33))).reshape([2, 3, 12, 12]);
      const kernel = tensor(Array.from(randomData(8 * 3 * 3 * 3, 34))).reshape([8, 3, 3, 3]);
      const conv = F.conv2d(img, kernel, undefined, { padding: 1 });
      return [y, x.grad!, w.grad!, conv].map((t) => Array.from(t.dataSync()));
    };
    useCpuKernels('reference');
    let reference: number[][];
    try {
      reference = run();
    } finally {
      useCpuKernels('wasm');
    }
    const fast = run();
    fast.forEach((values, i) => {
      const scale = Math.max(...reference[i].map(Math.abs));
      expectAllClose(values, reference[i], {
        rtol: 0,
        atol: 1e-5 * scale,
        equalNan: false,
        message: `result ${i}`,
      });
    });
  });
});
