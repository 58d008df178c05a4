/** The option checks the curvature tools share: counts, tolerances and where random vectors come from. */
import { Generator, defaultGenerator } from '../tensor/random.js';

export function optionsObject(op: string, options: unknown): void {
  if (options === null || typeof options !== 'object')
    throw new TypeError(`${op}: options must be an object, got ${String(options)}`);
}

export function positiveInteger(op: string, name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1)
    throw new RangeError(`${op}: ${name} must be a positive integer, got ${String(value)}`);
  return value;
}

export function nonNegative(op: string, name: string, value: unknown): number {
  if (typeof value !== 'number' || !(value >= 0) || !Number.isFinite(value))
    throw new RangeError(`${op}: ${name} must be a finite number >= 0, got ${String(value)}`);
  return value;
}

/** The generator an option set asks for: a new one from `seed`, the one given, or the default one. */
export function optionGenerator(
  op: string,
  options: { seed?: number; generator?: Generator },
): Generator {
  if (options.seed !== undefined && options.generator !== undefined)
    throw new Error(`${op}: pass seed or generator, not both`);
  if (options.seed !== undefined) {
    if (typeof options.seed !== 'number' || !Number.isFinite(options.seed))
      throw new TypeError(`${op}: seed must be a finite number, got ${String(options.seed)}`);
    return new Generator(options.seed);
  }
  if (options.generator !== undefined && !(options.generator instanceof Generator))
    throw new TypeError(`${op}: generator must be a Generator`);
  return options.generator ?? defaultGenerator;
}

/** n independent ±1 entries (Rademacher), the probe vectors of Hutchinson and SLQ. */
export function rademacher(n: number, generator: Generator): Float64Array {
  return Float64Array.from({ length: n }, () => (generator.nextUint32() & 1 ? 1 : -1));
}
