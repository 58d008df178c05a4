import { describe, expect, it } from 'vitest';
import { privacy } from '../src/index.js';
import { logErfc, rdpOfSampledGaussian } from '../src/privacy/rdp.js';

const within = (actual: number, expected: number, rel: number) =>
  expect(Math.abs(actual - expected) / expected, `${actual} vs ${expected}`).toBeLessThanOrEqual(
    rel,
  );

/** A_α = E_{z~N(0,σ²)}[((1−q) + q·e^((2z−1)/(2σ²)))^α] by the trapezoid rule: an independent check. */
function rdpByQuadrature(q: number, sigma: number, alpha: number): number {
  const h = sigma / 2000;
  let sum = 0;
  for (let z = -40 * sigma; z <= 40 * sigma; z += h) {
    const density = Math.exp((-z * z) / (2 * sigma * sigma)) / (sigma * Math.sqrt(2 * Math.PI));
    const ratio = 1 - q + q * Math.exp((2 * z - 1) / (2 * sigma * sigma));
    sum += density * ratio ** alpha * h;
  }
  return Math.log(sum) / (alpha - 1);
}

describe('privacy.computeEpsilon', () => {
  it("reproduces TF-Privacy's MNIST tutorial and Abadi et al. 2016 within 1%", () => {
    const tutorial = privacy.computeEpsilon({
      sampleRate: 256 / 60000,
      noiseMultiplier: 1.1,
      steps: 14063,
      delta: 1e-5,
    });
    within(tutorial.epsilon, 3.01, 0.01);
    const loud = privacy.computeEpsilon({
      sampleRate: 256 / 60000,
      noiseMultiplier: 0.7,
      steps: Math.ceil((45 * 60000) / 256),
      delta: 1e-5,
    });
    within(loud.epsilon, 7.1, 0.01);
    const abadi = privacy.computeEpsilon({
      sampleRate: 0.01,
      noiseMultiplier: 4,
      steps: 10000,
      delta: 1e-5,
    });
    within(abadi.epsilon, 1.26, 0.01);
    expect(abadi.order).toBeGreaterThan(1);
  });

  it('agrees with numerical integration of the RDP at integer and fractional orders', () => {
    for (const [q, sigma, alpha] of [
      [0.01, 1.1, 2.5],
      [0.05, 0.8, 7.3],
      [0.01, 4, 20],
      [0.2, 2, 3],
    ])
      within(rdpOfSampledGaussian(q, sigma, alpha), rdpByQuadrature(q, sigma, alpha), 1e-6);
  });

  it('has an accurate log erfc over the whole line', () => {
    within(Math.exp(logErfc(0.5)), 0.4795001221869535, 1e-12);
    within(Math.exp(logErfc(3)), 2.209049699858544e-5, 1e-12);
    within(Math.exp(logErfc(-1)), 1.8427007929497148, 1e-12);
    // erfc(30) ≈ e^(−900)/(30√π): asymptotic, well below the smallest double
    within(
      -logErfc(30),
      900 + Math.log(30 * Math.sqrt(Math.PI)) - Math.log1p(-1 / 1800 + 3 / (4 * 30 ** 4)),
      1e-9,
    );
  });

  it('is 0 for no steps, and the tighter conversion gives a smaller ε', () => {
    const base = { sampleRate: 0.01, noiseMultiplier: 1, delta: 1e-5 };
    expect(privacy.computeEpsilon({ ...base, steps: 0 }).epsilon).toBe(0);
    const classic = privacy.computeEpsilon({ ...base, steps: 1000 }).epsilon;
    const balle = privacy.computeEpsilon({ ...base, steps: 1000, conversion: 'balle2020' }).epsilon;
    expect(balle).toBeLessThan(classic);
    expect(balle).toBeGreaterThan(0.7 * classic);
  });

  it('rejects invalid arguments, naming them', () => {
    const ok = { sampleRate: 0.01, noiseMultiplier: 1, steps: 10, delta: 1e-5 };
    expect(() => privacy.computeEpsilon({ ...ok, sampleRate: 0 })).toThrow(
      /sampleRate must be in \(0, 1\]/,
    );
    expect(() => privacy.computeEpsilon({ ...ok, sampleRate: 1.5 })).toThrow(/sampleRate/);
    expect(() => privacy.computeEpsilon({ ...ok, noiseMultiplier: 0 })).toThrow(/noiseMultiplier/);
    expect(() => privacy.computeEpsilon({ ...ok, noiseMultiplier: -1 })).toThrow(/noiseMultiplier/);
    expect(() => privacy.computeEpsilon({ ...ok, delta: 0 })).toThrow(/delta must be in \(0, 1\)/);
    expect(() => privacy.computeEpsilon({ ...ok, delta: 1 })).toThrow(/delta/);
    expect(() => privacy.computeEpsilon({ ...ok, steps: -1 })).toThrow(/steps/);
    expect(() => privacy.computeEpsilon({ ...ok, steps: 1.5 })).toThrow(/steps/);
  });
});

describe('privacy.noiseForEpsilon', () => {
  it('finds the noise of the tutorial back from its ε', () => {
    const setup = { delta: 1e-5, sampleRate: 256 / 60000, steps: 14063 };
    const sigma = privacy.noiseForEpsilon({ ...setup, targetEpsilon: 3.01 });
    within(sigma, 1.1, 0.01);
    const eps = privacy.computeEpsilon({ ...setup, noiseMultiplier: sigma }).epsilon;
    expect(eps).toBeLessThanOrEqual(3.01);
    expect(eps).toBeGreaterThan(3.0);
    expect(() => privacy.noiseForEpsilon({ ...setup, targetEpsilon: 0 })).toThrow(/targetEpsilon/);
  });
});

describe('privacy.RDPAccountant', () => {
  it('counts steps and reports the same ε as computeEpsilon, also over mixed histories', () => {
    const accountant = new privacy.RDPAccountant();
    for (let i = 0; i < 500; i++) accountant.step({ noiseMultiplier: 1.1, sampleRate: 0.02 });
    expect(accountant.steps).toBe(500);
    expect(accountant.history.length).toBe(1);
    const direct = privacy.computeEpsilon({
      sampleRate: 0.02,
      noiseMultiplier: 1.1,
      steps: 500,
      delta: 1e-5,
    });
    expect(accountant.getEpsilon(1e-5)).toBeCloseTo(direct.epsilon, 12);
    accountant.step({ noiseMultiplier: 2, sampleRate: 0.02, steps: 100 });
    expect(accountant.getEpsilon(1e-5)).toBeGreaterThan(direct.epsilon);
    expect(() => accountant.getEpsilon(2)).toThrow(/delta/);
  });
});
