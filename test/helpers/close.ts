/**
 * One assertion per array. Comparing element by element with one `expect` each costs a
 * matcher call per element, which made the fast-path test files several times slower than
 * the kernels they test; these helpers compare in a plain loop and fail once, naming the
 * first mismatches, their indices and the tolerance.
 */
import { expect } from 'vitest';
import type { Tensor } from '../../src/index.js';

/** What an array to compare can be: a tensor (read synchronously), a typed array or numbers. */
export type ArrayLikeValues = Tensor | ArrayLike<number>;

export interface CloseOptions {
  /** Relative tolerance: |a - e| <= atol + rtol * |e| (NumPy's allclose). Default 1e-5. */
  rtol?: number;
  /** Absolute tolerance. Default 1e-8. */
  atol?: number;
  /** Whether NaN equals NaN (default true: kernels must put NaN where the reference does). */
  equalNan?: boolean;
  /** Prefix for the failure message (which case failed). */
  message?: string;
}

function toNumbers(values: ArrayLikeValues): ArrayLike<number> {
  if (typeof (values as Tensor).dataSync === 'function') return (values as Tensor).dataSync();
  return values as ArrayLike<number>;
}

/** The indices where `actual` and `expected` differ beyond the tolerance (all of them). */
function mismatches(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  isClose: (a: number, e: number) => boolean,
): number[] {
  const bad: number[] = [];
  for (let i = 0; i < expected.length; i++) if (!isClose(actual[i], expected[i])) bad.push(i);
  return bad;
}

function fail(
  kind: string,
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  bad: number[],
  message: string | undefined,
): never {
  const shown = bad
    .slice(0, 8)
    .map((i) => `  [${i}] got ${actual[i]}, expected ${expected[i]}`)
    .join('\n');
  const more = bad.length > 8 ? `\n  ... and ${bad.length - 8} more` : '';
  const head = message ? `${message}: ` : '';
  expect.fail(`${head}${bad.length} of ${expected.length} elements not ${kind}:\n${shown}${more}`);
}

/**
 * Asserts that two arrays have the same length and agree within `rtol`/`atol`, in one assertion.
 * @example expectAllClose(x.grad!, [2, 4, 6], { rtol: 1e-6 });
 */
export function expectAllClose(
  actualValues: ArrayLikeValues,
  expectedValues: ArrayLikeValues,
  options: CloseOptions = {},
): void {
  const { rtol = 1e-5, atol = 1e-8, equalNan = true, message } = options;
  const actual = toNumbers(actualValues);
  const expected = toNumbers(expectedValues);
  if (actual.length !== expected.length) {
    expect.fail(
      `${message ? `${message}: ` : ''}length ${actual.length}, expected ${expected.length}`,
    );
  }
  const bad = mismatches(actual, expected, (a, e) => {
    if (Number.isNaN(a) || Number.isNaN(e)) return equalNan && Number.isNaN(a) && Number.isNaN(e);
    if (a === e) return true; // equal infinities
    // An infinity matches only itself (|x − ∞| ≤ rtol·∞ would pass any x).
    if (!Number.isFinite(a) || !Number.isFinite(e)) return false;
    return Math.abs(a - e) <= atol + rtol * Math.abs(e);
  });
  if (bad.length > 0) fail(`close (rtol ${rtol}, atol ${atol})`, actual, expected, bad, message);
}

/**
 * Asserts that two arrays hold the same values bit for bit (NaN equals NaN; +0 and -0 differ),
 * in one assertion.
 * @example expectBitEqual(fastKernelOutput, referenceOutput);
 */
export function expectBitEqual(
  actualValues: ArrayLikeValues,
  expectedValues: ArrayLikeValues,
  message?: string,
): void {
  const actual = toNumbers(actualValues);
  const expected = toNumbers(expectedValues);
  if (actual.length !== expected.length) {
    expect.fail(
      `${message ? `${message}: ` : ''}length ${actual.length}, expected ${expected.length}`,
    );
  }
  const bad = mismatches(actual, expected, (a, e) => Object.is(a, e));
  if (bad.length > 0) fail('bit-equal', actual, expected, bad, message);
}

/**
 * Asserts, in one assertion, that a kernel ran (`actual` is not null) and that each element is
 * within `bound(i)` of the reference: NaN where it is NaN, the same infinity where it is infinite.
 * For kernels allowed to differ from the reference by a known amount (a vector exp, an erf fit).
 * @example expectWithinBound(fastExp, reference, (i) => 2 * ulp(reference[i]), 'exp');
 */
export function expectWithinBound(
  actual: ArrayLike<number> | null,
  expected: ArrayLike<number>,
  bound: (i: number) => number,
  message: string,
): void {
  expect(actual, `${message}: the kernel ran`).not.toBeNull();
  const got = actual!;
  expect(got.length, `${message}: length`).toBe(expected.length);
  const bad: number[] = [];
  for (let i = 0; i < expected.length; i++) {
    const [a, e] = [got[i], expected[i]];
    const ok = Number.isNaN(e)
      ? Number.isNaN(a)
      : Number.isFinite(e)
        ? Math.abs(a - e) <= bound(i)
        : a === e;
    if (!ok) bad.push(i);
  }
  if (bad.length > 0) fail(`within bound (first: ${bound(bad[0])})`, got, expected, bad, message);
}
