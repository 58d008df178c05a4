/** StepLR, MultiStepLR, ExponentialLR, MultiplicativeLR and LambdaLR: multiplicative decays. */
import { checkFinite, LRScheduler, type AnyOptimizer } from './scheduler.js';

function checkEpochInteger(name: string, option: string, value: unknown, min: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min)
    throw new RangeError(`${name}: ${option} must be an integer >= ${min}, got ${String(value)}`);
  return value;
}

export interface StepLROptions {
  /** Period of learning-rate decay, in epochs. */
  stepSize: number;
  /** Multiplicative factor of decay (default 0.1). */
  gamma?: number;
  lastEpoch?: number;
}

/**
 * Multiplies each group's lr by gamma every stepSize epochs.
 * @example
 * const scheduler = new optim.lrScheduler.StepLR(optimizer, { stepSize: 30, gamma: 0.1 });
 * for (let epoch = 0; epoch < 100; epoch++) { train(); scheduler.step(); }
 */
export class StepLR extends LRScheduler {
  stepSize: number;
  gamma: number;
  constructor(optimizer: AnyOptimizer, { stepSize, gamma = 0.1, lastEpoch = -1 }: StepLROptions) {
    super('StepLR', optimizer, lastEpoch);
    this.stepSize = checkEpochInteger('StepLR', 'stepSize', stepSize, 1);
    this.gamma = checkFinite('StepLR', 'gamma', gamma);
    this.initialStep();
  }
  protected getLr(): number[] {
    if (this.lastEpoch === 0 || this.lastEpoch % this.stepSize !== 0) return this.groupLrs();
    return this.groupLrs().map((lr) => lr * this.gamma);
  }
  protected override closedFormLr(): number[] {
    return this.baseLrs.map((lr) => lr * this.gamma ** Math.floor(this.lastEpoch / this.stepSize));
  }
}

export interface MultiStepLROptions {
  /** Epochs at which to decay; a repeated milestone decays by gamma once per repetition. */
  milestones: number[];
  /** Multiplicative factor of decay (default 0.1). */
  gamma?: number;
  lastEpoch?: number;
}

/**
 * Multiplies each group's lr by gamma at each milestone epoch.
 * @example
 * const scheduler = new optim.lrScheduler.MultiStepLR(optimizer, { milestones: [30, 80], gamma: 0.1 });
 */
export class MultiStepLR extends LRScheduler {
  milestones: number[];
  gamma: number;
  constructor(
    optimizer: AnyOptimizer,
    { milestones, gamma = 0.1, lastEpoch = -1 }: MultiStepLROptions,
  ) {
    super('MultiStepLR', optimizer, lastEpoch);
    if (!Array.isArray(milestones))
      throw new TypeError('MultiStepLR: milestones must be an array of epochs');
    milestones.forEach((m, i) => checkEpochInteger('MultiStepLR', `milestones[${i}]`, m, 0));
    this.milestones = [...milestones].sort((a, b) => a - b);
    this.gamma = checkFinite('MultiStepLR', 'gamma', gamma);
    this.initialStep();
  }
  protected getLr(): number[] {
    const count = this.milestones.filter((m) => m === this.lastEpoch).length;
    if (count === 0) return this.groupLrs();
    return this.groupLrs().map((lr) => lr * this.gamma ** count);
  }
  protected override closedFormLr(): number[] {
    const passed = this.milestones.filter((m) => m <= this.lastEpoch).length; // bisect_right
    return this.baseLrs.map((lr) => lr * this.gamma ** passed);
  }
}

export interface ExponentialLROptions {
  /** Multiplicative factor of decay per epoch. */
  gamma: number;
  lastEpoch?: number;
}

/**
 * Multiplies each group's lr by gamma every epoch.
 * @example
 * const scheduler = new optim.lrScheduler.ExponentialLR(optimizer, { gamma: 0.95 });
 */
export class ExponentialLR extends LRScheduler {
  gamma: number;
  constructor(optimizer: AnyOptimizer, { gamma, lastEpoch = -1 }: ExponentialLROptions) {
    super('ExponentialLR', optimizer, lastEpoch);
    this.gamma = checkFinite('ExponentialLR', 'gamma', gamma);
    this.initialStep();
  }
  protected getLr(): number[] {
    if (this.lastEpoch === 0) return this.groupLrs();
    return this.groupLrs().map((lr) => lr * this.gamma);
  }
  protected override closedFormLr(): number[] {
    return this.baseLrs.map((lr) => lr * this.gamma ** this.lastEpoch);
  }
}

/** A function of the epoch, or one per parameter group. */
export type LrLambda = (epoch: number) => number;

export interface LambdaLROptions {
  /** The factor applied to the initial lr at each epoch (LambdaLR) or to the current lr (MultiplicativeLR). */
  lrLambda: LrLambda | LrLambda[];
  lastEpoch?: number;
}

function lambdas(
  name: string,
  optimizer: AnyOptimizer,
  lrLambda: LrLambda | LrLambda[],
): LrLambda[] {
  const n = optimizer.paramGroups?.length ?? 0;
  const list = Array.isArray(lrLambda) ? lrLambda : Array.from({ length: n }, () => lrLambda);
  if (list.length !== n)
    throw new Error(
      `${name}: expected ${n} lrLambdas (one per parameter group), but got ${list.length}`,
    );
  list.forEach((f, i) => {
    if (typeof f !== 'function')
      throw new TypeError(
        `${name}: lrLambda ${i} must be a function of the epoch, got ${typeof f}`,
      );
  });
  return list;
}

/**
 * Sets each group's lr to its initial lr times lrLambda(epoch). The lambdas are not part of stateDict().
 * @example
 * const scheduler = new optim.lrScheduler.LambdaLR(optimizer, { lrLambda: (epoch) => 0.95 ** epoch });
 */
export class LambdaLR extends LRScheduler {
  readonly lrLambdas: LrLambda[];
  constructor(optimizer: AnyOptimizer, { lrLambda, lastEpoch = -1 }: LambdaLROptions) {
    super('LambdaLR', optimizer, lastEpoch);
    this.lrLambdas = lambdas('LambdaLR', optimizer, lrLambda);
    this.initialStep();
  }
  protected getLr(): number[] {
    return this.baseLrs.map((lr, i) => lr * this.lrLambdas[i](this.lastEpoch));
  }
}

/**
 * Multiplies each group's lr by lrLambda(epoch) every epoch after the first.
 * @example
 * const scheduler = new optim.lrScheduler.MultiplicativeLR(optimizer, { lrLambda: () => 0.95 });
 */
export class MultiplicativeLR extends LRScheduler {
  readonly lrLambdas: LrLambda[];
  constructor(optimizer: AnyOptimizer, { lrLambda, lastEpoch = -1 }: LambdaLROptions) {
    super('MultiplicativeLR', optimizer, lastEpoch);
    this.lrLambdas = lambdas('MultiplicativeLR', optimizer, lrLambda);
    this.initialStep();
  }
  protected getLr(): number[] {
    if (this.lastEpoch > 0)
      return this.groupLrs().map((lr, i) => lr * this.lrLambdas[i](this.lastEpoch));
    return this.groupLrs();
  }
}
