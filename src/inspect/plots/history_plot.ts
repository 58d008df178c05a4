/** Every plot a history has data for, stacked in one SVG: what `chainrule plot` writes. */
import { heatmapPanel } from './gradient_heatmap.js';
import { normalizeHistory, type HistoryInput } from './history_input.js';
import { spectrumPanel } from './hessian_spectrum.js';
import { curvesPanel } from './training_curves.js';
import { emptyPanel, stackPanels, type Panel } from './svg.js';

/**
 * Loss curves, accuracy curves, the gradient-norm heat map and the Hessian spectrum (those the
 * history has data for), one above the other, as one SVG document.
 * @example
 * writeFileSync('run.svg', inspect.plots.historyPlot(monitor.history));
 */
export function historyPlot(history: HistoryInput): string {
  const op = 'inspect.plots.historyPlot';
  const { epochs, records, hessianEigenvalues } = normalizeHistory(op, history);
  const keys = new Set(epochs.flatMap((e) => Object.keys(e)));
  const panels: Panel[] = [];
  if ([...keys].some((k) => /loss/i.test(k)) || records.some((r) => r.loss !== null))
    panels.push(curvesPanel(op, history, /loss/i, 'loss'));
  if ([...keys].some((k) => /acc/i.test(k)))
    panels.push(curvesPanel(op, history, /acc/i, 'accuracy'));
  if (records.length > 0) panels.push(heatmapPanel(op, history));
  if (hessianEigenvalues && hessianEigenvalues.length > 0)
    panels.push(spectrumPanel(op, hessianEigenvalues));
  if (panels.length === 0)
    panels.push(emptyPanel('history', 'nothing to plot: no losses, metrics or gradient records'));
  return stackPanels(panels);
}
