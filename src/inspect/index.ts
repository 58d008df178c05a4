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
export { GradientMonitor, type GradientMonitorOptions } from './gradient_monitor.js';
export {
  parseHistory,
  historyLayers,
  HISTORY_FORMAT,
  type GradientHistory,
  type HistoryRecord,
  type HistoryProblem,
  type LayerFigures,
  type FitHistoryLike,
} from './gradient_history.js';
export * as plots from './plots/index.js';
