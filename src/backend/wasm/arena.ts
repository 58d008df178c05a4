/**
 * Float32 tensor storage inside the kernels' shared WebAssembly memory, so that matmul, conv and
 * the optimizer kernels read their operands and write their results in place on every thread,
 * with no copy into or out of WebAssembly memory, and so that a training loop reuses the same
 * blocks step after step instead of faulting in fresh pages for every large array.
 *
 * Blocks come in size classes (eighths of a power of two: at most 12.5% waste) kept on free
 * lists, PyTorch caching-allocator style; a loop that allocates the same shapes every step finds
 * them on the lists. Before the memory grows, neighbouring free blocks are merged and the request
 * is cut from them (free_blocks.ts), so a loop of varying sizes reuses memory too. Kernel
 * temporaries (packed panels, copies of operands that live elsewhere) are taken and given back
 * explicitly; so are gradients the autograd engine has spent (releaseStorage). Other tensor
 * storage is given back when its Float32Array is garbage-collected (a FinalizationRegistry). V8
 * knows nothing of the memory these small views stand for, and a synchronous training loop never
 * lets finalizers run, so after each budget of bytes handed out (RECLAIM_BUDGET, or twice the
 * storage recent collections left alive, whichever is more: `budget`) the arena asks for a full
 * collection where Node allows it and runs the finalizers it finds at once (`cleanupSome`). The
 * dead blocks awaiting the collector are thus at most one budget, whatever the machine's load.
 * Where neither is available (browsers), finalized blocks come back between tasks.
 *
 * The memory never grows past its limit (setLimit; the whole memory, kernel temporaries
 * included): a request it cannot meet there returns null or 0, and callers fall back to ordinary
 * typed arrays, which the JavaScript engine collects by itself, and to the reference kernels.
 *
 * Only shared memory holds tensor storage: growing it never moves or detaches it, so every view
 * stays valid.
 */
import { cpuMemory } from '../cpu/storage.js';
import { coalesce, FreeBlocks } from './free_blocks.js';
import { collectNow, makeRegistry, runFinalizers } from '../collector.js';

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
 * Storage bytes handed out (and not given back explicitly) between forced collections, at least
 * (Arena.budget scales it to the live storage). Not adapted to the collections' cost: one that
 * was grew to 768 MB on a loaded machine, and the memory with it (the MNIST MLP at batch 64
 * reached 420 MB of RSS, the CNN 1 GB). (A collection started in the background,
 * gc({ execution: 'async' }), rarely finished within a budget in a synchronous loop, and kept
 * the write barriers of incremental marking on meanwhile.)
 */
export const RECLAIM_BUDGET = 64 * 1024 * 1024;
/** Collections whose surviving storage sets the budget (Arena.budget). */
const LIVE_WINDOW = 4;
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

/** Bytes of the kernels' memory: what is in use, its peak, what the memory holds and its limit. */
export interface KernelMemoryStats {
  /** Tensor storage and kernel temporaries handed out and not yet given back. */
  bytesInUse: number;
  /** The most bytesInUse has been since the memory was made or resetPeak. */
  peakBytesInUse: number;
  /** Tensor storage alone (part of bytesInUse; includes storage dead but not yet collected). */
  storageBytes: number;
  /** The memory's size: what the process holds for it (it cannot shrink). */
  reservedBytes: number;
  /** Free blocks within reservedBytes, ready for reuse. */
  freeBytes: number;
  /** The most reservedBytes may grow to. */
  limitBytes: number;
  /** Collections the arena asked for so far. */
  collections: number;
}

/** The limit given to setLimit for every arena, kept for arenas made later (a new SIMD level). */
let requestedLimit: number | null = null;
const arenas = new Set<WeakRef<Arena>>();

/**
 * Caps every kernel memory at `bytes` (null: the engine's maximum). A memory already larger keeps
 * its size (WebAssembly memory cannot shrink) but grows no further.
 */
export function setArenaLimit(bytes: number | null): void {
  requestedLimit = bytes;
  for (const ref of arenas) {
    const arena = ref.deref();
    if (arena) arena.setLimit(bytes);
    else arenas.delete(ref);
  }
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
  /** Free storage blocks (and, after a merge, every free block). */
  private readonly free = new FreeBlocks();
  /**
   * Free temporaries, apart from storage's: a kernel's scratch comes back at once and is taken
   * again by the next kernel while still in cache (and its pages mapped); on the shared lists a
   * long-lived result of the same size (a weight's gradient) would take it and leave the next
   * kernel a cold block or freshly grown, page-faulting memory.
   */
  private readonly freeTemporaries = new FreeBlocks();
  /** Bytes given back since the last merge of free blocks: no merge until there is news. */
  private freedSinceMerge = 0;
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
  private registry: FinalizationRegistry<number> | null = null;
  /** Storage bytes handed out since the last collection, less those given back explicitly. */
  private sinceReclaim = 0;
  /** Storage bytes live after each of the last LIVE_WINDOW collections, latest first (budget()). */
  private readonly liveAfterReclaim = new Float64Array(LIVE_WINDOW);
  /** The most of liveAfterReclaim. */
  private recentLivePeak = 0;
  /** Bytes asked for and refused (no room under the limit) since the last collection. */
  private refusedSinceReclaim = 0;
  private storageBytes = 0;
  private temporaryBytes = 0;
  private peak = 0;
  private limit: number;
  /** Collections asked for so far (for tests and profiles). */
  collections = 0;

  constructor(
    readonly memory: WebAssembly.Memory,
    base: number,
    readonly maxBytes: number,
  ) {
    this.top = Math.ceil(base / ALIGN) * ALIGN;
    this.lastBuffer = memory.buffer;
    this.buffers.add(this.lastBuffer);
    this.limit = maxBytes;
    this.setLimit(requestedLimit);
    arenas.add(new WeakRef(this));
  }

  /** Caps the memory's size at `bytes` (null: maxBytes); see setArenaLimit. */
  setLimit(bytes: number | null): void {
    this.limit = Math.min(this.maxBytes, bytes ?? Infinity);
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

  /** What the memory holds and what is in use (memory() reports it). */
  stats(): KernelMemoryStats {
    return {
      bytesInUse: this.storageBytes + this.temporaryBytes,
      peakBytesInUse: this.peak,
      storageBytes: this.storageBytes,
      reservedBytes: this.memory.buffer.byteLength,
      freeBytes: this.free.bytes + this.freeTemporaries.bytes,
      limitBytes: this.limit,
      collections: this.collections,
    };
  }

  /** Starts the peak of bytesInUse again from the bytes in use now. */
  resetPeak(): void {
    this.peak = this.storageBytes + this.temporaryBytes;
  }

  /**
   * A 64-byte-aligned block of at least `bytes` for a kernel's temporaries, to be given back with
   * `release`; 0 when memory cannot grow that far.
   */
  allocate(bytes: number): number {
    const size = sizeClass(bytes);
    let ptr = this.freeTemporaries.pop(size) || this.take(size);
    if (ptr === 0 && this.reclaimWorthwhile()) {
      this.reclaim();
      ptr = this.take(size);
    }
    if (ptr === 0) this.refusedSinceReclaim += size;
    if (ptr !== 0) {
      this.temporaryClass.set(ptr, size);
      this.temporaryBytes += size;
      this.notePeak(size);
    }
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
    this.temporaryBytes -= size;
    cpuMemory.sub(size);
    this.freedSinceMerge += size;
    this.freeTemporaries.push(ptr, size);
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
    if (this.sinceReclaim > 0 && this.sinceReclaim >= this.budget()) this.reclaim();
    let ptr = this.take(bytes);
    if (ptr === 0 && this.reclaimWorthwhile()) {
      this.reclaim();
      ptr = this.take(bytes);
    }
    if (ptr === 0) {
      this.refusedSinceReclaim += bytes;
      return null;
    }
    this.sinceReclaim += bytes;
    this.storageBytes += bytes;
    this.notePeak(bytes);
    const array = new Kind(this.buffer(), ptr, size);
    if (zero) array.fill(0);
    // The array is its own unregister token (held weakly), for releaseStorage.
    this.registryOf().register(array, blockKey(ptr, bytes), array);
    return array;
  }

  /**
   * Storage bytes handed out between collections: twice the most that survived any of the last
   * LIVE_WINDOW collections, at least RECLAIM_BUDGET, at most a quarter of the limit (less under
   * a small limit). A loop that keeps much alive at its peak (a transformer step's activations)
   * then collects about as often per byte it keeps as a small one (each forced collection costs
   * such a step 12–25 ms: the pause, then cold caches), and the memory stays within about three
   * times its peak live storage (Go's collector with GOGC=200); a loop that keeps little stays
   * at RECLAIM_BUDGET. The most of several, since a collection can land anywhere in a step.
   */
  private budget(): number {
    const wanted = Math.max(RECLAIM_BUDGET, 2 * this.recentLivePeak);
    return Math.min(wanted, Math.max(this.limit / 4, 1024 * 1024));
  }

  /**
   * Whether a request that does not fit is worth a collection at once: only once a quarter budget
   * went out or was refused since the last (at the limit, each request would otherwise collect,
   * and a loop whose storage all went to ordinary arrays would never collect again).
   */
  private reclaimWorthwhile(): boolean {
    return this.sinceReclaim + this.refusedSinceReclaim >= this.budget() / 4;
  }

  /** Notes `bytes` more in use, here and in the CPU devices' count. */
  private notePeak(bytes: number): void {
    cpuMemory.add(bytes);
    const inUse = this.storageBytes + this.temporaryBytes;
    if (inUse > this.peak) this.peak = inUse;
  }

  /**
   * Takes back the block of `array`, storage from `float32`/`int32` that its owner knows nothing
   * will read or write again (the autograd engine's spent gradients), without waiting for the
   * collector; the next result of its size reuses it while it is still in cache. False when the
   * array is not live storage of this arena (then nothing changes).
   */
  releaseStorage(array: Float32Array | Int32Array): boolean {
    if (!this.contains(array) || !this.registry?.unregister(array)) return false;
    const size = sizeClass(array.byteLength);
    // Back without the collector: it no longer counts toward the next collection.
    this.sinceReclaim = Math.max(0, this.sinceReclaim - size);
    this.freeStorage(array.byteOffset, size);
    return true;
  }

  /** Puts a storage block back on the free lists. */
  private freeStorage(ptr: number, size: number): void {
    this.storageBytes -= size;
    cpuMemory.sub(size);
    this.freedSinceMerge += size;
    this.free.push(ptr, size);
  }

  /**
   * A block of `size` bytes: from its free list, from the untouched memory past the top, cut
   * from merged free blocks, or from the top after growing the memory; 0 if none.
   */
  private take(size: number): number {
    const reused = this.free.pop(size);
    if (reused !== 0) return reused;
    const have = this.memory.buffer.byteLength;
    if (this.top + size > have) {
      // Growing would be needed: first cut it from a larger free block, merging what was given
      // back since the last merge if none is large enough.
      let carved = this.free.carve(size);
      if (carved === 0 && this.freedSinceMerge > 0) {
        this.freedSinceMerge = 0;
        this.top = coalesce([this.free, this.freeTemporaries], this.free, this.top);
        carved = this.free.carve(size);
      }
      if (carved !== 0) return carved;
    }
    const ptr = this.top;
    const end = ptr + size;
    if (end > this.limit) return 0;
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
    const wanted = Math.min(this.limit, Math.max(end, have + GROW_BYTES));
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

  private registryOf(): FinalizationRegistry<number> {
    if (!this.registry) {
      this.registry = makeRegistry<number>((key) => this.freeStorage(...blockOfKey(key))).registry;
    }
    return this.registry;
  }

  /** Collects what is dead now (a full GC where allowed) and takes its blocks back. */
  reclaim(): void {
    this.sinceReclaim = 0;
    this.refusedSinceReclaim = 0;
    if (!this.registry) return;
    if (collectNow()) this.collections++;
    else runFinalizers();
    this.liveAfterReclaim.copyWithin(1, 0);
    this.liveAfterReclaim[0] = this.storageBytes;
    this.recentLivePeak = Math.max(...this.liveAfterReclaim);
  }
}
