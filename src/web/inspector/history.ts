/**
 * A tolerant reader of the gradient history that `inspect.GradientMonitor` writes from a Node
 * training run (format: docs/inspect.md). Accepts the monitor's `{ records: [...] }`,
 * `{ steps: [...] }`, `{ history: [...] }` or a bare array; per step `step` (else its index), an optional `loss`, and `layers` as an array of
 * `{ name, gradNorm }` or an object from name to `{ gradNorm }` or to a number. Snake_case
 * (`grad_norm`) and `gradientNorm` spellings are read too; other fields are ignored.
 */

export interface HistoryStep {
  readonly step: number;
  readonly loss: number | null;
  /** Gradient norm per layer name (null where the step has none for that layer). */
  readonly gradNorms: ReadonlyMap<string, number>;
}

export interface History {
  /** Layer names in order of first appearance. */
  readonly layers: readonly string[];
  readonly steps: readonly HistoryStep[];
}

const NORM_KEYS = ['gradNorm', 'grad_norm', 'gradientNorm', 'gradient_norm'] as const;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function finite(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

function normOf(entry: unknown): number | null {
  if (typeof entry === 'number') return finite(entry);
  if (!isRecord(entry)) return null;
  for (const key of NORM_KEYS) if (key in entry) return finite(entry[key]);
  return null;
}

function layersOf(raw: unknown, where: string): [string, number | null][] {
  if (raw === undefined) return [];
  if (Array.isArray(raw)) {
    return raw.map((entry, i) => {
      const name = isRecord(entry) && typeof entry.name === 'string' ? entry.name : `layer ${i}`;
      return [name, normOf(entry)];
    });
  }
  if (isRecord(raw)) return Object.entries(raw).map(([name, entry]) => [name, normOf(entry)]);
  throw new Error(`history: ${where}: layers must be an array or an object, got ${typeof raw}`);
}

/**
 * Reads a history from parsed JSON, or throws an error saying what was expected.
 * @example
 * readHistory({ steps: [{ step: 0, loss: 0.7, layers: [{ name: 'fc1', gradNorm: 0.01 }] }] });
 */
export function readHistory(json: unknown): History {
  // `records`: what inspect.GradientMonitor writes (format 'chainrule.gradient-history').
  const list = Array.isArray(json)
    ? json
    : isRecord(json)
      ? ([json.records, json.steps, json.history].find(Array.isArray) ?? null)
      : null;
  if (list === null) {
    throw new Error(
      'history: expected { steps: [{ step, loss?, layers: [{ name, gradNorm }] }] } (or a bare array of steps), ' +
        `got ${Array.isArray(json) ? 'an array' : typeof json}${isRecord(json) ? ` with keys ${Object.keys(json).join(', ') || '(none)'}` : ''}`,
    );
  }
  const layers: string[] = [];
  const seen = new Set<string>();
  const steps = list.map((raw, i): HistoryStep => {
    if (!isRecord(raw)) throw new Error(`history: step ${i} is not an object`);
    const gradNorms = new Map<string, number>();
    for (const [name, norm] of layersOf(raw.layers, `step ${i}`)) {
      if (!seen.has(name)) {
        seen.add(name);
        layers.push(name);
      }
      if (norm !== null) gradNorms.set(name, norm);
    }
    return { step: finite(raw.step) ?? i, loss: finite(raw.loss), gradNorms };
  });
  if (steps.length === 0) throw new Error('history: the history has no steps');
  return { layers, steps };
}
