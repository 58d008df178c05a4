/**
 * The WebAssembly copy of views that swap the outer dims of contiguous rows
 * (src/backend/wasm/swap_copy.ts): the reference copy's bits for attention's layouts, the views
 * it leaves to the TypeScript copy, and kernels' operands in that layout placed by it
 * (elementwise.ts readableAddress).
 */
import { describe, expect, it } from 'vitest';
import type { View } from '../src/backend/backend.js';
import { cpuBackend } from '../src/backend/cpu/cpu_backend.js';
import { geluBackwardWasm } from '../src/backend/wasm/gelu.js';
import { layerNormBackwardWasm } from '../src/backend/wasm/layer_norm.js';
import { swapCopyIntoWasm, swapCopyWasm } from '../src/backend/wasm/swap_copy.js';
import { setNumThreads, tasksByThread, wasmBackend } from '../src/backend/wasm/wasm_backend.js';
import { arenaData } from './helpers/arena.js';
import { expectBitEqual } from './helpers/close.js';

/** A view of storage `storage` laid out [..dims] read in the order `perm` (a permute). */
function permuted(storage: Float32Array, dims: number[], perm: number[], offset = 0): View {
  const strides = dims.map((_, i) => dims.slice(i + 1).reduce((a, b) => a * b, 1));
  return {
    storage,
    dtype: 'float32',
    shape: perm.map((p) => dims[p]),
    strides: perm.map((p) => strides[p]),
    offset,
  };
}

describe('swap copy', () => {
  it('copies [N, L, E] ↔ [L, N, E] and the heads [N, H, L, d] → [L, N, H, d] bit for bit', () => {
    const cases: [number[], number[], number][] = [
      [[16, 64, 128], [1, 0, 2], 0], // batchFirst input to sequence-first (split over threads)
      [[3, 50, 7], [1, 0, 2], 5], // an offset, rows with a SIMD tail
      [[2, 4, 17, 8], [2, 0, 1, 3], 0], // heads [N, H, L, d] → [L, N, H, d]
      [[9, 1, 60, 4], [2, 1, 0, 3], 3], // a size-1 dim between
    ];
    for (const [dims, perm, offset] of cases) {
      const size = dims.reduce((a, b) => a * b, 1);
      const x = permuted(arenaData(size + offset, size), dims, perm, offset);
      const got = swapCopyWasm(x);
      expect(got, `[${dims}] by [${perm}]: the kernel ran`).not.toBeNull();
      expectBitEqual(got!, cpuBackend.copy(x, 'float32') as Float32Array, `[${dims}] by [${perm}]`);
    }
  });

  it('leaves other layouts, dtypes and storage to the TypeScript copy', () => {
    const data = arenaData(4 * 60 * 8, 1);
    expect(swapCopyWasm(permuted(data, [4, 60, 8], [0, 1, 2]))).toBeNull(); // contiguous
    expect(swapCopyWasm(permuted(data, [4, 60, 8], [2, 1, 0]))).toBeNull(); // rows not contiguous
    expect(swapCopyWasm(permuted(data, [480, 2, 2], [1, 0, 2]))).toBeNull(); // rows of 2
    const outside = permuted(Float32Array.from(data), [4, 60, 8], [1, 0, 2]);
    expect(swapCopyWasm(outside)).toBeNull();
    // The backend's copy still copies them all.
    const view = permuted(data, [4, 60, 8], [2, 1, 0]);
    expectBitEqual(
      wasmBackend.copy(view, 'float32') as Float32Array,
      cpuBackend.copy(view, 'float32') as Float32Array,
    );
  });

  it("kernels read operands with swapped outer dims through it: the gathered copy's bits", async () => {
    await setNumThreads(1);
    // A gradient through a batchFirst transpose, [N, L, E] read from storage [L, N, E].
    const [l, n, e] = [10, 6, 12];
    const storage = arenaData(l * n * e, 7, false);
    const grad = permuted(storage, [l, n, e], [1, 0, 2]);
    const copy = permuted(
      Float32Array.from(cpuBackend.copy(grad, 'float32') as Float32Array),
      [n, l, e],
      [0, 1, 2],
    );
    const contiguousGrad = permuted(arenaData(l * n * e, 1, false), [n, l, e], [0, 1, 2]);
    (contiguousGrad.storage as Float32Array).set(copy.storage as Float32Array);
    const x = permuted(arenaData(l * n * e, 8, false), [n, l, e], [0, 1, 2]);
    const stat = (seed: number) =>
      permuted(arenaData(n * l, seed, false).map(Math.abs), [n, l, 1], [0, 1, 2]);
    const [mean, rstd] = [stat(9), stat(10)];
    const weight = permuted(arenaData(e, 11, false), [e], [0]);
    // Jobs run: the swap copy, then the rows and the column sums (one task each on one thread).
    const backward = (g: View) => {
      const before = tasksByThread()[0];
      const got = layerNormBackwardWasm(g, x, mean, rstd, weight, e, [true, true, true])!;
      return { got, tasks: tasksByThread()[0] - before };
    };
    const swapped = backward(grad);
    const plain = backward(contiguousGrad);
    expect([swapped.tasks, plain.tasks]).toEqual([3, 2]);
    for (const k of ['input', 'weight', 'bias'] as const)
      expectBitEqual(
        swapped.got[k] as Float32Array,
        plain.got[k] as Float32Array,
        `layerNormBackward ${k}`,
      );
    // GELU's backward, through runPlacedKernel: both operands in the heads' layout.
    const heads = (seed: number) =>
      permuted(arenaData(2 * 4 * 17 * 8, seed, false), [2, 17, 4, 8], [0, 2, 1, 3]);
    const [g, y] = [heads(12), heads(13)];
    const gathered = (v: View) =>
      permuted(
        Float32Array.from(cpuBackend.copy(v, 'float32') as Float32Array),
        [2, 4, 17, 8],
        [0, 1, 2, 3],
      );
    expectBitEqual(
      geluBackwardWasm(g, y, 'none')!,
      geluBackwardWasm(gathered(g), gathered(y), 'none')!,
      'geluBackward',
    );
    await setNumThreads(null);
  });

  it('copies the heads into their window of the packed q, k, v gradient bit for bit', () => {
    // grad [N·H, L, d] read as [L, N, H, d] into window i of [L, N, H, 3, d] (and a SIMD tail).
    for (const [n, h, l, d] of [
      [16, 4, 64, 32],
      [3, 2, 50, 7],
    ]) {
      const size = n * h * l * d;
      const src = permuted(arenaData(size, 2), [n, h, l, d], [2, 0, 1, 3]);
      for (let i = 0; i < 3; i++) {
        const out = arenaData(3 * size, 3);
        const expected = Float32Array.from(out);
        const window = (storage: Float32Array): View => ({
          storage,
          dtype: 'float32',
          shape: [l, n, h, 1, d],
          strides: [n * h * 3 * d, h * 3 * d, 3 * d, d, 1],
          offset: i * d,
        });
        const source = {
          ...src,
          shape: [l, n, h, 1, d],
          strides: [...src.strides.slice(0, 3), 0, 1],
        };
        expect(swapCopyIntoWasm(window(out), source), 'the kernel ran').toBe(true);
        cpuBackend.copyInto(window(expected), source);
        expectBitEqual(out, expected, `[${n}, ${h}, ${l}, ${d}] window ${i}`);
      }
    }
    // Not into storage it reads, nor rows that overlap.
    const data = arenaData(2 * 60 * 8, 4);
    const x = permuted(data, [4, 60, 8], [1, 0, 2]);
    expect(swapCopyIntoWasm({ ...x, shape: [60, 4, 8], strides: [32, 8, 1] }, x)).toBe(false);
    const other = arenaData(60 * 4 * 8, 5);
    expect(
      swapCopyIntoWasm({ ...x, storage: other, shape: [60, 4, 8], strides: [16, 4, 1] }, x),
    ).toBe(false);
  });
});
