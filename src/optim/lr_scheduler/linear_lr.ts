/** LinearLR, ConstantLR and PolynomialLR: warm-up and decay over a fixed number of iterations. */
import { checkFinite, LRScheduler, type AnyOptimizer } from './scheduler.js';

function checkFactor(name: string, option: string, value: unknown): number {
  const v = checkFinite(name, option, value);
  if (v < 0 || v > 1) throw new RangeError(`${name}: ${option} must be between 0 and 1, got ${v}`);
  return v;
}

function checkTotalIters(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1)
    throw new RangeError(`${name}: totalIters must be a positive integer, got ${String(value)}`);
  return value;
}

export interface LinearLROptions {
  /** Factor applied to the lr at epoch 0 (default 1/3). */
  startFactor?: number;
  /** Factor reached at totalIters and kept after (default 1). */
  endFactor?: number;
  /** Epochs over which the factor changes linearly (default 5). */
  totalIters?: number;
  lastEpoch?: number;
}

/**
 * Scales each group's lr by a factor that moves linearly from startFactor to endFactor over
 * totalIters epochs (PyTorch's chainable form).
 * @example
 * // warm-up from lr/10 to lr over 5 epochs
 * const scheduler = new optim.lrScheduler.LinearLR(optimizer, { startFactor: 0.1, totalIters: 5 });
 */
export class LinearLR extends LRScheduler {
  startFactor: number;
  endFactor: number;
  totalIters: number;
  constructor(
    optimizer: AnyOptimizer,
    { startFactor = 1 / 3, endFactor = 1, totalIters = 5, lastEpoch = -1 }: LinearLROptions = {},
  ) {
    super('LinearLR', optimizer, lastEpoch);
    this.startFactor = checkFactor('LinearLR', 'startFactor', startFactor);
    if (this.startFactor === 0)
      throw new RangeError(
        'LinearLR: startFactor must be greater than 0 (the chainable form divides by it)',
      );
    this.endFactor = checkFactor('LinearLR', 'endFactor', endFactor);
    this.totalIters = checkTotalIters('LinearLR', totalIters);
    this.initialStep();
  }
  protected getLr(): number[] {
    if (this.lastEpoch === 0) return this.groupLrs().map((lr) => lr * this.startFactor);
    if (this.lastEpoch > this.totalIters) return this.groupLrs();
    const delta = this.endFactor - this.startFactor;
    return this.groupLrs().map(
      (lr) =>
        lr * (1 + delta / (this.totalIters * this.startFactor + (this.lastEpoch - 1) * delta)),
    );
  }
  protected override closedFormLr(): number[] {
    const delta = this.endFactor - this.startFactor;
    return this.baseLrs.map(
      (lr) =>
        lr *
        (this.startFactor + (delta * Math.min(this.totalIters, this.lastEpoch)) / this.totalIters),
    );
  }
}

export interface ConstantLROptions {
  /** Factor applied to the lr until totalIters (default 1/3). */
  factor?: number;
  /** Epochs during which the factor applies (default 5). */
  totalIters?: number;
  lastEpoch?: number;
}

/**
 * Scales each group's lr by a constant factor until totalIters epochs have passed.
 * @example
 * const scheduler = new optim.lrScheduler.ConstantLR(optimizer, { factor: 0.5, totalIters: 4 });
 */
export class ConstantLR extends LRScheduler {
  factor: number;
  totalIters: number;
  constructor(
    optimizer: AnyOptimizer,
    { factor = 1 / 3, totalIters = 5, lastEpoch = -1 }: ConstantLROptions = {},
  ) {
    super('ConstantLR', optimizer, lastEpoch);
    this.factor = checkFactor('ConstantLR', 'factor', factor);
    this.totalIters = checkTotalIters('ConstantLR', totalIters);
    this.initialStep();
  }
  protected getLr(): number[] {
    if (this.lastEpoch === 0) return this.groupLrs().map((lr) => lr * this.factor);
    if (this.lastEpoch !== this.totalIters) return this.groupLrs();
    return this.groupLrs().map((lr) => lr * (1 / this.factor));
  }
  protected override closedFormLr(): number[] {
    return this.baseLrs.map(
      (lr) => lr * (this.factor + (this.lastEpoch >= this.totalIters ? 1 : 0) * (1 - this.factor)),
    );
  }
}

export interface PolynomialLROptions {
  /** Epochs over which the lr decays to 0 (default 5). */
  totalIters?: number;
  /** Power of the polynomial (default 1). */
  power?: number;
  lastEpoch?: number;
}

/**
 * Decays each group's lr as (1 − epoch/totalIters)^power, reaching 0 at totalIters.
 * @example
 * const scheduler = new optim.lrScheduler.PolynomialLR(optimizer, { totalIters: 100, power: 2 });
 */
export class PolynomialLR extends LRScheduler {
  totalIters: number;
  power: number;
  constructor(
    optimizer: AnyOptimizer,
    { totalIters = 5, power = 1, lastEpoch = -1 }: PolynomialLROptions = {},
  ) {
    super('PolynomialLR', optimizer, lastEpoch);
    this.totalIters = checkTotalIters('PolynomialLR', totalIters);
    this.power = checkFinite('PolynomialLR', 'power', power);
    this.initialStep();
  }
  protected getLr(): number[] {
    if (this.lastEpoch === 0 || this.lastEpoch > this.totalIters) return this.groupLrs();
    const decay =
      ((1 - this.lastEpoch / this.totalIters) / (1 - (this.lastEpoch - 1) / this.totalIters)) **
      this.power;
    return this.groupLrs().map((lr) => lr * decay);
  }
  protected override closedFormLr(): number[] {
    return this.baseLrs.map(
      (lr) => lr * (1 - Math.min(this.totalIters, this.lastEpoch) / this.totalIters) ** this.power,
    );
  }
}
