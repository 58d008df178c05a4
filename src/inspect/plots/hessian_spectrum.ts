/** The Hessian's spectrum: its top eigenvalues by rank, or an eigenvalue density over a grid. */
import { lineChart } from './line_chart.js';
import {
  MARGIN,
  PANEL_HEIGHT,
  PANEL_WIDTH,
  axisTicks,
  extent,
  frame,
  niceTicks,
  round,
  scale,
  stackPanels,
  type Panel,
} from './svg.js';

/** An eigenvalue density sampled on a grid (stochastic Lanczos quadrature's output, smoothed). */
export interface SpectrumDensity {
  grid: number[];
  density: number[];
}

function checkNumbers(op: string, name: string, values: unknown): number[] {
  if (
    !Array.isArray(values) ||
    values.length === 0 ||
    values.some((v) => typeof v !== 'number' || !Number.isFinite(v))
  )
    throw new TypeError(`${op}: ${name} must be a non-empty array of finite numbers`);
  return values as number[];
}

/** What the spectrum plot takes: eigenvalues, a result holding them (`hessianEigenvalues`'s), or a density. */
export type SpectrumInput = number[] | { eigenvalues: number[] } | SpectrumDensity;

/** The spectrum panel: eigenvalues as stems by rank (negative ones below zero: a saddle), or a density curve. */
export function spectrumPanel(op: string, input: SpectrumInput): Panel {
  const spectrum: unknown =
    input !== null && typeof input === 'object' && 'eigenvalues' in input && !('density' in input)
      ? input.eigenvalues
      : input;
  if (!Array.isArray(spectrum)) {
    if (spectrum === null || typeof spectrum !== 'object')
      throw new TypeError(
        `${op}: expected an array of eigenvalues, { eigenvalues } or { grid, density }, got ${String(spectrum)}`,
      );
    const { grid: g, density: d } = spectrum as Partial<SpectrumDensity>;
    const grid = checkNumbers(op, 'grid', g);
    const density = checkNumbers(op, 'density', d);
    if (grid.length !== density.length)
      throw new RangeError(
        `${op}: grid (${grid.length}) and density (${density.length}) differ in length`,
      );
    return lineChart({
      title: 'Hessian eigenvalue density',
      xLabel: 'eigenvalue',
      yLabel: 'density (log scale)',
      series: [{ name: 'density', points: grid.map((x, i) => [x, density[i]]) }],
      logY: true,
    });
  }
  const values = checkNumbers(op, 'eigenvalues', spectrum);
  const [lo, hi] = extent([0, ...values]);
  const pad = (hi - lo) * 0.08;
  const sx = scale(0.5, values.length + 0.5, MARGIN.left, PANEL_WIDTH - MARGIN.right);
  const sy = scale(lo - pad, hi + pad, PANEL_HEIGHT - MARGIN.bottom, MARGIN.top);
  const stems = values
    .map((v, i) => {
      const x = round(sx(i + 1));
      const color = v < 0 ? '#d55e00' : '#0072b2';
      return `<line class="stem" x1="${x}" y1="${round(sy(0))}" x2="${x}" y2="${round(sy(v))}" stroke="${color}" stroke-width="2"/><circle cx="${x}" cy="${round(sy(v))}" r="3.5" fill="${color}"><title>λ${i + 1} = ${v.toPrecision(6)}</title></circle>`;
    })
    .join('');
  const rankTicks = niceTicks(1, values.length, Math.min(values.length, 10)).filter(
    Number.isInteger,
  );
  const body =
    frame('Hessian eigenvalues (largest first)', 'rank', 'eigenvalue') +
    axisTicks('x', rankTicks, sx) +
    axisTicks('y', niceTicks(lo - pad, hi + pad, 5), sy) +
    `<line x1="${MARGIN.left}" y1="${round(sy(0))}" x2="${PANEL_WIDTH - MARGIN.right}" y2="${round(sy(0))}" stroke="#444"/>` +
    stems;
  return { width: PANEL_WIDTH, height: PANEL_HEIGHT, body };
}

/**
 * The Hessian spectrum as an SVG document: eigenvalues (an array, or `inspect.hessianEigenvalues`'s
 * result) as stems by rank, negative ones in orange; or a density `{ grid, density }`
 * (`inspect.hessianDensity`'s result) as a curve on a log scale.
 * @example
 * writeFileSync('spectrum.svg', inspect.plots.hessianSpectrum([12.1, 3.4, -0.2]));
 */
export function hessianSpectrum(spectrum: SpectrumInput): string {
  return stackPanels([spectrumPanel('inspect.plots.hessianSpectrum', spectrum)]);
}
