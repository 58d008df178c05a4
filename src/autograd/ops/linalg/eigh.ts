/**
 * Symmetric eigendecomposition: linalg.eigh and linalg.eigvalsh. The forward is cyclic Jacobi on
 * the host (kernels.ts); each output is its own graph node whose rule is PyTorch's
 * linalg_eig_backward (Hermitian case) restricted to that output's cotangent. The rule is linear
 * in (gL, gV), so the two nodes' gradients sum to PyTorch's, and a loss of the eigenvalues alone
 * never divides by λⱼ − λᵢ (PyTorch's "gV undefined" branch).
 */
import { Tensor } from '../../../tensor/tensor.js';
import { record } from '../../define.js';
import { assertSquare, fillDiagonal, fromHost, hostMatrices, named } from './host.js';
import { symmetricEigen } from './kernels.js';
import { stringOption } from './options.js';

/** `[eigenvalues, eigenvectors]`, also as named fields (torch's named tuple). */
export type EighResult = [Tensor, Tensor] & { eigenvalues: Tensor; eigenvectors: Tensor };

export interface EighOptions {
  /** Which triangle of A is read: 'L' (default, as PyTorch) or 'U'. The other is ignored. */
  UPLO?: 'L' | 'U';
}

/**
 * Eigenvalues (ascending) and orthonormal eigenvectors (columns) of symmetric matrices, batched
 * over leading dims: A = V·diag(L)·Vᵀ. Only the lower triangle is read (`UPLO: 'U'` for the upper).
 *
 * Signs: PyTorch (LAPACK) returns each eigenvector with an arbitrary sign. chainrule fixes it: the
 * entry of largest magnitude of each eigenvector (the first on ties) is positive. Compare with
 * PyTorch after normalising its vectors the same way, or through sign-free quantities (V·diag(L)·Vᵀ,
 * |V|).
 *
 * Gradients are PyTorch's: gA = V·(diag(gL) + (VᵀgV − gVᵀV)/2 ⊘ E)·Vᵀ with E_ij = λⱼ − λᵢ. As in
 * PyTorch they are unstable (infinite) when eigenvalues repeat and the loss depends on the
 * eigenvectors; a loss of the eigenvalues alone is fine. The gradient is symmetric: it assumes that
 * A's perturbations are symmetric too.
 * @example
 * const { eigenvalues, eigenvectors } = linalg.eigh(tensor([[2, 1], [1, 2]]));
 * eigenvalues.dataSync(); // Float32Array [1, 3]
 */
export function eigh(input: Tensor, options: EighOptions | 'L' | 'U' = {}): EighResult {
  const op = 'linalg.eigh';
  const a = assertSquare(op, input);
  const uplo = stringOption(op, 'UPLO', options, 'L', ['L', 'U'] as const);
  const { data, batch, n } = hostMatrices(op, a);
  const values = new Float64Array(batch * n);
  const vectors = new Float64Array(batch * n * n);
  for (let b = 0; b < batch; b++) {
    const r = symmetricEigen(data.subarray(b * n * n, (b + 1) * n * n), n, uplo === 'L');
    values.set(r.values, b * n);
    vectors.set(r.vectors, b * n * n);
  }
  const L = fromHost(values, a.shape.slice(0, -1), a.dtype, a);
  const V = fromHost(vectors, a.shape, a.dtype, a);
  // The outputs are saved as the tensors the caller gets, so with createGraph the rules are
  // differentiated through L's and V's own nodes (double backward).
  record('LinalgEighBackward', L, [a], [V], (gL, [sV]) => [sV.mul(gL.unsqueeze(-2)).matmul(sV.mT)]);
  record('LinalgEighBackward', V, [a], [L, V], (gV, [sL, sV]) => {
    const vtg = sV.mT.matmul(gV);
    const e = fillDiagonal(sL.unsqueeze(-2).sub(sL.unsqueeze(-1)), 1);
    // The skew part has a zero diagonal, so the ones on E's diagonal divide nothing.
    const inner = vtg.sub(vtg.mT).mul(0.5).div(e);
    return [sV.matmul(inner).matmul(sV.mT)];
  });
  return named(['eigenvalues', 'eigenvectors'] as const, [L, V]);
}

/**
 * The eigenvalues of symmetric matrices, ascending (torch.linalg.eigvalsh). Differentiable, with
 * gradient V·diag(gL)·Vᵀ, stable even where eigenvalues repeat.
 * @example
 * linalg.eigvalsh(tensor([[2, 1], [1, 2]])).dataSync(); // Float32Array [1, 3]
 */
export function eigvalsh(input: Tensor, options: EighOptions | 'L' | 'U' = {}): Tensor {
  assertSquare('linalg.eigvalsh', input);
  return eigh(input, options).eigenvalues;
}
