/**
 * Independent jobs run side by side as one job of the thread pool (KIND_EACH), each whole on one
 * thread: a linear layer's backward products, a bias sum beside a weight gradient, a matmul's
 * column ranges (gemm.ts). Each job has a control block of its own, which the kernels read
 * through the module's CTL_BASE global.
 */
import { CONTROL_BYTES, CTL, KIND_EACH, MAX_EACH_JOBS } from './control_block.js';
import { ensurePool, type GemmRuntime, numThreads } from './kernel_runtime.js';

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
export function runJobs(
  rt: GemmRuntime,
  jobs: readonly SideJob[],
  take: (bytes: number) => number,
  parallel: boolean,
): boolean {
  const placed = placeJobs(rt, jobs, take);
  if (!placed) return false;
  writeJobList(rt.ctl, placed);
  rt.ctl[CTL.KIND] = KIND_EACH;
  rt.run(placed.length, parallel);
  for (const job of jobs) job.finish?.();
  return true;
}

/** A job's control block (its address) and task count, as KIND_EACH lists and side tasks read them. */
interface PlacedJob {
  block: number;
  tasks: number;
}

/** Gives each job a control block from `take` and prepares it there; null when memory runs out. */
export function placeJobs(
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
export function writeJobList(ctl: Int32Array, jobs: readonly PlacedJob[]): void {
  for (let i = 0; i < jobs.length; i++) {
    ctl[CTL.EACH_JOBS + 2 * i] = jobs[i].block;
    ctl[CTL.EACH_JOBS + 2 * i + 1] = jobs[i].tasks;
  }
}
