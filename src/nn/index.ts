/**
 * `nn`: modules, layers, losses and initialization, as torch.nn. Re-exported by src/index.ts as `nn`.
 * @example
 * import { nn } from 'chainrule';
 * const model = new nn.Sequential(new nn.Linear(784, 128), new nn.ReLU(), new nn.Linear(128, 10));
 */
export {
  Module,
  type ForwardHook,
  type ForwardPreHook,
  type FullBackwardHook,
  type ModuleMember,
} from './module.js';
export { Parameter } from './parameter.js';
export * from './layers/linear.js';
export * from './layers/conv.js';
export * from './layers/pooling.js';
export * from './layers/normalization.js';
export * from './layers/dropout.js';
export * from './layers/embedding.js';
export * from './layers/activation.js';
export * from './layers/containers.js';
export * from './layers/shape.js';
export * from './layers/blocks.js';
export * from './losses.js';
export * as init from './init.js';
export * as functional from './functional/index.js';
export * as utils from './utils/index.js';
export { RNNCell, LSTMCell, GRUCell, type RNNNonlinearity } from './layers/rnn_cells.js';
export * from './layers/rnn.js';
export * from './layers/attention.js';
export * from './layers/transformer.js';
