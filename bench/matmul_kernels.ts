/**
 * The WebAssembly matmul kernels against the machine's ceilings, in one run:
 *   npx tsx bench/matmul_kernels.ts [--quick]
 * Prints GFLOP/s (median of repeats) of float32 matmul, square n = 256…2048, on 1 and 2 threads,
 * the relaxed-SIMD FMA and plain SIMD mul+add ceilings (register-only WebAssembly loops) on 1
 * and 2 threads, and each matmul as a fraction of the relaxed-SIMD ceiling on as many threads.
 * Two clocks: wall time, and process CPU time (flops per CPU-second × threads), which is what
 * the run would give with its cores to itself; on a machine shared with other work the CPU-time
 * figures and their ratios are the stable ones. Not part of `npm test`.
 */
import { Worker } from 'node:worker_threads';
import type { View } from '../src/backend/backend.js';
import { cpuBackend } from '../src/backend/cpu/cpu_backend.js';
import { buildCeilingModule, ceilingFlops } from './lib/ceiling_module.js';
import { setNumThreads, simdLevel, wasmBackend } from '../src/backend/wasm/wasm_backend.js';

const quick = process.argv.includes('--quick');
const sizes = quick ? [256, 512, 1024] : [256, 512, 1024, 2048];
const threadCounts = [1, 2];

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function randomView(shape: [number, number, number]): View {
  const data = new Float32Array(shape[0] * shape[1] * shape[2]);
  for (let i = 0; i < data.length; i++) data[i] = Math.random() * 2 - 1;
  return {
    storage: data,
    dtype: 'float32',
    shape,
    strides: [shape[1] * shape[2], shape[2], 1],
    offset: 0,
  };
}

const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

interface Rate {
  /** GFLOP/s by the wall clock. */
  wall: number;
  /** GFLOP per CPU-second of the process, times the threads used. */
  cpu: number;
}

/** Median GFLOP/s of `fn` doing `flops` on `threads` threads, repeated for about `seconds`. */
function measure(fn: () => void, flops: number, threads: number, seconds: number): Rate {
  for (let i = 0; i < 2; i++) fn();
  const wall: number[] = [];
  const cpu: number[] = [];
  const start = performance.now();
  while (wall.length < 3 || (performance.now() - start < seconds * 1000 && wall.length < 200)) {
    const t0 = performance.now();
    const c0 = cpuMs();
    fn();
    cpu.push(cpuMs() - c0);
    wall.push(performance.now() - t0);
  }
  return { wall: flops / median(wall) / 1e6, cpu: (flops * threads) / median(cpu) / 1e6 };
}

const CEILING_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const { exports } = new WebAssembly.Instance(new WebAssembly.Module(workerData.bytes), { env: { memory: new WebAssembly.Memory({ initial: 1, maximum: 1 }) } });
exports.run(1000000);
parentPort.on('message', (iters) => {
  const t0 = performance.now();
  exports.run(iters);
  parentPort.postMessage(performance.now() - t0);
});
parentPort.postMessage('ready');
`;

/** GFLOP/s of the ceiling loop on `threads` threads at once (median of 5 rounds). */
async function ceiling(kind: 'relaxed' | 'simd', threads: number): Promise<Rate> {
  const bytes = buildCeilingModule(kind);
  const workers = Array.from(
    { length: threads },
    () => new Worker(CEILING_WORKER, { eval: true, workerData: { bytes } }),
  );
  await Promise.all(workers.map((w) => new Promise((resolve) => w.once('message', resolve))));
  const iters = 10_000_000;
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let r = 0; r < 5; r++) {
    const c0 = cpuMs();
    const times = await Promise.all(
      workers.map(
        (w) =>
          new Promise<number>((resolve) => {
            w.once('message', resolve);
            w.postMessage(iters);
          }),
      ),
    );
    cpu.push(cpuMs() - c0);
    wall.push(Math.max(...times));
  }
  await Promise.all(workers.map((w) => w.terminate()));
  const flops = ceilingFlops(iters) * threads;
  return { wall: flops / median(wall) / 1e6, cpu: (flops * threads) / median(cpu) / 1e6 };
}

const fmt = (x: number, width: number) => x.toFixed(1).padStart(width);
const pct = (x: number, width: number) => `${(x * 100).toFixed(0)}%`.padStart(width);

async function main(): Promise<void> {
  // The relaxed-SIMD flag is set when the kernels load (imported above), before these compile.
  console.log(
    `chainrule WebAssembly matmul kernels: SIMD level '${simdLevel()}', Node ${process.version}`,
  );
  const ceilings: Record<string, Rate> = {};
  for (const t of threadCounts) {
    for (const kind of ['relaxed', 'simd'] as const)
      ceilings[`${kind}/${t}`] = await ceiling(kind, t);
  }
  console.log('\nceilings (register-only loop), GFLOP/s: wall clock | CPU time');
  console.log('threads  relaxed-SIMD FMA      SIMD mul+add');
  for (const t of threadCounts) {
    const r = ceilings[`relaxed/${t}`];
    const p = ceilings[`simd/${t}`];
    console.log(
      `${String(t).padStart(7)}  ${fmt(r.wall, 7)} | ${fmt(r.cpu, 6)}  ${fmt(p.wall, 7)} | ${fmt(p.cpu, 6)}`,
    );
  }

  console.log(
    '\nmatmul float32 [n,n]x[n,n], median GFLOP/s and fraction of the relaxed-SIMD ceiling on as many threads',
  );
  console.log(
    '     n  threads  wall GFLOP/s  of ceiling   CPU GFLOP/s  of ceiling   reference (1 thread, wall)',
  );
  for (const n of sizes) {
    const a = randomView([1, n, n]);
    const b = randomView([1, n, n]);
    const flops = 2 * n * n * n;
    const reference =
      n <= 512 ? measure(() => cpuBackend.matmul(a, b, 'float32'), flops, 1, 1).wall : NaN;
    for (const t of threadCounts) {
      await setNumThreads(t);
      const g = measure(() => wasmBackend.matmul(a, b, 'float32'), flops, t, quick ? 1 : 2);
      const c = ceilings[`relaxed/${t}`];
      console.log(
        `${String(n).padStart(6)}  ${String(t).padStart(7)}  ${fmt(g.wall, 12)}  ${pct(g.wall / c.wall, 10)}  ${fmt(g.cpu, 12)}  ${pct(g.cpu / c.cpu, 10)}   ${Number.isNaN(reference) ? '' : reference.toFixed(2)}`,
      );
    }
  }
  await setNumThreads(null);
}

await main();
