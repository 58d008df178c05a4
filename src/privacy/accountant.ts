/**
 * The privacy accountant of DP-SGD: ε after a number of steps of the sampled Gaussian mechanism
 * (`computeEpsilon`), the noise that reaches a target ε (`noiseForEpsilon`), and an accountant that
 * counts the steps of a training run (`RDPAccountant`), in the spirit of Opacus's.
 */
import {
  DEFAULT_ORDERS,
  epsilonFromRdp,
  rdpOfSampledGaussian,
  type EpsilonConversion,
} from './rdp.js';

export type { EpsilonConversion } from './rdp.js';

function checkSampleRate(op: string, sampleRate: unknown): number {
  if (typeof sampleRate !== 'number' || !(sampleRate > 0 && sampleRate <= 1))
    throw new RangeError(`${op}: sampleRate must be in (0, 1], got ${String(sampleRate)}`);
  return sampleRate;
}

function checkNoise(op: string, noiseMultiplier: unknown): number {
  if (
    typeof noiseMultiplier !== 'number' ||
    !(noiseMultiplier > 0) ||
    !Number.isFinite(noiseMultiplier)
  )
    throw new RangeError(
      `${op}: noiseMultiplier must be a positive finite number, got ${String(noiseMultiplier)}`,
    );
  return noiseMultiplier;
}

function checkDelta(op: string, delta: unknown): number {
  if (typeof delta !== 'number' || !(delta > 0 && delta < 1))
    throw new RangeError(`${op}: delta must be in (0, 1), got ${String(delta)}`);
  return delta;
}

function checkSteps(op: string, steps: unknown): number {
  if (typeof steps !== 'number' || !Number.isSafeInteger(steps) || steps < 0)
    throw new RangeError(`${op}: steps must be a non-negative integer, got ${String(steps)}`);
  return steps;
}

function checkOrders(op: string, orders: readonly number[] | undefined): readonly number[] {
  if (orders === undefined) return DEFAULT_ORDERS;
  if (!Array.isArray(orders) || orders.length === 0 || orders.some((a) => !(a > 1)))
    throw new RangeError(`${op}: orders must be a non-empty list of numbers > 1`);
  return orders;
}

function checkConversion(op: string, conversion: unknown): EpsilonConversion {
  if (conversion === undefined) return 'classic';
  if (conversion !== 'classic' && conversion !== 'balle2020')
    throw new RangeError(
      `${op}: conversion must be 'classic' or 'balle2020', got ${String(conversion)}`,
    );
  return conversion;
}

export interface ComputeEpsilonOptions {
  /** The probability that each example is in a batch (Poisson sampling): batch size / dataset size. */
  sampleRate: number;
  /** Noise standard deviation over the clipping norm. */
  noiseMultiplier: number;
  /** Number of noisy steps taken. */
  steps: number;
  delta: number;
  /** RDP orders to minimize over; 1.1 to 10.9 by 0.1 and 12 to 63 by default. */
  orders?: readonly number[];
  /** 'classic' (default): ε = rdp + log(1/δ)/(α−1); 'balle2020': Balle et al.'s tighter conversion. */
  conversion?: EpsilonConversion;
}

/**
 * ε of `steps` steps of DP-SGD with Poisson sampling rate `sampleRate` and noise multiplier
 * `noiseMultiplier`, at `delta`, with the order that attains it.
 * @example
 * // TF-Privacy's MNIST tutorial: 60 epochs of batch 256 out of 60,000 at noise 1.1
 * privacy.computeEpsilon({ sampleRate: 256 / 60000, noiseMultiplier: 1.1, steps: 14063, delta: 1e-5 });
 * // { epsilon: 3.008…, order: 8.8 }
 */
export function computeEpsilon(options: ComputeEpsilonOptions): { epsilon: number; order: number } {
  const op = 'privacy.computeEpsilon';
  const q = checkSampleRate(op, options.sampleRate);
  const sigma = checkNoise(op, options.noiseMultiplier);
  const steps = checkSteps(op, options.steps);
  const delta = checkDelta(op, options.delta);
  const orders = checkOrders(op, options.orders);
  const conversion = checkConversion(op, options.conversion);
  const rdp = orders.map((alpha) => steps * rdpOfSampledGaussian(q, sigma, alpha));
  return epsilonFromRdp(orders, rdp, delta, conversion);
}

export interface NoiseForEpsilonOptions {
  targetEpsilon: number;
  delta: number;
  sampleRate: number;
  steps: number;
  orders?: readonly number[];
  conversion?: EpsilonConversion;
  /** How close below the target the ε of the returned noise must be; 0.01 by default. */
  epsilonTolerance?: number;
}

/**
 * The smallest noise multiplier (to `epsilonTolerance` in ε) whose ε after `steps` steps is at
 * most `targetEpsilon`, found by bisection as Opacus's `get_noise_multiplier` does.
 * @example
 * const sigma = privacy.noiseForEpsilon({ targetEpsilon: 3, delta: 1e-5, sampleRate: 256 / 60000, steps: 14063 });
 * // ≈ 1.1
 */
export function noiseForEpsilon(options: NoiseForEpsilonOptions): number {
  const op = 'privacy.noiseForEpsilon';
  const target = options.targetEpsilon;
  if (typeof target !== 'number' || !(target > 0) || !Number.isFinite(target))
    throw new RangeError(`${op}: targetEpsilon must be a positive finite number, got ${target}`);
  const tolerance = options.epsilonTolerance ?? 0.01;
  if (!(tolerance > 0)) throw new RangeError(`${op}: epsilonTolerance must be positive`);
  const base = {
    sampleRate: checkSampleRate(op, options.sampleRate),
    steps: checkSteps(op, options.steps),
    delta: checkDelta(op, options.delta),
    orders: checkOrders(op, options.orders),
    conversion: checkConversion(op, options.conversion),
  };
  const eps = (noiseMultiplier: number) => computeEpsilon({ ...base, noiseMultiplier }).epsilon;
  let high = 10;
  while (eps(high) > target) {
    high *= 2;
    if (high > 1e6)
      throw new Error(
        `${op}: no noise multiplier up to 1e6 reaches ε = ${target} at δ = ${base.delta} (the conversion's log(1/δ)/(α−1) term alone may exceed it)`,
      );
  }
  let low = 0;
  let epsHigh = eps(high);
  // ε is decreasing in the noise: keep eps(high) ≤ target and stop once it is within tolerance.
  while (target - epsHigh > tolerance && high - low > 1e-9) {
    const mid = (low + high) / 2;
    const e = eps(mid);
    if (e > target) low = mid;
    else {
      high = mid;
      epsHigh = e;
    }
  }
  return high;
}

interface HistoryEntry {
  noiseMultiplier: number;
  sampleRate: number;
  steps: number;
}

/**
 * Counts the noisy steps of a training run and reports the ε spent, as Opacus's `RDPAccountant`.
 * Steps with the same noise and sampling rate are merged, so the history stays short.
 * @example
 * const accountant = new privacy.RDPAccountant();
 * for (let i = 0; i < 1000; i++) accountant.step({ noiseMultiplier: 1.1, sampleRate: 0.01 });
 * accountant.getEpsilon(1e-5);
 */
export class RDPAccountant {
  readonly history: HistoryEntry[] = [];

  /** Records `steps` (default 1) more steps at this noise and sampling rate. */
  step(options: { noiseMultiplier: number; sampleRate: number; steps?: number }): void {
    const op = 'RDPAccountant.step';
    const noiseMultiplier = checkNoise(op, options.noiseMultiplier);
    const sampleRate = checkSampleRate(op, options.sampleRate);
    const steps = checkSteps(op, options.steps ?? 1);
    const last = this.history[this.history.length - 1];
    if (last && last.noiseMultiplier === noiseMultiplier && last.sampleRate === sampleRate)
      last.steps += steps;
    else this.history.push({ noiseMultiplier, sampleRate, steps });
  }

  /** The number of steps recorded. */
  get steps(): number {
    return this.history.reduce((s, h) => s + h.steps, 0);
  }

  /** ε at `delta` and the order attaining it; the RDP of all recorded steps adds up per order. */
  getPrivacySpent(
    delta: number,
    options: { orders?: readonly number[]; conversion?: EpsilonConversion } = {},
  ): { epsilon: number; order: number } {
    const op = 'RDPAccountant.getPrivacySpent';
    checkDelta(op, delta);
    const orders = checkOrders(op, options.orders);
    const conversion = checkConversion(op, options.conversion);
    const rdp = orders.map((alpha) =>
      this.history.reduce(
        (s, h) => s + h.steps * rdpOfSampledGaussian(h.sampleRate, h.noiseMultiplier, alpha),
        0,
      ),
    );
    return epsilonFromRdp(orders, rdp, delta, conversion);
  }

  /** ε spent so far at `delta`. */
  getEpsilon(
    delta: number,
    options: { orders?: readonly number[]; conversion?: EpsilonConversion } = {},
  ): number {
    return this.getPrivacySpent(delta, options).epsilon;
  }
}
