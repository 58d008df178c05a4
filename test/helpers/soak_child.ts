/**
 * A training loop written the obvious way (no disposal), run in a process of its own so that its
 * resident set size (RSS: the JavaScript heap, the WebAssembly kernel memory and everything else)
 * is its own. Prints one JSON line: RSS in MB at `from` steps and at the end, and memory().
 * Usage: node --import tsx test/helpers/soak_child.ts mlp|cnn|sizes <steps> <from>
 */
import { F, manualSeed, memory, ones, optim, rand, randint } from '../../src/index.js';
import { createModel } from '../../src/cli/models.js';

const [kind, stepsText, fromText] = process.argv.slice(2);
const steps = Number(stepsText);
const from = Number(fromText);
const rssMB = () => process.memoryUsage().rss / 2 ** 20;
manualSeed(0);
let start = rssMB();
let step: () => void;
if (kind === 'sizes') {
  // Tensors of 1 to 1e6 elements, log-uniformly, each used once.
  let seed = 1;
  const random = () => (seed = (seed * 48271) % 2147483647) / 2147483647;
  step = () => {
    ones([Math.max(1, Math.round(10 ** (random() * 6)))]).mul(2);
  };
} else {
  const model = createModel(kind === 'cnn' ? 'cnn' : 'mlp');
  const optimizer = new optim.Adam(model.parameters(), { lr: 1e-3 });
  const images = rand([256, 1, 28, 28]);
  const labels = randint(0, 10, [256]);
  const batch = kind === 'cnn' ? 32 : 64;
  let at = 0;
  step = () => {
    at = (at + batch) % (256 - batch);
    const loss = F.crossEntropy(
      model.call(images.narrow(0, at, batch).clone()),
      labels.narrow(0, at, batch).clone(),
    );
    optimizer.zeroGrad();
    loss.backward();
    optimizer.step();
    loss.itemSync();
  };
}
for (let i = 1; i <= steps; i++) {
  step();
  if (i === from) start = rssMB();
}
console.log(JSON.stringify({ start, end: rssMB(), memory: memory() }));
process.exit(0);
