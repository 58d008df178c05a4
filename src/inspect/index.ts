/**
 * The `inspect` namespace: what happens inside backprop, made visible and measurable (gradient
 * reports, their history over training, plots).
 */
export {
  gradientReport,
  type GradientReport,
  type GradientReportOptions,
} from './gradient_report.js';
export {
  ActivationRecorder,
  recordActivations,
  type ActivationStats,
} from './activation_recorder.js';
export type { LayerReport, ParameterStats } from './layer_stats.js';
export type { Problem, ProblemKind } from './problems.js';
export { DEFAULT_THRESHOLDS, type ReportThresholds } from './thresholds.js';
