/**
 * Singular value decomposition (linalg.svd, svdvals) and the pseudo-inverse built on it
 * (linalg.pinv). The forward is one-sided Jacobi on the host; U, S and Vh are each a graph node
 * whose rule is PyTorch's svd_backward restricted to that output's cotangent (the formula is linear
 * in (gU, gS, gVh), so the three sum to PyTorch's), written in differentiable tensor ops.
 */
import { Tensor } from '../../../tensor/tensor.js';
import { record } from '../../define.js';
import { assertMatrices, fillDiagonal, fromHost, hostMatrices, named, skew } from './host.js';
import { singularValueDecomposition } from './kernels.js';
import { boolOption, numberOption } from './options.js';

/** `[U, S, Vh]`, also as named fields. */
export type SvdResult = [Tensor, Tensor, Tensor] & { U: Tensor; S: Tensor; Vh: Tensor };

export interface SvdOptions {
  /** U of shape [..., m, m] and Vh of [..., n, n] (true, PyTorch's default), or the reduced k = min(m, n) columns / rows. */
  fullMatrices?: boolean;
}

/** The host decomposition of every matrix of `a`, as tensors U [..., m, uCols], S [..., k], Vh [..., vCols, n]. */
function decompose(op: string, a: Tensor, full: boolean): { U: Tensor; S: Tensor; Vh: Tensor } {
  const { data, batch, m, n } = hostMatrices(op, a);
  const k = Math.min(m, n);
  const uCols = full ? m : k;
  const vRows = full ? n : k;
  const u = new Float64Array(batch * m * uCols);
  const s = new Float64Array(batch * k);
  const vh = new Float64Array(batch * vRows * n);
  for (let b = 0; b < batch; b++) {
    const r = singularValueDecomposition(data.subarray(b * m * n, (b + 1) * m * n), m, n, full);
    u.set(r.u, b * m * uCols);
    s.set(r.s, b * k);
    // Vh = Vᵀ: row j of Vh is column j of V (n × vCols).
    const base = b * vRows * n;
    for (let j = 0; j < vRows; j++)
      for (let i = 0; i < n; i++) vh[base + j * n + i] = r.v[i * r.vCols + j];
  }
  const lead = a.shape.slice(0, -2);
  return {
    U: fromHost(u, [...lead, m, uCols], a.dtype, a),
    S: fromHost(s, [...lead, k], a.dtype, a),
    Vh: fromHost(vh, [...lead, vRows, n], a.dtype, a),
  };
}

/** E_ij = S_j² − S_i² with ones on the diagonal (where the skew terms it divides are zero). */
function gapMatrix(s: Tensor): Tensor {
  const s2 = s.mul(s);
  return fillDiagonal(s2.unsqueeze(-2).sub(s2.unsqueeze(-1)), 1);
}

/**
 * Singular value decomposition A = U·diag(S)·Vh, batched over leading dims; S is descending.
 * `fullMatrices` (default true, as PyTorch) gives square U and Vh; their extra columns / rows are an
 * arbitrary orthonormal completion and receive no gradient (as in PyTorch).
 *
 * Signs: LAPACK's are arbitrary; chainrule makes the largest-magnitude entry of each column of U
 * positive (the first on ties) and flips the matching row of Vh with it.
 *
 * Gradients are PyTorch's svd_backward; like PyTorch's they are unstable (infinite) when singular
 * values repeat (or, for non-square A, are zero) and the loss depends on U or Vh. A loss of S alone
 * is always fine.
 * @example
 * const { U, S, Vh } = linalg.svd(randn([4, 3]), { fullMatrices: false });
 * U.mul(S.unsqueeze(-2)).matmul(Vh); // ≈ A
 */
export function svd(input: Tensor, options: SvdOptions | boolean = {}): SvdResult {
  const op = 'linalg.svd';
  const a = assertMatrices(op, input);
  const full = boolOption(op, 'fullMatrices', options, true);
  const { U, S, Vh } = decompose(op, a, full);
  const [m, n] = a.shape.slice(-2);
  const k = Math.min(m, n);
  // The gradient sees only the first k columns of U and rows of Vh (PyTorch narrows them too).
  const thin = (u: Tensor, vh: Tensor) =>
    full ? [u.narrow(-1, 0, k), vh.narrow(-2, 0, k)] : [u, vh];
  record('LinalgSvdBackward', S, [a], [U, Vh], (gS, [sU, sVh]) => {
    const [u, vh] = thin(sU, sVh);
    return [m >= n ? u.matmul(gS.unsqueeze(-1).mul(vh)) : u.mul(gS.unsqueeze(-2)).matmul(vh)];
  });
  record('LinalgSvdBackward', U, [a], [U, S, Vh], (gUFull, [sU, sS, sVh]) => {
    const [u, vh] = thin(sU, sVh);
    const gU = full ? gUFull.narrow(-1, 0, k) : gUFull;
    let inner = skew(u.mT.matmul(gU)).mul(sS.unsqueeze(-2)).div(gapMatrix(sS));
    if (m > n) {
      // The part of gU outside U's span: (I − UUᵀ)·gU·S⁻¹.
      const gUSinv = gU.div(sS.unsqueeze(-2));
      inner = u
        .matmul(inner)
        .add(gUSinv)
        .sub(u.matmul(u.mT.matmul(gUSinv)));
      return [inner.matmul(vh)];
    }
    return [u.matmul(inner).matmul(vh)];
  });
  record('LinalgSvdBackward', Vh, [a], [U, S, Vh], (gVhFull, [sU, sS, sVh]) => {
    const [u, vh] = thin(sU, sVh);
    const gVh = full ? gVhFull.narrow(-2, 0, k) : gVhFull;
    let inner = sS
      .unsqueeze(-1)
      .mul(skew(vh.matmul(gVh.mT)))
      .div(gapMatrix(sS));
    if (m < n) {
      // The part of gVh outside Vh's row space: S⁻¹·gVh·(I − VhᵀVh).
      const sInvGVh = gVh.div(sS.unsqueeze(-1));
      inner = inner.matmul(vh).add(sInvGVh).sub(sInvGVh.matmul(vh.mT).matmul(vh));
      return [u.matmul(inner)];
    }
    return [u.matmul(inner).matmul(vh)];
  });
  return named(['U', 'S', 'Vh'] as const, [U, S, Vh]);
}

/**
 * Singular values, descending (torch.linalg.svdvals). The gradient U·diag(gS)·Vh is stable even
 * where singular values repeat.
 * @example
 * linalg.svdvals(tensor([[3, 0], [0, -4]])).dataSync(); // Float32Array [4, 3]
 */
export function svdvals(input: Tensor): Tensor {
  assertMatrices('linalg.svdvals', input);
  return svd(input, { fullMatrices: false }).S;
}

export interface PinvOptions {
  /** Singular values at or below max(atol, rtol·σ_max) are treated as zero. Default 0. */
  atol?: number;
  /** Default: machine epsilon of the dtype times max(m, n) when atol is not given, else 0. */
  rtol?: number;
}

/** Machine epsilon of a floating dtype. */
export function dtypeEps(t: Tensor): number {
  return t.dtype === 'float32' ? 2 ** -23 : Number.EPSILON;
}

/**
 * Moore–Penrose pseudo-inverse through the SVD (torch.linalg.pinv), batched; singular values at or
 * below max(atol, rtol·σ_max) count as zero. Its gradient is PyTorch's pinv_backward, valid where
 * the rank does not change.
 * @example
 * linalg.pinv(tensor([[1, 2], [3, 4], [5, 6]])).shape; // [2, 3]
 */
export function pinv(input: Tensor, options: PinvOptions = {}): Tensor {
  const op = 'linalg.pinv';
  const a = assertMatrices(op, input);
  const atol = numberOption(op, 'atol', options) ?? 0;
  const [m, n] = a.shape.slice(-2);
  const rtol =
    numberOption(op, 'rtol', options) ??
    (options.atol === undefined ? dtypeEps(a) * Math.max(m, n) : 0);
  const out = pinvForward(op, a, atol, rtol);
  return record('LinalgPinvBackward', out, [a], [a, out], (g, [sA, sP]) => [
    pinvBackward(g, sP, sA),
  ]);
}

/** V·diag(1/σ above the cutoff)·Uᵀ on the host. */
function pinvForward(op: string, a: Tensor, atol: number, rtol: number): Tensor {
  const { data, batch, m, n } = hostMatrices(op, a);
  const k = Math.min(m, n);
  const out = new Float64Array(batch * n * m);
  for (let b = 0; b < batch; b++) {
    const r = singularValueDecomposition(data.subarray(b * m * n, (b + 1) * m * n), m, n, false);
    const cutoff = Math.max(atol, rtol * (r.s[0] ?? 0));
    const base = b * n * m;
    for (let j = 0; j < k; j++) {
      if (!(r.s[j] > cutoff)) continue;
      const inv = 1 / r.s[j];
      for (let i = 0; i < n; i++) {
        const vij = r.v[i * r.vCols + j] * inv;
        if (vij === 0) continue;
        for (let c = 0; c < m; c++) out[base + i * m + c] += vij * r.u[c * r.uCols + j];
      }
    }
  }
  return fromHost(out, [...a.shape.slice(0, -2), n, m], a.dtype, a);
}

/** PyTorch's pinv_backward, arranged so the products stay of the smaller dimension. */
export function pinvBackward(g: Tensor, p: Tensor, a: Tensor): Tensor {
  const [m, n] = a.shape.slice(-2);
  const pH = p.mT;
  const gH = g.mT;
  if (m <= n) {
    const k = gH.matmul(p);
    const kpH = k.matmul(pH);
    return p
      .matmul(k)
      .mT.neg()
      .add(kpH)
      .sub(a.matmul(p).matmul(kpH))
      .add(pH.matmul(p).matmul(gH.sub(k.matmul(a))));
  }
  const k = p.matmul(gH);
  const pHk = pH.matmul(k);
  return k
    .matmul(p)
    .mT.neg()
    .add(gH.sub(a.matmul(k)).matmul(p).matmul(pH))
    .add(pHk)
    .sub(pHk.matmul(p).matmul(a));
}
