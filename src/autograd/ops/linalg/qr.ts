/**
 * linalg.qr: Householder QR on the host with LAPACK's reflector convention, so Q and R (signs
 * included) are LAPACK's. Q and R are separate graph nodes; their rules split PyTorch's
 * linalg_qr_backward by cotangent. For m ≥ n: gA = (Q·copyutl(M) + gQ)·R⁻ᵀ with M = gR·Rᵀ − Qᵀ·gQ
 * (copyutl mirrors the upper triangle onto the lower). For m < n, A = Q·[R₁ R₂]: the square part
 * takes that rule with gQ + Q·R₂·gR₂ᵀ, and A's last n − m columns get Q·gR₂.
 */
import { zeros } from '../../../tensor/creation.js';
import { Tensor } from '../../../tensor/tensor.js';
import { record } from '../../define.js';
import { cat } from '../shape_ops.js';
import { assertMatrices, fromHost, hostMatrices, named } from './host.js';
import { householderQr } from './kernels.js';
import { stringOption } from './options.js';
import { solve } from './solve.js';

/** `[Q, R]`, also as named fields. */
export type QrResult = [Tensor, Tensor] & { Q: Tensor; R: Tensor };

export interface QrOptions {
  /** 'reduced' (default): Q [..., m, k], R [..., k, n] with k = min(m, n); 'complete': Q [..., m, m], R [..., m, n]; 'r': R only (Q is empty). */
  mode?: 'reduced' | 'complete' | 'r';
}

/** The rule for a tall or square factorization (R square): (Q·copyutl(M) + gQ)·R⁻ᵀ. */
function tallBackward(q: Tensor, r: Tensor, gQ: Tensor | null, gR: Tensor | null): Tensor {
  const fromR = gR ? gR.matmul(r.mT) : null;
  const fromQ = gQ ? q.mT.matmul(gQ) : null;
  const m = fromR && fromQ ? fromR.sub(fromQ) : fromR ? fromR : fromQ!.neg();
  const sym = m.triu().add(m.triu(1).mT);
  const b = gQ ? q.matmul(sym).add(gQ) : q.matmul(sym);
  return solve(r, b.mT).mT;
}

/**
 * QR decomposition A = Q·R (torch.linalg.qr), batched: Q with orthonormal columns, R upper
 * triangular. Signs are LAPACK's (Householder reflectors, R's diagonal may be negative), as in
 * PyTorch. Differentiable for 'reduced', and for 'complete' when m ≤ n; as in PyTorch the backward
 * of mode 'r' and of 'complete' with m > n is an error. Gradients need R's leading square block to
 * be invertible (A of full rank).
 * @example
 * const { Q, R } = linalg.qr(randn([4, 3]));
 * Q.matmul(R); // ≈ A
 */
export function qr(
  input: Tensor,
  options: QrOptions | 'reduced' | 'complete' | 'r' = {},
): QrResult {
  const op = 'linalg.qr';
  const a = assertMatrices(op, input);
  const mode = stringOption(op, 'mode', options, 'reduced', ['reduced', 'complete', 'r'] as const);
  const { data, batch, m, n } = hostMatrices(op, a);
  const k = Math.min(m, n);
  const qCols = mode === 'complete' ? m : k;
  const qData = new Float64Array(batch * m * qCols);
  const rData = new Float64Array(batch * qCols * n);
  for (let b = 0; b < batch; b++) {
    const f = householderQr(data.subarray(b * m * n, (b + 1) * m * n), m, n, qCols);
    qData.set(f.q, b * m * qCols);
    rData.set(f.r, b * qCols * n);
  }
  const lead = a.shape.slice(0, -2);
  const Q =
    mode === 'r' ? fromHost([], [0], a.dtype, a) : fromHost(qData, [...lead, m, qCols], a.dtype, a);
  const R = fromHost(rData, [...lead, qCols, n], a.dtype, a);
  const check = () => {
    if (mode === 'r')
      throw new Error(
        `${op}: the derivative of linalg.qr depends on Q, which is not computed when mode='r'; use mode 'reduced' to differentiate through linalg.qr`,
      );
    if (mode === 'complete' && m > n)
      throw new Error(
        `${op}: the QR decomposition is not differentiable when mode='complete' and nrows > ncols (here ${m} > ${n})`,
      );
  };
  record('LinalgQrBackward', R, [a], [Q, R], (gR, [sQ, sR]) => {
    check();
    if (m >= n) return [tallBackward(sQ, sR, null, gR)];
    const r2 = sR.narrow(-1, m, n - m);
    const gR2 = gR.narrow(-1, m, n - m);
    const gQ = sQ.matmul(r2).matmul(gR2.mT);
    const left = tallBackward(sQ, sR.narrow(-1, 0, m), gQ, gR.narrow(-1, 0, m));
    return [cat([left, sQ.matmul(gR2)], -1)];
  });
  if (mode !== 'r')
    record('LinalgQrBackward', Q, [a], [Q, R], (gQ, [sQ, sR]) => {
      check();
      if (m >= n) return [tallBackward(sQ, sR, gQ, null)];
      const left = tallBackward(sQ, sR.narrow(-1, 0, m), gQ, null);
      return [cat([left, zeros([...lead, m, n - m], { dtype: a.dtype })], -1)];
    });
  return named(['Q', 'R'] as const, [Q, R]);
}
