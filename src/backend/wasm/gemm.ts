/**
 * float32 batched matmul on the generated WebAssembly kernels: reads operands that live in the
 * kernels' memory (arena.ts) where they are and copies the others' spans in (O(n²) against O(n³)
 * work), packs B, computes C in tasks spread over the thread pool, straight into a result array
 * in the same memory.
 */
import type { View } from '../backend.js';
import { elementOffsets } from '../cpu/strided.js';
import {
  C_FROM_BIAS,
  CONTROL_BYTES,
  CTL,
  KIND_EACH,
  KIND_GEMM,
  MAX_EACH_JOBS,
  MAX_THREADS,
} from './control_block.js';
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

export interface GemmOptions {
  /** Rows of A per packed block (a multiple of the tile's MR). */
  mc: number;
  /** Depth of a packed block. */
  kc: number;
  /** Matmuls with fewer multiply-adds (batch·M·N·K) stay on the reference kernel. */
  minWork: number;
  /** Matmuls with at least this many multiply-adds use the worker threads. */
  parallelMinWork: number;
}

const options: GemmOptions = { mc: 72, kc: 256, minWork: 512, parallelMinWork: 1 << 20 };

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

  /**
   * Runs independent jobs, each described in a control block of its own (`block`, its address,
   * and `tasks`, its task count), as one job: each job whole on one thread, its tasks in order.
   */
  runEach(jobs: readonly PlacedJob[], parallel: boolean): void {
    writeJobList(this.ctl, jobs);
    this.ctl[CTL.KIND] = KIND_EACH;
    this.run(jobs.length, parallel);
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

function ensurePool(rt: GemmRuntime): void {
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

export function configureGemm(update: Partial<GemmOptions>): GemmOptions {
  const previous = { ...options };
  Object.assign(options, update);
  return previous;
}

/** A view's float32 storage when it lives in the arena (its byteOffset is then its address). */
function arenaStorage(rt: GemmRuntime, v: View): Float32Array | null {
  const s = v.storage;
  return s instanceof Float32Array && rt.arena.contains(s) ? s : null;
}

/** Storage range [lo, hi) a view touches, and whether copying it would be wasteful. */
function spanOf(v: View): { lo: number; hi: number; gather: boolean; elements: number } {
  let lo = v.offset;
  let hi = v.offset;
  let size = 1;
  for (let d = 0; d < v.shape.length; d++) {
    const extent = (v.shape[d] - 1) * v.strides[d];
    if (extent < 0) lo += extent;
    else hi += extent;
    size *= v.shape[d];
  }
  hi += 1;
  const gather = hi - lo > 2 * size + 1024;
  return { lo, hi, gather, elements: gather ? size : hi - lo };
}

/**
 * An operand that the caller writes straight into the kernel's memory, instead of a view that
 * gemm copies there: `write(dst)` fills `dst` (batch·rows·cols elements, row-major [batch, rows,
 * cols], or [batch, cols, rows] when `transposed`). `dst` is a view of WebAssembly memory valid
 * only during the call; `write` must not run other matmuls.
 */
export interface GemmWriter {
  readonly shape: readonly [number, number, number];
  readonly transposed?: boolean;
  /**
   * `ptr` (absent when the operand is materialized for the reference kernel) is dst's byte
   * address in the kernels' memory, for writers that fill it with kernels of their own
   * (kernelRuntime); they take any scratch memory they need from the runtime's arena.
   */
  write(dst: Float32Array, ptr?: number): void;
}

export type GemmOperand = View | GemmWriter;

function isWriter(x: GemmOperand): x is GemmWriter {
  return typeof (x as GemmWriter).write === 'function';
}

/** The strides the kernel reads a written operand with. */
function writerStrides(w: GemmWriter): number[] {
  const [batch, rows, cols] = w.shape;
  return w.transposed
    ? [batch === 1 ? 0 : rows * cols, 1, rows]
    : [batch === 1 ? 0 : rows * cols, cols, 1];
}

/** A writer's contents as a view (for the reference kernel when the WebAssembly kernels decline). */
export function materialize(x: GemmOperand): View {
  if (!isWriter(x)) return x;
  const data = new Float32Array(x.shape[0] * x.shape[1] * x.shape[2]);
  x.write(data);
  return {
    storage: data,
    dtype: 'float32',
    shape: [...x.shape],
    strides: writerStrides(x),
    offset: 0,
  };
}

/** An operand in the kernels' memory: element (0, 0, 0) at byte `base + 4·offset`, read with `strides`. */
interface PlacedOperand {
  base: number;
  offset: number;
  strides: readonly number[];
}

/**
 * Puts an operand where the kernels can read it: a view of arena storage as it is; any other view
 * copied (its span, or gathered when the span is mostly gaps) into a temporary block; a writer
 * run on a temporary block from `take`. Null when memory runs out.
 */
function placeOperand(
  rt: GemmRuntime,
  x: GemmOperand,
  take: (bytes: number) => number,
): PlacedOperand | null {
  if (isWriter(x)) {
    const elements = x.shape[0] * x.shape[1] * x.shape[2];
    const ptr = take(elements * 4);
    if (ptr === 0) return null;
    x.write(rt.view(ptr, elements), ptr);
    return { base: ptr, offset: 0, strides: writerStrides(x) };
  }
  const inArena = arenaStorage(rt, x);
  if (inArena) return { base: inArena.byteOffset, offset: x.offset, strides: x.strides };
  const span = spanOf(x);
  const ptr = take(span.elements * 4);
  if (ptr === 0) return null;
  const src = x.storage as Float32Array;
  const heap = rt.heap();
  if (span.gather) {
    const offsets = elementOffsets(x.shape, x.strides, x.offset)!;
    const at = ptr >> 2;
    for (let i = 0; i < offsets.length; i++) heap[at + i] = src[offsets[i]];
    const [, m, k] = x.shape;
    return { base: ptr, offset: 0, strides: [m * k, k, 1] };
  }
  heap.set(src.subarray(span.lo, span.hi), ptr >> 2);
  return { base: ptr, offset: x.offset - span.lo, strides: x.strides };
}

/** Rows of A per block: MC's block count, the blocks balanced (multiples of MR), more blocks when threads want tasks. */
function blockRows(m: number, mr: number, mc: number, minBlocks: number): number {
  let blocks = Math.max(Math.ceil(m / mc), Math.min(minBlocks, Math.floor(m / (4 * mr))));
  blocks = Math.max(1, blocks);
  return Math.ceil(Math.ceil(m / blocks) / mr) * mr;
}

/**
 * The busiest thread's rows when blocks of `mc` rows (the last one short) are claimed in order
 * by the least busy of `threads` threads, as the pool's dynamic claiming does.
 */
function makespan(m: number, mc: number, threads: number): number {
  const load = new Array<number>(threads).fill(0);
  for (let start = 0; start < m; start += mc) {
    let least = 0;
    for (let t = 1; t < threads; t++) if (load[t] < load[least]) least = t;
    load[least] += Math.min(mc, m - start);
  }
  return Math.max(...load);
}

/**
 * Rows per block for one matmul on several threads: of the multiples of MR up to `mc` (at least
 * four tiles, so packing stays amortized), the one whose blocks share out best among the
 * threads (256 rows in blocks of 36 leave one thread 144 rows and the other 112; in blocks of
 * 42, 130 and 126), the larger on a tie (fewer blocks to pack).
 */
function balancedBlockRows(m: number, mr: number, mc: number, threads: number): number {
  let best = blockRows(m, mr, mc, threads * 4);
  let bestSpan = makespan(m, best, threads);
  for (let rows = 4 * mr; rows <= mc; rows += mr) {
    const span = makespan(m, rows, threads);
    if (span < bestSpan || (span === bestSpan && rows > best)) {
      best = rows;
      bestSpan = span;
    }
  }
  return best;
}

/**
 * C = A·B (+ bias) for float32 views a [B, M, K], b [B, K, N] and optionally bias [N], written
 * straight into a fresh array of arena storage where there is room (else copied out); null when
 * the WebAssembly kernels cannot take it (then the caller uses the reference kernel). With a
 * bias, C starts from the bias rows and the product is accumulated onto them (PyTorch's addmm:
 * one pass over C fewer than adding afterwards). `sides` run in its packing phase (gemmF32Beside).
 */
export function gemmF32(
  a: View,
  b: View,
  bias?: View,
  sides: readonly SideJob[] = [],
): Float32Array | null {
  const out = arenaFloat32(a.shape[0] * a.shape[1] * b.shape[2], false);
  if (!out) return gemmF32With(a, b, (c) => c.slice(), undefined, bias, sides);
  const c = gemmF32With(a, b, () => out, out, bias, sides);
  if (!c) getRuntime()?.arena.releaseStorage(out);
  return c;
}

/** Fills C [.., N] with the bias row in every row (one row when C holds N elements). */
function fillBiasRows(c: Float32Array, bias: View): void {
  const n = bias.shape[0];
  const values = bias.storage as Float32Array;
  for (let j = 0; j < n; j++) c[j] = values[bias.offset + j * bias.strides[0]];
  for (let filled = n; filled < c.length; filled *= 2)
    c.copyWithin(filled, 0, Math.min(filled, c.length - filled));
}

/** C = A·B written into `out` (batch·M·N elements); false when the kernels decline (out untouched). */
export function gemmF32Into(a: GemmOperand, b: GemmOperand, out: Float32Array): boolean {
  const rt = getRuntime();
  if (rt && rt.arena.contains(out)) return gemmF32With(a, b, () => true, out) ?? false;
  return (
    gemmF32With(a, b, (c) => {
      out.set(c);
      return true;
    }) ?? false
  );
}

/**
 * C = A·B for operands a [B, M, K] and b [B, K, N] (views, or writers that fill the kernel's
 * memory directly), handing C (contiguous [B, M, N], a view of WebAssembly memory valid only
 * during the call, and its byte address) to `consume`, whose result it returns; null when the
 * kernels cannot take the product (then `consume` is not called and writers are not run). C is
 * computed in `into` when given (arena storage of batch·M·N elements), else in a temporary block;
 * with a `bias` [N], C starts from the bias rows. Side jobs (`sides`) run as the first tasks of
 * the packing phase when the product reaches the kernels.
 */
export function gemmF32With<T>(
  a: GemmOperand,
  b: GemmOperand,
  consume: (c: Float32Array, ptr?: number) => T,
  into?: Float32Array,
  bias?: View,
  sides: readonly SideJob[] = [],
): T | null {
  const [batch, m, k] = a.shape;
  const n = b.shape[2];
  const total = batch * m * n;
  if (total === 0) return consume(new Float32Array(0));
  if (k === 0) {
    const c = into ?? new Float32Array(total);
    if (bias) fillBiasRows(c, bias);
    else c.fill(0);
    return consume(c);
  }
  const work = batch * m * n * k;
  if (work < options.minWork) return null;
  const rt = getRuntime();
  if (!rt) return null;
  return rt.arena.withTemporaries((take) =>
    gemmInMemory(rt, a, b, consume, into, bias, take, sides),
  );
}

/**
 * Products with a small output and a long K run as two half-K products (a batch of two), added
 * after. conv1's weight gradient (9 × 32 outputs over K = 43,264) would otherwise be one task on
 * one thread; conv2's ([288, 7,744]·[7,744, 64], B read transposed) ran at 54–56 GFLOP/s on 2
 * threads whole and 90–95 split (in the CNN step 3.7 → 3.6 ms). [256, 4,096]·[4,096, 256] lost
 * (107 → 100), hence at most 32K outputs. Decided by shape alone, so results are the same on
 * any number of threads; on one thread the split costs ~1%.
 */
const SPLIT_K_MAX_OUTPUT = 1 << 15;
const SPLIT_K_MIN_DEPTH = 4096;

const splitsK = (batch: number, m: number, n: number, k: number) =>
  batch === 1 && m * n <= SPLIT_K_MAX_OUTPUT && k >= SPLIT_K_MIN_DEPTH && k % 2 === 0;

/**
 * Products that gemmByColumns takes, as measured on 2 threads: up to COLUMN_PLAN_MAX_ROWS rows
 * (with more, the shared plan has row blocks enough to share out, and packing all of A on every
 * thread costs more than it saves: 2% at [1000, 256]·[256, 128]), up to COLUMN_PLAN_MAX_COLUMNS
 * columns with at least 4 panels per thread (conv's wide products, [64, 288]·[288, 7744], made
 * the CNN step 2% slower), up to COLUMN_PLAN_MAX_WORK multiply-adds. On more threads every
 * thread would pack all of A, a larger share of its work, and that is unmeasured: the shared
 * plan stays.
 */
const COLUMN_PLAN_MAX_THREADS = 2;
const COLUMN_PLAN_MAX_ROWS = 512;
const COLUMN_PLAN_MAX_COLUMNS = 2048;
const COLUMN_PLAN_MAX_WORK = 1 << 28;

function byColumns(
  [batch, m, k]: readonly number[],
  n: number,
  threads: number,
  nr: number,
  sideJobs: number,
): boolean {
  return (
    threads <= COLUMN_PLAN_MAX_THREADS &&
    threads + sideJobs <= MAX_EACH_JOBS &&
    batch === 1 &&
    !splitsK(batch, m, n, k) &&
    m <= COLUMN_PLAN_MAX_ROWS &&
    n <= COLUMN_PLAN_MAX_COLUMNS &&
    n >= threads * 4 * nr &&
    m * n * k <= COLUMN_PLAN_MAX_WORK
  );
}

/**
 * A product of moderate size on several threads as one column range of B and C per thread, each
 * range a one-thread product (its own B panels, its own A blocks) run whole on one thread, side
 * by side with the others and with `sides`. The shared plan (all threads packing, a barrier, then
 * all threads computing from panels the other core packed) spends ~10% more thread time on
 * x·W1ᵀ at batch 128 than one thread does: packed data crossing between the cores' caches, the
 * barrier. The price here is A packed once per thread instead of once. Every element of C has
 * the same arithmetic as in the shared plan.
 */
function gemmByColumns(
  rt: GemmRuntime,
  [a, b]: readonly [GemmOperand, GemmOperand],
  { into, bias, sides }: { into?: Float32Array; bias?: View; sides: readonly SideJob[] },
  threads: number,
  take: (bytes: number) => number,
): Float32Array | null {
  const [, m] = a.shape;
  const n = b.shape[2];
  const aPlaced = inKernelMemory(rt, a, take);
  const bPlaced = aPlaced && inKernelMemory(rt, b, take);
  if (!bPlaced) return null;
  const cPtr = into ? into.byteOffset : take(m * n * 4);
  if (cPtr === 0) return null;
  const { nr } = rt.variant;
  const panels = Math.ceil(n / nr);
  const ranges: SideJob[] = [];
  for (let t = 0; t < threads; t++) {
    const first = Math.floor((t * panels) / threads) * nr;
    const end = Math.min(n, Math.floor(((t + 1) * panels) / threads) * nr);
    ranges.push({
      prepare(ctl, takeMore) {
        const c = rt.view(cPtr + first * 4, m * n - first);
        const job = prepareGemm(
          rt,
          aPlaced,
          sliceAlong(bPlaced, 2, first, end),
          c,
          bias && sliceAlong(bias, 0, first, end),
          takeMore,
          1,
          ctl,
          n,
        );
        return wholeJobTasks(job);
      },
    });
  }
  if (!runJobs(rt, [...ranges, ...sides], take, true)) return null;
  return into ?? rt.view(cPtr, m * n);
}

/** Entries [first, end) along dim `dim` of a view. */
function sliceAlong(v: View, dim: number, first: number, end: number): View {
  const shape = [...v.shape];
  shape[dim] = end - first;
  const { storage, dtype, strides } = v;
  return { storage, dtype, shape, strides, offset: v.offset + first * v.strides[dim] };
}

/** An operand as a view of the kernels' memory (placed there once, for several jobs to read). */
function inKernelMemory(
  rt: GemmRuntime,
  x: GemmOperand,
  take: (bytes: number) => number,
): View | null {
  const placed = placeOperand(rt, x, take);
  if (!placed) return null;
  return {
    storage: rt.heap(),
    dtype: 'float32',
    shape: [...x.shape],
    strides: placed.strides,
    offset: placed.base / 4 + placed.offset,
  };
}

function gemmInMemory<T>(
  rt: GemmRuntime,
  a: GemmOperand,
  b: GemmOperand,
  consume: (c: Float32Array, ptr?: number) => T,
  into: Float32Array | undefined,
  bias: View | undefined,
  take: (bytes: number) => number,
  sides: readonly SideJob[] = [],
): T | null {
  const work = a.shape[0] * a.shape[1] * a.shape[2] * b.shape[2];
  const parallel = work >= options.parallelMinWork && numThreads() > 1;
  if (parallel) ensurePool(rt);
  const threads = parallel ? rt.threads() : 1;
  if (threads > 1 && byColumns(a.shape, b.shape[2], threads, rt.variant.nr, sides.length)) {
    const c = gemmByColumns(rt, [a, b], { into, bias, sides }, threads, take);
    return c && consume(c, c.byteOffset);
  }
  const job = prepareGemm(rt, a, b, into, bias, take, threads, rt.ctl);
  if (!job) return null;
  // Side jobs run in the first slice's packing phase, as its first tasks.
  const placed = placeJobs(rt, sides, take);
  if (!placed) return null;
  writeJobList(rt.ctl, placed);
  let sideTasks = placed.length;
  for (let b0 = 0; b0 < job.batch; b0 += job.slice) {
    const { tasks, barrier } = job.setSlice(b0);
    rt.ctl[CTL.SIDE_TASKS] = sideTasks;
    rt.run(tasks + sideTasks, parallel, barrier + sideTasks);
    sideTasks = 0;
  }
  for (const side of sides) side.finish?.();
  const { c, ptr } = job.finish();
  return consume(c, ptr);
}

/** A matmul laid out in the kernels' memory, its control words written to a control block. */
interface PreparedGemm {
  /** Batch entries, run in slices of `slice` (task indices are 16 bits). */
  readonly batch: number;
  readonly slice: number;
  /** Sets the words of batch entries [b0, b0 + slice); returns the slice's task count and barrier. */
  setSlice(b0: number): { tasks: number; barrier: number };
  /** Once every slice has run: C (a view of the kernels' memory) and its byte address. */
  finish(): { c: Float32Array; ptr: number };
}

/**
 * Places the operands, takes the packing, scratch and result memory from `take` and writes the
 * job's control words into `ctl` (the control block at address 0, or a KIND_EACH job's own),
 * blocked for `threads` threads; null when memory runs out.
 */
function prepareGemm(
  rt: GemmRuntime,
  a: GemmOperand,
  b: GemmOperand,
  into: Float32Array | undefined,
  bias: View | undefined,
  take: (bytes: number) => number,
  threads: number,
  ctl: Int32Array,
  rowStride = b.shape[2],
): PreparedGemm | null {
  const [batchIn, m, kIn] = a.shape;
  const n = b.shape[2];
  const total = batchIn * m * n;
  const pa = placeOperand(rt, a, take);
  if (!pa) return null;
  const pb = placeOperand(rt, b, take);
  if (!pb) return null;
  const split = splitsK(batchIn, m, n, kIn);
  // With a split, the two halves of K are a batch of 2 (A and B advance by half of K).
  const batch = split ? 2 : batchIn;
  const k = split ? kIn / 2 : kIn;
  const aBatchStride = split ? k * pa.strides[2] : pa.strides[0];
  const bBatchStride = split ? k * pb.strides[1] : pb.strides[0];

  const { mr, nr } = rt.variant;
  const want = threads > 1 ? threads * 4 : 1;
  // K blocks of equal depth (no short last block), M blocks balanced and, on several threads,
  // enough of them to share out before splitting N (which would pack A blocks twice).
  const kBlocks = Math.ceil(k / Math.max(1, options.kc));
  const kc = Math.ceil(k / kBlocks);
  const mcMax = Math.max(mr, Math.floor(options.mc / mr) * mr);
  const mc =
    batch === 1 && threads > 1
      ? balancedBlockRows(m, mr, mcMax, threads)
      : blockRows(m, mr, mcMax, Math.ceil(want / batch));
  const mBlocks = Math.ceil(m / mc);
  const nPanels = Math.ceil(n / nr);
  const npad = nPanels * nr;
  // Enough tasks for every thread to get several: split N when batch·M-blocks is too few.
  let nChunks = 1;
  if (threads > 1)
    nChunks = Math.max(1, Math.min(Math.ceil(nPanels / 4), Math.ceil(want / (batch * mBlocks))));
  const ncCols = Math.ceil(nPanels / nChunks) * nr;
  nChunks = Math.ceil(n / ncCols);

  const batchB = batch === 1 || bBatchStride === 0 ? 1 : batch;
  const bpBatchBytes = k * npad * 4;
  // Packing is shared out too: B's K blocks in column ranges of at least four panels, enough
  // ranges for a couple of tasks per thread.
  let bChunks = 1;
  if (threads > 1)
    bChunks = Math.max(1, Math.min(Math.ceil(nPanels / 4), Math.ceil((2 * threads) / kBlocks)));
  const bChunkCols = Math.ceil(nPanels / bChunks) * nr;
  bChunks = Math.ceil(n / bChunkCols);
  // Tasks are numbered in 16 bits: run the batch in slices if needed.
  const packBPerBatch = kBlocks * bChunks;
  const packAPerBatch = mBlocks * kBlocks;
  const computePerBatch = mBlocks * nChunks;
  const slice = Math.max(1, Math.floor(0xffff / (packBPerBatch + packAPerBatch + computePerBatch)));
  const apBlock = alignBytes(Math.ceil(mc / mr) * mr * kc * 4);
  // A packed by tasks of its own when column chunks share its row blocks, else by each task.
  const prepackA = nChunks > 1;
  const scratchStride = alignBytes(mr * nr * 4) + (prepackA ? 0 : apBlock);
  // The temporaries in one block: packed B, packed A, per-thread scratch, C when not `into`, the
  // halves' products of a split product, the bias row for the kernels to start C from.
  const parts = [
    batchB * bpBatchBytes,
    prepackA ? Math.min(slice, batch) * packAPerBatch * apBlock : 0,
    scratchStride * (1 + (rt.pool ? rt.pool.size : 0)),
    into ? 0 : total * 4,
    split ? 2 * total * 4 : 0,
    bias && !split ? n * 4 : 0,
  ];
  const starts: number[] = [];
  let bytes = 0;
  for (const part of parts) {
    starts.push(bytes);
    bytes += alignBytes(part);
  }
  const block = take(bytes);
  if (block === 0) return null;
  const [bpPtr, packedA, scratchPtr, ownC, halves, biasRow] = starts.map((at) => block + at);
  const apPtr = prepackA ? packedA : 0;
  const cPtr = into ? into.byteOffset : ownC;
  const partPtr = split ? halves : cPtr;

  const cView = () => into ?? rt.view(cPtr, total);
  // A split product adds its halves to C filled with the bias rows here.
  let biasPtr = 0;
  if (bias && split) fillBiasRows(cView(), bias);
  else if (bias) {
    biasPtr = biasRow;
    fillBiasRows(rt.view(biasPtr, n), bias);
  }
  // Word by word: the named form (setControls) costs ~0.5 µs for these 28, and every matmul asks.
  ctl[CTL.KIND] = KIND_GEMM;
  ctl[CTL.SIDE_TASKS] = 0;
  ctl[CTL.C_INIT] = biasPtr !== 0 ? C_FROM_BIAS : 0;
  ctl[CTL.BIAS_PTR] = biasPtr;
  ctl[CTL.M] = m;
  ctl[CTL.N] = n;
  ctl[CTL.K] = k;
  ctl[CTL.C_SM] = rowStride;
  ctl[CTL.A_SB] = aBatchStride;
  ctl[CTL.A_SM] = pa.strides[1];
  ctl[CTL.A_SK] = pa.strides[2];
  ctl[CTL.B_SB] = batchB === 1 ? 0 : bBatchStride;
  ctl[CTL.B_SK] = pb.strides[1];
  ctl[CTL.B_SN] = pb.strides[2];
  ctl[CTL.BP_SB] = batchB === 1 ? 0 : bpBatchBytes;
  ctl[CTL.B_CHUNKS] = bChunks;
  ctl[CTL.B_CHUNK_COLS] = bChunkCols;
  ctl[CTL.AP_PTR] = apPtr;
  ctl[CTL.AP_BLOCK] = apBlock;
  ctl[CTL.MC] = mc;
  ctl[CTL.KC] = kc;
  ctl[CTL.NC] = ncCols;
  ctl[CTL.M_BLOCKS] = mBlocks;
  ctl[CTL.N_CHUNKS] = nChunks;
  ctl[CTL.K_BLOCKS] = kBlocks;
  ctl[CTL.NPAD] = npad;
  ctl[CTL.SCRATCH] = scratchPtr;
  ctl[CTL.SCRATCH_STRIDE] = scratchStride;

  return {
    batch,
    slice,
    setSlice(b0) {
      const count = Math.min(slice, batch - b0);
      // A B shared by the whole batch is packed once, with the first slice.
      const packB = batchB === 1 ? (b0 === 0 ? packBPerBatch : 0) : count * packBPerBatch;
      const packing = packB + (prepackA ? count * packAPerBatch : 0);
      ctl[CTL.BATCH] = count;
      ctl[CTL.A_PTR] = pa.base + (pa.offset + b0 * aBatchStride) * 4;
      ctl[CTL.B_PTR] = pb.base + (pb.offset + (batchB === 1 ? 0 : b0 * bBatchStride)) * 4;
      ctl[CTL.BP_PTR] = bpPtr + (batchB === 1 ? 0 : b0 * bpBatchBytes);
      ctl[CTL.C_PTR] = partPtr + b0 * m * n * 4;
      ctl[CTL.PACK_B_TASKS] = packB;
      ctl[CTL.BARRIER] = packing;
      return { tasks: packing + count * computePerBatch, barrier: packing };
    },
    finish() {
      if (split) {
        // C = (first half + second half), plus C's initial values (a bias) when there are any.
        const heap = rt.heap();
        const c = cView();
        const first = partPtr >> 2;
        const second = first + total;
        for (let i = 0; i < total; i++) {
          const sum = Math.fround(heap[first + i] + heap[second + i]);
          c[i] = bias ? c[i] + sum : sum;
        }
      }
      return { c: cView(), ptr: cPtr };
    },
  };
}

/**
 * A job for runSideBySide: `prepare` writes its control words into `ctl` (a block of its own),
 * taking the memory it needs from `take`, and returns its task count (0 when memory ran out);
 * `finish` runs once every job has (temporaries are still valid then).
 */
export interface SideJob {
  prepare(ctl: Int32Array, take: (bytes: number) => number): number;
  finish?(): void;
}

/**
 * Runs independent jobs side by side as one job of the pool, each whole on one thread (its tasks
 * in order): for kernels too small to share well between threads (a linear layer's two backward
 * products at batch 128 lose a third of their time to packing phases and hand-over on two
 * threads). False, with nothing run, when memory runs out.
 */
export function runSideBySide(rt: GemmRuntime, jobs: readonly SideJob[]): boolean {
  if (jobs.length > MAX_EACH_JOBS) return false;
  const parallel = numThreads() > 1;
  if (parallel) ensurePool(rt);
  return rt.arena.withTemporaries((take) => runJobs(rt, jobs, take, parallel));
}

/**
 * Places `jobs` with memory from `take`, runs them as one KIND_EACH job and finishes them; false,
 * with nothing run, when memory runs out.
 */
function runJobs(
  rt: GemmRuntime,
  jobs: readonly SideJob[],
  take: (bytes: number) => number,
  parallel: boolean,
): boolean {
  const placed = placeJobs(rt, jobs, take);
  if (!placed) return false;
  rt.runEach(placed, parallel);
  for (const job of jobs) job.finish?.();
  return true;
}

/** Tasks of a prepared product run whole in one slice, as a job of a KIND_EACH list; 0 if it cannot be. */
function wholeJobTasks(job: PreparedGemm | null): number {
  return job && job.slice >= job.batch ? job.setSlice(0).tasks : 0;
}

/** A job's control block (its address) and task count, as KIND_EACH lists and side tasks read them. */
interface PlacedJob {
  block: number;
  tasks: number;
}

/** Gives each job a control block from `take` and prepares it there; null when memory runs out. */
function placeJobs(
  rt: GemmRuntime,
  jobs: readonly SideJob[],
  take: (bytes: number) => number,
): PlacedJob[] | null {
  const placed: PlacedJob[] = [];
  if (jobs.length === 0) return placed;
  // One block for all the jobs' control blocks (each a whole number of cache lines).
  const blocks = take(jobs.length * CONTROL_BYTES);
  if (blocks === 0) return null;
  for (const job of jobs) {
    const block = blocks + placed.length * CONTROL_BYTES;
    const tasks = job.prepare(new Int32Array(rt.memory.buffer, block, CONTROL_BYTES / 4), take);
    if (tasks === 0) return null;
    placed.push({ block, tasks });
  }
  return placed;
}

/** Writes the jobs' blocks and task counts to the EACH_JOBS list of control block `ctl`. */
function writeJobList(ctl: Int32Array, jobs: readonly PlacedJob[]): void {
  for (let i = 0; i < jobs.length; i++) {
    ctl[CTL.EACH_JOBS + 2 * i] = jobs[i].block;
    ctl[CTL.EACH_JOBS + 2 * i + 1] = jobs[i].tasks;
  }
}

/**
 * gemmF32 with independent side jobs (a bias sum beside a weight gradient) run as the first
 * tasks of the product's packing phase, on whichever thread is free; null, with nothing run,
 * where the kernels decline.
 */
export function gemmF32Beside(a: View, b: View, sides: readonly SideJob[]): Float32Array | null {
  const [batch, m, k] = a.shape;
  // Empty products return before any kernel runs, so they would skip the side jobs too.
  if (batch * m * k * b.shape[2] < options.minWork || sides.length > MAX_EACH_JOBS) return null;
  return gemmF32(a, b, undefined, sides);
}

/**
 * C = A·B (float32 views a [B, M, K] and b [B, K, N]) as a job for runSideBySide, blocked for
 * one thread, with the bits it has alone (blocking never changes a sum's order): `result` is C
 * once it ran (arena storage, or a copy when too small to live there). Null below minWork.
 */
export function gemmSideJob(
  rt: GemmRuntime,
  a: View,
  b: View,
): (SideJob & { result: Float32Array | null }) | null {
  const [batch, m, k] = a.shape;
  const n = b.shape[2];
  if (batch * m * n * k < options.minWork) return null;
  // C's storage is taken when the job is placed, not before: a partner job that declines leaves
  // no block behind for the collector (as sumRowsSideJob).
  let out: Float32Array | null = null;
  let prepared: PreparedGemm | null = null;
  const job = {
    result: null as Float32Array | null,
    prepare(ctl: Int32Array, take: (bytes: number) => number): number {
      out = arenaFloat32(batch * m * n, false);
      prepared = prepareGemm(rt, a, b, out ?? undefined, undefined, take, 1, ctl);
      return wholeJobTasks(prepared);
    },
    finish(): void {
      const { c } = prepared!.finish();
      job.result = out ?? c.slice();
    },
  };
  return job;
}

/**
 * The kernel module's runtime for other kernels that share its memory (conv.ts's im2col and
 * col2im tasks), with the worker threads started when `parallel` and there are several; null
 * where the WebAssembly kernels cannot run.
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

/**
 * A plain float32 SGD step in place, p[i] = p[i] + g[i]·scale (scale = -lr, or lr when
 * maximizing, already rounded to float32), on the WebAssembly kernel: the same float32 rounding
 * as the reference loop, several times faster than a typed-array loop even with the copies in
 * and out. False when the kernels cannot take it (the caller runs the reference).
 */
export function sgdStepF32(p: Float32Array, g: Float32Array, scale: number): boolean {
  const n = p.length;
  if (g.length !== n) return false;
  const rt = getRuntime();
  if (!rt) return false;
  const arena = rt.arena;
  if (arena.contains(p) && arena.contains(g)) {
    rt.sgd(p.byteOffset, g.byteOffset, n, scale);
    return true;
  }
  return arena.withTemporaries((take) => {
    const pPtr = take(n * 4);
    const gPtr = pPtr === 0 ? 0 : take(n * 4);
    if (gPtr === 0) return false;
    const heap = rt.heap();
    heap.set(p, pPtr >> 2);
    heap.set(g, gPtr >> 2);
    rt.sgd(pPtr, gPtr, n, scale);
    p.set(heap.subarray(pPtr >> 2, (pPtr >> 2) + n));
    return true;
  });
}
