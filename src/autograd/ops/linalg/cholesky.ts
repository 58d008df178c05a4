/**
 * linalg.cholesky: A = L·Lᵀ on the host (Cholesky–Banachiewicz); backward as PyTorch's
 * cholesky_backward: gA = L⁻ᵀ·Φ·L⁻¹ with Φ the symmetric part of tril(Lᵀ·gL) (diagonal halved),
 * written with the differentiable inv, so double backward works.
 */
import { Tensor } from '../../../tensor/tensor.js';
import { record } from '../../define.js';
import { assertSquare, batchPrefix, fromHost, hostMatrices } from './host.js';
import { choleskyLower } from './kernels.js';
import { boolOption } from './options.js';
import { inv } from './solve.js';

export interface CholeskyOptions {
  /** Return the upper factor U = Lᵀ (A = Uᵀ·U), reading A's upper triangle. Default false. */
  upper?: boolean;
}

/**
 * The Cholesky factor of symmetric positive-definite matrices (torch.linalg.cholesky), batched:
 * lower-triangular L with A = L·Lᵀ and a positive diagonal. Only the lower triangle of A is read
 * (the upper one with `upper: true`). A matrix that is not positive-definite is an error naming its
 * batch element and the order of the failing leading minor, as in PyTorch. The gradient is
 * symmetric (it assumes symmetric perturbations of A).
 * @example
 * linalg.cholesky(tensor([[4, 2], [2, 5]])).dataSync(); // Float32Array [2, 0, 1, 2]
 */
export function cholesky(input: Tensor, options: CholeskyOptions | boolean = {}): Tensor {
  const op = 'linalg.cholesky';
  const a = assertSquare(op, input);
  const upper = boolOption(op, 'upper', options, false);
  const { data, batch, n } = hostMatrices(op, a);
  const out = new Float64Array(batch * n * n);
  for (let b = 0; b < batch; b++) {
    const r = choleskyLower(data.subarray(b * n * n, (b + 1) * n * n), n, !upper);
    if ('failedMinor' in r)
      throw new Error(
        `${op}: ${batchPrefix(a, b)}The factorization could not be completed because the input is not positive-definite ` +
          `(the leading minor of order ${r.failedMinor} is not positive-definite)`,
      );
    const base = b * n * n;
    for (let i = 0; i < n; i++)
      for (let j = 0; j <= i; j++)
        out[base + (upper ? j * n + i : i * n + j)] = r.factor[i * n + j];
  }
  const factor = fromHost(out, a.shape, a.dtype, a);
  return record('LinalgCholeskyBackward', factor, [a], [factor], (g, [sF]) => {
    const l = upper ? sF.mT : sF;
    const gL = upper ? g.mT : g;
    const p = l.mT.matmul(gL).tril();
    const phi = p.add(p.tril(-1).mT).mul(0.5);
    const lInv = inv(l);
    return [lInv.mT.matmul(phi).matmul(lInv)];
  });
}
