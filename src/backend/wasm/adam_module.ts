/**
 * The generated Adam / AdamW step of the elementwise kernels (run by adamWasm in elementwise.ts):
 * the reference float32 loop's operations (fused_kernels.ts) in its order, four lanes at a time.
 */
import type { FunctionBuilder, Local, ModuleBuilder } from './emitter.js';
import { elementLoop } from './elementwise_loops.js';

/** The constants of an Adam step, as float32 at `consts` (see adamWasm in elementwise.ts). */
export const ADAM_CONSTANTS = [
  'sign',
  'weightDecay',
  'decay',
  'beta1',
  'beta2',
  'oneMinusBeta1',
  'oneMinusBeta2',
  'biasCorrection2Sqrt',
  'negStepSize',
  'eps',
] as const;

/**
 * adam(p, g, m, v, consts, mode, n): one Adam/AdamW step in place on n float32 elements, the
 * reference loop's float32 operations in its order (fused_kernels.ts adamLoop, no amsgrad);
 * mode 1 adds coupled weight decay to the gradient, 2 decays the parameter (AdamW), 0 neither.
 */
export function emitAdam(m: ModuleBuilder): FunctionBuilder {
  const f = m.func('adam', ['i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32'], []);
  const [p, g, mom, vel, consts, mode, n] = [0, 1, 2, 3, 4, 5, 6].map((i) => f.param(i));
  const names = ADAM_CONSTANTS;
  const scalar = Object.fromEntries(names.map((name) => [name, f.local('f32')])) as Record<
    (typeof names)[number],
    Local
  >;
  const vector = Object.fromEntries(names.map((name) => [name, f.local('v128')])) as Record<
    (typeof names)[number],
    Local
  >;
  names.forEach((name, i) => {
    f.get(consts)
      .f32_load(4 * i)
      .tee(scalar[name])
      .f32x4_splat()
      .set(vector[name]);
  });
  const [pv, gv, mv, vv] = [0, 1, 2, 3].map(() => f.local('v128'));
  const [ps, gs, ms, vs] = [0, 1, 2, 3].map(() => f.local('f32'));
  // One step on `lanes` (vectors or scalars), the same sequence either way.
  const step = (i: Local, simd: boolean) => {
    const c = simd ? vector : scalar;
    const [P, G, M, V] = simd ? [pv, gv, mv, vv] : [ps, gs, ms, vs];
    const load = () => (simd ? f.v128_load() : f.f32_load());
    const store = () => (simd ? f.v128_store() : f.f32_store());
    const mul = () => (simd ? f.f32x4_mul() : f.f32_mul());
    const add = () => (simd ? f.f32x4_add() : f.f32_add());
    const div = () => (simd ? f.f32x4_div() : f.f32_div());
    const sqrt = () => (simd ? f.f32x4_sqrt() : f.f32_sqrt());
    f.get(p).get(i).i32_add();
    load();
    f.set(P);
    f.get(g).get(i).i32_add();
    load();
    f.get(c.sign);
    mul();
    f.set(G);
    f.get(mode)
      .i32_const(1)
      .i32_eq()
      .if_(
        () => {
          f.get(G).get(P).get(c.weightDecay);
          mul();
          add();
          f.set(G);
        },
        () =>
          f
            .get(mode)
            .i32_const(2)
            .i32_eq()
            .if_(() => {
              f.get(P).get(c.decay);
              mul();
              f.set(P);
            }),
      );
    // m = m·β1 + g·(1 − β1); v = v·β2 + g²·(1 − β2)
    f.get(mom).get(i).i32_add();
    load();
    f.get(c.beta1);
    mul();
    f.get(G).get(c.oneMinusBeta1);
    mul();
    add();
    f.set(M);
    f.get(mom).get(i).i32_add().get(M);
    store();
    f.get(vel).get(i).i32_add();
    load();
    f.get(c.beta2);
    mul();
    f.get(G).get(G);
    mul();
    f.get(c.oneMinusBeta2);
    mul();
    add();
    f.set(V);
    f.get(vel).get(i).i32_add().get(V);
    store();
    // p = p + (m / (√v / √(1 − β2ᵗ) + eps))·(−lr / (1 − β1ᵗ))
    f.get(p).get(i).i32_add();
    f.get(P);
    f.get(M);
    f.get(V);
    sqrt();
    f.get(c.biasCorrection2Sqrt);
    div();
    f.get(c.eps);
    add();
    div();
    f.get(c.negStepSize);
    mul();
    add();
    store();
  };
  elementLoop(
    f,
    n,
    (i) => step(i, true),
    (i) => step(i, false),
  );
  return f;
}
