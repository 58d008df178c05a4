/**
 * Memory: a training loop written the obvious way (no disposal, no tidy) runs for 10,000 steps
 * on the reference backend with a flat V8 heap. Also checks that the engine drops what it no
 * longer needs: saved tensors after backward, and whole graphs once unreachable.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { manualSeed, noGrad, randn, tensor, zeros, type Tensor } from '../src/index.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Live memory after forced GCs: the V8 heap plus ArrayBuffer backing stores (tensor data lives there). */
function collect(): number {
  for (let i = 0; i < 4; i++) gc();
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.arrayBuffers;
}

const MB = 1024 * 1024;

/** A 2-layer MLP on random data, trained with manual SGD under noGrad. */
function makeTrainer() {
  manualSeed(0);
  const inputs = 8;
  const hidden = 16;
  const batch = 16;
  const w1 = randn([inputs, hidden]).mul(0.3).requiresGrad_();
  const b1 = zeros([hidden], { requiresGrad: true });
  const w2 = randn([hidden, 1]).mul(0.3).requiresGrad_();
  const b2 = zeros([1], { requiresGrad: true });
  const params = [w1, b1, w2, b2];
  const x = randn([batch, inputs]);
  const y = x.sum(1, true).tanh();
  const lr = 0.05;
  const step = (): number => {
    const h = x.matmul(w1).add(b1).relu();
    const out = h.matmul(w2).add(b2);
    const loss = out.sub(y).square().mean();
    loss.backward();
    noGrad(() => {
      for (const p of params) {
        p.sub_(p.grad!.mul(lr));
        p.grad = null;
      }
    });
    return loss.itemSync() as number;
  };
  return { step, params };
}

describe('memory', () => {
  it('a 10,000-step training loop keeps the heap flat', () => {
    const { step } = makeTrainer();
    const first = step();
    for (let i = 0; i < 500; i++) step(); // warm-up: JIT, inline caches
    const baseline = collect();
    let last = first;
    let peak = baseline;
    for (let i = 0; i < 10_000; i++) {
      last = step();
      if (i % 1000 === 999) peak = Math.max(peak, collect());
    }
    const end = collect();
    expect(last).toBeLessThan(first); // it trained
    expect(Number.isFinite(last)).toBe(true);
    // Flat: no growth proportional to steps (10,000 graphs would be many MB).
    expect(end - baseline).toBeLessThan(20 * MB);
    expect(peak - baseline).toBeLessThan(20 * MB);
  }, 60_000);

  it('the growth per step is far below one graph', () => {
    const { step } = makeTrainer();
    for (let i = 0; i < 300; i++) step();
    const a = collect();
    for (let i = 0; i < 2000; i++) step();
    const b = collect();
    for (let i = 0; i < 2000; i++) step();
    const c = collect();
    // The second 2,000 steps add no more than noise on top of the first.
    expect(c - b).toBeLessThan(5 * MB);
    expect(c - a).toBeLessThan(10 * MB);
  }, 60_000);

  it('backward frees saved tensors, so a kept loss does not keep activations alive', () => {
    const x = randn([256, 256], { requiresGrad: true });
    const before = collect();
    const losses: Tensor[] = [];
    for (let i = 0; i < 20; i++) {
      // Each graph saves a 256×256 activation (256 KB): 20 kept graphs would hold > 5 MB.
      const loss = x.mul(1).exp().sum();
      loss.backward();
      x.grad = null;
      losses.push(loss);
    }
    const after = collect();
    expect(losses.length).toBe(20);
    expect(after - before).toBeLessThan(3 * MB);
  });

  it('graphs that are never backwarded are collected once unreachable', () => {
    const x = randn([128, 128], { requiresGrad: true });
    const before = collect();
    for (let i = 0; i < 200; i++) {
      // 200 graphs × 64 KB activations each ≈ 13 MB if leaked
      x.mul(2).sigmoid().sum();
    }
    const after = collect();
    expect(after - before).toBeLessThan(4 * MB);
  });

  it('retainGraph keeps saved tensors until the graph is dropped', () => {
    const x = tensor([1, 2], { requiresGrad: true });
    const y = x.exp().sum();
    y.backward(undefined, { retainGraph: true });
    y.backward(); // works: the saved output was retained
    expect(Array.from(x.grad!.dataSync())[0]).toBeCloseTo(2 * Math.E, 4);
  });
});
