/**
 * `functionalCall`: runs a module with other tensors in place of its parameters and buffers, as
 * torch.func.functional_call. The parameters become an ordinary argument of a function, so the
 * function transforms apply to a real model: `func.grad` over the parameters, `func.vmap` of it
 * for per-sample gradients, `func.jacrev`, `func.hessian`.
 */
import { Tensor } from '../../tensor/tensor.js';
import { Module, type ModuleMember } from '../module.js';

/** Tensors by the dotted names of namedParameters() / namedBuffers() (`0.weight`, `bn.running_mean`). */
export type ParamsAndBuffers = Record<string, Tensor> | Map<string, Tensor>;

export interface FunctionalCallOptions {
  /** Every parameter and buffer must be given (default false: those not given keep their own). */
  strict?: boolean;
  /**
   * A tensor the module holds under several names (tied weights) is replaced under all of them
   * when it is given under one (default true, as PyTorch).
   */
  tieWeights?: boolean;
}

const op = 'functionalCall';

function entriesOf(value: unknown, which: string): [string, unknown][] {
  if (value instanceof Map) return [...value.entries()];
  if (value !== null && typeof value === 'object' && !Array.isArray(value))
    return Object.entries(value);
  throw new TypeError(
    `${op}: ${which} must be an object or Map of tensors by name (or an array of them), got ${value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value}`,
  );
}

/** The given tensors by name, from one dict or several (a name may appear in only one). */
function givenTensors(paramsAndBuffers: unknown): Map<string, Tensor> {
  const dicts = Array.isArray(paramsAndBuffers) ? paramsAndBuffers : [paramsAndBuffers];
  const given = new Map<string, Tensor>();
  dicts.forEach((dict, i) => {
    const which = Array.isArray(paramsAndBuffers) ? `paramsAndBuffers[${i}]` : 'paramsAndBuffers';
    for (const [name, value] of entriesOf(dict, which)) {
      if (!(value instanceof Tensor))
        throw new TypeError(
          `${op}: '${name}' in ${which} must be a Tensor, got ${value === null ? 'null' : typeof value}`,
        );
      if (given.has(name)) throw new Error(`${op}: '${name}' is given more than once`);
      given.set(name, value);
    }
  });
  return given;
}

interface Swap {
  member: ModuleMember;
  original: Tensor;
  replacement: Tensor;
}

/** Which slots get which tensor, with PyTorch's checks on names and tied weights. */
function planSwaps(
  module: Module,
  given: Map<string, Tensor>,
  { strict = false, tieWeights = true }: FunctionalCallOptions,
): Swap[] {
  const slots = module.tensorSlots();
  const names = new Set(slots.map(([name]) => name));
  const unknown = [...given.keys()].filter((name) => !names.has(name));
  if (unknown.length > 0) {
    throw new Error(
      `${op}: ${module.constructor.name} has no parameter or buffer named ${unknown.map((n) => `'${n}'`).join(', ')}; its names are ${[...names].map((n) => `'${n}'`).join(', ')}`,
    );
  }
  // A tied tensor given under one name stands in for it under every name.
  const byOriginal = new Map<Tensor, { name: string; tensor: Tensor }>();
  for (const [name, member] of slots) {
    const replacement = given.get(name);
    if (replacement === undefined || !tieWeights) continue;
    const original = member.value as Tensor;
    const earlier = byOriginal.get(original);
    if (earlier && earlier.tensor !== replacement)
      throw new Error(
        `${op}: '${earlier.name}' and '${name}' are the same (tied) tensor of the module but were given different tensors; give one of them, or pass { tieWeights: false }`,
      );
    byOriginal.set(original, { name, tensor: replacement });
  }
  const swaps: Swap[] = [];
  const missing: string[] = [];
  for (const [name, member] of slots) {
    const original = member.value as Tensor;
    const replacement = given.get(name) ?? byOriginal.get(original)?.tensor;
    if (replacement === undefined) missing.push(name);
    else swaps.push({ member, original, replacement });
  }
  if (strict && missing.length > 0)
    throw new Error(
      `${op}: with strict, every parameter and buffer must be given; missing ${missing.map((n) => `'${n}'`).join(', ')}`,
    );
  return swaps;
}

/**
 * Calls `module` on `args` (an array of arguments, or a single one) with the tensors of
 * `paramsAndBuffers` in place of its parameters and buffers of the same names, and puts its own
 * back afterwards. Gradients flow to the given tensors, not to the module's parameters. An
 * in-place update the module makes to a buffer (batch norm's running statistics) goes to the
 * given tensor, as in PyTorch.
 * @example
 * const params = Object.fromEntries(model.namedParameters().map(([k, p]) => [k, p.detach()]));
 * const loss = (p: Record<string, Tensor>, x: Tensor, y: Tensor) =>
 *   F.crossEntropy(func.functionalCall(model, p, x.unsqueeze(0)), y.unsqueeze(0));
 * // per-sample gradients: one tree of gradients per example
 * const grads = func.vmap(func.grad(loss), { inDims: [null, 0, 0] })(params, xs, ys);
 */
export function functionalCall(
  module: Module,
  paramsAndBuffers: ParamsAndBuffers | readonly ParamsAndBuffers[],
  args: unknown,
  options: FunctionalCallOptions = {},
): any {
  if (!(module instanceof Module))
    throw new TypeError(
      `${op}: expected module to be an nn.Module, got ${module === null ? 'null' : typeof module}`,
    );
  const swaps = planSwaps(module, givenTensors(paramsAndBuffers), options);
  const list = Array.isArray(args) ? args : [args];
  let done = 0;
  try {
    for (const swap of swaps) {
      swap.member.set(swap.replacement);
      done++;
    }
    return (module.call as (...a: unknown[]) => unknown)(...list);
  } finally {
    for (let i = done - 1; i >= 0; i--) swaps[i].member.set(swaps[i].original);
  }
}
