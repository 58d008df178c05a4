/**
 * Fused composite ops: softmax / log-softmax, layer norm, RMS norm, batch norm and the NLL of
 * class indices, each computed forward by one backend kernel instead of a chain of primitives.
 * Their backward rules are written with differentiable tensor ops, so the backward of a backward
 * (createGraph) works as for the composed ops; softmax, the two norms and NLL also have a
 * backward kernel, used when no graph is being built (softmax's and NLL's give the rule's bits,
 * the norms' agree with it within float32 rounding). Where a rule reads
 * statistics the kernel computed (mean, rstd), it recomputes them from x with differentiable ops
 * when grad mode is on during backward, so that higher derivatives see how they depend on x.
 * The kernels are optional (FusedKernels): callers check hasKernels first and compose the op from
 * primitives where the backend lacks them; softmax composes itself.
 */
import type { Backend, FusedKernels } from '../../backend/backend.js';
import { traceKernel } from '../../backend/kernel_trace.js';
import { zeros } from '../../tensor/creation.js';
import type { Tensor } from '../../tensor/tensor.js';
import { fromStorage, record } from '../define.js';
import { isGradEnabled, noGrad } from '../grad_mode.js';
import { where } from './elementwise.js';
import { sumToShape } from './reduction.js';

/**
 * Softmax (or log-softmax) of `x` along `dim` (already normalized) by the backend's fused
 * kernel. Backward: log-softmax g − exp(y)·Σg; softmax y·(g − Σ g·y).
 */
export function fusedSoftmax(x: Tensor, dim: number, log: boolean): Tensor {
  const op = log ? 'logSoftmax' : 'softmax';
  if (!x.backend.softmax) {
    traceKernel(op, 'composed');
    // logsumexp shifts by the max, as the kernel: large logits neither overflow nor lose precision.
    const logProbs = x.sub(x.logsumexp(dim, true));
    return log ? logProbs : logProbs.exp();
  }
  traceKernel(op, 'fused');
  const scalar = x.ndim === 0;
  // A 0-d tensor is read by the kernels as one element along axis 0.
  const asView = (t: Tensor) =>
    scalar ? { storage: t.storage, dtype: t.dtype, shape: [1], strides: [1], offset: t.offset } : t;
  const axis = scalar ? 0 : dim;
  const y = fromStorage(x.backend.softmax(asView(x), axis, log), x.shape, x.dtype, x);
  const kernelBackward = x.backend.softmaxBackward !== undefined;
  const sumAlong = (t: Tensor) => (scalar ? t : t.sum(dim, true));
  // Without a graph to build, one kernel; the same rule in differentiable ops otherwise.
  const backwardKernel = (g: Tensor, sy: Tensor) =>
    fromStorage(x.backend.softmaxBackward!(asView(g), asView(sy), axis, log), x.shape, x.dtype, x);
  if (log)
    return record('LogSoftmaxBackward', y, [x], [y], (g, [sy]) => [
      isGradEnabled() || !kernelBackward ? g.sub(sy.exp().mul(sumAlong(g))) : backwardKernel(g, sy),
    ]);
  return record('SoftmaxBackward', y, [x], [y], (g, [sy]) => [
    isGradEnabled() || !kernelBackward ? sy.mul(g.sub(sumAlong(g.mul(sy)))) : backwardKernel(g, sy),
  ]);
}

/**
 * The rows the norms' kernels see: `size` elements (the trailing `normalizedShape` dims, over
 * `axes`), and the per-row statistics' shape (x's with those dims 1).
 */
function normalizedRows(x: Tensor, normalizedShape: readonly number[]) {
  const size = normalizedShape.reduce((a, b) => a * b, 1);
  const lead = x.ndim - normalizedShape.length;
  const axes = normalizedShape.map((_, i) => lead + i);
  return { size, axes, statShape: x.shape.map((d, i) => (i < lead ? d : 1)) };
}

/**
 * Layer norm over the trailing `normalizedShape` dims by the backend's fused kernel, with the
 * usual backward: with x̂ = (x − mean)·rstd and ĝ = g·w,
 * dx = rstd·(ĝ − mean(ĝ) − x̂·mean(ĝ·x̂)), dw = Σ g·x̂, db = Σ g (sums over the leading dims),
 * by the backend's layerNormBackward kernel when no graph is being built.
 */
export function fusedLayerNorm(
  x: Tensor,
  normalizedShape: readonly number[],
  weight: Tensor | null,
  bias: Tensor | null,
  eps: number,
): Tensor {
  const { size, axes, statShape } = normalizedRows(x, normalizedShape);
  traceKernel('layerNorm', 'fused');
  const result = x.backend.layerNorm!(x, size, weight, bias, eps);
  const out = fromStorage(result.output, x.shape, x.dtype, x);
  const mean = fromStorage(result.mean, statShape, x.dtype, x);
  const rstd = fromStorage(result.rstd, statShape, x.dtype, x);
  const saved = weight ? [x, mean, rstd, weight] : [x, mean, rstd];
  const weightShape = weight?.shape;
  const biasShape = bias?.shape;
  return record(
    'NativeLayerNormBackward',
    out,
    [x, weight, bias],
    saved,
    (g, [sx, sMean, sRstd, sw], needs) => {
      // Without a graph to build, one kernel; the same rule in differentiable ops otherwise.
      if (!isGradEnabled() && x.backend.layerNormBackward) {
        const wanted = [needs[0], needs[1] && !!weightShape, needs[2] && !!biasShape] as const;
        const grads = x.backend.layerNormBackward(g, sx, sMean, sRstd, sw ?? null, size, wanted);
        const as = (s: typeof grads.input, shape: readonly number[] | undefined) =>
          s === null || !shape ? null : fromStorage(s, shape, x.dtype, x);
        return [as(grads.input, x.shape), as(grads.weight, weightShape), as(grads.bias, biasShape)];
      }
      const { xhat, r } = normalizedInput(sx, axes, eps, sMean, sRstd);
      let gx: Tensor | null = null;
      if (needs[0]) {
        const gh = sw ? g.mul(sw) : g;
        gx = gh
          .sub(gh.mean(axes, true))
          .sub(xhat.mul(gh.mul(xhat).mean(axes, true)))
          .mul(r);
      }
      return [
        gx,
        needs[1] && weightShape ? sumToShape(g.mul(xhat), weightShape) : null,
        needs[2] && biasShape ? sumToShape(g, biasShape) : null,
      ];
    },
  );
}

/**
 * RMS norm over the trailing `normalizedShape` dims by the backend's fused kernel: y = x·rstd·w,
 * rstd = 1/√(mean(x²) + eps). Backward, with x̂ = x·rstd and ĝ = g·w:
 * dx = rstd·(ĝ − x̂·mean(ĝ·x̂)), dw = Σ g·x̂; by the backend's rmsNormBackward kernel when no
 * graph is being built, else in differentiable ops with rstd recomputed from x.
 */
export function fusedRmsNorm(
  x: Tensor,
  normalizedShape: readonly number[],
  weight: Tensor | null,
  eps: number,
): Tensor {
  const { size, axes, statShape } = normalizedRows(x, normalizedShape);
  traceKernel('rmsNorm', 'fused');
  const result = x.backend.rmsNorm!(x, size, weight, eps);
  const out = fromStorage(result.output, x.shape, x.dtype, x);
  const rstd = fromStorage(result.rstd, statShape, x.dtype, x);
  const weightShape = weight?.shape;
  return record(
    'RmsNormBackward',
    out,
    [x, weight],
    weight ? [x, rstd, weight] : [x, rstd],
    (g, [sx, sRstd, sw], needs) => {
      const wanted = [needs[0], needs[1] && !!weightShape] as const;
      if (!isGradEnabled() && x.backend.rmsNormBackward) {
        const grads = x.backend.rmsNormBackward(g, sx, sRstd, sw ?? null, size, wanted);
        return [
          grads.input && fromStorage(grads.input, x.shape, x.dtype, x),
          grads.weight && weightShape ? fromStorage(grads.weight, weightShape, x.dtype, x) : null,
        ];
      }
      const r = isGradEnabled() ? sx.square().mean(axes, true).add(eps).rsqrt() : sRstd;
      const xhat = sx.mul(r);
      const gh = sw ? g.mul(sw) : g;
      return [
        wanted[0] ? gh.sub(xhat.mul(gh.mul(xhat).mean(axes, true))).mul(r) : null,
        wanted[1] ? sumToShape(g.mul(xhat), weightShape!) : null,
      ];
    },
  );
}

/**
 * x̂ = (x − mean)·rstd and rstd over `axes`, for the backward of layer and batch norm: from the
 * saved statistics (broadcastable to x), or, when the backward itself is recorded (createGraph),
 * recomputed from x with differentiable ops so that higher derivatives see their dependence on x.
 */
function normalizedInput(
  x: Tensor,
  axes: number[],
  eps: number,
  mean: Tensor,
  rstd: Tensor,
): { xhat: Tensor; r: Tensor } {
  if (!isGradEnabled()) return { xhat: x.sub(mean).mul(rstd), r: rstd };
  const r = x.var(axes, true, { correction: 0 }).add(eps).rsqrt();
  return { xhat: x.sub(x.mean(axes, true)).mul(r), r };
}

export interface FusedBatchNormResult {
  output: Tensor;
  /** The batch mean [C], no autograd. */
  mean: Tensor;
  /** The biased batch variance [C], no autograd. */
  variance: Tensor;
}

/**
 * Batch norm of x [N, C, *] with the batch statistics (one fused statistics pass, one fused
 * normalization pass). Backward, with x̂ = (x − μ)·rstd, over the axes A = all but 1 and
 * n = |A|: db = Σ_A g, dw = Σ_A g·x̂, dx = w·rstd·(g − db/n − x̂·dw/n).
 */
export function fusedBatchNormTraining(
  x: Tensor,
  weight: Tensor | null,
  bias: Tensor | null,
  eps: number,
): FusedBatchNormResult {
  const channels = x.shape[1];
  traceKernel('batchNorm', 'fused');
  const stats = x.backend.batchNormStats!(x);
  const mean = fromStorage(stats.mean, [channels], x.dtype, x);
  const variance = fromStorage(stats.variance, [channels], x.dtype, x);
  const rstd = noGrad(() => variance.add(eps).rsqrt());
  const output = fromStorage(
    x.backend.batchNormApply!(x, mean, rstd, weight, bias),
    x.shape,
    x.dtype,
    x,
  );
  const axes = x.shape.map((_, i) => i).filter((i) => i !== 1);
  const count = x.numel() / channels;
  const keep = x.shape.map((d, i) => (i === 1 ? d : 1));
  const saved = weight ? [x, mean, rstd, weight] : [x, mean, rstd];
  record(
    'NativeBatchNormBackward',
    output,
    [x, weight, bias],
    saved,
    (g, [sx, sMean, sRstd, sw], needs) => {
      const { xhat, r } = normalizedInput(sx, axes, eps, sMean.reshape(keep), sRstd.reshape(keep));
      const gb = g.sum(axes, true);
      const gw = g.mul(xhat).sum(axes, true);
      let gx: Tensor | null = null;
      if (needs[0]) {
        const scale = sw ? r.mul(sw.reshape(keep)) : r;
        gx = g
          .sub(gb.div(count))
          .sub(xhat.mul(gw.div(count)))
          .mul(scale);
      }
      return [
        gx,
        needs[1] ? gw.reshape([channels]) : null,
        needs[2] ? gb.reshape([channels]) : null,
      ];
    },
  );
  return { output, mean, variance };
}

/**
 * Batch norm of x [N, C, *] with fixed statistics (evaluation): y = (x − mean)·rstd·w + b by one
 * fused pass. The statistics are constants; backward: dx = g·rstd·w, dw = Σ g·x̂, db = Σ g.
 */
export function fusedBatchNormEval(
  x: Tensor,
  runningMean: Tensor,
  runningVar: Tensor,
  weight: Tensor | null,
  bias: Tensor | null,
  eps: number,
): Tensor {
  traceKernel('batchNorm', 'fused');
  const rstd = noGrad(() => runningVar.add(eps).rsqrt());
  const output = fromStorage(
    x.backend.batchNormApply!(x, runningMean, rstd, weight, bias),
    x.shape,
    x.dtype,
    x,
  );
  const axes = x.shape.map((_, i) => i).filter((i) => i !== 1);
  const keep = x.shape.map((d, i) => (i === 1 ? d : 1));
  const saved = weight ? [x, runningMean, rstd, weight] : [x, runningMean, rstd];
  return record(
    'NativeBatchNormBackward',
    output,
    [x, weight, bias],
    saved,
    (g, [sx, sMean, sRstd, sw], needs) => {
      const r = sRstd.reshape(keep);
      return [
        needs[0] ? g.mul(sw ? r.mul(sw.reshape(keep)) : r) : null,
        needs[1] ? g.mul(sx.sub(sMean.reshape(keep)).mul(r)).sum(axes) : null,
        needs[2] ? g.sum(axes) : null,
      ];
    },
  );
}

/**
 * The 'sum' or 'mean' of the NLL kernel's per-sample losses when they are host arrays (the CPU
 * backends): the same float64 sums in order, roundings and empty-mean NaN as the tensor ops
 * below, without their five small kernel calls; null elsewhere.
 */
function reduceOnHost(
  loss: unknown,
  weight: unknown,
  reduction: 'sum' | 'mean',
): Float32Array | Float64Array | null {
  const host = (a: unknown) => a instanceof Float32Array || a instanceof Float64Array;
  if (!host(loss) || !host(weight)) return null;
  const l = loss as Float32Array | Float64Array;
  const w = weight as Float32Array | Float64Array;
  const out = l instanceof Float32Array ? new Float32Array(1) : new Float64Array(1);
  let lossSum = 0;
  for (let i = 0; i < l.length; i++) lossSum += l[i];
  out[0] = lossSum;
  if (reduction === 'sum') return out;
  let weightSum = 0;
  for (let i = 0; i < w.length; i++) weightSum += w[i];
  const total = out instanceof Float32Array ? Math.fround(weightSum) : weightSum;
  out[0] = total === 0 ? NaN : out[0] / total;
  return out;
}

/**
 * Negative log-likelihood of int32 class indices target [N] under logProbs [N, C] with PyTorch's
 * weight / ignoreIndex / reduction semantics ('mean' divides by the total weight; NaN, with zero
 * gradient, when every target is ignored). One fused kernel forward; the backward is linear in
 * g: dlogp[i, t_i] = −w[t_i]·g (/ total weight), 0 elsewhere. No gradient flows to `weight`.
 */
export function fusedNllLoss(
  logProbs: Tensor,
  target: Tensor,
  weight: Tensor | null,
  ignoreIndex: number,
  reduction: 'none' | 'sum' | 'mean',
): Tensor {
  const [n, classes] = logProbs.shape;
  traceKernel('nllLoss', 'fused');
  const result = logProbs.backend.nllLoss!(logProbs, target, weight, ignoreIndex);
  const loss = fromStorage(result.loss, [n], logProbs.dtype, logProbs);
  const weights = fromStorage(result.weight, [n], logProbs.dtype, logProbs);
  const out = noGrad(() => {
    if (reduction === 'none') return loss;
    const reduced = reduceOnHost(result.loss, result.weight, reduction);
    if (reduced !== null) return fromStorage(reduced, [], logProbs.dtype, logProbs);
    if (reduction === 'sum') return loss.sum();
    const total = weights.sum();
    const empty = total.eq(0);
    return where(empty, NaN, loss.sum().div(where(empty, 1, total)));
  });
  return record('NllLossBackward', out, [logProbs], [target, weights], (g, [sTarget, sWeights]) => {
    const backend = logProbs.backend;
    if (!isGradEnabled() && backend.nllLossBackward) {
      const grad = backend.nllLossBackward(g, sTarget, sWeights, classes, ignoreIndex, reduction);
      return [fromStorage(grad, [n, classes], logProbs.dtype, logProbs)];
    }
    const scale = noGrad(() => {
      if (reduction !== 'mean') return sWeights.neg();
      const total = sWeights.sum();
      return where(total.eq(0), 0, sWeights.neg().div(total));
    });
    const coefficients = noGrad(() => {
      const safe = where(sTarget.eq(ignoreIndex), 0, sTarget);
      return zeros([n, classes], { dtype: logProbs.dtype, device: logProbs.device }).scatter(
        1,
        safe.unsqueeze(1),
        scale.unsqueeze(1),
      );
    });
    return [coefficients.mul(reduction === 'none' ? g.unsqueeze(1) : g)];
  });
}

/** Whether `backend` has every fused kernel named (the fused ops above need them). */
export function hasKernels(backend: Backend, ...names: (keyof FusedKernels)[]): boolean {
  return names.every((name) => backend[name] !== undefined);
}
