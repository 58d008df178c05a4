/** What a benchmark child process reports to the runner (one JSON line on stdout). */
import type { Summary } from './measure.js';

export const RESULT_MARKER = '@@bench-result ';

export type Status = 'ok' | 'unsupported' | 'skipped' | 'error';

export interface CaseResult {
  /** e.g. 'n=1024', 'batch 128'. */
  name: string;
  status: Status;
  /** 'GFLOP/s' (higher is better) or 'ms' / 'µs' (lower is better). */
  unit?: string;
  samples?: number[];
  summary?: Summary;
  /** Why a case is unsupported / skipped / failed (for unsupported: the peer's own error message). */
  note?: string;
  /** With samples pooled from several child processes (rounds): the median of each. */
  roundMedians?: number[];
  /** Correctness guard: the loss over the first SGD steps on the shared batch and weights. */
  losses?: number[];
}

export interface FrameworkResult {
  suite: string;
  framework: string;
  /** Human-readable name with version and backend, e.g. 'TensorFlow.js 4.22.0 (wasm)'. */
  label: string;
  cases: CaseResult[];
  /** Threads the framework computed with, where it says. */
  threads?: number;
  note?: string;
}

export interface RunOptions {
  quick: boolean;
}

export function report(result: FrameworkResult): void {
  process.stdout.write(`\n${RESULT_MARKER}${JSON.stringify(result)}\n`);
}
