/**
 * The attention softmax (autograd/ops/scaled_softmax.ts): softmax(scores·scale) with an optional
 * causal mask as one op. Its reference kernels give the composed ops' bits (mul, maskedFill,
 * softmax and their backward); the WebAssembly kernels give the reference's backward bits (and
 * the plain softmax backward's) and its forward within the vector exp's rounding; masked
 * positions are exactly 0 with gradient 0; gradcheck and gradgradcheck in float64.
 */
import { describe, expect, it } from 'vitest';
import { gradcheck, gradgradcheck, Generator, nn, randn, type Tensor } from '../src/index.js';
import type { View } from '../src/backend/backend.js';
import { cpuBackend } from '../src/backend/cpu/cpu_backend.js';
import { scaledSoftmax } from '../src/autograd/ops/scaled_softmax.js';
import {
  scaledSoftmaxBackwardWasm,
  scaledSoftmaxWasm,
} from '../src/backend/wasm/attention_softmax.js';
import { wasmBackend } from '../src/backend/wasm/wasm_backend.js';
import { contiguousStrides } from '../src/tensor/shape.js';
import { arenaData } from './helpers/arena.js';
import { expectAllClose, expectBitEqual } from './helpers/close.js';
import './helpers/devices.js';

const view = (storage: Float32Array, shape: number[]): View => ({
  storage,
  dtype: 'float32',
  shape,
  strides: contiguousStrides(shape),
  offset: 0,
});

// [..., L, S]: S > L and S < L under the causal mask, SIMD tails, a row of one, and the
// transformer step's scores (split over the threads).
const SHAPES = [
  [2, 3, 5, 7],
  [1, 2, 9, 4],
  [3, 6, 1],
  [2, 5, 13],
  [16, 4, 64, 64],
];

/** The masked positions (j > i, i = row mod L) of scores of `shape` hold exactly `value`. */
function expectMasked(out: ArrayLike<number>, shape: number[], value: number, label: string) {
  const [l, s] = shape.slice(-2);
  const bad: number[] = [];
  for (let p = 0; p < out.length; p++) {
    const j = p % s;
    const i = Math.floor(p / s) % l;
    if (j > i && !Object.is(out[p], value)) bad.push(p);
  }
  expect(bad.slice(0, 5), `${label}: masked positions not ${value}`).toEqual([]);
}

describe('attention softmax kernels', () => {
  it('WebAssembly forward: the reference within the vector exp, masked positions exactly 0', () => {
    SHAPES.forEach((shape, seed) => {
      const size = shape.reduce((a, b) => a * b, 1);
      const x = view(arenaData(size, seed + 1, false, 6), shape);
      for (const causal of [false, true]) {
        for (const scale of [1, 0.125]) {
          const label = `[${shape}] causal ${causal} scale ${scale}`;
          const want = cpuBackend.scaledSoftmax(x, scale, causal) as Float32Array;
          const got = scaledSoftmaxWasm(x, scale, causal);
          expect(got, `${label}: the kernel ran`).not.toBeNull();
          expectAllClose(got!, want, { rtol: 5e-6, atol: 1e-37, message: label });
          if (causal) expectMasked(got!, shape, 0, label);
        }
      }
    });
  });

  it('WebAssembly backward: the reference bit for bit, plain softmax backward included', () => {
    SHAPES.forEach((shape, seed) => {
      const size = shape.reduce((a, b) => a * b, 1);
      const x = view(arenaData(size, seed + 11, false, 6), shape);
      const g = view(arenaData(size, seed + 21, false, 2), shape);
      for (const causal of [false, true]) {
        const y = view(cpuBackend.scaledSoftmax(x, 0.125, causal) as Float32Array, shape);
        const label = `[${shape}] causal ${causal}`;
        const got = scaledSoftmaxBackwardWasm(g, y, 0.125, causal);
        expect(got, `${label}: the kernel ran`).not.toBeNull();
        expectBitEqual(
          got!,
          cpuBackend.scaledSoftmaxBackward(g, y, 0.125, causal) as Float32Array,
          label,
        );
        if (causal) expectMasked(got!, shape, 0, label);
      }
      const y = view(cpuBackend.softmax(x, shape.length - 1, false) as Float32Array, shape);
      expectBitEqual(
        wasmBackend.softmaxBackward(g, y, shape.length - 1, false) as Float32Array,
        cpuBackend.softmaxBackward(g, y, shape.length - 1, false) as Float32Array,
        `softmax backward [${shape}]`,
      );
    });
  });

  it('declines float64 and a causal mask without [L, S]', () => {
    const x: View = {
      ...view(new Float32Array(6), [6]),
      dtype: 'float64',
      storage: new Float64Array(6),
    };
    expect(scaledSoftmaxWasm(x, 1, false)).toBeNull();
    expect(scaledSoftmaxWasm(view(new Float32Array(6), [6]), 1, true)).toBeNull();
  });
});

describe('scaledSoftmax (the op)', () => {
  const gen = new Generator(3);
  const composed = (x: Tensor, scale: number, causal: boolean) => {
    const [l, s] = x.shape.slice(-2);
    let scores = x.mul(scale);
    if (causal)
      scores = scores.maskedFill(
        randn([l, s], { device: x.device }).ge(-Infinity).triu(1),
        -Infinity,
      );
    return scores.softmax(-1);
  };

  it('gives the composed ops’ values and gradients: bit for bit on the reference kernels', () => {
    for (const causal of [false, true]) {
      const x = randn([2, 3, 4, 6], { generator: gen }).mul(3);
      const g = randn([2, 3, 4, 6], { generator: gen });
      const run = (device: string, fused: boolean) => {
        const xi = x.to(device).requiresGrad_(true);
        const y = fused ? scaledSoftmax(xi, 0.3, causal) : composed(xi, 0.3, causal);
        y.backward(g.to(device));
        return [y.detach(), xi.grad!];
      };
      const [yRef, gRef] = run('cpu-reference', true);
      const [yComposed, gComposed] = run('cpu-reference', false);
      expectBitEqual(yRef, yComposed, `values, causal ${causal}`);
      expectBitEqual(gRef, gComposed, `gradients, causal ${causal}`);
      // Without the kernels the op composes itself (softmax from logsumexp there).
      const [yPrimitives] = run('cpu-primitives', true);
      expectAllClose(yPrimitives, yRef, { rtol: 1e-5, atol: 1e-7, message: 'composed' });
      const [y, gx] = run('cpu', true);
      expectAllClose(y, yRef, { rtol: 1e-5, atol: 1e-7, message: `wasm values, causal ${causal}` });
      expectAllClose(gx, gRef, { rtol: 1e-4, atol: 1e-6, message: `wasm grads, causal ${causal}` });
      if (causal) {
        expectMasked(y.dataSync(), [...x.shape], 0, 'values');
        expectMasked(gx.dataSync(), [...x.shape], 0, 'gradients');
      }
    }
  });

  it('gradcheck and gradgradcheck in float64, causal with L ≠ S', () => {
    for (const shape of [
      [2, 3, 5],
      [2, 4, 3],
    ]) {
      const x = randn(shape, { dtype: 'float64', generator: gen }).requiresGrad_(true);
      for (const causal of [false, true]) {
        const fn = (t: Tensor) => scaledSoftmax(t, 0.7, causal);
        expect(gradcheck(fn, [x])).toBe(true);
        expect(gradgradcheck(fn, [x])).toBe(true);
      }
    }
  });

  it('refuses scores without [L, S] under the causal mask, and a scale that is not a number', () => {
    expect(() => scaledSoftmax(randn([4]), 1, true)).toThrow(/scaledSoftmax: expected scores/);
    expect(() => scaledSoftmax(randn([2, 4]), NaN, false)).toThrow(/scale must be a number/);
  });
});

describe('MultiheadAttention on the attention softmax', () => {
  it('isCausal (batchFirst self-attention) gives what the explicit causal mask gives', () => {
    const gen = new Generator(5);
    const mask = nn.Transformer.generateSquareSubsequentMask(6);
    for (const device of ['cpu-reference', 'cpu']) {
      const mha = new nn.MultiheadAttention(8, 2, { batchFirst: true, generator: gen }).to(device);
      const x0 = randn([3, 6, 8], { generator: gen, device });
      const g = randn([3, 6, 8], { generator: gen, device });
      const run = (options: nn.MultiheadAttentionCallOptions) => {
        mha.zeroGrad();
        const x = x0.clone().requiresGrad_(true);
        const [out, w] = mha.call(x, x, x, options);
        out.backward(g);
        return [out.detach(), w!, x.grad!, ...mha.parameters().map((p) => p.grad!)];
      };
      const fused = run({ isCausal: true });
      const composed = run({ attnMask: mask.to(device) });
      fused.forEach((t, i) => {
        // The reference kernels give the composed ops' bits; the vector exp rounds a little.
        if (device === 'cpu-reference') expectBitEqual(t, composed[i], `${device} [${i}]`);
        else
          expectAllClose(t, composed[i], { rtol: 1e-5, atol: 1e-6, message: `${device} [${i}]` });
      });
    }
  });
});
