/**
 * Turns a report's figures into problems: each names the layer, the figure measured, the
 * threshold it crossed and the usual fixes, so the message alone says what to do.
 */
import type { LayerReport } from './layer_stats.js';
import type { ReportThresholds } from './thresholds.js';

/** What went wrong in a layer. */
export type ProblemKind = 'vanishing' | 'exploding' | 'dead-relu' | 'nan';

/** One problem a report found. */
export interface Problem {
  /** The layer's dotted name in the model ('' for the model itself). */
  layer: string;
  kind: ProblemKind;
  /** A sentence naming the layer, the measured figure, the threshold and the usual fixes. */
  message: string;
  /** The figure measured (a gradient norm, a fraction of dead units, a count of NaN/Inf). */
  value: number;
  /** The threshold it crossed. */
  threshold: number;
}

const FIXES: Record<ProblemKind, string> = {
  vanishing:
    'usual fixes: ReLU-family activations with He (Kaiming) init, or Xavier (Glorot) init for tanh/sigmoid; normalisation (BatchNorm, LayerNorm); residual connections',
  exploding:
    'usual fixes: gradient clipping (nn.utils.clipGradNorm_), a lower learning rate, He/Xavier init instead of larger weights, normalisation (BatchNorm, LayerNorm)',
  'dead-relu':
    'usual fixes: a lower learning rate, He init with zero (not negative) biases, LeakyReLU or GELU, normalisation before the ReLU',
  nan: 'usual fixes: a lower learning rate, gradient clipping, checking the inputs and the loss for log(0) or division by zero (detectAnomaly names the op that made the first NaN)',
};

/** 3 significant digits, in exponent form when very large or small. */
export function formatFigure(x: number): string {
  if (!Number.isFinite(x) || x === 0) return String(x);
  const a = Math.abs(x);
  return a >= 1e4 || a < 1e-3
    ? x.toExponential(2).replace(/\.?0+e/, 'e')
    : String(Number(x.toPrecision(3)));
}

/** How the message names a layer: `'3' (Linear)`, or `the model (MLP)` for the root. */
function label(layer: LayerReport): string {
  return layer.name === '' ? `the model (${layer.type})` : `layer '${layer.name}' (${layer.type})`;
}

const percent = (x: number) => `${Number((x * 100).toPrecision(3))}%`;

function nanProblem(layer: LayerReport): Problem | null {
  const where: string[] = [];
  let count = 0;
  for (const p of layer.parameters) {
    if (p.gradNonFinite > 0) where.push(`${p.gradNonFinite} in the gradient of '${p.name}'`);
    if (p.weightNonFinite > 0) where.push(`${p.weightNonFinite} in the parameter '${p.name}'`);
    count += p.gradNonFinite + p.weightNonFinite;
  }
  const act = layer.activation?.nonFinite ?? 0;
  if (act > 0) where.push(`${act} in its output`);
  count += act;
  if (count === 0) return null;
  return {
    layer: layer.name,
    kind: 'nan',
    value: count,
    threshold: 0,
    message: `${label(layer)}: ${count} NaN/Inf values (${where.join(', ')}); the threshold is any at all; ${FIXES.nan}`,
  };
}

/**
 * The problems of `layers`. `outputLayer` is the layer nearest the output that has a gradient
 * (the reference for 'vanishing'); null when no layer has one.
 */
export function findProblems(
  layers: LayerReport[],
  outputLayer: LayerReport | null,
  t: ReportThresholds,
): Problem[] {
  const problems: Problem[] = [];
  const reference = outputLayer?.gradNorm ?? null;
  for (const layer of layers) {
    const nan = nanProblem(layer);
    if (nan) {
      problems.push(nan);
      continue;
    }
    const g = layer.gradNorm;
    if (g !== null && g > t.explodingNorm) {
      problems.push({
        layer: layer.name,
        kind: 'exploding',
        value: g,
        threshold: t.explodingNorm,
        message: `${label(layer)}: gradient norm ${formatFigure(g)} is above the exploding threshold ${formatFigure(t.explodingNorm)} (explodingNorm); ${FIXES.exploding}`,
      });
    } else if (
      g !== null &&
      reference !== null &&
      layer !== outputLayer &&
      g < t.vanishingRatio * reference
    ) {
      problems.push({
        layer: layer.name,
        kind: 'vanishing',
        value: g,
        threshold: t.vanishingRatio * reference,
        message: `${label(layer)}: gradient norm ${formatFigure(g)} is ${formatFigure(g / reference)} of the output layer '${outputLayer!.name}''s ${formatFigure(reference)}, below the vanishing threshold ${formatFigure(t.vanishingRatio)} of it (vanishingRatio); ${FIXES.vanishing}`,
      });
    } else if (g !== null && g < t.vanishingNorm) {
      problems.push({
        layer: layer.name,
        kind: 'vanishing',
        value: g,
        threshold: t.vanishingNorm,
        message: `${label(layer)}: gradient norm ${formatFigure(g)} is below the vanishing threshold ${formatFigure(t.vanishingNorm)} (vanishingNorm); ${FIXES.vanishing}`,
      });
    }
    const dead = layer.activation?.deadFraction ?? null;
    if (dead !== null && dead > t.deadReluFraction) {
      problems.push({
        layer: layer.name,
        kind: 'dead-relu',
        value: dead,
        threshold: t.deadReluFraction,
        message: `${label(layer)}: ${percent(dead)} of its ${layer.activation!.units} units output zero for every example of the batch, above the dead-ReLU threshold ${percent(t.deadReluFraction)} (deadReluFraction); ${FIXES['dead-relu']}`,
      });
    }
  }
  return problems;
}
