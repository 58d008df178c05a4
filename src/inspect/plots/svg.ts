/**
 * The SVG pieces every plot shares: escaping, number labels, tick positions, a colour map, and
 * panels (a width, a height and the markup) that stack into one self-contained document. Pure
 * string building, so the plots run in a browser as well as in Node.
 */

/** A plot's markup before it becomes a document: stacked with others by {@link stackPanels}. */
export interface Panel {
  width: number;
  height: number;
  body: string;
}

/** Plot area inside a panel: margins for the title, the tick labels and the axis labels. */
export const MARGIN = { left: 72, right: 24, top: 34, bottom: 46 } as const;
export const PANEL_WIDTH = 720;
export const PANEL_HEIGHT = 320;
export const FONT = 'font-family="system-ui, sans-serif" font-size="12"';

/** Line colours (a colour-blind-safe set: Okabe and Ito). */
export const PALETTE = ['#0072b2', '#d55e00', '#009e73', '#cc79a7', '#e69f00', '#56b4e9'];

export function escapeXml(text: string): string {
  return text.replace(
    /[<>&"']/g,
    (c) => `&${{ '<': 'lt', '>': 'gt', '&': 'amp', '"': 'quot', "'": 'apos' }[c]};`,
  );
}

/** A short label for an axis value: 3 significant digits, exponent form when very large or small. */
export function tickLabel(x: number): string {
  if (x === 0) return '0';
  const a = Math.abs(x);
  if (a >= 1e5 || a < 1e-3) return x.toExponential(1).replace('.0e', 'e').replace('e+', 'e');
  return String(Number(x.toPrecision(3)));
}

/** Labels for evenly spaced ticks: as many decimals as their step needs (1.125, 1.13, not 1.13, 1.13). */
export function tickFormat(ticks: number[]): (x: number) => string {
  const step = ticks.length >= 2 ? Math.abs(ticks[1] - ticks[0]) : 0;
  const top = Math.max(...ticks.map(Math.abs));
  if (!(step > 0) || top >= 1e5 || step < 1e-4) return tickLabel;
  const decimals = Math.max(0, Math.ceil(-Math.log10(step) - 1e-9));
  return (x) => x.toFixed(decimals);
}

/** About `count` round tick values (steps of 1, 2 or 5 times a power of ten) covering [lo, hi]. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw) ?? 10 * power;
  const ticks: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step)
    ticks.push(Math.abs(v) < step * 1e-9 ? 0 : Number(v.toPrecision(12)));
  return ticks;
}

/** The finite range of `values`, widened when empty or flat so a scale can be drawn. */
export function extent(values: number[]): [number, number] {
  const finite = values.filter(Number.isFinite);
  if (finite.length === 0) return [0, 1];
  let lo = Math.min(...finite);
  let hi = Math.max(...finite);
  if (lo === hi) {
    const pad = lo === 0 ? 1 : Math.abs(lo) * 0.1;
    lo -= pad;
    hi += pad;
  }
  return [lo, hi];
}

/** Maps [d0, d1] linearly onto [r0, r1]. */
export function scale(d0: number, d1: number, r0: number, r1: number): (x: number) => number {
  return (x) => r0 + ((x - d0) / (d1 - d0)) * (r1 - r0);
}

/** Viridis at t in [0, 1] (dark blue → green → yellow), by linear steps between 9 samples. */
export function viridis(t: number): string {
  const stops = [
    [68, 1, 84],
    [71, 44, 122],
    [59, 81, 139],
    [44, 113, 142],
    [33, 144, 141],
    [39, 173, 129],
    [92, 200, 99],
    [170, 220, 50],
    [253, 231, 37],
  ];
  const x = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0)) * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(x));
  const f = x - i;
  const rgb = stops[i].map((c, k) => Math.round(c + f * (stops[i + 1][k] - c)));
  return `#${rgb.map((c) => c.toString(16).padStart(2, '0')).join('')}`;
}

/** `text` at (x, y); `extra` adds attributes (anchor, rotation). */
export function text(x: number, y: number, content: string, extra = ''): string {
  return `<text x="${round(x)}" y="${round(y)}" ${extra}>${escapeXml(content)}</text>`;
}

export const round = (x: number) => Math.round(x * 100) / 100;

/** A panel's title, axis labels and frame around the plot area. */
export function frame(
  title: string,
  xLabel: string,
  yLabel: string,
  width = PANEL_WIDTH,
  height = PANEL_HEIGHT,
): string {
  const { left, right, top, bottom } = MARGIN;
  return [
    text(left, 20, title, 'font-size="14" font-weight="600"'),
    text(left + (width - left - right) / 2, height - 8, xLabel, 'text-anchor="middle"'),
    text(
      16,
      top + (height - top - bottom) / 2,
      yLabel,
      `text-anchor="middle" transform="rotate(-90 16 ${round(top + (height - top - bottom) / 2)})"`,
    ),
    `<rect x="${left}" y="${top}" width="${width - left - right}" height="${height - top - bottom}" fill="none" stroke="#444"/>`,
  ].join('');
}

/** Tick marks, labels and light grid lines along one axis. */
export function axisTicks(
  axis: 'x' | 'y',
  ticks: number[],
  at: (v: number) => number,
  width = PANEL_WIDTH,
  height = PANEL_HEIGHT,
  label: (v: number) => string = tickFormat(ticks),
): string {
  const { left, right, top, bottom } = MARGIN;
  return ticks
    .map((v) => {
      const p = round(at(v));
      return axis === 'x'
        ? `<line x1="${p}" y1="${top}" x2="${p}" y2="${height - bottom}" stroke="#ddd"/>` +
            text(p, height - bottom + 16, label(v), 'text-anchor="middle"')
        : `<line x1="${left}" y1="${p}" x2="${width - right}" y2="${p}" stroke="#ddd"/>` +
            text(left - 6, p + 4, label(v), 'text-anchor="end"');
    })
    .join('');
}

/**
 * A legend of coloured line samples in the panel's title row, right-aligned, so it never covers
 * the data (label widths estimated at 7 px a character).
 */
export function legend(
  entries: { name: string; color: string; dashed?: boolean }[],
  width = PANEL_WIDTH,
): string {
  const widths = entries.map((e) => 28 + 7 * e.name.length + 16);
  let x = width - MARGIN.right - widths.reduce((s, w) => s + w, 0);
  const y = 20;
  return entries
    .map((e, i) => {
      const part =
        `<line x1="${round(x)}" y1="${y - 4}" x2="${round(x + 22)}" y2="${y - 4}" stroke="${e.color}" stroke-width="2"${e.dashed ? ' stroke-dasharray="5 3"' : ''}/>` +
        text(x + 28, y, e.name);
      x += widths[i];
      return part;
    })
    .join('');
}

/** A message in place of a plot that has nothing to draw. */
export function emptyPanel(title: string, message: string): Panel {
  return {
    width: PANEL_WIDTH,
    height: 80,
    body:
      text(MARGIN.left, 20, title, 'font-size="14" font-weight="600"') +
      text(MARGIN.left, 50, message, 'fill="#666"'),
  };
}

/** Panels one above the other in one standalone SVG document. */
export function stackPanels(panels: Panel[]): string {
  const width = Math.max(...panels.map((p) => p.width));
  let y = 0;
  const parts = panels.map((p) => {
    const part = `<g transform="translate(0 ${y})">${p.body}</g>`;
    y += p.height;
    return part;
  });
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${y}" viewBox="0 0 ${width} ${y}" ${FONT}>` +
    `<rect width="${width}" height="${y}" fill="#fff"/>${parts.join('')}</svg>\n`
  );
}
