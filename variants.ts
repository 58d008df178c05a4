import { LEARNING_RATE, mlpSetup } from './bench/lib/data.ts';
import * as cr from './src/index.ts';
import * as kernels from './src/backend/wasm/wasm_backend.ts';
await kernels.setNumThreads(2);
const { F } = cr;
const setup = mlpSetup(128);
const x = cr.tensor(setup.x.data, { shape: setup.x.shape });
const y = cr.tensor(setup.y.data, { shape: setup.y.shape });
const p = (name: string) => cr.tensor(setup[name].data.slice(), { shape: setup[name].shape, requiresGrad: true });
const layers = ['fc1', 'fc2', 'fc3'].map((l) => ({ weight: p(`${l}.weight`), bias: p(`${l}.bias`) }));
const optimizer = new cr.optim.SGD(layers.flatMap((l) => [l.weight, l.bias]), { lr: LEARNING_RATE });
const variant = process.argv[2];
function step() {
  optimizer.zeroGrad();
  let h = x;
  layers.forEach((l, i) => { h = F.linear(h, l.weight, l.bias); if (i < layers.length - 1) h = F.relu(h); });
  const loss = variant === 'noce' ? h.mean() : F.crossEntropy(h, y);
  loss.backward();
  if (variant !== 'noopt') optimizer.step();
  return loss.itemSync();
}
const warm = performance.now() + 1500;
while (performance.now() < warm) step();
const end = performance.now() + 3000;
const t: number[] = [];
while (performance.now() < end) { const t0 = performance.now(); step(); t.push(performance.now() - t0); }
t.sort((a, b) => a - b);
console.log(variant, 'median', t[t.length >> 1].toFixed(3), 'p10', t[Math.floor(t.length / 10)].toFixed(3));
process.exit(0);
