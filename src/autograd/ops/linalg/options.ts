/**
 * PyTorch's linalg arguments that may be passed positionally or by keyword: here a value or an
 * options object. A value of the wrong type is an error naming the op and the argument.
 */

function pick(options: unknown, name: string): unknown {
  if (options !== null && typeof options === 'object' && !Array.isArray(options))
    return (options as Record<string, unknown>)[name];
  return options;
}

function describe(value: unknown): string {
  return typeof value === 'string' ? `'${value}'` : `${String(value)} (${typeof value})`;
}

/** A string argument among `allowed`, given as itself or as `{ [name]: value }`. */
export function stringOption<const T extends readonly string[]>(
  op: string,
  name: string,
  options: unknown,
  fallback: T[number],
  allowed: T,
): T[number] {
  const value = pick(options, name) ?? fallback;
  if (typeof value !== 'string' || !allowed.includes(value))
    throw new TypeError(
      `${op}: ${name} must be one of ${allowed.map((a) => `'${a}'`).join(', ')}, got ${describe(value)}`,
    );
  return value;
}

/** A boolean argument, given as itself or as `{ [name]: value }`. */
export function boolOption(op: string, name: string, options: unknown, fallback: boolean): boolean {
  const value = pick(options, name) ?? fallback;
  if (typeof value !== 'boolean')
    throw new TypeError(`${op}: ${name} must be a boolean, got ${describe(value)}`);
  return value;
}

/** An optional number argument read from an options object. */
export function numberOption(op: string, name: string, options: unknown): number | undefined {
  const value = pick(options, name);
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || Number.isNaN(value))
    throw new TypeError(`${op}: ${name} must be a number, got ${describe(value)}`);
  return value;
}
