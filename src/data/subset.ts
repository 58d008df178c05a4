/**
 * Subsets of datasets and random splits, as PyTorch's `Subset` and `random_split`.
 */
import { defaultGenerator, Generator } from '../tensor/random.js';
import {
  assertDataset,
  assertIndexInRange,
  Dataset,
  describe,
  type DatasetLike,
} from './dataset.js';

/**
 * A uniformly random permutation of 0…n-1 (Fisher–Yates), drawn from `generator`. It uses only
 * 32-bit integer and exactly rounded double arithmetic, so a seed gives the same permutation on
 * every machine.
 */
export function randomPermutation(n: number, generator: Generator = defaultGenerator): number[] {
  if (!Number.isSafeInteger(n) || n < 0)
    throw new RangeError(`randomPermutation: n must be a non-negative integer, got ${String(n)}`);
  assertGenerator('randomPermutation', generator);
  const perm = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = generator.nextInt(0, i + 1);
    const t = perm[i];
    perm[i] = perm[j];
    perm[j] = t;
  }
  return perm;
}

export function assertGenerator(op: string, generator: unknown): Generator {
  if (!(generator instanceof Generator)) {
    throw new TypeError(
      `${op}: generator must be a Generator (new Generator(seed)), got ${describe(generator)}`,
    );
  }
  return generator;
}

/**
 * The samples of `dataset` at `indices`, in that order: sample i is dataset.get(indices[i]).
 * @example
 * const firstTen = new Subset(ds, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
 * firstTen.length; // 10
 */
export class Subset<T> extends Dataset<T> {
  readonly dataset: DatasetLike<T>;
  /** Indices into `dataset`. */
  readonly indices: readonly number[];

  constructor(dataset: DatasetLike<T>, indices: readonly number[]) {
    super();
    const d = assertDataset('Subset', dataset) as DatasetLike<T>;
    if (!Array.isArray(indices) && !ArrayBuffer.isView(indices)) {
      throw new TypeError(`Subset: indices must be an array of integers, got ${describe(indices)}`);
    }
    const list = Array.from(indices as ArrayLike<number>);
    list.forEach((i, k) => {
      if (typeof i !== 'number' || !Number.isInteger(i) || i < 0 || i >= d.length) {
        throw new RangeError(
          `Subset: indices[${k}] = ${describe(i)} is not a valid index into a dataset of length ${d.length}`,
        );
      }
    });
    this.dataset = d;
    this.indices = Object.freeze(list);
    if (typeof d.getBatch === 'function') {
      this.getBatch = subsetGetBatch(
        this,
        d as DatasetLike<T> & { getBatch(indices: readonly number[]): unknown },
      );
    }
  }

  get length(): number {
    return this.indices.length;
  }

  get(index: number): T {
    assertIndexInRange('Subset.get', index, this.indices.length);
    return this.dataset.get(this.indices[index]);
  }

  /**
   * Present when the wrapped dataset has a getBatch: forwards to it with the mapped indices, so
   * a loader over a Subset of a TensorDataset still gathers each batch in one copy.
   */
  readonly getBatch?: (indices: readonly number[]) => unknown;
}

function subsetGetBatch<T>(
  subset: Subset<T>,
  inner: DatasetLike<T> & { getBatch(indices: readonly number[]): unknown },
) {
  return (indices: readonly number[]): unknown => {
    if (!Array.isArray(indices) || indices.length === 0) {
      throw new TypeError(
        `Subset.getBatch: expected a non-empty array of indices, got ${describe(indices)}`,
      );
    }
    return inner.getBatch(
      indices.map(
        (i) => subset.indices[assertIndexInRange('Subset.getBatch', i, subset.indices.length)],
      ),
    );
  };
}

/**
 * Splits a dataset into non-overlapping random subsets, as PyTorch's `random_split`. `lengths`
 * are either counts that sum to the dataset's length, or fractions that sum to 1: then each part
 * gets floor(fraction · length) samples and the remainder is dealt one by one to the parts in
 * order. The shuffle draws from `generator` (the default generator when omitted), so a seeded
 * generator gives the same split on every machine.
 * @example
 * const [train, val] = randomSplit(ds, [0.8, 0.2], new Generator(42));
 * const [a, b, c] = randomSplit(ds, [50, 30, 20]); // ds.length === 100
 */
export function randomSplit<T>(
  dataset: DatasetLike<T>,
  lengths: readonly number[],
  generator: Generator = defaultGenerator,
): Subset<T>[] {
  const d = assertDataset('randomSplit', dataset) as DatasetLike<T>;
  assertGenerator('randomSplit', generator);
  if (!Array.isArray(lengths) || lengths.length === 0) {
    throw new TypeError(
      `randomSplit: lengths must be a non-empty array of counts or fractions, got ${describe(lengths)}`,
    );
  }
  lengths.forEach((l, i) => {
    if (typeof l !== 'number' || !Number.isFinite(l) || l < 0) {
      throw new RangeError(
        `randomSplit: lengths[${i}] must be a non-negative number, got ${describe(l)}`,
      );
    }
  });
  const total = lengths.reduce((a, b) => a + b, 0);
  let counts: number[];
  if (Math.abs(total - 1) <= 1e-9) {
    // Fractions (as in PyTorch, lengths summing to 1 are fractions: [1, 0] gives everything to the first part).
    counts = lengths.map((f) => Math.floor(d.length * f));
    let remainder = d.length - counts.reduce((a, b) => a + b, 0);
    for (let i = 0; remainder > 0; i = (i + 1) % counts.length, remainder--) counts[i] += 1;
  } else {
    lengths.forEach((l, i) => {
      if (!Number.isInteger(l)) {
        throw new RangeError(
          `randomSplit: lengths must be all integer counts or fractions summing to 1; lengths[${i}] = ${l} is not an integer and [${lengths.join(', ')}] sums to ${total}`,
        );
      }
    });
    counts = [...lengths];
  }
  const sum = counts.reduce((a, b) => a + b, 0);
  if (sum !== d.length) {
    throw new Error(
      `randomSplit: lengths [${lengths.join(', ')}] sum to ${sum}, but the dataset has length ${d.length}`,
    );
  }
  const perm = randomPermutation(d.length, generator);
  let start = 0;
  return counts.map((n) => {
    const part = new Subset(d, perm.slice(start, start + n));
    start += n;
    return part;
  });
}
