/** SequentialLR (one scheduler after another) and ChainedScheduler (several at once). */
import { LRScheduler, loadSchedulerState, schedulerState, type AnyOptimizer } from './scheduler.js';

export interface SequentialLROptions {
  /** The schedulers, all of `optimizer`, in the order they run. */
  schedulers: LRScheduler[];
  /** The epochs at which the next scheduler takes over (one fewer than schedulers, increasing). */
  milestones: number[];
  lastEpoch?: number;
}

/**
 * Runs schedulers one after another: schedulers[i] is in charge from milestones[i−1] on, and
 * restarts from its epoch 0 (closed form) at its milestone. Exactly PyTorch 1.13's behaviour.
 * @example
 * const warmup = new optim.lrScheduler.LinearLR(optimizer, { startFactor: 0.1, totalIters: 5 });
 * const decay = new optim.lrScheduler.CosineAnnealingLR(optimizer, { tMax: 95 });
 * const scheduler = new optim.lrScheduler.SequentialLR(optimizer, { schedulers: [warmup, decay], milestones: [5] });
 */
export class SequentialLR extends LRScheduler {
  readonly schedulers: LRScheduler[];
  milestones: number[];

  constructor(
    optimizer: AnyOptimizer,
    { schedulers, milestones, lastEpoch = -1 }: SequentialLROptions,
  ) {
    super('SequentialLR', optimizer, lastEpoch);
    if (!Array.isArray(schedulers) || schedulers.length === 0)
      throw new TypeError('SequentialLR: schedulers must be a non-empty array of schedulers');
    schedulers.forEach((s, i) => {
      if (!(s instanceof LRScheduler))
        throw new TypeError(
          `SequentialLR: schedulers[${i}] is not an epoch-based scheduler (ReduceLROnPlateau can't be sequenced)`,
        );
      if (s.optimizer !== optimizer) {
        throw new Error(
          `SequentialLR: expects all schedulers to belong to the same optimizer, but the scheduler at index ${i} has a different one`,
        );
      }
    });
    if (!Array.isArray(milestones) || milestones.length !== schedulers.length - 1) {
      throw new Error(
        `SequentialLR: expects the number of schedulers to be one more than the number of milestones, but got ${schedulers.length} schedulers and ${Array.isArray(milestones) ? milestones.length : 'no'} milestones`,
      );
    }
    milestones.forEach((m, i) => {
      if (!Number.isInteger(m) || (i > 0 && m < milestones[i - 1]))
        throw new RangeError(
          `SequentialLR: milestones must be increasing integers, got ${JSON.stringify(milestones)}`,
        );
    });
    this.schedulers = schedulers;
    this.milestones = [...milestones];
    this.lastEpoch = lastEpoch + 1;
    // Reset learning rates back to their initial values, and undo the sub-schedulers' initial steps.
    for (const group of optimizer.paramGroups) group.lr = group.initialLr as number;
    for (const s of schedulers) s.lastEpoch -= 1;
    schedulers[0].initialStep();
    this.lastLr = schedulers[0].getLastLr();
  }

  protected getLr(): number[] {
    return this.groupLrs();
  }

  override step(): void {
    this.lastEpoch += 1;
    const idx = this.milestones.filter((m) => m <= this.lastEpoch).length; // bisect_right
    const scheduler = this.schedulers[idx];
    if (idx > 0 && this.milestones[idx - 1] === this.lastEpoch) scheduler.step(0);
    else scheduler.step();
    this.lastLr = scheduler.getLastLr();
  }

  /** Its own state, with each sub-scheduler's state under `schedulers`. */
  override stateDict(): Record<string, unknown> {
    return { ...schedulerState(this), schedulers: this.schedulers.map((s) => s.stateDict()) };
  }

  override loadStateDict(state: Record<string, unknown>): void {
    loadNested(this, this.name, this.schedulers, state);
  }
}

function loadNested(
  obj: object,
  name: string,
  schedulers: LRScheduler[],
  state: Record<string, unknown>,
): void {
  if (typeof state !== 'object' || state === null)
    throw new TypeError(`${name}.loadStateDict: expected an object, as stateDict() returns`);
  const { schedulers: nested, ...own } = state;
  if (!Array.isArray(nested) || nested.length !== schedulers.length) {
    throw new Error(
      `${name}.loadStateDict: expected the states of ${schedulers.length} schedulers, got ${Array.isArray(nested) ? nested.length : 'none'}`,
    );
  }
  loadSchedulerState(obj, name, own);
  schedulers.forEach((s, i) => s.loadStateDict(nested[i] as Record<string, unknown>));
}

/**
 * Steps several schedulers of one optimizer together, so that their factors multiply.
 * @example
 * const scheduler = new optim.lrScheduler.ChainedScheduler([
 *   new optim.lrScheduler.ConstantLR(optimizer, { factor: 0.1, totalIters: 2 }),
 *   new optim.lrScheduler.ExponentialLR(optimizer, { gamma: 0.9 }),
 * ]);
 */
export class ChainedScheduler extends LRScheduler {
  readonly schedulers: LRScheduler[];

  constructor(schedulers: LRScheduler[]) {
    if (!Array.isArray(schedulers) || schedulers.length === 0)
      throw new TypeError('ChainedScheduler: schedulers must be a non-empty array of schedulers');
    super('ChainedScheduler', schedulers[0].optimizer);
    schedulers.forEach((s, i) => {
      if (!(s instanceof LRScheduler))
        throw new TypeError(`ChainedScheduler: schedulers[${i}] is not an epoch-based scheduler`);
      if (s.optimizer !== schedulers[0].optimizer) {
        throw new Error(
          `ChainedScheduler: expects all schedulers to belong to the same optimizer, but the schedulers at index 0 and ${i} differ`,
        );
      }
    });
    this.schedulers = [...schedulers];
    this.lastLr = this.groupLrs();
  }

  protected getLr(): number[] {
    return this.groupLrs();
  }

  override step(): void {
    for (const s of this.schedulers) s.step();
    this.lastLr = this.groupLrs();
  }

  override stateDict(): Record<string, unknown> {
    return { ...schedulerState(this), schedulers: this.schedulers.map((s) => s.stateDict()) };
  }

  override loadStateDict(state: Record<string, unknown>): void {
    loadNested(this, this.name, this.schedulers, state);
  }
}
