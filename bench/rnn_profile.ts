/**
 * Per-kernel profile of the LSTM / GRU language-model step (bench/suites/sequence.ts): the whole
 * step's wall and CPU time, then wall and process CPU time per backend kernel call (the gate
 * kernels run inside the fused op, so they are the step's time not listed).
 * Usage: npx tsx bench/rnn_profile.ts [lstm|gru] [threads] [steps]
 */
import * as cr from '../src/index.js';
import * as kernels from '../src/backend/wasm/wasm_backend.js';
import { profileKernels, timeSteps } from './lib/kernel_profile.js';
import { RNN } from './suites/sequence.js';

const kind = process.argv[2] ?? 'lstm';
const threads = Number(process.argv[3] ?? 2);
const steps = Number(process.argv[4] ?? 10);
await kernels.setNumThreads(threads);
const { nn, F } = cr;
const x = cr.randn([RNN.batch, RNN.steps, RNN.input]);
const target = cr.randn([RNN.batch, RNN.steps, 1]);
const rnn =
  kind === 'gru'
    ? new nn.GRU(RNN.input, RNN.hidden, { batchFirst: true })
    : new nn.LSTM(RNN.input, RNN.hidden, { batchFirst: true });
const head = new nn.Linear(RNN.hidden, 1);
const opt = new cr.optim.SGD([...rnn.parameters(), ...head.parameters()], { lr: 0.01 });
const step = () => {
  const [out] = rnn.call(x);
  const loss = F.mseLoss(head.call(out), target);
  opt.zeroGrad();
  loss.backward();
  opt.step();
  return loss.itemSync();
};
const profiler = profileKernels();
for (let i = 0; i < 3; i++) step();
timeSteps(step, steps);
profiler.run(step, steps, 15);
process.exit(0);
