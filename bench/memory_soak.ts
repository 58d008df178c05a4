/**
 * RSS of the process through training loops written the obvious way (no disposal, no tidy),
 * the measurements of issue 17: the MNIST MLP with Adam at batch 64, the MNIST CNN, and a loop
 * making tensors of 1 to 1e6 elements. Prints RSS (MB) at checkpoints and the chainrule memory
 * report where there is one.
 * Usage: npx tsx bench/memory_soak.ts mlp|cnn|sizes [steps] [device]
 */
import * as cr from '../src/index.js';
import { createModel } from '../src/cli/models.js';

const kind = process.argv[2] ?? 'mlp';
const steps = Number(
  process.argv[3] ?? (kind === 'cnn' ? 500 : kind === 'sizes' ? 45_000 : 10_000),
);
const device = process.argv[4] ?? 'cpu';
const MB = 1024 * 1024;
const rss = () => process.memoryUsage().rss / MB;
const report = (step: number) => {
  const m = (cr as unknown as { memory?: (d?: string) => unknown }).memory?.(device);
  console.log(`step ${step}: rss ${rss().toFixed(0)} MB${m ? ' ' + JSON.stringify(m) : ''}`);
};

cr.manualSeed(0);
const start = performance.now();
report(0);
if (kind === 'sizes') {
  // Tensors of 1 to 1e6 elements, log-uniformly, each used once.
  let sum = 0;
  for (let i = 1; i <= steps; i++) {
    const n = Math.max(1, Math.round(10 ** (Math.random() * 6)));
    const t = cr.ones([n], { device }).mul(2);
    sum += t.shape[0];
    if (i % Math.max(1, Math.floor(steps / 9)) === 0 || i === 100) report(i);
  }
  if (sum <= 0) throw new Error('unreachable');
} else {
  const batch = kind === 'cnn' ? 64 : 64;
  const model = createModel(kind === 'cnn' ? 'cnn' : 'mlp');
  if (device !== 'cpu') model.to(device);
  const optimizer = new cr.optim.Adam(model.parameters(), { lr: 1e-3 });
  const pool = 2048;
  const images = cr.rand([pool, 1, 28, 28], { device });
  const labels = cr.randint(0, 10, [pool], { device });
  for (let i = 1; i <= steps; i++) {
    const at = Math.floor(Math.random() * (pool - batch));
    const x = images.narrow(0, at, batch).clone();
    const y = labels.narrow(0, at, batch).clone();
    const loss = cr.F.crossEntropy(model.call(x), y);
    optimizer.zeroGrad();
    loss.backward();
    optimizer.step();
    loss.itemSync();
    if (i === 100 || i % Math.max(1, Math.floor(steps / 10)) === 0 || process.env.EVERY) report(i);
  }
}
console.log(`${((performance.now() - start) / 1000).toFixed(1)} s`);
process.exit(0);
