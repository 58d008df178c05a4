/**
 * `DPDataLoader`: Poisson sampling, the batches the DP-SGD analysis assumes (Opacus's
 * DPDataLoader with its UniformWithReplacementSampler): each step, every example is in the batch
 * independently with probability `sampleRate`, so batch sizes vary around sampleRate × N, and an
 * epoch is round(1 / sampleRate) such steps.
 */
import { defaultCollate } from '../data/collate.js';
import { assertDataset, type DatasetLike } from '../data/dataset.js';
import { defaultGenerator, type Generator } from '../tensor/random.js';
import { Tensor } from '../tensor/tensor.js';

export interface DPDataLoaderOptions {
  /** The probability of each example being in each batch, in (0, 1]. */
  sampleRate: number;
  /** Where the coin flips come from; the default generator when omitted. */
  generator?: Generator;
  /** Steps per epoch; round(1 / sampleRate) by default. */
  stepsPerEpoch?: number;
}

/** The next example after `i` that is in the batch (every one when the sampling rate is 1). */
function nextIncluded(i: number, logMiss: number, generator: Generator): number {
  if (logMiss === -Infinity) return i + 1;
  const u = 1 - generator.nextDouble(); // in (0, 1]
  return i + 1 + Math.floor(Math.log(u) / logMiss);
}

/** An empty batch shaped like the dataset's batches (the first dim 0), from one collated example. */
function emptyBatch(dataset: DatasetLike<unknown>): unknown {
  const one =
    typeof dataset.getBatch === 'function'
      ? dataset.getBatch([0])
      : defaultCollate([dataset.get(0)]);
  const empty = (v: unknown): unknown =>
    v instanceof Tensor ? v.narrow(0, 0, 0) : Array.isArray(v) ? v.map(empty) : v;
  return empty(one);
}

/**
 * Batches by Poisson sampling. A batch may be empty (all coins came up tails): it is yielded with
 * a batch dim of 0, and DP-SGD's step is then noise alone, as the analysis counts it.
 * @example
 * const loader = new privacy.DPDataLoader(trainSet, { sampleRate: 256 / 8000, generator: new Generator(0) });
 * loader.length; // 31 steps per epoch
 */
export class DPDataLoader<B = unknown> implements Iterable<B> {
  readonly dataset: DatasetLike<unknown>;
  readonly sampleRate: number;
  readonly generator: Generator;
  readonly length: number;

  constructor(dataset: DatasetLike<unknown>, options: DPDataLoaderOptions) {
    this.dataset = assertDataset('DPDataLoader', dataset) as DatasetLike<unknown>;
    const { sampleRate, generator = defaultGenerator } = options;
    if (typeof sampleRate !== 'number' || !(sampleRate > 0 && sampleRate <= 1))
      throw new RangeError(`DPDataLoader: sampleRate must be in (0, 1], got ${String(sampleRate)}`);
    const steps = options.stepsPerEpoch ?? Math.max(1, Math.round(1 / sampleRate));
    if (!Number.isSafeInteger(steps) || steps <= 0)
      throw new RangeError(`DPDataLoader: stepsPerEpoch must be a positive integer, got ${steps}`);
    if (this.dataset.length === 0) throw new Error('DPDataLoader: the dataset is empty');
    this.sampleRate = sampleRate;
    this.generator = generator;
    this.length = steps;
  }

  /** sampleRate × dataset size: the batch size on average, DP-SGD's divisor for a mean loss. */
  get expectedBatchSize(): number {
    return this.sampleRate * this.dataset.length;
  }

  *[Symbol.iterator](): IterableIterator<B> {
    const n = this.dataset.length;
    // Skips between included examples are geometric: P(skip = s) = (1 − q)^s q, drawn as
    // ⌊log U / log(1 − q)⌋, so a step costs about q·n draws instead of one per example.
    const logMiss = Math.log1p(-this.sampleRate);
    for (let step = 0; step < this.length; step++) {
      const indices: number[] = [];
      let i = nextIncluded(-1, logMiss, this.generator);
      while (i < n) {
        indices.push(i);
        i = nextIncluded(i, logMiss, this.generator);
      }
      if (indices.length === 0) yield emptyBatch(this.dataset) as B;
      else if (typeof this.dataset.getBatch === 'function')
        yield this.dataset.getBatch(indices) as B;
      else yield defaultCollate(indices.map((i) => this.dataset.get(i))) as B;
    }
  }
}
