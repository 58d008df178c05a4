/** OneCycleLR: the 1cycle policy (Smith & Topin), with cosine or linear annealing and optional third phase. */
import { checkFinite, LRScheduler, perGroup, type AnyOptimizer } from './scheduler.js';

export interface OneCycleLROptions {
  /** Peak learning rate, for all groups or one per group. */
  maxLr: number | number[];
  /** Total number of steps; or give epochs and stepsPerEpoch. */
  totalSteps?: number;
  epochs?: number;
  stepsPerEpoch?: number;
  /** Fraction of the cycle spent increasing the lr (default 0.3). */
  pctStart?: number;
  /** 'cos' (default) or 'linear'. */
  annealStrategy?: 'cos' | 'linear';
  /** Cycle momentum (SGD/RMSprop's momentum, or Adam-style betas[0]) inversely to the lr (default true). */
  cycleMomentum?: boolean;
  baseMomentum?: number | number[];
  maxMomentum?: number | number[];
  /** initialLr = maxLr / divFactor (default 25). */
  divFactor?: number;
  /** minLr = initialLr / finalDivFactor (default 1e4). */
  finalDivFactor?: number;
  /** A third phase annihilates the lr after a symmetric warm-up / cool-down (default false). */
  threePhase?: boolean;
  lastEpoch?: number;
}

interface Phase {
  endStep: number;
  startLr: string;
  endLr: string;
  startMomentum: string;
  endMomentum: string;
}

/**
 * The 1cycle learning-rate policy, stepped once per batch: the lr rises from maxLr/divFactor to
 * maxLr, then anneals to initialLr/finalDivFactor (with threePhase, back to initialLr first), while
 * momentum moves the opposite way. Exactly PyTorch 1.13's schedule.
 * @example
 * const scheduler = new optim.lrScheduler.OneCycleLR(optimizer, { maxLr: 0.01, totalSteps: 1000 });
 * for (const batch of loader) { trainBatch(batch); scheduler.step(); }
 */
export class OneCycleLR extends LRScheduler {
  totalSteps: number;
  phases: Phase[];
  annealStrategy: 'cos' | 'linear';
  cycleMomentum: boolean;
  useBeta1: boolean;

  constructor(optimizer: AnyOptimizer, options: OneCycleLROptions) {
    const name = 'OneCycleLR';
    const {
      maxLr,
      totalSteps,
      epochs,
      stepsPerEpoch,
      pctStart = 0.3,
      annealStrategy = 'cos',
      cycleMomentum = true,
      baseMomentum = 0.85,
      maxMomentum = 0.95,
      divFactor = 25,
      finalDivFactor = 1e4,
      threePhase = false,
      lastEpoch = -1,
    } = options;
    if (
      optimizer === null ||
      typeof optimizer !== 'object' ||
      !Array.isArray(optimizer.paramGroups)
    ) {
      throw new TypeError(
        `${name}: expected an optimizer, got ${optimizer === null ? 'null' : typeof optimizer}`,
      );
    }
    let total: number;
    if (totalSteps === undefined && epochs === undefined && stepsPerEpoch === undefined) {
      throw new Error(`${name}: you must define either totalSteps OR (epochs AND stepsPerEpoch)`);
    } else if (totalSteps !== undefined) {
      if (!Number.isInteger(totalSteps) || totalSteps <= 0)
        throw new RangeError(
          `${name}: expected a positive integer totalSteps, but got ${totalSteps}`,
        );
      total = totalSteps;
    } else {
      if (!Number.isInteger(epochs) || epochs! <= 0)
        throw new RangeError(`${name}: expected a positive integer epochs, but got ${epochs}`);
      if (!Number.isInteger(stepsPerEpoch) || stepsPerEpoch! <= 0)
        throw new RangeError(
          `${name}: expected a positive integer stepsPerEpoch, but got ${stepsPerEpoch}`,
        );
      total = epochs! * stepsPerEpoch!;
    }
    if (typeof pctStart !== 'number' || !(pctStart >= 0 && pctStart <= 1))
      throw new RangeError(`${name}: expected pctStart between 0 and 1, but got ${pctStart}`);
    if (annealStrategy !== 'cos' && annealStrategy !== 'linear')
      throw new RangeError(
        `${name}: annealStrategy must be one of 'cos' or 'linear', got ${String(annealStrategy)}`,
      );
    checkFinite(name, 'divFactor', divFactor);
    checkFinite(name, 'finalDivFactor', finalDivFactor);
    // Set up the groups before the base constructor records initialLr (PyTorch does the same).
    const maxLrs = perGroup(name, 'maxLr', optimizer, maxLr);
    maxLrs.forEach((v, i) => checkFinite(name, `maxLr[${i}]`, v));
    const defaults = (optimizer?.defaults ?? {}) as Record<string, unknown>;
    const useBeta1 = 'betas' in defaults;
    if (cycleMomentum && !('momentum' in defaults) && !useBeta1) {
      throw new Error(
        `${name}: the optimizer must support momentum (a momentum or betas option) with cycleMomentum enabled`,
      );
    }
    if (lastEpoch === -1) {
      optimizer.paramGroups.forEach((group, i) => {
        group.initialLr = maxLrs[i] / divFactor;
        group.maxLr = maxLrs[i];
        group.minLr = (group.initialLr as number) / finalDivFactor;
      });
      if (cycleMomentum) {
        const maxMomenta = perGroup(name, 'maxMomentum', optimizer, maxMomentum);
        const baseMomenta = perGroup(name, 'baseMomentum', optimizer, baseMomentum);
        optimizer.paramGroups.forEach((group, i) => {
          if (useBeta1) group.betas = [maxMomenta[i], ...(group.betas as number[]).slice(1)];
          else group.momentum = maxMomenta[i];
          group.maxMomentum = maxMomenta[i];
          group.baseMomentum = baseMomenta[i];
        });
      }
    }
    super(name, optimizer, lastEpoch);
    this.totalSteps = total;
    this.annealStrategy = annealStrategy;
    this.cycleMomentum = cycleMomentum;
    this.useBeta1 = useBeta1;
    this.phases = threePhase
      ? [
          {
            endStep: pctStart * total - 1,
            startLr: 'initialLr',
            endLr: 'maxLr',
            startMomentum: 'maxMomentum',
            endMomentum: 'baseMomentum',
          },
          {
            endStep: 2 * pctStart * total - 2,
            startLr: 'maxLr',
            endLr: 'initialLr',
            startMomentum: 'baseMomentum',
            endMomentum: 'maxMomentum',
          },
          {
            endStep: total - 1,
            startLr: 'initialLr',
            endLr: 'minLr',
            startMomentum: 'maxMomentum',
            endMomentum: 'maxMomentum',
          },
        ]
      : [
          {
            endStep: pctStart * total - 1,
            startLr: 'initialLr',
            endLr: 'maxLr',
            startMomentum: 'maxMomentum',
            endMomentum: 'baseMomentum',
          },
          {
            endStep: total - 1,
            startLr: 'maxLr',
            endLr: 'minLr',
            startMomentum: 'baseMomentum',
            endMomentum: 'maxMomentum',
          },
        ];
    this.initialStep();
  }

  private anneal(start: number, end: number, pct: number): number {
    if (this.annealStrategy === 'cos')
      return end + ((start - end) / 2) * (Math.cos(Math.PI * pct) + 1);
    return (end - start) * pct + start;
  }

  protected getLr(): number[] {
    const stepNum = this.lastEpoch;
    if (stepNum > this.totalSteps) {
      throw new Error(
        `OneCycleLR: tried to step ${stepNum + 1} times; the specified number of total steps is ${this.totalSteps}`,
      );
    }
    return this.optimizer.paramGroups.map((group) => {
      const g = group as Record<string, unknown>;
      let startStep = 0;
      let lr = 0;
      let momentum = 0;
      for (let i = 0; i < this.phases.length; i++) {
        const phase = this.phases[i];
        if (stepNum <= phase.endStep || i === this.phases.length - 1) {
          const pct = (stepNum - startStep) / (phase.endStep - startStep);
          lr = this.anneal(g[phase.startLr] as number, g[phase.endLr] as number, pct);
          if (this.cycleMomentum)
            momentum = this.anneal(
              g[phase.startMomentum] as number,
              g[phase.endMomentum] as number,
              pct,
            );
          break;
        }
        startStep = phase.endStep;
      }
      if (this.cycleMomentum) {
        if (this.useBeta1) group.betas = [momentum, ...(group.betas as number[]).slice(1)];
        else group.momentum = momentum;
      }
      return lr;
    });
  }
}
