/**
 * tanh of four float32 lanes for the generated kernels: Cephes' tanhf (an odd polynomial below
 * 0.625, 1 − 2 / (exp(2|x|) + 1) above, on the softmax kernels' vector exp), within a few float32
 * ulp of Math.tanh. Shared by the LSTM / GRU gate kernels (rnn_gate_module.ts) and the GELU
 * kernels' tanh approximation (gelu_module.ts).
 */
import type { FunctionBuilder, Local } from './emitter.js';
import { emitExp4, expConstants, type ExpConstants } from './softmax_module.js';

/** Cephes' tanhf polynomial for |x| < 0.625: x + x·s·P(s), s = x², highest power first. */
const TANH_COEFFICIENTS = [
  -5.70498872745e-3, 2.06390887954e-2, -5.37397155531e-2, 1.33314422036e-1, -3.33332819422e-1,
];

/** The vector tanh's constants (and the exp's it uses) in v128 locals, splatted once per kernel. */
export interface TanhConstants {
  exp: ExpConstants;
  one: Local;
  two: Local;
  tanhSplit: Local;
  absMask: Local;
  tanh: Local[];
}

export function tanhConstants(f: FunctionBuilder): TanhConstants {
  const splat = (c: number) => {
    const l = f.local('v128');
    f.f32_const(c).f32x4_splat().set(l);
    return l;
  };
  const absMask = f.local('v128');
  f.v128_const_i32x4([0x7fffffff, 0x7fffffff, 0x7fffffff, 0x7fffffff]).set(absMask);
  return {
    exp: expConstants(f),
    one: splat(1),
    two: splat(2),
    tanhSplit: splat(0.625),
    absMask,
    tanh: TANH_COEFFICIENTS.map(splat),
  };
}

/** tanh of the local x, left on the stack: Cephes' tanhf in four lanes (±1 at ±Infinity, NaN stays NaN). */
export function emitTanh4(f: FunctionBuilder, x: Local, c: TanhConstants): void {
  const [ax, twice, s] = [0, 1, 2].map(() => f.local('v128'));
  f.get(x).get(c.absMask).v128_and().set(ax);
  // Below 0.625: x + x·s·P(s).
  f.get(x).get(x).f32x4_mul().set(s);
  f.get(c.tanh[0]);
  for (const k of c.tanh.slice(1)) f.get(s).f32x4_mul().get(k).f32x4_add();
  f.get(s).f32x4_mul().get(x).f32x4_mul().get(x).f32x4_add();
  // Above: 1 − 2 / (exp(2|x|) + 1) (exp overflows to Infinity: 1), with x's sign.
  f.get(ax).get(ax).f32x4_add().set(twice);
  f.get(c.one).get(c.two);
  emitExp4(f, twice, c.exp);
  f.get(c.one).f32x4_add().f32x4_div().f32x4_sub();
  f.get(x).get(c.absMask).v128_bitselect();
  f.get(ax).get(c.tanhSplit).f32x4_lt().v128_bitselect();
}
