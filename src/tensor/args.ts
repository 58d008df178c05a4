/**
 * Checks of positional arguments. JavaScript has no keyword arguments, so a PyTorch user writes
 * `x.std(1, { correction: 0 })` where PyTorch says `x.std(1, correction=0)`: an options object
 * where a boolean or a number goes. These helpers reject a value of the wrong type with an error
 * naming the op, the argument and what it got, and read the options object where PyTorch takes
 * those arguments by keyword (`dim`, `keepdim`, `correction`, `unbiased`).
 */
function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** How an argument is named in an error: `the string '1'`, `an options object { keepdim: true }`. */
export function describeArg(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (typeof value === 'string') return `the string '${value}'`;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return `an array [${value.map((v) => String(v)).join(', ')}]`;
  if (isPlainObject(value)) {
    let text = '';
    try {
      text = JSON.stringify(value)
        .replace(/"([^"]+)":/g, '$1: ')
        .replace(/,/g, ', ');
    } catch {
      text = '{…}';
    }
    return `an options object ${text.length > 60 ? `${text.slice(0, 57)}…}` : text}`;
  }
  return `a ${(value as object).constructor?.name ?? typeof value}`;
}

export function boolArg(op: string, name: string, value: unknown): boolean {
  if (typeof value !== 'boolean')
    throw new TypeError(`${op}: ${name} must be a boolean, got ${describeArg(value)}`);
  return value;
}

export function intArg(op: string, name: string, value: unknown): number {
  if (typeof value !== 'number')
    throw new TypeError(`${op}: ${name} must be an integer, got ${describeArg(value)}`);
  if (!Number.isInteger(value))
    throw new RangeError(`${op}: ${name} must be an integer, got ${value}`);
  return value;
}

export function numberArg(op: string, name: string, value: unknown): number {
  if (typeof value !== 'number')
    throw new TypeError(`${op}: ${name} must be a number, got ${describeArg(value)}`);
  return value;
}

const NO_OPTIONS = Object.freeze({});

/** A dim argument of a reduction: one dim, several, or (undefined) all. */
export type Dims = number | readonly number[];

/** The keyword arguments of a reduction, given as an options object. */
export interface ReduceOptions {
  dim?: Dims | null;
  keepdim?: boolean;
}

/**
 * A reduction's `(dim, keepdim)` as PyTorch reads them: positionally (`sum(1, true)`) or by
 * keyword (`sum({ dim: 1, keepdim: true })`, `sum(1, { keepdim: true })`), with `keys` the
 * further keyword-only options the op takes (var's `correction`). `extra` is an options object
 * the op takes after keepdim (`var(dim, keepdim, { correction })`).
 */
export function reduceArgs<K extends string = never>(
  op: string,
  dim: unknown,
  keepdim: unknown,
  keys: readonly K[] = [],
  extra?: unknown,
): { dim: Dims | undefined; keepdim: boolean; options: Partial<Record<K, unknown>> } {
  // The common call, sum(1) or sum([0, 2], true), checked without allocating (the dims
  // themselves are checked by normalizeDims).
  if (
    extra === undefined &&
    (keepdim === undefined || typeof keepdim === 'boolean') &&
    (dim === undefined || typeof dim === 'number' || Array.isArray(dim))
  )
    return { dim: dim as Dims | undefined, keepdim: keepdim ?? false, options: NO_OPTIONS };
  let options: Record<string, unknown> = {};
  let optionsAt: 'dim' | 'keepdim' | 'extra' | null = null;
  const take = (value: unknown, at: 'dim' | 'keepdim' | 'extra') => {
    if (optionsAt !== null)
      throw new TypeError(`${op}: give one options object, last; got a second one as ${at}`);
    options = value as Record<string, unknown>;
    optionsAt = at;
  };
  if (isPlainObject(dim)) take(dim, 'dim');
  if (isPlainObject(keepdim)) take(keepdim, 'keepdim');
  if (extra !== undefined && extra !== null) {
    if (!isPlainObject(extra))
      throw new TypeError(`${op}: options must be an object, got ${describeArg(extra)}`);
    take(extra, 'extra');
  }
  const allowed = ['dim', 'keepdim', ...keys];
  for (const key of Object.keys(options))
    if (!allowed.includes(key))
      throw new TypeError(
        `${op}: unknown option '${key}'; ${op} takes ${allowed.map((k) => `'${k}'`).join(', ')}`,
      );
  if (optionsAt === 'dim' && keepdim !== undefined)
    throw new TypeError(
      `${op}: an options object given as dim must be the last argument, got keepdim ${describeArg(keepdim)} after it`,
    );
  let dims: unknown = optionsAt === 'dim' ? options.dim : dim;
  if (optionsAt !== 'dim' && optionsAt !== null && options.dim !== undefined)
    throw new TypeError(`${op}: dim is given both positionally and in the options object`);
  if (dims === null) dims = undefined;
  if (
    dims !== undefined &&
    typeof dims !== 'number' &&
    !(Array.isArray(dims) && dims.every((d) => typeof d === 'number'))
  )
    throw new TypeError(
      `${op}: dim must be an integer or an array of integers, got ${describeArg(dims)}`,
    );
  let keep: unknown = optionsAt === 'keepdim' ? options.keepdim : keepdim;
  if (optionsAt !== 'keepdim' && optionsAt !== null && options.keepdim !== undefined) {
    if (optionsAt === 'extra' && keepdim !== undefined)
      throw new TypeError(`${op}: keepdim is given both positionally and in the options object`);
    keep = options.keepdim;
  }
  return {
    dim: dims as Dims | undefined,
    keepdim: keep === undefined ? false : boolArg(op, 'keepdim', keep),
    options: options as Partial<Record<K, unknown>>,
  };
}

/** A dim that must be one integer (argmax, max along a dim), from reduceArgs' result. */
export function singleDim(op: string, dim: Dims | undefined): number | undefined {
  if (dim === undefined || typeof dim === 'number') return dim;
  throw new TypeError(`${op}: dim must be one integer, got ${describeArg(dim)}`);
}
