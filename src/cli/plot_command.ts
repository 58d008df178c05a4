/** `chainrule plot`: a GradientMonitor history (or a fit History) as an SVG file. */
import { readFileSync } from 'node:fs';
import { parseHistory } from '../inspect/gradient_history.js';
import * as plots from '../inspect/plots/index.js';
import { writeFileAtomic } from '../train/write_file_atomic.js';
import { plural } from './mnist_job.js';

export type PlotKind = 'all' | 'loss' | 'accuracy' | 'gradients' | 'spectrum';
export const PLOT_KINDS: readonly PlotKind[] = ['all', 'loss', 'accuracy', 'gradients', 'spectrum'];

/** The SVG of `kind` for a history; a history without the data a kind needs is an error naming what is missing. */
export function plotSvg(
  history: ReturnType<typeof parseHistory>,
  kind: PlotKind,
  source: string,
): string {
  switch (kind) {
    case 'all':
      return plots.historyPlot(history);
    case 'loss':
      return plots.lossCurves(history);
    case 'accuracy':
      return plots.accuracyCurves(history);
    case 'gradients':
      if (history.records.length === 0)
        throw new Error(
          `${source} has no gradient records: write it with inspect.GradientMonitor (or 'chainrule train ... --plot')`,
        );
      return plots.gradientHeatmap(history);
    case 'spectrum':
      if (!history.hessianEigenvalues || history.hessianEigenvalues.length === 0)
        throw new Error(`${source} has no 'hessianEigenvalues' array to plot`);
      return plots.hessianSpectrum(history.hessianEigenvalues);
    default:
      throw new Error(
        `unknown plot kind '${String(kind)}'; expected one of ${PLOT_KINDS.join(', ')}`,
      );
  }
}

/** Reads `input`, writes the plot to `out` (atomically); returns the line to print. */
export function plotFile(input: string, out: string, kind: PlotKind): string {
  let json: string;
  try {
    json = readFileSync(input, 'utf8');
  } catch (error) {
    throw new Error(`plot: cannot read ${input}: ${(error as Error).message}`);
  }
  const history = parseHistory(json, input);
  writeFileAtomic(out, plotSvg(history, kind, input), 'plot');
  const what = `${plural(history.records.length, 'gradient record')}, ${plural(history.epochs.length, 'epoch')}`;
  return `wrote ${kind === 'all' ? 'plots' : `the ${kind} plot`} of ${input} (${what}) to ${out}`;
}
