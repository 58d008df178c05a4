/**
 * `Module`: the base class of layers and models, as torch.nn.Module. Submodules, Parameters and
 * buffers are found from the instance's fields (no manual registration), named the way PyTorch
 * names them (camelCase fields become snake_case keys: `runningMean` → `running_mean`), so that
 * a stateDict written here loads in PyTorch and the other way round.
 */
import { Tensor } from '../tensor/tensor.js';
import { formatShape } from '../tensor/shape.js';
import { isFloatingDType, type DType } from '../tensor/dtype.js';
import { zerosLike } from '../tensor/creation.js';
import { boolArg } from '../tensor/args.js';
import { isGradEnabled, noGrad } from '../autograd/grad_mode.js';
import { Function as AutogradFunction, type FunctionContext } from '../autograd/function.js';
import type { RemovableHandle } from '../autograd/node.js';
import { cat } from '../autograd/ops/shape_ops.js';
import { resolveTo, toDevice, type ToTarget } from '../autograd/ops/conversion.js';
import { Parameter } from './parameter.js';

/** Called before forward with the arguments; a returned value replaces them (an array is the new argument list). */
export type ForwardPreHook = (module: Module, args: unknown[]) => unknown;
/** Called after forward with the arguments and the output; a returned value replaces the output. */
export type ForwardHook = (module: Module, args: unknown[], output: unknown) => unknown;
/**
 * Called during backward with the gradients of the module's tensor arguments (`gradInput`, null
 * where an argument needs none) and of its tensor outputs (`gradOutput`). A returned array
 * replaces `gradInput`.
 */
export type FullBackwardHook = (
  module: Module,
  gradInput: (Tensor | null)[],
  gradOutput: (Tensor | null)[],
) => (Tensor | null)[] | void;

/** A field of a module that holds a parameter, a buffer or a submodule, with a way to replace it. */
export interface ModuleMember {
  kind: 'parameter' | 'buffer' | 'module';
  /** The state key of this member within its owner (`running_mean`, `0`, `layers.2`). */
  name: string;
  value: Tensor | Module;
  /** For buffers: whether it is part of the stateDict. */
  persistent: boolean;
  set(value: Tensor | Module): void;
}

interface ModuleInternals {
  buffers: Map<string, boolean>;
  forwardPreHooks: ForwardPreHook[];
  forwardHooks: ForwardHook[];
  backwardHooks: FullBackwardHook[];
}

interface BackwardWiring {
  input: unknown[];
  wrapOutput: (output: unknown) => unknown;
}

const internals = new WeakMap<Module, ModuleInternals>();

function stateOf(m: Module): ModuleInternals {
  let s = internals.get(m);
  if (!s) {
    s = { buffers: new Map(), forwardPreHooks: [], forwardHooks: [], backwardHooks: [] };
    internals.set(m, s);
  }
  return s;
}

/** camelCase → snake_case, the way PyTorch spells the same state key (`numBatchesTracked` → `num_batches_tracked`). */
function toSnakeCase(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2')
    .toLowerCase();
}

function handle(list: unknown[], item: unknown): RemovableHandle {
  list.push(item);
  return {
    remove() {
      const i = list.indexOf(item);
      if (i >= 0) list.splice(i, 1);
    },
  };
}

/** Python's repr of a value, for extraRepr: True/False, None, 1e-05, 0.1, (3, 3), (3,). */
export function pyRepr(value: unknown): string {
  if (value === null || value === undefined) return 'None';
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  if (typeof value === 'number') return String(value);
  if (Array.isArray(value))
    return value.length === 1 ? `(${pyRepr(value[0])},)` : `(${value.map(pyRepr).join(', ')})`;
  return String(value);
}

/** Python's repr of a float: 1.0, 0.1, 1e-05, 1e+16. */
export function pyFloat(x: number): string {
  if (!Number.isFinite(x)) return Number.isNaN(x) ? 'nan' : x > 0 ? 'inf' : '-inf';
  const [mantissa, exp] = x.toExponential().split('e');
  const e = Number(exp);
  if (e < -4 || e >= 16)
    return `${mantissa}e${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`;
  const s = String(x);
  return Number.isInteger(x) ? `${s}.0` : s;
}

function addIndent(s: string, spaces: number): string {
  const lines = s.split('\n');
  if (lines.length === 1) return s;
  return [lines[0], ...lines.slice(1).map((l) => ' '.repeat(spaces) + l)].join('\n');
}

/**
 * An autograd identity over several tensors at once, so that one backward call sees all their
 * gradients: it packs them into one flat tensor whose backward hands each its slice to `onGrad`
 * (which may replace them). Used by full backward hooks on a module's inputs and outputs.
 */
class HookPack extends AutogradFunction {
  static override forward(ctx: FunctionContext, ...args: unknown[]): Tensor {
    const [onGrad, ...tensors] = args as [(grads: Tensor[]) => Tensor[], ...Tensor[]];
    ctx.onGrad = onGrad;
    ctx.shapes = tensors.map((t) => [...t.shape]);
    ctx.dtypes = tensors.map((t) => t.dtype);
    return tensors.length === 1 ? tensors[0] : cat(tensors.map((t) => t.reshape(-1)));
  }

  static override backward(ctx: FunctionContext, grad: Tensor): Tensor[] {
    const shapes = ctx.shapes as number[][];
    const dtypes = ctx.dtypes as DType[];
    const grads = shapes.length === 1 ? [grad] : unpack(grad, shapes, dtypes);
    return (ctx.onGrad as (grads: Tensor[]) => Tensor[])(grads);
  }
}

function unpack(flat: Tensor, shapes: number[][], dtypes: DType[]): Tensor[] {
  let offset = 0;
  return shapes.map((shape, i) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const part = flat.narrow(0, offset, n).reshape(shape);
    offset += n;
    return part.dtype === dtypes[i] ? part : part.to(dtypes[i]);
  });
}

/** Runs `tensors` through a HookPack and returns them unpacked (same shapes, now downstream of it). */
function throughPack(tensors: Tensor[], onGrad: (grads: Tensor[]) => Tensor[]): Tensor[] {
  const packed = HookPack.apply(onGrad, ...tensors);
  if (tensors.length === 1) return [packed];
  return unpack(
    packed,
    tensors.map((t) => [...t.shape]),
    tensors.map((t) => t.dtype),
  );
}

/**
 * Base class of all layers and models. Subclasses declare their parameters and submodules as
 * fields and implement `forward`; users run them with `call`, which also runs the hooks.
 * @example
 * class MLP extends Module {
 *   fc1 = new Linear(784, 128);
 *   fc2 = new Linear(128, 10);
 *   forward(x: Tensor): Tensor { return this.fc2.call(F.relu(this.fc1.call(x))); }
 * }
 * const model = new MLP();
 * model.namedParameters().map(([name]) => name); // ['fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias']
 */
export abstract class Module {
  /** Training mode (dropout active, batch norm uses batch statistics); set by train() and eval(). */
  training = true;

  /** The computation; called through `call`, which runs the hooks. */
  abstract forward(...args: any[]): any;

  /**
   * Runs forward with the module's hooks: forward pre-hooks, forward, forward hooks, and the
   * wiring that calls full backward hooks during backward.
   */
  call<M extends Module>(this: M, ...args: Parameters<M['forward']>): ReturnType<M['forward']> {
    const state = stateOf(this);
    let input: unknown[] = args;
    for (const hook of [...state.forwardPreHooks]) {
      const result = hook(this, input);
      if (result !== undefined) input = Array.isArray(result) ? result : [result];
    }
    const backwardHooks = state.backwardHooks.length > 0 && isGradEnabled();
    let wiring: BackwardWiring | null = null;
    if (backwardHooks) {
      wiring = this.wireBackwardHooks(input);
      input = wiring.input;
    }
    let output: unknown = this.forward(...input);
    for (const hook of [...state.forwardHooks]) {
      const result = hook(this, input, output);
      if (result !== undefined) output = result;
    }
    if (wiring) output = wiring.wrapOutput(output);
    return output as ReturnType<M['forward']>;
  }

  /** Routes the gradients of this call's tensor arguments and outputs through the full backward hooks. */
  private wireBackwardHooks(args: unknown[]): BackwardWiring {
    const hooks = stateOf(this).backwardHooks;
    const tensorArgs = args.map((a, i) => ({ a, i })).filter(({ a }) => a instanceof Tensor) as {
      a: Tensor;
      i: number;
    }[];
    const needing = tensorArgs.filter(({ a }) => a.requiresGrad && isFloatingDType(a.dtype));
    let gradOutput: (Tensor | null)[] | null = null;
    const runHooks = (gradInput: (Tensor | null)[]): (Tensor | null)[] => {
      let current = gradInput;
      for (const hook of [...hooks]) {
        const replaced = hook(this, current, gradOutput ?? []);
        if (replaced !== undefined) {
          if (!Array.isArray(replaced) || replaced.length !== current.length) {
            throw new Error(
              `${this.constructor.name}: a full backward hook returned ${Array.isArray(replaced) ? `${replaced.length} gradients` : typeof replaced}; expected an array of ${current.length} (one per tensor argument)`,
            );
          }
          current = replaced;
        }
      }
      return current;
    };
    const input = [...args];
    if (needing.length > 0) {
      const wrapped = throughPack(
        needing.map(({ a }) => a),
        (grads) => {
          const gradInput = tensorArgs.map(({ a }) => {
            const k = needing.findIndex((n) => n.a === a);
            return k >= 0 ? grads[k] : null;
          });
          const result = runHooks(gradInput);
          return needing.map(({ i }, k) => {
            const position = tensorArgs.findIndex((t) => t.i === i);
            return result[position] ?? zerosLike(grads[k]);
          });
        },
      );
      needing.forEach(({ i }, k) => (input[i] = wrapped[k]));
    }
    const wrapOutput = (output: unknown): unknown => {
      const outputs = output instanceof Tensor ? [output] : Array.isArray(output) ? output : [];
      const differentiable = outputs.filter(
        (o): o is Tensor => o instanceof Tensor && o.requiresGrad,
      );
      if (differentiable.length === 0) return output;
      const wrapped = throughPack(differentiable, (grads) => {
        gradOutput = outputs.map((o) => {
          const k = differentiable.indexOf(o as Tensor);
          return k >= 0 ? grads[k] : null;
        });
        if (needing.length === 0) runHooks(tensorArgs.map(() => null));
        return grads;
      });
      if (output instanceof Tensor) return wrapped[0];
      return outputs.map((o) => {
        const k = differentiable.indexOf(o as Tensor);
        return k >= 0 ? wrapped[k] : o;
      });
    };
    return { input, wrapOutput };
  }

  // ---- hooks ----

  /**
   * Registers a hook run before forward; returning a value replaces the arguments.
   * @example
   * const h = model.registerForwardPreHook((m, [x]) => [(x as Tensor).mul(2)]);
   * h.remove();
   */
  registerForwardPreHook(hook: ForwardPreHook): RemovableHandle {
    return handle(stateOf(this).forwardPreHooks, hook);
  }

  /** Registers a hook run after forward with (module, args, output); returning a value replaces the output. */
  registerForwardHook(hook: ForwardHook): RemovableHandle {
    return handle(stateOf(this).forwardHooks, hook);
  }

  /**
   * Registers a hook run during backward with the gradients of the module's tensor arguments and
   * outputs, as PyTorch's register_full_backward_hook. An argument that needs no gradient gets
   * null; an output that got none gets zeros.
   */
  registerFullBackwardHook(hook: FullBackwardHook): RemovableHandle {
    return handle(stateOf(this).backwardHooks, hook);
  }

  // ---- members ----

  /**
   * Adds a buffer: a tensor that is part of the module's state but not a parameter (batch norm's
   * running statistics). It becomes the field `name`; a non-persistent buffer stays out of stateDict.
   */
  registerBuffer(name: string, tensor: Tensor | null, persistent = true): void {
    if (typeof name !== 'string' || name.length === 0 || name.includes('.')) {
      throw new Error(
        `registerBuffer: buffer name must be a non-empty string without '.', got ${JSON.stringify(name)}`,
      );
    }
    if (tensor !== null && !(tensor instanceof Tensor)) {
      throw new TypeError(
        `registerBuffer: buffer '${name}' must be a Tensor or null, got ${typeof tensor}`,
      );
    }
    if (tensor instanceof Parameter)
      throw new TypeError(`registerBuffer: '${name}' is a Parameter; assign it to a field instead`);
    boolArg('registerBuffer', 'persistent', persistent);
    stateOf(this).buffers.set(name, persistent);
    (this as Record<string, unknown>)[name] = tensor;
  }

  /**
   * This module's own parameters, buffers and submodules, in field order. Containers override it;
   * the default reads the instance's fields: a Parameter, a Module, a registered buffer, or an
   * array of Parameters / Modules (named `field.0`, `field.1`, … as a ModuleList would be).
   */
  protected ownMembers(): ModuleMember[] {
    const self = this as unknown as Record<string, unknown>;
    const buffers = stateOf(this).buffers;
    const out: ModuleMember[] = [];
    for (const key of Object.keys(self)) {
      const value = self[key];
      const name = toSnakeCase(key);
      const set = (v: Tensor | Module) => (self[key] = v);
      if (buffers.has(key)) {
        if (value instanceof Tensor)
          out.push({ kind: 'buffer', name, value, persistent: buffers.get(key)!, set });
      } else if (value instanceof Parameter) {
        out.push({ kind: 'parameter', name, value, persistent: true, set });
      } else if (value instanceof Module) {
        out.push({ kind: 'module', name, value, persistent: true, set });
      } else if (Array.isArray(value)) {
        value.forEach((item, i) => {
          const setItem = (v: Tensor | Module) => (value[i] = v);
          if (item instanceof Parameter)
            out.push({
              kind: 'parameter',
              name: `${name}.${i}`,
              value: item,
              persistent: true,
              set: setItem,
            });
          else if (item instanceof Module)
            out.push({
              kind: 'module',
              name: `${name}.${i}`,
              value: item,
              persistent: true,
              set: setItem,
            });
        });
      }
    }
    return out;
  }

  /** Pairs (name, submodule) of the direct children. */
  namedChildren(): [string, Module][] {
    return this.ownMembers()
      .filter((m) => m.kind === 'module')
      .map((m) => [m.name, m.value as Module]);
  }

  children(): Module[] {
    return this.namedChildren().map(([, m]) => m);
  }

  /** This module and every module below it, each once, with dotted names ('' for this one). */
  namedModules(prefix = ''): [string, Module][] {
    const seen = new Set<Module>();
    const out: [string, Module][] = [];
    const visit = (m: Module, name: string) => {
      if (seen.has(m)) return;
      seen.add(m);
      out.push([name, m]);
      for (const [child, c] of m.namedChildren()) visit(c, name ? `${name}.${child}` : child);
    };
    visit(this, prefix);
    return out;
  }

  modules(): Module[] {
    return this.namedModules().map(([, m]) => m);
  }

  private namedTensors(kind: 'parameter' | 'buffer', recurse: boolean): [string, Tensor][] {
    boolArg(
      `${this.constructor.name}.${kind === 'parameter' ? 'parameters' : 'buffers'}`,
      'recurse',
      recurse,
    );
    const seen = new Set<Tensor>();
    const out: [string, Tensor][] = [];
    const owners: [string, Module][] = recurse ? this.namedModules() : [['', this]];
    for (const [prefix, m] of owners) {
      for (const member of m.ownMembers()) {
        if (member.kind !== kind || seen.has(member.value as Tensor)) continue;
        seen.add(member.value as Tensor);
        out.push([prefix ? `${prefix}.${member.name}` : member.name, member.value as Tensor]);
      }
    }
    return out;
  }

  /** Pairs (dotted name, parameter), each parameter once (a shared one under its first name). */
  namedParameters(recurse = true): [string, Parameter][] {
    return this.namedTensors('parameter', recurse) as [string, Parameter][];
  }

  parameters(recurse = true): Parameter[] {
    return this.namedParameters(recurse).map(([, p]) => p);
  }

  namedBuffers(recurse = true): [string, Tensor][] {
    return this.namedTensors('buffer', recurse);
  }

  buffers(recurse = true): Tensor[] {
    return this.namedBuffers(recurse).map(([, b]) => b);
  }

  /** The submodule at a dotted path ('' is this module). */
  getSubmodule(target: string): Module {
    if (target === '') return this;
    const found = this.namedModules().find(([name]) => name === target);
    if (!found)
      throw new Error(`getSubmodule: ${this.constructor.name} has no submodule '${target}'`);
    return found[1];
  }

  // ---- modes and gradients ----

  /** Sets training mode on this module and all below it. */
  train(mode = true): this {
    if (typeof mode !== 'boolean')
      throw new TypeError(`train: mode must be a boolean, got ${typeof mode}`);
    for (const m of this.modules()) m.training = mode;
    return this;
  }

  /** Evaluation mode: train(false). */
  eval(): this {
    return this.train(false);
  }

  /** Sets whether autograd records gradients for every parameter. */
  requiresGrad_(requiresGrad = true): this {
    boolArg(`${this.constructor.name}.requiresGrad_`, 'requiresGrad', requiresGrad);
    for (const p of this.parameters()) p.requiresGrad_(requiresGrad);
    return this;
  }

  /** Clears the gradients of all parameters: to null (the default), or to zeros. */
  zeroGrad({ setToNone = true }: { setToNone?: boolean } = {}): void {
    for (const p of this.parameters()) {
      const grad = p.peekGrad();
      if (grad === null) continue;
      if (setToNone) p.releaseGrad();
      else p.grad = zerosLike(grad);
    }
  }

  /** Calls fn on every submodule (children first) and then on this module, as PyTorch's apply. */
  apply(fn: (module: Module) => void): this {
    for (const child of this.children()) child.apply(fn);
    fn(this);
    return this;
  }

  /**
   * Moves the parameters and buffers to a device and / or converts the floating ones to a dtype
   * (replacing them): `to('float64')`, `to('cpu-reference')`, `to('cpu', 'float64')`,
   * `to({ dtype, device })`. Optimizers must be made after this, as in PyTorch.
   */
  to(target: ToTarget, dtype?: DType): this {
    const wanted = resolveTo(`${this.constructor.name}.to`, target, dtype);
    const convert = (t: Tensor): Tensor => {
      let out = wanted.device === undefined ? t : toDevice(t, wanted.device);
      if (wanted.dtype !== undefined && isFloatingDType(t.dtype) && t.dtype !== wanted.dtype)
        out = out.to(wanted.dtype);
      return out;
    };
    noGrad(() => {
      for (const m of this.modules()) {
        for (const member of m.ownMembers()) {
          if (member.kind === 'module') continue;
          const t = member.value as Tensor;
          const converted = convert(t);
          if (converted === t) continue;
          if (member.kind === 'parameter') {
            const p = new Parameter(converted, t.requiresGrad);
            if (t.grad) p.grad = convert(t.grad);
            member.set(p);
          } else member.set(converted);
        }
      }
    });
    return this;
  }

  double(): this {
    return this.to('float64');
  }

  float(): this {
    return this.to('float32');
  }

  // ---- state ----

  /**
   * Internal: every parameter and buffer slot of this module tree by dotted name (a shared tensor
   * under each of its names, non-persistent buffers too), with a way to replace it (functionalCall).
   */
  tensorSlots(): [string, ModuleMember][] {
    return this.stateMembers('', new Set(), true);
  }

  /** Every (key, member) of the stateDict, with PyTorch's key names; shared members appear under each name. */
  private stateMembers(
    prefix = '',
    ancestors = new Set<Module>(),
    nonPersistent = false,
  ): [string, ModuleMember][] {
    const out: [string, ModuleMember][] = [];
    ancestors.add(this);
    for (const member of this.ownMembers()) {
      const key = prefix + member.name;
      if (member.kind === 'module') {
        // A field pointing back up the tree (a parent reference) is not part of the state.
        if (!ancestors.has(member.value as Module))
          out.push(...(member.value as Module).stateMembers(`${key}.`, ancestors, nonPersistent));
      } else if (member.persistent || nonPersistent) out.push([key, member]);
    }
    ancestors.delete(this);
    return out;
  }

  /**
   * The parameters and persistent buffers by PyTorch's key names (`0.weight`, `bn.running_mean`),
   * detached, sharing storage with the module.
   * @example
   * Object.keys(new Linear(3, 2).stateDict()); // ['weight', 'bias']
   */
  stateDict(): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    for (const [key, member] of this.stateMembers()) out[key] = (member.value as Tensor).detach();
    return out;
  }

  /**
   * Copies values into the parameters and buffers, in place. Throws, naming every problem, when
   * keys are missing or unexpected (with strict, the default) or shapes differ; nothing is copied then.
   */
  loadStateDict(
    stateDict: Record<string, Tensor> | Map<string, Tensor>,
    { strict = true }: { strict?: boolean } = {},
  ): { missingKeys: string[]; unexpectedKeys: string[] } {
    const given =
      stateDict instanceof Map ? new Map(stateDict) : new Map(Object.entries(stateDict));
    const expected = this.stateMembers();
    const expectedKeys = new Set(expected.map(([k]) => k));
    const missingKeys = expected.map(([k]) => k).filter((k) => !given.has(k));
    const unexpectedKeys = [...given.keys()].filter((k) => !expectedKeys.has(k));
    const problems: string[] = [];
    const copies: [Tensor, Tensor][] = [];
    for (const [key, member] of expected) {
      if (!given.has(key)) continue;
      const value = given.get(key);
      const target = member.value as Tensor;
      if (!(value instanceof Tensor)) {
        problems.push(
          `While copying the parameter named "${key}", expected a Tensor, got ${value === null ? 'null' : typeof value}.`,
        );
      } else if (value.ndim !== target.ndim || value.shape.some((s, i) => s !== target.shape[i])) {
        problems.push(
          `size mismatch for ${key}: copying a param with shape ${formatShape(value.shape)} from checkpoint, the shape in current model is ${formatShape(target.shape)}.`,
        );
      } else copies.push([target, value]);
    }
    if (strict) {
      if (unexpectedKeys.length > 0)
        problems.unshift(
          `Unexpected key(s) in state_dict: ${unexpectedKeys.map((k) => `"${k}"`).join(', ')}.`,
        );
      if (missingKeys.length > 0)
        problems.unshift(
          `Missing key(s) in state_dict: ${missingKeys.map((k) => `"${k}"`).join(', ')}.`,
        );
    }
    if (problems.length > 0) {
      throw new Error(
        `Error(s) in loading state_dict for ${this.constructor.name}:\n\t${problems.join('\n\t')}`,
      );
    }
    noGrad(() => {
      for (const [target, value] of copies) target.copy_(value);
    });
    return { missingKeys, unexpectedKeys };
  }

  // ---- printing ----

  /** The text inside the parentheses of this module's line in toString(), as PyTorch's extra_repr. */
  extraRepr(): string {
    return '';
  }

  /** The module tree, printed like PyTorch. */
  toString(): string {
    const extra = this.extraRepr();
    const extraLines = extra ? extra.split('\n') : [];
    const childLines: string[] = [];
    // Array fields print as the ModuleList they stand for.
    const groups: [string, [string, Module][] | Module][] = [];
    for (const [name, child] of this.namedChildren()) {
      const dot = name.indexOf('.');
      if (dot < 0) {
        groups.push([name, child]);
        continue;
      }
      const head = name.slice(0, dot);
      const last = groups[groups.length - 1];
      if (last && last[0] === head && Array.isArray(last[1]))
        last[1].push([name.slice(dot + 1), child]);
      else groups.push([head, [[name.slice(dot + 1), child]]]);
    }
    for (const [name, entry] of groups) {
      const text = Array.isArray(entry)
        ? `ModuleList(\n${entry.map(([i, m]) => `  (${i}): ${addIndent(m.toString(), 2)}`).join('\n')}\n)`
        : entry.toString();
      childLines.push(`(${name}): ${addIndent(text, 2)}`);
    }
    const lines = [...extraLines, ...childLines];
    let main = `${this.constructor.name}(`;
    if (lines.length > 0) {
      if (extraLines.length === 1 && childLines.length === 0) main += extraLines[0];
      else main += `\n  ${lines.join('\n  ')}\n`;
    }
    return `${main})`;
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }
}
