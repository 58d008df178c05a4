/**
 * Per-kernel profile of the CNN training step (bench/suites/cnn.ts): wall and process CPU time
 * (all threads) per backend kernel call, grouped by kernel and shape, plus the whole step.
 * Usage: npx tsx bench/cnn_profile.ts [threads] [steps]
 */
import { cnnSetup, LEARNING_RATE } from './lib/data.js';
import * as cr from '../src/index.js';
import * as kernels from '../src/backend/wasm/wasm_backend.js';
import { profileKernels, timeSteps } from './lib/kernel_profile.js';

const threads = Number(process.argv[2] ?? 2);
const steps = Number(process.argv[3] ?? 30);
await kernels.setNumThreads(threads);
const { F } = cr;
const setup = cnnSetup(64);
const x = cr.tensor(setup.x.data, { shape: setup.x.shape });
const y = cr.tensor(setup.y.data, { shape: setup.y.shape });
const p = (name: string) =>
  cr.tensor(setup[name].data.slice(), { shape: setup[name].shape, requiresGrad: true });
const [c1w, c1b, c2w, c2b, fw, fb] = ['conv1', 'conv2', 'fc'].flatMap((l) => [
  p(`${l}.weight`),
  p(`${l}.bias`),
]);
const optimizer = new cr.optim.SGD([c1w, c1b, c2w, c2b, fw, fb], { lr: LEARNING_RATE });

const profiler = profileKernels();

const phase = new Map<string, number>();
const mark = (name: string, t0: number) =>
  phase.set(name, (phase.get(name) ?? 0) + performance.now() - t0);
function step(): number {
  optimizer.zeroGrad();
  let t = performance.now();
  const a1 = F.relu(F.conv2d(x, c1w, c1b));
  mark('fwd conv1+relu', t);
  t = performance.now();
  let h = F.maxPool2d(a1, 2);
  mark('fwd pool1', t);
  t = performance.now();
  const a2 = F.relu(F.conv2d(h, c2w, c2b));
  mark('fwd conv2+relu', t);
  t = performance.now();
  h = F.maxPool2d(a2, 2);
  mark('fwd pool2', t);
  t = performance.now();
  const loss = F.crossEntropy(F.linear(h.flatten(1), fw, fb), y);
  mark('fwd linear+CE', t);
  t = performance.now();
  loss.backward();
  mark('backward (all)', t);
  t = performance.now();
  optimizer.step();
  mark('sgd step', t);
  return loss.itemSync() as number;
}
for (let i = 0; i < 5; i++) step();
phase.clear();
timeSteps(step, steps);
for (const [k, v] of phase) console.log(`  ${k.padEnd(18)} ${(v / steps).toFixed(2)} ms wall`);
profiler.run(step, steps);
process.exit(0);
