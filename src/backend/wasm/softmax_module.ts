/**
 * The generated softmax / log-softmax kernels of the elementwise kernels (run by softmaxWasm and
 * logSoftmaxBackwardWasm in elementwise.ts), along the last dim of float32 rows: a vector exp
 * (Cephes' expf, within 2 ulp of Math.exp), and the max, sums, log and final step rounded as the
 * reference kernels (fused_kernels.ts) round them.
 */
import type { FunctionBuilder, Local, ModuleBuilder } from './emitter.js';
import { elementLoop, HIGH_TO_LOW, LOW_HALVES } from './elementwise_loops.js';

/** Cephes' expf coefficients: exp(r) ≈ (((((P0·r + P1)·r + P2)·r + P3)·r + P4)·r + P5)·r² + r + 1. */
const EXP_COEFFICIENTS = [
  1.98756915e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1,
  5.0000001201e-1,
];
/**
 * The other float32 constants of the vector exp: log2 e, ln 2 in two parts, 1, and +Infinity with
 * the bounds beyond which exp overflows and underflows.
 */
const EXP_CONSTANTS = [
  Math.LOG2E,
  0.693359375,
  -2.1219444e-4,
  1,
  Infinity,
  88.72283935546875,
  -87.33654022216797,
];

/** The vector exp's constants in v128 locals: the float32 ones above, then the exponent bias. */
export interface ExpConstants {
  floats: Local[];
  /** 127 in four int32 lanes. */
  exponentBias: Local;
}

/**
 * The vector exp's constants splatted into v128 locals once, before a kernel's loops (splatting
 * them inside the loop doubled the exp's instructions).
 */
export function expConstants(f: FunctionBuilder): ExpConstants {
  const floats = [...EXP_COEFFICIENTS, ...EXP_CONSTANTS].map((c) => {
    const local = f.local('v128');
    f.f32_const(c).f32x4_splat().set(local);
    return local;
  });
  const exponentBias = f.local('v128');
  f.i32_const(127).i32x4_splat().set(exponentBias);
  return { floats, exponentBias };
}

/**
 * exp of the four float32 lanes of `x`, left on the stack: Cephes' expf, exp(r)·2^k with
 * x = k·ln2 + r (ln2 in two parts), a degree-7 polynomial in r and 2^k made in the exponent bits.
 * Within 2 ulp of the correctly rounded value (test/elementwise_wasm.test.ts); 0 below
 * ln(2^-126) (no subnormal results), +Infinity above ln(FLT_MAX), NaN for NaN. The one kernel
 * here that does not give the reference's bits (its Math.exp): a vector exp is what makes the
 * softmax kernels below several times faster than one Math.exp call per element.
 * `constants` are expConstants' locals.
 */
export function emitExp4(f: FunctionBuilder, x: Local, constants: ExpConstants): void {
  const [k, kInt, r, p, high] = Array.from({ length: 5 }, () => f.local('v128'));
  const { floats, exponentBias } = constants;
  const coefficient = floats.slice(0, EXP_COEFFICIENTS.length);
  const [log2e, ln2High, ln2Low, one, infinity, overflow, underflow] = floats.slice(
    EXP_COEFFICIENTS.length,
  );
  // k = nearest(x·log2 e)
  f.get(x).get(log2e).f32x4_mul().f32x4_nearest().set(k);
  // r = x − k·C1 − k·C2, C1 + C2 = ln 2, k·C1 exact.
  f.get(x).get(k).get(ln2High).f32x4_mul().f32x4_sub();
  f.get(k).get(ln2Low).f32x4_mul().f32x4_sub().set(r);
  f.get(coefficient[0]);
  for (const c of coefficient.slice(1)) f.get(r).f32x4_mul().get(c).f32x4_add();
  f.get(r).get(r).f32x4_mul().f32x4_mul().get(r).f32x4_add().get(one).f32x4_add();
  // · 2^k as 2^min(k, 127) · 2^(k − min(k, 127)), each made from its biased exponent (k = 128
  // just below FLT_MAX's log needs the second factor).
  const powerOfTwo = () => f.get(exponentBias).i32x4_add().i32_const(23).i32x4_shl();
  f.get(k).i32x4_trunc_sat_f32x4_s().set(kInt);
  f.get(kInt).get(exponentBias).i32x4_min_s().set(high);
  f.get(high);
  powerOfTwo();
  f.f32x4_mul();
  f.get(kInt).get(high).i32x4_sub();
  powerOfTwo();
  f.f32x4_mul().set(p);
  // Overflow to +Infinity, underflow (and −Infinity) to 0; NaN has stayed NaN throughout.
  f.get(infinity).get(p).get(x).get(overflow).f32x4_gt().v128_bitselect().set(p);
  f.v128_const_zero().get(p).get(x).get(underflow).f32x4_lt().v128_bitselect();
}

/** total = Σ of the float32 values in bytes [0, bytes) from `at`, in float64 and in order. */
export function sumInOrder(f: FunctionBuilder, at: Local, bytes: Local, total: Local): void {
  const i = f.local('i32');
  f.f32_const(0).f64_promote_f32().set(total);
  f.for_(
    i,
    () => f.i32_const(0),
    () => f.get(bytes),
    4,
    () => f.get(total).get(at).get(i).i32_add().f32_load().f64_promote_f32().f64_add().set(total),
  );
}

/**
 * out = exp(x) over `count` floats (whole vectors, then the tail lane by lane); with `shift`,
 * exp(x − shift) (the difference rounded to float32), and with `total`, total += each result in
 * float64, in order (total must be set before).
 */
export function emitExpLoop(
  f: FunctionBuilder,
  x: Local,
  out: Local,
  count: Local,
  { shift, total }: { shift?: Local; total?: Local } = {},
): void {
  const v = f.local('v128');
  const constants = expConstants(f);
  // v − shift in every lane (the tail's value is in lane 0).
  const shifted = () => {
    if (shift) f.get(v).get(shift).f32x4_splat().f32x4_sub().set(v);
  };
  const addLanes = (lanes: number) => {
    if (!total) return;
    for (let lane = 0; lane < lanes; lane++)
      f.get(total).get(v).f32x4_extract_lane(lane).f64_promote_f32().f64_add().set(total);
  };
  elementLoop(
    f,
    count,
    (i) => {
      f.get(x).get(i).i32_add().v128_load().set(v);
      shifted();
      emitExp4(f, v, constants);
      f.set(v);
      f.get(out).get(i).i32_add().get(v).v128_store();
      addLanes(4);
    },
    (i) => {
      f.get(x).get(i).i32_add().f32_load().f32x4_splat().set(v);
      shifted();
      emitExp4(f, v, constants);
      f.set(v);
      f.get(out).get(i).i32_add().get(v).f32x4_extract_lane(0).f32_store();
      addLanes(1);
    },
  );
}

/**
 * shift = the max of the n floats at `row` (NaN if any is NaN), or 0 when it is ±Infinity: the
 * reference's shift (fused_kernels.ts softmaxKernel). With `scaleInto`, of the floats times
 * `scale` (rounded to float32), which are stored at `out` on the way.
 */
export function emitRowShift(
  f: FunctionBuilder,
  row: Local,
  n: Local,
  shift: Local,
  scaleInto?: { scale: Local; out: Local },
): void {
  const v = f.local('v128');
  // The value at byte i of the row on the stack (scaled and stored at `out` with scaleInto).
  const load = (i: Local, vector: boolean) => {
    f.get(row).get(i).i32_add();
    if (vector) f.v128_load();
    else f.f32_load();
    if (!scaleInto) return;
    const value = vector ? f.local('v128') : f.local('f32');
    f.get(scaleInto.scale);
    if (vector) f.f32x4_splat().f32x4_mul();
    else f.f32_mul();
    f.set(value);
    f.get(scaleInto.out).get(i).i32_add().get(value);
    if (vector) f.v128_store();
    else f.f32_store();
    f.get(value);
  };
  f.f32_const(-Infinity).f32x4_splat().set(v);
  elementLoop(
    f,
    n,
    (i) => {
      f.get(v);
      load(i, true);
      f.f32x4_max().set(v);
    },
    (i) => {
      f.get(shift);
      load(i, false);
      f.f32_max().set(shift);
    },
    () => {
      f.get(v).f32x4_extract_lane(0);
      for (let lane = 1; lane < 4; lane++) f.get(v).f32x4_extract_lane(lane).f32_max();
      f.set(shift);
    },
  );
  f.f32_const(0).get(shift).get(shift).f32_abs().f32_const(Infinity).f32_eq().select().set(shift);
}

/**
 * natural log of the float64 `t` (left on the stack) for a softmax row's Σ exp, which is 0, in
 * [1, n], +Infinity or NaN: t = m·2^e with m within √½..√2 (e from t's float32 exponent), then
 * log m = 2·atanh((m − 1)/(m + 1)) by its series to s^15 (|s| ≤ 0.172: error below 1e-12).
 */
function emitRowLog(f: FunctionBuilder, t: Local): void {
  const [e, m, s, s2, result] = [f.local('i32'), ...[0, 1, 2, 3].map(() => f.local('f64'))];
  // e = t's exponent as a float32 (t ≤ n fits), m = t·2^−e.
  f.get(t).f32_demote_f64().i32_reinterpret_f32().i32_const(23).i32_shr_u().i32_const(127);
  f.i32_sub().set(e);
  f.get(t).i32_const(127).get(e).i32_sub().i32_const(23).i32_shl().f32_reinterpret_i32();
  f.f64_promote_f32().f64_mul().set(m);
  f.get(m)
    .f64_const(Math.SQRT2)
    .f64_gt()
    .if_(() => {
      f.get(m).f64_const(0.5).f64_mul().set(m);
      f.get(e).i32_const(1).i32_add().set(e);
    });
  f.get(m).f64_const(1).f64_sub().get(m).f64_const(1).f64_add().f64_div().set(s);
  f.get(s).get(s).f64_mul().set(s2);
  // 2s·(1 + s²/3 + s⁴/5 + … + s¹⁴/15)
  f.f64_const(1 / 15).set(result);
  for (const d of [13, 11, 9, 7, 5, 3, 1])
    f.get(result)
      .get(s2)
      .f64_mul()
      .f64_const(1 / d)
      .f64_add()
      .set(result);
  f.get(result).get(s).f64_mul().f64_const(2).f64_mul();
  f.get(e).f64_convert_i32_s().f64_const(Math.LN2).f64_mul().f64_add().set(result);
  // 0 → −Infinity, +Infinity → +Infinity, NaN → NaN.
  f.f64_const(-Infinity).get(result).get(t).f64_const(0).f64_eq().select().set(result);
  f.get(t).get(result).get(t).f64_const(Infinity).f64_eq().get(t).get(t).f64_ne().i32_or();
  f.select();
}

/**
 * out = f32(op(f64(a))) over the n floats of the row at `a` into the row at `out`: per vector two
 * f64x2 halves (`vectorOp`), joined; lane by lane (`scalarOp`) in the tail.
 */
export function finishRow(
  f: FunctionBuilder,
  a: Local,
  out: Local,
  n: Local,
  vectorOp: () => void,
  scalarOp: () => void,
): void {
  const v = f.local('v128');
  elementLoop(
    f,
    n,
    (i) => {
      f.get(a).get(i).i32_add().v128_load().set(v);
      f.get(out).get(i).i32_add();
      f.get(v).f64x2_promote_low_f32x4();
      vectorOp();
      f.f32x4_demote_f64x2_zero();
      f.get(v).get(v).i8x16_shuffle(HIGH_TO_LOW).f64x2_promote_low_f32x4();
      vectorOp();
      f.f32x4_demote_f64x2_zero().i8x16_shuffle(LOW_HALVES).v128_store();
    },
    (i) => {
      f.get(out).get(i).i32_add();
      f.get(a).get(i).i32_add().f32_load().f64_promote_f32();
      scalarOp();
      f.f32_demote_f64().f32_store();
    },
  );
}

/** The n floats of the row at `row` divided by the float64 `sum`, in place: f32(f64(e) / sum). */
export function divideRow(f: FunctionBuilder, row: Local, n: Local, sum: Local): void {
  finishRow(
    f,
    row,
    row,
    n,
    () => f.get(sum).f64x2_splat().f64x2_div(),
    () => f.get(sum).f64_div(),
  );
}

/**
 * softmax_rows(x, out, rows, n, log), rows of n contiguous elements: out = x − (log Σ + shift)
 * for log-softmax, e / Σ for softmax, e = exp(x − shift) and Σ = Σ e in float64 in order, the
 * final step in float64 rounded once as the reference rounds it. exp runs over all the rows' elements
 * at once (a row of 10 would leave the vector exp's long dependency chains idle).
 */
export function emitSoftmaxRows(m: ModuleBuilder): FunctionBuilder {
  const f = m.func('softmax_rows', ['i32', 'i32', 'i32', 'i32', 'i32'], []);
  const [x, out, rows, n, log] = [0, 1, 2, 3, 4].map((i) => f.param(i));
  const [r, rowBytes, xRow, outRow, total] = [
    f.local('i32'),
    f.local('i32'),
    f.local('i32'),
    f.local('i32'),
    f.local('i32'),
  ];
  const [shift, sum, lse] = [f.local('f32'), f.local('f64'), f.local('f64')];
  f.get(n).i32_const(2).i32_shl().set(rowBytes);
  f.get(rows).get(n).i32_mul().set(total);
  // Each row minus its shift, then exp of everything.
  const forEachRow = (body: () => void) => {
    f.get(x).set(xRow);
    f.get(out).set(outRow);
    f.for_(
      r,
      () => f.i32_const(0),
      () => f.get(rows),
      1,
      () => {
        body();
        f.get(xRow).get(rowBytes).i32_add().set(xRow);
        f.get(outRow).get(rowBytes).i32_add().set(outRow);
      },
    );
  };
  forEachRow(() => {
    emitRowShift(f, xRow, n, shift);
    elementLoop(
      f,
      n,
      (i) => {
        f.get(outRow).get(i).i32_add();
        f.get(xRow).get(i).i32_add().v128_load().get(shift).f32x4_splat().f32x4_sub().v128_store();
      },
      (i) => {
        f.get(outRow).get(i).i32_add();
        f.get(xRow).get(i).i32_add().f32_load().get(shift).f32_sub().f32_store();
      },
    );
  });
  emitExpLoop(f, out, out, total);
  forEachRow(() => {
    sumInOrder(f, outRow, rowBytes, sum);
    f.get(log).if_(
      () => {
        emitRowShift(f, xRow, n, shift);
        emitRowLog(f, sum);
        f.get(shift).f64_promote_f32().f64_add().set(lse);
        finishRow(
          f,
          xRow,
          outRow,
          n,
          () => f.get(lse).f64x2_splat().f64x2_sub(),
          () => f.get(lse).f64_sub(),
        );
      },
      () => divideRow(f, outRow, n, sum),
    );
  });
  return f;
}

/**
 * log_softmax_backward_rows(g, y, out, rows, n): per row of n contiguous elements,
 * out = g − exp(y)·s with s = Σ g (float64 in order, rounded once), every step rounded to float32
 * as the reference kernel rounds it; exp over all the rows at once first.
 */
export function emitLogSoftmaxBackwardRows(m: ModuleBuilder): FunctionBuilder {
  const f = m.func('log_softmax_backward_rows', ['i32', 'i32', 'i32', 'i32', 'i32'], []);
  const [g, y, out, rows, n] = [0, 1, 2, 3, 4].map((i) => f.param(i));
  const [r, rowBytes, total] = [f.local('i32'), f.local('i32'), f.local('i32')];
  const sum = f.local('f32');
  const gTotal = f.local('f64');
  f.get(n).i32_const(2).i32_shl().set(rowBytes);
  f.get(rows).get(n).i32_mul().set(total);
  emitExpLoop(f, y, out, total);
  f.for_(
    r,
    () => f.i32_const(0),
    () => f.get(rows),
    1,
    () => {
      sumInOrder(f, g, rowBytes, gTotal);
      f.get(gTotal).f32_demote_f64().set(sum);
      elementLoop(
        f,
        n,
        (i) => {
          f.get(out).get(i).i32_add();
          f.get(g).get(i).i32_add().v128_load();
          f.get(out).get(i).i32_add().v128_load().get(sum).f32x4_splat().f32x4_mul();
          f.f32x4_sub().v128_store();
        },
        (i) => {
          f.get(out).get(i).i32_add();
          f.get(g).get(i).i32_add().f32_load();
          f.get(out).get(i).i32_add().f32_load().get(sum).f32_mul();
          f.f32_sub().f32_store();
        },
      );
      f.get(g).get(rowBytes).i32_add().set(g);
      f.get(out).get(rowBytes).i32_add().set(out);
    },
  );
  return f;
}
