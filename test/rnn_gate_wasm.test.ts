/**
 * The SIMD gate kernels of one LSTM / GRU step (src/backend/wasm/rnn_step_kernels.ts) against
 * the plain loops they replace (src/backend/cpu/rnn_kernels.ts), forward and backward, on arena
 * storage, with strided previous states (a row of y, as the fused op passes them) and with and
 * without the next step's gradient; each case checks the kernel ran. Then the fused pass on
 * those kernels against the composed step ops, at a size where they are used.
 */
import { describe, expect, it } from 'vitest';
import {
  recurrentStepBackward,
  recurrentStepForward,
  type RecurrentKernelMode,
  type StepArrays,
  type StepGradArrays,
} from '../src/backend/cpu/rnn_kernels.js';
import {
  recurrentStepBackwardWasm,
  recurrentStepForwardWasm,
} from '../src/backend/wasm/rnn_step_kernels.js';
import { kernelRuntime } from '../src/backend/wasm/kernel_runtime.js';
import { composedSequence, recurrentSequence } from '../src/autograd/ops/rnn_sequence.js';
import { autograd, Generator, randn } from '../src/index.js';
import { arenaData } from './helpers/arena.js';
import { expectAllClose } from './helpers/close.js';

/** Arena storage of `size` deterministic floats in [-scale, scale), no special values. */
const data = (size: number, seed: number, scale = 3) => arenaData(size, seed, false, scale);

const copy = (a: Float32Array) => {
  const out = kernelRuntime(false)!.rt.arena.float32(a.length, false)!;
  out.set(a);
  return out;
};

/** One step's arrays: N rows of H units, the previous state a strided row of a y block. */
function stepCase(mode: RecurrentKernelMode, n: number, h: number, seed: number) {
  const g = mode === 'LSTM' ? 4 : 3;
  const w = mode === 'LSTM' ? 2 * h : h;
  // Values up to ±12 in the projections reach both tanh branches and saturated gates.
  const proj = data(2 * n * g * h, seed, 6);
  const hp = data(n * g * h, seed + 1, 6);
  const yPrev = data(2 * n * w, seed + 2);
  const arrays = (y: Float32Array, act: Float32Array): StepArrays => ({
    n,
    h,
    proj,
    projOff: n * g * h,
    y,
    yOff: n * w,
    act,
    actOff: n * 4 * h,
    prev: y,
    prevOff: 0,
    prevStride: w,
    cPrev: mode === 'LSTM' ? y : null,
    cPrevOff: h,
    cPrevStride: w,
    running: null,
  });
  const yA = yPrev;
  const yB = copy(yPrev);
  return {
    g,
    w,
    hp,
    a: arrays(yA, data(2 * n * 4 * h, 9)),
    b: arrays(yB, data(2 * n * 4 * h, 9)),
  };
}

describe('LSTM / GRU step gate kernels (SIMD) against the loops', () => {
  for (const mode of ['LSTM', 'GRU'] as const) {
    for (const withNext of [true, false]) {
      it(`${mode}: forward and backward${withNext ? '' : ', no next-step gradient'}`, () => {
        const [n, h] = [6, 44];
        const { g, w, hp, a, b } = stepCase(mode, n, h, 11);
        expect(recurrentStepForwardWasm(mode, a, hp), 'the forward kernel ran').toBe(true);
        recurrentStepForward(mode, b, hp);
        expectAllClose(a.y, b.y, { rtol: 2e-6, atol: 1e-6, message: 'y' });
        expectAllClose(a.act!, b.act!, { rtol: 2e-6, atol: 1e-6, message: 'act' });
        const grads = (): StepGradArrays => {
          const dProj = data(2 * n * g * h, 5);
          return {
            dy: data(2 * n * w, 21),
            dyOff: n * w,
            dhNext: withNext ? data(n * h, 22) : null,
            dhCarry: data(n * h, 23),
            dcCarry: mode === 'LSTM' ? data(n * h, 24) : null,
            dProj,
            dProjOff: n * g * h,
            dHp: mode === 'LSTM' ? dProj : data(2 * n * g * h, 6),
            dHpOff: n * g * h,
          };
        };
        const [ga, gb] = [grads(), grads()];
        expect(recurrentStepBackwardWasm(mode, a, ga), 'the backward kernel ran').toBe(true);
        recurrentStepBackward(mode, b, gb);
        for (const key of ['dProj', 'dHp', 'dhCarry', 'dcCarry'] as const)
          if (ga[key]) expectAllClose(ga[key], gb[key]!, { rtol: 1e-5, atol: 1e-5, message: key });
      });
    }
  }

  it('declines what it does not take: the Elman RNN, padded batches, H not a multiple of 4', () => {
    const { hp, a } = stepCase('LSTM', 4, 8, 3);
    expect(recurrentStepForwardWasm('RNN_TANH', a, hp)).toBe(false);
    expect(recurrentStepForwardWasm('LSTM', { ...a, running: new Uint8Array(4) }, hp)).toBe(false);
    expect(recurrentStepForwardWasm('LSTM', { ...a, h: 6 }, hp)).toBe(false);
    expect(
      recurrentStepForwardWasm('LSTM', { ...a, proj: new Float32Array(a.proj.length) }, hp),
    ).toBe(false);
  });
});

describe('the fused pass on the SIMD kernels against the composed step ops (float32)', () => {
  const gen = new Generator(3);
  for (const mode of ['LSTM', 'GRU'] as const) {
    it(`${mode}: outputs and every gradient`, () => {
      const [steps, n, h] = [4, 8, 128];
      const g = mode === 'LSTM' ? 4 : 3;
      const r = (shape: number[], scale = 1) =>
        randn(shape, { generator: gen }).mul(scale).requiresGrad_(true);
      const inputs = {
        mode,
        proj: r([steps, n, g * h]),
        h0: r([n, h]),
        c0: mode === 'LSTM' ? r([n, h]) : null,
        weightHh: r([g * h, h], 0.1),
        biasHh: r([g * h]),
        reverse: false,
        lengths: null,
      };
      const leaves = [inputs.proj, inputs.h0, inputs.c0, inputs.weightHh, inputs.biasHh].filter(
        (t) => t !== null,
      );
      const cot = randn([steps, n, mode === 'LSTM' ? 2 * h : h], { generator: gen });
      const fused = recurrentSequence(inputs);
      const gf = autograd.grad(fused.mul(cot).sum(), leaves);
      const composed = composedSequence(inputs);
      const gc = autograd.grad(composed.mul(cot).sum(), leaves);
      expectAllClose(fused, composed, { rtol: 1e-5, atol: 1e-5 });
      gf.forEach((a, i) =>
        expectAllClose(a!, gc[i]!, { rtol: 1e-4, atol: 1e-4, message: `grad ${i}` }),
      );
    });
  }
});
