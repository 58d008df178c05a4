/**
 * The fast CPU backend: the reference CPU backend with its hot kernels replaced by generated
 * WebAssembly (SIMD, worker threads). Storage is the same TypedArrays (large float32 ones live in
 * the kernels' shared memory, arena.ts), so tensors of the two backends mix freely and every
 * kernel not accelerated here is the reference one.
 *
 * Accelerated: float32 matmul (and so linear layers, bmm, einsum's products); conv2d with groups
 * 1 as one matmul per layer over the batch (conv.ts), and max pooling (window_kernels.ts); relu
 * and its backward, add/sub/mul/div on equal shapes or a broadcast row, sums over leading dims and max pooling's
 * scatter-add (elementwise.ts, on arena storage); softmax / log-softmax along the last dim and
 * the softmax and log-softmax backward (a vector exp), GELU forward and backward (gelu.ts),
 * attention's softmax(x·scale) with the causal mask and its backward (attention_softmax.ts);
 * layer norm and RMS norm, forward and backward (layer_norm.ts); copies that swap the outer dims
 * of contiguous rows (swap_copy.ts); plain SGD steps; unfold2d, fold2d and last-dim
 * gather/scatter as TypeScript loops (window_loops.ts, gather_scatter.ts). float64 and
 * integer work, and everything else, run the reference backend's code, whose elementwise and
 * reduction kernels have their own typed-array fast paths (../cpu/fast_paths.ts). */
import type {
  AdamUpdateOptions,
  BackendPrimitives,
  FusedKernels,
  BinaryOp,
  ReduceOp,
  Conv2dGeometry,
  Conv2dGradients,
  Conv2dResult,
  GeluApproximate,
  LayerNormGradients,
  LayerNormResult,
  MaxPool2dResult,
  RmsNormResult,
  SgdUpdateOptions,
  Storage,
  UnaryOp,
  View,
} from '../backend.js';
import { scaledSoftmaxBackwardWasm, scaledSoftmaxWasm } from './attention_softmax.js';
import { swapCopyIntoWasm, swapCopyWasm } from './swap_copy.js';
import { registerBackend } from '../backend.js';
import { traceKernel } from '../kernel_trace.js';
import { cpuBackend, type CpuBackend } from '../cpu/cpu_backend.js';
import type { DType } from '../../tensor/dtype.js';
import {
  adamWasm,
  binaryWasm,
  logSoftmaxBackwardWasm,
  reluBackwardF32,
  reluBackwardWasm,
  scatterAddWasm,
  sumRowsSideJob,
  softmaxWasm,
  sumLeadingWasm,
  unaryWasm,
} from './elementwise.js';
import { conv2dBackwardF32, conv2dFastSupported, conv2dForwardF32 } from './conv.js';
import { maxPool2dF32 } from './window_kernels.js';
import {
  layerNormBackwardWasm,
  layerNormWasm,
  rmsNormBackwardWasm,
  rmsNormWasm,
} from './layer_norm.js';
import { fold2dFast, maxPool2dFast, unfold2dFast } from './window_loops.js';
import { gatherLastDimFast, scatterLastDimFast } from './gather_scatter.js';
import { arenaFloat32, getRuntime, numThreads, wasmGemmAvailable } from './kernel_runtime.js';
import { gemmF32, gemmF32Beside, gemmSideJob } from './gemm.js';
import { runSideBySide } from './side_by_side.js';
import { plainSgdF32 } from './sgd.js';
import { geluBackwardWasm, geluWasm } from './gelu.js';
import { setFloat32Allocator, setKernelMemory } from '../cpu/storage.js';
import { setArenaLimit } from './arena.js';

export { configureGemm } from './gemm.js';
export {
  numThreads,
  setNumThreads,
  setSimdLevel,
  simdLevel,
  tasksByThread,
  whenThreadsReady,
  wasmGemmAvailable,
} from './kernel_runtime.js';
export type { SimdLevel } from './platform.js';

/**
 * Multiply-adds per product up to which a linear layer's two backward products run side by side
 * (batch 128's 128×128×256 products: ~170 µs each alone on one thread against ~108 µs each on two).
 */
const SIDE_BY_SIDE_MAX_WORK = 1 << 23;

/**
 * A 2-D view [rows, cols] (or, `transposed`, the transpose of a [cols, rows] one) as the
 * batch-of-one [1, rows, cols] the gemm takes (tensors' view fields are getters: no spread).
 */
function matrixView(v: View, rows: number, cols: number, transposed: boolean): View {
  const [s0, s1] = v.strides;
  return {
    storage: v.storage,
    dtype: v.dtype,
    shape: [1, rows, cols],
    strides: transposed ? [0, s1, s0] : [0, s0, s1],
    offset: v.offset,
  };
}

/** `result`, recording that a WebAssembly kernel ran `op` when it is not null. */
function traced<T>(op: string, result: T | null): T | null {
  if (result !== null) traceKernel(op, 'wasm');
  return result;
}

/** The reference backend under its own device name, for comparisons. */
export const cpuReferenceBackend: CpuBackend = { ...cpuBackend, name: 'cpu-reference' };

export const wasmBackend: BackendPrimitives & FusedKernels = {
  ...cpuBackend,
  name: 'cpu',

  matmul(a: View, b: View, outDType: DType): Storage {
    if (outDType === 'float32' && a.dtype === 'float32' && b.dtype === 'float32') {
      const out = gemmF32(a, b);
      if (out) {
        traceKernel('matmul', 'wasm');
        return out;
      }
    }
    return cpuBackend.matmul(a, b, outDType);
  },

  unary(op: UnaryOp, x: View, outDType: DType): Storage {
    return traced(op, unaryWasm(op, x, outDType)) ?? cpuBackend.unary(op, x, outDType);
  },

  linear(x: View, weight: View, bias: View): Storage | null {
    if (x.dtype !== 'float32' || weight.dtype !== 'float32' || bias.dtype !== 'float32')
      return null;
    const [m, k] = x.shape;
    const n = weight.shape[0];
    return gemmF32(matrixView(x, m, k, false), matrixView(weight, k, n, true), bias);
  },

  // dX = g·W, dW = gᵀ·x and the bias gradient side by side, each whole on one thread, where each
  // product is small enough that two threads on one lose more to packing and hand-over than
  // they gain; otherwise the products one after the other on all threads, the bias sum in the
  // weight gradient's packing phase.
  linearBackward(
    grad: View,
    x: View,
    weight: View,
    needs: readonly boolean[],
  ): [Storage | null, Storage | null, Storage | null] | null {
    if (grad.dtype !== 'float32' || x.dtype !== 'float32' || weight.dtype !== 'float32')
      return null;
    const [m, n] = grad.shape;
    const k = x.shape[1];
    const rt = getRuntime();
    if (!rt) return null;
    const [g, gT] = [matrixView(grad, m, n, false), matrixView(grad, n, m, true)];
    const [xv, wv] = [matrixView(x, m, k, false), matrixView(weight, n, k, false)];
    const bias = needs[2] ? sumRowsSideJob(grad, m, n) : null;
    if (needs[0] && needs[1] && numThreads() > 1 && m * n * k <= SIDE_BY_SIDE_MAX_WORK) {
      const dx = gemmSideJob(rt, g, wv);
      const dw = gemmSideJob(rt, gT, xv);
      if (!dx || !dw) return null;
      if (!runSideBySide(rt, bias ? [dx, dw, bias] : [dx, dw])) return null;
      return [dx.result!, dw.result!, bias?.result ?? null];
    }
    if (!needs[1] || !bias) return null;
    const dw = gemmF32Beside(gT, xv, [bias]);
    if (!dw) return null;
    return [needs[0] ? gemmF32(g, wv) : null, dw, bias.result];
  },

  // Along the last dim in float32: a vector exp on the kernels (elementwise.ts), within 2 ulp of
  // the reference's Math.exp; anything else is the reference kernel.
  softmax(x: View, axis: number, log: boolean): Storage {
    return softmaxWasm(x, axis, log) ?? cpuBackend.softmax(x, axis, log);
  },

  softmaxBackward(grad: View, output: View, axis: number, log: boolean): Storage {
    return (
      (log
        ? logSoftmaxBackwardWasm(grad, output, axis)
        : axis === output.shape.length - 1
          ? scaledSoftmaxBackwardWasm(grad, output, 1, false)
          : null) ?? cpuBackend.softmaxBackward(grad, output, axis, log)
    );
  },

  // Copies that swap the outer dims of contiguous rows (attention's layouts) on the kernels.
  copy(x: View, dtype: DType): Storage {
    return (dtype === 'float32' ? swapCopyWasm(x) : null) ?? cpuBackend.copy(x, dtype);
  },

  // And into a window of a wider tensor (split's gradient: the heads into packed q, k, v).
  copyInto(dst: View, src: View): void {
    if (!swapCopyIntoWasm(dst, src)) cpuBackend.copyInto(dst, src);
  },

  // The attention softmax (attention_softmax.ts): float32 on the kernels, else the reference.
  scaledSoftmax(x: View, scale: number, causal: boolean): Storage {
    return scaledSoftmaxWasm(x, scale, causal) ?? cpuBackend.scaledSoftmax(x, scale, causal);
  },

  scaledSoftmaxBackward(grad: View, output: View, scale: number, causal: boolean): Storage {
    return (
      scaledSoftmaxBackwardWasm(grad, output, scale, causal) ??
      cpuBackend.scaledSoftmaxBackward(grad, output, scale, causal)
    );
  },

  // float32 on the SIMD kernels (layer_norm.ts), rows split over the threads; else the reference.
  layerNorm(
    x: View,
    normalizedSize: number,
    weight: View | null,
    bias: View | null,
    eps: number,
  ): LayerNormResult {
    return (
      traced('layerNorm', layerNormWasm(x, normalizedSize, weight, bias, eps)) ??
      cpuBackend.layerNorm(x, normalizedSize, weight, bias, eps)
    );
  },

  layerNormBackward(
    grad: View,
    x: View,
    mean: View,
    rstd: View,
    weight: View | null,
    normalizedSize: number,
    needs: readonly [boolean, boolean, boolean],
  ): LayerNormGradients {
    return (
      traced(
        'layerNormBackward',
        layerNormBackwardWasm(grad, x, mean, rstd, weight, normalizedSize, needs),
      ) ?? cpuBackend.layerNormBackward(grad, x, mean, rstd, weight, normalizedSize, needs)
    );
  },

  rmsNorm(x: View, normalizedSize: number, weight: View | null, eps: number): RmsNormResult {
    return (
      traced('rmsNorm', rmsNormWasm(x, normalizedSize, weight, eps)) ??
      cpuBackend.rmsNorm(x, normalizedSize, weight, eps)
    );
  },

  rmsNormBackward(
    grad: View,
    x: View,
    rstd: View,
    weight: View | null,
    normalizedSize: number,
    needs: readonly [boolean, boolean],
  ): LayerNormGradients {
    return (
      traced(
        'rmsNormBackward',
        rmsNormBackwardWasm(grad, x, rstd, weight, normalizedSize, needs),
      ) ?? cpuBackend.rmsNormBackward(grad, x, rstd, weight, normalizedSize, needs)
    );
  },

  release(storage: Storage): void {
    if (storage instanceof Float32Array || storage instanceof Int32Array)
      getRuntime()?.arena.releaseStorage(storage);
  },

  reluBackward(grad: View, output: View): Storage | null {
    return reluBackwardWasm(grad, output) ?? reluBackwardF32(grad, output);
  },

  binary(op: BinaryOp, a: View, b: View, outDType: DType): Storage {
    return traced(op, binaryWasm(op, a, b, outDType)) ?? cpuBackend.binary(op, a, b, outDType);
  },

  reduce(op: ReduceOp, x: View, axes: readonly number[], outDType: DType): Storage {
    return (
      traced(op, sumLeadingWasm(op, x, axes, outDType)) ?? cpuBackend.reduce(op, x, axes, outDType)
    );
  },

  sgdUpdate(param: View, grad: View, momentumBuffer: View | null, options: SgdUpdateOptions): void {
    if (!plainSgdF32(param, grad, momentumBuffer, options))
      cpuBackend.sgdUpdate(param, grad, momentumBuffer, options);
  },

  adamUpdate(
    param: View,
    grad: View,
    expAvg: View,
    expAvgSq: View,
    maxExpAvgSq: View | null,
    options: AdamUpdateOptions,
  ): void {
    // float32 without amsgrad on arena storage: the WebAssembly kernel, the reference's bits.
    if (!(options.amsgrad && maxExpAvgSq) && adamWasm(param, grad, expAvg, expAvgSq, options))
      return;
    cpuBackend.adamUpdate(param, grad, expAvg, expAvgSq, maxExpAvgSq, options);
  },

  // Sliding windows and indexing: tight TypeScript loops (window_loops.ts, gather_scatter.ts).
  unfold2d(x: View, geometry: Conv2dGeometry, padValue: number): Storage {
    return unfold2dFast(x, geometry, padValue);
  },

  fold2d(
    columns: View,
    outputShape: readonly [number, number, number, number],
    geometry: Conv2dGeometry,
  ): Storage {
    return fold2dFast(columns, outputShape, geometry);
  },

  maxPool2d(
    x: View,
    geometry: Conv2dGeometry,
    outSize: readonly [number, number],
  ): MaxPool2dResult {
    // float32 on the WebAssembly kernels (threaded, branch-free), else the TypeScript loop.
    return maxPool2dF32(x, geometry, outSize) ?? maxPool2dFast(x, geometry, outSize);
  },

  // conv2d (groups 1, float32) as one matmul per layer over the whole batch (conv.ts).
  conv2d(x: View, weight: View, bias: View | null, geometry: Conv2dGeometry): Conv2dResult | null {
    if (!conv2dFastSupported(x, weight, bias)) return null;
    const { output, columns } = conv2dForwardF32(x, weight, bias, geometry);
    return { output, columns, columnsSize: columns ? columns.length : 0 };
  },

  conv2dBackward(
    x: View,
    weight: View,
    grad: View,
    geometry: Conv2dGeometry,
    columns: Storage | null,
    needs: readonly [boolean, boolean, boolean],
  ): Conv2dGradients {
    return conv2dBackwardF32(x, weight, grad, geometry, columns as Float32Array | null, needs);
  },

  // float32 on the kernels (a float32 erf / tanh, gelu_module.ts), else the reference loops.
  gelu(x: View, approximate: GeluApproximate): Storage {
    return traced('gelu', geluWasm(x, approximate)) ?? cpuBackend.gelu(x, approximate);
  },

  geluBackward(grad: View, x: View, approximate: GeluApproximate): Storage {
    return (
      traced('geluBackward', geluBackwardWasm(grad, x, approximate)) ??
      cpuBackend.geluBackward(grad, x, approximate)
    );
  },

  gather(x: View, dim: number, index: View): Storage {
    return gatherLastDimFast(x, dim, index) ?? cpuBackend.gather(x, dim, index);
  },

  scatter(base: View, dim: number, index: View, src: View, mode: 'add' | 'assign'): Storage {
    return (
      (mode === 'add' ? scatterAddWasm(base, dim, index, src) : null) ??
      scatterLastDimFast(base, dim, index, src, mode) ??
      cpuBackend.scatter(base, dim, index, src, mode)
    );
  },
};

export type CpuKernels = 'wasm' | 'reference';

/**
 * Chooses the kernels behind the 'cpu' device for tensors created from now on: 'wasm' (the
 * default where WebAssembly exists) or 'reference' (plain TypeScript, the oracle). The reference
 * backend is also always registered as the device 'cpu-reference'.
 */
export function useCpuKernels(kind: CpuKernels): void {
  if (kind === 'wasm' && !wasmGemmAvailable())
    throw new Error('useCpuKernels: WebAssembly is not available in this engine');
  registerBackend(kind === 'wasm' ? wasmBackend : cpuBackend);
  // Large float32 results live in the kernels' memory (arena.ts) while its kernels are in use.
  setFloat32Allocator(kind === 'wasm' ? arenaFloat32 : null);
}

/** Registers 'cpu' (WebAssembly kernels where available, else the reference) and 'cpu-reference'. */
export function registerCpuBackends(): void {
  // What memory() reports of the kernels' memory, and where setMemoryLimit applies.
  setKernelMemory({
    stats: () => getRuntime()?.arena.stats() ?? null,
    setLimit: setArenaLimit,
    resetPeak: () => getRuntime()?.arena.resetPeak(),
  });
  registerBackend(cpuReferenceBackend);
  if (wasmGemmAvailable()) useCpuKernels('wasm');
  else registerBackend(cpuBackend);
}
