/**
 * The transformer step's batched attention products alone: records the batched matmul calls
 * (batch > 1) of one pre-norm transformer step (bench/suites/sequence.ts) with their operand
 * views as the step lays them out, then replays each distinct one on `threads` threads (one
 * count per process: switching restarts the workers, whose start-up would land in the timings):
 * median wall and process CPU time (all threads) per call over blocks of `reps` calls, and the
 * fastest block's wall (the least disturbed by other load on a shared machine).
 * Usage: npx tsx bench/attention_matmul.ts [threads] [rounds] [reps]
 */
import * as os from 'node:os';
import * as cr from '../src/index.js';
import type { View } from '../src/backend/backend.js';
import * as kernels from '../src/backend/wasm/wasm_backend.js';
import { getRuntime } from '../src/backend/wasm/kernel_runtime.js';
import { median } from './lib/kernel_profile.js';
import { TRANSFORMER, transformerEncoder } from './suites/sequence.js';

const threads = Number(process.argv[2] ?? 2);
const rounds = Number(process.argv[3] ?? 15);
const reps = Number(process.argv[4] ?? 20);
const { F } = cr;
const { d, steps: length, batch } = TRANSFORMER;
const encoder = transformerEncoder(cr);
const x = cr.randn([batch, length, d]);
const target = cr.randn([batch, length, d]);

const backend = kernels.wasmBackend;
const matmul = backend.matmul;
const calls = new Map<string, [View, View]>();
backend.matmul = (a, b, dtype) => {
  if (a.shape[0] > 1) {
    const key = `[${a.shape.join(',')}]/[${a.strides.join(',')}] x [${b.shape.join(',')}]/[${b.strides.join(',')}]`;
    if (!calls.has(key)) calls.set(key, [a, b]);
  }
  return matmul(a, b, dtype);
};
await kernels.setNumThreads(threads);
F.mseLoss(encoder.call(x, { isCausal: true }), target).backward();
backend.matmul = matmul;

const arena = getRuntime()!.arena;
const timeBlock = (a: View, b: View) => {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  // Each result goes back to the arena at once: no forced collections inside the timing.
  for (let i = 0; i < reps; i++) arena.releaseStorage(matmul(a, b, 'float32') as Float32Array);
  const wall = (performance.now() - t0) / reps;
  const c = process.cpuUsage(c0);
  return { wall, cpu: (c.user + c.system) / 1000 / reps };
};

console.log(
  `threads ${threads}, load ${os
    .loadavg()
    .map((v) => v.toFixed(2))
    .join(' ')}, simd ${kernels.simdLevel()}`,
);
console.log(
  "per call over the rounds' blocks: median wall ms (fastest block), median cpu ms, GFLOP/s at the median (fastest)",
);
const entries = [...calls];
const walls = entries.map(() => [] as number[]);
const cpus = entries.map(() => [] as number[]);
for (let i = 0; i < entries.length; i++) timeBlock(...entries[i][1]);
// Rounds over all the products in turn, so that a burst of load spreads over them alike.
for (let r = 0; r < rounds; r++)
  entries.forEach(([, [a, b]], i) => {
    const { wall, cpu } = timeBlock(a, b);
    walls[i].push(wall);
    cpus[i].push(cpu);
  });
entries.forEach(([key, [a, b]], i) => {
  const flop = 2 * a.shape[0] * a.shape[1] * a.shape[2] * b.shape[2];
  const wall = median(walls[i]);
  const best = Math.min(...walls[i]);
  console.log(
    `  ${wall.toFixed(3)} (${best.toFixed(3)})  ${median(cpus[i]).toFixed(3)}  ${(flop / wall / 1e6).toFixed(1).padStart(5)} (${(flop / best / 1e6).toFixed(1).padStart(5)})   ${key}`,
  );
});
process.exit(0);
