/**
 * The arena (src/backend/wasm/arena.ts): float32 tensor storage inside the kernels' shared
 * memory. Blocks are reused in a synchronous training loop (no event-loop turn for finalizers),
 * kernel temporaries come back explicitly, and arrays handed to users are their own.
 */
import { describe, expect, it } from 'vitest';
import { Arena, ARENA_MIN_ELEMENTS, sizeClass } from '../src/backend/wasm/arena.js';
import { kernelRuntime } from '../src/backend/wasm/kernel_runtime.js';
import { F, manualSeed, nn, ones, optim, randint, randn, tensor } from '../src/index.js';

function arena(): Arena {
  const k = kernelRuntime(false);
  expect(k).not.toBeNull();
  return k!.rt.arena;
}

describe('arena', () => {
  it('rounds requests up to eighths of a power of two, 64-byte aligned', () => {
    for (const bytes of [1, 64, 65, 1000, 4096, 4097, 123_457, 3_000_000]) {
      const size = sizeClass(bytes);
      expect(size).toBeGreaterThanOrEqual(bytes);
      expect(size % 64).toBe(0);
      expect(size).toBeLessThanOrEqual(Math.max(64, bytes * 1.125 + 64));
    }
    expect(sizeClass(4096)).toBe(4096);
    expect(sizeClass(4097)).toBe(4608);
  });

  it('puts large float32 results in the kernels memory, and small ones in ordinary arrays', () => {
    const a = arena();
    const big = randn([ARENA_MIN_ELEMENTS]).mul(2);
    const small = randn([8]).mul(2);
    expect(a.contains(big.storage as Float32Array)).toBe(true);
    expect(a.contains(small.storage as Float32Array)).toBe(false);
    // What users read is theirs: a plain array of exactly the elements, not a view of the memory.
    const data = big.dataSync();
    expect(data.buffer).toBeInstanceOf(ArrayBuffer);
    expect(data.buffer.byteLength).toBe(ARENA_MIN_ELEMENTS * 4);
  });

  it('gives temporary blocks back for reuse', () => {
    const a = arena();
    const p = a.allocate(100_000);
    expect(p % 64).toBe(0);
    a.release(p);
    expect(a.allocate(100_000)).toBe(p);
    a.release(p);
    expect(() => a.release(p)).toThrow(/not an allocated block/);
  });

  it('without shared memory, lends kernel temporaries but holds no tensor storage', () => {
    // Growing a private memory detaches its buffer, which would empty every view of it.
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 64 });
    const own = new Arena(memory, 1024, 64 * 65536);
    expect(own.holdsStorage).toBe(false);
    expect(own.float32(ARENA_MIN_ELEMENTS, true)).toBeNull();
    const p = own.allocate(200_000); // grows the memory
    expect(p).toBeGreaterThanOrEqual(1024);
    expect(memory.buffer.byteLength).toBeGreaterThanOrEqual(p + 200_000);
    expect(own.allocate(10 * 65536 * 64)).toBe(0); // past the maximum: 0, not a throw
    own.release(p);
  });

  it('reuses storage in a synchronous training loop: memory stops growing', () => {
    manualSeed(1);
    const model = new nn.Sequential(new nn.Linear(784, 256), new nn.ReLU(), new nn.Linear(256, 10));
    const optimizer = new optim.SGD(model.parameters(), { lr: 0.01 });
    const x = randn([256, 784]);
    const y = randint(0, 10, [256]);
    let seen = 0;
    const step = () => {
      optimizer.zeroGrad();
      const loss = F.crossEntropy(model.forward(x), y);
      loss.backward();
      // User code reads the gradients, so zeroGrad cannot give their memory back early: only
      // the collector can.
      seen += model.parameters().filter((p) => p.grad !== null).length;
      optimizer.step();
      return loss.itemSync() as number;
    };
    const a = arena();
    const first = step();
    for (let i = 0; i < 200; i++) step();
    const collections = a.collections;
    // Each step hands out ~4 MB of storage: 600 steps are ~2.4 GB, past the 2 GiB memory limit
    // and the 1 GiB storage limit, so this only ends with storage in the memory if dead tensors'
    // blocks come back while it runs (between collections at most 768 MB are handed out).
    let last = first;
    for (let i = 0; i < 600; i++) last = step();
    expect(a.collections).toBeGreaterThan(collections);
    expect(a.memory.buffer.byteLength).toBeLessThanOrEqual(900 * 1024 * 1024);
    expect(last).toBeLessThan(first);
    expect(seen).toBe(801 * 4);
    // Storage is still in the memory (the loop did not fall back to ordinary arrays).
    expect(a.contains(model.parameters()[0].grad!.storage as Float32Array)).toBe(true);
  });

  it('grows the memory 32 MB at a time, and collects after the first 64 MB of garbage', () => {
    const memory = new WebAssembly.Memory({
      initial: 1,
      maximum: 4096,
      shared: true,
    } as WebAssembly.MemoryDescriptor);
    const own = new Arena(memory, 1024, 4096 * 65536);
    own.float32(32 * 1024, false); // 128 KB: past the first 64 KB page
    expect(memory.buffer.byteLength).toBe(65536 + 32 * 1024 * 1024);
    // 1 MB arrays dropped at once: the first forced collection comes within 64 MB of them.
    for (let i = 0; i < 66 && own.collections === 0; i++) own.float32(256 * 1024, false);
    expect(own.collections).toBe(1);
  });

  it('collects after twice the storage that survived recent collections, not every 64 MB', () => {
    const memory = new WebAssembly.Memory({
      initial: 1,
      maximum: 8192,
      shared: true,
    } as WebAssembly.MemoryDescriptor);
    const own = new Arena(memory, 1024, 8192 * 65536);
    // 48 MB kept alive (a large step's activations), then 1 MB arrays dropped at once.
    const live = Array.from({ length: 48 }, () => own.float32(256 * 1024, false));
    const garbageUntil = (collections: number) => {
      let megabytes = 0;
      while (own.collections < collections && megabytes < 1000) {
        own.float32(256 * 1024, false);
        megabytes++;
      }
      return megabytes;
    };
    garbageUntil(1); // the first within RECLAIM_BUDGET (64 MB) of the start
    // 48 MB survived: the next collections come after about 2 x 48 = 96 MB of garbage each.
    const between = [garbageUntil(2), garbageUntil(3)];
    for (const megabytes of between) {
      expect(megabytes).toBeGreaterThanOrEqual(94);
      expect(megabytes).toBeLessThanOrEqual(98);
    }
    expect(live.every((a) => a !== null && a.length === 256 * 1024)).toBe(true);
  });

  it('keeps every live tensor intact while blocks are recycled around it', () => {
    const keep = Array.from({ length: 20 }, (_, i) => tensor(new Float32Array(4096).fill(i)));
    const a = arena();
    for (let i = 0; i < 300; i++) ones([512, 512]).add(1); // ~1 MB of garbage each
    a.reclaim();
    for (let i = 0; i < 300; i++) ones([512, 512]).mul(3);
    keep.forEach((t, i) => expect(new Set(t.dataSync())).toEqual(new Set([i])));
  });
});
