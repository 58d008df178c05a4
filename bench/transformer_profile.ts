/**
 * Per-kernel profile of the pre-norm transformer step (bench/suites/sequence.ts): the whole
 * step's wall and CPU time, then wall and process CPU time per backend kernel call; what the
 * kernels do not account for is JavaScript (autograd, JS kernels) and collections.
 * Usage: npx tsx bench/transformer_profile.ts [threads] [steps]
 */
import * as cr from '../src/index.js';
import * as kernels from '../src/backend/wasm/wasm_backend.js';
import { profileKernels, timeSteps } from './lib/kernel_profile.js';
import { TRANSFORMER, transformerEncoder } from './suites/sequence.js';

const threads = Number(process.argv[2] ?? 2);
const steps = Number(process.argv[3] ?? 10);
await kernels.setNumThreads(threads);
const { F } = cr;
const { d, steps: length, batch } = TRANSFORMER;
const encoder = transformerEncoder(cr);
const x = cr.randn([batch, length, d]);
const target = cr.randn([batch, length, d]);
const opt = new cr.optim.SGD(encoder.parameters(), { lr: 0.01 });
const step = () => {
  const loss = F.mseLoss(encoder.call(x, { isCausal: true }), target);
  opt.zeroGrad();
  loss.backward();
  opt.step();
  return loss.itemSync();
};
const profiler = profileKernels();
for (let i = 0; i < 3; i++) step();
timeSteps(step, steps);
profiler.run(step, steps, 40);
process.exit(0);
