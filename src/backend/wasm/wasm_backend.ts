/**
 * The fast CPU backend: the reference CPU backend with its hot kernels replaced by generated
 * WebAssembly (SIMD, worker threads). Storage is the same TypedArrays, so tensors of the two
 * backends mix freely and every kernel not accelerated here is the reference one.
 *
 * Accelerated: float32 matmul (and so linear layers, bmm, einsum's products and conv2d, which is
 * unfold2d + matmul), and float32 add/sub/mul/div on contiguous, scalar or row-broadcast operands
 * (plain TypeScript loops, elementwise.ts); unfold2d, fold2d, max pooling and last-dim
 * gather/scatter (TypeScript loops, ../cpu/conv_kernels.ts and indexing_kernels.ts). float64
 * and integer matmuls, and everything else, run the reference code.
 */
import type { Backend, BinaryOp, Conv2dGeometry, MaxPool2dResult, Storage, View } from '../backend.js';
import { registerBackend } from '../backend.js';
import { cpuBackend } from '../cpu/cpu_backend.js';
import type { DType } from '../../tensor/dtype.js';
import { fastBinaryF32 } from './elementwise.js';
import { fold2dFast, maxPool2dFast, unfold2dFast } from '../cpu/conv_kernels.js';
import { gatherLastDimFast, scatterLastDimFast } from '../cpu/indexing_kernels.js';
import { gemmF32, wasmGemmAvailable } from './gemm.js';

export { configureGemm, numThreads, setNumThreads, setSimdLevel, simdLevel, tasksByThread, whenThreadsReady, wasmGemmAvailable } from './gemm.js';
export type { SimdLevel } from './platform.js';

/** The reference backend under its own device name, for comparisons. */
export const cpuReferenceBackend: Backend = { ...cpuBackend, name: 'cpu-reference' };

export const wasmBackend: Backend = {
  ...cpuBackend,
  name: 'cpu',

  matmul(a: View, b: View, outDType: DType): Storage {
    if (outDType === 'float32' && a.dtype === 'float32' && b.dtype === 'float32') {
      const out = gemmF32(a, b);
      if (out) return out;
    }
    return cpuBackend.matmul(a, b, outDType);
  },

  binary(op: BinaryOp, a: View, b: View, outDType: DType): Storage {
    return fastBinaryF32(op, a, b, outDType) ?? cpuBackend.binary(op, a, b, outDType);
  },

  // Sliding windows and indexing: tight TypeScript loops (../cpu/conv_kernels.ts, indexing_kernels.ts).
  unfold2d(x: View, geometry: Conv2dGeometry, padValue: number): Storage {
    return unfold2dFast(x, geometry, padValue);
  },

  fold2d(columns: View, outputShape: readonly [number, number, number, number], geometry: Conv2dGeometry): Storage {
    return fold2dFast(columns, outputShape, geometry);
  },

  maxPool2d(x: View, geometry: Conv2dGeometry, outSize: readonly [number, number]): MaxPool2dResult {
    return maxPool2dFast(x, geometry, outSize);
  },

  gather(x: View, dim: number, index: View): Storage {
    return gatherLastDimFast(x, dim, index) ?? cpuBackend.gather(x, dim, index);
  },

  scatter(base: View, dim: number, index: View, src: View, mode: 'add' | 'assign'): Storage {
    return scatterLastDimFast(base, dim, index, src, mode) ?? cpuBackend.scatter(base, dim, index, src, mode);
  },
};

export type CpuKernels = 'wasm' | 'reference';

/**
 * Chooses the kernels behind the 'cpu' device for tensors created from now on: 'wasm' (the
 * default where WebAssembly exists) or 'reference' (plain TypeScript, the oracle). The reference
 * backend is also always registered as the device 'cpu-reference'.
 */
export function useCpuKernels(kind: CpuKernels): void {
  if (kind === 'wasm' && !wasmGemmAvailable()) throw new Error('useCpuKernels: WebAssembly is not available in this engine');
  registerBackend(kind === 'wasm' ? wasmBackend : cpuBackend);
}

/** Registers 'cpu' (WebAssembly kernels where available, else the reference) and 'cpu-reference'. */
export function registerCpuBackends(): void {
  registerBackend(cpuReferenceBackend);
  registerBackend(wasmGemmAvailable() ? wasmBackend : cpuBackend);
}
