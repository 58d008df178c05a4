/**
 * Determinants: linalg.det and linalg.slogdet, from the host LU factorization (the product of the
 * pivots and the permutation's sign). Backward: det's gA = g·det(A)·A⁻ᵀ (the cofactor matrix),
 * through the SVD where some det(A) is exactly 0, so singular matrices get their true cofactors;
 * slogdet's gA = g·A⁻ᵀ. Both use the differentiable inv / svd, so double backward works.
 */
import { Tensor } from '../../../tensor/tensor.js';
import { record } from '../../define.js';
import { where } from '../elementwise.js';
import { assertSquare, eyeMask, fromHost, hostMatrices, named } from './host.js';
import { luFactor } from './kernels.js';
import { inv } from './solve.js';
import { svd } from './svd.js';

/** sign(det) and log|det| of every matrix of `a` (sign 0 and −∞ for singular ones). */
function logDeterminants(op: string, a: Tensor): { sign: Float64Array; logAbs: Float64Array } {
  const { data, batch, n } = hostMatrices(op, a);
  const sign = new Float64Array(batch);
  const logAbs = new Float64Array(batch);
  for (let b = 0; b < batch; b++) {
    const f = luFactor(data.subarray(b * n * n, (b + 1) * n * n), n);
    let s = f.sign;
    let log = 0;
    for (let i = 0; i < n; i++) {
      const d = f.lu[i * n + i];
      if (d < 0) s = -s;
      log += Math.log(Math.abs(d));
    }
    sign[b] = f.zeroPivot >= 0 ? 0 : s;
    logAbs[b] = f.zeroPivot >= 0 ? -Infinity : log;
  }
  return { sign, logAbs };
}

/**
 * The cofactor matrix det(A)·A⁻ᵀ, also for singular A: with A = U·diag(S)·Vh it is
 * det(U)·det(Vh)·U·diag(Π_{j≠i} S_j)·Vh.
 */
function cofactors(a: Tensor, d: Tensor): Tensor {
  const singular = d.dataSync().some((x) => x === 0);
  if (!singular) return d.unsqueeze(-1).unsqueeze(-1).mul(inv(a).mT);
  const { U, S, Vh } = svd(a);
  const n = a.shape[a.ndim - 1];
  const others = where(eyeMask(n, a), 1, S.unsqueeze(-2).expand([...S.shape, n]))
    .to(a.dtype)
    .prod(-1);
  const orientation = det(U).mul(det(Vh)).unsqueeze(-1).unsqueeze(-1);
  return U.mul(others.unsqueeze(-2)).matmul(Vh).mul(orientation);
}

/**
 * Determinants of square matrices (torch.linalg.det), batched over leading dims.
 * @example
 * linalg.det(tensor([[1, 2], [3, 4]])).itemSync(); // -2
 */
export function det(input: Tensor): Tensor {
  const op = 'linalg.det';
  const a = assertSquare(op, input);
  const { sign, logAbs } = logDeterminants(op, a);
  const values = sign.map((s, i) => (s === 0 ? 0 : s * Math.exp(logAbs[i])));
  const out = fromHost(values, a.shape.slice(0, -2), a.dtype, a);
  return record('LinalgDetBackward', out, [a], [a, out], (g, [sA, sD]) => [
    g.unsqueeze(-1).unsqueeze(-1).mul(cofactors(sA, sD)),
  ]);
}

/** `[sign, logabsdet]`, also as named fields. */
export type SlogdetResult = [Tensor, Tensor] & { sign: Tensor; logabsdet: Tensor };

/**
 * Sign and log of the absolute value of the determinant (torch.linalg.slogdet), batched: stable
 * where det itself would overflow or underflow. Singular matrices give sign 0 and logabsdet −∞.
 * `sign` has no gradient; logabsdet's is A⁻ᵀ (an error for singular A, as inv).
 * @example
 * const { sign, logabsdet } = linalg.slogdet(tensor([[1, 2], [3, 4]])); // -1, log 2
 */
export function slogdet(input: Tensor): SlogdetResult {
  const op = 'linalg.slogdet';
  const a = assertSquare(op, input);
  const { sign, logAbs } = logDeterminants(op, a);
  const lead = a.shape.slice(0, -2);
  const logabsdet = fromHost(logAbs, lead, a.dtype, a);
  record('LinalgSlogdetBackward', logabsdet, [a], [a], (g, [sA]) => [
    g.unsqueeze(-1).unsqueeze(-1).mul(inv(sA).mT),
  ]);
  return named(['sign', 'logabsdet'] as const, [fromHost(sign, lead, a.dtype, a), logabsdet]);
}
