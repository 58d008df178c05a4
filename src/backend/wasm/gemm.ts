/**
 * float32 batched matmul on the generated WebAssembly kernels: reads operands that live in the
 * kernels' memory (arena.ts) where they are and copies the others' spans in (O(n²) against O(n³)
 * work), packs B, computes C in tasks spread over the thread pool, straight into a result array
 * in the same memory.
 */
import type { View } from '../backend.js';
import { C_FROM_BIAS, CTL, KIND_GEMM, MAX_EACH_JOBS } from './control_block.js';
import {
  alignBytes,
  ensurePool,
  type GemmRuntime,
  getRuntime,
  numThreads,
  arenaFloat32,
} from './kernel_runtime.js';
import { type GemmOperand, inKernelMemory, placeOperand } from './gemm_operands.js';
import { balancedBlockRows, blockRows, byColumns, splitsK, wholeEntries } from './gemm_plan.js';
import { placeJobs, runJobs, type SideJob, writeJobList } from './side_by_side.js';

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

export function configureGemm(update: Partial<GemmOptions>): GemmOptions {
  const previous = { ...options };
  Object.assign(options, update);
  return previous;
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

  const batchB = batch === 1 || bBatchStride === 0 ? 1 : batch;
  // Whole batch entries as tasks: blocked as for one thread, which each entry runs on.
  const whole = wholeEntries([batch, m, k], n, batchB, threads);
  const planThreads = whole ? 1 : threads;
  const { mr, nr } = rt.variant;
  const want = planThreads > 1 ? planThreads * 4 : 1;
  // K blocks of equal depth (no short last block), M blocks balanced and, on several threads,
  // enough of them to share out before splitting N (which would pack A blocks twice).
  const kBlocks = Math.ceil(k / Math.max(1, options.kc));
  const kc = Math.ceil(k / kBlocks);
  const mcMax = Math.max(mr, Math.floor(options.mc / mr) * mr);
  const mc =
    batch === 1 && planThreads > 1
      ? balancedBlockRows(m, mr, mcMax, planThreads)
      : blockRows(m, mr, mcMax, Math.ceil(want / batch));
  const mBlocks = Math.ceil(m / mc);
  const nPanels = Math.ceil(n / nr);
  const npad = nPanels * nr;
  // Enough tasks for every thread to get several: split N when batch·M-blocks is too few.
  let nChunks = 1;
  if (planThreads > 1)
    nChunks = Math.max(1, Math.min(Math.ceil(nPanels / 4), Math.ceil(want / (batch * mBlocks))));
  const ncCols = Math.ceil(nPanels / nChunks) * nr;
  nChunks = Math.ceil(n / ncCols);

  const bpBatchBytes = k * npad * 4;
  // Packing is shared out too: B's K blocks in column ranges of at least four panels, enough
  // ranges for a couple of tasks per thread.
  let bChunks = 1;
  if (planThreads > 1)
    bChunks = Math.max(1, Math.min(Math.ceil(nPanels / 4), Math.ceil((2 * planThreads) / kBlocks)));
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
  ctl[CTL.WHOLE_ENTRIES] = whole ? 1 : 0;

  return {
    batch,
    slice,
    setSlice(b0) {
      const count = Math.min(slice, batch - b0);
      // A B shared by the whole batch is packed once, with the first slice.
      const packB = batchB === 1 ? (b0 === 0 ? packBPerBatch : 0) : count * packBPerBatch;
      const packing = whole ? 0 : packB + (prepackA ? count * packAPerBatch : 0);
      ctl[CTL.BATCH] = count;
      ctl[CTL.A_PTR] = pa.base + (pa.offset + b0 * aBatchStride) * 4;
      ctl[CTL.B_PTR] = pb.base + (pb.offset + (batchB === 1 ? 0 : b0 * bBatchStride)) * 4;
      ctl[CTL.BP_PTR] = bpPtr + (batchB === 1 ? 0 : b0 * bpBatchBytes);
      ctl[CTL.C_PTR] = partPtr + b0 * m * n * 4;
      ctl[CTL.PACK_B_TASKS] = packB;
      ctl[CTL.BARRIER] = packing;
      return { tasks: whole ? count : packing + count * computePerBatch, barrier: packing };
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

/** Tasks of a prepared product run whole in one slice, as a job of a KIND_EACH list; 0 if it cannot be. */
function wholeJobTasks(job: PreparedGemm | null): number {
  return job && job.slice >= job.batch ? job.setSlice(0).tasks : 0;
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
