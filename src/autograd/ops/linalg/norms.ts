/**
 * linalg.vectorNorm and linalg.matrixNorm, composed from reductions and svdvals, so their
 * gradients (and second derivatives) come from those ops: the 2-norm's gradient at 0 is 0 and ties
 * of a max share the gradient, as in PyTorch.
 */
import { isFloatingDType } from '../../../tensor/dtype.js';
import { formatShape, normalizeDim } from '../../../tensor/shape.js';
import type { Tensor } from '../../../tensor/tensor.js';
import { assertTensor } from '../../define.js';
import { norm } from '../reduction.js';
import { assertMatrices } from './host.js';
import { svdvals } from './svd.js';

function checkKeepdim(op: string, keepdim: unknown): boolean {
  if (typeof keepdim !== 'boolean')
    throw new TypeError(
      `${op}: keepdim must be a boolean, got ${String(keepdim)} (${typeof keepdim})`,
    );
  return keepdim;
}

/**
 * The vector ord-norm of `x` over `dim` (all elements by default), as torch.linalg.vector_norm:
 * ord 2 (default), 1, Infinity, -Infinity, 0 (the count of non-zeros), or any other real number
 * ((Σ|x|^ord)^(1/ord), negative ord included).
 * @example
 * linalg.vectorNorm(tensor([3, 4])).itemSync(); // 5
 * linalg.vectorNorm(tensor([[1, -2], [3, 4]]), Infinity, 1).dataSync(); // Float32Array [2, 4]
 */
export function vectorNorm(
  input: Tensor,
  ord = 2,
  dim?: number | readonly number[],
  keepdim = false,
): Tensor {
  const op = 'linalg.vectorNorm';
  const x = assertTensor(op, input, 'x');
  if (!isFloatingDType(x.dtype))
    throw new TypeError(`${op}: expected a floating point input, got ${x.dtype}`);
  if (typeof ord !== 'number' || Number.isNaN(ord))
    throw new TypeError(
      `${op}: ord must be a number (Infinity for the max norm), got ${String(ord)}`,
    );
  checkKeepdim(op, keepdim);
  if (ord >= 0 || ord === -Infinity) return norm(x, ord, dim, keepdim);
  // Negative orders (a harmonic-type mean): composed, so the gradient follows from pow and sum.
  const axes = dim === undefined ? undefined : typeof dim === 'number' ? [dim] : [...dim];
  return x
    .abs()
    .pow(ord)
    .sum(axes, keepdim)
    .pow(1 / ord);
}

/** The two matrix dims of `dim`, normalised and distinct. */
function matrixDims(op: string, a: Tensor, dim: readonly number[]): [number, number] {
  if (!Array.isArray(dim) || dim.length !== 2)
    throw new Error(`${op}: dim must be a list of two dimensions, got ${JSON.stringify(dim)}`);
  const d0 = normalizeDim(op, dim[0], a.ndim);
  const d1 = normalizeDim(op, dim[1], a.ndim);
  if (d0 === d1)
    throw new Error(
      `${op}: dims must be different, got [${dim.join(', ')}] for shape ${formatShape(a.shape)}`,
    );
  return [d0, d1];
}

/**
 * The matrix ord-norm over the two dims `dim` (default the last two), as
 * torch.linalg.matrix_norm: 'fro' (default), 'nuc' (sum of singular values), 2 / -2 (largest /
 * smallest singular value), 1 / -1 (max / min column sum of |A|), Infinity / -Infinity (max / min
 * row sum). The spectral and nuclear norms differentiate through svdvals.
 * @example
 * linalg.matrixNorm(tensor([[1, 2], [3, 4]]), 1).itemSync(); // 6
 */
export function matrixNorm(
  input: Tensor,
  ord: number | 'fro' | 'nuc' = 'fro',
  dim: readonly number[] = [-2, -1],
  keepdim = false,
): Tensor {
  const op = 'linalg.matrixNorm';
  const a = assertMatrices(op, input);
  checkKeepdim(op, keepdim);
  const [d0, d1] = matrixDims(op, a, dim);
  if (ord === 'fro') return norm(a, 2, [d0, d1], keepdim);
  if (ord === 'nuc' || ord === 2 || ord === -2) {
    // The singular values of the matrices spanned by (d0, d1), with the other dims in front.
    const rest = a.shape.map((_, i) => i).filter((i) => i !== d0 && i !== d1);
    const s = svdvals(a.permute([...rest, d0, d1]));
    let out = ord === 'nuc' ? s.sum(-1) : ord === 2 ? s.amax(-1) : s.amin(-1);
    if (keepdim) for (const d of [d0, d1].sort((x, y) => x - y)) out = out.unsqueeze(d);
    return out;
  }
  if (ord === 1 || ord === -1 || ord === Infinity || ord === -Infinity) {
    // 1: sum over rows (d0) then the max over columns; ∞: the other way round.
    const [summed, reduced] = Math.abs(ord) === 1 ? [d0, d1] : [d1, d0];
    const sums = a.abs().sum(summed, true);
    const out = ord > 0 ? sums.amax(reduced, true) : sums.amin(reduced, true);
    return keepdim ? out : out.squeeze([d0, d1]);
  }
  throw new RangeError(
    `${op}: ord must be 'fro', 'nuc', 2, -2, 1, -1, Infinity or -Infinity, got ${String(ord)}`,
  );
}
