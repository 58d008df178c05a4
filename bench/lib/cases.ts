/** Helpers shared by the JavaScript suites: repeat counts, timed cases, the correctness guard. */
import { measure, summarize, type MeasureOptions } from './measure.js';
import type { CaseResult, RunOptions } from './protocol.js';

export interface Repeats extends MeasureOptions {
  /** Training steps of the correctness guard (they also serve as warm-up). */
  guardSteps: number;
}

/** --quick: fewer repeats and a shorter budget; `slow` cases (seconds per call) get fewer. */
export function repeats(options: RunOptions, slow = false): Repeats {
  if (options.quick)
    return {
      warmup: 1,
      warmupMs: 200,
      minRepeats: slow ? 2 : 3,
      maxRepeats: 5,
      budgetMs: 1000,
      guardSteps: 2,
    };
  // Fast cases time up to 1,000 calls: at most 100 timed 1.7 ms steps in 170 ms, where a slow
  // case's 100 calls span seconds, and medians of such short windows moved by 10-20% between
  // runs (PyTorch's batch-128 MLP step: 1.41 and 1.71 ms nine minutes apart).
  return {
    warmup: 2,
    warmupMs: 1500,
    minRepeats: slow ? 3 : 5,
    maxRepeats: 1000,
    budgetMs: 4000,
    guardSteps: 3,
  };
}

/** Times `fn`; `convert` turns milliseconds per call into the reported unit. */
export async function timedCase(
  name: string,
  unit: string,
  fn: () => unknown,
  options: MeasureOptions,
  convert: (ms: number) => number = (ms) => ms,
): Promise<CaseResult> {
  const samples = (await measure(fn, options)).map(convert);
  return { name, status: 'ok', unit, samples, summary: summarize(samples) };
}

/**
 * A training-step case: first `guardSteps` steps on the shared batch must give a finite loss that
 * goes down (so a broken setup is noticed), then the step is timed. `step` returns the loss.
 */
export async function trainingStepCase(
  name: string,
  step: () => number | Promise<number>,
  options: Repeats,
): Promise<CaseResult> {
  const losses: number[] = [];
  for (let i = 0; i < options.guardSteps; i++) losses.push(await step());
  if (!losses.every(Number.isFinite) || !(losses[losses.length - 1] < losses[0])) {
    return {
      name,
      status: 'error',
      losses,
      note: `correctness guard failed: losses ${losses.map((l) => l.toPrecision(5)).join(', ')} are not finite and decreasing`,
    };
  }
  const result = await timedCase(name, 'ms', step, {
    ...options,
    warmup: Math.max(0, options.warmup - options.guardSteps),
  });
  return { ...result, losses };
}

/** Runs a case, turning a thrown error into an 'error' result (or 'unsupported' when `unsupported(e)`). */
export async function guarded(
  name: string,
  body: () => Promise<CaseResult>,
  unsupported: (message: string) => boolean = () => false,
): Promise<CaseResult> {
  try {
    return await body();
  } catch (error) {
    const message = (error as Error).message ?? String(error);
    return {
      name,
      status: unsupported(message) ? 'unsupported' : 'error',
      note: message.split('\n')[0],
    };
  }
}
