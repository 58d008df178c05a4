/** Small helpers shared by the layers: argument checks and uninitialized parameter storage. */
import { zeros } from '../../tensor/creation.js';
import type { Tensor } from '../../tensor/tensor.js';

/** A float32 tensor for a parameter that reset_parameters() fills right after. */
export function empty(shape: readonly number[]): Tensor {
  return zeros(shape);
}

export function checkPositiveInt(
  layer: string,
  name: string,
  value: number,
  allowZero = false,
): number {
  if (!Number.isInteger(value) || value < (allowZero ? 0 : 1)) {
    throw new RangeError(
      `${layer}: ${name} must be a ${allowZero ? 'non-negative' : 'positive'} integer, got ${String(value)}`,
    );
  }
  return value;
}

export function checkProbability(layer: string, p: number): number {
  if (typeof p !== 'number' || !(p >= 0 && p <= 1))
    throw new RangeError(
      `${layer}: dropout probability has to be between 0 and 1, but got ${String(p)}`,
    );
  return p;
}

/** A number or tuple argument expanded to `n` entries, as PyTorch's _single / _pair. */
export function ntuple(
  layer: string,
  name: string,
  value: number | readonly number[],
  n: number,
): number[] {
  const out = typeof value === 'number' ? new Array<number>(n).fill(value) : [...value];
  if (out.length !== n || out.some((v) => !Number.isInteger(v))) {
    throw new RangeError(
      `${layer}: ${name} must be an integer or ${n} integers, got ${JSON.stringify(value)}`,
    );
  }
  return out;
}
