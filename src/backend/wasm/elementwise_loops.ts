/**
 * Loop skeletons shared by the generated elementwise kernels (elementwise_module.ts,
 * softmax_module.ts, adam_module.ts): a SIMD loop over whole vectors with its scalar tail, and
 * the lane shuffles of the float64 sums. Addresses are bytes, sizes elements.
 */
import type { FunctionBuilder, Local } from './emitter.js';

/** `count` elements rounded down to a multiple of 4, as bytes: the end of the SIMD part of a loop. */
export function simdEnd(f: FunctionBuilder, count: Local, into: Local): void {
  f.get(count).i32_const(2).i32_shl().i32_const(-16).i32_and().set(into);
}

/**
 * A loop over bytes [0, n·4) of v128 steps then f32 steps: `vector(i)` and `scalar(i)` bodies,
 * and `between()` after the vector steps.
 */
export function elementLoop(
  f: FunctionBuilder,
  n: Local,
  vector: (i: Local) => void,
  scalar: (i: Local) => void,
  between?: () => void,
): void {
  const i = f.local('i32');
  const end = f.local('i32');
  const bytes = f.local('i32');
  simdEnd(f, n, end);
  f.for_(
    i,
    () => f.i32_const(0),
    () => f.get(end),
    16,
    () => vector(i),
  );
  between?.();
  f.get(n).i32_const(2).i32_shl().set(bytes);
  f.for_(
    i,
    () => f.get(end),
    () => f.get(bytes),
    4,
    () => scalar(i),
  );
}

/** High two f32 lanes moved to the low two (the rest don't care). */
export const HIGH_TO_LOW = [8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7];
/** Low 8 bytes of the first vector, then low 8 bytes of the second. */
export const LOW_HALVES = [0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23];

/**
 * The i32 words of a kernel's parameter block at `prm` (RNN_PARAMS, LN_PARAMS), read into
 * locals by name.
 */
export function paramLocals<N extends string>(
  f: FunctionBuilder,
  prm: Local,
  names: readonly N[],
): Record<N, Local> {
  return Object.fromEntries(
    names.map((name, i) => {
      const l = f.local('i32');
      f.get(prm)
        .i32_load(4 * i)
        .set(l);
      return [name, l];
    }),
  ) as Record<N, Local>;
}

/** low += the f32x4 `value`'s low two lanes, high += its high two, as f64x2 (float64 sums). */
export function addF64Halves(f: FunctionBuilder, low: Local, high: Local, value: Local): void {
  f.get(low).get(value).f64x2_promote_low_f32x4().f64x2_add().set(low);
  f.get(high).get(value).get(value).i8x16_shuffle(HIGH_TO_LOW).f64x2_promote_low_f32x4();
  f.f64x2_add().set(high);
}

/**
 * While `step` more bytes from the local `at` fit below the local `end`: `body()`, then
 * at += step (a loop over column blocks of one width, leaving `at` where the next width starts).
 */
export function whileFits(
  f: FunctionBuilder,
  at: Local,
  end: Local,
  step: number,
  body: () => void,
): void {
  f.block(() =>
    f.loop(() => {
      f.get(at).i32_const(step).i32_add().get(end).i32_gt_s().br_if(1);
      body();
      f.get(at).i32_const(step).i32_add().set(at);
      f.br(0);
    }),
  );
}
