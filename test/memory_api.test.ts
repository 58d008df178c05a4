/**
 * memory(), setMemoryLimit() and the kernel memory's reuse of blocks of other sizes (issue 17).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Arena, ARENA_MIN_ELEMENTS } from '../src/backend/wasm/arena.js';
import { kernelRuntime } from '../src/backend/wasm/kernel_runtime.js';
import { memory, ones, resetPeakMemory, setMemoryLimit, randn } from '../src/index.js';

const MB = 2 ** 20;

function sharedArena(maxPages: number): Arena {
  const m = new WebAssembly.Memory({
    initial: 1,
    maximum: maxPages,
    shared: true,
  } as WebAssembly.MemoryDescriptor);
  return new Arena(m, 1024, maxPages * 65536);
}

describe('memory()', () => {
  it('counts kernel storage in use and its peak, and what the kernel memory holds', () => {
    const before = memory();
    resetPeakMemory();
    const t = randn([256, 1024]); // 1 MB in the kernel memory
    const during = memory();
    expect(during.bytesInUse - before.bytesInUse).toBeGreaterThanOrEqual(MB);
    expect(during.peakBytesInUse).toBeGreaterThanOrEqual(during.bytesInUse);
    expect(during.kernel).not.toBeNull();
    expect(during.kernel!.reservedBytes).toBeGreaterThanOrEqual(during.kernel!.bytesInUse);
    expect(during.reservedBytes).toBeGreaterThanOrEqual(during.kernel!.reservedBytes);
    expect(memory('cpu-reference').bytesInUse).toBe(during.bytesInUse);
    expect(t.shape).toEqual([256, 1024]);
    expect(() => memory('tpu')).toThrow(/unknown device 'tpu'/);
  });

  it('counts host storage of 64 KB and more (cpu-reference tensors, float64), not smaller', () => {
    const before = memory('cpu-reference').bytesInUse;
    const t = ones([10000], { dtype: 'float64', device: 'cpu-reference' });
    expect(memory('cpu-reference').bytesInUse - before).toBe(80000);
    const small = ones([1000], { dtype: 'float64', device: 'cpu-reference' });
    expect(memory('cpu-reference').bytesInUse - before).toBe(80000);
    expect([t.numel(), small.numel()]).toEqual([10000, 1000]);
  });
});

describe('setMemoryLimit', () => {
  afterEach(() => setMemoryLimit(null));

  it('keeps the kernel memory within the limit; tensors past it are ordinary arrays', () => {
    const k = kernelRuntime(false)!;
    const reserved = k.rt.arena.stats().reservedBytes;
    setMemoryLimit(reserved);
    expect(memory().limitBytes).toBe(reserved);
    // Live 16 MB tensors until one lies outside: the memory does not grow for them.
    const keep = [ones([4 * MB])];
    while (keep.length < 64 && k.rt.arena.contains(keep.at(-1)!.storage as Float32Array))
      keep.push(ones([4 * MB]));
    expect(k.rt.arena.contains(keep.at(-1)!.storage as Float32Array)).toBe(false);
    expect(k.rt.arena.stats().reservedBytes).toBe(reserved);
    const last = keep.at(-1)!.dataSync();
    expect([last.length, last[0], last[last.length - 1]]).toEqual([4 * MB, 1, 1]);
  });

  it('refuses a limit that is not a number of bytes', () => {
    expect(() => setMemoryLimit(-1)).toThrow(
      /setMemoryLimit: expected a number of bytes >= 0 or null, got -1/,
    );
    expect(() => setMemoryLimit('1GB' as unknown as number)).toThrow(/got string/);
  });
});

describe('kernel memory reuse', () => {
  it('cuts a request from merged free blocks of other sizes before growing', () => {
    const a = sharedArena(256);
    a.setLimit(9 * MB); // room for the 8 blocks below and little more
    const small = Array.from({ length: 8 }, () => a.allocate(1024 * 1024));
    const grown = a.memory.buffer.byteLength;
    for (const p of small) a.release(p);
    // 8 MB given back in 1 MB blocks; 4 MB asked at once: merged, not grown.
    const big = a.allocate(4 * 1024 * 1024);
    expect(big).toBe(small[0]);
    expect(a.memory.buffer.byteLength).toBe(grown);
    a.release(big);
  });

  it('never grows past its limit, and gives 0 (temporaries) or null (storage) there', () => {
    const a = sharedArena(1024);
    a.setLimit(2 * MB);
    expect(a.allocate(3 * MB)).toBe(0);
    expect(a.float32(ARENA_MIN_ELEMENTS * 1024, false)).toBeNull(); // 4 MB
    const kept = a.float32(ARENA_MIN_ELEMENTS * 256, true); // 1 MB fits
    expect(kept).not.toBeNull();
    expect(a.memory.buffer.byteLength).toBeLessThanOrEqual(2 * MB);
    expect(a.stats().bytesInUse).toBe(MB);
    expect(a.stats().peakBytesInUse).toBe(MB);
  });

  it('at its limit, collects the dead blocks again and again, not once', () => {
    const a = sharedArena(1024);
    a.setLimit(4 * MB);
    let inMemory = 0;
    for (let i = 0; i < 64; i++) if (a.float32(256 * 1024, false)) inMemory++; // 1 MB each, dropped
    expect(a.memory.buffer.byteLength).toBeLessThanOrEqual(4 * MB);
    expect(inMemory).toBeGreaterThan(32);
  });

  it('gives a spent block back at once and counts it no more', () => {
    const a = sharedArena(256);
    const x = a.float32(ARENA_MIN_ELEMENTS, false)!;
    expect(a.stats().bytesInUse).toBe(4096);
    expect(a.releaseStorage(x)).toBe(true);
    expect(a.stats().bytesInUse).toBe(0);
    expect(a.stats().freeBytes).toBe(4096);
  });
});
