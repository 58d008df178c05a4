/**
 * The models of the PyTorch round trip (scripts/torch_roundtrip.ts and .py): the CLI's MNIST MLP
 * and CNN, and tiny versions of both for the committed test fixture. scripts/torch_roundtrip.py
 * builds the same architectures in PyTorch; the state dict keys are the same.
 */
import { nn, randn, manualSeed, type Tensor } from '../../src/index.js';
import { createModel } from '../../src/cli/models.js';

export type RoundtripName = 'mlp' | 'cnn';

export function roundtripModel(name: RoundtripName, small: boolean): nn.Module {
  if (!small) return createModel(name);
  if (name === 'mlp')
    return new nn.Sequential(
      new nn.Flatten(),
      new nn.Linear(16, 8),
      new nn.ReLU(),
      new nn.Linear(8, 3),
    );
  return new nn.Sequential(
    new nn.Conv2d(1, 4, 3),
    new nn.ReLU(),
    new nn.MaxPool2d(2),
    new nn.Flatten(),
    new nn.Linear(4 * 3 * 3, 3),
  );
}

/** A seeded input batch: [N, 1, 28, 28] for the CLI models, [N, 1, 4, 4] / [N, 1, 8, 8] small. */
export function roundtripInput(name: RoundtripName, small: boolean, seed = 1): Tensor {
  manualSeed(seed);
  const side = small ? (name === 'mlp' ? 4 : 8) : 28;
  return randn([5, 1, side, side]);
}
