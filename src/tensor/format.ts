/** PyTorch-style printing: one number format per tensor, nested brackets, summarized when large. */
import type { Tensor } from './tensor.js';

const THRESHOLD = 1000; // elements before printing is summarized
const EDGE_ITEMS = 3;
const LINE_WIDTH = 80;

type Formatter = (v: number) => string;

function chooseFormatter(values: readonly number[], dtype: string): Formatter {
  if (dtype === 'bool') return (v) => (v ? 'True' : 'False');
  if (dtype === 'int32') return (v) => String(v);
  const finite = values.filter(Number.isFinite);
  const special = (v: number) => (Number.isNaN(v) ? 'nan' : v > 0 ? 'inf' : '-inf');
  if (finite.length === 0) return (v) => special(v);
  const magnitudes = finite.map(Math.abs).filter((v) => v > 0);
  const max = magnitudes.length ? Math.max(...magnitudes) : 0;
  const min = magnitudes.length ? Math.min(...magnitudes) : 0;
  const wrap =
    (f: Formatter): Formatter =>
    (v) =>
      Number.isFinite(v) ? f(v) : special(v);
  if (finite.every(Number.isInteger)) {
    if (max > 1e8 || (min > 0 && max / min > 1000))
      return wrap((v) => v.toExponential(4).replace(/e([+-])(\d)$/, 'e$10$2'));
    return wrap((v) => `${v.toFixed(0)}.`);
  }
  if (max > 1e8 || (min > 0 && (min < 1e-4 || max / min > 1000))) {
    return wrap((v) => v.toExponential(4).replace(/e([+-])(\d)$/, 'e$10$2'));
  }
  return wrap((v) => v.toFixed(4));
}

/** Row-major values, each along with whether the summary hides it. */
function formatNested(
  values: ArrayLike<number>,
  shape: readonly number[],
  format: Formatter,
  width: number,
  summarize: boolean,
  indent: number,
): string {
  const strides = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
  const show = (size: number): (number | null)[] =>
    summarize && size > 2 * EDGE_ITEMS
      ? [
          ...Array.from({ length: EDGE_ITEMS }, (_, i) => i),
          null,
          ...Array.from({ length: EDGE_ITEMS }, (_, i) => size - EDGE_ITEMS + i),
        ]
      : Array.from({ length: size }, (_, i) => i);
  const recurse = (depth: number, start: number): string => {
    const items = show(shape[depth]);
    if (depth === shape.length - 1) {
      // PyTorch writes the elided elements of a row as ' ...'.
      const cells = items.map((i) =>
        i === null ? ' ...' : format(values[start + i]).padStart(width),
      );
      const lines: string[] = [];
      let line = '';
      const room = LINE_WIDTH - indent - depth - 1;
      for (const cell of cells) {
        const next = line ? `${line}, ${cell}` : cell;
        if (line && next.length > room) {
          lines.push(`${line},`);
          line = cell;
        } else line = next;
      }
      lines.push(line);
      return `[${lines.join(`\n${' '.repeat(indent + depth + 1)}`)}]`;
    }
    const separator = `,${'\n'.repeat(shape.length - depth - 1)}${' '.repeat(indent + depth + 1)}`;
    const parts = items.map((i) =>
      i === null ? '...' : recurse(depth + 1, start + i * strides[depth]),
    );
    return `[${parts.join(separator)}]`;
  };
  return recurse(0, 0);
}

export function formatTensor(t: Tensor): string {
  const suffixes: string[] = [];
  if (t.dtype === 'float64' || t.dtype === 'int32') suffixes.push(`dtype=${t.dtype}`);
  if (t.device !== 'cpu') suffixes.push(`device='${t.device}'`);
  if (t.gradFn) suffixes.push(`gradFn=<${t.gradFn.name}>`);
  else if (t.requiresGrad) suffixes.push('requiresGrad=true');
  let body: string;
  if (t.numel() === 0) {
    body = '[]';
    if (t.ndim !== 1) suffixes.unshift(`size=[${t.shape.join(', ')}]`);
  } else if (!t.backend.canReadSync) {
    body = `<${t.numel()} values on ${t.device}; await data() to read>`;
  } else {
    const values = t.dataSync();
    const summarize = values.length > THRESHOLD;
    const shown = summarize ? sampleEdges(values, t.shape) : Array.from(values);
    const format = chooseFormatter(shown, t.dtype);
    body =
      t.ndim === 0
        ? format(values[0])
        : formatNested(
            values,
            t.shape,
            format,
            columnWidth(shown, t.dtype, format),
            summarize,
            'tensor('.length,
          );
  }
  return `tensor(${[body, ...suffixes].join(', ')})`;
}

/**
 * The column width, as PyTorch: the longest printed value, but for floats only finite non-zero
 * values count (nan, inf and zeros are padded to it, not widening it). A loop, not Math.max(...),
 * so that large tensors cannot overflow the stack.
 */
function columnWidth(shown: readonly number[], dtype: string, format: Formatter): number {
  const floating = dtype === 'float32' || dtype === 'float64';
  let width = 1;
  for (const v of shown) {
    if (floating && (v === 0 || !Number.isFinite(v))) continue;
    width = Math.max(width, format(v).length);
  }
  return width;
}

/** The values a summary prints, to choose the number format from them alone (as PyTorch does). */
function sampleEdges(values: ArrayLike<number>, shape: readonly number[]): number[] {
  const out: number[] = [];
  const strides = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
  const visit = (depth: number, start: number) => {
    const size = shape[depth];
    const indices =
      size > 2 * EDGE_ITEMS
        ? [0, 1, 2, size - 3, size - 2, size - 1]
        : Array.from({ length: size }, (_, i) => i);
    for (const i of indices) {
      if (depth === shape.length - 1) out.push(values[start + i]);
      else visit(depth + 1, start + i * strides[depth]);
    }
  };
  visit(0, 0);
  return out;
}
