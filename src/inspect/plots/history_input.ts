/** What the history plots accept: a GradientMonitor history, or a fit History (`{ epochs, series }`). */
import { HISTORY_FORMAT, type FitHistoryLike, type GradientHistory } from '../gradient_history.js';

export type HistoryInput = GradientHistory | FitHistoryLike;

/** The per-epoch logs with their epoch, and the monitor's records (none for a fit History). */
export function normalizeHistory(
  op: string,
  history: HistoryInput,
): Pick<GradientHistory, 'epochs' | 'records'> & { hessianEigenvalues?: number[] } {
  if (
    history === null ||
    typeof history !== 'object' ||
    !Array.isArray((history as FitHistoryLike).epochs)
  )
    throw new TypeError(
      `${op}: expected a GradientMonitor history or a fit History (an object with an 'epochs' array)`,
    );
  if ((history as GradientHistory).format === HISTORY_FORMAT) return history as GradientHistory;
  return {
    epochs: (history as FitHistoryLike).epochs.map((logs, epoch) => ({ epoch, ...logs })),
    records: [],
  };
}
