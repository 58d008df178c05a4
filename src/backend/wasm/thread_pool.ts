/**
 * Worker threads over one shared WebAssembly.Memory. Each worker instantiates the same kernel
 * module on that memory and runs tasks that the calling thread publishes in the control block:
 *
 *   caller: write the job's parameters, DONE = 0, CLAIM = (gen << 16 | 0), GEN = gen, notify
 *   anyone: claim task i by compare-exchange on CLAIM (the high half must still be this gen),
 *           if i ≥ BARRIER > 0, spin until DONE ≥ BARRIER; run_task(thread, i), DONE += 1 (the
 *           last one notifies)
 *   caller: claims tasks too, then blocks in Atomics.wait until DONE = NTASKS
 *
 * Tasks are claimed in index order, so when a task past the barrier is claimed every task before
 * it has been claimed by a thread that runs it without waiting, and the first BARRIER tasks to
 * finish are those: one job can hold two phases (a matmul's packing, then its products) with
 * no hand-over between them.
 *
 * Claiming is dynamic, so a busy core (other processes on the machine) or a worker still
 * starting up only means the others take more tasks; results do not depend on who ran what.
 * Ops stay synchronous: the caller blocks in Atomics.wait, which Node allows on its main thread
 * and browsers allow only in workers (see platform.ts, `canBlock`). Workers are unref'd so
 * they never keep a Node process alive.
 */
import { CTL } from './control_block.js';
import { isNode, nodeBuiltin } from './platform.js';

/** A claim word no thread can claim from: tag 0xffff with index 0xffff (≥ every task count). */
export const CLAIMS_CLOSED = -1;

/**
 * Iterations a thread spins on a control word before it sleeps in Atomics.wait (about 2 ms):
 * a training step starts a matmul every millisecond or so with JavaScript work between, and a
 * worker woken from sleep starts late. (OpenMP's pools spin a while too before they sleep.)
 */
const SPIN = 300_000;

/**
 * The loop every worker runs, as source text (not a function's toString(), which bundlers,
 * transpilers and coverage tools may rewrite): instantiate, then claim and run tasks.
 */
const WORKER_MAIN = `function workerMain(module, memory, id, ctlWords, spin) {
  const { GEN, CLAIM, DONE, NTASKS, READY, BARRIER } = ctlWords;
  const instance = new WebAssembly.Instance(module, { env: { memory } });
  const runTask = instance.exports.run_task;
  const ctl = new Int32Array(memory.buffer, 0, 256);
  let seen = Atomics.load(ctl, GEN);
  Atomics.add(ctl, READY, 1);
  for (;;) {
    let gen = Atomics.load(ctl, GEN);
    for (let i = 0; gen === seen && i < spin; i++) gen = Atomics.load(ctl, GEN);
    if (gen === seen) {
      Atomics.wait(ctl, GEN, seen);
      continue;
    }
    seen = gen;
    if (gen < 0) return;
    const tag = gen & 0xffff;
    for (;;) {
      const claim = Atomics.load(ctl, CLAIM);
      if (claim >>> 16 !== tag) break;
      const n = ctl[NTASKS];
      const index = claim & 0xffff;
      if (index >= n) break;
      if (Atomics.compareExchange(ctl, CLAIM, claim, claim + 1) !== claim) continue;
      const barrier = ctl[BARRIER];
      if (index >= barrier) while (Atomics.load(ctl, DONE) < barrier);
      runTask(id, index);
      if (Atomics.add(ctl, DONE, 1) + 1 === n) Atomics.notify(ctl, DONE);
    }
  }
}`;

// The waiting loops live in functions of their own, not in ThreadPool.run: V8 compiles a
// function on-stack-replaced in a long-running loop, and when that first happened in run(), before
// the code after the loop had ever run, the cached compiled loop deoptimized on every later entry
// ("insufficient type feedback"), hundreds of times per thousand training steps in some
// processes, and run() stayed unoptimized. After these loops there is nothing but the return.

/** Spins until `count` tasks are done (a barrier: workers notify only when a job ends). */
function spinUntilDone(ctl: Int32Array, count: number): void {
  while (Atomics.load(ctl, CTL.DONE) < count);
}

/** Spins, then sleeps, until the job's `count` tasks are done (the last one notifies). */
function waitForDone(ctl: Int32Array, count: number): void {
  for (let spins = 0; ; spins++) {
    const done = Atomics.load(ctl, CTL.DONE);
    if (done >= count) return;
    if (spins >= SPIN) Atomics.wait(ctl, CTL.DONE, done);
  }
}

interface WorkerLike {
  terminate(): unknown;
  unref?: () => void;
}

/** Starts `count` workers on `memory`; returns null where workers cannot be created. */
export class ThreadPool {
  private readonly workers: WorkerLike[] = [];
  private gen = 0;
  readonly ctl: Int32Array;

  private constructor(
    readonly memory: WebAssembly.Memory,
    readonly size: number,
  ) {
    this.ctl = new Int32Array(memory.buffer, 0, 256);
  }

  /** Workers that have instantiated the module and wait for tasks. */
  get ready(): number {
    return Atomics.load(this.ctl, CTL.READY);
  }

  /** Resolves once all workers are ready (or after `timeoutMs`). */
  async whenReady(timeoutMs = 10_000): Promise<boolean> {
    const start = Date.now();
    while (this.ready < this.size) {
      if (Date.now() - start > timeoutMs) return false;
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    return true;
  }

  static start(
    module: WebAssembly.Module,
    memory: WebAssembly.Memory,
    count: number,
  ): ThreadPool | null {
    if (count < 1) return null;
    const pool = new ThreadPool(memory, count);
    Atomics.store(pool.ctl, CTL.READY, 0);
    const ctlWords = {
      GEN: CTL.GEN,
      CLAIM: CTL.CLAIM,
      DONE: CTL.DONE,
      NTASKS: CTL.NTASKS,
      READY: CTL.READY,
      BARRIER: CTL.BARRIER,
    };
    const source = WORKER_MAIN;
    try {
      if (isNode) {
        const wt = nodeBuiltin<{ Worker: new (code: string, options: object) => WorkerLike }>(
          'node:worker_threads',
        );
        if (!wt) return null;
        const code = `const { workerData } = require('node:worker_threads');\n(${source})(workerData.module, workerData.memory, workerData.id, workerData.ctlWords, workerData.spin);`;
        for (let id = 1; id <= count; id++) {
          const worker = new wt.Worker(code, {
            eval: true,
            workerData: { module, memory, id, ctlWords, spin: SPIN },
          });
          worker.unref?.();
          pool.workers.push(worker);
        }
      } else {
        const code = `self.onmessage = (e) => { const d = e.data; (${source})(d.module, d.memory, d.id, d.ctlWords, d.spin); };`;
        const url = URL.createObjectURL(new Blob([code], { type: 'text/javascript' }));
        for (let id = 1; id <= count; id++) {
          const worker = new Worker(url);
          worker.postMessage({ module, memory, id, ctlWords, spin: SPIN });
          pool.workers.push(worker);
        }
      }
    } catch {
      pool.terminate();
      return null;
    }
    return pool;
  }

  /**
   * Runs tasks 0..n-1 of the job already written to the control block, on the workers and the
   * calling thread (thread 0), and returns when all are done.
   */
  run(n: number, runTask: (thread: number, index: number) => void): void {
    const ctl = this.ctl;
    this.gen = (this.gen % 0x7ffffffe) + 1;
    const tag = this.gen & 0xffff;
    ctl[CTL.NTASKS] = n;
    Atomics.store(ctl, CTL.DONE, 0);
    Atomics.store(ctl, CTL.CLAIM, tag << 16);
    Atomics.store(ctl, CTL.GEN, this.gen);
    Atomics.notify(ctl, CTL.GEN);
    for (;;) {
      const claim = Atomics.load(ctl, CTL.CLAIM);
      const index = claim & 0xffff;
      if (index >= n) break;
      if (Atomics.compareExchange(ctl, CTL.CLAIM, claim, claim + 1) !== claim) continue;
      const barrier = ctl[CTL.BARRIER];
      if (index >= barrier) spinUntilDone(ctl, barrier);
      runTask(0, index);
      Atomics.add(ctl, CTL.DONE, 1);
    }
    waitForDone(ctl, n);
    // Close the claim word. A worker still in its claim loop may hold the last claim value it read
    // and be about to compare-and-swap it; with the word changed that CAS fails, so it cannot claim
    // a task of a later job (a job the caller runs alone rewrites NTASKS but not CLAIM) and then
    // count it into the DONE of the job after that, which made results depend on timing.
    Atomics.store(ctl, CTL.CLAIM, CLAIMS_CLOSED);
  }

  terminate(): void {
    Atomics.store(this.ctl, CTL.GEN, -1);
    Atomics.notify(this.ctl, CTL.GEN);
    for (const w of this.workers) w.terminate();
    this.workers.length = 0;
  }
}
