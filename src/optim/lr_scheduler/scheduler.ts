/**
 * The learning-rate scheduler base class, as PyTorch 1.13's `_LRScheduler`: the constructor
 * records each group's `initialLr` and performs the initial step (epoch 0); `step()` advances one
 * epoch with the chainable form (`getLr`), `step(epoch)` jumps with the closed form where there is one.
 */
import type { Optimizer } from '../optimizer.js';

/** Any optimizer: schedulers only read and write the groups' options. */
export type AnyOptimizer = Optimizer<any>;

/** Scheduler state values as JSON: non-finite numbers become the strings 'Infinity', '-Infinity', 'NaN'. */
function toJSONValue(v: unknown): unknown {
  if (typeof v === 'number') return Number.isFinite(v) ? v : String(v);
  if (Array.isArray(v)) return v.map(toJSONValue);
  if (typeof v === 'object' && v !== null)
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, toJSONValue(x)]));
  return v;
}

function fromJSONValue(current: unknown, loaded: unknown, where: string): unknown {
  if (current === undefined) return loaded;
  if (typeof current === 'number' || current === null) {
    if (typeof loaded === 'number') return loaded;
    if (loaded === 'Infinity' || loaded === '-Infinity' || loaded === 'NaN') return Number(loaded);
    if (current === null) return loaded;
    throw new TypeError(`${where} must be a number, got ${JSON.stringify(loaded)}`);
  }
  if (Array.isArray(current)) {
    if (!Array.isArray(loaded))
      throw new TypeError(`${where} must be an array, got ${JSON.stringify(loaded)}`);
    return loaded.map((x, i) =>
      fromJSONValue(
        typeof current[0] === 'number' ? 0 : (current[i] ?? current[0]),
        x,
        `${where}[${i}]`,
      ),
    );
  }
  if (typeof current === 'object') {
    if (typeof loaded !== 'object' || loaded === null)
      throw new TypeError(`${where} must be an object, got ${JSON.stringify(loaded)}`);
    return Object.fromEntries(
      Object.entries(loaded).map(([k, x]) => [
        k,
        fromJSONValue((current as Record<string, unknown>)[k] ?? null, x, `${where}.${k}`),
      ]),
    );
  }
  if (typeof current !== typeof loaded)
    throw new TypeError(`${where} must be a ${typeof current}, got ${JSON.stringify(loaded)}`);
  return loaded;
}

/** Fields of a scheduler that are configuration or references, not state. */
const NOT_STATE = new Set(['optimizer', 'name', 'lrLambdas', 'schedulers']);

/**
 * Serialisable state of `obj`: its own fields except references and functions. Shared by every
 * scheduler (and ReduceLROnPlateau).
 */
export function schedulerState(obj: object): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) {
    if (NOT_STATE.has(k) || typeof v === 'function') continue;
    out[k] = toJSONValue(v);
  }
  return out;
}

/** Loads `state` into `obj`, checking that the keys and the value types are those `obj` has. */
export function loadSchedulerState(
  obj: object,
  name: string,
  state: Record<string, unknown>,
): void {
  const op = `${name}.loadStateDict`;
  if (typeof state !== 'object' || state === null)
    throw new TypeError(`${op}: expected an object, as stateDict() returns`);
  const expected = schedulerState(obj);
  for (const key of Object.keys(state)) {
    if (!(key in expected))
      throw new Error(
        `${op}: unexpected key ${key}; a ${name} state has ${Object.keys(expected).join(', ')}`,
      );
  }
  const updates: Record<string, unknown> = {};
  for (const key of Object.keys(expected)) {
    if (!(key in state)) throw new Error(`${op}: missing key ${key}`);
    updates[key] = fromJSONValue(
      (obj as Record<string, unknown>)[key],
      state[key],
      `${op}: ${key}`,
    );
  }
  Object.assign(obj, updates);
}

/**
 * Base class of the epoch-based schedulers. Subclasses set their fields, then call
 * `this.initialStep()` at the end of their constructor (PyTorch's base constructor does that step).
 *
 * @example
 * class HalveEveryEpoch extends LRScheduler {
 *   constructor(optimizer: Optimizer) {
 *     super('HalveEveryEpoch', optimizer);
 *     this.initialStep();
 *   }
 *   protected getLr() {
 *     return this.optimizer.paramGroups.map((g) => (this.lastEpoch === 0 ? g.lr : g.lr / 2));
 *   }
 * }
 */
export abstract class LRScheduler {
  /** Each group's initialLr when the scheduler was created. */
  baseLrs: number[];
  /** The number of the last epoch stepped (0 after construction). */
  lastEpoch: number;
  /** Number of step() calls (PyTorch's _step_count). */
  protected stepCount = 0;
  protected lastLr: number[] = [];

  protected constructor(
    /** The scheduler's name, used in error messages. */
    readonly name: string,
    readonly optimizer: AnyOptimizer,
    lastEpoch = -1,
  ) {
    if (
      optimizer === null ||
      typeof optimizer !== 'object' ||
      !Array.isArray(optimizer.paramGroups)
    ) {
      throw new TypeError(
        `${name}: expected an optimizer, got ${optimizer === null ? 'null' : typeof optimizer}`,
      );
    }
    if (!Number.isInteger(lastEpoch) || lastEpoch < -1)
      throw new RangeError(`${name}: lastEpoch must be an integer >= -1, got ${lastEpoch}`);
    if (lastEpoch === -1) {
      for (const group of optimizer.paramGroups)
        if (group.initialLr === undefined) group.initialLr = group.lr;
    } else {
      optimizer.paramGroups.forEach((group, i) => {
        if (group.initialLr === undefined) {
          throw new Error(
            `${name}: paramGroups[${i}] has no initialLr, which resuming a schedule (lastEpoch = ${lastEpoch}) needs`,
          );
        }
      });
    }
    this.baseLrs = optimizer.paramGroups.map((g) => g.initialLr as number);
    this.lastEpoch = lastEpoch;
  }

  /** The chainable form: each group's new lr, from the groups' current lrs and lastEpoch. */
  protected abstract getLr(): number[];

  /** The closed form, used by step(epoch); schedulers without one use getLr. */
  protected closedFormLr(): number[] | null {
    return null;
  }

  /** @internal Performs the initial step (PyTorch's _initial_step); SequentialLR calls it too. */
  initialStep(): void {
    this.stepCount = 0;
    this.step();
  }

  /**
   * Advances one epoch and sets every group's lr. With `epoch`, jumps to that epoch using the
   * closed form where the scheduler has one (as PyTorch's deprecated step(epoch)).
   */
  step(epoch?: number): void {
    this.stepCount++;
    let values: number[];
    if (epoch === undefined) {
      this.lastEpoch++;
      values = this.getLr();
    } else {
      if (typeof epoch !== 'number' || Number.isNaN(epoch))
        throw new TypeError(`${this.name}.step: epoch must be a number, got ${String(epoch)}`);
      this.lastEpoch = epoch;
      values = this.closedFormLr() ?? this.getLr();
    }
    this.optimizer.paramGroups.forEach((group, i) => {
      group.lr = values[i];
    });
    this.lastLr = this.optimizer.paramGroups.map((g) => g.lr);
  }

  /** The learning rates of the groups after the last step. */
  getLastLr(): number[] {
    return [...this.lastLr];
  }

  /** The scheduler's state as JSON-serialisable data (everything but the optimizer and functions). */
  stateDict(): Record<string, unknown> {
    return schedulerState(this);
  }

  /** Restores a state from stateDict(); throws on unknown or missing keys and on wrong value types. */
  loadStateDict(state: Record<string, unknown>): void {
    loadSchedulerState(this, this.name, state);
  }

  protected groupLrs(): number[] {
    return this.optimizer.paramGroups.map((g) => g.lr);
  }
}

/** A per-group value: one number for every group, or one per group. */
export function perGroup<T>(
  name: string,
  option: string,
  optimizer: AnyOptimizer,
  value: T | readonly T[],
): T[] {
  const n = optimizer.paramGroups.length;
  if (Array.isArray(value)) {
    if (value.length !== n)
      throw new Error(
        `${name}: expected ${n} values for ${option} (one per parameter group), got ${value.length}`,
      );
    return [...value];
  }
  return Array.from({ length: n }, () => value as T);
}

export function checkFinite(name: string, option: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value))
    throw new TypeError(`${name}: ${option} must be a finite number, got ${String(value)}`);
  return value;
}
