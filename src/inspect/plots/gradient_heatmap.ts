/** The per-layer gradient norms of a GradientMonitor history as a heat map: layers × recorded steps, log10 colour. */
import { historyLayers, type GradientHistory } from '../gradient_history.js';
import { normalizeHistory, type HistoryInput } from './history_input.js';
import {
  MARGIN,
  PANEL_WIDTH,
  axisTicks,
  emptyPanel,
  escapeXml,
  niceTicks,
  round,
  scale,
  stackPanels,
  text,
  viridis,
  type Panel,
} from './svg.js';

const LEFT = 120;
const RIGHT = 90;

/** The heat-map panel; rows are the layers that had gradients, top row the first layer. */
export function heatmapPanel(op: string, history: HistoryInput): Panel {
  const { records } = normalizeHistory(op, history);
  const title = 'gradient norm per layer (log10)';
  const layers = historyLayers({ records } as GradientHistory).filter((name) =>
    records.some((r) => r.layers[name]?.gradNorm != null),
  );
  if (records.length === 0 || layers.length === 0)
    return emptyPanel(
      title,
      'no gradient norms were recorded (write the history with inspect.GradientMonitor)',
    );
  const logs = records.map((r) =>
    layers.map((name) => {
      const g = r.layers[name]?.gradNorm;
      return g != null && g > 0 ? Math.log10(g) : NaN;
    }),
  );
  const finite = logs.flat().filter(Number.isFinite);
  const lo = finite.length > 0 ? Math.min(...finite) : 0;
  const hi = finite.length > 0 ? Math.max(...finite) : 1;
  const cellH = Math.max(6, Math.min(22, Math.floor(400 / layers.length)));
  const width = PANEL_WIDTH;
  const plotW = width - LEFT - RIGHT;
  const height = MARGIN.top + cellH * layers.length + MARGIN.bottom;
  const cellW = plotW / records.length;
  const cells: string[] = [];
  records.forEach((r, j) =>
    layers.forEach((name, i) => {
      const v = logs[j][i];
      const fill = Number.isFinite(v) ? viridis(hi > lo ? (v - lo) / (hi - lo) : 0.5) : '#bbbbbb';
      const g = r.layers[name]?.gradNorm;
      cells.push(
        `<rect class="cell" x="${round(LEFT + j * cellW)}" y="${MARGIN.top + i * cellH}" width="${round(cellW + 0.3)}" height="${cellH}" fill="${fill}"><title>${escapeXml(`${name || '(model)'} at step ${r.step}: ${g == null ? 'no gradient' : g.toExponential(3)}`)}</title></rect>`,
      );
    }),
  );
  const labelEvery = Math.ceil((layers.length * 14) / (cellH * layers.length));
  const names = layers
    .map((name, i) =>
      i % labelEvery === 0
        ? text(
            LEFT - 6,
            MARGIN.top + i * cellH + cellH / 2 + 4,
            name || '(model)',
            'text-anchor="end"',
          )
        : '',
    )
    .join('');
  const steps = records.map((r) => r.step);
  const sx = scale(steps[0] - 0.5, steps.at(-1)! + 0.5, LEFT, LEFT + plotW);
  const stepTicks = niceTicks(steps[0], steps.at(-1)!, 6).filter(
    (s) => s >= steps[0] && s <= steps.at(-1)!,
  );
  const x0 = width - RIGHT + 16;
  const barH = cellH * layers.length;
  const bar = Array.from(
    { length: 32 },
    (_, k) =>
      `<rect x="${x0}" y="${round(MARGIN.top + (barH * k) / 32)}" width="14" height="${round(barH / 32 + 0.3)}" fill="${viridis(1 - k / 31)}"/>`,
  ).join('');
  const barLabels =
    text(x0 + 18, MARGIN.top + 10, `1e${hi.toFixed(1)}`) +
    text(x0 + 18, MARGIN.top + barH, `1e${lo.toFixed(1)}`);
  const body =
    text(LEFT, 20, title, 'font-size="14" font-weight="600"') +
    cells.join('') +
    names +
    axisTicks('x', stepTicks, sx, width, height).replace(/<line[^>]*\/>/g, '') +
    text(LEFT + plotW / 2, height - 8, 'step', 'text-anchor="middle"') +
    bar +
    barLabels;
  return { width, height, body };
}

/**
 * Gradient norms per layer over training as a heat map (SVG document): a row per layer (the
 * input layer on top), a column per recorded step, colour log10 of the norm. Vanishing
 * gradients show as dark top rows, exploding ones as bright columns.
 * @example
 * writeFileSync('grads.svg', inspect.plots.gradientHeatmap(monitor.history));
 */
export function gradientHeatmap(history: GradientHistory): string {
  return stackPanels([heatmapPanel('inspect.plots.gradientHeatmap', history)]);
}
