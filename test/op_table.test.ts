/**
 * Every member of the op unions, on every registered device (helpers/devices.ts), against the op
 * table's scalar forward: inputs large enough for each backend's fast paths (the typed-array row
 * loops, the WebAssembly kernels on arena storage) and a transposed and a broadcast layout, so an
 * op whose kernel is missing on some path (atan gave [0, 0, 0, 0] on 'cpu' when the fast paths
 * lacked it) fails here. Also: every op has its Tensor method, its function, a PyTorch fixture
 * case and, where differentiable, a derivative that gradcheck accepts.
 */
import { describe, expect, it } from 'vitest';
import * as cr from '../src/index.js';
import type { DType, Tensor } from '../src/index.js';
import {
  BINARY_OP_NAMES,
  binaryOpDef,
  UNARY_OP_NAMES,
  unaryOpDef,
} from '../src/backend/op_table.js';
import { expectBitEqual } from './helpers/close.js';
import { DEVICES } from './helpers/devices.js';
import { loadFixtures } from './helpers/reference.js';

/** Rows × cols of each input: 8192 elements, above the arena's 1024 and the threads' split. */
const ROWS = 64;
const COLS = 128;

/** Seeded values in (−3, 3) with a few specials (±0, ±Infinity, NaN, integers, ±1 and ±0.5). */
function values(n: number, seed: number): number[] {
  let s = seed >>> 0;
  const specials = [0, -0, Infinity, -Infinity, NaN, 1, -1, 0.5, -0.5, 2, -3];
  return Array.from({ length: n }, (_, i) => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return i % 97 < specials.length ? specials[i % 97] : (s / 2 ** 32) * 6 - 3;
  });
}

/** What a store of `v` into an array of `dtype` holds (the kernels store float64 results so). */
function stored(v: number, dtype: DType): number {
  if (dtype === 'float32') return Math.fround(v);
  if (dtype === 'int32') return v | 0;
  if (dtype === 'bool') return v !== 0 ? 1 : 0;
  return v;
}

const cases = loadFixtures('ops.json');

describe.each(DEVICES)('op table on %s', (device) => {
  for (const op of UNARY_OP_NAMES) {
    it(`unary ${op}: float32 and float64, contiguous and transposed, as the table's forward`, () => {
      const { forward, dtype: rule } = unaryOpDef(op);
      for (const dtype of ['float32', 'float64'] as const) {
        const data = values(ROWS * COLS, 7);
        const x = cr.tensor(data, { dtype, shape: [ROWS, COLS], device });
        const outDType: DType = rule === 'bool' ? 'bool' : dtype;
        const input = x.dataSync();
        const expected = Array.from(input, (v) => stored(forward(v), outDType));
        const y = x[op]();
        expect(y.dtype).toBe(outDType);
        expectBitEqual(y.dataSync(), expected, `${op} ${dtype} on ${device}`);
        // A transposed view: the strided loops and the fast paths' two-loop layout.
        const xt = x.t();
        const inputT = xt.contiguous().dataSync();
        expectBitEqual(
          xt[op]().dataSync(),
          Array.from(inputT, (v) => stored(forward(v), outDType)),
          `${op} ${dtype} transposed on ${device}`,
        );
      }
    });
  }

  for (const op of BINARY_OP_NAMES) {
    it(`binary ${op}: equal shapes, a bias row and a scalar, float32, float64 and int32`, () => {
      const { forward, integer, dtype: rule } = binaryOpDef(op);
      for (const dtype of ['float32', 'float64', 'int32'] as const) {
        const a = cr.tensor(values(ROWS * COLS, 11), { shape: [ROWS, COLS], device }).to(dtype);
        const b = cr.tensor(values(ROWS * COLS, 13), { shape: [ROWS, COLS], device }).to(dtype);
        const row = cr.tensor(values(COLS, 17), { shape: [COLS], device }).to(dtype);
        const computeDType: DType = rule === 'float' && dtype === 'int32' ? 'float32' : dtype;
        const outDType: DType = rule === 'bool' ? 'bool' : computeDType;
        const f = outDType === 'int32' && integer ? integer : forward;
        const av = a.to(computeDType).dataSync();
        for (const [name, other, at] of [
          ['equal shapes', b, (i: number) => i],
          ['bias row', row, (i: number) => i % COLS],
        ] as const) {
          const bv = other.to(computeDType).dataSync();
          const expected = Array.from(av, (v, i) => stored(f(v, bv[at(i)]), outDType));
          const out = (a as any)[op](other) as Tensor;
          expect(out.dtype).toBe(outDType);
          expectBitEqual(out.dataSync(), expected, `${op} ${dtype} ${name} on ${device}`);
        }
        // A number is a weak scalar: it keeps a float tensor's dtype (an int32 one would widen).
        if (dtype === 'int32') continue;
        const expected = Array.from(av, (v) => stored(f(v, stored(0.75, computeDType)), outDType));
        expectBitEqual(
          ((a as any)[op](0.75) as Tensor).dataSync(),
          expected,
          `${op} ${dtype} scalar on ${device}`,
        );
      }
    });
  }
});

describe('op table: every op is reachable and covered', () => {
  it('every unary op is a Tensor method and a function; every binary op too', () => {
    const x = cr.tensor([0.5]);
    for (const op of [...UNARY_OP_NAMES, ...BINARY_OP_NAMES]) {
      expect(typeof (x as any)[op], `Tensor.${op}`).toBe('function');
      expect(typeof (cr as any)[op], `${op}()`).toBe('function');
    }
  });

  it('every op has PyTorch fixture cases (scripts/fixtures/ops.py)', () => {
    const covered = (key: string) =>
      new Set(cases.filter((c) => c.name.startsWith(`${key}/`)).map((c) => (c.args as any).op));
    const unary = covered('unary');
    const binary = covered('binary');
    expect(UNARY_OP_NAMES.filter((op) => !unary.has(op))).toEqual([]);
    expect(BINARY_OP_NAMES.filter((op) => !binary.has(op))).toEqual([]);
  });

  it('every differentiable unary op passes gradcheck and gradgradcheck (float64, inside every domain)', () => {
    // (0.15, 0.85) without 0.5: inside every op's domain (log, asin, …), off round's kink.
    const points = [0.15, 0.3, 0.65, 0.8];
    for (const op of UNARY_OP_NAMES) {
      if (unaryOpDef(op).dtype === 'bool') continue;
      const x = cr.tensor(points, { dtype: 'float64', requiresGrad: true });
      expect(
        cr.gradcheck((t: Tensor) => t[op](), [x]),
        `gradcheck ${op}`,
      ).toBe(true);
      expect(
        cr.gradgradcheck((t: Tensor) => t[op](), [x]),
        `gradgradcheck ${op}`,
      ).toBe(true);
    }
  });
});
