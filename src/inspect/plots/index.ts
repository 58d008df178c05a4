/**
 * `inspect.plots`: SVG plots as strings (pure: no file or DOM access), for Node and the browser.
 */
export { lossCurves, accuracyCurves } from './training_curves.js';
export { gradientHeatmap } from './gradient_heatmap.js';
export { hessianSpectrum, type SpectrumDensity, type SpectrumInput } from './hessian_spectrum.js';
export { historyPlot } from './history_plot.js';
export type { HistoryInput } from './history_input.js';
