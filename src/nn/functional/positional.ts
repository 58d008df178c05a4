/**
 * Positional encodings that have no parameters: the sinusoidal table of "Attention Is All You
 * Need" and rotary position embeddings (RoPE, Su et al.), which rotate pairs of q / k features by
 * an angle proportional to the position, so that q·k depends on the positions' difference.
 */
import { arange } from '../../tensor/creation.js';
import { formatShape } from '../../tensor/shape.js';
import type { Tensor } from '../../tensor/tensor.js';
import { cat } from '../../autograd/ops/shape_ops.js';
import type { DType } from '../../tensor/dtype.js';
import { floatInput } from './checks.js';

function checkEvenDim(op: string, dim: number): void {
  if (!Number.isInteger(dim) || dim < 2 || dim % 2 !== 0)
    throw new RangeError(`${op}: the feature size must be an even integer >= 2, got ${dim}`);
}

/** Angles [length, dim/2]: (offset + position) · base^(−2i/dim). */
function angles(
  op: string,
  length: number,
  dim: number,
  base: number,
  offset: number,
  dtype: DType,
): Tensor {
  checkEvenDim(op, dim);
  if (!Number.isInteger(length) || length < 1)
    throw new RangeError(`${op}: length must be a positive integer, got ${length}`);
  const positions = arange(offset, offset + length, 1, { dtype: 'float64' }).unsqueeze(1);
  const inv = arange(0, dim, 2, { dtype: 'float64' })
    .mul(-Math.log(base) / dim)
    .exp();
  return positions.mul(inv.unsqueeze(0)).to(dtype);
}

export interface SinusoidalOptions {
  /** The wavelength base (default 10000). */
  base?: number;
  /** The first position (default 0). */
  offset?: number;
  dtype?: DType;
}

/**
 * The [length, dim] table pe[p, 2i] = sin(p · base^(−2i/dim)), pe[p, 2i+1] = cos(…), added to
 * token embeddings to give a transformer the positions.
 * @example
 * const x = embed.call(tokens); // [N, L, 64]
 * const y = x.add(F.sinusoidalPositionalEncoding(tokens.shape[1], 64));
 */
export function sinusoidalPositionalEncoding(
  length: number,
  dim: number,
  { base = 10000, offset = 0, dtype = 'float32' }: SinusoidalOptions = {},
): Tensor {
  const a = angles('sinusoidalPositionalEncoding', length, dim, base, offset, 'float64');
  // Interleave sin and cos: [L, dim/2, 2] → [L, dim].
  return cat([a.sin().unsqueeze(2), a.cos().unsqueeze(2)], 2)
    .reshape([length, dim])
    .to(dtype);
}

export interface RotaryOptions {
  /** The wavelength base θ (default 10000). */
  base?: number;
  /** The position of the first row (default 0): the cache length when decoding step by step. */
  offset?: number;
}

/**
 * Rotary position embedding of x [..., L, D] (D even) in the "rotate half" layout of GPT-NeoX
 * and Hugging Face's LLaMA: feature i is paired with feature i + D/2, and pair i at position p is
 * rotated by the angle p · base^(−2i/D): x·cos + rotateHalf(x)·sin.
 * @example
 * const q2 = F.rotaryEmbedding(q); // q [N, heads, L, headDim]
 * const [q3, k3] = F.applyRotaryPosEmb(q, k);
 */
export function rotaryEmbedding(
  x: Tensor,
  { base = 10000, offset = 0 }: RotaryOptions = {},
): Tensor {
  const op = 'rotaryEmbedding';
  const input = floatInput(op, x);
  if (input.ndim < 2)
    throw new Error(
      `${op}: expected an input of shape [..., L, D], got ${formatShape(input.shape)}`,
    );
  const l = input.shape[input.ndim - 2];
  const d = input.shape[input.ndim - 1];
  const half = angles(op, l, d, base, offset, 'float64');
  const full = cat([half, half], 1);
  const cos = full.cos().to(input.dtype);
  const sin = full.sin().to(input.dtype);
  const [x1, x2] = input.chunk(2, -1);
  const rotated = cat([x2.neg(), x1], -1);
  return input.mul(cos).add(rotated.mul(sin));
}

/**
 * RoPE applied to queries and keys together (same positions), as LLaMA's apply_rotary_pos_emb.
 * @example
 * const [qr, kr] = F.applyRotaryPosEmb(q, k); // then attention on qr, kr
 */
export function applyRotaryPosEmb(
  q: Tensor,
  k: Tensor,
  options: RotaryOptions = {},
): [Tensor, Tensor] {
  return [rotaryEmbedding(q, options), rotaryEmbedding(k, options)];
}
