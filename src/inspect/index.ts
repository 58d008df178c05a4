/**
 * `inspect`: see backprop happen: gradient reports and their history over training, plots,
 * graph export, the backward step-through and curvature.
 * @example
 * import { inspect } from 'chainrule';
 * const { eigenvalues } = await inspect.hessianEigenvalues(lossFn, model.parameters(), { k: 2 });
 */

// Gradient reports, their history over training, plots.
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

// Graph export and the backward step-through.
export {
  graph,
  Graph,
  type GraphOptions,
  type GraphNode,
  type GraphEdge,
  type GraphJSON,
} from './graph.js';
export {
  backwardSteps,
  type BackwardStep,
  type BackwardStepInput,
  type BackwardStepsOptions,
} from './backward_steps.js';
export { recordGraph, setRecordGraph, isGraphRecording } from '../autograd/graph_recording.js';
export {
  layeredLayout,
  type Layout,
  type LayoutBox,
  type LayoutEdge,
  type LayoutOptions,
} from './graph_layout.js';

// Curvature: Hessian-vector products, eigenvalues (Lanczos), trace (Hutchinson), density (SLQ).
export { hessianVectorProduct, type LossFn, type Params } from './hessian_vector_product.js';
export {
  hessianEigenvalues,
  type HessianEigenvalues,
  type HessianEigenvaluesOptions,
  type EigenvalueSelection,
} from './hessian_eigenvalues.js';
export { hessianTrace, type HessianTrace, type HessianTraceOptions } from './hessian_trace.js';
export {
  hessianDensity,
  type HessianDensity,
  type HessianDensityOptions,
  type QuadratureRun,
} from './spectral_density.js';
