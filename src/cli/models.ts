/** The MNIST models of the main job. */
import * as nn from '../nn/index.js';

export type ModelName = 'mlp' | 'cnn';
export const MODEL_NAMES: readonly ModelName[] = ['mlp', 'cnn'];

/**
 * mlp: 784-256-128-10 with ReLU. cnn: conv3x3(32)-ReLU-maxpool-conv3x3(64)-ReLU-maxpool-fc128-fc10.
 * Both take images [N, 1, 28, 28] and return logits [N, 10].
 */
export function createModel(name: ModelName): nn.Module {
  switch (name) {
    case 'mlp':
      return new nn.Sequential(
        new nn.Flatten(),
        new nn.Linear(784, 256),
        new nn.ReLU(),
        new nn.Linear(256, 128),
        new nn.ReLU(),
        new nn.Linear(128, 10),
      );
    case 'cnn':
      return new nn.Sequential(
        new nn.Conv2d(1, 32, 3),
        new nn.ReLU(),
        new nn.MaxPool2d(2),
        new nn.Conv2d(32, 64, 3),
        new nn.ReLU(),
        new nn.MaxPool2d(2),
        new nn.Flatten(),
        new nn.Linear(64 * 5 * 5, 128),
        new nn.ReLU(),
        new nn.Linear(128, 10),
      );
    default:
      throw new Error(`unknown model '${String(name)}'; expected one of ${MODEL_NAMES.join(', ')}`);
  }
}
