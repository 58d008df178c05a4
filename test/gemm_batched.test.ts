/**
 * Batched float32 matmuls on worker threads as whole batch entries (gemm_plan.ts `wholeEntries`):
 * attention's layouts (heads as strided views, keys transposed), entries of several K and M
 * blocks with edge tiles; the same bits on 2 threads as on 1 and as each entry alone, one task
 * per entry, and the shared plan kept where B is broadcast or the entries are too few or large.
 */
import { describe, expect, it } from 'vitest';
import type { View } from '../src/backend/backend.js';
import { cpuBackend } from '../src/backend/cpu/cpu_backend.js';
import { setNumThreads, tasksByThread, wasmBackend } from '../src/backend/wasm/wasm_backend.js';
import { arenaData } from './helpers/arena.js';
import { expectAllClose, expectBitEqual } from './helpers/close.js';
import { threadEvenSmallProducts } from './helpers/threaded_gemm.js';

interface Case {
  name: string;
  a: View;
  b: View;
  /** Tasks the product runs as on 2 threads: the batch when whole entries apply. */
  wholeTasks: boolean;
}

const view = (storage: Float32Array, shape: number[], strides: number[], offset = 0): View => ({
  storage,
  dtype: 'float32',
  shape,
  strides,
  offset,
});

const contiguous = (storage: Float32Array, shape: number[]) =>
  view(storage, shape, [shape[1] * shape[2], shape[2], 1]);

/** Batch entry `i` of a batched view, as a product of its own. */
const entry = (v: View, i: number): View => ({
  ...v,
  shape: [1, v.shape[1], v.shape[2]],
  strides: [0, v.strides[1], v.strides[2]],
  offset: v.offset + i * v.strides[0],
});

function cases(): Case[] {
  // Attention's heads: a linear layer's [L, N·H·d] output read as [N·H, L, d] (batch stride d).
  const [l, heads, d] = [20, 12, 8];
  const q = arenaData(l * heads * d, 1, false, 1);
  const k = arenaData(l * heads * d, 2, false, 1);
  const headView = (s: Float32Array) => view(s, [heads, l, d], [d, heads * d, 1]);
  const keyT = view(k, [heads, d, l], [d, 1, heads * d]);
  const scores = contiguous(arenaData(heads * l * l, 3, false, 1), [heads, l, l]);
  const scoresT = view(scores.storage as Float32Array, [heads, l, l], [l * l, 1, l]);
  // Entries of several M blocks (MC 72) and K blocks (KC 256), edge tiles on both sides.
  const big = contiguous(arenaData(8 * 100 * 300, 4, false, 1), [8, 100, 300]);
  const bigB = contiguous(arenaData(8 * 300 * 13, 5, false, 1), [8, 300, 13]);
  const shared = arenaData(300 * 13, 6, false, 1);
  return [
    { name: 'q·kᵀ', a: headView(q), b: keyT, wholeTasks: true },
    { name: 'weights·v', a: scores, b: headView(k), wholeTasks: true },
    { name: 'scoresᵀ·q', a: scoresT, b: headView(q), wholeTasks: true },
    { name: 'several blocks', a: big, b: bigB, wholeTasks: true },
    { name: 'B broadcast', a: big, b: view(shared, [8, 300, 13], [0, 13, 1]), wholeTasks: false },
    {
      name: 'large entries',
      a: contiguous(arenaData(8 * 128 * 96, 7, false, 1), [8, 128, 96]),
      b: contiguous(arenaData(8 * 96 * 128, 8, false, 1), [8, 96, 128]),
      wholeTasks: false,
    },
    {
      name: 'too few entries',
      a: { ...big, shape: [6, 100, 300] },
      b: { ...bigB, shape: [6, 300, 13] },
      wholeTasks: false,
    },
  ];
}

describe('batched matmul as whole entries on worker threads', () => {
  threadEvenSmallProducts();

  it('gives the bits of 1 thread and of each entry alone, one task per entry', async () => {
    const all = cases();
    const product = (a: View, b: View) => wasmBackend.matmul(a, b, 'float32') as Float32Array;
    await setNumThreads(1);
    const single = all.map(({ a, b }) => product(a, b));
    all.forEach(({ name, a, b }, c) => {
      expectAllClose(single[c], cpuBackend.matmul(a, b, 'float32') as Float32Array, {
        rtol: 1e-4,
        atol: 1e-5,
        message: name,
      });
      const alone = new Float32Array(single[c].length);
      const size = a.shape[1] * b.shape[2];
      for (let i = 0; i < a.shape[0]; i++) alone.set(product(entry(a, i), entry(b, i)), i * size);
      expectBitEqual(single[c], alone, `${name}: entries alone`);
    });
    await setNumThreads(2);
    let workerTook = false;
    for (let round = 0; round < 20 && !workerTook; round++) {
      all.forEach(({ name, a, b, wholeTasks }, c) => {
        const before = tasksByThread();
        expectBitEqual(product(a, b), single[c], `${name}, round ${round}`);
        const after = tasksByThread();
        const tasks = after[0] + after[1] - before[0] - before[1];
        if (wholeTasks) {
          expect(tasks, name).toBe(a.shape[0]);
          workerTook ||= after[1] > before[1];
        } else expect(tasks, name).toBeGreaterThan(a.shape[0]);
      });
    }
    expect(workerTook, 'the worker ran whole entries').toBe(true);
  });
});
