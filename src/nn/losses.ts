/**
 * Loss modules, as torch.nn's: each holds its options (and class weights, as buffers named like
 * PyTorch's) and calls the matching function of F in forward(input, target).
 */
import type { Tensor } from '../tensor/tensor.js';
import * as F from './functional/index.js';
import { Module } from './module.js';

export type Reduction = 'mean' | 'sum' | 'none';

function checkReduction(
  loss: string,
  reduction: string,
  allowed: readonly string[] = ['mean', 'sum', 'none'],
): void {
  if (!allowed.includes(reduction)) {
    throw new Error(
      `${loss}: reduction must be one of ${allowed.map((r) => `'${r}'`).join(', ')}, got '${reduction}'`,
    );
  }
}

/** Base of the losses: the reduction applied over the batch ('mean' by default). */
abstract class Loss extends Module {
  readonly reduction: Reduction;
  constructor(reduction: Reduction = 'mean') {
    super();
    checkReduction(this.constructor.name, reduction);
    this.reduction = reduction;
  }
  abstract override forward(input: Tensor, target: Tensor): Tensor;
}

/**
 * Mean squared error: (input − target)².
 * @example
 * new MSELoss().call(prediction, target); // a 0-d tensor
 */
export class MSELoss extends Loss {
  constructor({ reduction = 'mean' }: { reduction?: Reduction } = {}) {
    super(reduction);
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return F.mseLoss(input, target, { reduction: this.reduction });
  }
}

/**
 * Mean absolute error: |input − target|.
 * @example
 * new L1Loss({ reduction: 'sum' }).call(prediction, target);
 */
export class L1Loss extends Loss {
  constructor({ reduction = 'mean' }: { reduction?: Reduction } = {}) {
    super(reduction);
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return F.l1Loss(input, target, { reduction: this.reduction });
  }
}

/**
 * Squared error below beta (scaled by 1/beta), absolute error above.
 * @example
 * new SmoothL1Loss({ beta: 0.5 }).call(prediction, target);
 */
export class SmoothL1Loss extends Loss {
  readonly beta: number;
  constructor({ reduction = 'mean', beta = 1 }: { reduction?: Reduction; beta?: number } = {}) {
    super(reduction);
    this.beta = beta;
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return F.smoothL1Loss(input, target, { reduction: this.reduction, beta: this.beta });
  }
}

/**
 * Squared error below delta, delta-scaled absolute error above.
 * @example
 * new HuberLoss({ delta: 2 }).call(prediction, target);
 */
export class HuberLoss extends Loss {
  readonly delta: number;
  constructor({ reduction = 'mean', delta = 1 }: { reduction?: Reduction; delta?: number } = {}) {
    super(reduction);
    this.delta = delta;
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return F.huberLoss(input, target, { reduction: this.reduction, delta: this.delta });
  }
}

export interface CrossEntropyLossOptions {
  /** Per-class weights [C] (a buffer named 'weight'). */
  weight?: Tensor | null;
  ignoreIndex?: number;
  reduction?: Reduction;
  labelSmoothing?: number;
}

/**
 * Cross-entropy of logits [N, C] (or [N, C, d…], or [C]) against int32 class indices or class
 * probabilities: logSoftmax followed by NLLLoss.
 * @example
 * const loss = new CrossEntropyLoss().call(logits, labels);
 */
export class CrossEntropyLoss extends Loss {
  weight!: Tensor | null;
  readonly ignoreIndex: number;
  readonly labelSmoothing: number;
  constructor({
    weight = null,
    ignoreIndex = -100,
    reduction = 'mean',
    labelSmoothing = 0,
  }: CrossEntropyLossOptions = {}) {
    super(reduction);
    this.registerBuffer('weight', weight);
    this.ignoreIndex = ignoreIndex;
    if (!(labelSmoothing >= 0 && labelSmoothing <= 1))
      throw new RangeError(
        `CrossEntropyLoss: label_smoothing must be between 0.0 and 1.0, got ${labelSmoothing}`,
      );
    this.labelSmoothing = labelSmoothing;
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return F.crossEntropy(input, target, {
      weight: this.weight,
      ignoreIndex: this.ignoreIndex,
      reduction: this.reduction,
      labelSmoothing: this.labelSmoothing,
    });
  }
}

/**
 * Negative log-likelihood of log-probabilities [N, C] at int32 class indices.
 * @example
 * new NLLLoss().call(F.logSoftmax(logits, 1), labels);
 */
export class NLLLoss extends Loss {
  weight!: Tensor | null;
  readonly ignoreIndex: number;
  constructor({
    weight = null,
    ignoreIndex = -100,
    reduction = 'mean',
  }: { weight?: Tensor | null; ignoreIndex?: number; reduction?: Reduction } = {}) {
    super(reduction);
    this.registerBuffer('weight', weight);
    this.ignoreIndex = ignoreIndex;
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return F.nllLoss(input, target, {
      weight: this.weight,
      ignoreIndex: this.ignoreIndex,
      reduction: this.reduction,
    });
  }
}

/**
 * Binary cross-entropy of probabilities in [0, 1] against targets in [0, 1].
 * @example
 * new BCELoss().call(F.sigmoid(logits), targets);
 */
export class BCELoss extends Loss {
  weight!: Tensor | null;
  constructor({
    weight = null,
    reduction = 'mean',
  }: { weight?: Tensor | null; reduction?: Reduction } = {}) {
    super(reduction);
    this.registerBuffer('weight', weight);
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return F.binaryCrossEntropy(input, target, { weight: this.weight, reduction: this.reduction });
  }
}

/**
 * Binary cross-entropy on logits (sigmoid folded in, numerically stable); posWeight [C] weighs
 * the positive examples of each class.
 * @example
 * new BCEWithLogitsLoss({ posWeight: full([3], 2) }).call(logits, targets);
 */
export class BCEWithLogitsLoss extends Loss {
  weight!: Tensor | null;
  posWeight!: Tensor | null;
  constructor({
    weight = null,
    posWeight = null,
    reduction = 'mean',
  }: { weight?: Tensor | null; posWeight?: Tensor | null; reduction?: Reduction } = {}) {
    super(reduction);
    this.registerBuffer('weight', weight);
    this.registerBuffer('posWeight', posWeight);
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return F.binaryCrossEntropyWithLogits(input, target, {
      weight: this.weight,
      posWeight: this.posWeight,
      reduction: this.reduction,
    });
  }
}

/**
 * Kullback–Leibler divergence of target from the distribution whose log-probabilities are the
 * input. Use reduction 'batchmean' for the mathematically correct mean over the batch.
 * @example
 * new KLDivLoss({ reduction: 'batchmean' }).call(F.logSoftmax(logits, 1), targetProbs);
 */
export class KLDivLoss extends Module {
  readonly reduction: Reduction | 'batchmean';
  readonly logTarget: boolean;
  constructor({
    reduction = 'mean',
    logTarget = false,
  }: { reduction?: Reduction | 'batchmean'; logTarget?: boolean } = {}) {
    super();
    checkReduction('KLDivLoss', reduction, ['mean', 'sum', 'none', 'batchmean']);
    this.reduction = reduction;
    this.logTarget = logTarget;
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return F.klDiv(input, target, { reduction: this.reduction, logTarget: this.logTarget });
  }
}
