/**
 * Per-kernel profile of the CNN training step (bench/suites/cnn.ts): wall and process CPU time
 * (all threads) per backend kernel call, grouped by kernel and shape, plus the whole step.
 * Usage: npx tsx bench/cnn_profile.ts [threads] [steps]
 */
import { cnnSetup, LEARNING_RATE } from './lib/data.js';
import * as cr from '../src/index.js';
import * as kernels from '../src/backend/wasm/wasm_backend.js';

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

const stats = new Map<string, { wall: number; cpu: number; calls: number }>();
let profiling = false;
const backend = kernels.wasmBackend as unknown as Record<string, unknown>;
for (const key of Object.keys(backend)) {
  const f = backend[key];
  if (typeof f !== 'function') continue;
  backend[key] = function (this: unknown, ...args: unknown[]) {
    if (!profiling) return (f as (...a: unknown[]) => unknown).apply(this, args);
    const shapes = args
      .filter(
        (a): a is { shape: number[] } =>
          !!a && typeof a === 'object' && Array.isArray((a as { shape?: unknown }).shape),
      )
      .map((a) => `[${a.shape.join(',')}]`)
      .join('x');
    const op = typeof args[0] === 'string' ? `${key}:${args[0]}` : key;
    const label = `${op} ${shapes}`;
    profiling = false;
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const r = (f as (...a: unknown[]) => unknown).apply(this, args);
    const wall = performance.now() - t0;
    const c = process.cpuUsage(c0);
    profiling = true;
    const s = stats.get(label) ?? { wall: 0, cpu: 0, calls: 0 };
    s.wall += wall;
    s.cpu += (c.user + c.system) / 1000;
    s.calls++;
    stats.set(label, s);
    return r;
  };
}

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
const walls: number[] = [];
const cpus: number[] = [];
for (let i = 0; i < steps; i++) {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  step();
  walls.push(performance.now() - t0);
  const c = process.cpuUsage(c0);
  cpus.push((c.user + c.system) / 1000);
}
const med = (a: number[]) => [...a].sort((p, q) => p - q)[Math.floor(a.length / 2)];
const os = await import('node:os');
console.log(
  `threads ${threads} (${kernels.numThreads()}), simd ${kernels.simdLevel()}, load ${os
    .loadavg()
    .map((v) => v.toFixed(2))
    .join(' ')}`,
);
console.log(
  `step: median wall ${med(walls).toFixed(1)} ms (min ${Math.min(...walls).toFixed(1)}), median cpu ${med(cpus).toFixed(1)} ms`,
);
for (const [k, v] of phase) console.log(`  ${k.padEnd(18)} ${(v / steps).toFixed(2)} ms wall`);
profiling = true;
for (let i = 0; i < steps; i++) step();
profiling = false;
const rows = [...stats.entries()].sort((a, b) => b[1].wall - a[1].wall);
let total = 0;
for (const [, v] of rows) total += v.wall;
console.log(`kernels (per step; sum ${(total / steps).toFixed(1)} ms wall):`);
for (const [k, v] of rows.slice(0, 30)) {
  console.log(
    `  ${(v.wall / steps).toFixed(2).padStart(7)} wall ${(v.cpu / steps).toFixed(2).padStart(7)} cpu  ${(v.calls / steps).toFixed(0).padStart(3)}x  ${k}`,
  );
}
process.exit(0);
