/**
 * Loss functions with PyTorch's formulas and reductions, composed from differentiable ops.
 * Classification losses take the class dim at 1 ([N, C] or [N, C, d1, …]) or 0 for a single
 * unbatched sample [C], and int32 class indices as targets.
 */
import { assertTensor } from '../../autograd/define.js';
import { where } from '../../autograd/ops/elementwise.js';
import { fusedNllLoss, hasKernels } from '../../autograd/ops/fused.js';
import { isGradEnabled } from '../../autograd/grad_mode.js';
import { ones } from '../../tensor/creation.js';
import { formatShape, shapesEqual } from '../../tensor/shape.js';
import type { Tensor } from '../../tensor/tensor.js';
import { softplus } from './activations.js';
import {
  checkReduction,
  finiteNumber,
  floatInput,
  optionalParam,
  readIndices,
  reduce,
  sameShape,
  type Reduction,
} from './checks.js';
import { logSoftmax } from './softmax.js';

export type { Reduction } from './checks.js';

export interface ReductionOptions {
  reduction?: Reduction;
}

export interface NllLossOptions extends ReductionOptions {
  /** Per-class weights [C]. */
  weight?: Tensor | null;
  /** Target value that contributes neither loss nor gradient nor weight in the mean. */
  ignoreIndex?: number;
}

export interface CrossEntropyOptions extends NllLossOptions {
  /** Mixes the target with the uniform distribution: (1 − ε)·target + ε / C. */
  labelSmoothing?: number;
}

/** The input moved to [N, d1, …, C] and the class count, after checking input against target. */
function classesLast(op: string, input: Tensor): { scores: Tensor; classes: number } {
  if (input.ndim === 0)
    throw new Error(
      `${op}: expected input of shape [C], [N, C] or [N, C, d1, ...], got a 0-d tensor`,
    );
  if (input.ndim === 1) return { scores: input.unsqueeze(0), classes: input.shape[0] };
  if (input.ndim === 2) return { scores: input, classes: input.shape[1] }; // classes already last
  const order = [0, ...input.shape.map((_, i) => i).slice(2), 1];
  return { scores: input.permute(order), classes: input.shape[1] };
}

/** The shape class-index targets must have: input's shape without the class dim. */
function indexTargetShape(input: Tensor): number[] {
  return input.ndim === 1 ? [] : input.shape.filter((_, i) => i !== 1);
}

function checkIndexTarget(
  op: string,
  input: Tensor,
  target: Tensor,
  classes: number,
  ignoreIndex: number,
): void {
  if (target.dtype !== 'int32')
    throw new TypeError(
      `${op}: expected target of class indices of dtype int32, got ${target.dtype}`,
    );
  const expected = indexTargetShape(input);
  if (!shapesEqual(target.shape, expected)) {
    const probabilities =
      op === 'crossEntropy' ? ` (or class probabilities of shape ${formatShape(input.shape)})` : '';
    throw new Error(
      `${op}: expected a target of class indices of shape ${formatShape(expected)} for input of shape ${formatShape(input.shape)}${probabilities}, got shape ${formatShape(target.shape)}`,
    );
  }
  const labels = readIndices(target);
  if (!labels) return;
  for (let i = 0; i < labels.length; i++) {
    const label = labels[i];
    if (label !== ignoreIndex && (label < 0 || label >= classes)) {
      throw new RangeError(
        `${op}: target label ${label} is out of range for ${classes} classes (expected a class index in [0, ${classes}) or ignoreIndex ${ignoreIndex})`,
      );
    }
  }
}

/**
 * A float target read as class indices. JavaScript cannot tell `[0, 1]` from `[0., 1.]`, so
 * `tensor([0, 1])` is float32: when such a target has the shape of class indices (the input's
 * without the class dim) and holds whole numbers, it means class indices, and becomes int32.
 */
function floatClassIndices(op: string, input: Tensor, target: Tensor): Tensor {
  const expected = indexTargetShape(input);
  if (!shapesEqual(target.shape, expected)) {
    const probabilities =
      op === 'crossEntropy'
        ? ` or of class probabilities of the input's shape ${formatShape(input.shape)}`
        : '';
    throw new Error(
      `${op}: expected a target of class indices of shape ${formatShape(expected)} (int32, or whole numbers)${probabilities}, got a ${target.dtype} target of shape ${formatShape(target.shape)}`,
    );
  }
  const values = target.backend.canReadSync ? target.dataSync() : null;
  if (values === null)
    throw new TypeError(
      `${op}: a ${target.dtype} target on ${target.device} cannot be checked for whole numbers without waiting; give class indices as int32 (.int())`,
    );
  const at = values.findIndex((v) => !Number.isInteger(v));
  if (at >= 0)
    throw new Error(
      `${op}: a ${target.dtype} target of shape ${formatShape(target.shape)} is read as class indices, but element ${at} is ${values[at]}, not a whole number; give int32 class indices${op === 'crossEntropy' ? `, or class probabilities of the input's shape ${formatShape(input.shape)}` : ''}`,
    );
  return target.detach().to('int32');
}

interface PickedTargets {
  /** Per-sample −w[t]·logp[t], 0 where ignored; the target's shape. */
  loss: Tensor;
  /** Per-sample w[t] (1 without weights), 0 where ignored: the weighted mean's denominator. */
  weights: Tensor;
  ignored: Tensor;
}

/** PyTorch's nll_loss before reduction, for log-probabilities with the class dim last. */
function pickTargets(
  logProbs: Tensor,
  target: Tensor,
  weight: Tensor | null,
  ignoreIndex: number,
): PickedTargets {
  const ignored = target.eq(ignoreIndex);
  // Ignored positions look up class 0 and are then zeroed, so every lookup is in range.
  const safe = where(ignored, 0, target);
  const picked = logProbs.gather(-1, safe.unsqueeze(-1)).squeeze(-1);
  const classWeights = weight
    ? weight.indexSelect(0, safe.reshape([-1])).reshape([...target.shape])
    : ones(target.shape, { dtype: logProbs.dtype, device: logProbs.device });
  const weights = where(ignored, 0, classWeights);
  return { loss: picked.mul(weights).neg(), weights, ignored };
}

/**
 * Sums, and for 'mean' divides by the total weight. When everything is ignored the mean is NaN
 * but the gradient is 0, as in PyTorch: dividing by a zero total would make the gradient NaN.
 */
function weightedReduce(loss: Tensor, weights: Tensor, reduction: Reduction): Tensor {
  if (reduction === 'none') return loss;
  if (reduction === 'sum') return loss.sum();
  const total = weights.sum();
  const empty = total.eq(0);
  return where(empty, NaN, loss.sum().div(where(empty, 1, total)));
}

type IndexTargets = ReturnType<typeof indexTargets>;

/**
 * Whether the fused NLL kernel applies: non-empty, one backend, and no gradient wanted for the
 * class weights (the fused op gives none; the composed path differentiates through them).
 */
function nllFusable(logProbs: Tensor, s: IndexTargets): boolean {
  if (!hasKernels(logProbs.backend, 'nllLoss')) return false;
  if (logProbs.numel() === 0 || logProbs.backend !== s.target.backend) return false;
  if (s.weight === null) return true;
  return s.weight.backend === logProbs.backend && !(isGradEnabled() && s.weight.requiresGrad);
}

/** nll_loss of log-probabilities (class dim last) by the fused kernel, reduced as `s` says. */
function fusedNll(logProbs: Tensor, s: IndexTargets): Tensor {
  // [N, C] with targets [N] (the usual batch) as they are: no reshape nodes to build and run.
  const flat = logProbs.ndim === 2 ? logProbs : logProbs.reshape([-1, s.classes]);
  const target = s.target.ndim === 1 ? s.target : s.target.reshape([-1]);
  const reduction = s.reduction as 'none' | 'sum' | 'mean';
  const out = fusedNllLoss(flat, target, s.weight, s.ignoreIndex, reduction);
  return reduction === 'none' ? out.reshape([...s.target.shape]) : out;
}

/** Shared front end of nllLoss and crossEntropy with index targets. */
function indexTargets(op: string, input: Tensor, target: Tensor, options: NllLossOptions) {
  const { ignoreIndex = -100, reduction = 'mean' } = options;
  checkReduction(op, reduction, ['mean', 'sum', 'none']);
  if (!Number.isInteger(ignoreIndex))
    throw new RangeError(`${op}: ignoreIndex must be an integer, got ${String(ignoreIndex)}`);
  const { scores, classes } = classesLast(op, input);
  checkIndexTarget(op, input, target, classes, ignoreIndex);
  const weight = optionalParam(op, options.weight, 'weight', [classes], input);
  const t = input.ndim === 1 ? target.reshape([1]) : target;
  return {
    scores,
    classes,
    weight,
    target: t,
    ignoreIndex,
    reduction,
    unbatched: input.ndim === 1,
  };
}

/**
 * Negative log-likelihood of class-index targets under log-probabilities (e.g. logSoftmax output).
 * 'mean' divides by the total weight of the non-ignored targets.
 * @example
 * F.nllLoss(F.logSoftmax(logits, 1), labels);
 */
export function nllLoss(logProbs: Tensor, target: Tensor, options: NllLossOptions = {}): Tensor {
  const input = floatInput('nllLoss', logProbs);
  assertTensor('nllLoss', target, 'target');
  const indices = target.isFloatingPoint() ? floatClassIndices('nllLoss', input, target) : target;
  const s = indexTargets('nllLoss', input, indices, options);
  let out: Tensor;
  if (nllFusable(s.scores, s)) out = fusedNll(s.scores, s);
  else {
    const { loss, weights } = pickTargets(s.scores, s.target, s.weight, s.ignoreIndex);
    out = weightedReduce(loss, weights, s.reduction);
  }
  return s.unbatched && s.reduction === 'none' ? out.reshape([]) : out;
}

/**
 * Cross-entropy between logits and targets that are class indices (int32) or class
 * probabilities (float, input's shape), with PyTorch's weight, ignoreIndex, labelSmoothing and
 * reduction semantics. A float target of the class indices' shape holding whole numbers
 * (`tensor([0, 2])`, which JavaScript makes float32) is taken as class indices.
 * @example
 * F.crossEntropy(logits, labels, { labelSmoothing: 0.1 });
 */
export function crossEntropy(
  input: Tensor,
  target: Tensor,
  options: CrossEntropyOptions = {},
): Tensor {
  const x = floatInput('crossEntropy', input);
  let t = assertTensor('crossEntropy', target, 'target');
  const { labelSmoothing = 0 } = options;
  if (typeof labelSmoothing !== 'number' || !(labelSmoothing >= 0 && labelSmoothing <= 1)) {
    throw new RangeError(
      `crossEntropy: labelSmoothing must be in [0, 1], got ${String(labelSmoothing)}`,
    );
  }
  if (t.isFloatingPoint()) {
    if (shapesEqual(t.shape, x.shape))
      return crossEntropyWithProbabilities(x, t, options, labelSmoothing);
    t = floatClassIndices('crossEntropy', x, t);
  }
  const s = indexTargets('crossEntropy', x, t, options);
  const logProbs = logSoftmax(s.scores, -1);
  if (labelSmoothing === 0 && nllFusable(logProbs, s)) {
    const out = fusedNll(logProbs, s);
    return s.unbatched && s.reduction === 'none' ? out.reshape([]) : out;
  }
  const { loss, weights, ignored } = pickTargets(logProbs, s.target, s.weight, s.ignoreIndex);
  let out = weightedReduce(loss, weights, s.reduction);
  if (labelSmoothing > 0) {
    // PyTorch: (1 − ε)·nll + ε/C · Σ_c −w_c·logp_c, reduced with nll's denominator for 'mean'.
    const weighted = s.weight ? logProbs.mul(s.weight) : logProbs;
    const smooth = where(ignored, 0, weighted.sum(-1).neg());
    out = out
      .mul(1 - labelSmoothing)
      .add(weightedReduce(smooth, weights, s.reduction).mul(labelSmoothing / s.classes));
  }
  return s.unbatched && s.reduction === 'none' ? out.reshape([]) : out;
}

function crossEntropyWithProbabilities(
  input: Tensor,
  target: Tensor,
  options: CrossEntropyOptions,
  labelSmoothing: number,
): Tensor {
  const op = 'crossEntropy';
  const { reduction = 'mean' } = options;
  checkReduction(op, reduction, ['mean', 'sum', 'none']);
  sameShape(op, input, target, 'probability target');
  if (target.dtype !== input.dtype)
    throw new TypeError(
      `${op}: probability target has dtype ${target.dtype} but input has ${input.dtype}`,
    );
  const { scores, classes } = classesLast(op, input);
  const weight = optionalParam(op, options.weight, 'weight', [classes], input);
  let probs = classesLast(op, target).scores;
  if (labelSmoothing > 0) probs = probs.mul(1 - labelSmoothing).add(labelSmoothing / classes);
  const terms = logSoftmax(scores, -1).mul(probs);
  const loss = (weight ? terms.mul(weight) : terms).sum(-1).neg();
  // 'mean' averages over samples (not over weights), as PyTorch does for probability targets.
  const out = reduce(op, loss, reduction);
  return input.ndim === 1 && reduction === 'none' ? out.reshape([]) : out;
}

/**
 * Mean squared error (input − target)²; shapes must match (no silent broadcasting).
 * @example
 * F.mseLoss(prediction, target, { reduction: 'sum' });
 */
export function mseLoss(input: Tensor, target: Tensor, options: ReductionOptions = {}): Tensor {
  const [x, t] = regressionPair('mseLoss', input, target);
  return reduce('mseLoss', x.sub(t).square(), options.reduction);
}

/**
 * Mean absolute error |input − target|.
 * @example
 * F.l1Loss(prediction, target);
 */
export function l1Loss(input: Tensor, target: Tensor, options: ReductionOptions = {}): Tensor {
  const [x, t] = regressionPair('l1Loss', input, target);
  return reduce('l1Loss', x.sub(t).abs(), options.reduction);
}

/**
 * 0.5·d²/beta where |d| < beta, |d| − 0.5·beta elsewhere (d = input − target).
 * @example
 * F.smoothL1Loss(prediction, target, { beta: 0.5 });
 */
export function smoothL1Loss(
  input: Tensor,
  target: Tensor,
  options: ReductionOptions & { beta?: number } = {},
): Tensor {
  const [x, t] = regressionPair('smoothL1Loss', input, target);
  const { beta = 1 } = options;
  if (finiteNumber('smoothL1Loss', 'beta', beta) < 0)
    throw new RangeError(`smoothL1Loss: beta must be non-negative, got ${beta}`);
  const d = x.sub(t);
  const absolute = d.abs();
  const loss =
    beta === 0
      ? absolute
      : where(absolute.lt(beta), d.square().mul(0.5 / beta), absolute.sub(0.5 * beta));
  return reduce('smoothL1Loss', loss, options.reduction);
}

/**
 * 0.5·d² where |d| < delta, delta·(|d| − 0.5·delta) elsewhere (d = input − target).
 * @example
 * F.huberLoss(prediction, target, { delta: 2 });
 */
export function huberLoss(
  input: Tensor,
  target: Tensor,
  options: ReductionOptions & { delta?: number } = {},
): Tensor {
  const [x, t] = regressionPair('huberLoss', input, target);
  const { delta = 1 } = options;
  if (!(finiteNumber('huberLoss', 'delta', delta) > 0))
    throw new RangeError(`huberLoss: delta must be positive, got ${delta}`);
  const d = x.sub(t);
  const absolute = d.abs();
  const loss = where(absolute.lt(delta), d.square().mul(0.5), absolute.sub(0.5 * delta).mul(delta));
  return reduce('huberLoss', loss, options.reduction);
}

function regressionPair(op: string, input: Tensor, target: Tensor): [Tensor, Tensor] {
  const x = floatInput(op, input);
  const t = floatInput(op, target, 'target');
  sameShape(op, x, t);
  return [x, t];
}

export interface BinaryCrossEntropyOptions extends ReductionOptions {
  /** Rescales each element's loss; broadcasts against the input. */
  weight?: Tensor | null;
}

/** log(p) clamped below at −100, as PyTorch, so that p = 0 gives a finite loss and no NaN gradient. */
function clampedLog(p: Tensor): Tensor {
  const positive = p.gt(0);
  return where(positive, where(positive, p, 1).log().clamp(-100), -100);
}

/**
 * −w·(t·log p + (1 − t)·log(1 − p)) for probabilities p in [0, 1]; logs are clamped at −100.
 * @example
 * F.binaryCrossEntropy(F.sigmoid(logits), labels);
 */
export function binaryCrossEntropy(
  probs: Tensor,
  target: Tensor,
  options: BinaryCrossEntropyOptions = {},
): Tensor {
  const op = 'binaryCrossEntropy';
  const [p, t] = regressionPair(op, probs, target);
  const values = p.backend.canReadSync ? p.dataSync() : null;
  if (values?.some((v) => !(v >= 0 && v <= 1))) {
    throw new RangeError(
      `${op}: all elements of input should be between 0 and 1 (probabilities); use binaryCrossEntropyWithLogits for logits`,
    );
  }
  const loss = t
    .mul(clampedLog(p))
    .add(
      t
        .neg()
        .add(1)
        .mul(clampedLog(p.neg().add(1))),
    )
    .neg();
  return reduce(op, weighted(op, loss, options.weight), options.reduction);
}

export interface BinaryCrossEntropyWithLogitsOptions extends BinaryCrossEntropyOptions {
  /** Weight of the positive class, broadcast along the last (class) dim. */
  posWeight?: Tensor | null;
}

/** Above this, log(1 + eˣ) equals x to double precision, and eˣ stays finite in float32. */
const SOFTPLUS_EXACT_THRESHOLD = 40;

/**
 * Binary cross-entropy on logits, computed stably as (1 − t)·x + (1 + (posWeight − 1)·t)·softplus(−x).
 * @example
 * F.binaryCrossEntropyWithLogits(logits, labels, { posWeight: tensor([3]) });
 */
export function binaryCrossEntropyWithLogits(
  logits: Tensor,
  target: Tensor,
  options: BinaryCrossEntropyWithLogitsOptions = {},
): Tensor {
  const op = 'binaryCrossEntropyWithLogits';
  const [x, t] = regressionPair(op, logits, target);
  const softplusNeg = softplus(x.neg(), 1, SOFTPLUS_EXACT_THRESHOLD);
  let logWeight: Tensor | number = 1;
  if (options.posWeight !== undefined && options.posWeight !== null) {
    const posWeight = floatInput(op, options.posWeight, 'posWeight');
    broadcastsTo(op, 'posWeight', posWeight, x);
    logWeight = posWeight.sub(1).mul(t).add(1);
  }
  const loss = t.neg().add(1).mul(x).add(softplusNeg.mul(logWeight));
  return reduce(op, weighted(op, loss, options.weight), options.reduction);
}

function broadcastsTo(op: string, name: string, t: Tensor, x: Tensor): void {
  const lead = x.ndim - t.ndim;
  if (lead < 0 || t.shape.some((d, i) => d !== 1 && d !== x.shape[lead + i])) {
    throw new Error(
      `${op}: ${name} of shape ${formatShape(t.shape)} does not broadcast to the input shape ${formatShape(x.shape)}`,
    );
  }
}

function weighted(op: string, loss: Tensor, weight: Tensor | null | undefined): Tensor {
  if (weight === undefined || weight === null) return loss;
  const w = floatInput(op, weight, 'weight');
  broadcastsTo(op, 'weight', w, loss);
  return loss.mul(w);
}

export interface KlDivOptions {
  /** 'batchmean' divides the sum by the batch size (the mathematically correct KL divergence). */
  reduction?: Reduction | 'batchmean';
  /** Whether the target is given as log-probabilities. */
  logTarget?: boolean;
}

/**
 * Kullback–Leibler divergence Σ t·(log t − input) of the target from the distribution whose
 * log-probabilities are `logProbs`; 0·log 0 counts as 0.
 * @example
 * F.klDiv(F.logSoftmax(student, 1), F.softmax(teacher, 1), { reduction: 'batchmean' });
 */
export function klDiv(logProbs: Tensor, target: Tensor, options: KlDivOptions = {}): Tensor {
  const [x, t] = regressionPair('klDiv', logProbs, target);
  const { reduction = 'mean', logTarget = false } = options;
  checkReduction('klDiv', reduction, ['mean', 'sum', 'none', 'batchmean']);
  let loss: Tensor;
  if (logTarget) loss = t.exp().mul(t.sub(x));
  else {
    // xlogy(t, t): 0 where t = 0, without evaluating log(0) in the gradient.
    const zero = t.eq(0);
    loss = where(zero, 0, t.mul(where(zero, 1, t).log())).sub(t.mul(x));
  }
  if (reduction !== 'batchmean') return reduce('klDiv', loss, reduction);
  return x.ndim === 0 ? loss.sum() : loss.sum().div(x.shape[0]);
}
