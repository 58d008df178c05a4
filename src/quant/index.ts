/** The `quant` namespace: integer-only (NITI-style int8) training and its int8 kernels. */
export {
  IntRandom,
  QMAX,
  requantize,
  shiftStochastic,
  type QTensor,
  type QAccumulator,
} from './int_arith.js';
export {
  IntLinear,
  IntConv2d,
  IntReLU,
  IntMaxPool2d,
  IntFlatten,
  type IntLayer,
} from './int_layers.js';
export { crossEntropyErrorInt } from './int_cross_entropy.js';
export {
  IntSequential,
  createIntModel,
  quantizeImages,
  gatherRows,
  type IntModelName,
} from './int_model.js';
export { matmulNT } from './int8_gemm.js';
export { matmulNTReference } from './int8_kernels.js';
export { setInt8Kernel, int8KernelFor } from './wasm_int8_gemm.js';
