/**
 * Eigenvalues of a symmetric tridiagonal matrix by the implicit QL method with Wilkinson shifts
 * (Numerical Recipes' tqli; Golub & Van Loan §8.3), in float64 on the host. Lanczos needs only a
 * few rows of the eigenvector matrix (the last for residuals, the first for quadrature weights),
 * and each rotation acts on every row alone, so only the requested rows are accumulated: O(m²)
 * for the values and those rows, O(m³) only when all rows (full eigenvectors) are asked for.
 */

export interface TridiagonalEigen {
  /** Eigenvalues, ascending. */
  values: Float64Array;
  /** rows[r][j]: entry `requested[r]` of the unit eigenvector of values[j]. */
  rows: Float64Array[];
}

/**
 * The eigen-decomposition of the m×m symmetric tridiagonal matrix with diagonal `diagonal`
 * (length m) and off-diagonal `offDiagonal` (length m − 1), returning the eigenvector matrix's
 * rows listed in `requested` (indices in 0..m−1).
 */
export function tridiagonalEigen(
  diagonal: ArrayLike<number>,
  offDiagonal: ArrayLike<number>,
  requested: readonly number[] = [],
): TridiagonalEigen {
  const n = diagonal.length;
  if (offDiagonal.length < n - 1)
    throw new Error(
      `tridiagonalEigen: a ${n}×${n} tridiagonal matrix needs ${n - 1} off-diagonal entries, got ${offDiagonal.length}`,
    );
  const d = Float64Array.from(diagonal);
  const e = new Float64Array(n);
  for (let i = 0; i < n - 1; i++) e[i] = offDiagonal[i];
  const z = requested.map((r) => {
    const row = new Float64Array(n);
    row[r] = 1;
    return row;
  });
  for (let l = 0; l < n; l++) {
    let iterations = 0;
    let m: number;
    do {
      // Find a negligible off-diagonal entry: the block l..m splits off.
      for (m = l; m < n - 1; m++) {
        const dd = Math.abs(d[m]) + Math.abs(d[m + 1]);
        if (Math.abs(e[m]) <= Number.EPSILON * dd) break;
      }
      if (m === l) break;
      if (++iterations > 60)
        throw new Error(
          `tridiagonalEigen: no convergence after 60 QL iterations for eigenvalue ${l}`,
        );
      // The Wilkinson shift from the leading 2×2 block.
      let g = (d[l + 1] - d[l]) / (2 * e[l]);
      let r = Math.hypot(g, 1);
      g = d[m] - d[l] + e[l] / (g + (g >= 0 ? r : -r));
      let s = 1;
      let c = 1;
      let p = 0;
      let i: number;
      for (i = m - 1; i >= l; i--) {
        const f = s * e[i];
        const b = c * e[i];
        r = Math.hypot(f, g);
        e[i + 1] = r;
        if (r === 0) {
          // Underflow: deflate and restart the sweep.
          d[i + 1] -= p;
          e[m] = 0;
          break;
        }
        s = f / r;
        c = g / r;
        g = d[i + 1] - p;
        r = (d[i] - g) * s + 2 * c * b;
        p = s * r;
        d[i + 1] = g + p;
        g = c * r - b;
        for (const row of z) {
          const zi1 = row[i + 1];
          row[i + 1] = s * row[i] + c * zi1;
          row[i] = c * row[i] - s * zi1;
        }
      }
      if (r === 0 && i >= l) continue;
      d[l] -= p;
      e[l] = g;
      e[m] = 0;
    } while (m !== l);
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => d[a] - d[b] || a - b);
  return {
    values: Float64Array.from(order, (j) => d[j]),
    rows: z.map((row) => Float64Array.from(order, (j) => row[j])),
  };
}
