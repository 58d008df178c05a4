/**
 * The machine's WebAssembly ceilings, measured with chainrule's own ceiling loop
 * (ceiling_module.ts: independent f32x4 multiply-adds on registers only, either
 * `f32x4.relaxed_madd` or `f32x4.mul` + `f32x4.add`), run on 1..T worker threads at once.
 */
import { Worker } from 'node:worker_threads';
import { buildCeilingModule, ceilingFlops } from './ceiling_module.js';
// Importing the platform probe sets Node 20's relaxed-SIMD flag before any module compiles.
import { simdLevelSupported } from '../../src/backend/wasm/platform.js';

export type CeilingKind = 'relaxed' | 'simd';

export const relaxedSimdAvailable = (): boolean => simdLevelSupported('relaxed');

const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const memory = new WebAssembly.Memory({ initial: 1, maximum: 1 });
const run = new WebAssembly.Instance(new WebAssembly.Module(workerData.bytes), { env: { memory } }).exports.run;
const warmUntil = performance.now() + 300; // let the engine tier up to its optimizing compiler
while (performance.now() < warmUntil) run(100000);
parentPort.postMessage({ ready: true });
parentPort.on('message', (iterations) => {
  if (iterations === 0) return process.exit(0);
  const start = performance.now();
  const sink = run(iterations);
  parentPort.postMessage({ ms: performance.now() - start, sink });
});
`;

interface Reply {
  ready?: boolean;
  ms?: number;
}

/**
 * GFLOP/s of `threads` workers running the loop at once, one sample per repeat (all threads'
 * flops over the slowest thread's time); each sample lasts about `sampleMs`.
 */
export async function measureCeiling(
  kind: CeilingKind,
  threads: number,
  repeats: number,
  sampleMs = 250,
): Promise<number[]> {
  const bytes = buildCeilingModule(kind);
  const workers = Array.from(
    { length: threads },
    () => new Worker(WORKER, { eval: true, workerData: { bytes } }),
  );
  const next = (w: Worker) =>
    new Promise<Reply>((resolve, reject) => {
      w.once('message', resolve);
      w.once('error', reject);
    });
  const round = async (iterations: number) => {
    const replies = workers.map(next);
    for (const w of workers) w.postMessage(iterations);
    return Math.max(...(await Promise.all(replies)).map((r) => r.ms!));
  };
  try {
    await Promise.all(workers.map(next)); // warmed up
    const probe = 2_000_000;
    const iterations = Math.max(probe, Math.round((probe * sampleMs) / (await round(probe))));
    const samples: number[] = [];
    for (let r = 0; r < repeats; r++)
      samples.push((threads * ceilingFlops(iterations)) / (await round(iterations)) / 1e6);
    return samples;
  } finally {
    for (const w of workers) w.postMessage(0);
  }
}
