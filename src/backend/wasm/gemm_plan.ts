/**
 * How a matmul is shared out over the threads: row-block heights, the split of a long K in two
 * halves (decided from the shape alone, as it changes the sums), which products run as one
 * column range per thread (gemm.ts gemmByColumns) and which batches as whole entries per task.
 * Blocking never changes a sum's order, so results never depend on the thread count.
 */
import { MAX_EACH_JOBS } from './control_block.js';

/** Rows of A per block: MC's block count, the blocks balanced (multiples of MR), more blocks when threads want tasks. */
export function blockRows(m: number, mr: number, mc: number, minBlocks: number): number {
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
export function balancedBlockRows(m: number, mr: number, mc: number, threads: number): number {
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
 * Products with a small output and a long K run as two half-K products (a batch of two), added
 * after. conv1's weight gradient (9 × 32 outputs over K = 43,264) would otherwise be one task on
 * one thread; conv2's ([288, 7,744]·[7,744, 64], B read transposed) ran at 54–56 GFLOP/s on 2
 * threads whole and 90–95 split (in the CNN step 3.7 → 3.6 ms). [256, 4,096]·[4,096, 256] lost
 * (107 → 100), hence at most 32K outputs. Decided by shape alone, so results are the same on
 * any number of threads; on one thread the split costs ~1%.
 */
const SPLIT_K_MAX_OUTPUT = 1 << 15;

const SPLIT_K_MIN_DEPTH = 4096;

export const splitsK = (batch: number, m: number, n: number, k: number) =>
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

export function byColumns(
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
 * Batched products on several threads whose tasks are whole batch entries (CTL.WHOLE_ENTRIES):
 * each entry's B packed and its C computed on one thread, blocked as for one thread, instead of
 * all threads packing, a barrier, then every thread computing from panels the other core packed.
 * Attention's heads (64 entries of [64, 64]·[64, 32], 2¹⁷ multiply-adds each) ran ~10% faster so
 * on 2 threads (bench/attention_matmul.ts). Needs B to have an entry of its own per batch entry
 * (a broadcast B is packed once for all) and entries enough to share out, at least four per
 * thread. Entries above WHOLE_ENTRY_MAX_WORK multiply-adds keep the shared plan: there the
 * hand-over is a small part, and whole entries would share out less evenly (unmeasured). On one
 * thread the shared plan's order (all of B packed, then the products) was as fast or slightly
 * faster, so it stays.
 */
const WHOLE_ENTRIES_PER_THREAD = 4;

const WHOLE_ENTRY_MAX_WORK = 1 << 20;

export const wholeEntries = (
  [batch, m, k]: readonly number[],
  n: number,
  batchB: number,
  threads: number,
) =>
  threads > 1 &&
  batchB === batch &&
  batch >= WHOLE_ENTRIES_PER_THREAD * threads &&
  m * n * k <= WHOLE_ENTRY_MAX_WORK;
