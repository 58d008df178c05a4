/**
 * int8 matmul (quant.matmulNT, int32 accumulation) against the float32 matmul at n = 1024, timed
 * alternately in one process: each round's GOPS over GFLOP/s (wall) and the same per CPU second
 * (all threads), whose ratio the goal reads. The relaxed-SIMD kernel takes A ≥ 0 (as
 * after ReLU), the plain one any sign.
 * Usage: npx tsx bench/int8_matmul.ts [n] [threads] [rounds]
 */
import * as os from 'node:os';
import * as cr from '../src/index.js';
import * as kernels from '../src/backend/wasm/wasm_backend.js';
import { median, timeFor } from './lib/kernel_profile.js';

const n = Number(process.argv[2] ?? 1024);
const threads = Number(process.argv[3] ?? 2);
const rounds = Number(process.argv[4] ?? 7);
await kernels.setNumThreads(threads);
const ops = 2 * n ** 3;
const a = cr.randn([n, n]);
const b = cr.randn([n, n]);
const rng = new cr.quant.IntRandom(1);
const ai = Int8Array.from({ length: n * n }, () => rng.nextInt(128));
const bi = Int8Array.from({ length: n * n }, () => rng.nextInt(255) - 127);
const aSigned = Int8Array.from({ length: n * n }, () => rng.nextInt(255) - 127);

/** Median wall and CPU ms of `f` over `ms` milliseconds (at least 3 calls). */
const time = (f: () => unknown, ms: number) => timeFor(f, ms, 3);

const cases = {
  float32: () => cr.matmul(a, b).dataSync(),
  relaxed: () => {
    cr.quant.setInt8Kernel('relaxed');
    return cr.quant.matmulNT(ai, bi, n, n, n);
  },
  simd: () => {
    cr.quant.setInt8Kernel('simd');
    return cr.quant.matmulNT(aSigned, bi, n, n, n);
  },
};
for (const f of Object.values(cases)) time(f, 300);
const ratios: Record<string, { wall: number[]; cpu: number[] }> = {};
for (let r = 0; r < rounds; r++) {
  const t = Object.fromEntries(Object.entries(cases).map(([k, f]) => [k, time(f, 600)]));
  const line = Object.entries(t)
    .map(([k, v]) => `${k} ${(ops / v.wall / 1e6).toFixed(1)}`)
    .join(', ');
  const parts: string[] = [];
  for (const k of ['relaxed', 'simd']) {
    const w = t.float32.wall / t[k].wall;
    const c = t.float32.cpu / t[k].cpu;
    (ratios[k] ??= { wall: [], cpu: [] }).wall.push(w);
    ratios[k].cpu.push(c);
    parts.push(`${k}/float32 ${w.toFixed(2)} (cpu ${c.toFixed(2)})`);
  }
  console.log(`round ${r}: G(FL)OP/s ${line}; ${parts.join(', ')}`);
}
cr.quant.setInt8Kernel(null);
for (const [k, v] of Object.entries(ratios))
  console.log(
    `median ${k}/float32: wall ${median(v.wall).toFixed(2)}, cpu ${median(v.cpu).toFixed(2)}`,
  );
console.log(`threads ${threads}, load ${os.loadavg()[0].toFixed(2)}`);
process.exit(0);
