/**
 * The fast convolution and pooling paths against the reference computation: the backend kernels
 * (unfold2d, fold2d, maxPool2d, last-dim gather/scatter) against the reference backend's on
 * random geometries and strided views, bit for bit; F.conv2d / F.maxPool2d values and gradients
 * on the fast 'cpu' kernels against the reference kernels; the max-pooling primitive against the
 * general unfold + max composite it replaced; and its first and second derivatives.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Conv2dGeometry, View } from '../src/backend/backend.js';
import { cpuBackend } from '../src/backend/cpu/cpu_backend.js';
import { convOutputSize } from '../src/tensor/shape.js';
import {
  configureGemm,
  setNumThreads,
  setSimdLevel,
  useCpuKernels,
  wasmBackend,
} from '../src/backend/wasm/wasm_backend.js';
import { maxPool2dWithIndices, maxPoolWindowsValid } from '../src/autograd/ops/pooling.js';
import { unfold2d } from '../src/autograd/ops/conv.js';
import { conv2dBackwardF32 } from '../src/backend/wasm/conv.js';
import {
  col2imInMemory,
  im2colInMemory,
  maxPool2dF32,
} from '../src/backend/wasm/window_kernels.js';
import { col2imChannelMajor, im2colChannelMajor } from '../src/backend/wasm/window_loops.js';
import { kernelRuntime } from '../src/backend/wasm/kernel_runtime.js';
import type { DType, TypedArray } from '../src/tensor/dtype.js';
import { autograd, F, gradcheck, gradgradcheck, tensor, type Tensor } from '../src/index.js';
import { bytesOf } from './helpers/values.js';
import { expectBitEqual } from './helpers/close.js';

/** A small deterministic generator (xorshift), so failures reproduce. */
function rng(seed: number) {
  let s = seed >>> 0 || 1;
  const next = () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
  return { next, int: (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1)) };
}

function randomArray(dtype: DType, size: number, seed: number, integers = false): TypedArray {
  const r = rng(seed);
  const out = dtype === 'float64' ? new Float64Array(size) : new Float32Array(size);
  for (let i = 0; i < size; i++) out[i] = integers ? r.int(-3, 3) : r.next() * 2 - 1;
  return out;
}

function contiguous(shape: number[]): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    strides[d] = s;
    s *= shape[d];
  }
  return strides;
}

/**
 * A view of `shape` in one of several layouts over a larger random storage: contiguous, with an
 * offset, channels-last (permuted), or every other element of a wider last dim.
 */
function randomView(
  dtype: DType,
  shape: number[],
  layout: number,
  seed: number,
  integers = false,
): View {
  const [n, c, h, w] = shape;
  switch (layout % 4) {
    case 0:
      return {
        storage: randomArray(dtype, n * c * h * w, seed, integers),
        dtype,
        shape,
        strides: contiguous(shape),
        offset: 0,
      };
    case 1:
      return {
        storage: randomArray(dtype, n * c * h * w + 7, seed, integers),
        dtype,
        shape,
        strides: contiguous(shape),
        offset: 7,
      };
    case 2:
      // NHWC storage read as NCHW.
      return {
        storage: randomArray(dtype, n * c * h * w, seed, integers),
        dtype,
        shape,
        strides: [h * w * c, 1, w * c, c],
        offset: 0,
      };
    default:
      // Every other column of a [N, C, H, 2W] tensor, starting at column 1.
      return {
        storage: randomArray(dtype, n * c * h * 2 * w + 1, seed, integers),
        dtype,
        shape,
        strides: [c * h * 2 * w, h * 2 * w, 2 * w, 2],
        offset: 1,
      };
  }
}

function outputSize(h: number, w: number, g: Conv2dGeometry): [number, number] {
  const { outH, outW } = convOutputSize(h, w, g);
  return [outH, outW];
}

/** Random image shapes and window geometries with at least one window, plus some fixed edge cases. */
function geometries(count: number, seed: number): { shape: number[]; g: Conv2dGeometry }[] {
  const r = rng(seed);
  const cases: { shape: number[]; g: Conv2dGeometry }[] = [
    {
      shape: [64, 1, 28, 28],
      g: { kernel: [3, 3], stride: [1, 1], padding: [0, 0], dilation: [1, 1] },
    },
    {
      shape: [2, 3, 13, 13],
      g: { kernel: [3, 3], stride: [1, 1], padding: [0, 0], dilation: [1, 1] },
    },
    {
      shape: [1, 1, 1, 1],
      g: { kernel: [1, 1], stride: [1, 1], padding: [0, 0], dilation: [1, 1] },
    },
    {
      shape: [1, 2, 5, 7],
      g: { kernel: [5, 7], stride: [1, 1], padding: [0, 0], dilation: [1, 1] },
    },
    {
      shape: [1, 2, 3, 3],
      g: { kernel: [3, 3], stride: [2, 2], padding: [2, 2], dilation: [1, 1] },
    },
  ];
  while (cases.length < count) {
    const kernel: [number, number] = [r.int(1, 4), r.int(1, 4)];
    const stride: [number, number] = [r.int(1, 3), r.int(1, 3)];
    const dilation: [number, number] = [r.int(1, 2), r.int(1, 3)];
    const padding: [number, number] = [r.int(0, 2), r.int(0, 3)];
    const shape = [r.int(1, 3), r.int(1, 4), r.int(1, 11), r.int(1, 12)];
    const g = { kernel, stride, padding, dilation };
    const [outH, outW] = outputSize(shape[2], shape[3], g);
    if (outH > 0 && outW > 0) cases.push({ shape, g });
  }
  return cases;
}

function describeCase(shape: number[], g: Conv2dGeometry, layout: number, dtype: DType): string {
  return `${dtype} [${shape}] layout ${layout} kernel ${g.kernel} stride ${g.stride} padding ${g.padding} dilation ${g.dilation}`;
}

describe('fast sliding-window kernels equal the reference kernels', () => {
  const cases = geometries(60, 11);

  it('unfold2d, for every layout and pad value, bit for bit', () => {
    let checked = 0;
    cases.forEach(({ shape, g }, i) => {
      for (const dtype of ['float32', 'float64'] as DType[]) {
        const layout = i + (dtype === 'float64' ? 1 : 0);
        const x = randomView(dtype, shape, layout, 100 + i);
        for (const padValue of [0, -Infinity, 1.5]) {
          const got = wasmBackend.unfold2d(x, g, padValue) as TypedArray;
          const want = cpuBackend.unfold2d(x, g, padValue) as TypedArray;
          expect(got.constructor, describeCase(shape, g, layout, dtype)).toBe(want.constructor);
          expectBitEqual(got, want, describeCase(shape, g, layout, dtype));
          checked++;
        }
      }
    });
    expect(checked).toBe(cases.length * 6);
  });

  it('fold2d, from contiguous and strided columns, bit for bit', () => {
    cases.forEach(({ shape, g }, i) => {
      for (const dtype of ['float32', 'float64'] as DType[]) {
        const [n, c, h, w] = shape;
        const [outH, outW] = outputSize(h, w, g);
        const rows = c * g.kernel[0] * g.kernel[1];
        const L = outH * outW;
        const colShape = [n, rows, L];
        const storage = randomArray(dtype, n * rows * L + 3, 200 + i);
        // Contiguous with an offset, and the transposed layout [rows, N, L] read as [N, rows, L].
        const views: View[] = [
          { storage, dtype, shape: colShape, strides: [rows * L, L, 1], offset: 3 },
          { storage, dtype, shape: colShape, strides: [L, n * L, 1], offset: 0 },
          { storage, dtype, shape: colShape, strides: [rows * L, 1, rows], offset: 1 },
        ];
        for (const cols of views) {
          const label = `${describeCase(shape, g, 0, dtype)} column strides ${cols.strides}`;
          const got = wasmBackend.fold2d(cols, [n, c, h, w], g) as TypedArray;
          const want = cpuBackend.fold2d(cols, [n, c, h, w], g) as TypedArray;
          expect(got.constructor, label).toBe(want.constructor);
          expectBitEqual(got, want, label);
        }
      }
    });
  });

  it('maxPool2d values and indices, with ties, bit for bit', () => {
    const pools = [
      ...geometries(40, 23),
      {
        shape: [3, 4, 8, 10],
        g: { kernel: [2, 2], stride: [2, 2], padding: [0, 0], dilation: [1, 1] } as Conv2dGeometry,
      },
      {
        shape: [1, 2, 7, 9],
        g: { kernel: [2, 2], stride: [2, 2], padding: [0, 0], dilation: [1, 1] } as Conv2dGeometry,
      },
    ];
    let checked = 0;
    pools.forEach(({ shape, g }, i) => {
      const [, , h, w] = shape;
      const out = outputSize(h, w, g);
      // Both floor mode and one more window (ceil mode's overhang) per dim.
      for (const outSize of [out, [out[0] + 1, out[1] + 1] as [number, number]]) {
        if (!maxPoolWindowsValid(h, w, g, outSize)) continue;
        for (const dtype of ['float32', 'float64'] as DType[]) {
          // Small integers make ties common: the first maximum must win in both.
          const x = randomView(dtype, shape, i, 300 + i, i % 2 === 0);
          const label = `${describeCase(shape, g, i, dtype)} out ${outSize}`;
          const got = wasmBackend.maxPool2d(x, g, outSize);
          const want = cpuBackend.maxPool2d(x, g, outSize);
          expectBitEqual(got.values as TypedArray, want.values as TypedArray, label);
          expectBitEqual(got.indices as Int32Array, want.indices as Int32Array, label);
          checked++;
        }
      }
    });
    expect(checked).toBeGreaterThan(60);
  });

  it('maxPool2d: the first maximum wins ties and a NaN wins over numbers (the last NaN, as PyTorch)', () => {
    const g: Conv2dGeometry = { kernel: [2, 2], stride: [2, 2], padding: [0, 0], dilation: [1, 1] };
    const data = new Float32Array([
      1,
      5,
      2,
      2, //
      5,
      0,
      NaN,
      NaN,
    ]);
    const x: View = {
      storage: data,
      dtype: 'float32',
      shape: [1, 1, 2, 4],
      strides: [8, 8, 4, 1],
      offset: 0,
    };
    for (const backend of [wasmBackend, cpuBackend]) {
      const { values, indices } = backend.maxPool2d(x, g, [1, 2]);
      expect(Array.from(values as Float32Array)).toEqual([5, NaN]);
      expect(Array.from(indices as Int32Array)).toEqual([1, 7]);
    }
    // A generic-path window (3×3, padded) with a NaN in it.
    const y: View = { ...x, storage: new Float32Array([1, 2, NaN, 3, 4, 5, 6, 7]) };
    const pad: Conv2dGeometry = {
      kernel: [3, 3],
      stride: [1, 1],
      padding: [1, 1],
      dilation: [1, 1],
    };
    const fast = wasmBackend.maxPool2d(y, pad, [2, 4]);
    const ref = cpuBackend.maxPool2d(y, pad, [2, 4]);
    expectBitEqual(fast.indices as Int32Array, ref.indices as Int32Array);
    expect(Array.from(fast.indices as Int32Array)).toEqual([5, 2, 2, 2, 5, 2, 2, 2]);
  });

  it('maxPool2d on the WebAssembly task (generic and 2×2 SIMD paths) equals the JS kernel bit for bit, on 1 and 2 threads', async () => {
    const cases = [
      ...geometries(40, 29),
      // 2×2 stride 2: widths that leave 0–3 windows after the groups of four, odd sizes, planes.
      ...[
        [2, 3, 8, 16],
        [1, 2, 9, 11],
        [3, 5, 26, 26],
        [1, 1, 2, 30],
        [2, 7, 11, 13],
      ].map((shape) => ({
        shape,
        g: { kernel: [2, 2], stride: [2, 2], padding: [0, 0], dilation: [1, 1] } as Conv2dGeometry,
      })),
    ];
    let checked = 0;
    let fast = 0;
    try {
      for (const threads of [1, 2]) {
        await setNumThreads(threads);
        cases.forEach(({ shape, g }, i) => {
          const [, , h, w] = shape;
          const out = outputSize(h, w, g);
          for (const outSize of [out, [out[0] + 1, out[1] + 1] as [number, number]]) {
            if (outSize[0] < 1 || outSize[1] < 1 || !maxPoolWindowsValid(h, w, g, outSize))
              continue;
            // Ties (small integers), NaNs (some windows with several), and strided layouts.
            const x = randomView('float32', shape, i, 700 + i, i % 2 === 0);
            const data = x.storage as Float32Array;
            const r = rng(900 + i);
            for (let q = 0; q < data.length; q++) if (r.next() < 0.08) data[q] = NaN;
            const label = `${describeCase(shape, g, i, 'float32')} out ${outSize} threads ${threads}`;
            const got = maxPool2dF32(x, g, outSize, { force: true, parallel: threads > 1 });
            const want = cpuBackend.maxPool2d(x, g, outSize);
            expect(got, label).not.toBeNull();
            expectBitEqual(got!.values, want.values as Float32Array, label);
            expectBitEqual(got!.indices, want.indices as Int32Array, label);
            if (g.kernel[0] === 2 && g.stride[0] === 2 && g.kernel[1] === 2) fast++;
            checked++;
          }
        });
      }
    } finally {
      await setNumThreads(null);
    }
    expect(checked).toBeGreaterThan(60);
    expect(fast).toBeGreaterThan(8);
    // Not float32: declined (the JS kernel runs).
    const x64 = randomView('float64', [1, 1, 4, 4], 0, 1);
    const g2: Conv2dGeometry = {
      kernel: [2, 2],
      stride: [2, 2],
      padding: [0, 0],
      dilation: [1, 1],
    };
    expect(maxPool2dF32(x64, g2, [2, 2], { force: true })).toBeNull();
  });

  it('maxPool2d on the WebAssembly task of the scalar module (no SIMD) equals the JS kernel', () => {
    try {
      setSimdLevel('scalar');
      const cases = [
        ...geometries(12, 31),
        {
          shape: [2, 3, 9, 13],
          g: {
            kernel: [2, 2],
            stride: [2, 2],
            padding: [0, 0],
            dilation: [1, 1],
          } as Conv2dGeometry,
        },
      ];
      let checked = 0;
      cases.forEach(({ shape, g }, i) => {
        const out = outputSize(shape[2], shape[3], g);
        if (out[0] < 1 || out[1] < 1 || !maxPoolWindowsValid(shape[2], shape[3], g, out)) return;
        const x = randomView('float32', shape, i, 800 + i, true);
        const data = x.storage as Float32Array;
        for (let q = 0; q < data.length; q += 7) data[q] = NaN;
        const got = maxPool2dF32(x, g, out, { force: true })!;
        const want = cpuBackend.maxPool2d(x, g, out);
        const label = describeCase(shape, g, i, 'float32');
        expectBitEqual(got.values, want.values as Float32Array, label);
        expectBitEqual(got.indices, want.indices as Int32Array, label);
        checked++;
      });
      expect(checked).toBeGreaterThan(5);
    } finally {
      setSimdLevel(null);
    }
  });

  it('maxPool2d on the WebAssembly task: NaN and tie rules in the 2×2 SIMD path', () => {
    const g: Conv2dGeometry = { kernel: [2, 2], stride: [2, 2], padding: [0, 0], dilation: [1, 1] };
    // Four windows per row pair (one SIMD group): a tie (first wins), a NaN in the second pair,
    // NaNs in both pairs (the last wins), -0 against +0 (the first wins).
    const top = [3, 3, 1, NaN, NaN, 2, -0, 0];
    const bottom = [1, 3, 5, 4, 1, NaN, 0, -0];
    const x: View = {
      storage: new Float32Array([...top, ...bottom]),
      dtype: 'float32',
      shape: [1, 1, 2, 8],
      strides: [16, 16, 8, 1],
      offset: 0,
    };
    const got = maxPool2dF32(x, g, [1, 4], { force: true })!;
    const want = cpuBackend.maxPool2d(x, g, [1, 4]);
    expect(Array.from(got.indices)).toEqual([0, 3, 13, 6]);
    expectBitEqual(got.indices, want.indices as Int32Array);
    expectBitEqual(got.values, want.values as Float32Array);
    expect(Object.is(got.values[3], -0)).toBe(true);
  });

  it('gather and scatter along the last dim, and their bounds errors', () => {
    const r = rng(5);
    for (let t = 0; t < 20; t++) {
      const rows = r.int(1, 6);
      const size = r.int(1, 9);
      const count = r.int(1, 12);
      const x: View = {
        storage: randomArray('float32', rows * size + 2, t),
        dtype: 'float32',
        shape: [rows, size],
        strides: [size, 1],
        offset: 2,
      };
      const idx = new Int32Array(rows * count).map(() => r.int(0, size - 1));
      const index: View = {
        storage: idx,
        dtype: 'int32',
        shape: [rows, count],
        strides: [count, 1],
        offset: 0,
      };
      expectBitEqual(
        wasmBackend.gather(x, 1, index) as Float32Array,
        cpuBackend.gather(x, 1, index) as Float32Array,
      );
      const src: View = {
        storage: randomArray('float32', rows * count, 50 + t),
        dtype: 'float32',
        shape: [rows, count],
        strides: [count, 1],
        offset: 0,
      };
      for (const mode of ['add', 'assign'] as const) {
        expectBitEqual(
          wasmBackend.scatter(x, 1, index, src, mode) as Float32Array,
          cpuBackend.scatter(x, 1, index, src, mode) as Float32Array,
        );
      }
    }
    const x: View = {
      storage: new Float32Array(6),
      dtype: 'float32',
      shape: [2, 3],
      strides: [3, 1],
      offset: 0,
    };
    const bad: View = {
      storage: new Int32Array([0, 3]),
      dtype: 'int32',
      shape: [2, 1],
      strides: [1, 1],
      offset: 0,
    };
    const src: View = {
      storage: new Float32Array(2),
      dtype: 'float32',
      shape: [2, 1],
      strides: [1, 1],
      offset: 0,
    };
    expect(() => wasmBackend.gather(x, 1, bad)).toThrow(
      'gather: index 3 is out of bounds for dimension 1 with size 3',
    );
    expect(() => wasmBackend.scatter(x, 1, bad, src, 'add')).toThrow(
      'scatterAdd: index 3 is out of bounds for dimension 1 with size 3',
    );
  });
});

/** Values and input gradients of `fn` on the given inputs, computed with the given CPU kernels. */
function run(
  kind: 'wasm' | 'reference',
  make: () => Tensor[],
  fn: (...xs: Tensor[]) => Tensor,
  cotangentSeed: number,
): { out: number[]; grads: number[][] } {
  useCpuKernels(kind);
  const inputs = make();
  const out = fn(...inputs);
  const cot = tensor(Array.from(randomArray('float32', out.numel(), cotangentSeed)), {
    shape: out.shape,
    dtype: out.dtype,
  });
  out.backward(cot);
  return {
    out: Array.from(out.dataSync()),
    grads: inputs.filter((t) => t.grad !== null).map((t) => Array.from(t.grad!.dataSync())),
  };
}

function expectClose(got: number[], want: number[], tol: number, label: string): void {
  expect(got.length, label).toBe(want.length);
  let worst = 0;
  for (let i = 0; i < want.length; i++) {
    const err = Math.abs(got[i] - want[i]) / (1 + Math.abs(want[i]));
    if (!(err <= worst)) worst = err;
  }
  expect(worst, label).toBeLessThanOrEqual(tol);
}

describe('F.conv2d and F.maxPool2d on the fast kernels against the reference kernels', () => {
  afterEach(() => useCpuKernels('wasm'));

  const leaf = (data: TypedArray, shape: number[], dtype: DType) =>
    tensor(Array.from(data), { shape, dtype, requiresGrad: true });

  it('conv2d: values and gradients for random shapes, strides, padding, dilation, groups and layouts', () => {
    const r = rng(77);
    let checked = 0;
    for (let t = 0; t < 30; t++) {
      const groups = [1, 1, 2, 3][t % 4];
      const inPer = r.int(1, 3);
      const outPer = r.int(1, 3);
      const n = t % 5 === 0 ? 1 : r.int(1, 3);
      const kernel: [number, number] = [r.int(1, 3), r.int(1, 3)];
      const stride: [number, number] = [r.int(1, 2), r.int(1, 2)];
      const padding: [number, number] = [r.int(0, 2), r.int(0, 2)];
      const dilation: [number, number] = [r.int(1, 2), r.int(1, 2)];
      const h = r.int(1, 9);
      const w = r.int(1, 10);
      if (
        h + 2 * padding[0] - dilation[0] * (kernel[0] - 1) - 1 < 0 ||
        w + 2 * padding[1] - dilation[1] * (kernel[1] - 1) - 1 < 0
      )
        continue;
      const dtype: DType = t % 3 === 0 ? 'float64' : 'float32';
      const transposed = t % 2 === 1;
      const xData = randomArray(dtype, n * inPer * groups * h * w, 1000 + t);
      const wData = randomArray(dtype, outPer * groups * inPer * kernel[0] * kernel[1], 2000 + t);
      const bData = randomArray(dtype, outPer * groups, 3000 + t);
      const withBias = t % 4 !== 3;
      const make = () => {
        // The transposed case stores x as [N, C, W, H] and passes a non-contiguous transpose.
        const x = transposed
          ? leaf(xData, [n, inPer * groups, w, h], dtype)
          : leaf(xData, [n, inPer * groups, h, w], dtype);
        return [
          x,
          leaf(wData, [outPer * groups, inPer, ...kernel], dtype),
          leaf(bData, [outPer * groups], dtype),
        ];
      };
      const fn = (x: Tensor, weight: Tensor, bias: Tensor) =>
        F.conv2d(transposed ? x.transpose(2, 3) : x, weight, withBias ? bias : null, {
          stride,
          padding,
          dilation,
          groups,
        });
      const fast = run('wasm', make, fn, 4000 + t);
      const ref = run('reference', make, fn, 4000 + t);
      const label = `conv2d case ${t}: n ${n} groups ${groups} ${h}x${w} kernel ${kernel} stride ${stride} padding ${padding} dilation ${dilation} ${dtype}`;
      const tol = dtype === 'float64' ? 1e-12 : 1e-5;
      expectClose(fast.out, ref.out, tol, `${label} output`);
      expect(fast.grads.length).toBe(withBias ? 3 : 2);
      fast.grads.forEach((g, i) => expectClose(g, ref.grads[i], tol, `${label} grad ${i}`));
      checked++;
    }
    expect(checked).toBeGreaterThan(15);
  });

  it('maxPool2d: values and gradients for random windows, ceil mode, odd sizes and layouts', () => {
    const r = rng(99);
    let checked = 0;
    for (let t = 0; t < 40; t++) {
      const kernel: [number, number] = [r.int(1, 3), r.int(1, 3)];
      const stride: [number, number] = [r.int(1, 3), r.int(1, 3)];
      const dilation: [number, number] = [r.int(1, 2), r.int(1, 2)];
      const padding: [number, number] = [
        r.int(0, Math.floor(((kernel[0] - 1) * dilation[0] + 1) / 2)),
        r.int(0, Math.floor(((kernel[1] - 1) * dilation[1] + 1) / 2)),
      ];
      const ceilMode = t % 3 === 0;
      const shape = [t % 4 === 0 ? 1 : r.int(1, 3), r.int(1, 3), r.int(3, 11), r.int(3, 12)];
      const dtype: DType = t % 2 === 0 ? 'float64' : 'float32';
      // Small integers: many ties, whose gradient must go to the first maximum in both paths.
      const data = randomArray(
        dtype,
        shape.reduce((a, b) => a * b),
        5000 + t,
        t % 2 === 1,
      );
      const make = () => [leaf(data, shape, dtype)];
      const fn = (x: Tensor) =>
        F.maxPool2d(t % 5 === 2 ? x.mul(1).transpose(2, 3).transpose(2, 3) : x, kernel, {
          stride,
          padding,
          dilation,
          ceilMode,
        });
      let ref;
      try {
        ref = run('reference', make, fn, 6000 + t);
      } catch {
        continue; // a geometry F rejects (output size 0)
      }
      const fast = run('wasm', make, fn, 6000 + t);
      const label = `maxPool2d case ${t}: [${shape}] kernel ${kernel} stride ${stride} padding ${padding} dilation ${dilation} ceil ${ceilMode}`;
      expectBitEqual(fast.out, ref.out, label);
      expect(fast.grads.length, label).toBe(ref.grads.length);
      fast.grads.forEach((g, i) => expectBitEqual(g, ref.grads[i], `${label} grad ${i}`));
      checked++;
    }
    expect(checked).toBeGreaterThan(25);
  });

  it('maxPool2d equals the general unfold + max composite (values, gradient to the first maximum)', () => {
    const r = rng(3);
    for (let t = 0; t < 20; t++) {
      const shape = [r.int(1, 2), r.int(1, 3), r.int(2, 9), r.int(2, 9)];
      const g: Conv2dGeometry = {
        kernel: [2, r.int(1, 3)],
        stride: [r.int(1, 2), 2],
        padding: [r.int(0, 1), 0],
        dilation: [1, r.int(1, 2)],
      };
      const [outH, outW] = outputSize(shape[2], shape[3], g);
      if (outH <= 0 || outW <= 0) continue;
      const data = Array.from(
        randomArray(
          'float64',
          shape.reduce((a, b) => a * b),
          7000 + t,
          true,
        ),
      );
      const cot = tensor(
        Array.from(randomArray('float64', shape[0] * shape[1] * outH * outW, 8000 + t)),
        { shape: [shape[0], shape[1], outH, outW], dtype: 'float64' },
      );

      const x1 = tensor(data, { shape, dtype: 'float64', requiresGrad: true });
      const [values, indices] = maxPool2dWithIndices(x1, g, [outH, outW]);
      values.backward(cot);
      const x2 = tensor(data, { shape, dtype: 'float64', requiresGrad: true });
      const general = unfold2d(x2, g, -Infinity)
        .reshape([shape[0], shape[1], g.kernel[0] * g.kernel[1], outH * outW])
        .max(2)
        .values.reshape([shape[0], shape[1], outH, outW]);
      general.backward(cot);
      expectBitEqual(values.dataSync(), general.dataSync());
      expectBitEqual(x1.grad!.dataSync(), x2.grad!.dataSync());
      expect(indices.dtype).toBe('int32');
      expect(indices.shape).toEqual([shape[0], shape[1], outH, outW]);
    }
  });

  it('maxPool2d: a window wholly in the padding takes the general path, as before', () => {
    // kernel 2, dilation 3, padding 2 over a 1×1 image: the one window's taps are at −2 and 1.
    const g: Conv2dGeometry = { kernel: [2, 2], stride: [2, 2], padding: [2, 2], dilation: [3, 3] };
    expect(maxPoolWindowsValid(1, 1, g, [1, 1])).toBe(false);
    expect(() => maxPool2dWithIndices(tensor([[[[1]]]]), g, [1, 1])).toThrow(
      /lies wholly in the padding/,
    );
    const x = tensor([[[[1]]]], { requiresGrad: true });
    const y = F.maxPool2d(x, 2, { padding: 2, dilation: 3 });
    expect(Array.from(y.dataSync())).toEqual([-Infinity]);
    y.sum().backward();
    expect(Array.from(x.grad!.dataSync())).toEqual([0]);
  });

  it('maxPool2d: first and second derivatives (gradcheck, gradgradcheck)', () => {
    // Distinct values, so the max is stable under finite-difference steps.
    const data = Array.from({ length: 2 * 2 * 7 * 6 }, (_, i) => ((i * 37) % 84) / 10 - 4);
    for (const options of [
      { stride: 2 },
      { stride: 1, padding: 1, dilation: 2 },
      { stride: 2, ceilMode: true },
    ]) {
      const x = tensor(data, { shape: [2, 2, 7, 6], dtype: 'float64', requiresGrad: true });
      const f = (t: Tensor) => F.maxPool2d(t, [3, 2], options).square();
      expect(gradcheck(f, [x])).toBe(true);
      expect(gradgradcheck(f, [x])).toBe(true);
    }
  });
});

describe('whole-layer conv2d (one matmul over the batch) and fused relu against the reference', () => {
  afterEach(() => useCpuKernels('wasm'));

  it('im2col / col2im in the channel-major layout [C·kh·kw, N·L] equal unfold2d / fold2d, bit for bit', () => {
    for (const { shape, g } of geometries(40, 4321)) {
      const [n, c, h, w] = shape;
      const [outH, outW] = outputSize(h, w, g);
      const L = outH * outW;
      const rows = c * g.kernel[0] * g.kernel[1];
      for (let layout = 0; layout < 4; layout++) {
        const x = randomView('float32', shape, layout, 17 + layout);
        const label = describeCase(shape, g, layout, 'float32');
        const want = cpuBackend.unfold2d(x, g, 0) as Float32Array; // [N, rows, L]
        const got = im2colChannelMajor(x, g); // [rows, N·L]
        expect(got.length, label).toBe(want.length);
        const reordered = new Float32Array(want.length);
        for (let b = 0; b < n; b++)
          for (let r = 0; r < rows; r++)
            for (let l = 0; l < L; l++)
              reordered[r * n * L + b * L + l] = want[(b * rows + r) * L + l];
        expectBitEqual(got, reordered, label);
        // Into a caller's array (as the gemm's memory) that holds stale values: padding zeroed.
        const into = new Float32Array(got.length + 3).fill(Number.NaN);
        im2colChannelMajor(x, g, into);
        expectBitEqual(into.subarray(0, got.length), reordered, `${label} (into)`);
        expect(Number.isNaN(into[got.length]), `${label} (past the end untouched)`).toBe(true);
      }
      const cols = randomArray('float32', rows * n * L, 99) as Float32Array;
      const asNRL = new Float32Array(cols.length);
      for (let b = 0; b < n; b++)
        for (let r = 0; r < rows; r++)
          for (let l = 0; l < L; l++) asNRL[(b * rows + r) * L + l] = cols[r * n * L + b * L + l];
      const want = cpuBackend.fold2d(
        {
          storage: asNRL,
          dtype: 'float32',
          shape: [n, rows, L],
          strides: [rows * L, L, 1],
          offset: 0,
        },
        [n, c, h, w],
        g,
      );
      expectBitEqual(
        col2imChannelMajor(cols, [n, c, h, w], g),
        want as Float32Array,
        describeCase(shape, g, 0, 'float32'),
      );
    }
  });

  it('im2col / col2im on the WebAssembly kernels equal the JavaScript loops bit for bit, on 1 and 2 threads', async () => {
    const cases = [
      ...geometries(40, 4242),
      // Large enough to use the worker threads, with images split over tasks unevenly.
      {
        shape: [5, 7, 30, 31],
        g: { kernel: [3, 2], stride: [2, 1], padding: [1, 0], dilation: [1, 2] } as Conv2dGeometry,
      },
      {
        shape: [9, 1, 28, 28],
        g: { kernel: [3, 3], stride: [1, 1], padding: [0, 0], dilation: [1, 1] } as Conv2dGeometry,
      },
    ];
    const results: Float32Array[][] = [];
    try {
      for (const threads of [1, 2]) {
        await setNumThreads(threads);
        const out: Float32Array[] = [];
        for (const { shape, g } of cases) {
          const [n, c, h, w] = shape;
          const [outH, outW] = outputSize(h, w, g);
          const size = c * g.kernel[0] * g.kernel[1] * n * outH * outW;
          const { rt } = kernelRuntime(false)!;
          const ptr = rt.arena.allocate(size * 4);
          expect(ptr).toBeGreaterThan(0);
          for (let layout = 0; layout < 4; layout++) {
            const x = randomView('float32', shape, layout, 31 + layout);
            const label = `${describeCase(shape, g, layout, 'float32')}, ${threads} threads`;
            rt.heap().fill(Number.NaN, ptr >> 2, (ptr >> 2) + size); // stale values
            expect(im2colInMemory(x, g, ptr), label).toBe(true);
            const got = rt.heap().slice(ptr >> 2, (ptr >> 2) + size);
            expectBitEqual(got, im2colChannelMajor(x, g), label);
            out.push(got);
          }
          const cols = randomArray('float32', size, 5) as Float32Array;
          rt.heap().set(cols, ptr >> 2);
          const image = col2imInMemory([n, c, h, w], g, ptr)!;
          rt.arena.release(ptr);
          const label = `${describeCase(shape, g, 0, 'float32')}, col2im, ${threads} threads`;
          expectBitEqual(image, col2imChannelMajor(cols, [n, c, h, w], g), label);
          out.push(image);
        }
        results.push(out);
      }
    } finally {
      await setNumThreads(null);
    }
    results[1].forEach((r, i) =>
      expect(bytesOf(r).equals(bytesOf(results[0][i])), `result ${i}`).toBe(true),
    );
  });

  it('conv2d backward: columns written into the gemm memory (none kept) equal the kept columns, bit for bit', () => {
    // minWork 0: every product on the WebAssembly kernels; 2^40: all on the reference (writers materialized).
    for (const minWork of [0, 2 ** 40]) {
      const restore = configureGemm({ minWork });
      try {
        for (const { shape, g } of geometries(25, 777)) {
          const [n, c, h, w] = shape;
          const [outH, outW] = outputSize(h, w, g);
          const o = 1 + (c % 3) * 3;
          for (let layout = 0; layout < 2; layout++) {
            const x = randomView('float32', shape, layout, 5 + layout);
            const label = describeCase(shape, g, layout, 'float32');
            const weight: View = {
              storage: randomArray('float32', o * c * g.kernel[0] * g.kernel[1], 6),
              dtype: 'float32',
              shape: [o, c, g.kernel[0], g.kernel[1]],
              strides: [c * g.kernel[0] * g.kernel[1], g.kernel[0] * g.kernel[1], g.kernel[1], 1],
              offset: 0,
            };
            const grad = randomView('float32', [n, o, outH, outW], layout, 8);
            const kept = im2colChannelMajor(x, g);
            const a = conv2dBackwardF32(x, weight, grad, g, kept, [true, true, true]);
            const b = conv2dBackwardF32(x, weight, grad, g, null, [true, true, true]);
            expectBitEqual(b.weight!, a.weight!, label);
            expectBitEqual(b.input!, a.input!, label);
            expectBitEqual(b.bias!, a.bias!, label);
            // And the weight gradient agrees with the reference: Σ_b grad_b [O, L] · unfold(x)_bᵀ.
            const cols = cpuBackend.unfold2d(x, g, 0) as Float32Array; // [N, rows, L]
            const rows = c * g.kernel[0] * g.kernel[1];
            const L = outH * outW;
            const gs = grad.storage as Float32Array;
            const want = new Float64Array(o * rows);
            for (let bb = 0; bb < n; bb++)
              for (let oc = 0; oc < o; oc++)
                for (let r = 0; r < rows; r++) {
                  let sum = 0;
                  for (let l = 0; l < L; l++) {
                    const [oy, ox] = [Math.floor(l / outW), l % outW];
                    const gi =
                      grad.offset +
                      bb * grad.strides[0] +
                      oc * grad.strides[1] +
                      oy * grad.strides[2] +
                      ox * grad.strides[3];
                    sum += gs[gi] * cols[(bb * rows + r) * L + l];
                  }
                  want[oc * rows + r] += sum;
                }
            expectClose(Array.from(b.weight!), Array.from(want), 1e-5 * Math.max(1, n * L), label);
          }
        }
      } finally {
        configureGemm(restore);
      }
    }
  });

  it('conv2d / conv1d: values and gradients on random geometries, padding "same", which inputs require grad', () => {
    const r = rng(2024);
    let fastCases = 0;
    for (let t = 0; t < 40; t++) {
      const n = r.int(1, 5);
      const c = r.int(1, 6);
      const o = r.int(1, 9);
      const kernel: [number, number] = [r.int(1, 4), r.int(1, 4)];
      const same = t % 7 === 3;
      const stride: [number, number] = same ? [1, 1] : [r.int(1, 3), r.int(1, 3)];
      const padding: [number, number] = [r.int(0, 2), r.int(0, 2)];
      const dilation: [number, number] = [r.int(1, 2), r.int(1, 2)];
      const h = r.int(3, 14);
      const w = r.int(3, 14);
      if (
        h + 2 * padding[0] < dilation[0] * (kernel[0] - 1) + 1 ||
        w + 2 * padding[1] < dilation[1] * (kernel[1] - 1) + 1
      )
        continue;
      // Which of x, weight, bias take part (and so which gradients the fast backward computes).
      const wants = [t % 5 !== 1, t % 5 !== 2, t % 4 !== 3];
      const withBias = t % 6 !== 5;
      const layout = t % 3;
      const xData = randomArray('float32', n * c * h * w, 100 + t);
      const wData = randomArray('float32', o * c * kernel[0] * kernel[1], 200 + t);
      const bData = randomArray('float32', o, 300 + t);
      const make = () => [
        tensor(Array.from(xData), {
          shape: layout === 1 ? [n, c, w, h] : [n, c, h, w],
          requiresGrad: wants[0],
        }),
        tensor(Array.from(wData), { shape: [o, c, ...kernel], requiresGrad: wants[1] }),
        tensor(Array.from(bData), { shape: [o], requiresGrad: wants[2] }),
      ];
      let gradFn = '';
      const fn = (x: Tensor, weight: Tensor, bias: Tensor) => {
        const input = layout === 1 ? x.transpose(2, 3) : layout === 2 ? x.mul(1) : x;
        const y = F.conv2d(input, weight, withBias ? bias : null, {
          stride,
          padding: same ? 'same' : padding,
          dilation,
        });
        gradFn = y.gradFn?.name ?? '';
        return y;
      };
      if (!wants.some((v, i) => v && (i < 2 || withBias))) continue;
      const fast = run('wasm', make, fn, 400 + t);
      const fastFn = gradFn;
      const ref = run('reference', make, fn, 400 + t);
      const label = `case ${t}: n ${n} c ${c} o ${o} ${h}x${w} kernel ${kernel} stride ${stride} padding ${same ? 'same' : padding} dilation ${dilation} wants ${wants} bias ${withBias}`;
      // The fast path ran on the 'cpu' kernels (and not on the reference ones).
      expect(fastFn, label).toBe('ConvolutionBackward');
      expect(gradFn, label).not.toBe('ConvolutionBackward');
      fastCases++;
      expectClose(fast.out, ref.out, 1e-5, `${label} output`);
      expect(fast.grads.length, label).toBe(ref.grads.length);
      fast.grads.forEach((g, i) => expectClose(g, ref.grads[i], 2e-5, `${label} grad ${i}`));
    }
    expect(fastCases).toBeGreaterThan(20);
    // conv1d is conv2d over images of height 1.
    const xData = randomArray('float32', 3 * 4 * 30, 5);
    const wData = randomArray('float32', 5 * 4 * 3, 6);
    const make1d = () => [
      tensor(Array.from(xData), { shape: [3, 4, 30], requiresGrad: true }),
      tensor(Array.from(wData), { shape: [5, 4, 3], requiresGrad: true }),
    ];
    const fn1d = (x: Tensor, weight: Tensor) =>
      F.conv1d(x, weight, null, { stride: 2, padding: 1, dilation: 2 });
    const fast = run('wasm', make1d, fn1d, 7);
    const ref = run('reference', make1d, fn1d, 7);
    expectClose(fast.out, ref.out, 1e-5, 'conv1d output');
    fast.grads.forEach((g, i) => expectClose(g, ref.grads[i], 2e-5, `conv1d grad ${i}`));
  });

  it('conv2d at the benchmark CNN shapes equals the reference (values, all gradients)', () => {
    for (const [n, c, h, o] of [
      [64, 1, 28, 32],
      [16, 32, 13, 64],
    ]) {
      const xData = randomArray('float32', n * c * h * h, 11 + c);
      const wData = randomArray('float32', o * c * 9, 12 + c);
      const bData = randomArray('float32', o, 13 + c);
      const make = () => [
        tensor(Array.from(xData), { shape: [n, c, h, h], requiresGrad: true }),
        tensor(Array.from(wData), { shape: [o, c, 3, 3], requiresGrad: true }),
        tensor(Array.from(bData), { shape: [o], requiresGrad: true }),
      ];
      const fn = (x: Tensor, weight: Tensor, bias: Tensor) => F.relu(F.conv2d(x, weight, bias));
      const fast = run('wasm', make, fn, 14);
      const ref = run('reference', make, fn, 14);
      expectClose(fast.out, ref.out, 1e-5, `[${n}, ${c}, ${h}, ${h}] output`);
      // The gradients sum over up to 64·26·26 terms: float32 rounding in another order.
      fast.grads.forEach((g, i) =>
        expectClose(g, ref.grads[i], 1e-4, `[${n}, ${c}, ${h}, ${h}] grad ${i}`),
      );
    }
  });

  it("conv2d's columns go back to the backend when backward frees the graph, and stay for retainGraph", () => {
    useCpuKernels('wasm');
    const released: unknown[] = [];
    const release = wasmBackend.release!;
    const conv = wasmBackend.conv2d!;
    const made: unknown[] = [];
    wasmBackend.release = (storage) => {
      released.push(storage);
      release.call(wasmBackend, storage);
    };
    wasmBackend.conv2d = (...args) => {
      const result = conv.apply(wasmBackend, args);
      made.push(result?.columns);
      return result;
    };
    try {
      const x = tensor(Array.from(randomArray('float32', 4 * 3 * 20 * 20, 31)), {
        shape: [4, 3, 20, 20],
      });
      const w = tensor(Array.from(randomArray('float32', 8 * 3 * 9, 32)), {
        shape: [8, 3, 3, 3],
        requiresGrad: true,
      });
      const loss = () => F.conv2d(x, w).square().sum();
      // Kept through a first backward with retainGraph, so the second one can read them.
      const retained = loss();
      retained.backward(undefined, { retainGraph: true });
      const first = Array.from(w.grad!.dataSync());
      expect(made[0]).toBeInstanceOf(Float32Array);
      expect(released).not.toContain(made[0]);
      w.grad = null;
      retained.backward();
      expect(Array.from(w.grad!.dataSync())).toEqual(first);
      expect(released).toContain(made[0]);
      // A plain backward gives them back too, and the next forward reuses their memory.
      loss().backward();
      expect(released).toContain(made[1]);
      loss();
      expect((made[2] as Float32Array).byteOffset).toBe((made[1] as Float32Array).byteOffset);
    } finally {
      wasmBackend.release = release;
      wasmBackend.conv2d = conv;
    }
  });

  it('conv2d double backward (createGraph) on the fast kernels equals the reference', () => {
    const xData = randomArray('float32', 2 * 3 * 7 * 6, 21);
    const wData = randomArray('float32', 4 * 3 * 3 * 2, 22);
    const result = (kind: 'wasm' | 'reference') => {
      useCpuKernels(kind);
      const x = tensor(Array.from(xData), { shape: [2, 3, 7, 6], requiresGrad: true });
      const w = tensor(Array.from(wData), { shape: [4, 3, 3, 2], requiresGrad: true });
      const y = F.conv2d(x, w, null, { stride: [2, 1], padding: 1 });
      const [gx] = autograd.grad(y.square().sum(), [x], { createGraph: true });
      gx!.square().sum().backward();
      return {
        name: y.gradFn!.name,
        gw: Array.from(w.grad!.dataSync()),
        gx: Array.from(x.grad!.dataSync()),
      };
    };
    const fast = result('wasm');
    const ref = result('reference');
    expect(fast.name).toBe('ConvolutionBackward');
    expectClose(fast.gw, ref.gw, 1e-4, 'second-order weight gradient');
    expectClose(fast.gx, ref.gx, 1e-4, 'second-order input gradient');
    expect(fast.gw.some((v) => v !== 0)).toBe(true);
  });

  it('relu and its backward: the fused kernels equal the composed ones bit for bit (NaN, ±0, ±Infinity)', () => {
    const special = [NaN, -NaN, 0, -0, Infinity, -Infinity, 1e-45, -1e-45, 3.5, -2.25];
    const values = Array.from({ length: 600 }, (_, i) =>
      i < special.length ? special[i] : Math.sin(i * 1.7) * 10,
    );
    const x: View = {
      storage: Float32Array.from(values),
      dtype: 'float32',
      shape: [20, 30],
      strides: [30, 1],
      offset: 0,
    };
    const got = wasmBackend.unary('relu', x, 'float32') as Float32Array;
    const want = cpuBackend.unary('relu', x, 'float32') as Float32Array;
    expectBitEqual(got, want, 'relu');
    const g: View = {
      ...x,
      storage: Float32Array.from(values, (v, i) => (i % 3 === 0 ? -v : v + 1)),
    };
    const back = wasmBackend.reluBackward!(g, x) as Float32Array;
    const zero: View = {
      storage: new Float32Array([0]),
      dtype: 'float32',
      shape: [20, 30],
      strides: [0, 0],
      offset: 0,
    };
    const mask = cpuBackend.binary('gt', x, zero, 'bool') as Uint8Array;
    const expected = Float32Array.from(values, (_, i) => (g.storage as Float32Array)[i] * mask[i]);
    expectBitEqual(back, expected, 'relu backward');
    // Through autograd, against the reference kernels.
    const make = () => [tensor(values.slice(40), { shape: [20, 28], requiresGrad: true })];
    const fast = run('wasm', make, (t) => F.relu(t.mul(1)), 8);
    const ref = run('reference', make, (t) => F.relu(t.mul(1)), 8);
    expectBitEqual(
      fast.out.map((v) => (Object.is(v, 0) ? 0 : v)),
      ref.out.map((v) => (Object.is(v, 0) ? 0 : v)),
    );
    expect(fast.grads.length).toBe(ref.grads.length);
    fast.grads.forEach((g, i) => expectBitEqual(g, ref.grads[i], `grad ${i}`));
  });
});
