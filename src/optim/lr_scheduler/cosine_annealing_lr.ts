/** CosineAnnealingLR and CosineAnnealingWarmRestarts (SGDR). */
import { checkFinite, LRScheduler, type AnyOptimizer } from './scheduler.js';

export interface CosineAnnealingLROptions {
  /** Half-period of the cosine, in epochs. */
  tMax: number;
  /** Minimum learning rate (default 0). */
  etaMin?: number;
  lastEpoch?: number;
}

/**
 * Anneals each group's lr from its initial value to etaMin along a cosine over tMax epochs, using
 * PyTorch's recursive (chainable) form; past tMax the cosine continues (the lr rises again).
 * @example
 * const scheduler = new optim.lrScheduler.CosineAnnealingLR(optimizer, { tMax: 100, etaMin: 1e-5 });
 */
export class CosineAnnealingLR extends LRScheduler {
  tMax: number;
  etaMin: number;
  constructor(
    optimizer: AnyOptimizer,
    { tMax, etaMin = 0, lastEpoch = -1 }: CosineAnnealingLROptions,
  ) {
    super('CosineAnnealingLR', optimizer, lastEpoch);
    this.tMax = checkFinite('CosineAnnealingLR', 'tMax', tMax);
    if (this.tMax <= 0)
      throw new RangeError(`CosineAnnealingLR: tMax must be positive, got ${tMax}`);
    this.etaMin = checkFinite('CosineAnnealingLR', 'etaMin', etaMin);
    this.initialStep();
  }
  protected getLr(): number[] {
    const { lastEpoch: e, tMax, etaMin } = this;
    if (e === 0) return this.groupLrs();
    if (this.stepCount === 1 && e > 0) {
      return this.baseLrs.map(
        (base) => etaMin + ((base - etaMin) * (1 + Math.cos((e * Math.PI) / tMax))) / 2,
      );
    }
    if (pyMod(e - 1 - tMax, 2 * tMax) === 0) {
      return this.groupLrs().map(
        (lr, i) => lr + ((this.baseLrs[i] - etaMin) * (1 - Math.cos(Math.PI / tMax))) / 2,
      );
    }
    return this.groupLrs().map(
      (lr) =>
        ((1 + Math.cos((Math.PI * e) / tMax)) / (1 + Math.cos((Math.PI * (e - 1)) / tMax))) *
          (lr - etaMin) +
        etaMin,
    );
  }
  protected override closedFormLr(): number[] {
    return this.baseLrs.map(
      (base) =>
        this.etaMin +
        ((base - this.etaMin) * (1 + Math.cos((Math.PI * this.lastEpoch) / this.tMax))) / 2,
    );
  }
}

/** Python's modulo: the result has the sign of the divisor. */
function pyMod(a: number, b: number): number {
  return ((a % b) + b) % b;
}

export interface CosineAnnealingWarmRestartsOptions {
  /** Epochs until the first restart (a positive integer). */
  t0: number;
  /** Factor by which the period grows after each restart (an integer >= 1, default 1). */
  tMult?: number;
  /** Minimum learning rate (default 0). */
  etaMin?: number;
  lastEpoch?: number;
}

/**
 * Cosine annealing with warm restarts (SGDR): the lr follows a cosine from its initial value to
 * etaMin over t0 epochs, then restarts, each period tMult times longer than the last.
 * `step(epoch)` accepts fractional epochs, for stepping per batch.
 * @example
 * const scheduler = new optim.lrScheduler.CosineAnnealingWarmRestarts(optimizer, { t0: 10, tMult: 2 });
 * for (let epoch = 0; epoch < 70; epoch++) for (let i = 0; i < iters; i++) { trainBatch(); scheduler.step(epoch + i / iters); }
 */
export class CosineAnnealingWarmRestarts extends LRScheduler {
  t0: number;
  tI: number;
  tMult: number;
  etaMin: number;
  tCur: number;
  constructor(
    optimizer: AnyOptimizer,
    { t0, tMult = 1, etaMin = 0, lastEpoch = -1 }: CosineAnnealingWarmRestartsOptions,
  ) {
    super('CosineAnnealingWarmRestarts', optimizer, lastEpoch);
    if (!Number.isInteger(t0) || t0 <= 0)
      throw new RangeError(
        `CosineAnnealingWarmRestarts: expected a positive integer t0, but got ${t0}`,
      );
    if (!Number.isInteger(tMult) || tMult < 1)
      throw new RangeError(
        `CosineAnnealingWarmRestarts: expected an integer tMult >= 1, but got ${tMult}`,
      );
    this.t0 = t0;
    this.tI = t0;
    this.tMult = tMult;
    this.etaMin = checkFinite('CosineAnnealingWarmRestarts', 'etaMin', etaMin);
    this.tCur = lastEpoch;
    this.initialStep();
  }
  protected getLr(): number[] {
    return this.baseLrs.map(
      (base) =>
        this.etaMin + ((base - this.etaMin) * (1 + Math.cos((Math.PI * this.tCur) / this.tI))) / 2,
    );
  }
  override step(epoch?: number): void {
    if (epoch === undefined && this.lastEpoch < 0) epoch = 0;
    if (epoch === undefined) {
      epoch = this.lastEpoch + 1;
      this.tCur = this.tCur + 1;
      if (this.tCur >= this.tI) {
        this.tCur = this.tCur - this.tI;
        this.tI = this.tI * this.tMult;
      }
    } else {
      if (typeof epoch !== 'number' || !(epoch >= 0))
        throw new RangeError(
          `CosineAnnealingWarmRestarts.step: expected a non-negative epoch, but got ${epoch}`,
        );
      if (epoch >= this.t0) {
        if (this.tMult === 1) {
          this.tCur = epoch % this.t0;
        } else {
          const n = Math.trunc(
            Math.log((epoch / this.t0) * (this.tMult - 1) + 1) / Math.log(this.tMult),
          );
          this.tCur = epoch - (this.t0 * (this.tMult ** n - 1)) / (this.tMult - 1);
          this.tI = this.t0 * this.tMult ** n;
        }
      } else {
        this.tI = this.t0;
        this.tCur = epoch;
      }
    }
    this.lastEpoch = Math.floor(epoch);
    const values = this.getLr();
    this.optimizer.paramGroups.forEach((group, i) => {
      group.lr = values[i];
    });
    this.lastLr = this.groupLrs();
  }
}
