/** Dropout: zeroes elements at random during training and rescales the rest (inverted dropout). */
import { rand } from '../../tensor/creation.js';
import type { Generator } from '../../tensor/random.js';
import type { Tensor } from '../../tensor/tensor.js';
import { floatInput } from './checks.js';
import { boolArg, numberArg } from '../../tensor/args.js';

/**
 * Zeroes each element with probability p and scales the survivors by 1 / (1 − p), so the
 * expected value is unchanged and evaluation needs no rescaling. Returns x itself when not
 * training or when p = 0. Pass a Generator for reproducible masks.
 * @example
 * const y = F.dropout(x, 0.2, model.training, new Generator(42));
 */
export function dropout(x: Tensor, p = 0.5, training = true, generator?: Generator): Tensor {
  const input = floatInput('dropout', x);
  numberArg('dropout', 'p', p);
  if (!(p >= 0 && p <= 1)) {
    throw new RangeError(`dropout: probability has to be between 0 and 1, but got ${String(p)}`);
  }
  boolArg('dropout', 'training', training);
  if (!training || p === 0) return input;
  // p = 1 drops everything; the general formula would divide by zero.
  if (p === 1) return input.mul(0);
  const noise = rand(input.shape, { dtype: input.dtype, device: input.device, generator });
  const mask = noise
    .ge(p)
    .to(input.dtype)
    .mul(1 / (1 - p));
  return input.mul(mask);
}
