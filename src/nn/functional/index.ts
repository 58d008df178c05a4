/**
 * nn.functional, exported as `F`: stateless layers, activations and losses with PyTorch's names,
 * argument order and semantics (see docs/functional-api.md).
 */
export {
  relu,
  sigmoid,
  tanh,
  silu,
  mish,
  leakyRelu,
  elu,
  gelu,
  softplus,
  hardtanh,
  type GeluOptions,
} from './activations.js';
export { softmax, logSoftmax } from './softmax.js';
export { dropout } from './dropout.js';
export { linear, bilinear } from './linear.js';
export {
  layerNorm,
  rmsNorm,
  groupNorm,
  batchNorm,
  type BatchNormOptions,
} from './normalization.js';
export { embedding, type EmbeddingOptions } from './embedding.js';
export {
  conv1d,
  conv2d,
  convTranspose2d,
  type Conv1dOptions,
  type Conv2dOptions,
  type ConvTranspose2dOptions,
} from './conv.js';
export {
  maxPool2d,
  avgPool2d,
  adaptiveAvgPool2d,
  type MaxPool2dOptions,
  type AvgPool2dOptions,
} from './pooling.js';
export {
  crossEntropy,
  nllLoss,
  mseLoss,
  l1Loss,
  smoothL1Loss,
  huberLoss,
  binaryCrossEntropy,
  binaryCrossEntropyWithLogits,
  klDiv,
  type Reduction,
  type ReductionOptions,
  type NllLossOptions,
  type CrossEntropyOptions,
  type BinaryCrossEntropyOptions,
  type BinaryCrossEntropyWithLogitsOptions,
  type KlDivOptions,
} from './losses.js';
export { glu, swiglu } from './glu.js';
export { scaledDotProductAttention, type ScaledDotProductAttentionOptions } from './attention.js';
export {
  sinusoidalPositionalEncoding,
  rotaryEmbedding,
  applyRotaryPosEmb,
  type SinusoidalOptions,
  type RotaryOptions,
} from './positional.js';
export { pad } from '../../autograd/ops/shape_ops.js';
