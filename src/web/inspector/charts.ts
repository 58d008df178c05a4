/**
 * The inspector's two charts as SVG strings: the loss curve and the per-layer gradient-norm heat
 * map (rows: layers, first layer on top; columns: steps; colour: log10 of the norm).
 */
import { escapeXml, viridis } from '../../inspect/plots/svg.js';

const FONT = 'font-family="system-ui, sans-serif" font-size="11"';

function fmt(v: number): string {
  return Math.abs(v) >= 1e4 || (Math.abs(v) < 1e-3 && v !== 0)
    ? v.toExponential(2)
    : String(Number(v.toPrecision(3)));
}

/**
 * A line chart of loss against step.
 * @example
 * lossCurveSvg([{ step: 0, loss: 0.7 }, { step: 1, loss: 0.5 }]);
 */
export function lossCurveSvg(
  points: readonly { step: number; loss: number | null }[],
  width = 380,
  height = 200,
): string {
  const data = points.filter((p): p is { step: number; loss: number } => p.loss !== null);
  const left = 58;
  const right = 10;
  const top = 22;
  const bottom = 26;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" class="loss-curve" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ${FONT} data-points="${data.length}">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="${left}" y="14" font-weight="600">loss</text>`,
    `<line x1="${left}" y1="${height - bottom}" x2="${width - right}" y2="${height - bottom}" stroke="#999"/>`,
    `<line x1="${left}" y1="${top}" x2="${left}" y2="${height - bottom}" stroke="#999"/>`,
  ];
  if (data.length > 0) {
    const s0 = data[0].step;
    const s1 = Math.max(data[data.length - 1].step, s0 + 1);
    let lo = Math.min(...data.map((p) => p.loss));
    let hi = Math.max(...data.map((p) => p.loss));
    if (hi - lo < 1e-12) [lo, hi] = [lo - 0.5, hi + 0.5];
    const sx = (s: number) => left + ((s - s0) / (s1 - s0)) * (width - left - right);
    const sy = (v: number) => top + ((hi - v) / (hi - lo)) * (height - top - bottom);
    const d = data
      .map((p, i) => `${i === 0 ? 'M' : 'L'}${sx(p.step).toFixed(1)},${sy(p.loss).toFixed(1)}`)
      .join(' ');
    parts.push(
      `<path d="${d}" fill="none" stroke="#1a73e8" stroke-width="1.5"/>`,
      `<text x="${left - 4}" y="${top + 4}" text-anchor="end">${fmt(hi)}</text>`,
      `<text x="${left - 4}" y="${height - bottom}" text-anchor="end">${fmt(lo)}</text>`,
      `<text x="${left}" y="${height - 8}">step ${s0}</text>`,
      `<text x="${width - right}" y="${height - 8}" text-anchor="end">${data[data.length - 1].step}</text>`,
    );
  } else {
    parts.push(`<text x="${left + 10}" y="${height / 2}" fill="#777">no loss yet</text>`);
  }
  parts.push('</svg>');
  return parts.join('');
}

/**
 * The gradient-norm heat map: `columns[j][i]` is layer i's norm at the j-th recorded step (null
 * where missing). At most `maxColumns` columns are drawn: longer histories are sampled evenly.
 * @example
 * heatMapSvg(['0.weight', '2.weight'], [[1e-3, 0.1], [2e-3, 0.09]]);
 */
export function heatMapSvg(
  layers: readonly string[],
  columns: readonly (readonly (number | null)[])[],
  width = 380,
  height = 200,
  maxColumns = 120,
): string {
  const left = 84;
  const top = 22;
  const bottom = 26;
  const right = 10;
  const shown =
    columns.length <= maxColumns
      ? columns
      : Array.from(
          { length: maxColumns },
          (_, j) => columns[Math.floor(((j + 1) * columns.length) / maxColumns) - 1],
        );
  const logs = shown
    .flat()
    .filter((v): v is number => v !== null && v > 0)
    .map(Math.log10);
  const lo = logs.length ? Math.min(...logs) : 0;
  const hi = logs.length ? Math.max(...logs) : 1;
  const span = hi - lo || 1;
  const cellW = (width - left - right) / Math.max(shown.length, 1);
  const cellH = (height - top - bottom) / Math.max(layers.length, 1);
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" class="heat-map" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ${FONT} data-layers="${layers.length}" data-columns="${shown.length}">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="${left}" y="14" font-weight="600">log10 ‖grad‖ per layer (${fmt(lo)} … ${fmt(hi)})</text>`,
  ];
  layers.forEach((name, i) => {
    const y = top + i * cellH;
    if (cellH >= 9)
      parts.push(
        `<text x="${left - 4}" y="${(y + cellH / 2 + 4).toFixed(1)}" text-anchor="end">${escapeXml(name)}</text>`,
      );
    shown.forEach((col, j) => {
      const v = col[i];
      const fill =
        v === null || v === undefined || !(v > 0) ? '#ddd' : viridis((Math.log10(v) - lo) / span);
      parts.push(
        `<rect x="${(left + j * cellW).toFixed(1)}" y="${y.toFixed(1)}" width="${(cellW + 0.5).toFixed(1)}" height="${(cellH + 0.5).toFixed(1)}" fill="${fill}"/>`,
      );
    });
  });
  parts.push(`<text x="${left}" y="${height - 8}">steps →</text>`, '</svg>');
  return parts.join('');
}
