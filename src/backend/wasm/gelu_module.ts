/**
 * The generated GELU kernels of the elementwise kernels (run by geluWasm and geluBackwardWasm in
 * gelu.ts), forward and backward over contiguous float32 elements, four at a time:
 *
 * - exact ('none'): y = x·Φ(x), Φ(x) = ½(1 + erf(x/√2)); dx = g·(Φ(x) + x·φ(x)),
 *   φ(x) = e^(−x²/2)/√(2π). erf is Eigen's (and XLA's) float32 rational approximation, evaluated
 *   in float64 lanes: the same fit in float32 arithmetic loses up to 4e-7 to rounding near
 *   |x| = 3.6, in float64 it stays within 1e-7 of erf (test/gelu.test.ts checks it on a dense
 *   grid). Φ and x·Φ are taken in float64 too and rounded once; φ uses the softmax kernels'
 *   float32 vector exp.
 * - 'tanh': PyTorch's tanh approximation and its derivative, in float32 with the same steps as
 *   PyTorch's CPU kernel, on the vector tanh (vector_tanh.ts).
 *
 * Values are within a few float32 ulp of the reference loops (../cpu/gelu_kernels.ts, float64
 * math rounded once), not their bits; NaN and ±Infinity come out as PyTorch's (gelu(−∞) is NaN,
 * as x·Φ(x) = −∞·0 there, and so are both gradients at ±∞).
 */
import type { FunctionBuilder, Local, ModuleBuilder } from './emitter.js';
import { elementLoop, HIGH_TO_LOW, LOW_HALVES } from './elementwise_loops.js';
import { INV_SQRT_2PI, TANH_BETA, TANH_KAPPA } from '../cpu/gelu_kernels.js';
import { emitExp4 } from './softmax_module.js';
import { emitTanh4, tanhConstants, type TanhConstants } from './vector_tanh.js';

/** The kernels' `mode` argument. */
export const GELU_MODE = { none: 0, tanh: 1 } as const;

/**
 * Eigen's float32 erf: erf(x) ≈ x·P(x²)/Q(x²) for |x| < 4 (±1 beyond), highest power first.
 * Within 7e-8 of erf when evaluated in float64.
 */
const ERF_NUMERATOR = [
  -2.72614225801306e-10, 2.77068142495902e-8, -2.10102402082508e-6, -5.69250639462346e-5,
  -7.34990630326855e-4, -2.95459980854025e-3, -1.60960333262415e-2,
];
const ERF_DENOMINATOR = [
  -1.45660718464996e-5, -2.13374055278905e-4, -1.68282697438203e-3, -7.37332916720468e-3,
  -1.42647390514189e-2,
];
/** Where the fit ends: erf(4) = 1 − 1.5e-8 is 1 in float32. */
const ERF_END = 4;

/** The erf fit's constants in f64x2 locals (splatted once per kernel, outside its loops). */
export interface ErfConstants {
  numerator: Local[];
  denominator: Local[];
  end: Local;
  one: Local;
  /** The sign bit of each f64 lane. */
  sign: Local;
}

export function erfConstants(f: FunctionBuilder): ErfConstants {
  const splat = (c: number) => {
    const local = f.local('v128');
    f.f64_const(Math.fround(c)).f64x2_splat().set(local);
    return local;
  };
  const sign = f.local('v128');
  f.v128_const_i32x4([0, 0x80000000, 0, 0x80000000]).set(sign);
  return {
    numerator: ERF_NUMERATOR.map(splat),
    denominator: ERF_DENOMINATOR.map(splat),
    end: splat(ERF_END),
    one: splat(1),
    sign,
  };
}

/**
 * erf of the two float64 lanes of each local of `ts`, into the locals `outs`: the rational fit,
 * then ±1 (t's sign) where |t| ≥ 4, so that 1 + erf is exactly 0 far left and x·Φ is 0, not x
 * times the fit's error. The select also covers t = ±∞ and t² = ∞, where the fit is NaN, so t
 * needs no clamp (f64x2.min / max, NaN-exact in WebAssembly, cost as much as the rest of the
 * kernel); NaN stays NaN (|NaN| ≥ 4 is false). The steps of every t and of both polynomials are
 * interleaved: independent chains side by side.
 */
export function emitErf(f: FunctionBuilder, ts: Local[], c: ErfConstants, outs: Local[]): void {
  const locals = () => ts.map(() => f.local('v128'));
  const [z, num, den] = [locals(), locals(), locals()];
  ts.forEach((t, k) => f.get(t).get(t).f64x2_mul().set(z[k]));
  const steps = Math.max(c.numerator.length, c.denominator.length);
  for (let i = 1; i < steps; i++)
    for (const [coefficients, acc] of [
      [c.numerator, num],
      [c.denominator, den],
    ] as const) {
      if (i >= coefficients.length) continue;
      ts.forEach((_, k) => {
        f.get(i === 1 ? coefficients[0] : acc[k])
          .get(z[k])
          .f64x2_mul();
        f.get(coefficients[i]).f64x2_add().set(acc[k]);
      });
    }
  ts.forEach((t, k) => {
    // ±1 with t's sign where |t| ≥ 4, else the fit.
    f.get(t).get(c.one).get(c.sign).v128_bitselect();
    f.get(num[k]).get(t).f64x2_mul().get(den[k]).f64x2_div();
    f.get(t).f64x2_abs().get(c.end).f64x2_ge().v128_bitselect().set(outs[k]);
  });
}

/** Every constant the GELU kernels use, splatted once per kernel. */
interface GeluConstants {
  erf: ErfConstants;
  tanh: TanhConstants;
  /** f64x2: ½ and 1/√2. */
  half64: Local;
  sqrtHalf64: Local;
  /** f32x4: ½, −½, 1/√(2π), √(2/π), 0.044715, 3·0.044715. */
  half: Local;
  minusHalf: Local;
  invSqrt2Pi: Local;
  beta: Local;
  kappa: Local;
  threeKappa: Local;
}

function geluConstants(f: FunctionBuilder): GeluConstants {
  const splat32 = (c: number) => {
    const local = f.local('v128');
    f.f32_const(c).f32x4_splat().set(local);
    return local;
  };
  const splat64 = (c: number) => {
    const local = f.local('v128');
    f.f64_const(c).f64x2_splat().set(local);
    return local;
  };
  return {
    erf: erfConstants(f),
    tanh: tanhConstants(f),
    half64: splat64(0.5),
    sqrtHalf64: splat64(Math.SQRT1_2),
    half: splat32(0.5),
    minusHalf: splat32(-0.5),
    invSqrt2Pi: splat32(INV_SQRT_2PI),
    beta: splat32(TANH_BETA),
    kappa: splat32(TANH_KAPPA),
    threeKappa: splat32(3 * TANH_KAPPA),
  };
}

/** The four float32 lanes of the local x as two f64x2 locals, low lanes first. */
function float64Halves(f: FunctionBuilder, x: Local): [Local, Local] {
  const [low, high] = [f.local('v128'), f.local('v128')];
  f.get(x).f64x2_promote_low_f32x4().set(low);
  f.get(x).get(x).i8x16_shuffle(HIGH_TO_LOW).f64x2_promote_low_f32x4().set(high);
  return [low, high];
}

/** Two f64x2 values (each pushed by its callback) narrowed and joined: a float32 vector on the stack. */
function joinHalves(f: FunctionBuilder, low: () => void, high: () => void): void {
  low();
  f.f32x4_demote_f64x2_zero();
  high();
  f.f32x4_demote_f64x2_zero().i8x16_shuffle(LOW_HALVES);
}

/**
 * Φ(h) = ½ + ½·erf(h/√2) of each f64x2 local of `hs`, into `outs`; at least 0 (the fit's error
 * near h = −5.7 would otherwise make it a little negative, and x·Φ of the wrong sign).
 */
function emitCdf(f: FunctionBuilder, hs: Local[], c: GeluConstants, outs: Local[]): void {
  const ts = hs.map(() => f.local('v128'));
  hs.forEach((h, k) => f.get(h).get(c.sqrtHalf64).f64x2_mul().set(ts[k]));
  emitErf(f, ts, c.erf, outs);
  outs.forEach((out) => {
    f.get(out).get(c.half64).f64x2_mul().get(c.half64).f64x2_add();
    // pmax(Φ, 0) is Φ < 0 ? 0 : Φ: NaN stays NaN.
    f.v128_const_zero().f64x2_pmax().set(out);
  });
}

/** Φ of the four float32 lanes of the local x, as a float32 vector on the stack (and x in halves). */
function emitCdf4(f: FunctionBuilder, x: Local, c: GeluConstants): [Local, Local, Local, Local] {
  const halves = float64Halves(f, x);
  const cdf: [Local, Local] = [f.local('v128'), f.local('v128')];
  emitCdf(f, halves, c, cdf);
  return [...halves, ...cdf];
}

/** inner = √(2/π)·(x + 0.044715·x³) of the f32x4 local x, x² and x³ as PyTorch rounds them. */
function emitTanhInner(f: FunctionBuilder, x: Local, square: Local, c: GeluConstants): void {
  f.get(x).get(x).f32x4_mul().set(square);
  f.get(x).get(c.kappa).get(square).get(x).f32x4_mul().f32x4_mul().f32x4_add();
  f.get(c.beta).f32x4_mul();
}

/** The forward of one mode on the f32x4 local x, left on the stack. */
function emitForward(f: FunctionBuilder, x: Local, c: GeluConstants, tanh: boolean): void {
  if (!tanh) {
    const [low, high, cdfLow, cdfHigh] = emitCdf4(f, x, c);
    joinHalves(
      f,
      () => f.get(cdfLow).get(low).f64x2_mul(),
      () => f.get(cdfHigh).get(high).f64x2_mul(),
    );
    return;
  }
  const [square, inner] = [0, 1].map(() => f.local('v128'));
  emitTanhInner(f, x, square, c);
  f.set(inner);
  // ½·x·(1 + tanh(inner))
  f.get(c.half).get(x).f32x4_mul();
  emitTanh4(f, inner, c.tanh);
  f.get(c.tanh.one).f32x4_add().f32x4_mul();
}

/** The backward of one mode: g·(dy/dx) for the f32x4 locals g and x, left on the stack. */
function emitBackward(
  f: FunctionBuilder,
  g: Local,
  x: Local,
  c: GeluConstants,
  tanh: boolean,
): void {
  const [square, a, b] = [0, 1, 2].map(() => f.local('v128'));
  if (!tanh) {
    // Φ(x) + x·φ(x), φ(x) = e^(x²·−½)/√(2π).
    const [, , cdfLow, cdfHigh] = emitCdf4(f, x, c);
    f.get(g);
    joinHalves(
      f,
      () => f.get(cdfLow),
      () => f.get(cdfHigh),
    );
    f.get(x).get(x).f32x4_mul().get(c.minusHalf).f32x4_mul().set(a);
    f.get(x);
    emitExp4(f, a, c.tanh.exp);
    f.get(c.invSqrt2Pi).f32x4_mul().f32x4_mul().f32x4_add();
    f.f32x4_mul();
    return;
  }
  // ½(1 + th) + ½x·(1 − th²)·√(2/π)(1 + 3·0.044715·x²), th = tanh(inner).
  f.get(g);
  emitTanhInner(f, x, square, c);
  f.set(a);
  emitTanh4(f, a, c.tanh);
  f.set(b);
  f.get(c.half).get(c.tanh.one).get(b).f32x4_add().f32x4_mul();
  f.get(c.half).get(x).f32x4_mul();
  f.get(c.tanh.one).get(b).get(b).f32x4_mul().f32x4_sub().f32x4_mul();
  f.get(c.beta).get(c.tanh.one).get(c.threeKappa).get(square).f32x4_mul().f32x4_add();
  f.f32x4_mul().f32x4_mul();
  f.f32x4_add().f32x4_mul();
}

/**
 * A loop over the n float32 elements at the given addresses (bytes): `compute(loaded)` leaves a
 * vector on the stack from the locals of the inputs' four lanes, stored at out. The last n % 4
 * elements are splatted into all four lanes and lane 0 stored.
 */
function emitLoop(
  f: FunctionBuilder,
  inputs: Local[],
  out: Local,
  n: Local,
  compute: (loaded: Local[]) => void,
): void {
  const loaded = inputs.map(() => f.local('v128'));
  elementLoop(
    f,
    n,
    (i) => {
      inputs.forEach((p, k) => f.get(p).get(i).i32_add().v128_load().set(loaded[k]));
      f.get(out).get(i).i32_add();
      compute(loaded);
      f.v128_store();
    },
    (i) => {
      inputs.forEach((p, k) => f.get(p).get(i).i32_add().f32_load().f32x4_splat().set(loaded[k]));
      f.get(out).get(i).i32_add();
      compute(loaded);
      f.f32x4_extract_lane(0).f32_store();
    },
  );
}

/** gelu_forward(x, out, n, mode): out = gelu(x) over n elements, mode a GELU_MODE. */
export function emitGeluForward(m: ModuleBuilder): FunctionBuilder {
  const f = m.func('gelu_forward', ['i32', 'i32', 'i32', 'i32'], []);
  const [x, out, n, mode] = [0, 1, 2, 3].map((i) => f.param(i));
  const c = geluConstants(f);
  const loop = (tanh: boolean) => () =>
    emitLoop(f, [x], out, n, ([v]) => emitForward(f, v, c, tanh));
  f.get(mode).if_(loop(true), loop(false));
  return f;
}

/** gelu_backward(g, x, out, n, mode): out = g·gelu'(x) over n elements, mode a GELU_MODE. */
export function emitGeluBackward(m: ModuleBuilder): FunctionBuilder {
  const f = m.func('gelu_backward', ['i32', 'i32', 'i32', 'i32', 'i32'], []);
  const [g, x, out, n, mode] = [0, 1, 2, 3, 4].map((i) => f.param(i));
  const c = geluConstants(f);
  const loop = (tanh: boolean) => () =>
    emitLoop(f, [g, x], out, n, ([gv, xv]) => emitBackward(f, gv, xv, c, tanh));
  f.get(mode).if_(loop(true), loop(false));
  return f;
}
