/** ReduceLROnPlateau: lowers the learning rate when a metric stops improving. */
import { Tensor } from '../../tensor/tensor.js';
import { loadSchedulerState, perGroup, schedulerState, type AnyOptimizer } from './scheduler.js';

export interface ReduceLROnPlateauOptions {
  /** 'min' (default): the metric should decrease; 'max': increase. */
  mode?: 'min' | 'max';
  /** Factor by which the lr is reduced, < 1 (default 0.1). */
  factor?: number;
  /** Epochs without improvement tolerated before reducing (default 10). */
  patience?: number;
  /** Minimum change that counts as an improvement (default 1e-4). */
  threshold?: number;
  /** 'rel' (default): relative to the best value; 'abs': absolute. */
  thresholdMode?: 'rel' | 'abs';
  /** Epochs to wait after a reduction before counting bad epochs again (default 0). */
  cooldown?: number;
  /** Lower bound of the lr, for all groups or one per group (default 0). */
  minLr?: number | number[];
  /** Reductions smaller than eps are skipped (default 1e-8). */
  eps?: number;
}

/**
 * Reduces each group's lr by `factor` once the metric passed to `step(metric)` has not improved
 * for more than `patience` epochs. Exactly PyTorch 1.13's rules (threshold, cooldown, minLr, eps).
 * @example
 * const scheduler = new optim.lrScheduler.ReduceLROnPlateau(optimizer, { patience: 5 });
 * for (let epoch = 0; epoch < 100; epoch++) { train(); scheduler.step(validationLoss()); }
 */
export class ReduceLROnPlateau {
  readonly name = 'ReduceLROnPlateau';
  factor: number;
  minLrs: number[];
  patience: number;
  cooldown: number;
  cooldownCounter = 0;
  mode: 'min' | 'max';
  threshold: number;
  thresholdMode: 'rel' | 'abs';
  best: number;
  numBadEpochs = 0;
  modeWorse: number;
  eps: number;
  lastEpoch = 0;
  private lastLr: number[];

  constructor(
    readonly optimizer: AnyOptimizer,
    {
      mode = 'min',
      factor = 0.1,
      patience = 10,
      threshold = 1e-4,
      thresholdMode = 'rel',
      cooldown = 0,
      minLr = 0,
      eps = 1e-8,
    }: ReduceLROnPlateauOptions = {},
  ) {
    const name = 'ReduceLROnPlateau';
    if (
      optimizer === null ||
      typeof optimizer !== 'object' ||
      !Array.isArray(optimizer.paramGroups)
    )
      throw new TypeError(`${name}: expected an optimizer`);
    if (typeof factor !== 'number' || !(factor < 1) || !(factor >= 0))
      throw new RangeError(`${name}: factor should be in [0, 1), got ${factor}`);
    if (mode !== 'min' && mode !== 'max')
      throw new RangeError(`${name}: mode ${String(mode)} is unknown; expected 'min' or 'max'`);
    if (thresholdMode !== 'rel' && thresholdMode !== 'abs')
      throw new RangeError(
        `${name}: threshold mode ${String(thresholdMode)} is unknown; expected 'rel' or 'abs'`,
      );
    for (const [option, value] of [
      ['patience', patience],
      ['cooldown', cooldown],
    ] as const) {
      if (!Number.isInteger(value) || value < 0)
        throw new RangeError(`${name}: ${option} must be a non-negative integer, got ${value}`);
    }
    for (const [option, value] of [
      ['threshold', threshold],
      ['eps', eps],
    ] as const) {
      if (typeof value !== 'number' || !(value >= 0))
        throw new RangeError(`${name}: ${option} must be a non-negative number, got ${value}`);
    }
    this.factor = factor;
    this.minLrs = perGroup(name, 'minLr', optimizer, minLr);
    this.patience = patience;
    this.cooldown = cooldown;
    this.mode = mode;
    this.threshold = threshold;
    this.thresholdMode = thresholdMode;
    this.eps = eps;
    this.modeWorse = mode === 'min' ? Infinity : -Infinity;
    this.best = this.modeWorse;
    this.lastLr = optimizer.paramGroups.map((g) => g.lr);
  }

  get inCooldown(): boolean {
    return this.cooldownCounter > 0;
  }

  isBetter(a: number, best: number): boolean {
    if (this.mode === 'min' && this.thresholdMode === 'rel') return a < best * (1 - this.threshold);
    if (this.mode === 'min') return a < best - this.threshold;
    if (this.thresholdMode === 'rel') return a > best * (this.threshold + 1);
    return a > best + this.threshold;
  }

  /** Records the epoch's metric (a number or a one-element tensor) and reduces the lr if it has plateaued. */
  step(metric?: number | Tensor): void {
    // metric is optional in the signature only so that the scheduler fits a generic step(metric?) interface.
    const current = metric instanceof Tensor ? Number(metric.itemSync()) : metric;
    if (typeof current !== 'number') {
      throw new TypeError(
        `ReduceLROnPlateau.step: metric must be a number or a one-element tensor (the monitored quantity), got ${typeof metric}`,
      );
    }
    this.lastEpoch += 1;
    if (this.isBetter(current, this.best)) {
      this.best = current;
      this.numBadEpochs = 0;
    } else {
      this.numBadEpochs += 1;
    }
    if (this.inCooldown) {
      this.cooldownCounter -= 1;
      this.numBadEpochs = 0; // ignore any bad epochs in cooldown
    }
    if (this.numBadEpochs > this.patience) {
      this.reduceLr();
      this.cooldownCounter = this.cooldown;
      this.numBadEpochs = 0;
    }
    this.lastLr = this.optimizer.paramGroups.map((g) => g.lr);
  }

  private reduceLr(): void {
    this.optimizer.paramGroups.forEach((group, i) => {
      const oldLr = group.lr;
      const newLr = Math.max(oldLr * this.factor, this.minLrs[i]);
      if (oldLr - newLr > this.eps) group.lr = newLr;
    });
  }

  /** The learning rates of the groups after the last step. */
  getLastLr(): number[] {
    return [...this.lastLr];
  }

  stateDict(): Record<string, unknown> {
    return schedulerState(this);
  }

  loadStateDict(state: Record<string, unknown>): void {
    loadSchedulerState(this, this.name, state);
  }
}
