/**
 * The numeric loops of `linalg`, one matrix at a time, on row-major Float64Arrays (float32 inputs
 * are computed in float64 and rounded once at the end). They are ours, not LAPACK's: cyclic Jacobi
 * for the symmetric eigenproblem, one-sided (Hestenes) Jacobi for the SVD, both accurate to working
 * precision and simple; Householder QR with LAPACK's reflector convention (dlarfg), so R's
 * diagonal signs are LAPACK's; Cholesky–Banachiewicz; LU with partial pivoting (first largest
 * pivot, as idamax). The ops in this folder batch them and attach the derivatives.
 */

const EPS = Number.EPSILON;

/**
 * Flips the first `count` columns of the rows×cols matrix `vectors` (and the same columns of
 * `partner`, partnerRows×partnerCols) so that each one's entry of largest magnitude (the first on
 * ties) is positive: a deterministic choice among the ± pairs LAPACK leaves to chance.
 */
function normalizeColumnSigns(
  vectors: Float64Array,
  rows: number,
  cols: number,
  count: number,
  partner?: { data: Float64Array; rows: number; cols: number },
): void {
  for (let j = 0; j < count; j++) {
    let best = 0;
    let value = 0;
    for (let i = 0; i < rows; i++) {
      const v = vectors[i * cols + j];
      if (Math.abs(v) > best) {
        best = Math.abs(v);
        value = v;
      }
    }
    if (value >= 0) continue;
    for (let i = 0; i < rows; i++) vectors[i * cols + j] = -vectors[i * cols + j];
    if (partner)
      for (let i = 0; i < partner.rows; i++)
        partner.data[i * partner.cols + j] = -partner.data[i * partner.cols + j];
  }
}

/**
 * Eigenvalues (ascending) and eigenvectors (columns, unit norm, the largest-magnitude entry of each
 * positive) of the symmetric matrix whose `lower` (or upper) triangle `a` holds.
 */
export function symmetricEigen(
  a: Float64Array,
  n: number,
  lower: boolean,
): { values: Float64Array; vectors: Float64Array } {
  const s = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      const v = lower ? a[i * n + j] : a[j * n + i];
      s[i * n + j] = v;
      s[j * n + i] = v;
    }
  }
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  let total = 0;
  for (let i = 0; i < n * n; i++) total += s[i] * s[i];
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += s[p * n + q] * s[p * n + q];
    if (!(off > EPS * EPS * total * 1e-4)) break;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = s[p * n + q];
        if (apq === 0) continue;
        const app = s[p * n + p];
        const aqq = s[q * n + q];
        // The rotation that zeroes s[p][q] (Golub & Van Loan, Algorithm 8.4.1), the smaller angle.
        const theta = (aqq - app) / (2 * apq);
        const t = (theta >= 0 ? 1 : -1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const sn = t * c;
        for (let k = 0; k < n; k++) {
          const skp = s[k * n + p];
          const skq = s[k * n + q];
          s[k * n + p] = c * skp - sn * skq;
          s[k * n + q] = sn * skp + c * skq;
        }
        for (let k = 0; k < n; k++) {
          const spk = s[p * n + k];
          const sqk = s[q * n + k];
          s[p * n + k] = c * spk - sn * sqk;
          s[q * n + k] = sn * spk + c * sqk;
        }
        s[p * n + q] = 0;
        s[q * n + p] = 0;
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p];
          const vkq = v[k * n + q];
          v[k * n + p] = c * vkp - sn * vkq;
          v[k * n + q] = sn * vkp + c * vkq;
        }
      }
    }
  }
  const order = Array.from({ length: n }, (_, i) => i).sort(
    (i, j) => s[i * n + i] - s[j * n + j] || i - j,
  );
  const values = new Float64Array(n);
  const vectors = new Float64Array(n * n);
  order.forEach((from, to) => {
    values[to] = s[from * n + from];
    for (let k = 0; k < n; k++) vectors[k * n + to] = v[k * n + from];
  });
  normalizeColumnSigns(vectors, n, n, n);
  return { values, vectors };
}

/**
 * Fills columns `from`..cols-1 of the rows×cols matrix `q` (whose first `from` columns are
 * orthonormal) with further orthonormal columns: Gram–Schmidt, twice, over the unit vectors.
 */
function completeOrthonormal(q: Float64Array, rows: number, cols: number, from: number): void {
  let candidate = 0;
  for (let j = from; j < cols; j++) {
    for (; candidate < rows; candidate++) {
      const w = new Float64Array(rows);
      w[candidate] = 1;
      for (let pass = 0; pass < 2; pass++) {
        for (let k = 0; k < j; k++) {
          let dot = 0;
          for (let i = 0; i < rows; i++) dot += q[i * cols + k] * w[i];
          for (let i = 0; i < rows; i++) w[i] -= dot * q[i * cols + k];
        }
      }
      let norm = 0;
      for (let i = 0; i < rows; i++) norm += w[i] * w[i];
      norm = Math.sqrt(norm);
      // A unit vector already (nearly) in the span leaves little; take the next one.
      if (norm < 0.5) continue;
      for (let i = 0; i < rows; i++) q[i * cols + j] = w[i] / norm;
      candidate++;
      break;
    }
  }
}

/**
 * Singular value decomposition of the m×n matrix `a`: U (m×uCols), S (k, descending), V (n×vCols)
 * with k = min(m, n); uCols/vCols are k, or m/n when `full`. Each left singular vector's
 * largest-magnitude entry is positive (the right one follows).
 */
export function singularValueDecomposition(
  a: Float64Array,
  m: number,
  n: number,
  full: boolean,
): { u: Float64Array; s: Float64Array; v: Float64Array; uCols: number; vCols: number } {
  if (m < n) {
    // A = U S Vᵀ ⟺ Aᵀ = V S Uᵀ: decompose the tall transpose and swap the factors.
    const t = new Float64Array(m * n);
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) t[j * m + i] = a[i * n + j];
    const r = singularValueDecomposition(t, n, m, full);
    // Keep the convention on U (here r.v): flip the pairs whose U column is negative at its largest entry.
    normalizeColumnSigns(r.v, m, m, m, { data: r.u, rows: n, cols: r.uCols });
    return { u: r.v, s: r.s, v: r.u, uCols: r.vCols, vCols: r.uCols };
  }
  // m ≥ n: orthogonalise the columns of W = A·V by plane rotations (Hestenes).
  const w = new Float64Array(n * m); // column-major: column j at j*m
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) w[j * m + i] = a[i * n + j];
  const v = new Float64Array(n * n); // column-major
  for (let j = 0; j < n; j++) v[j * n + j] = 1;
  for (let sweep = 0; sweep < 100; sweep++) {
    let rotated = false;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        let alpha = 0;
        let beta = 0;
        let gamma = 0;
        for (let i = 0; i < m; i++) {
          const x = w[p * m + i];
          const y = w[q * m + i];
          alpha += x * x;
          beta += y * y;
          gamma += x * y;
        }
        if (gamma === 0 || Math.abs(gamma) <= EPS * Math.sqrt(alpha * beta)) continue;
        rotated = true;
        const zeta = (beta - alpha) / (2 * gamma);
        const t = (zeta >= 0 ? 1 : -1) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
        const c = 1 / Math.sqrt(1 + t * t);
        const sn = c * t;
        for (let i = 0; i < m; i++) {
          const x = w[p * m + i];
          const y = w[q * m + i];
          w[p * m + i] = c * x - sn * y;
          w[q * m + i] = sn * x + c * y;
        }
        for (let i = 0; i < n; i++) {
          const x = v[p * n + i];
          const y = v[q * n + i];
          v[p * n + i] = c * x - sn * y;
          v[q * n + i] = sn * x + c * y;
        }
      }
    }
    if (!rotated) break;
  }
  const norms = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    let sum = 0;
    for (let i = 0; i < m; i++) sum += w[j * m + i] * w[j * m + i];
    norms[j] = Math.sqrt(sum);
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => norms[j] - norms[i] || i - j);
  const uCols = full ? m : n;
  const u = new Float64Array(m * uCols);
  const s = new Float64Array(n);
  const vOut = new Float64Array(n * n);
  // Columns of W with (relatively) no length give no direction: completed below instead.
  const floor = (norms[order[0]] ?? 0) * EPS * Math.max(m, n);
  let defined = 0;
  order.forEach((from, to) => {
    s[to] = norms[from];
    for (let i = 0; i < n; i++) vOut[i * n + to] = v[from * n + i];
    if (norms[from] > floor && defined === to) {
      for (let i = 0; i < m; i++) u[i * uCols + to] = w[from * m + i] / norms[from];
      defined++;
    }
  });
  if (defined < uCols) completeOrthonormal(u, m, uCols, defined);
  // Signs: U's columns positive at their largest entry, V's paired columns flipped alike.
  normalizeColumnSigns(u, m, uCols, n, { data: vOut, rows: n, cols: n });
  return { u, s, v: vOut, uCols, vCols: n };
}

/**
 * Householder QR of the m×n matrix `a` with LAPACK's reflectors (dgeqr2 / dorg2r): R's diagonal
 * entry k is −sign(a_kk)·‖column‖, so the factors are LAPACK's, signs included. `qCols` is
 * min(m, n) (reduced) or m (complete); R has qCols rows.
 */
export function householderQr(
  a: Float64Array,
  m: number,
  n: number,
  qCols: number,
): { q: Float64Array; r: Float64Array } {
  const work = Float64Array.from(a);
  const k = Math.min(m, n);
  const taus = new Float64Array(k);
  for (let j = 0; j < k; j++) {
    // dlarfg on work[j..m-1][j]: H = I − τ·v·vᵀ with v = [1, x/(α − β)], β = −sign(α)·‖(α, x)‖.
    const alpha = work[j * n + j];
    let xnorm = 0;
    for (let i = j + 1; i < m; i++) xnorm = Math.hypot(xnorm, work[i * n + j]);
    if (xnorm === 0) continue; // τ = 0: H = I
    const beta = alpha >= 0 ? -Math.hypot(alpha, xnorm) : Math.hypot(alpha, xnorm);
    const tau = (beta - alpha) / beta;
    const scale = 1 / (alpha - beta);
    for (let i = j + 1; i < m; i++) work[i * n + j] *= scale;
    work[j * n + j] = beta;
    taus[j] = tau;
    for (let c = j + 1; c < n; c++) {
      let dot = work[j * n + c];
      for (let i = j + 1; i < m; i++) dot += work[i * n + j] * work[i * n + c];
      const f = tau * dot;
      work[j * n + c] -= f;
      for (let i = j + 1; i < m; i++) work[i * n + c] -= f * work[i * n + j];
    }
  }
  const r = new Float64Array(qCols * n);
  for (let i = 0; i < Math.min(qCols, m); i++)
    for (let c = i; c < n; c++) r[i * n + c] = work[i * n + c];
  // Q = H_0 ⋯ H_{k−1} applied to the first qCols columns of the identity, last reflector first.
  const q = new Float64Array(m * qCols);
  for (let i = 0; i < qCols; i++) q[i * qCols + i] = 1;
  for (let j = k - 1; j >= 0; j--) {
    const tau = taus[j];
    if (tau === 0) continue;
    for (let c = 0; c < qCols; c++) {
      let dot = q[j * qCols + c];
      for (let i = j + 1; i < m; i++) dot += work[i * n + j] * q[i * qCols + c];
      const f = tau * dot;
      q[j * qCols + c] -= f;
      for (let i = j + 1; i < m; i++) q[i * qCols + c] -= f * work[i * n + j];
    }
  }
  return { q, r };
}

/**
 * The lower Cholesky factor of the symmetric matrix held in `a`'s lower (or upper) triangle, or
 * the order of the first leading minor that is not positive-definite.
 */
export function choleskyLower(
  a: Float64Array,
  n: number,
  lower: boolean,
): { factor: Float64Array } | { failedMinor: number } {
  const l = new Float64Array(n * n);
  const at = (i: number, j: number) => (lower ? a[i * n + j] : a[j * n + i]);
  for (let j = 0; j < n; j++) {
    let d = at(j, j);
    for (let k = 0; k < j; k++) d -= l[j * n + k] * l[j * n + k];
    if (!(d > 0)) return { failedMinor: j + 1 };
    const root = Math.sqrt(d);
    l[j * n + j] = root;
    for (let i = j + 1; i < n; i++) {
      let x = at(i, j);
      for (let k = 0; k < j; k++) x -= l[i * n + k] * l[j * n + k];
      l[i * n + j] = x / root;
    }
  }
  return { factor: l };
}

/** PA = LU packed in one matrix (L's unit diagonal implied), the row swaps, and the first exactly-zero pivot's index (or −1). */
export interface LuFactors {
  lu: Float64Array;
  pivots: Int32Array;
  /** +1 or −1: the permutation's sign. */
  sign: number;
  zeroPivot: number;
}

/** LU with partial pivoting of the n×n matrix `a` (LAPACK's getrf without blocking). */
export function luFactor(a: Float64Array, n: number): LuFactors {
  const lu = Float64Array.from(a);
  const pivots = new Int32Array(n);
  let sign = 1;
  let zeroPivot = -1;
  for (let k = 0; k < n; k++) {
    let p = k;
    let best = Math.abs(lu[k * n + k]);
    for (let i = k + 1; i < n; i++) {
      const x = Math.abs(lu[i * n + k]);
      if (x > best) {
        best = x;
        p = i;
      }
    }
    pivots[k] = p;
    if (p !== k) {
      sign = -sign;
      for (let c = 0; c < n; c++) {
        const t = lu[k * n + c];
        lu[k * n + c] = lu[p * n + c];
        lu[p * n + c] = t;
      }
    }
    const pivot = lu[k * n + k];
    if (pivot === 0) {
      if (zeroPivot < 0) zeroPivot = k;
      continue;
    }
    for (let i = k + 1; i < n; i++) {
      const f = (lu[i * n + k] /= pivot);
      if (f === 0) continue;
      for (let c = k + 1; c < n; c++) lu[i * n + c] -= f * lu[k * n + c];
    }
  }
  return { lu, pivots, sign, zeroPivot };
}

/** Solves A·X = B for the n×nrhs matrix `b` from A's LU factors (none of its pivots zero). */
export function luSolve(f: LuFactors, n: number, b: Float64Array, nrhs: number): Float64Array {
  const x = Float64Array.from(b);
  const { lu, pivots } = f;
  for (let k = 0; k < n; k++) {
    const p = pivots[k];
    if (p === k) continue;
    for (let c = 0; c < nrhs; c++) {
      const t = x[k * nrhs + c];
      x[k * nrhs + c] = x[p * nrhs + c];
      x[p * nrhs + c] = t;
    }
  }
  for (let i = 1; i < n; i++)
    for (let k = 0; k < i; k++) {
      const l = lu[i * n + k];
      if (l !== 0) for (let c = 0; c < nrhs; c++) x[i * nrhs + c] -= l * x[k * nrhs + c];
    }
  for (let i = n - 1; i >= 0; i--) {
    for (let k = i + 1; k < n; k++) {
      const l = lu[i * n + k];
      if (l !== 0) for (let c = 0; c < nrhs; c++) x[i * nrhs + c] -= l * x[k * nrhs + c];
    }
    const d = lu[i * n + i];
    for (let c = 0; c < nrhs; c++) x[i * nrhs + c] /= d;
  }
  return x;
}
