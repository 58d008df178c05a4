/**
 * The history a GradientMonitor writes (JSON) and the plots read: per recorded step each layer's
 * figures, per epoch the fit logs, and the problems found. `parseHistory` checks a file of it, or
 * of a fit History (`{ epochs, series }`), and says what is wrong with one that is neither.
 */
import type { ProblemKind } from './problems.js';
import { DEFAULT_THRESHOLDS, type ReportThresholds } from './thresholds.js';

export const HISTORY_FORMAT = 'chainrule.gradient-history';

/** One layer's figures at a recorded step (null where the report had none). */
export interface LayerFigures {
  gradNorm: number | null;
  weightNorm: number | null;
  updateRatio: number | null;
  activationMean: number | null;
  activationStd: number | null;
  deadFraction: number | null;
}

/** One recorded step. */
export interface HistoryRecord {
  /** The global step (batches since training began, counted from 0). */
  step: number;
  epoch: number;
  /** The batch's loss. */
  loss: number | null;
  /** The learning rate used for the update ratios, if known. */
  lr: number | null;
  layers: Record<string, LayerFigures>;
}

/** A problem as first seen. */
export interface HistoryProblem {
  step: number;
  epoch: number;
  layer: string;
  kind: ProblemKind;
  message: string;
}

/** The file a GradientMonitor writes. */
export interface GradientHistory {
  format: typeof HISTORY_FORMAT;
  version: 1;
  /** Steps between records. */
  every: number;
  thresholds: ReportThresholds;
  records: HistoryRecord[];
  /** The fit loop's logs at the end of each epoch (loss, accuracy, valLoss, …), with the epoch. */
  epochs: ({ epoch: number } & Record<string, number>)[];
  /** Each problem the first time it was seen. */
  problems: HistoryProblem[];
  /** Optional Hessian eigenvalues (descending) for the spectrum plot. */
  hessianEigenvalues?: number[];
}

/** A fit History as `fit` returns it. */
export interface FitHistoryLike {
  epochs: Record<string, number>[];
  series?: Record<string, number[]>;
}

/** The layers of a history in the order they first appear (the heat map's rows). */
export function historyLayers(history: GradientHistory): string[] {
  const names = new Set<string>();
  for (const r of history.records) for (const name of Object.keys(r.layers)) names.add(name);
  return [...names];
}

const isObject = (x: unknown): x is Record<string, unknown> =>
  x !== null && typeof x === 'object' && !Array.isArray(x);

/**
 * Reads the JSON of a GradientMonitor history or of a fit History into a GradientHistory (a fit
 * History becomes one with no records); `source` names the input in errors.
 * @example
 * const history = inspect.parseHistory(readFileSync('history.json', 'utf8'), 'history.json');
 */
export function parseHistory(json: string, source = 'history'): GradientHistory {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (error) {
    throw new Error(`${source}: not JSON (${(error as Error).message})`);
  }
  if (!isObject(value))
    throw new Error(
      `${source}: expected a JSON object (a GradientMonitor history or a fit History)`,
    );
  if (value.format === HISTORY_FORMAT) {
    if (value.version !== 1)
      throw new Error(
        `${source}: history version ${String(value.version)} is not supported (expected 1)`,
      );
    for (const key of ['records', 'epochs', 'problems'])
      if (!Array.isArray(value[key]))
        throw new Error(`${source}: a ${HISTORY_FORMAT} file needs an array '${key}'`);
    (value.records as unknown[]).forEach((r, i) => {
      if (!isObject(r) || typeof r.step !== 'number' || !isObject(r.layers))
        throw new Error(`${source}: records[${i}] needs a number 'step' and an object 'layers'`);
    });
    return value as unknown as GradientHistory;
  }
  if (Array.isArray(value.epochs)) {
    const epochs = (value.epochs as unknown[]).map((e, i) => {
      if (!isObject(e) || Object.values(e).some((v) => typeof v !== 'number'))
        throw new Error(
          `${source}: epochs[${i}] must be an object of numbers (a fit History's logs)`,
        );
      return { epoch: i, ...(e as Record<string, number>) };
    });
    return {
      format: HISTORY_FORMAT,
      version: 1,
      every: 0,
      thresholds: { ...DEFAULT_THRESHOLDS },
      records: [],
      epochs,
      problems: [],
    };
  }
  throw new Error(
    `${source}: neither a GradientMonitor history (format '${HISTORY_FORMAT}') nor a fit History (an 'epochs' array)`,
  );
}
