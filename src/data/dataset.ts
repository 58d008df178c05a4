/**
 * Datasets: indexable collections of samples, as PyTorch's `torch.utils.data.Dataset`.
 * A dataset has a `length` and `get(i)`; a DataLoader batches its samples.
 */
import { Tensor } from '../tensor/tensor.js';
import { formatShape } from '../tensor/shape.js';
import { tensor } from '../tensor/creation.js';
import { indexSelect } from '../autograd/ops/indexing.js';

/**
 * What a DataLoader, Subset and randomSplit accept: anything with a `length` and `get(i)`.
 * `getBatch(indices)`, when present, returns the samples at `indices` already collated the
 * way `defaultCollate` would, so loaders can skip building one sample at a time.
 */
export interface DatasetLike<T> {
  readonly length: number;
  get(index: number): T;
  getBatch?(indices: readonly number[]): unknown;
}

/**
 * The base class of map-style datasets: subclasses implement `length` and `get(index)` for
 * 0 ≤ index < length. Datasets are iterable over their samples.
 * @example
 * class Squares extends Dataset<[number, number]> {
 *   readonly length = 10;
 *   get(i: number): [number, number] { return [i, i * i]; }
 * }
 * const loader = new DataLoader(new Squares(), { batchSize: 4 });
 */
export abstract class Dataset<T> implements DatasetLike<T> {
  /** The number of samples. */
  abstract readonly length: number;
  /** The sample at `index`, 0 ≤ index < length. */
  abstract get(index: number): T;

  *[Symbol.iterator](): Iterator<T> {
    for (let i = 0; i < this.length; i++) yield this.get(i);
  }
}

/** Throws unless `dataset` has a non-negative integer `length` and a `get` method. */
export function assertDataset(op: string, dataset: unknown): DatasetLike<unknown> {
  const d = dataset as DatasetLike<unknown> | null | undefined;
  if (d === null || typeof d !== 'object' || typeof d.get !== 'function') {
    throw new TypeError(
      `${op}: expected a dataset (an object with length and get(index)), got ${describe(dataset)}`,
    );
  }
  if (!Number.isSafeInteger(d.length) || d.length < 0) {
    throw new TypeError(
      `${op}: the dataset's length must be a non-negative integer, got ${String(d.length)}`,
    );
  }
  return d;
}

/** Throws unless `index` is an integer in [0, length). */
export function assertIndexInRange(op: string, index: unknown, length: number): number {
  if (typeof index !== 'number' || !Number.isInteger(index)) {
    throw new TypeError(`${op}: index must be an integer, got ${describe(index)}`);
  }
  if (index < 0 || index >= length) {
    throw new RangeError(`${op}: index ${index} is out of range for a dataset of length ${length}`);
  }
  return index;
}

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value instanceof Tensor) return `a Tensor of shape ${formatShape(value.shape)}`;
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (typeof value === 'string') return JSON.stringify(value);
  return typeof value;
}

/**
 * A dataset of tensors that share their first dimension: sample i is the tuple of row i of
 * each tensor (views, not copies), as PyTorch's `TensorDataset`.
 * @example
 * const ds = new TensorDataset(randn([100, 3]), randint(0, 2, [100]));
 * const [x, y] = ds.get(0); // x: [3], y: [] (int32)
 * ds.length; // 100
 */
export class TensorDataset<T extends Tensor[] = Tensor[]> extends Dataset<T> {
  /** The tensors, each with `length` rows. */
  readonly tensors: Readonly<T>;
  readonly length: number;

  constructor(...tensors: T) {
    super();
    if (tensors.length === 0) throw new Error('TensorDataset: expected at least one tensor');
    tensors.forEach((t, i) => {
      if (!(t instanceof Tensor))
        throw new TypeError(`TensorDataset: argument ${i} must be a Tensor, got ${describe(t)}`);
      if (t.ndim === 0)
        throw new Error(
          `TensorDataset: argument ${i} is a 0-d tensor; every tensor needs a first dimension to index`,
        );
    });
    const n = tensors[0].shape[0];
    tensors.forEach((t, i) => {
      if (t.shape[0] !== n) {
        throw new Error(
          `TensorDataset: size mismatch between tensors: tensor 0 has shape ${formatShape(tensors[0].shape)} (${n} rows), tensor ${i} has shape ${formatShape(t.shape)} (${t.shape[0]} rows)`,
        );
      }
    });
    this.tensors = tensors;
    this.length = n;
  }

  get(index: number): T {
    assertIndexInRange('TensorDataset.get', index, this.length);
    return this.tensors.map((t) => t.select(0, index)) as T;
  }

  /** The rows at `indices` of each tensor, gathered in one copy: equal to defaultCollate of the samples. */
  getBatch(indices: readonly number[]): T {
    if (!Array.isArray(indices) || indices.length === 0) {
      throw new Error(
        `TensorDataset.getBatch: expected a non-empty array of indices, got ${describe(indices)}`,
      );
    }
    for (const i of indices) assertIndexInRange('TensorDataset.getBatch', i, this.length);
    const byDevice = new Map<string, Tensor>();
    return this.tensors.map((t) => {
      let index = byDevice.get(t.device);
      if (!index)
        byDevice.set(t.device, (index = tensor(Int32Array.from(indices), { device: t.device })));
      return indexSelect(t, 0, index);
    }) as T;
  }
}
