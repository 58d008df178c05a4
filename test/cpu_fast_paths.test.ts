/**
 * The CPU kernels' fast paths (src/backend/cpu/fast_paths.ts) against their general strided
 * loops, which stay the oracle: each case runs the same kernel on the same views twice, once
 * with the fast paths on and once with them off, and the results must be bit-identical (NaN,
 * ±Infinity and −0 included). Layouts cover contiguous, transposed, gapped and offset views,
 * scalar and row/column broadcasts, empty tensors and layouts too irregular for the fast path;
 * dtypes float32, float64, int32 and bool. Through the public API, ops on non-contiguous copies
 * of the same data must give the same bits as on the contiguous originals.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  BOOL_RESULT_BINARY_OPS,
  type ReduceOp,
  type UnaryOp,
  type View,
} from '../src/backend/backend.js';
import { BINARY_OP_NAMES, UNARY_OP_NAMES, unaryOpDef } from '../src/backend/op_table.js';
import { cpuBackend } from '../src/backend/cpu/cpu_backend.js';
import {
  binaryFast,
  copyFast,
  reduceFast,
  setCpuFastPaths,
  unaryFast,
} from '../src/backend/cpu/fast_paths.js';
import { allocateTypedArray, type DType, type TypedArray } from '../src/tensor/dtype.js';
import { contiguousStrides, shapeSize } from '../src/tensor/shape.js';
import * as cr from '../src/index.js';

afterEach(() => setCpuFastPaths(true));

// ---- data ----

/** mulberry32: a small seeded generator, so every run tests the same data. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SPECIAL = [NaN, Infinity, -Infinity, -0, 0, 1, -1, 0.5, 2, 3e38, -1e-40, 100];

/** Random values of a dtype, with the special floats (and 0, ±1, 2³¹−1) sprinkled in. */
function randomValues(dtype: DType, n: number, seed: number): number[] {
  const next = rng(seed);
  return Array.from({ length: n }, () => {
    const u = next();
    if (dtype === 'bool') return u < 0.5 ? 0 : 1;
    if (dtype === 'int32') {
      if (u < 0.1) return [0, 1, -1, 2147483647, -2147483648][Math.floor(next() * 5)];
      return Math.floor(next() * 21) - 10;
    }
    if (u < 0.25) return SPECIAL[Math.floor(next() * SPECIAL.length)];
    return (next() - 0.5) * 8;
  });
}

// ---- layouts ----

type Layout = 'contiguous' | 'transposed' | 'gapped' | 'scrambled';
const LAYOUTS: readonly Layout[] = ['contiguous', 'transposed', 'gapped', 'scrambled'];

/**
 * A view of logical `shape` holding `values` (row-major), stored in the given layout:
 * reversed dim order ('transposed'), every stride doubled with an offset ('gapped'), or dims in
 * a shuffled order with gaps and an offset ('scrambled').
 */
function makeView(
  values: readonly number[],
  dtype: DType,
  shape: readonly number[],
  layout: Layout,
): View {
  const rank = shape.length;
  const order = shape.map((_, i) => i); // physical order of dims, outermost first
  if (layout === 'transposed') order.reverse();
  if (layout === 'scrambled') order.sort((a, b) => ((a * 7 + 3) % 5) - ((b * 7 + 3) % 5));
  const gap = layout === 'gapped' || layout === 'scrambled' ? 2 : 1;
  const offset = layout === 'gapped' || layout === 'scrambled' ? 3 : 0;
  const strides = new Array<number>(rank).fill(0);
  let stride = gap;
  for (let k = rank - 1; k >= 0; k--) {
    strides[order[k]] = stride;
    stride *= Math.max(shape[order[k]], 1) + (layout === 'scrambled' ? 1 : 0);
  }
  const storage = allocateTypedArray(dtype, offset + stride + 1);
  const fillerValue = dtype === 'bool' ? 1 : 777; // must never be read
  storage.fill(fillerValue);
  const logical = contiguousStrides(shape);
  for (let k = 0; k < values.length; k++) {
    let position = offset;
    for (let d = 0; d < rank; d++) position += (Math.floor(k / logical[d]) % shape[d]) * strides[d];
    storage[position] = values[k];
  }
  return { storage, dtype, shape: [...shape], strides, offset };
}

/** `v` broadcast to `shape` as the ops layer does: stride 0 on new and size-1 dims. */
function broadcast(v: View, shape: readonly number[]): View {
  const lead = shape.length - v.shape.length;
  const strides = shape.map((d, i) => {
    const j = i - lead;
    return j < 0 || (v.shape[j] === 1 && d !== 1) ? 0 : v.strides[j];
  });
  return { ...v, shape: [...shape], strides };
}

function viewOf(dtype: DType, shape: readonly number[], layout: Layout, seed: number): View {
  return makeView(randomValues(dtype, shapeSize(shape), seed), dtype, shape, layout);
}

// ---- comparing ----

/** Runs `kernel` with the fast paths off (the general loops), then on. */
function bothPaths<T>(kernel: () => T): { general: T; fast: T } {
  setCpuFastPaths(false);
  const general = kernel();
  setCpuFastPaths(true);
  return { general, fast: kernel() };
}

/** Bit-for-bit equality (Object.is: NaN equals NaN, −0 differs from 0), with the first mismatch in the message. */
function expectSameBits(fast: ArrayLike<number>, general: ArrayLike<number>, what: string): void {
  expect(fast.constructor, what).toBe(general.constructor);
  expect(fast.length, what).toBe(general.length);
  for (let i = 0; i < general.length; i++) {
    if (!Object.is(fast[i], general[i])) {
      expect.fail(
        `${what}: element ${i} is ${fast[i]} on the fast path and ${general[i]} on the general one`,
      );
    }
  }
}

const ALL_DTYPES: readonly DType[] = ['float32', 'float64', 'int32', 'bool'];

// ---- kernels ----

// Every op of the unions, from the op table: a new op is tested here without a line of its own.
const UNARY_OPS = UNARY_OP_NAMES;
const BOOL_UNARY: ReadonlySet<UnaryOp> = new Set(
  UNARY_OPS.filter((op) => unaryOpDef(op).dtype === 'bool'),
);
const BINARY_OPS = BINARY_OP_NAMES;
/** [output shape, a's shape, b's shape]: equal shapes, scalars, bias rows, columns, 3-D and 4-D broadcasts, empty. */
const BROADCASTS: readonly [string, number[], number[], number[]][] = [
  ['same shape', [5, 7], [5, 7], [5, 7]],
  ['tensor ⊕ 0-d scalar', [5, 7], [5, 7], []],
  ['0-d scalar ⊕ tensor', [5, 7], [], [5, 7]],
  ['tensor ⊕ size-1', [3, 4, 5], [3, 4, 5], [1]],
  ['bias row [N, C] ⊕ [C]', [6, 9], [6, 9], [9]],
  ['column [N, C] ⊕ [N, 1]', [6, 9], [6, 9], [6, 1]],
  ['outer [N, 1] ⊕ [1, C]', [6, 9], [6, 1], [1, 9]],
  ['channel bias [N, C, L] ⊕ [C, 1]', [2, 3, 8], [2, 3, 8], [3, 1]],
  ['4-D broadcast [A, B, C, D] ⊕ [B, 1, D]', [2, 3, 4, 5], [2, 3, 4, 5], [3, 1, 5]],
  ['one element', [1, 1], [1, 1], [1]],
  ['0-d ⊕ 0-d', [], [], []],
  ['empty [0, 3] ⊕ [3]', [0, 3], [0, 3], [3]],
];

describe('cpu fast paths: binary', () => {
  for (const dtype of ALL_DTYPES) {
    for (const [pattern, shape, aShape, bShape] of BROADCASTS) {
      it(`${dtype}: ${pattern}, every op and layout`, () => {
        for (const layout of LAYOUTS) {
          const a = broadcast(viewOf(dtype, aShape, layout, 1), shape);
          const b = broadcast(
            viewOf(dtype, bShape, layout === 'contiguous' ? 'contiguous' : 'gapped', 2),
            shape,
          );
          for (const op of BINARY_OPS) {
            const outDType = BOOL_RESULT_BINARY_OPS.has(op) ? 'bool' : dtype;
            const { general, fast } = bothPaths(
              () => cpuBackend.binary(op, a, b, outDType) as TypedArray,
            );
            expectSameBits(fast, general, `${op} ${dtype} ${pattern} ${layout}`);
          }
        }
      });
    }
  }

  it('int32 results of float operands and bool results of arithmetic ops match too', () => {
    const a = viewOf('float32', [4, 6], 'transposed', 3);
    const b = viewOf('float32', [4, 6], 'contiguous', 4);
    for (const op of ['add', 'mul', 'div', 'pow'] as const) {
      for (const outDType of ['int32', 'bool'] as const) {
        const { general, fast } = bothPaths(
          () => cpuBackend.binary(op, a, b, outDType) as TypedArray,
        );
        expectSameBits(fast, general, `${op} → ${outDType}`);
      }
    }
  });

  it('takes the fast path for contiguous, scalar, bias-row, column and transposed operands', () => {
    const cases: [number[], number[], number[], Layout][] = [
      [[128, 256], [128, 256], [128, 256], 'contiguous'],
      [[128, 256], [128, 256], [], 'contiguous'],
      [[128, 256], [128, 256], [256], 'contiguous'],
      [[128, 10], [128, 10], [128, 1], 'contiguous'],
      [[30, 40], [30, 40], [30, 40], 'transposed'],
      [[2, 3, 8], [2, 3, 8], [3, 1], 'contiguous'],
    ];
    for (const [shape, aShape, bShape, layout] of cases) {
      const a = broadcast(viewOf('float32', aShape, layout, 5), shape);
      const b = broadcast(viewOf('float32', bShape, 'contiguous', 6), shape);
      const out = new Float32Array(shapeSize(shape));
      expect(
        binaryFast('add', a, b, 'float32', out),
        `${JSON.stringify([shape, aShape, bShape, layout])}`,
      ).toBe(true);
      const x = cpuBackend.binary('add', a, b, 'float32') as Float32Array;
      expectSameBits(out, x, 'fast result written');
    }
  });

  it('leaves layouts that need more than three loops to the general path', () => {
    const a = viewOf('float32', [2, 3, 4, 5], 'contiguous', 7);
    const b = broadcast(viewOf('float32', [3, 1, 5], 'contiguous', 8), [2, 3, 4, 5]);
    expect(binaryFast('add', a, b, 'float32', new Float32Array(120))).toBe(false);
  });
});

describe('cpu fast paths: unary', () => {
  for (const dtype of ['float32', 'float64', 'int32'] as const) {
    it(`${dtype}: every op, every layout, 0-d, 3-D, 5-D and empty`, () => {
      for (const shape of [[], [1], [7, 9], [3, 4, 5], [2, 3, 2, 3, 2], [0, 4]]) {
        for (const layout of LAYOUTS) {
          const x = viewOf(dtype, shape, layout, 11);
          for (const op of UNARY_OPS) {
            const outDType = BOOL_UNARY.has(op) ? 'bool' : dtype;
            const { general, fast } = bothPaths(
              () => cpuBackend.unary(op, x, outDType) as TypedArray,
            );
            expectSameBits(fast, general, `${op} ${dtype} ${JSON.stringify(shape)} ${layout}`);
          }
        }
      }
    });
  }

  it('bool inputs and broadcast (stride-0) inputs', () => {
    const x = viewOf('bool', [6, 5], 'gapped', 12);
    const y = broadcast(viewOf('float32', [5], 'contiguous', 13), [4, 5]);
    for (const op of UNARY_OPS) {
      for (const v of [x, y]) {
        const outDType = BOOL_UNARY.has(op) ? 'bool' : v.dtype === 'bool' ? 'float32' : v.dtype;
        const { general, fast } = bothPaths(() => cpuBackend.unary(op, v, outDType) as TypedArray);
        expectSameBits(fast, general, `${op} ${v.dtype}`);
      }
    }
  });

  it('takes the fast path for a transposed matrix', () => {
    const x = viewOf('float32', [20, 30], 'transposed', 14);
    expect(unaryFast('relu', x, new Float32Array(600))).toBe(true);
  });
});

describe('cpu fast paths: where', () => {
  it('broadcast condition and operands in every layout', () => {
    for (const dtype of ALL_DTYPES) {
      for (const layout of LAYOUTS) {
        const shape = [4, 5, 6];
        const c = broadcast(viewOf('bool', [5, 1], layout, 21), shape);
        const a = viewOf(dtype, shape, layout, 22);
        const b = broadcast(viewOf(dtype, [], 'contiguous', 23), shape);
        for (const [x, y] of [
          [a, b],
          [b, a],
        ]) {
          const { general, fast } = bothPaths(() => cpuBackend.where(c, x, y, dtype) as TypedArray);
          expectSameBits(fast, general, `where ${dtype} ${layout}`);
        }
      }
    }
    const empty = viewOf('float32', [0, 2], 'contiguous', 24);
    const { general, fast } = bothPaths(
      () =>
        cpuBackend.where(
          viewOf('bool', [0, 2], 'contiguous', 25),
          empty,
          empty,
          'float32',
        ) as TypedArray,
    );
    expectSameBits(fast, general, 'empty where');
  });
});

describe('cpu fast paths: reductions', () => {
  const OPS: readonly ReduceOp[] = ['sum', 'prod', 'max', 'min'];
  const AXES = [[], [0], [1], [2], [0, 1], [0, 2], [1, 2], [0, 1, 2]];

  for (const dtype of ALL_DTYPES) {
    it(`${dtype}: every op over every axis set of a 3-D tensor, every layout`, () => {
      for (const layout of LAYOUTS) {
        const x = viewOf(dtype, [4, 5, 6], layout, 31);
        for (const op of OPS) {
          for (const axes of AXES) {
            const outDType = dtype === 'bool' ? 'int32' : dtype;
            const { general, fast } = bothPaths(
              () => cpuBackend.reduce(op, x, axes, outDType) as TypedArray,
            );
            expectSameBits(fast, general, `${op} ${dtype} axes ${JSON.stringify(axes)} ${layout}`);
          }
        }
      }
    });
  }

  it('MLP shapes (bias gradient over dim 0, loss rows over dim 1), 0-d, 5-D, broadcast and empty inputs', () => {
    const cases: [View, number[]][] = [
      [viewOf('float32', [128, 10], 'contiguous', 32), [0]],
      [viewOf('float32', [128, 10], 'contiguous', 33), [1]],
      [viewOf('float32', [128, 256], 'transposed', 34), [0]],
      [viewOf('float64', [], 'contiguous', 35), []],
      [viewOf('float32', [2, 3, 2, 3, 2], 'scrambled', 36), [1, 3]],
      [broadcast(viewOf('float32', [7], 'contiguous', 37), [3, 7]), [0]],
      [viewOf('float32', [0, 4], 'contiguous', 38), [0]],
      [viewOf('float32', [0, 4], 'contiguous', 39), [1]],
    ];
    for (const [x, axes] of cases) {
      for (const op of OPS) {
        const { general, fast } = bothPaths(
          () => cpuBackend.reduce(op, x, axes, x.dtype) as TypedArray,
        );
        expectSameBits(
          fast,
          general,
          `${op} ${JSON.stringify(x.shape)} axes ${JSON.stringify(axes)}`,
        );
      }
    }
  });

  it('takes the fast path for sums over the last axis and over leading axes', () => {
    const x = viewOf('float32', [16, 10], 'contiguous', 40);
    // Accumulator strides: x's index → output cell, 0 on the reduced axis.
    expect(reduceFast('sum', x, [1, 0], new Float64Array(16))).toBe(true);
    expect(reduceFast('sum', x, [0, 1], new Float64Array(10))).toBe(true);
  });
});

describe('cpu fast paths: copies and fills', () => {
  it('copy between every pair of dtypes, in every layout, including large transposes', () => {
    const shapes = [[], [5], [7, 9], [40, 70], [3, 33, 40], [2, 3, 2, 3, 2], [0, 3]];
    for (const from of ALL_DTYPES) {
      for (const shape of shapes) {
        for (const layout of LAYOUTS) {
          const x = viewOf(from, shape, layout, 51);
          for (const to of ALL_DTYPES) {
            const { general, fast } = bothPaths(() => cpuBackend.copy(x, to) as TypedArray);
            expectSameBits(
              fast,
              general,
              `copy ${from} → ${to} ${JSON.stringify(shape)} ${layout}`,
            );
          }
        }
      }
    }
  });

  it('takes the fast path for a transposed float matrix', () => {
    const x = viewOf('float32', [40, 70], 'transposed', 52);
    const out = new Float32Array(2800);
    expect(copyFast(x, 'float32', out)).toBe(true);
    expectSameBits(out, new Float32Array(randomValues('float32', 2800, 52)), 'transposed copy');
  });

  it('copyInto any layout from any layout and dtype, and between overlapping views', () => {
    // [20, 30] is long enough for the bulk TypedArray.set path when both views are contiguous.
    for (const shape of [
      [6, 4, 5],
      [20, 30],
    ]) {
      for (const to of ALL_DTYPES) {
        for (const from of ALL_DTYPES) {
          for (const dstLayout of LAYOUTS) {
            for (const srcLayout of LAYOUTS) {
              const src = viewOf(from, shape, srcLayout, 61);
              const dst0 = viewOf(to, shape, dstLayout, 62);
              const { general, fast } = bothPaths(() => {
                const dst = { ...dst0, storage: (dst0.storage as TypedArray).slice() };
                cpuBackend.copyInto(dst, src);
                return dst.storage as TypedArray;
              });
              expectSameBits(
                fast,
                general,
                `copyInto ${JSON.stringify(shape)} ${from} ${srcLayout} → ${to} ${dstLayout}`,
              );
            }
          }
        }
      }
    }
    // Overlap: dst is src shifted by one element, so the result depends on the walking order.
    for (const columns of [12, 120]) {
      for (const [dstOffset, srcOffset] of [
        [1, 0],
        [0, 1],
      ]) {
        const { general, fast } = bothPaths(() => {
          const storage = new Float32Array(randomValues('float32', 3 * columns + 4, 63));
          const dst: View = {
            storage,
            dtype: 'float32',
            shape: [3, columns],
            strides: [columns, 1],
            offset: dstOffset,
          };
          cpuBackend.copyInto(dst, { ...dst, offset: srcOffset });
          return storage;
        });
        expectSameBits(
          fast,
          general,
          `overlapping copyInto [3, ${columns}] ${dstOffset} ← ${srcOffset}`,
        );
      }
    }
    // A broadcast source (stride 0).
    const { general, fast } = bothPaths(() => {
      const dst = viewOf('float64', [5, 8], 'gapped', 64);
      cpuBackend.copyInto(dst, broadcast(viewOf('float32', [8], 'contiguous', 65), [5, 8]));
      return dst.storage as TypedArray;
    });
    expectSameBits(fast, general, 'broadcast copyInto');
  });

  it('fill in every layout and dtype', () => {
    for (const dtype of ALL_DTYPES) {
      for (const shape of [[], [5, 6], [3, 4, 5], [2, 3, 2, 3, 2], [0, 2]]) {
        for (const layout of LAYOUTS) {
          for (const value of [-0, NaN, 2.5, -3]) {
            const { general, fast } = bothPaths(() => {
              const dst = viewOf(dtype, shape, layout, 71);
              cpuBackend.fill(dst, value);
              return dst.storage as TypedArray;
            });
            expectSameBits(
              fast,
              general,
              `fill ${dtype} ${JSON.stringify(shape)} ${layout} ${value}`,
            );
          }
        }
      }
    }
  });
});

describe('cpu fast paths: through the tensor API', () => {
  /** The same values in transposed storage: a non-contiguous copy. */
  const transposedCopy = (t: cr.Tensor) => t.transpose(0, 1).contiguous().transpose(0, 1);

  it('ops on non-contiguous copies, and with the fast paths off, give the same bits', () => {
    cr.manualSeed(5);
    const x = cr.tensor(randomValues('float32', 48 * 10, 81), { shape: [48, 10] });
    const y = cr.tensor(randomValues('float32', 48 * 10, 82), { shape: [48, 10] });
    const bias = cr.tensor(randomValues('float32', 10, 83));
    const column = cr.tensor(randomValues('float32', 48, 84), { shape: [48, 1] });
    const run = (a: cr.Tensor, b: cr.Tensor) => [
      a.add(b),
      a.mul(b),
      a.div(b),
      a.sub(bias),
      a.add(bias),
      a.mul(column),
      a.relu(),
      a.exp(),
      a.tanh(),
      a.sigmoid(),
      a.sum(0),
      a.sum(1),
      a.amax(1),
      a.mean(),
      a.maximum(b),
      a.gt(b),
      cr.where(a.gt(0), a, b),
      a.pow(2),
      a.t().contiguous(),
      a.logSoftmax(1),
      a.mul(2.5).add(1),
    ];
    expect(transposedCopy(x).isContiguous()).toBe(false);
    const reference = run(x, y).map((t) => t.dataSync());
    const strided = run(transposedCopy(x), transposedCopy(y)).map((t) => t.dataSync());
    setCpuFastPaths(false);
    const general = run(x, y).map((t) => t.dataSync());
    setCpuFastPaths(true);
    reference.forEach((r, i) => {
      expectSameBits(strided[i], r, `op ${i} on a non-contiguous copy`);
      expectSameBits(general[i], r, `op ${i} on the general path`);
    });
  });

  it('a training step gives the same gradients with the fast paths on and off', () => {
    const step = () => {
      cr.manualSeed(11);
      const model = new cr.nn.Sequential(
        new cr.nn.Linear(12, 16),
        new cr.nn.ReLU(),
        new cr.nn.Linear(16, 4),
      );
      const input = cr.randn([8, 12]);
      const labels = cr.tensor([0, 1, 2, 3, 3, 2, 1, 0], { dtype: 'int32' });
      cr.F.crossEntropy(model.forward(input), labels).backward();
      return model.parameters().map((p) => p.grad!.dataSync());
    };
    const { general, fast } = bothPaths(step);
    general.forEach((g, i) => expectSameBits(fast[i], g, `gradient of parameter ${i}`));
  });
});
