/**
 * The Rényi-DP accountant of the sampled Gaussian mechanism (Mironov, Talwar and Zhang 2019,
 * "Rényi Differential Privacy of the Sampled Gaussian Mechanism"), as TF-Privacy's
 * `rdp_accountant` and Opacus's `analysis/rdp.py` compute it: log A_α by the binomial expansion
 * for integer α and by the two-sided series with erfc for fractional α, all in log space so that
 * nothing overflows at α = 63. Everything here is plain float64 arithmetic on numbers.
 */
import { erfcContinuedFraction } from '../backend/cpu/scalar_math.js';

/** The orders TF-Privacy and Opacus use: 1.1 to 10.9 by 0.1, then 12 to 63. */
export const DEFAULT_ORDERS: readonly number[] = [
  ...Array.from({ length: 99 }, (_, i) => 1 + (i + 1) / 10),
  ...Array.from({ length: 52 }, (_, i) => 12 + i),
];

/** log(e^a + e^b) without overflow. */
function logAdd(a: number, b: number): number {
  const hi = Math.max(a, b);
  const lo = Math.min(a, b);
  if (hi === -Infinity) return lo;
  return hi + Math.log1p(Math.exp(lo - hi));
}

/** log(e^a − e^b) for a ≥ b. */
function logSub(a: number, b: number): number {
  if (b === -Infinity) return a;
  if (a === b) return -Infinity;
  if (a < b) throw new Error('privacy: log-space subtraction went negative (internal error)');
  return a + Math.log(-Math.expm1(b - a));
}

/** erf(z) by its Taylor series (used for 0 ≤ z < 2, where it loses at most two digits). */
function erfSeries(z: number): number {
  // erf(z) = 2/√π · Σ (−1)^n z^(2n+1) / (n! (2n+1))
  let term = z;
  let sum = z;
  const z2 = z * z;
  for (let n = 1; n < 200; n++) {
    term *= -z2 / n;
    const add = term / (2 * n + 1);
    sum += add;
    if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
}

/** log erfc(z) for z ≥ 2 by the continued fraction, without underflow. */
function logErfcContinuedFraction(z: number): number {
  return -z * z - 0.5 * Math.log(Math.PI) - Math.log(erfcContinuedFraction(z));
}

/** log erfc(x) for any real x, accurate to about 1e-13 relative (exported for tests). */
export function logErfc(x: number): number {
  if (x >= 2) return logErfcContinuedFraction(x);
  if (x >= 0) return Math.log1p(-erfSeries(x));
  if (x > -2) return Math.log1p(erfSeries(-x));
  // erfc(x) = 2 − erfc(−x) with erfc(−x) < 0.005.
  return Math.log(2 - Math.exp(logErfcContinuedFraction(-x)));
}

/** log C(n, k) for integers 0 ≤ k ≤ n. */
function logBinomialInt(n: number, k: number): number {
  let s = 0;
  for (let j = 1; j <= k; j++) s += Math.log((n - k + j) / j);
  return s;
}

/** log A_α for integer α: Σ_i C(α,i) q^i (1−q)^(α−i) exp((i²−i)/(2σ²)). */
function logAInt(q: number, sigma: number, alpha: number): number {
  let logA = -Infinity;
  const lq = Math.log(q);
  const l1q = Math.log1p(-q);
  for (let i = 0; i <= alpha; i++) {
    const logCoef = logBinomialInt(alpha, i) + i * lq + (alpha - i) * l1q;
    logA = logAdd(logA, logCoef + (i * i - i) / (2 * sigma * sigma));
  }
  return logA;
}

/** log A_α for fractional α: the two series of Mironov et al. (section 3.3), summed until negligible. */
function logAFrac(q: number, sigma: number, alpha: number): number {
  let logA0 = -Infinity;
  let logA1 = -Infinity;
  const z0 = sigma * sigma * Math.log(1 / q - 1) + 0.5;
  const lq = Math.log(q);
  const l1q = Math.log1p(-q);
  let coef = 1; // C(α, i), a generalized binomial coefficient: its sign alternates past i > α
  for (let i = 0; ; i++) {
    if (i > 0) coef *= (alpha - i + 1) / i;
    const logCoef = Math.log(Math.abs(coef));
    const j = alpha - i;
    const logT0 = logCoef + i * lq + j * l1q;
    const logT1 = logCoef + j * lq + i * l1q;
    const logE0 = Math.log(0.5) + logErfc((i - z0) / (Math.SQRT2 * sigma));
    const logE1 = Math.log(0.5) + logErfc((z0 - j) / (Math.SQRT2 * sigma));
    const logS0 = logT0 + (i * i - i) / (2 * sigma * sigma) + logE0;
    const logS1 = logT1 + (j * j - j) / (2 * sigma * sigma) + logE1;
    if (coef > 0) {
      logA0 = logAdd(logA0, logS0);
      logA1 = logAdd(logA1, logS1);
    } else {
      logA0 = logSub(logA0, logS0);
      logA1 = logSub(logA1, logS1);
    }
    if (Math.max(logS0, logS1) < -30 || i > 10000) break;
  }
  return logAdd(logA0, logA1);
}

/**
 * The RDP at order `alpha` of one step of the sampled Gaussian mechanism with sampling rate `q`
 * and noise multiplier `sigma` (noise std / sensitivity).
 */
export function rdpOfSampledGaussian(q: number, sigma: number, alpha: number): number {
  if (q === 0) return 0;
  if (q === 1) return alpha / (2 * sigma * sigma);
  if (!Number.isFinite(alpha)) return Infinity;
  const logA = Number.isInteger(alpha) ? logAInt(q, sigma, alpha) : logAFrac(q, sigma, alpha);
  return logA / (alpha - 1);
}

/** Which RDP-to-(ε, δ) conversion to use. */
export type EpsilonConversion = 'classic' | 'balle2020';

/**
 * ε from the RDP curve: the minimum over orders of `rdp + log(1/δ)/(α−1)` ('classic', Mironov
 * 2017), or of Balle et al. 2020's tighter `rdp + log((α−1)/α) − (log δ + log α)/(α−1)`.
 */
export function epsilonFromRdp(
  orders: readonly number[],
  rdp: readonly number[],
  delta: number,
  conversion: EpsilonConversion = 'classic',
): { epsilon: number; order: number } {
  // No step taken (all RDP zero): nothing was released, so ε is 0 at any order; the conversion's
  // log(1/δ)/(α−1) term would otherwise report a positive ε for an untrained model.
  if (rdp.every((r) => r === 0)) return { epsilon: 0, order: orders[orders.length - 1] };
  let best = { epsilon: Infinity, order: NaN };
  orders.forEach((alpha, k) => {
    const eps =
      conversion === 'classic'
        ? rdp[k] - Math.log(delta) / (alpha - 1)
        : rdp[k] + Math.log1p(-1 / alpha) - (Math.log(delta) + Math.log(alpha)) / (alpha - 1);
    if (eps < best.epsilon) best = { epsilon: eps, order: alpha };
  });
  // The tighter conversion can go below zero at tiny rdp; ε is never negative.
  return { epsilon: Math.max(0, best.epsilon), order: best.order };
}
