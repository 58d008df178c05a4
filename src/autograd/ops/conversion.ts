/**
 * `.to()`: conversion to another dtype and moves to another device, with their derivatives (the
 * gradient goes back converted / moved the other way). The argument is checked first, so that an
 * unknown dtype or device is named with the ones that exist.
 */
import { backendNames, getBackend } from '../../backend/backend.js';
import { DTYPES, type DType } from '../../tensor/dtype.js';
import { Tensor } from '../../tensor/tensor.js';
import { record } from '../define.js';
import { cast } from './elementwise.js';

/** `.to({ dtype, device })`: either or both. */
export interface ToOptions {
  dtype?: DType;
  device?: string;
}

/** What `.to()` takes first: a dtype, a device name, a tensor (its dtype and device) or options. */
export type ToTarget = DType | string | Tensor | ToOptions;

const isDType = (value: unknown): value is DType =>
  typeof value === 'string' && (DTYPES as readonly string[]).includes(value);

function describe(value: unknown): string {
  if (typeof value === 'string') return `'${value}'`;
  if (value === null || value === undefined) return String(value);
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? `a ${value.constructor?.name ?? 'object'}` : String(value);
}

function unknownTarget(op: string, value: unknown, what: string): Error {
  return new TypeError(
    `${op}: unknown ${what} ${describe(value)}; dtypes: ${DTYPES.join(', ')}; devices: ${backendNames().join(', ')}`,
  );
}

function checkDevice(op: string, value: unknown): string {
  if (typeof value === 'string' && backendNames().includes(value)) return value;
  throw unknownTarget(op, value, 'device');
}

function checkDType(op: string, value: unknown): DType {
  if (isDType(value)) return value;
  throw unknownTarget(op, value, 'dtype');
}

/**
 * The dtype and device that `.to(target, dtype?)` asks for, as PyTorch reads its overloads:
 * `to(dtype)`, `to(device)`, `to(device, dtype)`, `to(tensor)` and `to({ dtype, device })`.
 */
export function resolveTo(op: string, target: unknown, dtype?: unknown): ToOptions {
  const out: ToOptions = {};
  if (target instanceof Tensor) {
    out.dtype = target.dtype;
    out.device = target.device;
  } else if (isDType(target)) {
    out.dtype = target;
  } else if (typeof target === 'string') {
    if (!backendNames().includes(target)) throw unknownTarget(op, target, 'dtype or device');
    out.device = target;
  } else if (target !== null && typeof target === 'object' && !Array.isArray(target)) {
    const options = target as Record<string, unknown>;
    for (const key of Object.keys(options))
      if (key !== 'dtype' && key !== 'device')
        throw new TypeError(`${op}: unknown option '${key}'; expected dtype and/or device`);
    if (options.dtype !== undefined) out.dtype = checkDType(op, options.dtype);
    if (options.device !== undefined) out.device = checkDevice(op, options.device);
  } else {
    throw unknownTarget(op, target, 'dtype or device');
  }
  if (dtype !== undefined) {
    if (typeof target !== 'string' || isDType(target))
      throw new TypeError(`${op}: a second argument (dtype) only follows a device name`);
    out.dtype = checkDType(op, dtype);
  }
  return out;
}

/**
 * `x` on `device`: a copy there (or x itself if it is there already). The gradient moves back.
 * @example
 * const y = x.to('cpu-reference');
 */
export function toDevice(x: Tensor, device: string): Tensor {
  if (x.device === device) return x;
  const backend = getBackend(device);
  if (!x.backend.canReadSync)
    throw new Error(
      `to: cannot move a tensor off ${x.device} synchronously; read it with await data() and create it on ${device}`,
    );
  const values = x.backend.readSync(x);
  const out = Tensor.fromStorage(backend.fromValues(x.dtype, values), x.shape, x.dtype, backend);
  const from = x.device;
  return record('ToCopyBackward', out, [x], [], (g) => [toDevice(g, from)]);
}

/** Tensor.to: see resolveTo for the forms it takes. */
export function to(x: Tensor, target: unknown, dtype?: unknown): Tensor {
  const wanted = resolveTo('to', target, dtype);
  const moved = wanted.device === undefined ? x : toDevice(x, wanted.device);
  return wanted.dtype === undefined ? moved : cast(moved, wanted.dtype);
}
