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

// This file sits in <package>/src/autograd or <package>/dist/autograd.
const packageRoot = decodeURIComponent(new URL('../../', import.meta.url).pathname);
const ownFolders = [`${packageRoot}src/`, `${packageRoot}dist/`];

/** The creation stack of an op, without the frames of chainrule itself. */
export function captureCreationStack(): string {
  const stack = new Error().stack ?? '';
  const lines = stack.split('\n').slice(1);
  const user = lines.filter((line) => !ownFolders.some((folder) => line.includes(folder)));
  return (user.length > 0 ? user : lines).join('\n');
}
