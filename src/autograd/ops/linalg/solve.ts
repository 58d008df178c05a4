/**
 * LU-based ops: linalg.solve and linalg.inv (forward: LU with partial pivoting on the host), and
 * linalg.lstsq composed from pinv. Backward rules are PyTorch's, written with these same
 * differentiable ops, so double backward works: solve's gB = solve(Aᵀ, gX), gA = −gB·Xᵀ;
 * inv's gA = −Xᵀ·g·Xᵀ.
 */
import { broadcastShapes, formatShape, shapesEqual } from '../../../tensor/shape.js';
import { Tensor } from '../../../tensor/tensor.js';
import { noGrad } from '../../grad_mode.js';
import { assertTensor, record } from '../../define.js';
import {
  assertMatrices,
  assertSquare,
  batchPrefix,
  fromHost,
  hostMatrices,
  named,
} from './host.js';
import { luFactor, luSolve } from './kernels.js';
import { stringOption, numberOption } from './options.js';
import { dtypeEps, pinv, svdvals } from './svd.js';

function singular(op: string, a: Tensor, b: number, pivot: number): Error {
  return new Error(
    `${op}: ${batchPrefix(a, b)}The diagonal element ${pivot + 1} is zero, the ${op === 'linalg.inv' ? 'inversion' : 'solve'} ` +
      `could not be completed because the input matrix is singular (its LU factorization has an exactly zero pivot)`,
  );
}

/** X with A·X = B for contiguous-batch A [batch..., n, n] and B [batch..., n, k] of the same batch shape. */
function solveSameBatch(op: string, a: Tensor, b: Tensor): Tensor {
  const A = hostMatrices(op, a);
  const B = hostMatrices(op, b);
  const n = A.n;
  const k = B.n;
  const out = new Float64Array(A.batch * n * k);
  for (let i = 0; i < A.batch; i++) {
    const f = luFactor(A.data.subarray(i * n * n, (i + 1) * n * n), n);
    if (f.zeroPivot >= 0) throw singular(op, a, i, f.zeroPivot);
    out.set(luSolve(f, n, B.data.subarray(i * n * k, (i + 1) * n * k), k), i * n * k);
  }
  const x = fromHost(out, b.shape, b.dtype, b);
  return record('LinalgSolveBackward', x, [a, b], [a, x], (g, [sA, sX], needs) => {
    const gB = solve(sA.mT, g);
    return [needs[0] ? gB.matmul(sX.mT).neg() : null, needs[1] ? gB : null];
  });
}

/** Whether B is a vector right-hand side for A (PyTorch's linalg_solve_is_vector_rhs). */
export function isVectorRhs(a: Tensor, b: Tensor): boolean {
  return b.ndim === 1 || (b.ndim === a.ndim - 1 && shapesEqual(b.shape, a.shape.slice(0, -1)));
}

/**
 * Solves A·X = B for square, invertible A (torch.linalg.solve), batched with broadcasting over
 * leading dims. B is a vector (shape [..., n]) when it has one dim, or one dim fewer than A with
 * A's leading shape; otherwise a batch of matrices [..., n, k]. A singular matrix (an exactly zero
 * pivot) is an error naming the batch element.
 * @example
 * linalg.solve(tensor([[3, 1], [1, 2]]), tensor([9, 8])).dataSync(); // Float32Array [2, 3]
 */
export function solve(input: Tensor, other: Tensor): Tensor {
  const op = 'linalg.solve';
  const a = assertSquare(op, input);
  const b = assertTensor(op, other, 'B');
  if (b.dtype !== a.dtype)
    throw new TypeError(`${op}: A and B must have the same dtype, got ${a.dtype} and ${b.dtype}`);
  const vector = isVectorRhs(a, b);
  const b2 = vector ? b.unsqueeze(-1) : b;
  if (b2.ndim < 2)
    throw new Error(
      `${op}: B must be a vector or a batch of matrices, got shape ${formatShape(b.shape)}`,
    );
  const n = a.shape[a.ndim - 1];
  if (b2.shape[b2.ndim - 2] !== n)
    throw new Error(
      `${op}: incompatible shapes of A and B for the equation AX = B (${formatShape(a.shape)} and ${formatShape(b.shape)}): B needs ${n} rows`,
    );
  const lead = broadcastShapes(op, a.shape.slice(0, -2), b2.shape.slice(0, -2));
  const k = b2.shape[b2.ndim - 1];
  const x = solveSameBatch(op, a.expand([...lead, n, n]), b2.expand([...lead, n, k]));
  return vector ? x.squeeze(-1) : x;
}

/**
 * The inverse of square matrices (torch.linalg.inv), batched. A singular matrix is an error naming
 * the batch element.
 * @example
 * linalg.inv(tensor([[2, 0], [0, 4]])).dataSync(); // Float32Array [0.5, 0, 0, 0.25]
 */
export function inv(input: Tensor): Tensor {
  const op = 'linalg.inv';
  const a = assertSquare(op, input);
  const { data, batch, n } = hostMatrices(op, a);
  const identity = new Float64Array(n * n);
  for (let i = 0; i < n; i++) identity[i * n + i] = 1;
  const out = new Float64Array(batch * n * n);
  for (let i = 0; i < batch; i++) {
    const f = luFactor(data.subarray(i * n * n, (i + 1) * n * n), n);
    if (f.zeroPivot >= 0) throw singular(op, a, i, f.zeroPivot);
    out.set(luSolve(f, n, identity, n), i * n * n);
  }
  const x = fromHost(out, a.shape, a.dtype, a);
  return record('LinalgInvBackward', x, [a], [x], (g, [sX]) => [
    sX.mT.matmul(g).matmul(sX.mT).neg(),
  ]);
}

/** `[solution, residuals, rank, singularValues]`, also as named fields. */
export type LstsqResult = [Tensor, Tensor, Tensor, Tensor] & {
  solution: Tensor;
  residuals: Tensor;
  rank: Tensor;
  singularValues: Tensor;
};

export interface LstsqOptions {
  /** Singular values below rcond·σ_max count as zero. Default: machine epsilon of the dtype times max(m, n). */
  rcond?: number;
  /** Which LAPACK driver's outputs to mimic: 'gelsy' (default on CPU), 'gels', 'gelsd', 'gelss'. */
  driver?: 'gels' | 'gelsy' | 'gelsd' | 'gelss';
}

/**
 * Least-squares solution of A·X ≈ B (torch.linalg.lstsq), batched with broadcasting: the
 * minimum-norm X minimising ‖A·X − B‖, computed as pinv(A)·B through the SVD for every driver
 * (so rank-deficient A works with every driver). The other outputs follow PyTorch's driver rules:
 * `residuals` (the squared residual of each column) when m > n, A has full rank and the driver is
 * not 'gelsy', else empty; `rank` (int32) for all drivers but 'gels'; `singularValues` for 'gelsd'
 * and 'gelss'. The gradient of the solution is PyTorch's (pinv's backward); `residuals` are
 * differentiable here (torch 1.13 gives them no gradient).
 * @example
 * const { solution } = linalg.lstsq(tensor([[1, 0], [0, 1], [1, 1]]), tensor([[1], [2], [3]]));
 */
export function lstsq(input: Tensor, other: Tensor, options: LstsqOptions = {}): LstsqResult {
  const op = 'linalg.lstsq';
  const a = assertMatrices(op, input);
  const b = assertTensor(op, other, 'B');
  if (b.dtype !== a.dtype)
    throw new TypeError(`${op}: A and B must have the same dtype, got ${a.dtype} and ${b.dtype}`);
  const driver = stringOption(op, 'driver', options, 'gelsy', [
    'gels',
    'gelsy',
    'gelsd',
    'gelss',
  ] as const);
  const [m, n] = a.shape.slice(-2);
  const rcond = numberOption(op, 'rcond', options) ?? dtypeEps(a) * Math.max(m, n);
  const vector = isVectorRhs(a, b);
  const b2 = vector ? b.unsqueeze(-1) : b;
  if (b2.ndim < 2 || b2.shape[b2.ndim - 2] !== m)
    throw new Error(
      `${op}: incompatible shapes of A and B for the equation AX = B (${formatShape(a.shape)} and ${formatShape(b.shape)}): B needs ${m} rows`,
    );
  const x = pinv(a, { rtol: rcond }).matmul(b2);
  const sv = svdvals(a.detach());
  const rank = noGrad(() => sv.gt(sv.amax(-1, true).mul(rcond)).to('int32').sum(-1));
  const fullRank = m > n && rank.dataSync().every((r) => r === n);
  const residuals =
    driver !== 'gelsy' && fullRank
      ? a.matmul(x).sub(b2).square().sum(-2)
      : fromHost([], [0], a.dtype, a);
  const solution = vector ? x.squeeze(-1) : x;
  return named(['solution', 'residuals', 'rank', 'singularValues'] as const, [
    solution,
    residuals,
    driver === 'gels' ? fromHost([], [0], 'int32', a) : rank,
    driver === 'gelsd' || driver === 'gelss' ? sv : fromHost([], [0], a.dtype, a),
  ]);
}
