/** Line charts: one panel with axes, grid, legend and one polyline per series. */
import {
  PALETTE,
  MARGIN,
  PANEL_HEIGHT,
  PANEL_WIDTH,
  axisTicks,
  emptyPanel,
  extent,
  frame,
  legend,
  niceTicks,
  round,
  scale,
  type Panel,
} from './svg.js';

export interface Series {
  name: string;
  /** [x, y] points; non-finite y values break the line. */
  points: [number, number][];
  dashed?: boolean;
  /** Draw a dot at each point (short series). */
  markers?: boolean;
}

export interface LineChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  /** A logarithmic y axis (values <= 0 are left out). */
  logY?: boolean;
  /** Only whole-number ticks on the x axis (epochs, ranks). */
  integerX?: boolean;
}

/** A panel of line charts; an empty one says there was nothing to draw. */
export function lineChart(options: LineChartOptions): Panel {
  const { title, xLabel, yLabel, series, logY = false, integerX = false } = options;
  const toY = (v: number) => (logY ? (v > 0 ? Math.log10(v) : NaN) : v);
  const all = series.flatMap((s) => s.points);
  const ys = all.map(([, y]) => toY(y)).filter(Number.isFinite);
  if (ys.length === 0) return emptyPanel(title, 'no finite values to plot');
  const [x0, x1] = extent(all.map(([x]) => x));
  let [y0, y1] = extent(ys);
  if (!logY) {
    const pad = (y1 - y0) * 0.05;
    [y0, y1] = [y0 - pad, y1 + pad];
  }
  const width = PANEL_WIDTH;
  const height = PANEL_HEIGHT;
  const sx = scale(x0, x1, MARGIN.left, width - MARGIN.right);
  const sy = scale(y0, y1, height - MARGIN.bottom, MARGIN.top);
  const yTicks = logY
    ? niceTicks(Math.ceil(y0), Math.floor(y1), 5).filter(Number.isInteger)
    : niceTicks(y0, y1, 5);
  const lines = series.map((s, i) => {
    const color = PALETTE[i % PALETTE.length];
    const runs: string[][] = [[]];
    for (const [x, y] of s.points) {
      const v = toY(y);
      if (Number.isFinite(v) && Number.isFinite(x))
        runs.at(-1)!.push(`${round(sx(x))},${round(sy(v))}`);
      else if (runs.at(-1)!.length > 0) runs.push([]);
    }
    const dash = s.dashed ? ' stroke-dasharray="5 3"' : '';
    const paths = runs
      .filter((r) => r.length > 0)
      .map(
        (r) =>
          `<polyline class="series" data-series="${i}" points="${r.join(' ')}" fill="none" stroke="${color}" stroke-width="2"${dash}/>`,
      );
    const dots = s.markers
      ? runs.flat().map((p) => {
          const [cx, cy] = p.split(',');
          return `<circle cx="${cx}" cy="${cy}" r="2.5" fill="${color}"/>`;
        })
      : [];
    return [...paths, ...dots].join('');
  });
  const body =
    frame(title, xLabel, yLabel, width, height) +
    axisTicks(
      'x',
      niceTicks(x0, x1, 8).filter((v) => !integerX || Number.isInteger(v)),
      sx,
      width,
      height,
    ) +
    axisTicks('y', yTicks, sy, width, height, logY ? (v) => `1e${v}` : undefined) +
    lines.join('') +
    legend(
      series.map((s, i) => ({
        name: s.name,
        color: PALETTE[i % PALETTE.length],
        dashed: s.dashed,
      })),
      width,
    );
  return { width, height, body };
}
