// The worker-thread pool must make results independent of timing: every job's tasks run exactly
// once, and a worker left over from one job can never take part in a later one.
import { describe, expect, it } from 'vitest';
import { manualSeed, nn, optim, F, randn, randint } from '../src/index.js';
import {
  kernelRuntime,
  setNumThreads,
  whenThreadsReady,
} from '../src/backend/wasm/kernel_runtime.js';
import { CTL } from '../src/backend/wasm/control_block.js';
import { CLAIMS_CLOSED } from '../src/backend/wasm/thread_pool.js';

/** Weights after `steps` Adam steps of an MLP on fixed data: parallel and serial matmuls mixed. */
function train(steps: number): number[] {
  manualSeed(3);
  const model = new nn.Sequential(new nn.Linear(784, 256), new nn.ReLU(), new nn.Linear(256, 10));
  const optimizer = new optim.Adam(model.parameters(), { lr: 1e-3 });
  const x = randn([64, 784]);
  const y = randint(0, 10, [64]);
  for (let i = 0; i < steps; i++) {
    optimizer.zeroGrad();
    F.crossEntropy(model.call(x), y).backward();
    optimizer.step();
  }
  return model.parameters().flatMap((p) => Array.from(p.dataSync()));
}

describe('thread pool', () => {
  it('closes the claim word after every parallel job', async () => {
    await setNumThreads(2);
    const ready = await whenThreadsReady();
    const runtime = kernelRuntime(true);
    expect(runtime).not.toBeNull();
    randn([256, 256]).matmul(randn([256, 256])); // large enough to use the pool
    if (ready > 1) expect(runtime!.rt.ctl[CTL.CLAIM]).toBe(CLAIMS_CLOSED);
  });

  it('gives bit-identical training on 2 threads, run after run, and equal to 1 thread', async () => {
    await setNumThreads(2);
    await whenThreadsReady();
    const first = train(60);
    const second = train(60);
    await setNumThreads(1);
    const serial = train(60);
    await setNumThreads(null);
    expect(second).toEqual(first);
    expect(serial).toEqual(first);
  });
});
