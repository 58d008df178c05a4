/**
 * DataLoader: iterates over a dataset in (optionally shuffled) mini-batches, as PyTorch's
 * `torch.utils.data.DataLoader` with its default sequential / random sampler.
 */
import { defaultGenerator, type Generator } from '../tensor/random.js';
import { defaultCollate, type Collated } from './collate.js';
import { assertDataset, describe, type DatasetLike } from './dataset.js';
import { assertGenerator, randomPermutation } from './subset.js';

export interface DataLoaderOptions<T, B> {
  /** Samples per batch; 1 by default. */
  batchSize?: number;
  /** Visit the samples in a new random order every epoch; false by default. */
  shuffle?: boolean;
  /** Where the shuffle draws from; the default generator (seeded by `manualSeed`) when omitted. */
  generator?: Generator;
  /** Drop the last batch when it has fewer than batchSize samples; false by default. */
  dropLast?: boolean;
  /** Turns a list of samples into a batch; `defaultCollate` when omitted. */
  collate?: (samples: T[]) => B;
}

const OPTION_NAMES = ['batchSize', 'shuffle', 'generator', 'dropLast', 'collate'];

/**
 * Iterates over a dataset in mini-batches. Each `for…of` is one epoch; with `shuffle`, every
 * epoch visits each sample exactly once in a fresh permutation drawn from the generator when the
 * epoch starts (Fisher–Yates over 32-bit integer arithmetic, so a seeded generator gives the
 * same order on every machine). `length` is the number of batches per epoch.
 *
 * Without a custom `collate`, samples are batched by `defaultCollate`; datasets that have a
 * `getBatch(indices)` (TensorDataset, and Subsets of it) are asked for the whole batch at once,
 * which gives the same batch faster.
 * @example
 * const ds = new TensorDataset(randn([100, 3]), randint(0, 2, [100]));
 * const loader = new DataLoader(ds, { batchSize: 32, shuffle: true, generator: new Generator(0) });
 * loader.length; // 4 (32 + 32 + 32 + 4)
 * for (const [x, y] of loader) {
 *   // x: [32, 3] float32, y: [32] int32 (the last batch has 4 rows)
 * }
 */
export class DataLoader<T, B = Collated<T>> implements Iterable<B> {
  readonly dataset: DatasetLike<T>;
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly dropLast: boolean;
  readonly generator: Generator;
  private readonly collateFn: ((samples: T[]) => B) | null;

  constructor(dataset: DatasetLike<T>, options: DataLoaderOptions<T, B> = {}) {
    this.dataset = assertDataset('DataLoader', dataset) as DatasetLike<T>;
    if (options === null || typeof options !== 'object') {
      throw new TypeError(`DataLoader: options must be an object, got ${describe(options)}`);
    }
    for (const key of Object.keys(options)) {
      if (!OPTION_NAMES.includes(key)) {
        throw new TypeError(
          `DataLoader: unknown option '${key}'; expected one of ${OPTION_NAMES.join(', ')}`,
        );
      }
    }
    const {
      batchSize = 1,
      shuffle = false,
      generator = defaultGenerator,
      dropLast = false,
      collate,
    } = options;
    if (typeof batchSize !== 'number' || !Number.isSafeInteger(batchSize) || batchSize <= 0) {
      throw new RangeError(
        `DataLoader: batchSize must be a positive integer, got ${describe(batchSize)}`,
      );
    }
    if (typeof shuffle !== 'boolean')
      throw new TypeError(`DataLoader: shuffle must be a boolean, got ${describe(shuffle)}`);
    if (typeof dropLast !== 'boolean')
      throw new TypeError(`DataLoader: dropLast must be a boolean, got ${describe(dropLast)}`);
    if (collate !== undefined && typeof collate !== 'function') {
      throw new TypeError(
        `DataLoader: collate must be a function from a list of samples to a batch, got ${describe(collate)}`,
      );
    }
    assertGenerator('DataLoader', generator);
    this.batchSize = batchSize;
    this.shuffle = shuffle;
    this.dropLast = dropLast;
    this.generator = generator;
    this.collateFn = collate ?? null;
  }

  /** The number of batches in one epoch. */
  get length(): number {
    const n = this.dataset.length;
    return this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }

  /**
   * Starts an epoch: the sample order is fixed (and, with shuffle, drawn from the generator) when
   * this is called, i.e. when a `for…of` loop begins.
   */
  [Symbol.iterator](): IterableIterator<B> {
    const n = assertDataset('DataLoader', this.dataset).length;
    const order = this.shuffle ? randomPermutation(n, this.generator) : null;
    const batches = this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
    return this.batches(order, n, batches);
  }

  private *batches(order: number[] | null, n: number, count: number): IterableIterator<B> {
    const dataset = this.dataset;
    const batchOf =
      this.collateFn ??
      (typeof dataset.getBatch === 'function'
        ? null
        : (defaultCollate as unknown as (samples: T[]) => B));
    for (let b = 0; b < count; b++) {
      const start = b * this.batchSize;
      const end = Math.min(start + this.batchSize, n);
      const indices: number[] = new Array(end - start);
      for (let i = start; i < end; i++) indices[i - start] = order ? order[i] : i;
      if (batchOf === null) {
        yield dataset.getBatch!(indices) as B;
      } else {
        yield batchOf(indices.map((i) => dataset.get(i)));
      }
    }
  }
}
