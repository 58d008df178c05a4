/**
 * The training methods of `chainrule train mnist --method`: backprop (the model of models.ts) or
 * a trainer of `learn` over the layers of an MLP, each with the defaults its measured run used.
 */
import * as learn from '../learn/index.js';
import * as nn from '../nn/index.js';
import type { ModelName } from './models.js';

export type MethodName = 'backprop' | 'ff' | 'dfa' | 'dni';
export const METHOD_NAMES: readonly MethodName[] = ['backprop', 'ff', 'dfa', 'dni'];

/** Epochs and learning rate of each method's default run (backprop keeps the job's own). */
export const METHOD_DEFAULTS: Record<MethodName, { epochs?: number; lr?: number }> = {
  backprop: {},
  ff: { epochs: 8, lr: 0.03 },
  dfa: { epochs: 20, lr: 1e-3 },
  dni: { epochs: 20, lr: 1e-3 },
};

function block(inputs: number, outputs: number, flatten = false): nn.Module {
  const linear = new nn.Linear(inputs, outputs);
  return flatten
    ? new nn.Sequential(new nn.Flatten(), linear, new nn.ReLU())
    : new nn.Sequential(linear, new nn.ReLU());
}

/**
 * The model a method trains. dfa and dni train the README's MLP (784-256-128-10, ReLU) layer by
 * layer; ff trains 784-500-500 (ReLU) with the label written into the image, on the SymBa
 * objective with hard negative labels, and predicts by goodness; it has no output layer.
 */
export function createLearner(
  method: Exclude<MethodName, 'backprop'>,
  model: ModelName,
): nn.Module {
  if (model !== 'mlp')
    throw new Error(
      `--method ${method} trains the MLP (layer by layer); --model ${model} is trained with --method backprop only`,
    );
  switch (method) {
    case 'ff':
      return new learn.ForwardForward([block(784, 500), block(500, 500)], {
        objective: 'symba',
        negatives: 'hard',
      });
    case 'dfa':
      return new learn.DirectFeedbackAlignment([
        block(784, 256, true),
        block(256, 128),
        new nn.Linear(128, 10),
      ]);
    case 'dni':
      return new learn.SyntheticGradients([
        block(784, 256, true),
        block(256, 128),
        new nn.Linear(128, 10),
      ]);
    default:
      throw new Error(
        `unknown method '${String(method)}'; expected one of ${METHOD_NAMES.join(', ')}`,
      );
  }
}
