/**
 * The fused kernels (softmax / log-softmax, layer norm, batch norm, NLL, optimizer updates)
 * against the same computations composed of primitive ops: values, first-order gradients and
 * second-order gradients (createGraph), on random data with large logits, −Infinity,
 * non-contiguous inputs, float32 and float64.
 */
import { describe, expect, it } from 'vitest';
import {
  autograd,
  F,
  full,
  Generator,
  getBackend,
  noGrad,
  optim,
  rand,
  randn,
  tensor,
  where,
  zeros,
  type DType,
  type Tensor,
} from '../src/index.js';
import { adamStep } from '../src/optim/adam.js';
import { fusedNllLoss } from '../src/autograd/ops/fused.js';
import { fromStorage } from '../src/autograd/define.js';
import { bytesOf } from './helpers/values.js';
import { expectAllClose } from './helpers/close.js';
import type { Backend, FusedKernels } from '../src/backend/backend.js';

/** The 'cpu' backend with its fused kernels, which it has (a backend may lack them: FusedKernels). */
const cpuKernels = () => getBackend('cpu') as Backend & Required<FusedKernels>;
const generator = new Generator(1234);
const normal = (shape: number[], dtype: DType = 'float64', scale = 1, device?: string) =>
  randn(shape, { dtype, generator, device }).mul(scale);
const leaf = (t: Tensor) => t.detach().requiresGrad_();

/** Element-wise closeness with NaN matching NaN and equal infinities matching. */
function expectClose(
  actual: Tensor | null,
  expected: Tensor | null,
  rtol: number,
  atol: number,
  what = '',
): void {
  expect(actual === null, `${what}: null-ness`).toBe(expected === null);
  if (actual === null || expected === null) return;
  expect([...actual.shape], `${what}: shape`).toEqual([...expected.shape]);
  expectAllClose(actual, expected, { rtol, atol, message: what });
}

const TOL = { float64: { rtol: 1e-10, atol: 1e-11 }, float32: { rtol: 2e-5, atol: 2e-5 } } as const;

/**
 * Compares fused(...inputs) with reference(...inputs): values, the VJP with a random cotangent,
 * and the derivative of ⟨VJP, u⟩ for random u (second order). `linear` lists inputs whose
 * second-order gradient may be absent (the function is linear in them).
 */
function compareDerivatives(
  fused: (...xs: Tensor[]) => Tensor,
  reference: (...xs: Tensor[]) => Tensor,
  inputs: Tensor[],
  dtype: DType,
  options: { second?: boolean; cotangentScale?: number } = {},
): void {
  const { rtol, atol } = TOL[dtype as 'float32' | 'float64'];
  const yf = fused(...inputs);
  const yr = reference(...inputs);
  expectClose(yf, yr, rtol, atol, 'value');
  const v = normal([...yf.shape], dtype, options.cotangentScale ?? 1);
  const opts = { gradOutputs: [v], createGraph: true, allowUnused: true, materializeGrads: true };
  const gf = autograd.grad(yf, inputs, opts) as Tensor[];
  const gr = autograd.grad(yr, inputs, opts) as Tensor[];
  gf.forEach((g, i) => expectClose(g, gr[i], rtol * 10, atol * 10, `grad ${i}`));
  if (options.second === false) return;
  const us = inputs.map((x) => normal([...x.shape], dtype));
  const pair = (gs: Tensor[]) => gs.map((g, i) => g.mul(us[i]).sum()).reduce((a, b) => a.add(b));
  const second = { allowUnused: true, materializeGrads: true };
  const hf = autograd.grad(pair(gf), inputs, second) as Tensor[];
  const hr = autograd.grad(pair(gr), inputs, second) as Tensor[];
  hf.forEach((h, i) => expectClose(h, hr[i], rtol * 100, atol * 100, `second-order grad ${i}`));
}

const composedLogSoftmax = (x: Tensor, dim: number) => x.sub(x.logsumexp(dim, true));

describe('fused softmax and log-softmax', () => {
  for (const dtype of ['float64', 'float32'] as const) {
    it(`match the composed ops along every dim (${dtype})`, () => {
      const x = leaf(normal([3, 4, 5], dtype, 3));
      for (const dim of [0, 1, 2, -1]) {
        compareDerivatives(
          (t) => F.logSoftmax(t, dim),
          (t) => composedLogSoftmax(t, dim),
          [x],
          dtype,
        );
        compareDerivatives(
          (t) => F.softmax(t, dim),
          (t) => composedLogSoftmax(t, dim).exp(),
          [x],
          dtype,
        );
      }
    });

    it(`stay finite on large logits (${dtype})`, () => {
      const x = leaf(normal([4, 7], dtype, 1e4));
      const y = F.logSoftmax(x, 1);
      expect(y.dataSync().every((v) => Number.isFinite(v) && v <= 0)).toBe(true);
      const p = F.softmax(x, 1);
      const rows = p.sum(1).dataSync();
      rows.forEach((s) => expect(s).toBeCloseTo(1, 5));
      compareDerivatives(
        (t) => F.logSoftmax(t, 1),
        (t) => composedLogSoftmax(t, 1),
        [x],
        dtype,
      );
      compareDerivatives(
        (t) => F.softmax(t, 1),
        (t) => composedLogSoftmax(t, 1).exp(),
        [x],
        dtype,
      );
    });
  }

  it('handle −Infinity like the composed ops (masked entries, fully masked rows)', () => {
    const values = tensor(
      [
        [0.5, -Infinity, 2, -1],
        [-Infinity, -Infinity, -Infinity, -Infinity],
        [Infinity, 1, -Infinity, 0],
        [1, 2, 3, 4],
      ],
      { dtype: 'float64' },
    );
    const y = F.logSoftmax(values, 1);
    expectClose(y, composedLogSoftmax(values, 1), 1e-12, 1e-12, 'logSoftmax');
    expectClose(F.softmax(values, 1), composedLogSoftmax(values, 1).exp(), 1e-12, 1e-12, 'softmax');
    expect(y.dataSync()[1]).toBe(-Infinity);
    expect(Number.isNaN(y.dataSync()[4])).toBe(true);
    // Gradients on rows with finite maxima: a masked entry gets the plain cotangent (log) / 0 (softmax).
    const rows = leaf(
      tensor(
        [
          [0.5, -Infinity, 2, -1],
          [1, 2, -Infinity, 4],
        ],
        { dtype: 'float64' },
      ),
    );
    compareDerivatives(
      (t) => F.logSoftmax(t, 1),
      (t) => composedLogSoftmax(t, 1),
      [rows],
      'float64',
      { second: false },
    );
    compareDerivatives(
      (t) => F.softmax(t, 1),
      (t) => composedLogSoftmax(t, 1).exp(),
      [rows],
      'float64',
      { second: false },
    );
  });

  it('read non-contiguous inputs (transposed, sliced, expanded)', () => {
    const base = leaf(normal([6, 5]));
    const cases: ((b: Tensor) => Tensor)[] = [
      (b) => b.t(),
      (b) => b.slice(1, 0, 5, 2),
      (b) => b.select(0, 2).unsqueeze(0).expand([3, 5]),
    ];
    for (const view of cases) {
      for (const dim of [0, 1]) {
        compareDerivatives(
          (t) => F.logSoftmax(view(t), dim),
          (t) => composedLogSoftmax(view(t), dim),
          [base],
          'float64',
        );
        compareDerivatives(
          (t) => F.softmax(view(t), dim),
          (t) => composedLogSoftmax(view(t), dim).exp(),
          [base],
          'float64',
        );
      }
    }
  });

  it('give a contiguous result and handle 0-d inputs', () => {
    const x = normal([3, 4]).t();
    expect(F.softmax(x, 0).isContiguous()).toBe(true);
    const s = leaf(tensor(2.5, { dtype: 'float64' }));
    expect(F.logSoftmax(s, 0).itemSync()).toBe(0);
    expect(F.softmax(s, 0).itemSync()).toBe(1);
    const [g] = autograd.grad(F.logSoftmax(s, 0), [s]) as Tensor[];
    expect(g.itemSync()).toBe(0);
  });

  it('the backend kernel reads a strided view along any axis', () => {
    const backend = cpuKernels();
    const x = normal([4, 3, 2]).permute([2, 0, 1]);
    for (const axis of [0, 1, 2]) {
      const out = backend.softmax(x, axis, true) as Float64Array;
      expectClose(
        tensor([...out], { dtype: 'float64', shape: [...x.shape] }),
        composedLogSoftmax(x, axis),
        1e-12,
        1e-12,
        `axis ${axis}`,
      );
    }
  });
});

function composedLayerNorm(
  x: Tensor,
  k: number,
  w: Tensor | null,
  b: Tensor | null,
  eps = 1e-5,
): Tensor {
  const axes = Array.from({ length: k }, (_, i) => x.ndim - k + i);
  const y = x.sub(x.mean(axes, true)).div(x.var(axes, true, { correction: 0 }).add(eps).sqrt());
  const scaled = w ? y.mul(w) : y;
  return b ? scaled.add(b) : scaled;
}

describe('fused layer norm', () => {
  for (const dtype of ['float64', 'float32'] as const) {
    it(`matches the composed op with and without affine parameters (${dtype})`, () => {
      const x = leaf(normal([3, 4, 5], dtype, 2).add(3));
      const w = leaf(normal([4, 5], dtype));
      const b = leaf(normal([4, 5], dtype));
      compareDerivatives(
        (t, ww, bb) => F.layerNorm(t, [4, 5], ww, bb),
        (t, ww, bb) => composedLayerNorm(t, 2, ww, bb),
        [x, w, b],
        dtype,
      );
      compareDerivatives(
        (t) => F.layerNorm(t, [5]),
        (t) => composedLayerNorm(t, 1, null, null),
        [x],
        dtype,
      );
      compareDerivatives(
        (t, ww) => F.layerNorm(t, [5], ww, null, 1e-3),
        (t, ww) => composedLayerNorm(t, 1, ww, null, 1e-3),
        [x, leaf(normal([5], dtype))],
        dtype,
      );
    });
  }

  it('reads a non-contiguous input', () => {
    const base = leaf(normal([5, 4]));
    const w = leaf(normal([5]));
    compareDerivatives(
      (t, ww) => F.layerNorm(t.t(), [5], ww),
      (t, ww) => composedLayerNorm(t.t(), 1, ww, null),
      [base, w],
      'float64',
    );
  });

  it('returns per-row mean and rstd from the backend kernel', () => {
    const x = normal([2, 3]);
    const { mean, rstd } = cpuKernels().layerNorm(x, 3, null, null, 0);
    const m = x.mean(1).dataSync();
    const r = x.var(1, false, { correction: 0 }).rsqrt().dataSync();
    expectAllClose(mean as Float64Array, m, { rtol: 0, atol: 5e-13 });
    expectAllClose(rstd as Float64Array, r, { rtol: 0, atol: 5e-11 });
  });
});

function composedBatchNorm(x: Tensor, w: Tensor | null, b: Tensor | null, eps = 1e-5): Tensor {
  const axes = x.shape.map((_, i) => i).filter((i) => i !== 1);
  const shape = x.shape.map((d, i) => (i === 1 ? d : 1));
  const y = x.sub(x.mean(axes, true)).div(x.var(axes, true, { correction: 0 }).add(eps).sqrt());
  const scaled = w ? y.mul(w.reshape(shape)) : y;
  return b ? scaled.add(b.reshape(shape)) : scaled;
}

describe('fused batch norm', () => {
  for (const dtype of ['float64', 'float32'] as const) {
    it(`training matches the composed op and updates the running statistics (${dtype})`, () => {
      const x = leaf(normal([4, 3, 2, 5], dtype, 2).add(1));
      const w = leaf(normal([3], dtype));
      const b = leaf(normal([3], dtype));
      compareDerivatives(
        (t, ww, bb) => F.batchNorm(t, null, null, { weight: ww, bias: bb, training: true }),
        (t, ww, bb) => composedBatchNorm(t, ww, bb),
        [x, w, b],
        dtype,
      );
      compareDerivatives(
        (t) => F.batchNorm(t, null, null, { training: true, eps: 1e-2 }),
        (t) => composedBatchNorm(t, null, null, 1e-2),
        [x],
        dtype,
      );
      const runningMean = normal([3], dtype);
      const runningVar = normal([3], dtype).abs();
      const expectedMean = runningMean.mul(0.7).add(x.detach().mean([0, 2, 3]).mul(0.3));
      const expectedVar = runningVar
        .mul(0.7)
        .add(x.detach().var([0, 2, 3], false, { correction: 1 }).mul(0.3));
      const version = runningMean.version;
      F.batchNorm(x, runningMean, runningVar, { training: true, momentum: 0.3 });
      expect(runningMean.version).toBeGreaterThan(version);
      expectClose(runningMean, expectedMean, TOL[dtype].rtol, TOL[dtype].atol, 'runningMean');
      expectClose(runningVar, expectedVar, TOL[dtype].rtol, TOL[dtype].atol, 'runningVar');
    });

    it(`evaluation matches the composed op (${dtype})`, () => {
      const x = leaf(normal([5, 3, 4], dtype));
      const w = leaf(normal([3], dtype));
      const b = leaf(normal([3], dtype));
      const mean = normal([3], dtype);
      const variance = normal([3], dtype).abs().add(0.1);
      const shape = [1, 3, 1];
      compareDerivatives(
        (t, ww, bb) => F.batchNorm(t, mean, variance, { weight: ww, bias: bb }),
        (t, ww, bb) =>
          t
            .sub(mean.reshape(shape))
            .div(variance.reshape(shape).add(1e-5).sqrt())
            .mul(ww.reshape(shape))
            .add(bb.reshape(shape)),
        [x, w, b],
        dtype,
      );
    });
  }

  it('reads a non-contiguous input and 2-d [N, C] inputs', () => {
    const base = leaf(normal([3, 6, 4]));
    compareDerivatives(
      (t) => F.batchNorm(t.transpose(0, 2), null, null, { training: true }),
      (t) => composedBatchNorm(t.transpose(0, 2), null, null),
      [base],
      'float64',
    );
    const flat = leaf(normal([7, 3]));
    compareDerivatives(
      (t) => F.batchNorm(t, null, null, { training: true }),
      (t) => composedBatchNorm(t, null, null),
      [flat],
      'float64',
    );
  });

  it('the statistics kernel gives the per-channel mean and biased variance', () => {
    const x = normal([3, 2, 4]).add(100);
    const { mean, variance } = cpuKernels().batchNormStats(x);
    const m = x.mean([0, 2]).dataSync();
    const v = x.var([0, 2], false, { correction: 0 }).dataSync();
    expectAllClose(mean as Float64Array, m, { rtol: 0, atol: 5e-11 });
    expectAllClose(variance as Float64Array, v, { rtol: 0, atol: 5e-11 });
  });
});

/** PyTorch's cross-entropy with class indices, composed of primitive ops (no labelSmoothing). */
function composedCrossEntropy(
  x: Tensor,
  target: Tensor,
  weight: Tensor | null,
  ignoreIndex: number,
  reduction: 'none' | 'sum' | 'mean',
): Tensor {
  const logp = composedLogSoftmax(x, 1);
  const ignored = target.eq(ignoreIndex);
  const safe = where(ignored, 0, target);
  const picked = logp.gather(1, safe.unsqueeze(1)).squeeze(1);
  const w = where(
    ignored,
    0,
    weight ? weight.indexSelect(0, safe) : full([target.shape[0]], 1, { dtype: x.dtype }),
  );
  const loss = picked.mul(w).neg();
  if (reduction === 'none') return loss;
  if (reduction === 'sum') return loss.sum();
  return loss.sum().div(w.sum());
}

describe('fused cross-entropy (log-softmax + NLL)', () => {
  const labels = (values: number[]) => tensor(values, { dtype: 'int32' });
  for (const dtype of ['float64', 'float32'] as const) {
    for (const reduction of ['mean', 'sum', 'none'] as const) {
      it(`matches the composed loss with weight and ignoreIndex (${reduction}, ${dtype})`, () => {
        const x = leaf(normal([6, 4], dtype, 5));
        const target = labels([0, 3, -100, 1, 3, 2]);
        const weight = normal([4], dtype).abs().add(0.2);
        compareDerivatives(
          (t) => F.crossEntropy(t, target, { reduction }),
          (t) => composedCrossEntropy(t, target, null, -100, reduction),
          [x],
          dtype,
        );
        compareDerivatives(
          (t) => F.crossEntropy(t, target, { weight, reduction }),
          (t) => composedCrossEntropy(t, target, weight, -100, reduction),
          [x],
          dtype,
        );
        const other = labels([2, 2, 0, 1, 3, 2]);
        compareDerivatives(
          (t) => F.crossEntropy(t, other, { weight, reduction, ignoreIndex: 2 }),
          (t) => composedCrossEntropy(t, other, weight, 2, reduction),
          [x],
          dtype,
        );
      });
    }
  }

  it('agrees with the composed path (weights that require grad) on large logits, -inf and [N, C, d] inputs', () => {
    const x = normal([3, 4, 2], 'float64', 1e3);
    // −Infinity away from the targets (where the loss itself would be +Infinity).
    const mask = zeros([3, 4, 2], { dtype: 'float64' });
    for (const [n, c, d] of [
      [0, 2, 0],
      [0, 3, 1],
      [1, 1, 0],
      [2, 0, 1],
      [2, 3, 0],
    ])
      mask.index(n, c, d).fill_(1);
    const masked = leaf(where(mask.eq(1), -Infinity, x));
    const target = tensor(
      [
        [0, 1],
        [3, -100],
        [2, 2],
      ],
      { dtype: 'int32' },
    );
    const weight = normal([4]).abs().add(0.5);
    for (const reduction of ['mean', 'sum', 'none'] as const) {
      compareDerivatives(
        (t) => F.crossEntropy(t, target, { weight, reduction }),
        (t) => F.crossEntropy(t, target, { weight: leaf(weight), reduction }),
        [masked],
        'float64',
      );
      compareDerivatives(
        (t) => F.nllLoss(F.logSoftmax(t, 1), target, { weight, reduction }),
        (t) => F.nllLoss(F.logSoftmax(t, 1), target, { weight: leaf(weight), reduction }),
        [masked],
        'float64',
      );
    }
  });

  it('skips ignored samples entirely, as PyTorch (a −Infinity there does not make the loss NaN)', () => {
    const logp = tensor(
      [
        [-Infinity, -0.5, -1],
        [-2, -0.1, -3],
      ],
      { dtype: 'float64' },
    );
    expect(F.nllLoss(logp, labels([-100, 1])).itemSync()).toBeCloseTo(0.1, 12);
    expect(F.nllLoss(logp, labels([0, 1]), { reduction: 'sum' }).itemSync()).toBe(Infinity);
  });

  it('gives NaN with a zero gradient when every target is ignored (mean), as PyTorch', () => {
    const x = leaf(normal([2, 3]));
    const loss = F.crossEntropy(x, labels([-100, -100]));
    expect(Number.isNaN(loss.itemSync())).toBe(true);
    loss.backward();
    expect([...x.grad!.dataSync()]).toEqual([0, 0, 0, 0, 0, 0]);
  });

  it("the fused loss's 'sum' and 'mean' are the composed reductions' bits (incl. every target ignored)", () => {
    for (const dtype of ['float32', 'float64'] as const) {
      for (const [n, c] of [
        [1, 2],
        [7, 3],
        [128, 10],
        [300, 13],
      ]) {
        const logp = normal([n, c], dtype, 5);
        const targets = Array.from({ length: n }, (_, i) => (i % 4 === 1 ? -100 : (i * 7) % c));
        for (const weight of [null, rand([c], { dtype, generator })]) {
          for (const t of [labels(targets), labels(targets.map(() => -100))]) {
            const perSample = fusedNllLoss(logp, t, weight, -100, 'none');
            const w = fromStorage(
              cpuKernels().nllLoss(logp, t, weight, -100).weight,
              [n],
              dtype,
              logp,
            );
            const total = w.sum();
            const empty = total.eq(0);
            const mean = where(empty, NaN, perSample.sum().div(where(empty, 1, total)));
            expect(bytesOf(fusedNllLoss(logp, t, weight, -100, 'mean').dataSync())).toEqual(
              bytesOf(mean.dataSync()),
            );
            expect(bytesOf(fusedNllLoss(logp, t, weight, -100, 'sum').dataSync())).toEqual(
              bytesOf(perSample.sum().dataSync()),
            );
          }
        }
      }
    }
  });

  it('the NLL kernel rejects a label out of range', () => {
    const backend = cpuKernels();
    const logp = normal([2, 3]);
    expect(() => backend.nllLoss(logp, labels([0, 3]), null, -100)).toThrow(
      /target label 3 is out of range for 3 classes/,
    );
  });
});

type Config = Record<string, unknown>;

/** Composed reference updates (the optimizers' general path), run on copies. */
function composedSgd(
  p: Tensor,
  grad: Tensor,
  state: { buf?: Tensor },
  o: Required<optim.SGDOptions>,
): void {
  noGrad(() => {
    let d: Tensor = o.maximize ? grad.neg() : grad;
    if (o.weightDecay !== 0) d = d.add(p, o.weightDecay);
    if (o.momentum !== 0) {
      if (state.buf === undefined) state.buf = d.detach().clone();
      else state.buf.mul_(o.momentum).add_(d, 1 - o.dampening);
      d = o.nesterov ? d.add(state.buf, o.momentum) : state.buf;
    }
    p.add_(d, -o.lr);
  });
}

function composedAdam(
  p: Tensor,
  g: Tensor,
  state: Record<string, Tensor | number>,
  o: optim.AdamOptions,
  decoupled: boolean,
): void {
  noGrad(() => {
    let grad = o.maximize ? g.neg() : g;
    if (decoupled) p.mul_(1 - o.lr * o.weightDecay);
    else if (o.weightDecay !== 0) grad = grad.add(p, o.weightDecay);
    adamStep(p, grad, state, o);
  });
}

describe('softmax and NLL backward kernels (no createGraph)', () => {
  /** x's gradient by the backward kernels (no graph built) and by the differentiable rule. */
  function bothGradients(f: (x: Tensor) => Tensor, x: Tensor, cotangent?: Tensor) {
    const y = f(x);
    const gradOutputs = cotangent ? [cotangent] : undefined;
    const [byKernel] = autograd.grad(y, [x], { gradOutputs, retainGraph: true }) as Tensor[];
    const [byRule] = autograd.grad(y, [x], { gradOutputs, createGraph: true }) as Tensor[];
    return { byKernel, byRule };
  }
  const expectSameBits = ({ byKernel, byRule }: { byKernel: Tensor; byRule: Tensor }) => {
    expect([...byKernel.shape]).toEqual([...byRule.shape]);
    // Read through the backend: dataSync is for the default 'cpu' device only.
    const bits = (t: Tensor) => bytesOf(t.backend.readSync(t.contiguous()));
    expect(bits(byKernel)).toEqual(bits(byRule));
  };

  for (const dtype of ['float32', 'float64'] as const) {
    // The reference kernels (the WebAssembly backend's last-dim float32 ones use a vector exp,
    // within 2 ulp of Math.exp: close to the rule, checked below, not its bits).
    it(`softmax and log-softmax: the rule's bits along every dim, strided, with −Infinity (${dtype})`, () => {
      const device = 'cpu-reference';
      const base = normal([4, 5, 6], dtype, 4, device);
      const masked = where(normal([4, 5, 6], dtype, 1, device).gt(1.2), -Infinity, base);
      for (const x of [leaf(base), leaf(masked), leaf(base.transpose(0, 2))]) {
        for (const dim of [0, 1, 2]) {
          const v = normal([...x.shape], dtype, 1, device);
          expectSameBits(bothGradients((t) => F.logSoftmax(t, dim), x, v));
          expectSameBits(bothGradients((t) => F.softmax(t, dim), x, v));
        }
      }
      const scalar = leaf(normal([], dtype, 1, device));
      const cotangent = normal([], dtype, 1, device);
      expectSameBits(bothGradients((t) => F.logSoftmax(t, 0), scalar, cotangent));
      expectSameBits(bothGradients((t) => F.softmax(t, 0), scalar, cotangent));
    });

    it(`softmax and log-softmax on the default backend: the kernels' gradients close to the rule's (${dtype})`, () => {
      const base = normal([4, 5, 6], dtype, 4);
      const masked = where(normal([4, 5, 6], dtype).gt(1.2), -Infinity, base);
      for (const x of [leaf(base), leaf(masked), leaf(base.transpose(0, 2))]) {
        for (const dim of [0, 1, 2]) {
          const v = normal([...x.shape], dtype);
          for (const f of [F.logSoftmax, F.softmax]) {
            const { byKernel, byRule } = bothGradients((t) => f(t, dim), x, v);
            expectClose(byKernel, byRule, TOL[dtype].rtol, TOL[dtype].atol, `${f.name} dim ${dim}`);
          }
        }
      }
    });

    it(`NLL: the rule's bits for every reduction, weights, ignored rows and Inf/NaN gradients (${dtype})`, () => {
      const x = leaf(normal([7, 5], dtype, 3));
      const target = tensor([0, 4, -100, 1, 4, 2, 3], { dtype: 'int32' });
      const weight = normal([5], dtype).abs().add(0.1);
      const ignoringFour = tensor([0, 4, 2, 1, 4, 2, 3], { dtype: 'int32' });
      const cases = [
        { labels: target, options: {} },
        { labels: target, options: { weight } },
        { labels: ignoringFour, options: { weight, ignoreIndex: 4 } },
      ];
      for (const reduction of ['mean', 'sum', 'none'] as const) {
        for (const { labels, options } of cases) {
          const loss = (t: Tensor) => F.nllLoss(t, labels, { ...options, reduction });
          const shape = reduction === 'none' ? [7] : [];
          expectSameBits(bothGradients(loss, x, normal(shape, dtype)));
          const special = full(shape, reduction === 'none' ? NaN : -Infinity, { dtype });
          expectSameBits(bothGradients(loss, x, special));
        }
      }
      // Every target ignored: a zero total weight for 'mean'.
      const ignored = tensor([-100, -100], { dtype: 'int32' });
      const y = leaf(normal([2, 3], dtype));
      expectSameBits(bothGradients((t) => F.nllLoss(t, ignored), y, normal([], dtype)));
    });
  }
});

describe('fused optimizer updates', () => {
  const sgdConfigs: Config[] = [
    { lr: 0.1 },
    { lr: 0.05, momentum: 0.9 },
    { lr: 0.05, momentum: 0.9, dampening: 0.3, weightDecay: 0.01 },
    { lr: 0.05, momentum: 0.8, nesterov: true, weightDecay: 0.1 },
    { lr: 0.02, momentum: 0.5, maximize: true },
  ];
  const adamConfigs: Config[] = [
    { lr: 1e-2 },
    { lr: 1e-2, weightDecay: 0.1 },
    { lr: 1e-2, amsgrad: true, betas: [0.8, 0.99] },
    { lr: 3e-3, maximize: true, weightDecay: 0.05, eps: 1e-6 },
  ];

  for (const dtype of ['float32', 'float64'] as const) {
    it(`SGD gives the same bits as the composed update over several steps (${dtype})`, () => {
      for (const config of sgdConfigs) {
        const p = leaf(normal([7, 5], dtype));
        const ref = p.detach().clone();
        const opt = new optim.SGD([p], config);
        const options = {
          momentum: 0,
          dampening: 0,
          weightDecay: 0,
          nesterov: false,
          maximize: false,
          ...config,
        } as Required<optim.SGDOptions>;
        const refState: { buf?: Tensor } = {};
        for (let step = 0; step < 5; step++) {
          const g = normal([7, 5], dtype);
          p.grad = g;
          const version = p.version;
          opt.step();
          expect(p.version).toBeGreaterThan(version);
          composedSgd(ref, g, refState, options);
          expect([...p.dataSync()], JSON.stringify(config)).toEqual([...ref.dataSync()]);
        }
        if (refState.buf)
          expect([...(opt.state.get(p)!.momentumBuffer as Tensor).dataSync()]).toEqual([
            ...refState.buf.dataSync(),
          ]);
      }
    });

    for (const name of ['Adam', 'AdamW'] as const) {
      it(`${name} gives the same bits as the composed update over several steps (${dtype})`, () => {
        for (const config of adamConfigs) {
          const p = leaf(normal([6, 4], dtype));
          const ref = p.detach().clone();
          const opt = name === 'Adam' ? new optim.Adam([p], config) : new optim.AdamW([p], config);
          const options = { ...opt.paramGroups[0] } as unknown as optim.AdamOptions;
          const refState: Record<string, Tensor | number> = {};
          for (let step = 0; step < 6; step++) {
            const g = normal([6, 4], dtype, step === 3 ? 100 : 1);
            p.grad = g;
            const version = p.version;
            opt.step();
            expect(p.version).toBeGreaterThan(version);
            composedAdam(ref, g, refState, options, name === 'AdamW');
            expect([...p.dataSync()], JSON.stringify(config)).toEqual([...ref.dataSync()]);
          }
          const state = opt.state.get(p)!;
          expect(state.step).toBe(6);
          for (const key of ['expAvg', 'expAvgSq', ...(config.amsgrad ? ['maxExpAvgSq'] : [])]) {
            expect([...(state[key] as Tensor).dataSync()], key).toEqual([
              ...(refState[key] as Tensor).dataSync(),
            ]);
          }
        }
      });
    }
  }

  it('the update kernels write through non-contiguous views', () => {
    const backend = cpuKernels();
    const p = normal([4, 3]).t();
    const g = normal([3, 4]);
    const m = zeros([4, 3], { dtype: 'float64' }).t();
    const v = zeros([4, 3], { dtype: 'float64' }).t();
    const ref = p.contiguous();
    const refState: Record<string, Tensor | number> = {};
    const o = {
      lr: 0.1,
      betas: [0.9, 0.999] as [number, number],
      eps: 1e-8,
      weightDecay: 0,
      amsgrad: false,
      maximize: false,
    };
    backend.adamUpdate(p, g, m, v, null, {
      lr: 0.1,
      beta1: 0.9,
      beta2: 0.999,
      eps: 1e-8,
      weightDecay: 0,
      decoupledWeightDecay: false,
      amsgrad: false,
      maximize: false,
      step: 1,
    });
    composedAdam(ref, g, refState, o, false);
    expect([...p.dataSync()]).toEqual([...ref.dataSync()]);
    expect([...m.dataSync()]).toEqual([...(refState.expAvg as Tensor).dataSync()]);
    const buf = zeros([4, 3], { dtype: 'float64' }).t();
    const q = normal([4, 3]).t();
    const qRef = q.contiguous();
    backend.sgdUpdate(q, g, buf, {
      lr: 0.1,
      momentum: 0.9,
      dampening: 0,
      weightDecay: 0,
      nesterov: false,
      maximize: false,
      firstStep: true,
    });
    composedSgd(
      qRef,
      g,
      {},
      { lr: 0.1, momentum: 0.9, dampening: 0, weightDecay: 0, nesterov: false, maximize: false },
    );
    expect([...q.dataSync()]).toEqual([...qRef.dataSync()]);
    expect([...buf.dataSync()]).toEqual([...g.dataSync()]);
  });

  it('falls back to the composed path when the gradient has another dtype', () => {
    const p = leaf(normal([3], 'float32'));
    const ref = p.detach().clone();
    const opt = new optim.Adam([p], { lr: 0.1 });
    const g = normal([3], 'float64');
    p.grad = g;
    opt.step();
    const refState: Record<string, Tensor | number> = {};
    composedAdam(
      ref,
      g,
      refState,
      { ...opt.paramGroups[0] } as unknown as optim.AdamOptions,
      false,
    );
    expect([...p.dataSync()]).toEqual([...ref.dataSync()]);
  });
});
