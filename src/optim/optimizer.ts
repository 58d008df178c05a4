/**
 * The optimizer base class, as PyTorch's `torch.optim.Optimizer`: parameter groups with their own
 * options, per-parameter state, `step()`, `zeroGrad()`, `stateDict()` / `loadStateDict()` and
 * `addParamGroup()`. Subclasses implement `updateGroup`, which runs under `noGrad` and updates
 * the parameters of one group in place.
 */
import { enableGrad, noGrad } from '../autograd/grad_mode.js';
import { tensor } from '../tensor/creation.js';
import { isFloatingDType, type DType } from '../tensor/dtype.js';
import { formatShape, shapeSize } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';

/** Option values an optimizer or a scheduler may keep in a parameter group. */
export type OptionValue = number | boolean | string | readonly number[] | null | undefined;

/** A parameter group: its parameters and the options (lr, momentum, …) used to update them. */
export type ParamGroup<O extends object = Record<string, OptionValue>> = O & {
  params: Tensor[];
  lr: number;
  /** Keys that schedulers add (initialLr, maxLr, …). */
  [key: string]: unknown;
};

/** What the user passes for one group: its parameters and any options that override the defaults. */
export type ParamGroupInput<O extends object> = { params: Iterable<Tensor> | Tensor } & Partial<O> &
  Record<string, unknown>;

/** Parameters to optimize: an iterable of tensors, or an array of parameter groups. */
export type Params<O extends object> = Iterable<Tensor> | readonly ParamGroupInput<O>[];

/** A tensor in a state dict: JSON-serialisable, with NaN and ±Infinity written as strings. */
export interface SerializedTensor {
  shape: number[];
  dtype: DType;
  data: (number | string)[];
}

/** Per-parameter state: tensors of the parameter's shape, and numbers (such as the step count). */
export type ParamState = Record<string, Tensor | number>;

/** The optimizer's state as plain JSON: state keyed by parameter index, groups with indices for params. */
export interface OptimizerStateDict {
  state: Record<string, Record<string, SerializedTensor | number>>;
  paramGroups: (Record<string, unknown> & { params: number[] })[];
}

function encodeNumber(v: number): number | string {
  return Number.isFinite(v) ? v : String(v);
}

function decodeNumber(v: unknown): number {
  if (typeof v === 'number') return v;
  if (v === 'NaN' || v === 'Infinity' || v === '-Infinity') return Number(v);
  throw new TypeError(`expected a number, got ${JSON.stringify(v)}`);
}

/** A tensor as JSON-serialisable data (CPU tensors). */
function serializeTensor(t: Tensor): SerializedTensor {
  return { shape: [...t.shape], dtype: t.dtype, data: Array.from(t.dataSync(), encodeNumber) };
}

function isSerializedTensor(v: unknown): v is SerializedTensor {
  return (
    typeof v === 'object' &&
    v !== null &&
    Array.isArray((v as SerializedTensor).shape) &&
    Array.isArray((v as SerializedTensor).data)
  );
}

function deepCopy<T>(v: T): T {
  return Array.isArray(v) ? (v.map(deepCopy) as T) : v;
}

/** Validation helpers shared by the optimizers: each error names the optimizer and the option. */
export function checkNumber(optimizer: string, option: string, value: unknown): number {
  if (typeof value !== 'number' || Number.isNaN(value)) {
    // String(NaN) is 'NaN'; JSON.stringify(NaN) would say 'null'.
    const got =
      typeof value === 'number' || value === undefined ? String(value) : JSON.stringify(value);
    throw new TypeError(`${optimizer}: option ${option} must be a number, got ${got}`);
  }
  return value;
}

export function checkNonNegative(optimizer: string, option: string, value: unknown): void {
  const v = checkNumber(optimizer, option, value);
  if (!(v >= 0))
    throw new RangeError(`${optimizer}: invalid ${option} ${v}: expected ${option} >= 0`);
}

export function checkBoolean(optimizer: string, option: string, value: unknown): void {
  if (typeof value !== 'boolean')
    throw new TypeError(
      `${optimizer}: option ${option} must be a boolean, got ${JSON.stringify(value)}`,
    );
}

export function checkBetas(optimizer: string, value: unknown): void {
  if (!Array.isArray(value) || value.length !== 2) {
    throw new TypeError(
      `${optimizer}: option betas must be a pair of numbers [beta1, beta2], got ${JSON.stringify(value)}`,
    );
  }
  value.forEach((beta, i) => {
    const b = checkNumber(optimizer, `betas[${i}]`, beta);
    if (!(b >= 0 && b < 1))
      throw new RangeError(`${optimizer}: invalid betas[${i}] ${b}: expected 0 <= betas[${i}] < 1`);
  });
}

/**
 * Base class of all optimizers. `paramGroups[i].lr` (and every other option) is live: changing
 * it (as LR schedulers do) changes the next `step()`.
 *
 * @example
 * class SignSGD extends Optimizer<{ lr: number }> {
 *   constructor(params: Iterable<Tensor>, options: { lr?: number } = {}) {
 *     super('SignSGD', params, options);
 *   }
 *   protected defaultOptions() { return { lr: 0.01 }; }
 *   protected validateOptions(o: { lr: number }) {
 *     if (!(o.lr >= 0)) throw new RangeError(`SignSGD: invalid lr ${o.lr}`);
 *   }
 *   protected updateGroup(group: ParamGroup<{ lr: number }>) {
 *     for (const p of group.params) if (p.grad) p.sub_(p.grad.sign(), group.lr);
 *   }
 * }
 */
export abstract class Optimizer<O extends { lr?: number } = { lr: number }> {
  /** The options every group starts from. */
  readonly defaults: Readonly<O>;
  readonly paramGroups: ParamGroup<O>[] = [];
  /** Per-parameter state (moment estimates, step counts, …), created at the first step. */
  readonly state = new Map<Tensor, ParamState>();

  /**
   * @param name the optimizer's name, used in error messages
   * @param options the user's options: unknown keys throw; missing (or undefined) ones take
   *   the values of `defaultOptions()`
   */
  protected constructor(
    readonly name: string,
    params: Params<O>,
    options: Partial<O>,
  ) {
    const known = this.defaultOptions();
    if (typeof options !== 'object' || options === null)
      throw new TypeError(`${name}: options must be an object`);
    const merged: Record<string, unknown> = { ...known };
    for (const [key, value] of Object.entries(options)) {
      if (!(key in known))
        throw new TypeError(
          `${name}: unknown option ${key}; expected one of ${Object.keys(known).join(', ')}`,
        );
      if (value !== undefined) merged[key] = deepCopy(value);
    }
    this.defaults = merged as O;
    const list = toList<unknown>(name, params as Iterable<unknown>);
    if (list.length === 0) throw new Error(`${name}: optimizer got an empty parameter list`);
    const isGroups = list.every(
      (item) =>
        !(item instanceof Tensor) && typeof item === 'object' && item !== null && 'params' in item,
    );
    const groups = isGroups
      ? (list as ParamGroupInput<O>[])
      : [{ params: list as Tensor[] } as unknown as ParamGroupInput<O>];
    for (const group of groups) this.addParamGroup(group);
  }

  /** The option names this optimizer accepts, with their default values (undefined: required). */
  protected abstract defaultOptions(): O;

  /** Checks the options of one group; throws an error naming the optimizer and the option. */
  protected abstract validateOptions(options: O): void;

  /** Updates the parameters of one group from their gradients (called under noGrad). */
  protected abstract updateGroup(group: ParamGroup<O>): void;

  /**
   * Adds a group of parameters with its own options (missing options take the defaults), e.g. to
   * train layers unfrozen during fine-tuning.
   */
  addParamGroup(group: ParamGroupInput<O>): void {
    if (typeof group !== 'object' || group === null || !('params' in group)) {
      throw new TypeError(`${this.name}.addParamGroup: expected an object with a params field`);
    }
    const params =
      group.params instanceof Tensor ? [group.params] : toList(this.name, group.params);
    params.forEach((p, i) => {
      if (!(p instanceof Tensor))
        throw new TypeError(
          `${this.name}: parameter ${i} of a group is not a Tensor (got ${typeof p})`,
        );
      if (!p.isLeaf)
        throw new Error(
          `${this.name}: can't optimize a non-leaf tensor (parameter ${i} was produced by ${p.gradFn!.name}); pass leaves such as detach().requiresGrad_()`,
        );
      if (!isFloatingDType(p.dtype))
        throw new TypeError(
          `${this.name}: can only optimize floating point tensors, parameter ${i} has dtype ${p.dtype}`,
        );
    });
    if (new Set(params).size !== params.length)
      throw new Error(`${this.name}: a parameter group contains the same parameter more than once`);
    for (const existing of this.paramGroups) {
      if (existing.params.some((p) => params.includes(p)))
        throw new Error(`${this.name}: some parameters appear in more than one parameter group`);
    }
    const merged: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(this.defaults)) merged[key] = deepCopy(value);
    for (const [key, value] of Object.entries(group))
      if (key !== 'params' && value !== undefined) merged[key] = deepCopy(value);
    if (merged.lr === undefined) {
      throw new Error(
        `${this.name}: parameter group ${this.paramGroups.length} didn't specify a value of required option lr`,
      );
    }
    this.validateOptions(merged as O);
    this.paramGroups.push({ ...merged, params } as ParamGroup<O>);
  }

  /**
   * Performs one update of every parameter that has a gradient. `closure`, if given, re-evaluates
   * the model (with grad enabled) and returns the loss, which step returns.
   */
  step(closure?: () => Tensor | number): Tensor | number | undefined {
    const loss = closure ? enableGrad(closure) : undefined;
    noGrad(() => {
      for (const group of this.paramGroups) this.updateGroup(group);
    });
    return loss;
  }

  /**
   * Resets the gradients of all parameters: to null (the default, as PyTorch), or to zeros in
   * place with `{ setToNone: false }`.
   */
  zeroGrad({ setToNone = true }: { setToNone?: boolean } = {}): void {
    for (const group of this.paramGroups) {
      for (const p of group.params) {
        const grad = p.peekGrad();
        if (grad === null) continue;
        if (setToNone) p.releaseGrad();
        else if (grad.gradFn !== null) p.grad = grad.detach().zero_();
        else noGrad(() => grad.zero_());
      }
    }
  }

  /** The state of `p`, created empty on first use. */
  protected stateOf(p: Tensor): ParamState {
    let s = this.state.get(p);
    if (!s) {
      s = {};
      this.state.set(p, s);
    }
    return s;
  }

  /**
   * The optimizer's state as JSON-serialisable data: per-parameter state keyed by the parameter's
   * index (counting through the groups in order), and each group's options with `params` as indices.
   */
  stateDict(): OptimizerStateDict {
    const index = new Map<Tensor, number>();
    const paramGroups = this.paramGroups.map((group) => {
      const packed: Record<string, unknown> = {};
      for (const [key, value] of Object.entries(group))
        if (key !== 'params')
          packed[key] = typeof value === 'number' ? encodeNumber(value) : deepCopy(value);
      packed.params = group.params.map((p) => {
        if (!index.has(p)) index.set(p, index.size);
        return index.get(p)!;
      });
      return packed as Record<string, unknown> & { params: number[] };
    });
    const state: OptimizerStateDict['state'] = {};
    for (const [p, s] of this.state) {
      const i = index.get(p);
      if (i === undefined) continue;
      const entry: Record<string, SerializedTensor | number> = {};
      for (const [key, value] of Object.entries(s))
        entry[key] = value instanceof Tensor ? serializeTensor(value) : value;
      state[String(i)] = entry;
    }
    return { state, paramGroups };
  }

  /**
   * Loads a state dict from `stateDict()` (possibly through JSON). The groups must have the same
   * sizes as this optimizer's; the loaded options replace the groups' options, and state tensors
   * are converted to their parameter's dtype. Throws a clear error on any mismatch.
   */
  loadStateDict(stateDict: OptimizerStateDict): void {
    const op = `${this.name}.loadStateDict`;
    if (
      typeof stateDict !== 'object' ||
      stateDict === null ||
      !Array.isArray(stateDict.paramGroups) ||
      typeof stateDict.state !== 'object' ||
      stateDict.state === null
    ) {
      throw new TypeError(
        `${op}: expected an object with state and paramGroups, as stateDict() returns`,
      );
    }
    const saved = stateDict.paramGroups;
    if (saved.length !== this.paramGroups.length) {
      throw new Error(
        `${op}: loaded state dict has ${saved.length} parameter groups, but the optimizer has ${this.paramGroups.length}`,
      );
    }
    const byIndex = new Map<number, Tensor>();
    saved.forEach((g, gi) => {
      if (!Array.isArray(g.params))
        throw new TypeError(`${op}: parameter group ${gi} has no params array`);
      const current = this.paramGroups[gi].params;
      if (g.params.length !== current.length) {
        throw new Error(
          `${op}: loaded parameter group ${gi} has ${g.params.length} parameters, but the optimizer's group has ${current.length}`,
        );
      }
      g.params.forEach((idx, k) => byIndex.set(idx, current[k]));
    });
    // Check everything before changing anything.
    const newState = new Map<Tensor, ParamState>();
    for (const [key, entry] of Object.entries(stateDict.state)) {
      const p = byIndex.get(Number(key));
      if (p === undefined)
        throw new Error(`${op}: state for parameter ${key}, which is in no parameter group`);
      if (typeof entry !== 'object' || entry === null)
        throw new TypeError(`${op}: state of parameter ${key} must be an object`);
      const s: ParamState = {};
      for (const [name, value] of Object.entries(entry)) {
        if (typeof value === 'number') s[name] = value;
        else if (isSerializedTensor(value)) {
          if (value.shape.length !== p.ndim || value.shape.some((d, i) => d !== p.shape[i])) {
            throw new Error(
              `${op}: state ${name} of parameter ${key} has shape ${formatShape(value.shape)}, but the parameter has shape ${formatShape(p.shape)}`,
            );
          }
          if (value.data.length !== shapeSize(value.shape)) {
            throw new Error(
              `${op}: state ${name} of parameter ${key} has ${value.data.length} values for shape ${formatShape(value.shape)}`,
            );
          }
          s[name] = tensor(value.data.map(decodeNumber), {
            shape: value.shape,
            dtype: p.dtype,
            device: p.device,
          });
        } else
          throw new TypeError(
            `${op}: state ${name} of parameter ${key} must be a number or a serialized tensor, got ${JSON.stringify(value)}`,
          );
      }
      newState.set(p, s);
    }
    const newOptions = saved.map((g) => {
      const options: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(g)) {
        if (k !== 'params')
          options[k] =
            typeof v === 'string' && ['NaN', 'Infinity', '-Infinity'].includes(v)
              ? decodeNumber(v)
              : deepCopy(v);
      }
      try {
        this.validateOptions({ ...this.defaults, ...options } as O);
      } catch (e) {
        throw new Error(`${op}: ${(e as Error).message}`);
      }
      return options;
    });
    this.state.clear();
    for (const [p, s] of newState) this.state.set(p, s);
    this.paramGroups.forEach((group, gi) => {
      for (const key of Object.keys(group))
        if (key !== 'params') delete (group as Record<string, unknown>)[key];
      Object.assign(group, newOptions[gi]);
    });
  }
}

function toList<T>(name: string, items: Iterable<T> | T): T[] {
  if (items instanceof Tensor) {
    throw new TypeError(
      `${name}: params argument given to the optimizer should be an iterable of Tensors or of parameter groups, but got a Tensor`,
    );
  }
  if (
    items === null ||
    typeof items !== 'object' ||
    typeof (items as Iterable<T>)[Symbol.iterator] !== 'function'
  ) {
    throw new TypeError(
      `${name}: params must be an iterable of Tensors or an array of parameter groups, got ${items === null ? 'null' : typeof items}`,
    );
  }
  return [...(items as Iterable<T>)];
}
