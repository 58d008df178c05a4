/**
 * The kernel module's runtime: one instance of the module (kernel_module.ts) over its memory,
 * with the arena that hands out that memory (arena.ts) and, lazily, the worker threads
 * (thread_pool.ts); the settings users change (SIMD level, threads) and the storage hook every
 * CPU kernel allocates its float32 results through.
 */
import { CONTROL_BYTES, CTL, MAX_THREADS } from './control_block.js';
import { DEFAULT_VARIANTS, type GemmVariant } from './gemm_module.js';
import { buildKernelModule, type MemoryLimits } from './kernel_module.js';
import {
  bestSimdLevel,
  canBlock,
  hardwareThreads,
  hasSharedMemory,
  hasWebAssembly,
  type SimdLevel,
  simdLevelSupported,
} from './platform.js';
import { Arena, ARENA_MIN_ELEMENTS } from './arena.js';
import { ThreadPool } from './thread_pool.js';

const PAGE = 65536;

/** 2 GiB: addresses stay positive i32 in the kernels. */
const MAX_PAGES = 32768;

const INITIAL_PAGES = 64;

/** One instantiated kernel module with its memory and, lazily, its worker threads. */
export class GemmRuntime {
  readonly memory: WebAssembly.Memory;
  readonly module: WebAssembly.Module;
  readonly runTask: (thread: number, index: number) => void;
  readonly sgd: (p: number, g: number, n: number, scale: number) => void;
  /** Blocks of the memory past the control block: tensor storage and kernel temporaries. */
  readonly arena: Arena;
  /** The memory's limits, for other modules that import it. */
  readonly limits: MemoryLimits;
  private f32: Float32Array;
  private ctlWords: Int32Array;
  pool: ThreadPool | null = null;

  constructor(
    readonly variant: GemmVariant,
    readonly shared: boolean,
  ) {
    this.memory = new WebAssembly.Memory({
      initial: INITIAL_PAGES,
      maximum: MAX_PAGES,
      shared,
    } as WebAssembly.MemoryDescriptor);
    this.limits = { initialPages: INITIAL_PAGES, maximumPages: MAX_PAGES, shared };
    const bytes = buildKernelModule(variant, this.limits);
    this.module = new WebAssembly.Module(bytes);
    const instance = new WebAssembly.Instance(this.module, { env: { memory: this.memory } });
    this.runTask = instance.exports.run_task as (thread: number, index: number) => void;
    this.sgd = instance.exports.sgd_f32 as (p: number, g: number, n: number, scale: number) => void;
    this.arena = new Arena(this.memory, CONTROL_BYTES, MAX_PAGES * PAGE - PAGE);
    this.f32 = new Float32Array(this.memory.buffer);
    this.ctlWords = new Int32Array(this.memory.buffer, 0, CONTROL_BYTES / 4);
  }

  /** The control block, refreshed after growth (growing a non-shared memory detaches its old buffer). */
  get ctl(): Int32Array {
    // A shared memory's views stay valid as it grows (and reading memory.buffer is not free).
    if (!this.shared && this.ctlWords.buffer !== this.memory.buffer)
      this.ctlWords = new Int32Array(this.memory.buffer, 0, CONTROL_BYTES / 4);
    return this.ctlWords;
  }

  /** Float32 view of `length` elements at byte address `ptr` (a constructor call: subarray costs ~0.7 µs). */
  view(ptr: number, length: number): Float32Array {
    return new Float32Array(this.memory.buffer, ptr, length);
  }

  /** Float32 view of the whole memory, refreshed after growth. */
  heap(): Float32Array {
    if (this.f32.length * 4 !== this.memory.buffer.byteLength)
      this.f32 = new Float32Array(this.memory.buffer);
    return this.f32;
  }

  /** Total threads that take part in parallel jobs (1 + ready workers). */
  threads(): number {
    return 1 + (this.pool ? this.pool.ready : 0);
  }

  /**
   * Runs tasks 0..n-1 of the job in the control block, on the pool's threads when `parallel`;
   * tasks from `barrier` on (when nonzero) start only after all tasks before it are done.
   */
  run(n: number, parallel: boolean, barrier = 0): void {
    const ctl = this.ctl;
    ctl[CTL.BARRIER] = barrier;
    if (parallel && this.pool && this.pool.ready > 0 && n > 1) {
      this.pool.run(n, this.runTask);
      return;
    }
    ctl[CTL.NTASKS] = n;
    for (let t = 0; t < n; t++) this.runTask(0, t);
  }

  dispose(): void {
    this.pool?.terminate();
    this.pool = null;
  }
}

let runtime: GemmRuntime | null = null;

let requestedLevel: SimdLevel | null = null;

/** Threads requested (including the caller); null: all hardware threads. */
let requestedThreads: number | null = null;

function threadingPossible(): boolean {
  return hasSharedMemory && canBlock;
}

/** The number of threads that matmul uses (the caller included). */
export function numThreads(): number {
  if (!threadingPossible()) return 1;
  return Math.max(1, Math.min(MAX_THREADS, requestedThreads ?? hardwareThreads()));
}

/** The kernels' runtime (memory, arena, module, threads), made on first use; null without WebAssembly. */
export function getRuntime(): GemmRuntime | null {
  if (runtime) return runtime;
  if (!hasWebAssembly) return null;
  const level = requestedLevel ?? bestSimdLevel;
  try {
    runtime = new GemmRuntime(DEFAULT_VARIANTS[level], hasSharedMemory);
  } catch {
    return null;
  }
  return runtime;
}

export function ensurePool(rt: GemmRuntime): void {
  const want = numThreads() - 1;
  if (want > 0 && !rt.pool && rt.shared) rt.pool = ThreadPool.start(rt.module, rt.memory, want);
}

/** Whether WebAssembly matmul kernels can run in this engine. */
export function wasmGemmAvailable(): boolean {
  return getRuntime() !== null;
}

/** The SIMD level the kernels use now. */
export function simdLevel(): SimdLevel {
  return getRuntime()?.variant.level ?? 'scalar';
}

/**
 * Forces a SIMD level ('relaxed', 'simd' or 'scalar'), or `null` for the best available. The
 * kernel module is rebuilt and the worker threads restarted.
 */
export function setSimdLevel(level: SimdLevel | null): void {
  if (level && !simdLevelSupported(level))
    throw new Error(`setSimdLevel: '${level}' is not supported by this WebAssembly engine`);
  requestedLevel = level;
  runtime?.dispose();
  runtime = null;
}

/**
 * Sets the number of threads (the calling thread included) that large matmuls use; `null` uses
 * every hardware thread. Resolves when the worker threads are ready.
 */
export async function setNumThreads(n: number | null): Promise<void> {
  if (n !== null && (!Number.isInteger(n) || n < 1))
    throw new Error(`setNumThreads: expected a positive integer or null, got ${n}`);
  requestedThreads = n;
  runtime?.pool?.terminate();
  if (runtime) runtime.pool = null;
  await whenThreadsReady();
}

/** Starts the worker threads now (they otherwise start on the first large matmul) and waits for them. */
export async function whenThreadsReady(): Promise<number> {
  const rt = getRuntime();
  if (!rt) return 1;
  ensurePool(rt);
  if (rt.pool) await rt.pool.whenReady();
  return rt.threads();
}

/** Tasks run by each thread since the runtime started (index 0: the calling thread). */
export function tasksByThread(): number[] {
  const rt = getRuntime();
  if (!rt) return [];
  return Array.from(
    rt.ctl.subarray(CTL.TASKS_BY_THREAD, CTL.TASKS_BY_THREAD + MAX_THREADS + 1),
  ).slice(0, numThreads());
}

/**
 * The kernel module's runtime for other kernels that share its memory (window_kernels.ts's
 * im2col and col2im tasks), with the worker threads started when `parallel` and there are
 * several; null where the WebAssembly kernels cannot run.
 */
export function kernelRuntime(parallel: boolean): { rt: GemmRuntime; parallel: boolean } | null {
  const rt = getRuntime();
  if (!rt) return null;
  const par = parallel && numThreads() > 1;
  if (par) ensurePool(rt);
  return { rt, parallel: par && rt.threads() > 1 };
}

/**
 * Float32 storage for every CPU kernel's results (installed by the WebAssembly backend, see
 * ../cpu/storage.ts): arena storage for arrays large enough to be worth it.
 */
export function arenaFloat32(size: number, zero: boolean): Float32Array | null {
  if (size < ARENA_MIN_ELEMENTS) return null;
  const rt = getRuntime();
  return rt ? rt.arena.float32(size, zero) : null;
}

/** Bytes, rounded up to a 64-byte boundary. */
export const alignBytes = (x: number) => Math.ceil(x / 64) * 64;
