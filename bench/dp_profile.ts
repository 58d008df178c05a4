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
import { profileKernels } from './lib/kernel_profile.js';

type Tensor = cr.Tensor;
const batch = Number(process.argv[2] ?? 256);
const threads = Number(process.argv[3] ?? 2);
const rounds = Number(process.argv[4] ?? 7);
await kernels.setNumThreads(threads);

const mlp = () =>
  new cr.nn.Sequential(
    new cr.nn.Linear(784, 256),
    new cr.nn.ReLU(),
    new cr.nn.Linear(256, 128),
    new cr.nn.ReLU(),
    new cr.nn.Linear(128, 10),
  );
const setup = mlpSetup(batch);
const x = cr.tensor(setup.x.data, { shape: setup.x.shape });
const y = cr.tensor(setup.y.data, { shape: setup.y.shape });

function sgdStep(): () => number {
  const model = mlp();
  const optimizer = new cr.optim.SGD(model.parameters(), { lr: 0.05 });
  return () => {
    optimizer.zeroGrad();
    const loss = cr.F.crossEntropy(model.call(x) as Tensor, y);
    loss.backward();
    optimizer.step();
    return loss.itemSync() as number;
  };
}

function dpStep(): () => number {
  const model = new cr.privacy.GradSampleModule(mlp());
  const optimizer = new cr.privacy.DPOptimizer(new cr.optim.SGD(model.parameters(), { lr: 0.05 }), {
    module: model,
    noiseMultiplier: 1.1,
    maxGradNorm: 1,
    expectedBatchSize: batch,
  });
  return () => {
    optimizer.zeroGrad();
    const loss = cr.F.crossEntropy(model.call(x) as Tensor, y);
    loss.backward();
    optimizer.step();
    return loss.itemSync() as number;
  };
}

const median = (a: number[]) => [...a].sort((p, q) => p - q)[Math.floor(a.length / 2)];
/** Median wall and process CPU time (all threads) of `step` over `ms` milliseconds. */
function timeFor(step: () => unknown, ms: number): { wall: number; cpu: number } {
  const walls: number[] = [];
  const cpus: number[] = [];
  const end = performance.now() + ms;
  while (performance.now() < end) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    step();
    walls.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpus.push((c.user + c.system) / 1000);
  }
  return { wall: median(walls), cpu: median(cpus) };
}

const sgd = sgdStep();
const dp = dpStep();
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
profiler.on();
for (let i = 0; i < steps; i++) dp();
profiler.off();
profiler.report(steps);
process.exit(0);
