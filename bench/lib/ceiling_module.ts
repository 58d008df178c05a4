/**
 * A register-only loop that measures the engine's float32 arithmetic ceiling: `run(iters)` does
 * `iters` steps of ACCUMULATORS independent f32x4 multiply-adds (relaxed-SIMD fused, or
 * mul + add), 8 flops each, with no memory traffic. Benchmarks report kernels against it.
 */
import { onePageModule } from '../../src/backend/wasm/platform.js';

const CEILING_ACCUMULATORS = 12;

/** Flops done by `run(iters)`. */
export function ceilingFlops(iters: number): number {
  return iters * CEILING_ACCUMULATORS * 8;
}

export function buildCeilingModule(kind: 'relaxed' | 'simd'): Uint8Array<ArrayBuffer> {
  const m = onePageModule();
  const f = m.func('run', ['i32'], ['f32']);
  const iters = f.param(0);
  const acc = Array.from({ length: CEILING_ACCUMULATORS }, () => f.local('v128'));
  const x = f.local('v128');
  const y = f.local('v128');
  const i = f.local('i32');
  f.f32_const(1.0000001).f32x4_splat().set(x);
  f.f32_const(1e-7).f32x4_splat().set(y);
  f.for_(
    i,
    () => f.i32_const(0),
    () => f.get(iters),
    1,
    () => {
      for (const a of acc) {
        if (kind === 'relaxed') f.get(a).get(x).get(y).f32x4_relaxed_madd().set(a);
        else f.get(a).get(x).f32x4_mul().get(y).f32x4_add().set(a);
      }
    },
  );
  // Sum the accumulators so none is dead code.
  f.get(acc[0]);
  for (const a of acc.slice(1)) f.get(a).f32x4_add();
  f.f32x4_extract_lane(0);
  return m.encode();
}
