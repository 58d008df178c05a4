/**
 * The kernel trace (setKernelTrace / kernelTrace) says which kernel ran each op call, and the
 * backend contract's split: a backend with the primitives alone ('cpu-primitives', see
 * helpers/devices.ts) runs the fused ops through their composed paths, with the same values.
 */
import { afterEach, describe, expect, it } from 'vitest';
import * as cr from '../src/index.js';
import { expectAllClose } from './helpers/close.js';
import './helpers/devices.js';
import { traceKernels } from './helpers/trace.js';
import { wasmGemmAvailable } from '../src/backend/wasm/wasm_backend.js';

afterEach(() => cr.setKernelTrace(false));

describe('kernel trace', () => {
  it('is off by default and records nothing then', () => {
    expect(cr.isKernelTraceEnabled()).toBe(false);
    cr.tensor([1, 2]).exp();
    expect(cr.kernelTrace()).toEqual([]);
  });

  it('names the CPU fast path, the general strided loop and the WebAssembly kernel', () => {
    const small = cr.tensor([-1, 2], { dtype: 'float64' });
    expect(traceKernels(() => small.relu())).toEqual(['relu:fast-path']);
    // A 4-D permutation needs four loops: the fast paths decline, the strided loop runs.
    const x = cr.randn([2, 3, 4, 5], { dtype: 'float64' }).permute(3, 1, 0, 2);
    expect(traceKernels(() => x.exp())).toEqual(['exp:strided']);
    // Large float32 storage on 'cpu' lives in the kernels' memory: the WebAssembly relu runs.
    const big = cr.randn([64, 128]);
    const expected = wasmGemmAvailable() ? 'relu:wasm' : 'relu:fast-path';
    expect(traceKernels(() => big.relu())).toEqual([expected]);
    expect(traceKernels(() => cr.randn([64, 128], { device: 'cpu-reference' }).relu())).toEqual([
      'relu:fast-path',
    ]);
  });

  it('names fused kernels and, on a backend without them, the composed path', () => {
    for (const [device, kernel] of [
      ['cpu', 'fused'],
      ['cpu-primitives', 'composed'],
    ] as const) {
      const x = cr.randn([64, 64], { device });
      expect(
        traceKernels(() => x.logSoftmax(1)),
        device,
      ).toContain(`logSoftmax:${kernel}`);
      expect(
        traceKernels(() => cr.F.layerNorm(x, [64])),
        device,
      ).toContain(`layerNorm:${kernel}`);
      const w = cr.randn([32, 64], { device });
      const b = cr.randn([32], { device });
      // 'cpu' has a fused linear only with its WebAssembly kernels.
      const linear = kernel === 'fused' && !wasmGemmAvailable() ? 'composed' : kernel;
      expect(
        traceKernels(() => cr.F.linear(x, w, b)),
        device,
      ).toContain(`linear:${linear}`);
    }
  });

  it('a backend with the primitives alone gives the fused ops the same values and gradients', () => {
    const make = (device: string) => {
      cr.manualSeed(3);
      const x = cr.randn([5, 7], { dtype: 'float64', device }).requiresGrad_();
      const w = cr.randn([4, 7], { dtype: 'float64', device }).requiresGrad_();
      const b = cr.randn([4], { dtype: 'float64', device }).requiresGrad_();
      const h = cr.F.layerNorm(cr.F.linear(x, w, b).relu(), [4]);
      const loss = cr.F.crossEntropy(h, cr.tensor([0, 1, 2, 3, 1], { dtype: 'int32', device }));
      loss.backward();
      return [loss, x.grad!, w.grad!, b.grad!].map((t) => t.dataSync());
    };
    const fused = make('cpu-reference');
    const composed = make('cpu-primitives');
    fused.forEach((values, i) => expectAllClose(composed[i], values, { rtol: 1e-10, atol: 1e-12 }));
  });

  it('the optimizers compose their update on a backend without the fused one', () => {
    for (const [device, kernel] of [
      ['cpu-reference', 'fused'],
      ['cpu-primitives', 'composed'],
    ] as const) {
      const p = cr.ones([3], { device }).requiresGrad_();
      p.mul(p).sum().backward();
      const opt = new cr.optim.SGD([p], { lr: 0.1 });
      expect(traceKernels(() => opt.step())[0], device).toBe(`sgd:${kernel}`);
      expectAllClose(p.dataSync(), [0.8, 0.8, 0.8], { rtol: 1e-6 });
    }
  });
});
