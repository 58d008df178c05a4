/**
 * The two halves of a checkpoint round trip that the checkpoint tests share: training state worth
 * saving, and fresh objects (with different settings) to load it back into.
 */
import { Generator, loadCheckpoint, nn, optim, randn } from '../../src/node.js';

/**
 * An Adam optimizer (lr 0.01) that has taken one step on `model` (input [4, 2]), so that the
 * model, the optimizer's moments and its step count all differ from a fresh start; and a
 * generator seeded 5.
 */
export function steppedState(model: nn.Module): { optimizer: optim.Adam; generator: Generator } {
  const optimizer = new optim.Adam(model.parameters(), { lr: 0.01 });
  model
    .call(randn([4, 2]))
    .sum()
    .backward();
  optimizer.step();
  return { optimizer, generator: new Generator(5) };
}

/**
 * Loads the checkpoint at `path` into `model`, a new Adam with lr 0.5 and a generator 'loader'
 * seeded 0, so that the test can check each took the saved state.
 */
export function loadIntoFresh(path: string, model: nn.Module) {
  const optimizer = new optim.Adam(model.parameters(), { lr: 0.5 });
  const generator = new Generator(0);
  const contents = loadCheckpoint(path, { model, optimizer, generators: { loader: generator } });
  return { contents, optimizer, generator };
}
