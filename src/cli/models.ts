/** The MNIST models of the main job. */
import * as nn from '../nn/index.js';
import type { Tensor } from '../tensor/tensor.js';

export type ModelName = 'mlp' | 'cnn' | 'lstm';
export const MODEL_NAMES: readonly ModelName[] = ['mlp', 'cnn', 'lstm'];

/**
 * Row-by-row MNIST: each image is a sequence of 28 rows of 28 pixels read by an LSTM (hidden 128);
 * the last hidden state goes through a linear layer to the 10 logits.
 */
export class RowLSTM extends nn.Module {
  lstm = new nn.LSTM(28, 128, { batchFirst: true });
  fc = new nn.Linear(128, 10);

  forward(x: Tensor): Tensor {
    const [, [h]] = this.lstm.call(x.reshape([-1, 28, 28]));
    return this.fc.call(h.select(0, 0));
  }
}

/**
 * Recipe defaults of a model, where they differ from the job's (Adam at 1e-3, constant): the
 * row-by-row LSTM trains with Adam at 2e-3 annealed to 0 along a cosine over its epochs (at a
 * constant 1e-3 it reached 95.5% in 8 epochs; with this schedule, see the README).
 */
export const MODEL_DEFAULTS: Partial<Record<ModelName, { adamLr: number; cosine: boolean }>> = {
  lstm: { adamLr: 2e-3, cosine: true },
};

/**
 * mlp: 784-256-128-10 with ReLU. cnn: conv3x3(32)-ReLU-maxpool-conv3x3(64)-ReLU-maxpool-fc128-fc10.
 * lstm: RowLSTM below. All take images [N, 1, 28, 28] and return logits [N, 10].
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
    case 'lstm':
      return new RowLSTM();
    default:
      throw new Error(`unknown model '${String(name)}'; expected one of ${MODEL_NAMES.join(', ')}`);
  }
}
