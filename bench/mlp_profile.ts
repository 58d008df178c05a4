/**
 * Per-kernel profile of the MLP training step (bench/suites/mlp.ts): the whole step's wall and
 * CPU time, then wall and process CPU time (all threads) per backend kernel call.
 * Usage: npx tsx bench/mlp_profile.ts [batch] [threads] [steps]
 */
import { mlpSetup } from './lib/data.js';
import { chainruleStep } from './suites/mlp.js';
import * as cr from '../src/index.js';
import * as kernels from '../src/backend/wasm/wasm_backend.js';
import { profileKernels, timeSteps } from './lib/kernel_profile.js';

const batch = Number(process.argv[2] ?? 128);
const threads = Number(process.argv[3] ?? 2);
const steps = Number(process.argv[4] ?? 200);
await kernels.setNumThreads(threads);
const profiler = profileKernels();
const step = chainruleStep(cr, mlpSetup(batch));
const warmUpEnd = performance.now() + 1500;
while (performance.now() < warmUpEnd) step();
timeSteps(step, steps);
profiler.run(step, steps);
process.exit(0);
