/** Loss and accuracy curves of a training run, per epoch (or per recorded step for a one-epoch run). */
import { lineChart, type Series } from './line_chart.js';
import { normalizeHistory, type HistoryInput } from './history_input.js';
import { emptyPanel, stackPanels, type Panel } from './svg.js';

const pretty = (key: string) =>
  key.replace(/^val([A-Z])/, (_, c: string) => `validation ${c.toLowerCase()}`);

/** The panel of the logged quantities whose names match `pattern`. */
export function curvesPanel(
  op: string,
  history: HistoryInput,
  pattern: RegExp,
  what: string,
): Panel {
  const { epochs, records } = normalizeHistory(op, history);
  const keys = [...new Set(epochs.flatMap((e) => Object.keys(e)))].filter(
    (k) => k !== 'epoch' && pattern.test(k),
  );
  if (epochs.length >= 2 || (keys.length > 0 && !(what === 'loss' && records.length >= 2))) {
    if (keys.length === 0) return emptyPanel(what, `no ${what} was logged`);
    const series: Series[] = keys.map((k) => ({
      name: pretty(k),
      points: epochs.map((e) => [e.epoch + 1, e[k] ?? NaN] as [number, number]),
      dashed: k.startsWith('val'),
      markers: epochs.length <= 30,
    }));
    return lineChart({ title: what, xLabel: 'epoch', yLabel: what, series, integerX: true });
  }
  if (what === 'loss' && records.some((r) => r.loss !== null))
    return lineChart({
      title: 'loss',
      xLabel: 'step',
      yLabel: 'batch loss',
      series: [
        {
          name: 'batch loss',
          points: records.map((r) => [r.step, r.loss ?? NaN]),
          markers: records.length <= 30,
        },
      ],
    });
  return emptyPanel(what, `no ${what} was logged`);
}

/**
 * Loss curves (training and validation) as a standalone SVG document.
 * @example
 * writeFileSync('loss.svg', inspect.plots.lossCurves(history)); // a fit History or a GradientMonitor's
 */
export function lossCurves(history: HistoryInput): string {
  return stackPanels([curvesPanel('inspect.plots.lossCurves', history, /loss/i, 'loss')]);
}

/**
 * Accuracy curves (every logged quantity whose name contains 'acc') as an SVG document.
 * @example
 * const svg = inspect.plots.accuracyCurves(await train.fit(model, loader, { ..., metrics: { accuracy } }));
 */
export function accuracyCurves(history: HistoryInput): string {
  return stackPanels([curvesPanel('inspect.plots.accuracyCurves', history, /acc/i, 'accuracy')]);
}
