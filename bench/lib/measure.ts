/** Timing: warm-up calls, then timed repeats within a time budget; summaries with spread. */

export interface Summary {
  median: number;
  min: number;
  max: number;
  q1: number;
  q3: number;
  n: number;
}

function quantile(sorted: number[], q: number): number {
  const position = (sorted.length - 1) * q;
  const low = Math.floor(position);
  const high = Math.ceil(position);
  return sorted[low] + (sorted[high] - sorted[low]) * (position - low);
}

export function summarize(samples: number[]): Summary {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    median: quantile(sorted, 0.5),
    min: sorted[0],
    max: sorted[sorted.length - 1],
    q1: quantile(sorted, 0.25),
    q3: quantile(sorted, 0.75),
    n: sorted.length,
  };
}

export interface MeasureOptions {
  /** Untimed calls first (JIT tier-up, kernel compilation, caches). */
  warmup: number;
  /**
   * And untimed calls until this much time has passed, so that fast calls reach the optimizing
   * JIT tier before they are timed (a few calls do not), as in any program that runs for a while.
   */
  warmupMs?: number;
  /** Timed calls at least, and at most. */
  minRepeats: number;
  maxRepeats: number;
  /** Stop adding repeats beyond minRepeats once this much time has been spent timing. */
  budgetMs: number;
}

/** The untimed calls: at least `warmup`, and until `warmupMs` have passed (at most 10,000 calls). */
async function warmUp(fn: () => unknown, options: MeasureOptions): Promise<void> {
  const begin = performance.now();
  for (
    let i = 0;
    i < options.warmup || (performance.now() - begin < (options.warmupMs ?? 0) && i < 10_000);
    i++
  )
    await fn();
}

/** Milliseconds per call of `fn`, one sample per call. */
export async function measure(fn: () => unknown, options: MeasureOptions): Promise<number[]> {
  await warmUp(fn, options);
  const samples: number[] = [];
  const begin = performance.now();
  while (
    samples.length < options.maxRepeats &&
    (samples.length < options.minRepeats || performance.now() - begin < options.budgetMs)
  ) {
    const start = performance.now();
    await fn();
    samples.push(performance.now() - start);
  }
  return samples;
}

/** Like measure, but `fn` times itself and returns its milliseconds (for timing part of a call). */
export async function measureSelfTimed(
  fn: () => number | Promise<number>,
  options: MeasureOptions,
): Promise<number[]> {
  await warmUp(fn, options);
  const samples: number[] = [];
  const begin = performance.now();
  while (
    samples.length < options.maxRepeats &&
    (samples.length < options.minRepeats || performance.now() - begin < options.budgetMs)
  ) {
    samples.push(await fn());
  }
  return samples;
}
