/**
 * The `linalg` namespace (torch.linalg in camelCase): decompositions, solvers, determinants and
 * norms, batched over leading dims, float32 and float64, each differentiable. Multi-output ops
 * return an array that also carries named fields, like `max(dim)`: `const { Q, R } = linalg.qr(A)`
 * or `const [Q, R] = linalg.qr(A)`.
 */
export { eigh, eigvalsh, type EighResult, type EighOptions } from './eigh.js';
export { svd, svdvals, pinv, type SvdResult, type SvdOptions, type PinvOptions } from './svd.js';
export { qr, type QrResult, type QrOptions } from './qr.js';
export { cholesky, type CholeskyOptions } from './cholesky.js';
export { solve, inv, lstsq, type LstsqResult, type LstsqOptions } from './solve.js';
export { det, slogdet, type SlogdetResult } from './det.js';
export { vectorNorm, matrixNorm } from './norms.js';
