/**
 * The MLP training step's JavaScript alone: every WebAssembly job and SGD call stubbed out, so a
 * step is the autograd, tensor and kernel-preparation code with nothing computed (results are
 * garbage). Timed hot (caches warm from the previous step), and with `evictMb` MiB of memory
 * written wherever a multi-threaded job would have run, as the step's large products do to the
 * calling core's caches. The eviction loop's own time is left out of each step.
 * Usage: npx tsx bench/mlp_js_profile.ts [batch] [evictMb] [steps]
 *
 * On the 2-core VM of BENCHMARKS.md (batch 128): 53–57 µs hot; 64–67, 114, 159–196 and 242 µs after
 * evicting 1, 2, 4 and 8 MiB. In the real step, the time outside the WebAssembly jobs is about
 * 150–230 µs: the JavaScript runs with the caches the products left it.
 */
import { mlpSetup } from './lib/data.js';
import { summarize } from './lib/measure.js';
import { chainruleStep } from './suites/mlp.js';
import * as cr from '../src/index.js';
import * as kernels from '../src/backend/wasm/wasm_backend.js';
import { GemmRuntime, getRuntime } from '../src/backend/wasm/kernel_runtime.js';

const batch = Number(process.argv[2] ?? 128);
const evictMb = Number(process.argv[3] ?? 4);
const steps = Number(process.argv[4] ?? 1500);
await kernels.setNumThreads(2);
const step = chainruleStep(cr, mlpSetup(batch));
const warmUpEnd = performance.now() + 1000;
while (performance.now() < warmUpEnd) step();

const junk = new Float64Array((evictMb * 2 ** 20) / 8);
let evicting = false;
let evictionMs = 0;
function evict(): void {
  const start = performance.now();
  // One write per 64-byte line: each line is fetched and owned by this core.
  for (let i = 0; i < junk.length; i += 8) junk[i] += 1;
  evictionMs += performance.now() - start;
}
GemmRuntime.prototype.run = function (_tasks: number, parallel: boolean): void {
  if (evicting && parallel) evict();
};
const runtime = getRuntime();
if (!runtime) throw new Error('mlp_js_profile: the WebAssembly kernels are not available here');
(runtime as { sgd: GemmRuntime['sgd'] }).sgd = () => {};

function medianStepUs(withEviction: boolean): number {
  evicting = withEviction;
  const walls: number[] = [];
  for (let i = 0; i < steps; i++) {
    evictionMs = 0;
    const start = performance.now();
    step();
    walls.push(performance.now() - start - evictionMs);
  }
  return summarize(walls).median * 1000;
}

for (let round = 0; round < 3; round++) {
  const hot = medianStepUs(false);
  const cold = medianStepUs(true);
  console.log(
    `JavaScript per step: ${hot.toFixed(1)} µs hot, ${cold.toFixed(1)} µs after evicting ${evictMb} MiB at each threaded job`,
  );
}
process.exit(0);
