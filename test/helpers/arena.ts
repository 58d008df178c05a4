/** Deterministic float32 test data in the WebAssembly kernels' arena storage. */
import { expect } from 'vitest';
import { kernelRuntime } from '../../src/backend/wasm/kernel_runtime.js';

const SPECIAL = [NaN, Infinity, -Infinity, 0, -0, 1e-40, -1e-40, 3.4e38, -3.4e38];

/**
 * Arena storage (of any size) holding `size` xorshift floats in [−scale, scale) from `seed`,
 * with NaN, ±Infinity, ±0, denormals and huge values sprinkled in when `specials`.
 */
export function arenaData(size: number, seed: number, specials = true, scale = 4): Float32Array {
  const out = kernelRuntime(false)?.rt.arena.float32(size, false) ?? null;
  expect(out, 'arena storage').not.toBeNull();
  let s = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out![i] = ((s >>> 0) / 2 ** 32) * 2 * scale - scale;
    if (specials && i % 37 === 5) out![i] = SPECIAL[((i / 37) % SPECIAL.length) | 0];
  }
  return out!;
}
