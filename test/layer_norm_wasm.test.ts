/**
 * Layer norm and RMS norm on the SIMD kernels (src/backend/wasm/layer_norm.ts), forward and
 * backward: against PyTorch's float32 layer norm and RMS norm formula
 * (test/fixtures/layer_norm.json, scripts/fixtures/layer_norm.py), against the reference loops
 * they replace on arena storage (row sizes with and without a vector tail, with and without
 * weight and bias, rows split over the threads), bit for bit on 1 and 2 threads, the weight and
 * bias gradients bit for bit against the composed backward, and the autograd ops' kernel
 * backward against their differentiable rule (createGraph).
 */
import { describe, expect, it } from 'vitest';
import {
  autograd,
  F,
  Generator,
  gradcheck,
  gradgradcheck,
  kernelTrace,
  noGrad,
  randn,
  setKernelTrace,
  tensor,
  type Tensor,
} from '../src/index.js';
import type { LayerNormGradients, View } from '../src/backend/backend.js';
import { cpuBackend } from '../src/backend/cpu/cpu_backend.js';
import {
  layerNormBackwardWasm,
  layerNormWasm,
  rmsNormBackwardWasm,
  rmsNormWasm,
} from '../src/backend/wasm/layer_norm.js';
import { setNumThreads } from '../src/backend/wasm/wasm_backend.js';
import { arenaData } from './helpers/arena.js';
import { expectAllClose, expectBitEqual } from './helpers/close.js';
import { checkCase, loadFixtures } from './helpers/reference.js';

const view = (storage: Float32Array, shape: number[]): View => {
  const strides = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
  return { storage, dtype: 'float32', shape, strides, offset: 0 };
};

/** Arena data without special values: layer norm of a row holding NaN or ±Infinity is NaN. */
const data = (size: number, seed: number, scale = 3) => arenaData(size, seed, false, scale);

/** The forward's x, weight, bias, and the statistics and gradient the backward reads. */
function operands(rows: number, n: number, seed: number) {
  const x = view(data(rows * n, seed), [rows, n]);
  // An offset mean: the statistics must not lose it.
  (x.storage as Float32Array).forEach((v, i, a) => (a[i] = v + 5));
  const weight = view(data(n, seed + 1), [n]);
  const bias = view(data(n, seed + 2), [n]);
  const grad = view(data(rows * n, seed + 3), [rows, n]);
  return { x, weight, bias, grad };
}

const SHAPES: [rows: number, n: number][] = [
  [600, 128], // split over the threads (the elementwise kernels' 256 KB rule)
  [37, 13], // a row of 3 vectors and a tail; the column sums' one-column loop
  [64, 36], // the column sums' 8-, 4- and 1-column blocks... and 4-wide tails
  [5, 3], // no vector at all
];

/** A kernel's storage as the Float32Array it is. */
const floats = (s: unknown) => s as Float32Array;

describe('layer norm and RMS norm kernels against the reference loops', () => {
  it('the forward: output within a float32 rounding or two, statistics close', () => {
    for (const [rows, n] of SHAPES) {
      const { x, weight, bias } = operands(rows, n, rows + n);
      for (const [w, b] of [
        [weight, bias],
        [weight, null],
        [null, bias],
        [null, null],
      ]) {
        const label = `[${rows}, ${n}] weight ${w !== null} bias ${b !== null}`;
        const got = layerNormWasm(x, n, w, b, 1e-5);
        expect(got, label).not.toBeNull();
        const want = cpuBackend.layerNorm(x, n, w, b, 1e-5);
        const outTol = { rtol: 2e-6, atol: 4e-6, message: label };
        expectAllClose(floats(got!.output), floats(want.output), outTol);
        const statTol = { rtol: 1e-7, atol: 0, message: label };
        expectAllClose(floats(got!.mean), floats(want.mean), statTol);
        expectAllClose(floats(got!.rstd), floats(want.rstd), statTol);
        if (b) continue;
        const rms = rmsNormWasm(x, n, w, 1e-5);
        expect(rms, `rms ${label}`).not.toBeNull();
        const rmsWant = cpuBackend.rmsNorm(x, n, w, 1e-5);
        expectAllClose(floats(rms!.output), floats(rmsWant.output), outTol);
        expectAllClose(floats(rms!.rstd), floats(rmsWant.rstd), statTol);
      }
    }
  });

  it('the backward: dx, dw and db close to the loops, and only those asked for', () => {
    const tol = { rtol: 1e-5, atol: 1e-5 };
    for (const [rows, n] of SHAPES) {
      const { x, weight, grad } = operands(rows, n, 7 * rows + n);
      const stats = cpuBackend.layerNorm(x, n, weight, null, 1e-5);
      const mean = view(floats(stats.mean), [rows, 1]);
      const rstd = view(floats(stats.rstd), [rows, 1]);
      const rmsRstd = view(floats(cpuBackend.rmsNorm(x, n, weight, 1e-5).rstd), [rows, 1]);
      for (const w of [weight, null]) {
        const label = `[${rows}, ${n}] weight ${w !== null}`;
        const needs = [true, w !== null, true] as const;
        const got = layerNormBackwardWasm(grad, x, mean, rstd, w, n, needs);
        const want = cpuBackend.layerNormBackward(grad, x, mean, rstd, w, n, needs);
        const rmsNeeds = [true, w !== null] as const;
        const rms = rmsNormBackwardWasm(grad, x, rmsRstd, w, n, rmsNeeds);
        const rmsWant = cpuBackend.rmsNormBackward(grad, x, rmsRstd, w, n, rmsNeeds);
        for (const [kind, a, b] of [
          ['layer', got, want],
          ['rms', rms, rmsWant],
        ] as const) {
          expect(a, `${kind} ${label}`).not.toBeNull();
          for (const k of ['input', 'weight', 'bias'] as const) {
            const message = `${kind} ${label} ${k}`;
            expect(a![k] === null, message).toBe(b[k] === null);
            if (b[k]) expectAllClose(floats(a![k]), floats(b[k]), { ...tol, message });
          }
        }
        expect(rms!.bias).toBeNull();
      }
      const only = layerNormBackwardWasm(grad, x, mean, rstd, weight, n, [false, true, false]);
      expect([only?.input, only?.bias]).toEqual([null, null]);
      expect(only?.weight).not.toBeNull();
    }
  });

  it('dw and db are the composed backward’s bits (float32 products, float64 sums in row order)', () => {
    const [rows, n] = [300, 44];
    const { x, weight, grad } = operands(rows, n, 99);
    const stats = cpuBackend.layerNorm(x, n, weight, null, 1e-5);
    const [xt, gt] = [x, grad].map((v) => tensor(floats(v.storage), { shape: [rows, n] }));
    const mean = tensor(floats(stats.mean), { shape: [rows, 1] });
    const rstd = tensor(floats(stats.rstd), { shape: [rows, 1] });
    const got = layerNormBackwardWasm(grad, x, mean, rstd, weight, n, [false, true, true])!;
    const xhat = xt.sub(mean).mul(rstd);
    expectBitEqual(floats(got.weight), gt.mul(xhat).sum(0), 'dw');
    expectBitEqual(floats(got.bias), gt.sum(0), 'db');
  });

  it('gives the same bits on 1 and 2 threads', async () => {
    const [rows, n] = [700, 96];
    const { x, weight, bias, grad } = operands(rows, n, 5);
    const run = () => {
      const f = layerNormWasm(x, n, weight, bias, 1e-5)!;
      const mean = view(f.mean as Float32Array, [rows, 1]);
      const rstd = view(f.rstd as Float32Array, [rows, 1]);
      return { f, b: layerNormBackwardWasm(grad, x, mean, rstd, weight, n, [true, true, true])! };
    };
    const results: { f: { output: unknown }; b: LayerNormGradients }[] = [];
    try {
      for (const threads of [1, 2]) {
        await setNumThreads(threads);
        results.push(run());
      }
    } finally {
      await setNumThreads(null);
    }
    const [one, two] = results;
    expectBitEqual(two.f.output as Float32Array, one.f.output as Float32Array, 'output');
    for (const k of ['input', 'weight', 'bias'] as const)
      expectBitEqual(two.b[k] as Float32Array, one.b[k] as Float32Array, k);
  });

  it('reads strided views; declines float64', () => {
    const base = view(data(24 * 10, 3), [24, 10]);
    const transposed: View = { ...base, shape: [10, 24], strides: [1, 10] };
    const copy = view(new Float32Array(240), [10, 24]);
    for (let i = 0; i < 10; i++)
      for (let j = 0; j < 24; j++)
        (copy.storage as Float32Array)[i * 24 + j] = (base.storage as Float32Array)[j * 10 + i];
    const a = layerNormWasm(transposed, 24, null, null, 1e-5)!;
    const b = layerNormWasm(copy, 24, null, null, 1e-5)!;
    expectBitEqual(a.output as Float32Array, b.output as Float32Array, 'transposed');
    const x64 = { ...copy, dtype: 'float64' as const, storage: new Float64Array(240) };
    expect(layerNormWasm(x64, 24, null, null, 1e-5)).toBeNull();
    expect(layerNormBackwardWasm(x64, x64, x64, x64, null, 24, [true, false, false])).toBeNull();
  });
});

describe('F.layerNorm and F.rmsNorm on the kernels', () => {
  const cases = loadFixtures('layer_norm.json');

  it('has the fixture cases', () => expect(cases.length).toBe(8));

  for (const c of cases) {
    it(`matches PyTorch in float32: ${c.name}`, () => {
      setKernelTrace(true);
      try {
        checkCase(c, (inputs, args) => {
          const [x, ...rest] = inputs;
          const w = args!.weight ? rest.shift()! : null;
          const b = args!.bias ? rest.shift()! : null;
          if (args!.rms) return F.rmsNorm(x, args!.normalizedShape, w, args!.eps);
          return F.layerNorm(x, args!.normalizedShape, w, b, args!.eps);
        });
        const calls = kernelTrace().map((k) => `${k.op}:${k.kernel}`);
        const op = (c.args as { rms?: boolean } | undefined)?.rms ? 'rmsNorm' : 'layerNorm';
        expect(calls).toContain(`${op}:wasm`);
        expect(calls).toContain(`${op}Backward:wasm`);
      } finally {
        setKernelTrace(false);
      }
    });
  }

  it('the kernel backward agrees with the differentiable rule (createGraph)', () => {
    const generator = new Generator(7);
    const x = randn([8, 16, 48], { generator }).mul(2).add(1).requiresGrad_();
    const w = randn([16, 48], { generator }).requiresGrad_();
    const b = randn([16, 48], { generator }).requiresGrad_();
    const g = randn([8, 16, 48], { generator });
    const grads = (rms: boolean, createGraph: boolean) => {
      const y = rms ? F.rmsNorm(x, [16, 48], w, 1e-6) : F.layerNorm(x, [16, 48], w, b);
      const inputs = rms ? [x, w] : [x, w, b];
      return (autograd.grad(y, inputs, { gradOutputs: [g], createGraph }) as Tensor[]).map((t) =>
        noGrad(() => t.detach()),
      );
    };
    for (const rms of [false, true]) {
      setKernelTrace(true);
      const kernel = grads(rms, false);
      const calls = kernelTrace().map((k) => `${k.op}:${k.kernel}`);
      setKernelTrace(false);
      expect(calls).toContain(rms ? 'rmsNormBackward:wasm' : 'layerNormBackward:wasm');
      const rule = grads(rms, true);
      kernel.forEach((t, i) =>
        expectAllClose(t, rule[i], { rtol: 1e-5, atol: 2e-5, message: `rms ${rms} input ${i}` }),
      );
    }
  });

  it('gradcheck and gradgradcheck in float64: weight only, bias only, two dims, RMS norm', () => {
    const generator = new Generator(11);
    const normal = (...shape: number[]) =>
      randn(shape, { dtype: 'float64', generator }).requiresGrad_();
    expect(gradcheck((x, w) => F.layerNorm(x, [4], w), [normal(3, 4), normal(4)])).toBe(true);
    expect(gradcheck((x, b) => F.layerNorm(x, [4], null, b), [normal(3, 4), normal(4)])).toBe(true);
    const twoDims = (x: Tensor, w: Tensor, b: Tensor) => F.layerNorm(x, [2, 3], w, b);
    const inputs = [normal(2, 2, 3), normal(2, 3), normal(2, 3)];
    expect(gradcheck(twoDims, inputs)).toBe(true);
    expect(gradgradcheck(twoDims, inputs)).toBe(true);
    const rms = (x: Tensor, w: Tensor) => F.rmsNorm(x, [2, 3], w, 1e-3);
    expect(gradcheck(rms, inputs.slice(0, 2))).toBe(true);
    expect(gradgradcheck(rms, inputs.slice(0, 2))).toBe(true);
    expect(gradcheck((x) => F.rmsNorm(x, [3]), [normal(2, 3)])).toBe(true);
  });
});
