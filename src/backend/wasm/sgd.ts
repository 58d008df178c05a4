/**
 * The plain float32 SGD step (no momentum, no weight decay), p += g·scale: its WebAssembly
 * function in the kernel module and the one entry the backend calls (plainSgdF32), which runs it
 * split over the threads on arena storage (elementwise.ts sgdWasm) or on copies in the kernels'
 * memory. Bit-identical to the reference loop (../cpu/fused_kernels.ts sgdUpdateKernel).
 */
import type { FunctionBuilder, ModuleBuilder } from './emitter.js';
import type { GemmVariant } from './gemm_module.js';
import type { SgdUpdateOptions, View } from '../backend.js';
import { isContiguous, shapeSize } from '../../tensor/shape.js';
import { sgdWasm } from './elementwise.js';
import { getRuntime } from './kernel_runtime.js';

/** Steps on fewer elements stay on the reference loop (the call costs more than it saves). */
const SGD_MIN_ELEMENTS = 1024;

/**
 * Backend.sgdUpdate for a plain float32 step (no weight decay, no momentum) on contiguous
 * tensors of SGD_MIN_ELEMENTS or more, on the WebAssembly kernel; false, with nothing done,
 * for anything else (the caller runs the reference kernel).
 */
export function plainSgdF32(
  param: View,
  grad: View,
  momentumBuffer: View | null,
  options: SgdUpdateOptions,
): boolean {
  const plain = options.weightDecay === 0 && !(options.momentum !== 0 && momentumBuffer !== null);
  const size = shapeSize(param.shape);
  if (
    !plain ||
    size < SGD_MIN_ELEMENTS ||
    param.dtype !== 'float32' ||
    grad.dtype !== 'float32' ||
    !(param.storage instanceof Float32Array) ||
    !(grad.storage instanceof Float32Array) ||
    !isContiguous(param.shape, param.strides) ||
    !isContiguous(grad.shape, grad.strides)
  )
    return false;
  // The reference's float32 constants: -lr rounded, the sign of maximize applied after.
  const scale = (options.maximize ? -1 : 1) * Math.fround(-options.lr);
  if (sgdWasm(param, grad, scale)) return true;
  const p = param.storage.subarray(param.offset, param.offset + size);
  const g = grad.storage.subarray(grad.offset, grad.offset + size);
  return sgdStepF32(p, g, scale);
}

/**
 * `sgd_f32(p, g, n, scale)`: p[i] = p[i] + g[i]·scale in float32 (a plain SGD step, scale = -lr
 * or lr when maximizing), f32x4.mul then f32x4.add (never fused, so each step rounds as the
 * reference's float32 arithmetic does), scalar for the tail.
 */
export function emitSgd(m: ModuleBuilder, v: GemmVariant): FunctionBuilder {
  const f = m.func('sgd_f32', ['i32', 'i32', 'i32', 'f32'], []);
  const [p, g, n, scale] = [0, 1, 2, 3].map((i) => f.param(i));
  const i = f.local('i32');
  const end = f.local('i32');
  const sv = f.local('v128');
  if (v.level !== 'scalar') {
    f.get(scale).f32x4_splat().set(sv);
    // end = n rounded down to a multiple of 4, in bytes
    f.get(n).i32_const(2).i32_shl().i32_const(-16).i32_and().set(end);
    f.for_(
      i,
      () => f.i32_const(0),
      () => f.get(end),
      16,
      () => {
        f.get(p).get(i).i32_add();
        f.get(p).get(i).i32_add().v128_load();
        f.get(g).get(i).i32_add().v128_load().get(sv).f32x4_mul();
        f.f32x4_add().v128_store();
      },
    );
  } else {
    f.i32_const(0).set(end);
  }
  f.get(n).i32_const(2).i32_shl().set(n);
  f.for_(
    i,
    () => f.get(end),
    () => f.get(n),
    4,
    () => {
      f.get(p).get(i).i32_add();
      f.get(p).get(i).i32_add().f32_load();
      f.get(g).get(i).i32_add().f32_load().get(scale).f32_mul();
      f.f32_add().f32_store();
    },
  );
  return f;
}

/**
 * A plain float32 SGD step in place, p[i] = p[i] + g[i]·scale (scale = -lr, or lr when
 * maximizing, already rounded to float32), on the WebAssembly kernel: the same float32 rounding
 * as the reference loop, several times faster than a typed-array loop even with the copies in
 * and out. False when the kernels cannot take it (the caller runs the reference).
 */
export function sgdStepF32(p: Float32Array, g: Float32Array, scale: number): boolean {
  const n = p.length;
  if (g.length !== n) return false;
  const rt = getRuntime();
  if (!rt) return false;
  const arena = rt.arena;
  if (arena.contains(p) && arena.contains(g)) {
    rt.sgd(p.byteOffset, g.byteOffset, n, scale);
    return true;
  }
  return arena.withTemporaries((take) => {
    const pPtr = take(n * 4);
    const gPtr = pPtr === 0 ? 0 : take(n * 4);
    if (gPtr === 0) return false;
    const heap = rt.heap();
    heap.set(p, pPtr >> 2);
    heap.set(g, gPtr >> 2);
    rt.sgd(pPtr, gPtr, n, scale);
    p.set(heap.subarray(pPtr >> 2, (pPtr >> 2) + n));
    return true;
  });
}
