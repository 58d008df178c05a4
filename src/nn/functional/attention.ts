/**
 * Scaled dot-product attention, softmax(Q·Kᵀ·scale + mask)·V, and the mask handling that
 * MultiheadAttention shares with it. Without a mask tensor, the scale and the causal mask are
 * part of one softmax op (autograd/ops/scaled_softmax.ts: no mask is built, no scaled copy of the
 * scores); boolean mask tensors are applied with maskedFill on the scores (no float mask is built
 * for them), float ones added.
 */
import { ones } from '../../tensor/creation.js';
import { formatShape } from '../../tensor/shape.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { Generator } from '../../tensor/random.js';
import { scaledSoftmax } from '../../autograd/ops/scaled_softmax.js';
import { dropout } from './dropout.js';
import { floatInput } from './checks.js';

export interface ScaledDotProductAttentionOptions {
  /**
   * Broadcastable to [..., L, S]. Boolean: true where a query may attend to a key (PyTorch's
   * scaled_dot_product_attention convention); floating: added to the scores.
   */
  attnMask?: Tensor | null;
  /** Dropout on the attention weights (default 0; applied whenever it is > 0, as PyTorch). */
  dropoutP?: number;
  /** Attend only to keys at or before the query's position (a lower-triangular [L, S] mask). */
  isCausal?: boolean;
  /** Multiplies Q·Kᵀ (default 1/√E). */
  scale?: number | null;
  /** For reproducible dropout. */
  generator?: Generator;
}

/** Throws unless `mask` is bool or `dtype` and broadcasts to [..., L, S] (`scores`' shape). */
export function checkMask(
  op: string,
  name: string,
  mask: Tensor,
  scores: readonly number[],
  dtype: string,
): void {
  if (mask.dtype !== 'bool' && mask.dtype !== dtype)
    throw new TypeError(
      `${op}: ${name} must be bool or ${dtype} (the query's dtype), got ${mask.dtype}`,
    );
  const ok =
    mask.ndim <= scores.length &&
    mask.shape.every((d, i) => {
      const s = scores[scores.length - mask.ndim + i];
      return d === s || d === 1;
    });
  if (!ok || mask.ndim < 2)
    throw new Error(
      `${op}: ${name} of shape ${formatShape(mask.shape)} does not broadcast to the attention scores' shape ${formatShape(scores)} ([..., L, S])`,
    );
}

/**
 * Applies an attention mask to scores: a bool mask where `keep` is true keeps the score and
 * puts −∞ elsewhere; a float mask is added.
 */
export function applyMask(scores: Tensor, mask: Tensor, keepWhereTrue: boolean): Tensor {
  if (mask.dtype === 'bool')
    return scores.maskedFill(keepWhereTrue ? mask.logicalNot() : mask, -Infinity);
  return scores.add(mask);
}

/** The [L, S] bool mask of a causal attention: query i sees keys j ≤ i. */
export function causalMask(l: number, s: number, device?: string): Tensor {
  return ones([l, s], { dtype: 'bool', device }).tril();
}

/**
 * softmax(Q·Kᵀ·scale + mask)·V over the last two dims: q [..., L, E], k [..., S, E],
 * v [..., S, Ev] → [..., L, Ev]. The leading dims broadcast.
 * @example
 * const q = randn([2, 4, 8, 16]); // [batch, heads, L, E]
 * F.scaledDotProductAttention(q, q, q, { isCausal: true }).shape; // [2, 4, 8, 16]
 */
export function scaledDotProductAttention(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  options: ScaledDotProductAttentionOptions = {},
): Tensor {
  const op = 'scaledDotProductAttention';
  const { attnMask = null, dropoutP = 0, isCausal = false, scale = null, generator } = options;
  const query = floatInput(op, q, 'query');
  const key = floatInput(op, k, 'key');
  const value = floatInput(op, v, 'value');
  if (query.ndim < 2 || key.ndim < 2 || value.ndim < 2)
    throw new Error(
      `${op}: query, key and value need at least 2 dims [..., L, E], got ${formatShape(query.shape)}, ${formatShape(key.shape)} and ${formatShape(value.shape)}`,
    );
  const e = query.shape[query.ndim - 1];
  const s = key.shape[key.ndim - 2];
  if (key.shape[key.ndim - 1] !== e || value.shape[value.ndim - 2] !== s)
    throw new Error(
      `${op}: expected key [..., S, ${e}] and value [..., S, Ev] with the same S, got query ${formatShape(query.shape)}, key ${formatShape(key.shape)}, value ${formatShape(value.shape)}`,
    );
  if (key.dtype !== query.dtype || value.dtype !== query.dtype)
    throw new TypeError(
      `${op}: query, key and value must have one dtype, got ${query.dtype}, ${key.dtype} and ${value.dtype}`,
    );
  if (isCausal && attnMask !== null)
    throw new Error(`${op}: give either attnMask or isCausal, not both`);
  const factor = scale ?? 1 / Math.sqrt(e);
  const scores = query.matmul(key.transpose(-2, -1));
  let weights: Tensor;
  if (attnMask !== null) {
    checkMask(op, 'attnMask', attnMask, scores.shape, query.dtype);
    weights = applyMask(scores.mul(factor), attnMask, true).softmax(-1);
  } else weights = scaledSoftmax(scores, factor, isCausal); // the scale and the mask in one op
  if (dropoutP > 0) weights = dropout(weights, dropoutP, true, generator);
  return weights.matmul(value);
}
