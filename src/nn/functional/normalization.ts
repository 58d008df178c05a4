/**
 * Normalization layers: layerNorm, rmsNorm, groupNorm and batchNorm. Each normalizes with the
 * biased variance, as PyTorch does; batchNorm additionally keeps running statistics, updated
 * in place with the unbiased variance.
 */
import {
  fusedBatchNormEval,
  fusedBatchNormTraining,
  fusedLayerNorm,
  fusedRmsNorm,
  hasKernels,
} from '../../autograd/ops/fused.js';
import type { FusedKernels } from '../../backend/backend.js';
import { traceKernel } from '../../backend/kernel_trace.js';
import { isGradEnabled, noGrad } from '../../autograd/grad_mode.js';
import { formatShape } from '../../tensor/shape.js';
import type { Tensor } from '../../tensor/tensor.js';
import { finiteNumber, floatInput, optionalParam, positiveInt } from './checks.js';

/** (x − mean) / sqrt(var + eps) over `axes`, with the biased variance. */
function standardize(x: Tensor, axes: number[], eps: number): Tensor {
  const mean = x.mean(axes, true);
  const variance = x.var(axes, true, { correction: 0 });
  return x.sub(mean).div(variance.add(eps).sqrt());
}

function affine(x: Tensor, weight: Tensor | null, bias: Tensor | null): Tensor {
  const scaled = weight ? x.mul(weight) : x;
  return bias ? scaled.add(bias) : scaled;
}

/** The trailing axes that `normalizedShape` names, after checking that x ends in that shape. */
function trailingAxes(op: string, x: Tensor, normalizedShape: readonly number[]): number[] {
  if (!Array.isArray(normalizedShape) || normalizedShape.length === 0) {
    throw new Error(
      `${op}: normalizedShape must be a non-empty array of sizes, got ${String(normalizedShape)}`,
    );
  }
  const k = normalizedShape.length;
  const tail = x.shape.slice(x.ndim - k);
  if (x.ndim < k || tail.some((d, i) => d !== normalizedShape[i])) {
    throw new Error(
      `${op}: input of shape ${formatShape(x.shape)} does not end in normalizedShape ${formatShape(normalizedShape)}`,
    );
  }
  return normalizedShape.map((_, i) => x.ndim - k + i);
}

/**
 * Normalizes over the trailing `normalizedShape` dims, then scales and shifts elementwise.
 * @example
 * F.layerNorm(x, [x.shape[x.ndim - 1]], gamma, beta);
 */
export function layerNorm(
  x: Tensor,
  normalizedShape: readonly number[],
  weight?: Tensor | null,
  bias?: Tensor | null,
  eps = 1e-5,
): Tensor {
  const input = floatInput('layerNorm', x);
  const axes = trailingAxes('layerNorm', input, normalizedShape);
  const w = optionalParam('layerNorm', weight, 'weight', normalizedShape, input);
  const b = optionalParam('layerNorm', bias, 'bias', normalizedShape, input);
  finiteNumber('layerNorm', 'eps', eps);
  if (fusable(input, ['layerNorm'], w, b)) return fusedLayerNorm(input, normalizedShape, w, b, eps);
  traceKernel('layerNorm', 'composed');
  return affine(standardize(input, axes, eps), w, b);
}

/** Whether the fused kernels apply: x's backend has them, x is not empty, parameters on x's backend. */
function fusable(
  x: Tensor,
  kernels: (keyof FusedKernels)[],
  ...params: (Tensor | null)[]
): boolean {
  return (
    hasKernels(x.backend, ...kernels) &&
    x.numel() > 0 &&
    params.every((p) => p === null || p.backend === x.backend)
  );
}

/** torch.finfo(dtype).eps, rmsNorm's default. */
const MACHINE_EPSILON = { float32: 2 ** -23, float64: 2 ** -52 } as const;

/**
 * x / sqrt(mean(x²) + eps) over the trailing `normalizedShape` dims, times `weight`. eps defaults
 * to the machine epsilon of x's dtype, as PyTorch.
 * @example
 * F.rmsNorm(x, [512], gain);
 */
export function rmsNorm(
  x: Tensor,
  normalizedShape: readonly number[],
  weight?: Tensor | null,
  eps?: number,
): Tensor {
  const input = floatInput('rmsNorm', x);
  const axes = trailingAxes('rmsNorm', input, normalizedShape);
  const w = optionalParam('rmsNorm', weight, 'weight', normalizedShape, input);
  const epsilon = eps ?? MACHINE_EPSILON[input.dtype as keyof typeof MACHINE_EPSILON];
  finiteNumber('rmsNorm', 'eps', epsilon);
  if (fusable(input, ['rmsNorm'], w)) return fusedRmsNorm(input, normalizedShape, w, epsilon);
  traceKernel('rmsNorm', 'composed');
  return affine(input.mul(input.square().mean(axes, true).add(epsilon).rsqrt()), w, null);
}

/** A per-channel vector [C] shaped to broadcast over x [N, C, *]. */
function perChannel(v: Tensor | null, x: Tensor): Tensor | null {
  return v && v.reshape([v.shape[0], ...x.shape.slice(2).map(() => 1)]);
}

function channelsOf(op: string, x: Tensor): number {
  if (x.ndim < 2)
    throw new Error(
      `${op}: expected input of rank at least 2 [N, C, *], got shape ${formatShape(x.shape)}`,
    );
  return x.shape[1];
}

/**
 * Splits the channels of x [N, C, *] into numGroups groups and normalizes each group of each
 * sample; weight and bias [C] are per channel.
 * @example
 * F.groupNorm(randn([2, 6, 4, 4]), 3, gamma, beta);
 */
export function groupNorm(
  x: Tensor,
  numGroups: number,
  weight?: Tensor | null,
  bias?: Tensor | null,
  eps = 1e-5,
): Tensor {
  const input = floatInput('groupNorm', x);
  const channels = channelsOf('groupNorm', input);
  positiveInt('groupNorm', 'numGroups', numGroups);
  if (channels % numGroups !== 0) {
    throw new Error(
      `groupNorm: expected the number of channels ${channels} to be divisible by numGroups ${numGroups} (input shape ${formatShape(input.shape)})`,
    );
  }
  const w = optionalParam('groupNorm', weight, 'weight', [channels], input);
  const b = optionalParam('groupNorm', bias, 'bias', [channels], input);
  finiteNumber('groupNorm', 'eps', eps);
  const grouped = input.reshape([input.shape[0], numGroups, -1]);
  const normalized = standardize(grouped, [2], eps).reshape([...input.shape]);
  return affine(normalized, perChannel(w, input), perChannel(b, input));
}

export interface BatchNormOptions {
  weight?: Tensor | null;
  bias?: Tensor | null;
  /** Use the batch's statistics (and update the running ones) instead of the running ones. */
  training?: boolean;
  /** Weight of the new batch statistic in the running average. */
  momentum?: number;
  eps?: number;
}

/**
 * Normalizes each channel of x [N, C, *]. In training it uses the batch mean and biased variance
 * and updates runningMean / runningVar in place (with the unbiased variance); in evaluation it
 * uses the running statistics.
 * @example
 * F.batchNorm(x, runningMean, runningVar, { weight: gamma, bias: beta, training: true });
 */
export function batchNorm(
  x: Tensor,
  runningMean: Tensor | null,
  runningVar: Tensor | null,
  options: BatchNormOptions = {},
): Tensor {
  const input = floatInput('batchNorm', x);
  const channels = channelsOf('batchNorm', input);
  const { training = false, momentum = 0.1, eps = 1e-5 } = options;
  const w = optionalParam('batchNorm', options.weight, 'weight', [channels], input);
  const b = optionalParam('batchNorm', options.bias, 'bias', [channels], input);
  const mean = optionalParam('batchNorm', runningMean, 'runningMean', [channels], input);
  const variance = optionalParam('batchNorm', runningVar, 'runningVar', [channels], input);
  finiteNumber('batchNorm', 'momentum', momentum);
  finiteNumber('batchNorm', 'eps', eps);
  if (!training) {
    if (!mean || !variance)
      throw new Error(
        'batchNorm: runningMean and runningVar must be given in evaluation mode (training: false)',
      );
    const statsConstant = !isGradEnabled() || (!mean.requiresGrad && !variance.requiresGrad);
    if (statsConstant && fusable(input, ['batchNormApply'], w, b, mean, variance))
      return fusedBatchNormEval(input, mean, variance, w, b, eps);
    traceKernel('batchNorm', 'composed');
    const normalized = input
      .sub(perChannel(mean, input)!)
      .div(perChannel(variance, input)!.add(eps).sqrt());
    return affine(normalized, perChannel(w, input), perChannel(b, input));
  }
  const axes = input.shape.map((_, i) => i).filter((i) => i !== 1);
  const count = input.numel() / channels;
  if (count <= 1) {
    throw new Error(
      `batchNorm: expected more than 1 value per channel when training, got input shape ${formatShape(input.shape)}`,
    );
  }
  if ((mean === null) !== (variance === null))
    throw new Error('batchNorm: pass both runningMean and runningVar, or neither');
  if (fusable(input, ['batchNormStats', 'batchNormApply'], w, b, mean, variance)) {
    const fused = fusedBatchNormTraining(input, w, b, eps);
    if (mean && variance) {
      noGrad(() => {
        const unbiasedVar = fused.variance.mul(count / (count - 1));
        mean.copy_(mean.mul(1 - momentum).add(fused.mean.mul(momentum)));
        variance.copy_(variance.mul(1 - momentum).add(unbiasedVar.mul(momentum)));
      });
    }
    return fused.output;
  }
  traceKernel('batchNorm', 'composed');
  if (mean && variance) {
    noGrad(() => {
      const batchMean = input.mean(axes);
      const unbiasedVar = input.var(axes, false, { correction: 1 });
      mean.copy_(mean.mul(1 - momentum).add(batchMean.mul(momentum)));
      variance.copy_(variance.mul(1 - momentum).add(unbiasedVar.mul(momentum)));
    });
  }
  return affine(standardize(input, axes, eps), perChannel(w, input), perChannel(b, input));
}
