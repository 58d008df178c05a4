/**
 * Memory soak: trains a small MLP the obvious way (no disposal) and prints the V8 heap after
 * forced GCs. `--leak` keeps every loss tensor (and so every graph) alive, to show what a leak
 * looks like next to the flat run.
 *
 *   npx tsx scripts/memory-soak.ts [steps=20000] [--leak]
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { manualSeed, noGrad, randn, zeros, type Tensor } from '../src/index.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const heapMB = () => {
  for (let i = 0; i < 4; i++) gc();
  const usage = process.memoryUsage();
  return (usage.heapUsed + usage.arrayBuffers) / 2 ** 20;
};

const steps = Number(process.argv.find((a) => /^\d+$/.test(a)) ?? 20_000);
const leak = process.argv.includes('--leak');

manualSeed(0);
const w1 = randn([8, 16]).mul(0.3).requiresGrad_();
const b1 = zeros([16], { requiresGrad: true });
const w2 = randn([16, 1]).mul(0.3).requiresGrad_();
const b2 = zeros([1], { requiresGrad: true });
const params = [w1, b1, w2, b2];
const x = randn([16, 8]);
const y = x.sum(1, true).tanh();
const kept: Tensor[] = [];

const start = performance.now();
let baseline = 0;
for (let i = 1; i <= steps; i++) {
  const loss = x.matmul(w1).add(b1).relu().matmul(w2).add(b2).sub(y).square().mean();
  loss.backward();
  noGrad(() => {
    for (const p of params) {
      p.sub_(p.grad!.mul(0.05));
      p.grad = null;
    }
  });
  if (leak) kept.push(loss);
  if (i === 500) baseline = heapMB();
  if (i % Math.max(1, Math.floor(steps / 10)) === 0) {
    const heap = heapMB();
    console.log(`step ${i}: loss ${(loss.itemSync() as number).toExponential(3)}, heap ${heap.toFixed(1)} MB (${(heap - baseline >= 0 ? '+' : '') + (heap - baseline).toFixed(1)} MB since step 500)`);
  }
}
console.log(`${steps} steps in ${((performance.now() - start) / 1000).toFixed(1)} s`);
