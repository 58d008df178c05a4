/**
 * Profile of the DP-SGD step (bench/suites/private_int8.ts's MLP 784-256-128-10 at batch 256):
 * the plain SGD step and the DP-SGD step timed alternately in one process (their ratio is the
 * issue's goal), then the DP step's wall and CPU time per backend kernel call.
 * Usage: npx tsx bench/dp_profile.ts [batch] [threads] [rounds]
 */
import * as os from 'node:os';
import { mlpSetup } from './lib/data.js';
import * as cr from '../src/index.js';
import * as kernels from '../src/backend/wasm/wasm_backend.js';
import { median, profileKernels, timeFor } from './lib/kernel_profile.js';
import { dpStep, floatStep, mlp } from './suites/private_int8.js';

const batch = Number(process.argv[2] ?? 256);
const threads = Number(process.argv[3] ?? 2);
const rounds = Number(process.argv[4] ?? 7);
await kernels.setNumThreads(threads);

const setup = mlpSetup(batch);
const x = cr.tensor(setup.x.data, { shape: setup.x.shape });
const y = cr.tensor(setup.y.data, { shape: setup.y.shape });

const sgd = floatStep(cr, mlp(cr), x, y);
const dp = dpStep(cr, x, y, batch);
timeFor(sgd, 1000);
timeFor(dp, 1000);
const wallRatios: number[] = [];
const cpuRatios: number[] = [];
for (let r = 0; r < rounds; r++) {
  const a = timeFor(sgd, 700);
  const b = timeFor(dp, 700);
  wallRatios.push(b.wall / a.wall);
  cpuRatios.push(b.cpu / a.cpu);
  console.log(
    `round ${r}: SGD ${a.wall.toFixed(2)} ms (cpu ${a.cpu.toFixed(2)}), DP-SGD ${b.wall.toFixed(2)} ms (cpu ${b.cpu.toFixed(2)}), ratio ${(b.wall / a.wall).toFixed(2)} (cpu ${(b.cpu / a.cpu).toFixed(2)})`,
  );
}
console.log(
  `median ratio DP/SGD: wall ${median(wallRatios).toFixed(2)}, cpu ${median(cpuRatios).toFixed(2)}; load ${os.loadavg()[0].toFixed(2)}`,
);

const profiler = profileKernels();
const steps = 100;
profiler.run(dp, steps);
process.exit(0);
