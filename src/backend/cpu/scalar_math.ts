/** Scalar math that JavaScript's Math lacks, accurate to double precision (gradcheck needs it). */

const TWO_OVER_SQRT_PI = 1.1283791670955126;

/** The error function: a positive series below 3, a continued fraction for erfc above. */
export function erf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const ax = Math.abs(x);
  if (ax < 3) {
    // erf(x) = 2/√π · e^{-x²} · Σ 2ⁿ x^{2n+1} / (1·3·…·(2n+1)): all terms positive, no cancellation.
    const x2 = x * x;
    let term = x;
    let sum = x;
    for (let n = 1; n < 200; n++) {
      term *= (2 * x2) / (2 * n + 1);
      sum += term;
      if (Math.abs(term) < 1e-17 * Math.abs(sum)) break;
    }
    return TWO_OVER_SQRT_PI * Math.exp(-x2) * sum;
  }
  return Math.sign(x) * (1 - erfcLarge(ax));
}

/** erfc(x) for x ≥ 3 by the Lentz evaluation of its continued fraction. */
function erfcLarge(x: number): number {
  if (x > 27) return 0;
  return Math.exp(-x * x) / Math.sqrt(Math.PI) / erfcContinuedFraction(x);
}

/**
 * The continued fraction F(x) in erfc(x) = e^{-x²}/√π / F(x), evaluated by modified Lentz; for
 * x ≥ 2 or so (it converges slowly below). Callers that need log erfc use it without the
 * exponential, which underflows.
 */
export function erfcContinuedFraction(x: number): number {
  // erfc(x) = e^{-x²}/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + 2/(x + …)))))
  const tiny = 1e-300;
  let f = x;
  let c = x;
  let d = 0;
  for (let n = 1; n < 500; n++) {
    const a = n / 2;
    d = x + a * d;
    d = d === 0 ? tiny : d;
    c = x + a / c;
    c = c === 0 ? tiny : c;
    d = 1 / d;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return f;
}

/** Round half to even, as PyTorch's round does. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}
