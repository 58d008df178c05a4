/**
 * The data of the sequence CLI jobs: the adding problem's batches, the first-name lists and their
 * split, and the batch order that scripts/names_torch.py reproduces in PyTorch.
 */
import { describe, expect, it } from 'vitest';
import { Generator } from '../src/index.js';
import { addingBatch } from '../src/cli/adding_job.js';
import { epochOrder } from '../src/cli/names_job.js';
import { firstNames, splitNames } from '../src/data/datasets/first_names.js';

describe('sequence jobs', () => {
  it('adding problem: two markers, one in each half, and the target is their numbers’ sum', () => {
    const [x, y] = addingBatch(10, 4, new Generator(1));
    expect(x.shape).toEqual([10, 4, 2]);
    const v = x.dataSync();
    const t = y.dataSync();
    for (let b = 0; b < 4; b++) {
      const marked = [...Array(10).keys()].filter((s) => v[(s * 4 + b) * 2 + 1] === 1);
      expect(marked.length).toBe(2);
      expect(marked[0]).toBeLessThan(5);
      expect(marked[1]).toBeGreaterThanOrEqual(5);
      const sum = marked.reduce((a, s) => a + v[(s * 4 + b) * 2], 0);
      expect(t[b]).toBeCloseTo(sum, 6);
    }
  });

  it('first names: both @stdlib lists, lowercased and deduplicated, split 9:1 without randomness', () => {
    const names = firstNames();
    expect(names.length).toBe(8422);
    expect(names.slice(0, 3)).toEqual(['aaren', 'aarika', 'aaron']);
    const { train, val } = splitNames(names);
    expect([train.length, val.length]).toEqual([7580, 842]);
  });

  it('epoch order is the permutation scripts/names_torch.py computes', () => {
    // Printed by epoch_order(12, 0) and epoch_order(12, 3) in scripts/names_torch.py.
    expect(epochOrder(12, 0)).toEqual([0, 5, 10, 2, 7, 4, 9, 1, 6, 11, 3, 8]);
    expect(epochOrder(12, 3)).toEqual([7, 4, 9, 1, 6, 11, 3, 8, 0, 5, 10, 2]);
  });
});
