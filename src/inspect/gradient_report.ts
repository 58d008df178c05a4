/**
 * `inspect.gradientReport`: after a backward pass, per layer the gradient norm, the weight norm,
 * the update-to-weight ratio and (with an activation recorder) the output's mean / std and the
 * fraction of dead ReLUs; and the problems those figures show.
 */
import { Module } from '../nn/module.js';
import { ActivationRecorder } from './activation_recorder.js';
import { layerStats, type LayerReport } from './layer_stats.js';
import { findProblems, type Problem } from './problems.js';
import { resolveThresholds, type ReportThresholds } from './thresholds.js';

export interface GradientReportOptions {
  /** The learning rate, for the update-to-weight ratio lr·‖g‖/‖w‖ (omitted: ratios are null). */
  lr?: number;
  /** A recorder attached during the forward pass: adds activation mean / std and dead ReLUs. */
  activations?: ActivationRecorder;
  /** Overrides of the default thresholds (see {@link ReportThresholds}). */
  thresholds?: Partial<ReportThresholds>;
}

/** What `gradientReport` returns. */
export interface GradientReport {
  /** One entry per module that owns parameters or whose output was recorded, in module order. */
  layers: LayerReport[];
  problems: Problem[];
  /** The thresholds the problems were judged by. */
  thresholds: ReportThresholds;
}

/**
 * Reports on the gradients a backward pass left in `model`'s parameters and flags vanishing or
 * exploding gradients, dead ReLUs and NaN/Inf values. With default thresholds
 * (`inspect.DEFAULT_THRESHOLDS`): a layer's gradient norm below 1e-3 of the output layer's, or
 * below 1e-8, is 'vanishing'; above 100, 'exploding'; a ReLU whose units are more than half dead
 * over the batch, 'dead-relu'; any NaN/Inf in a gradient, a parameter or an output, 'nan'.
 * @example
 * const activations = inspect.recordActivations(model);
 * F.crossEntropy(model.call(x), y).backward();
 * const report = await inspect.gradientReport(model, { lr: 0.1, activations });
 * activations.remove();
 * for (const p of report.problems) console.warn(p.message);
 */
export async function gradientReport(
  model: Module,
  options: GradientReportOptions = {},
): Promise<GradientReport> {
  if (!(model instanceof Module))
    throw new TypeError(
      `inspect.gradientReport: expected an nn.Module, got ${model === null ? 'null' : typeof model}`,
    );
  const { lr, activations } = options;
  if (lr !== undefined && (typeof lr !== 'number' || !(lr >= 0) || !Number.isFinite(lr)))
    throw new RangeError(
      `inspect.gradientReport: lr must be a finite number >= 0, got ${String(lr)}`,
    );
  if (activations !== undefined && !(activations instanceof ActivationRecorder))
    throw new TypeError(
      'inspect.gradientReport: options.activations must come from inspect.recordActivations(model)',
    );
  if (activations && activations.model !== model)
    throw new Error(
      'inspect.gradientReport: options.activations records another model; use inspect.recordActivations(model) on this one',
    );
  const thresholds = resolveThresholds('inspect.gradientReport', options.thresholds);
  const layers = await layerStats(model, lr, activations);
  return {
    layers,
    problems: findProblems(layers, outputLayer(model, layers, activations), thresholds),
    thresholds,
  };
}

/**
 * The layer with a gradient nearest the output: the last to run in the recorded forward pass,
 * or without a recording the last in module order (layers are usually declared in the order
 * they run).
 */
function outputLayer(
  model: Module,
  layers: LayerReport[],
  activations: ActivationRecorder | undefined,
): LayerReport | null {
  const withGrad = layers.filter((l) => l.gradNorm !== null);
  if (activations) {
    const names = new Map(model.namedModules().map(([name, m]) => [m, name]));
    const ran = activations.order.map((m) => names.get(m));
    for (let i = ran.length - 1; i >= 0; i--) {
      const found = withGrad.find((l) => l.name === ran[i]);
      if (found) return found;
    }
  }
  return withGrad.at(-1) ?? null;
}
