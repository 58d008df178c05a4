/**
 * The generated layer-norm (and RMS-norm) kernels of the elementwise kernels (run by
 * layer_norm.ts), over rows of n contiguous float32 elements, forward and backward:
 *
 * - layer_norm_rows: per row the mean and the biased variance (two float64 passes over the row,
 *   which is in cache after the first), rstd = 1/√(var + eps) in float64, then
 *   y = f32((x − mean)·rstd)·w + b; mean and rstd are stored rounded to float32. The reference
 *   kernel (../cpu/fused_kernels.ts) does the same in float64 and rounds y once: within a float32
 *   ulp or two of it.
 * - layer_norm_backward_rows: dx = ((ĝ − mean ĝ) − x̂·mean(ĝ·x̂))·rstd, x̂ = (x − mean)·rstd and
 *   ĝ = g·w in float32, the two means float64 sums rounded once: the composed backward's float32
 *   steps (autograd/ops/fused.ts), up to the order of the row sums.
 * - layer_norm_param_grads: over columns, dw = Σ_rows g·x̂ and db = Σ_rows g, float32 products
 *   summed in float64 in row order and rounded once: the composed backward's bits.
 *
 * RMS norm is the same kernels with the mean taken as 0 (the `rms` word): the forward's
 * rstd = 1/√(mean(x²) + eps), and the backward's dx = (ĝ − x̂·mean(ĝ·x̂))·rstd.
 *
 * Weight and bias are always read: the caller passes ones and −0s (x + (−0) is x for every x)
 * for an absent one. Parameters come from a block of i32 words at `prm` (byte addresses): see
 * LN_PARAMS; eps is a float64 at byte LN_EPS_BYTE.
 */
import type { FunctionBuilder, Local, ModuleBuilder } from './emitter.js';
import {
  addF64Halves,
  elementLoop,
  HIGH_TO_LOW,
  LOW_HALVES,
  paramLocals,
  whileFits,
} from './elementwise_loops.js';

/** The i32 words of the parameter block, in order. */
export const LN_PARAMS = [
  'x',
  /** The forward's output, or the backward's dx. */
  'out',
  'mean',
  'rstd',
  'weight',
  'bias',
  'grad',
  /** dw and db (0: not wanted). */
  'dWeight',
  'dBias',
  /** Elements per row. */
  'n',
  'rows',
  /** 1 for RMS norm: the mean is taken as 0 (the caller passes a block of zeros for it). */
  'rms',
] as const;
type Param = (typeof LN_PARAMS)[number];

/** Byte offset of the float64 eps in the parameter block (8-aligned, past the words). */
export const LN_EPS_BYTE = 48;

/** Bytes of the parameter block. */
export const LN_BLOCK_BYTES = 56;

/** The parameter block's words in locals, and the row size in bytes. */
function readParams(f: FunctionBuilder, prm: Local): Record<Param, Local> & { rowBytes: Local } {
  const p = paramLocals(f, prm, LN_PARAMS);
  const rowBytes = f.local('i32');
  f.get(p.n).i32_const(2).i32_shl().set(rowBytes);
  return { ...p, rowBytes };
}

/** For rows r in [start, start + count): `body(r)`. */
function forRows(f: FunctionBuilder, start: Local, count: Local, body: (r: Local) => void): void {
  const r = f.local('i32');
  const end = f.local('i32');
  f.get(start).get(count).i32_add().set(end);
  f.for_(
    r,
    () => f.get(start),
    () => f.get(end),
    1,
    () => body(r),
  );
}

/** Pushes base + r·stride, the stride in bytes a local (rowBytes) or, `floats`, 4. */
function rowAddress(f: FunctionBuilder, base: Local, r: Local, stride: Local | 'floats'): void {
  f.get(base).get(r);
  if (stride === 'floats') f.i32_const(4);
  else f.get(stride);
  f.i32_mul().i32_add();
}

/** Pushes the f64x2 sum of two f64x2 accumulators' four lanes as one f64. */
function laneTotal(f: FunctionBuilder, low: Local, high: Local): void {
  f.get(low).f64x2_extract_lane(0).get(low).f64x2_extract_lane(1).f64_add();
  f.get(high).f64x2_extract_lane(0).f64_add().get(high).f64x2_extract_lane(1).f64_add();
}

/**
 * total = Σ term(x) over the n floats at `row` in float64: two f64x2 running sums over the
 * vectors (`vectorTerm` maps the f64x2 on the stack), added up, then the tail (`scalarTerm`).
 */
function sumRow(
  f: FunctionBuilder,
  row: Local,
  n: Local,
  total: Local,
  vectorTerm: () => void,
  scalarTerm: () => void,
): void {
  const [v, low, high] = [f.local('v128'), f.local('v128'), f.local('v128')];
  f.v128_const_zero().set(low);
  f.v128_const_zero().set(high);
  elementLoop(
    f,
    n,
    (i) => {
      f.get(row).get(i).i32_add().v128_load().set(v);
      f.get(low).get(v).f64x2_promote_low_f32x4();
      vectorTerm();
      f.f64x2_add().set(low);
      f.get(high).get(v).get(v).i8x16_shuffle(HIGH_TO_LOW).f64x2_promote_low_f32x4();
      vectorTerm();
      f.f64x2_add().set(high);
    },
    (i) => {
      f.get(total).get(row).get(i).i32_add().f32_load().f64_promote_f32();
      scalarTerm();
      f.f64_add().set(total);
    },
    () => {
      laneTotal(f, low, high);
      f.set(total);
    },
  );
}

/** layer_norm_rows(prm, start, count): the forward of rows [start, start + count). */
export function emitLayerNormRows(m: ModuleBuilder): FunctionBuilder {
  const f = m.func('layer_norm_rows', ['i32', 'i32', 'i32'], []);
  const [prm, start, count] = [0, 1, 2].map((i) => f.param(i));
  const p = readParams(f, prm);
  const [xRow, outRow] = [f.local('i32'), f.local('i32')];
  const [eps, size, total, mean, rstd, d] = Array.from({ length: 6 }, () => f.local('f64'));
  const [meanV, rstdV, dv, v] = Array.from({ length: 4 }, () => f.local('v128'));
  f.get(prm).f64_load(LN_EPS_BYTE).set(eps);
  f.get(p.n).f64_convert_i32_s().set(size);
  // f32((x − mean)·rstd) of the f64x2 on the stack, as the low two f32 lanes.
  const normalized = () =>
    f.get(meanV).f64x2_sub().get(rstdV).f64x2_mul().f32x4_demote_f64x2_zero();
  forRows(f, start, count, (r) => {
    rowAddress(f, p.x, r, p.rowBytes);
    f.set(xRow);
    rowAddress(f, p.out, r, p.rowBytes);
    f.set(outRow);
    f.get(p.rms).if_(
      () => f.f64_const(0).set(mean),
      () => {
        sumRow(
          f,
          xRow,
          p.n,
          total,
          () => {},
          () => {},
        );
        f.get(total).get(size).f64_div().set(mean);
      },
    );
    f.get(mean).f64x2_splat().set(meanV);
    sumRow(
      f,
      xRow,
      p.n,
      total,
      () => f.get(meanV).f64x2_sub().tee(dv).get(dv).f64x2_mul(),
      () => f.get(mean).f64_sub().tee(d).get(d).f64_mul(),
    );
    f.f64_const(1).get(total).get(size).f64_div().get(eps).f64_add().f64_sqrt().f64_div();
    f.set(rstd);
    f.get(rstd).f64x2_splat().set(rstdV);
    rowAddress(f, p.mean, r, 'floats');
    f.get(mean).f32_demote_f64().f32_store();
    rowAddress(f, p.rstd, r, 'floats');
    f.get(rstd).f32_demote_f64().f32_store();
    elementLoop(
      f,
      p.n,
      (i) => {
        f.get(xRow).get(i).i32_add().v128_load().set(v);
        f.get(outRow).get(i).i32_add();
        f.get(v).f64x2_promote_low_f32x4();
        normalized();
        f.get(v).get(v).i8x16_shuffle(HIGH_TO_LOW).f64x2_promote_low_f32x4();
        normalized();
        f.i8x16_shuffle(LOW_HALVES);
        f.get(p.weight).get(i).i32_add().v128_load().f32x4_mul();
        f.get(p.bias).get(i).i32_add().v128_load().f32x4_add().v128_store();
      },
      (i) => {
        f.get(outRow).get(i).i32_add();
        f.get(xRow).get(i).i32_add().f32_load().f64_promote_f32();
        f.get(mean).f64_sub().get(rstd).f64_mul().f32_demote_f64();
        f.get(p.weight).get(i).i32_add().f32_load().f32_mul();
        f.get(p.bias).get(i).i32_add().f32_load().f32_add().f32_store();
      },
    );
  });
  return f;
}

/** layer_norm_backward_rows(prm, start, count): dx of rows [start, start + count). */
export function emitLayerNormBackwardRows(m: ModuleBuilder): FunctionBuilder {
  const f = m.func('layer_norm_backward_rows', ['i32', 'i32', 'i32'], []);
  const [prm, start, count] = [0, 1, 2].map((i) => f.param(i));
  const p = readParams(f, prm);
  const [xRow, gRow, outRow] = [f.local('i32'), f.local('i32'), f.local('i32')];
  const [size, gSum, gxSum] = [f.local('f64'), f.local('f64'), f.local('f64')];
  const [m32, r32, a32, b32, xs, gs] = Array.from({ length: 6 }, () => f.local('f32'));
  const [meanV, rstdV, aV, bV, xh, gh, prod] = Array.from({ length: 7 }, () => f.local('v128'));
  const [gLow, gHigh, pLow, pHigh] = Array.from({ length: 4 }, () => f.local('v128'));
  f.get(p.n).f64_convert_i32_s().set(size);
  // x̂ and ĝ of element i into xh and gh (vectors), or xs and gs (one lane).
  const vectorTerms = (i: Local) => {
    f.get(xRow).get(i).i32_add().v128_load().get(meanV).f32x4_sub().get(rstdV).f32x4_mul();
    f.set(xh);
    f.get(gRow).get(i).i32_add().v128_load();
    f.get(p.weight).get(i).i32_add().v128_load().f32x4_mul().set(gh);
  };
  const scalarTerms = (i: Local) => {
    f.get(xRow).get(i).i32_add().f32_load().get(m32).f32_sub().get(r32).f32_mul().set(xs);
    f.get(gRow).get(i).i32_add().f32_load();
    f.get(p.weight).get(i).i32_add().f32_load().f32_mul().set(gs);
  };
  forRows(f, start, count, (r) => {
    for (const [row, base] of [
      [xRow, p.x],
      [gRow, p.grad],
      [outRow, p.out],
    ]) {
      rowAddress(f, base, r, p.rowBytes);
      f.set(row);
    }
    rowAddress(f, p.mean, r, 'floats');
    f.f32_load().tee(m32).f32x4_splat().set(meanV);
    rowAddress(f, p.rstd, r, 'floats');
    f.f32_load().tee(r32).f32x4_splat().set(rstdV);
    // Σ ĝ and Σ ĝ·x̂ (float32 products) in float64.
    for (const acc of [gLow, gHigh, pLow, pHigh]) f.v128_const_zero().set(acc);
    elementLoop(
      f,
      p.n,
      (i) => {
        vectorTerms(i);
        addF64Halves(f, gLow, gHigh, gh);
        f.get(gh).get(xh).f32x4_mul().set(prod);
        addF64Halves(f, pLow, pHigh, prod);
      },
      (i) => {
        scalarTerms(i);
        f.get(gSum).get(gs).f64_promote_f32().f64_add().set(gSum);
        f.get(gxSum).get(gs).get(xs).f32_mul().f64_promote_f32().f64_add().set(gxSum);
      },
      () => {
        laneTotal(f, gLow, gHigh);
        f.set(gSum);
        laneTotal(f, pLow, pHigh);
        f.set(gxSum);
      },
    );
    // RMS norm has no mean(ĝ) term.
    f.f32_const(0).get(gSum).get(size).f64_div().f32_demote_f64().get(p.rms).select();
    f.tee(a32).f32x4_splat().set(aV);
    f.get(gxSum).get(size).f64_div().f32_demote_f64().tee(b32).f32x4_splat().set(bV);
    elementLoop(
      f,
      p.n,
      (i) => {
        vectorTerms(i);
        f.get(outRow).get(i).i32_add();
        f.get(gh).get(aV).f32x4_sub().get(xh).get(bV).f32x4_mul().f32x4_sub();
        f.get(rstdV).f32x4_mul().v128_store();
      },
      (i) => {
        scalarTerms(i);
        f.get(outRow).get(i).i32_add();
        f.get(gs).get(a32).f32_sub().get(xs).get(b32).f32_mul().f32_sub();
        f.get(r32).f32_mul().f32_store();
      },
    );
  });
  return f;
}

/**
 * layer_norm_param_grads(prm, start, count): dw and db of columns [start, start + count), each
 * column's sums in row order: blocks of eight columns (eight f64x2 running sums), then four,
 * then one at a time.
 */
export function emitLayerNormParamGrads(m: ModuleBuilder): FunctionBuilder {
  const f = m.func('layer_norm_param_grads', ['i32', 'i32', 'i32'], []);
  const [prm, start, count] = [0, 1, 2].map((i) => f.param(i));
  const p = readParams(f, prm);
  const [c, end, r, xp, gp, mp, rp] = Array.from({ length: 7 }, () => f.local('i32'));
  const [meanV, rstdV, xh, gv] = Array.from({ length: 4 }, () => f.local('v128'));
  f.get(start).get(count).i32_add().i32_const(2).i32_shl().set(end);
  f.get(start).i32_const(2).i32_shl().set(c);
  // Rows 0…rows−1 from column byte c: `body` with xp, gp at the row's column c and the row's
  // mean and rstd at mp, rp.
  const overRows = (body: () => void) => {
    f.get(p.x).get(c).i32_add().set(xp);
    f.get(p.grad).get(c).i32_add().set(gp);
    f.get(p.mean).set(mp);
    f.get(p.rstd).set(rp);
    f.for_(
      r,
      () => f.i32_const(0),
      () => f.get(p.rows),
      1,
      () => {
        body();
        f.get(xp).get(p.rowBytes).i32_add().set(xp);
        f.get(gp).get(p.rowBytes).i32_add().set(gp);
        f.get(mp).i32_const(4).i32_add().set(mp);
        f.get(rp).i32_const(4).i32_add().set(rp);
      },
    );
  };
  // Stores f32 of the f64x2 pair at column byte c + offset of `out` when out is not 0.
  const storePair = (out: Local, low: Local, high: Local, offset: number) =>
    f.get(out).if_(() => {
      f.get(out).get(c).i32_add();
      f.get(low).f32x4_demote_f64x2_zero().get(high).f32x4_demote_f64x2_zero();
      f.i8x16_shuffle(LOW_HALVES).v128_store(offset);
    });
  const columnBlocks = (vectors: number) => {
    const acc = Array.from({ length: vectors * 4 }, () => f.local('v128'));
    whileFits(f, c, end, 16 * vectors, () => {
      for (const a of acc) f.v128_const_zero().set(a);
      overRows(() => {
        f.get(mp).v128_load32_splat().set(meanV);
        f.get(rp).v128_load32_splat().set(rstdV);
        for (let q = 0; q < vectors; q++) {
          const [wLow, wHigh, bLow, bHigh] = acc.slice(4 * q, 4 * q + 4);
          f.get(gp)
            .v128_load(16 * q)
            .set(gv);
          addF64Halves(f, bLow, bHigh, gv);
          f.get(xp)
            .v128_load(16 * q)
            .get(meanV)
            .f32x4_sub()
            .get(rstdV)
            .f32x4_mul();
          f.get(gv).f32x4_mul().set(xh);
          addF64Halves(f, wLow, wHigh, xh);
        }
      });
      for (let q = 0; q < vectors; q++) {
        const [wLow, wHigh, bLow, bHigh] = acc.slice(4 * q, 4 * q + 4);
        storePair(p.dWeight, wLow, wHigh, 16 * q);
        storePair(p.dBias, bLow, bHigh, 16 * q);
      }
    });
  };
  columnBlocks(2);
  columnBlocks(1);
  const [wSum, bSum] = [f.local('f64'), f.local('f64')];
  const gs = f.local('f32');
  const storeSum = (out: Local, sum: Local) =>
    f.get(out).if_(() => f.get(out).get(c).i32_add().get(sum).f32_demote_f64().f32_store());
  f.for_(
    c,
    () => f.get(c),
    () => f.get(end),
    4,
    () => {
      f.f64_const(0).set(wSum);
      f.f64_const(0).set(bSum);
      overRows(() => {
        f.get(gp).f32_load().set(gs);
        f.get(bSum).get(gs).f64_promote_f32().f64_add().set(bSum);
        f.get(xp).f32_load().get(mp).f32_load().f32_sub().get(rp).f32_load().f32_mul();
        f.get(gs).f32_mul().f64_promote_f32().get(wSum).f64_add().set(wSum);
      });
      storeSum(p.dWeight, wSum);
      storeSum(p.dBias, bSum);
    },
  );
  return f;
}
