/**
 * The backprop baseline of docs/learn.md for Forward-Forward's model size: a 784-500-500-10 ReLU
 * MLP trained by backprop on the seeded 8,000 / 2,000 MNIST split (Adam 1e-3, batch 64, seed 0).
 * Run: npx tsx scripts/learn_baseline.ts [epochs]
 */
import { F, Generator, data, manualSeed, nn, optim, train } from '../src/index.js';
import { mnist } from '../src/data/datasets/mnist.js';

const epochs = Number(process.argv[2] ?? 10);
manualSeed(0);
const { train: trainSet, test } = mnist({ seed: 0 });
const model = new nn.Sequential(
  new nn.Flatten(),
  new nn.Linear(784, 500),
  new nn.ReLU(),
  new nn.Linear(500, 500),
  new nn.ReLU(),
  new nn.Linear(500, 10),
);
const loader = new data.DataLoader(trainSet, {
  batchSize: 64,
  shuffle: true,
  generator: new Generator(0),
});
const start = performance.now();
await train.fit(model, loader, {
  optimizer: new optim.Adam(model.parameters(), { lr: 1e-3 }),
  loss: F.crossEntropy,
  epochs,
});
const seconds = (performance.now() - start) / 1000;
const result = await train.evaluate(
  model,
  new data.DataLoader(test, { batchSize: 500 }),
  F.crossEntropy,
  {
    accuracy: train.accuracy,
  },
);
console.log(
  `784-500-500-10 backprop, ${epochs} epochs: test accuracy: ${(result.accuracy * 100).toFixed(2)}% (${seconds.toFixed(1)} s of training)`,
);
