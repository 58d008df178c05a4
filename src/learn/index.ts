/**
 * `learn`: trainers that do not backpropagate one loss end to end. Each is an nn.Module over a
 * stack of layers with a `trainStep` that `train.fit` calls, so callbacks, metrics and
 * checkpoints work as for backprop. Re-exported by src/index.ts as `learn`.
 * @example
 * import { learn, nn } from 'chainrule';
 * const dfa = new learn.DirectFeedbackAlignment([
 *   new nn.Sequential(new nn.Linear(784, 256), new nn.Tanh()),
 *   new nn.Linear(256, 10),
 * ]);
 */
export {
  ForwardForward,
  type ForwardForwardOptions,
  type ForwardForwardPrediction,
  type NegativeData,
} from './forward_forward.js';
export {
  DirectFeedbackAlignment,
  type DirectFeedbackAlignmentOptions,
} from './direct_feedback_alignment.js';
export { SyntheticGradients, type SyntheticGradientsOptions } from './synthetic_gradients.js';
