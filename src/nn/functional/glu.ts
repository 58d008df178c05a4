/** Gated linear units: GLU (Dauphin et al.) and SwiGLU (Shazeer, "GLU Variants Improve Transformer"). */
import { normalizeDim } from '../../tensor/shape.js';
import type { Tensor } from '../../tensor/tensor.js';
import { formatShape } from '../../tensor/shape.js';
import { floatInput } from './checks.js';

function halves(op: string, x: Tensor, dim: number): [Tensor, Tensor] {
  const input = floatInput(op, x);
  if (input.ndim === 0) throw new Error(`${op}: expected at least one dim, got a 0-d tensor`);
  const d = normalizeDim(op, dim, input.ndim);
  if (input.shape[d] % 2 !== 0)
    throw new Error(
      `${op}: halving only works on an even size, but dim ${dim} of shape ${formatShape(input.shape)} has size ${input.shape[d]}`,
    );
  const [a, b] = input.chunk(2, d);
  return [a, b];
}

/**
 * a · σ(b), where a and b are the two halves of x along `dim`, as torch.nn.functional.glu.
 * @example
 * F.glu(randn([4, 10])).shape; // [4, 5]
 */
export function glu(x: Tensor, dim = -1): Tensor {
  const [a, b] = halves('glu', x, dim);
  return a.mul(b.sigmoid());
}

/**
 * silu(a) · b, where a and b are the two halves of x along `dim`: the gate of a SwiGLU
 * feed-forward block whose two input projections are computed as one (nn.SwiGLU keeps them apart).
 * @example
 * F.swiglu(randn([4, 10])).shape; // [4, 5]
 */
export function swiglu(x: Tensor, dim = -1): Tensor {
  const [a, b] = halves('swiglu', x, dim);
  return a.mul(a.sigmoid()).mul(b);
}
