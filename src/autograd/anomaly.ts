/** Anomaly mode: remember where each op was created and reject NaN/Inf produced in backward. */
let anomalyEnabled = false;

export function isAnomalyEnabled(): boolean {
  return anomalyEnabled;
}

export function setDetectAnomaly(enabled: boolean): void {
  anomalyEnabled = enabled;
}

/**
 * Runs `fn` in anomaly mode: a NaN or Inf produced by a backward function throws an error
 * naming that op and the forward code that created it. Slower; for debugging.
 * @example
 * detectAnomaly(() => loss.backward());
 */
export function detectAnomaly<T>(fn: () => T): T {
  const previous = anomalyEnabled;
  anomalyEnabled = true;
  try {
    return fn();
  } finally {
    anomalyEnabled = previous;
  }
}

/**
 * Where chainrule's own code lives, as stack frames spell it: the folder above this file's
 * (`…/src/` or `…/dist/`), found from a stack trace on first use. Not from `import.meta.url`: a
 * script or IIFE bundle has none, and the core must load anywhere.
 */
let ownFolder: string | null | undefined;

function findOwnFolder(): string | null {
  const frame = (new Error().stack ?? '')
    .split('\n')
    .find((line) => /autograd[\\/]anomaly\./.test(line));
  if (frame === undefined) return null;
  // `at fn (LOCATION:line:col)` or `at LOCATION:line:col`
  const location = frame.includes('(')
    ? frame.slice(frame.lastIndexOf('(') + 1)
    : frame.trim().slice(3);
  const match = location.match(/^(.*[\\/])autograd[\\/]anomaly\.[cm]?[jt]s:\d+:\d+\)?\s*$/);
  return match ? match[1] : null;
}

/** The creation stack of an op, without the frames of chainrule itself. */
export function captureCreationStack(): string {
  const stack = new Error().stack ?? '';
  const lines = stack.split('\n').slice(1);
  if (ownFolder === undefined) ownFolder = findOwnFolder();
  const folder = ownFolder;
  const user = folder === null ? lines : lines.filter((line) => !line.includes(folder));
  return (user.length > 0 ? user : lines).join('\n');
}
