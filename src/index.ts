/**
 * chainrule: automatic differentiation and neural-network training for TypeScript.
 * @example
 * import { tensor } from 'chainrule';
 * const x = tensor([1, 2, 3], { requiresGrad: true });
 * x.pow(2).sum().backward();
 * console.log(x.grad!.toString()); // tensor([2., 4., 6.])
 */
import { registerCpuBackends } from './backend/wasm/wasm_backend.js';

registerCpuBackends();

export {
  Tensor,
  TensorBuffer,
  type TensorLike,
  type NestedArray,
  type ShapeArgs,
} from './tensor/tensor.js';
export type { DType, TypedArray } from './tensor/dtype.js';
export { float32, float64, int32, bool } from './tensor/dtype.js';
export { broadcastShapes } from './tensor/shape.js';
export * from './tensor/creation.js';
export { Generator, manualSeed, defaultGenerator, type GeneratorState } from './tensor/random.js';
export type {
  Backend,
  BackendPrimitives,
  FusedKernels,
  View,
  Storage,
  UnaryOp,
  BinaryOp,
} from './backend/backend.js';
export { registerBackend, getBackend, registeredDevices } from './backend/backend.js';
export {
  setKernelTrace,
  kernelTrace,
  clearKernelTrace,
  isKernelTraceEnabled,
  type KernelCall,
} from './backend/kernel_trace.js';
export { memory, setMemoryLimit, resetPeakMemory, type DeviceMemory } from './backend/memory.js';

export * from './autograd/ops/elementwise.js';
export {
  sum,
  mean,
  prod,
  variance as var,
  std,
  amax,
  amin,
  argmax,
  argmin,
  logsumexp,
  norm,
  cumsum,
  maxAlong,
  minAlong,
} from './autograd/ops/reduction.js';
export type {
  ValuesIndices,
  VarianceOptions,
  ReduceOptions,
  NormOptions,
} from './autograd/ops/reduction.js';
export * from './autograd/ops/linalg.js';
export * as linalg from './autograd/ops/linalg/index.js';
export {
  reshape,
  view,
  flatten,
  unflatten,
  squeeze,
  unsqueeze,
  permute,
  transpose,
  t,
  expand,
  narrow,
  select,
  slice,
  index,
  diagonal,
  contiguous,
  clone,
  detach,
  type IndexItem,
} from './autograd/ops/views.js';
export * from './autograd/ops/shape_ops.js';
export * from './autograd/ops/indexing.js';
export { noGrad, enableGrad, isGradEnabled, setGradEnabled } from './autograd/grad_mode.js';
export { detectAnomaly, setDetectAnomaly, isAnomalyEnabled } from './autograd/anomaly.js';
export type { GradHook, RemovableHandle, BackwardFn } from './autograd/node.js';
export { Node } from './autograd/node.js';
export * as autograd from './autograd/autograd_namespace.js';
export * as func from './func.js';
export * as utils from './utils.js';
export { gradcheck, gradgradcheck, type GradcheckOptions } from './autograd/gradcheck.js';
export * as F from './nn/functional/index.js';
export * as nn from './nn/index.js';
export * as optim from './optim/index.js';
export * as data from './data/index.js';
export * as train from './train/index.js';
export * as privacy from './privacy/index.js';
export * as quant from './quant/index.js';
export { softmax, logSoftmax } from './autograd/ops/softmax.js';
export * as learn from './learn/index.js';
export * as safetensors from './io/safetensors/index.js';
export * as onnx from './io/onnx/index.js';
export * as inspect from './inspect/index.js';
