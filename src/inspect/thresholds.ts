/**
 * The thresholds above or below which `gradientReport` calls a layer unhealthy. They are rules of
 * thumb from the literature on training deep networks (Glorot and Bengio 2010, He et al. 2015,
 * Pascanu et al. 2013), not laws: every one is an option.
 */

/**
 * When `gradientReport` flags a layer. Give any subset to override the defaults.
 * @example
 * await inspect.gradientReport(model, { thresholds: { explodingNorm: 1e3, deadReluFraction: 0.9 } });
 */
export interface ReportThresholds {
  /**
   * 'vanishing' when a layer's gradient norm is below this fraction of the output layer's (the
   * last layer with a gradient, in forward order): backprop multiplies the gradient by each
   * layer's Jacobian on its way to the input, and with saturating activations it shrinks
   * geometrically. Default 1e-3 (three orders of magnitude).
   */
  vanishingRatio: number;
  /**
   * 'vanishing' also when a layer's gradient norm is below this absolute value, so a network
   * whose every layer vanishes (the output layer included) is flagged too. Default 1e-8.
   */
  vanishingNorm: number;
  /**
   * 'exploding' when a layer's gradient norm is above this. Default 100: the usual
   * gradient-clipping thresholds are 1 to 10, and a healthy layer's gradient norm seldom exceeds them.
   */
  explodingNorm: number;
  /**
   * 'dead-relu' when more than this fraction of a ReLU's units output zero for every example of
   * the batch (they then get no gradient and may never recover). Default 0.5.
   */
  deadReluFraction: number;
}

/** The defaults of {@link ReportThresholds}. */
export const DEFAULT_THRESHOLDS: Readonly<ReportThresholds> = Object.freeze({
  vanishingRatio: 1e-3,
  vanishingNorm: 1e-8,
  explodingNorm: 100,
  deadReluFraction: 0.5,
});

/** The defaults overridden by `given`, each checked: a bad value is an error naming it. */
export function resolveThresholds(
  op: string,
  given: Partial<ReportThresholds> = {},
): ReportThresholds {
  if (given === null || typeof given !== 'object')
    throw new TypeError(`${op}: thresholds must be an object, got ${String(given)}`);
  const out = { ...DEFAULT_THRESHOLDS };
  for (const [key, value] of Object.entries(given)) {
    if (!(key in DEFAULT_THRESHOLDS))
      throw new RangeError(
        `${op}: unknown threshold '${key}'; known: ${Object.keys(DEFAULT_THRESHOLDS).join(', ')}`,
      );
    if (value === undefined) continue;
    if (typeof value !== 'number' || !(value >= 0) || !Number.isFinite(value))
      throw new RangeError(
        `${op}: threshold ${key} must be a finite number >= 0, got ${String(value)}`,
      );
    if (key === 'deadReluFraction' && value > 1)
      throw new RangeError(`${op}: threshold deadReluFraction must be in [0, 1], got ${value}`);
    out[key as keyof ReportThresholds] = value;
  }
  return out;
}
