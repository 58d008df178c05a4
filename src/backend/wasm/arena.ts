/**
 * Float32 tensor storage inside the kernels' shared WebAssembly memory, so that matmul, conv and
 * the optimizer kernels read their operands and write their results in place on every thread,
 * with no copy into or out of WebAssembly memory, and so that a training loop reuses the same
 * blocks step after step instead of faulting in fresh pages for every large array.
 *
 * Blocks come in size classes (eighths of a power of two: at most 12.5% waste) kept on free
 * lists, PyTorch caching-allocator style: no splitting, no merging; a loop that allocates the
 * same shapes every step finds them on the lists. Kernel temporaries (packed panels, copies of
 * operands that live elsewhere) are taken and given back explicitly. Tensor storage is given back
 * when its Float32Array is garbage-collected (a FinalizationRegistry). V8 knows nothing of the
 * memory these small views stand for, so after every RECLAIM_EVERY bytes handed out the arena
 * asks for a full collection where Node allows it, and collects the finalized blocks at once
 * (`cleanupSome`) instead of waiting for the event loop, which a synchronous training loop never
 * returns to. Where neither is available, finalized blocks come back at the next event-loop turn.
 *
 * Only shared memory holds tensor storage: growing it never moves or detaches it, so every view
 * stays valid. Requests the arena cannot meet (memory limit) return null or 0 and the callers
 * fall back to ordinary typed arrays.
 */
import { nodeBuiltin } from './platform.js';

const PAGE = 65536;
const ALIGN = 64;
/**
 * float32 arrays of fewer elements stay ordinary typed arrays (the JS heap handles them well).
 * At 1,024 rather than 2,048 a [128, 10] batch of logits and its gradients live here too: the
 * kernels write them in place instead of into a temporary copied out, and the MLP step at batch
 * 128 was 0.5% faster (in 67 of 100 alternating blocks).
 */
export const ARENA_MIN_ELEMENTS = 1024;
/**
 * Bytes handed out between forced collections: adapted within these bounds so that the
 * collections take about 1–2% of the time (a full collection costs milliseconds).
 */
const RECLAIM_MIN = 64 * 1024 * 1024;
const RECLAIM_MAX = 768 * 1024 * 1024;
/** The memory grows by at least this much at a time (see Arena.grow). */
const GROW_BYTES = 32 * 1024 * 1024;
/** The smallest page an operating system maps (4 KiB on x86-64; larger pages are multiples). */
const SYSTEM_PAGE = 4096;
/** Tensor storage stops coming from the arena past this many live bytes (kernel temporaries may use the rest). */
const STORAGE_LIMIT = 1024 * 1024 * 1024;

/** The size class of a request: rounded up to an eighth of its power of two, 64-byte aligned. */
export function sizeClass(bytes: number): number {
  const b = Math.max(ALIGN, Math.ceil(bytes / ALIGN) * ALIGN);
  // The power of two at or below b: integer arithmetic below 2^31 (every kernel call asks).
  const power = b < 2 ** 31 ? 2 ** (31 - Math.clz32(b)) : 2 ** Math.floor(Math.log2(b));
  const step = Math.max(ALIGN, power / 8);
  return Math.ceil(b / step) * step;
}

interface Reclaimer {
  /** A registry whose callback gives a block back (its held value: blockKey). */
  registry: FinalizationRegistry<number>;
  /** Runs the callbacks of what the collector already found dead (V8's `cleanupSome`), if it can. */
  cleanup: (() => void) | null;
  /** A full garbage collection, if this engine lets a program ask for one. */
  collect: (() => void) | null;
}

type CleanupSomeRegistry = FinalizationRegistry<number> & { cleanupSome?: () => void };

/**
 * In Node: V8 flags set at run time (like the relaxed-SIMD one in platform.ts) expose `gc` and
 * FinalizationRegistry's `cleanupSome` in a fresh context, from which the registry is made.
 * Elsewhere: a plain registry, emptied by the engine between tasks.
 */
function makeReclaimer(giveBack: (key: number) => void): Reclaimer {
  const v8 = nodeBuiltin<{ setFlagsFromString(flags: string): void }>('node:v8');
  const vm = nodeBuiltin<{ runInNewContext(code: string): unknown }>('node:vm');
  let Registry: typeof FinalizationRegistry = FinalizationRegistry;
  let collect: (() => void) | null = null;
  if (v8 && vm) {
    try {
      v8.setFlagsFromString('--expose-gc');
      v8.setFlagsFromString('--harmony-weak-refs-with-cleanup-some');
      const [gc, ContextRegistry] = vm.runInNewContext('[globalThis.gc, FinalizationRegistry]') as [
        unknown,
        typeof FinalizationRegistry,
      ];
      if (typeof gc === 'function') collect = gc as () => void;
      if (typeof ContextRegistry === 'function') Registry = ContextRegistry;
    } catch {
      // Flags refused: the plain registry below still frees blocks between tasks.
    }
  }
  const registry = new Registry<number>(giveBack) as CleanupSomeRegistry;
  const cleanup = typeof registry.cleanupSome === 'function' ? () => registry.cleanupSome!() : null;
  return { registry, cleanup, collect };
}

/** A storage block's address and size class (both multiples of 64, below 2^31) as one exact number. */
const blockKey = (ptr: number, size: number) => (ptr / ALIGN) * 2 ** 25 + size / ALIGN;
const blockOfKey = (key: number): [number, number] => [
  Math.floor(key / 2 ** 25) * ALIGN,
  (key % 2 ** 25) * ALIGN,
];

export class Arena {
  /** First byte never handed out. */
  private top: number;
  private readonly freeLists = new Map<number, number[]>();
  /**
   * Free temporaries, by size class, apart from storage's: a kernel's scratch comes back at once
   * and is taken again by the next kernel while still in cache (and its pages mapped); on the
   * shared lists a long-lived result of the same size (a weight's gradient) would take it and
   * leave the next kernel a cold block or freshly grown, page-faulting memory.
   */
  private readonly freeTemporaries = new Map<number, number[]>();
  /**
   * Size class of every temporary handed out and not yet given back, by address. (A storage
   * block's size is its array's, or in its registry entry: a map of the thousands awaiting the
   * collector made each lookup a cache miss, ~0.4 µs.)
   */
  private readonly temporaryClass = new Map<number, number>();
  /** Every SharedArrayBuffer object this memory has shown (a new one after each growth). */
  private readonly buffers = new WeakSet<ArrayBufferLike>();
  /** The newest of them (most views are of it: a plain comparison before the WeakSet lookup). */
  private lastBuffer: ArrayBufferLike;
  private reclaimer: Reclaimer | null = null;
  private sinceReclaim = 0;
  /**
   * Bytes of storage handed out between forced collections. It starts low and grows while the
   * collections (~10 ms each) take over 2% of the time: every block the first collection has
   * not yet returned is fresh memory, slower to use than a returned one, so a budget started at
   * 512 MB kept the MLP's batch-128 steps on fresh memory for their first ~1,300 steps (1.55–1.60
   * ms median against 1.45–1.50 after; from 64 MB: 1.51–1.55, and half the memory).
   */
  private reclaimEvery = RECLAIM_MIN;
  private lastReclaim = 0;
  private storageBytes = 0;
  /** Forced collections so far (for tests and profiles). */
  collections = 0;

  constructor(
    readonly memory: WebAssembly.Memory,
    base: number,
    readonly maxBytes: number,
  ) {
    this.top = Math.ceil(base / ALIGN) * ALIGN;
    this.lastBuffer = memory.buffer;
    this.buffers.add(this.lastBuffer);
  }

  /** Whether tensor storage may live here (shared memory: views survive growth). */
  get holdsStorage(): boolean {
    return (
      typeof SharedArrayBuffer === 'function' && this.memory.buffer instanceof SharedArrayBuffer
    );
  }

  /** The memory's current buffer (after growth a shared memory shows a new, longer object). */
  buffer(): ArrayBufferLike {
    const b = this.memory.buffer;
    if (b !== this.lastBuffer) {
      this.buffers.add(b);
      this.lastBuffer = b;
    }
    return b;
  }

  /** Whether `a` is a view of this arena's memory; then its byteOffset is its address. */
  contains(a: ArrayBufferView): boolean {
    const b = a.buffer;
    return b === this.lastBuffer || this.buffers.has(b);
  }

  /** Bytes of tensor storage handed out and not yet collected. */
  get liveStorageBytes(): number {
    return this.storageBytes;
  }

  /**
   * A 64-byte-aligned block of at least `bytes` for a kernel's temporaries, to be given back with
   * `release`; 0 when memory cannot grow that far.
   */
  allocate(bytes: number): number {
    const size = sizeClass(bytes);
    const reused = this.freeTemporaries.get(size)?.pop();
    let ptr = reused ?? this.take(size);
    if (ptr === 0) {
      this.reclaim();
      ptr = this.take(size);
    }
    if (ptr !== 0) this.temporaryClass.set(ptr, size);
    return ptr;
  }

  /**
   * Runs `body` with `take(bytes)`, which allocates a temporary block (0 when memory runs out);
   * every block taken is given back when `body` returns or throws.
   */
  withTemporaries<T>(body: (take: (bytes: number) => number) => T): T {
    const taken: number[] = [];
    try {
      return body((bytes) => {
        const ptr = this.allocate(bytes);
        if (ptr !== 0) taken.push(ptr);
        return ptr;
      });
    } finally {
      for (const ptr of taken) this.release(ptr);
    }
  }

  /** Gives back a block from `allocate`. */
  release(ptr: number): void {
    const size = this.temporaryClass.get(ptr);
    if (size === undefined) throw new Error(`Arena.release: ${ptr} is not an allocated block`);
    this.temporaryClass.delete(ptr);
    this.pushFree(this.freeTemporaries, ptr, size);
  }

  /**
   * A Float32Array of `size` elements in this memory (zero-filled when `zero`), given back when it
   * is garbage-collected; null when storage cannot live here (not shared, or over the limit).
   */
  float32(size: number, zero: boolean): Float32Array | null {
    return this.storage(Float32Array, size, zero);
  }

  /** As float32, for int32 storage (max pooling's indices). */
  int32(size: number, zero: boolean): Int32Array | null {
    return this.storage(Int32Array, size, zero);
  }

  private storage<T extends Float32Array | Int32Array>(
    Kind: new (buffer: ArrayBufferLike, byteOffset: number, length: number) => T,
    size: number,
    zero: boolean,
  ): T | null {
    if (!this.holdsStorage) return null;
    const bytes = sizeClass(size * 4);
    if (this.storageBytes + bytes > STORAGE_LIMIT) {
      this.reclaim();
      if (this.storageBytes + bytes > STORAGE_LIMIT) return null;
    }
    if (this.sinceReclaim >= this.reclaimEvery) this.reclaim();
    let ptr = this.take(bytes);
    if (ptr === 0) {
      this.reclaim();
      ptr = this.take(bytes);
      if (ptr === 0) return null;
    }
    this.sinceReclaim += bytes;
    this.storageBytes += bytes;
    const array = new Kind(this.buffer(), ptr, size);
    if (zero) array.fill(0);
    // The array is its own unregister token (held weakly), for releaseStorage.
    this.reclaimerOf().registry.register(array, blockKey(ptr, bytes), array);
    return array;
  }

  /**
   * Takes back the block of `array`, storage from `float32`/`int32` that its owner knows nothing
   * will read or write again (the autograd engine's spent gradients), without waiting for the
   * collector; the next result of its size reuses it while it is still in cache. False when the
   * array is not live storage of this arena (then nothing changes).
   */
  releaseStorage(array: Float32Array | Int32Array): boolean {
    if (!this.contains(array) || !this.reclaimer?.registry.unregister(array)) return false;
    const size = sizeClass(array.byteLength);
    // Back without the collector: it no longer counts toward the next forced collection.
    this.sinceReclaim = Math.max(0, this.sinceReclaim - size);
    this.freeStorage(array.byteOffset, size);
    return true;
  }

  /** Puts a storage block back on its free list. */
  private freeStorage(ptr: number, size: number): void {
    this.storageBytes -= size;
    this.pushFree(this.freeLists, ptr, size);
  }

  /** A block of `size` bytes from its free list or from the top (growing memory); 0 if neither. */
  private take(size: number): number {
    const list = this.freeLists.get(size);
    if (list && list.length > 0) return list.pop()!;
    const ptr = this.top;
    const end = ptr + size;
    if (end > this.maxBytes) return 0;
    const have = this.memory.buffer.byteLength;
    if (end > have && !this.grow(have, end)) return 0;
    this.top = end;
    return ptr;
  }

  /**
   * Grows the memory from `have` bytes to at least `end`, by GROW_BYTES at a time where the
   * limit allows, and writes to every new page at once: the system maps them in one burst here
   * rather than one fault at a time inside the kernels' loops on both threads (the MLP step at
   * batch 128 while the arena grows: 1.44–1.47 ms median instead of 1.51–1.55).
   */
  private grow(have: number, end: number): boolean {
    const wanted = Math.min(this.maxBytes, Math.max(end, have + GROW_BYTES));
    try {
      this.memory.grow(Math.ceil((wanted - have) / PAGE));
    } catch {
      try {
        this.memory.grow(Math.ceil((end - have) / PAGE));
      } catch {
        return false;
      }
    }
    const bytes = new Uint8Array(this.memory.buffer);
    for (let i = have; i < bytes.length; i += SYSTEM_PAGE) bytes[i] = 0;
    return true;
  }

  private pushFree(lists: Map<number, number[]>, ptr: number, size: number): void {
    let list = lists.get(size);
    if (!list) lists.set(size, (list = []));
    list.push(ptr);
  }

  private reclaimerOf(): Reclaimer {
    this.reclaimer ??= makeReclaimer((key) => this.freeStorage(...blockOfKey(key)));
    return this.reclaimer;
  }

  /** Collects what is dead now (a full GC where allowed) and takes its blocks back. */
  reclaim(): void {
    this.sinceReclaim = 0;
    if (!this.reclaimer) return;
    const { collect, cleanup } = this.reclaimer;
    if (collect) {
      const start = performance.now();
      collect();
      const end = performance.now();
      this.collections++;
      // Collect less often when collecting takes over 2% of the time since the last one, more
      // often (less memory) under 0.5%.
      const share = (end - start) / Math.max(1e-3, end - this.lastReclaim);
      if (share > 0.02) this.reclaimEvery = Math.min(RECLAIM_MAX, this.reclaimEvery * 2);
      else if (share < 0.005) this.reclaimEvery = Math.max(RECLAIM_MIN, this.reclaimEvery / 2);
      this.lastReclaim = end;
    }
    cleanup?.();
  }
}
