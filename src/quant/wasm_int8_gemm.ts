/**
 * The int8 matmul in WebAssembly SIMD, generated at run time with the float kernels' emitter
 * (`backend/wasm/emitter.ts`) and run on a thread pool of its own (`backend/wasm/thread_pool.ts`),
 * the way the float32 gemm runs: C [m, n] = A [m, k] · B [n, k]ᵀ in int32 for int8 operands in
 * [−127, 127].
 *
 * Both operands are packed K-contiguous, k padded with zeros to a multiple of 16, rows padded to
 * the 2×4 register tile; each step of the micro-kernel loads 16 int8 of two rows of A and of four
 * rows of B and accumulates eight dot products in eight i32x4 accumulators:
 * - relaxed SIMD: `i16x8.relaxed_dot_i8x16_i7x16_s` (16 products summed in pairs: pmaddubsw on
 *   x86) and `i32x4.extadd_pairwise_i16x8_s`. Its second operand must be 7-bit (0…127), so this
 *   path runs only when A (activations after ReLU, or pixels) has no negative value. The fused
 *   `i32x4.relaxed_dot_i8x16_i7x16_add_s` would save two instructions, but Node 20's V8 (11.3)
 *   returned wrong sums from it for some of the eight accumulators (two of four columns), so it
 *   is not used;
 * - plain SIMD: each operand sign-extended to i16x8 (`i16x8.extend_low/high_i8x16_s`) and
 *   `i32x4.dot_i16x8_s`, 8 products per instruction.
 * Integer sums are exact, so every path, thread count and tile gives the reference's integers.
 */
import { ModuleBuilder, type FunctionBuilder, type Local } from '../backend/wasm/emitter.js';
import { numThreads } from '../backend/wasm/kernel_runtime.js';
import { ThreadPool } from '../backend/wasm/thread_pool.js';
import {
  bestSimdLevel,
  canBlock,
  hasSharedMemory,
  hasWebAssembly,
  simdLevelSupported,
} from '../backend/wasm/platform.js';
import { CTL } from '../backend/wasm/control_block.js';

const PAGE = 65536;
const MAX_PAGES = 32768; // 2 GiB
/** Bytes 0…1023: the thread pool's control block; 1024…: this kernel's job parameters. */
const PARAMS = 1024;
const P = { A: 0, B: 1, C: 2, MPAD: 3, NPAD: 4, KP: 5, RPT: 6, NB: 7 } as const;
const DATA_START = 4096;
const MR = 2;
const NR = 4;
/** k per step of the micro-kernel (one v128 of int8). */
const KSTEP = 16;

export type Int8Variant = 'relaxed' | 'simd';

/** SIMD opcodes the float kernels' emitter does not have (prefix 0xfd, LEB128 opcode). */
function simd(f: FunctionBuilder, opcode: number, lane?: number): void {
  f.code.push(0xfd);
  let v = opcode;
  do {
    let byte = v & 0x7f;
    v >>>= 7;
    if (v !== 0) byte |= 0x80;
    f.code.push(byte);
  } while (v !== 0);
  if (lane !== undefined) f.code.push(lane);
}
const I32X4_EXTRACT_LANE = 0x1b;
const I16X8_EXTEND_LOW_I8X16_S = 0x87;
const I16X8_EXTEND_HIGH_I8X16_S = 0x88;
const I32X4_DOT_I16X8_S = 0xba;
const I16X8_RELAXED_DOT_I8X16_I7X16_S = 0x112;
const I32X4_EXTADD_PAIRWISE_I16X8_S = 0x7e;

function param(f: FunctionBuilder, which: number): FunctionBuilder {
  return f.i32_const(PARAMS + 4 * which).i32_load();
}

/** The module: `run_task(thread, index)` computes rows [index·RPT, …) of the padded C. */
export function buildInt8GemmModule(
  variant: Int8Variant,
  shared: boolean,
): Uint8Array<ArrayBuffer> {
  const m = new ModuleBuilder({
    module: 'env',
    name: 'memory',
    initialPages: 1,
    maximumPages: MAX_PAGES,
    shared,
  });
  const f = m.func('run_task', ['i32', 'i32'], []);
  const index = f.param(1);
  const [a, b, c, npad, kp, i, iEnd, j, t, i0, jb, jEnd] = Array.from({ length: 12 }, () =>
    f.local('i32'),
  );
  const pa = [f.local('i32'), f.local('i32')];
  const pb = Array.from({ length: NR }, () => f.local('i32'));
  const acc: Local[][] = Array.from({ length: MR }, () =>
    Array.from({ length: NR }, () => f.local('v128')),
  );
  const av = Array.from({ length: MR * 2 }, () => f.local('v128'));
  const bv = [f.local('v128'), f.local('v128'), f.local('v128')];
  param(f, P.A).set(a);
  param(f, P.B).set(b);
  param(f, P.C).set(c);
  param(f, P.NPAD).set(npad);
  param(f, P.KP).set(kp);
  // Rows [index·RPT, min((index + 1)·RPT, MPAD)).
  f.get(index);
  param(f, P.RPT).i32_mul().tee(i);
  param(f, P.RPT).i32_add().set(iEnd);
  f.get(iEnd);
  param(f, P.MPAD);
  f.get(iEnd);
  param(f, P.MPAD).i32_lt_s().select().set(iEnd);
  f.get(i).set(i0);
  // Blocks of NB rows of B (columns of C), each swept by all this task's rows of A while it is
  // in cache: without them each pair of A's rows read all of B (1 MB at n = 1024) from L3.
  f.i32_const(0).set(jb);
  f.block(() =>
    f.loop(() => {
      f.get(jb).get(npad).i32_ge_s().br_if(1);
      // jEnd = min(jb + NB, NPAD)
      f.get(jb);
      param(f, P.NB).i32_add().tee(jEnd);
      f.get(npad);
      f.get(jEnd).get(npad).i32_lt_s().select().set(jEnd);
      f.get(i0).set(i);
      rowPairs();
      f.get(jEnd).set(jb).br(0);
    }),
  );
  return m.encode();

  /** Rows [i, iEnd) of A in pairs against rows [jb, jEnd) of B. */
  function rowPairs(): void {
    f.block(() =>
      f.loop(() => {
        f.get(i).get(iEnd).i32_ge_s().br_if(1);
        // pa[r] = A + (i + r)·KP
        f.get(i).get(kp).i32_mul().get(a).i32_add().tee(pa[0]).get(kp).i32_add().set(pa[1]);
        f.for_(
          j,
          () => f.get(jb),
          () => f.get(jEnd),
          NR,
          () => {
            f.get(j).get(kp).i32_mul().get(b).i32_add().set(pb[0]);
            for (let q = 1; q < NR; q++)
              f.get(pb[q - 1])
                .get(kp)
                .i32_add()
                .set(pb[q]);
            for (const row of acc) for (const x of row) f.v128_const_zero().set(x);
            f.for_(
              t,
              () => f.i32_const(0),
              () => f.get(kp),
              KSTEP,
              () => microStep(),
            );
            storeTile();
          },
        );
        f.get(i).i32_const(MR).i32_add().set(i).br(0);
      }),
    );
  }

  /** 16 values of k: two rows of A against four rows of B. */
  function microStep(): void {
    if (variant === 'relaxed') {
      for (let r = 0; r < MR; r++) f.get(pa[r]).get(t).i32_add().v128_load().set(av[r]);
      for (let q = 0; q < NR; q++) {
        f.get(pb[q]).get(t).i32_add().v128_load().set(bv[0]);
        for (let r = 0; r < MR; r++) {
          // (signed B, 7-bit A): pairs summed to i16, then pairs of those added to i32.
          f.get(acc[r][q]).get(bv[0]).get(av[r]);
          simd(f, I16X8_RELAXED_DOT_I8X16_I7X16_S);
          simd(f, I32X4_EXTADD_PAIRWISE_I16X8_S);
          f.i32x4_add().set(acc[r][q]);
        }
      }
      return;
    }
    for (let r = 0; r < MR; r++) {
      f.get(pa[r]).get(t).i32_add().v128_load().set(bv[2]);
      f.get(bv[2]);
      simd(f, I16X8_EXTEND_LOW_I8X16_S);
      f.set(av[2 * r]);
      f.get(bv[2]);
      simd(f, I16X8_EXTEND_HIGH_I8X16_S);
      f.set(av[2 * r + 1]);
    }
    for (let q = 0; q < NR; q++) {
      f.get(pb[q]).get(t).i32_add().v128_load().set(bv[2]);
      f.get(bv[2]);
      simd(f, I16X8_EXTEND_LOW_I8X16_S);
      f.set(bv[0]);
      f.get(bv[2]);
      simd(f, I16X8_EXTEND_HIGH_I8X16_S);
      f.set(bv[1]);
      for (let r = 0; r < MR; r++) {
        f.get(acc[r][q])
          .get(av[2 * r])
          .get(bv[0]);
        simd(f, I32X4_DOT_I16X8_S);
        f.i32x4_add()
          .get(av[2 * r + 1])
          .get(bv[1]);
        simd(f, I32X4_DOT_I16X8_S);
        f.i32x4_add().set(acc[r][q]);
      }
    }
  }

  /** C[i + r, j + q] = the four lanes of acc[r][q] summed. */
  function storeTile(): void {
    for (let r = 0; r < MR; r++) {
      for (let q = 0; q < NR; q++) {
        // address: C + ((i + r)·NPAD + j + q)·4
        f.get(i).i32_const(r).i32_add().get(npad).i32_mul().get(j).i32_add().i32_const(q).i32_add();
        f.i32_const(4).i32_mul();
        f.get(c).i32_add();
        for (let lane = 0; lane < 4; lane++) {
          f.get(acc[r][q]);
          simd(f, I32X4_EXTRACT_LANE, lane);
          if (lane > 0) f.i32_add();
        }
        f.i32_store();
      }
    }
  }
}

interface Int8Runtime {
  variant: Int8Variant;
  memory: WebAssembly.Memory;
  module: WebAssembly.Module;
  runTask: (thread: number, index: number) => void;
  pool: ThreadPool | null;
  shared: boolean;
}

const runtimes = new Map<Int8Variant, Int8Runtime | null>();

function runtimeFor(variant: Int8Variant): Int8Runtime | null {
  if (runtimes.has(variant)) return runtimes.get(variant)!;
  let rt: Int8Runtime | null = null;
  if (hasWebAssembly && simdLevelSupported(variant)) {
    try {
      const shared = hasSharedMemory;
      const memory = new WebAssembly.Memory({
        initial: 1,
        maximum: MAX_PAGES,
        shared,
      } as WebAssembly.MemoryDescriptor);
      const module = new WebAssembly.Module(buildInt8GemmModule(variant, shared));
      const instance = new WebAssembly.Instance(module, { env: { memory } });
      const runTask = instance.exports.run_task as (thread: number, index: number) => void;
      rt = { variant, memory, module, runTask, pool: null, shared };
    } catch {
      rt = null;
    }
  }
  runtimes.set(variant, rt);
  return rt;
}

/**
 * Bytes of B swept by a task's rows of A at a time: in L2 beside those rows (Zen 5 and recent
 * Intel cores have 1–2 MB of L2; 128 KB leaves room on older 256 KB ones).
 */
const B_BLOCK_BYTES = 128 * 1024;

/** Below this many multiply-adds a product stays on the calling thread. */
const PARALLEL_MIN_WORK = 1 << 20;

let forced: Int8Variant | 'reference' | null = null;

/** Forces a kernel path (tests compare them); null: the best the engine has. */
export function setInt8Kernel(kind: Int8Variant | 'reference' | null): void {
  forced = kind;
}

/** Which path a product with an operand A of this sign takes. */
export function int8KernelFor(aNonNegative: boolean): Int8Variant | 'reference' {
  if (forced === 'reference') return 'reference';
  const relaxedOk = aNonNegative && (forced ?? bestSimdLevel) === 'relaxed';
  if (relaxedOk && runtimeFor('relaxed')) return 'relaxed';
  if (forced !== 'relaxed' && runtimeFor('simd')) return 'simd';
  if (forced === 'relaxed' && runtimeFor('simd')) return 'simd';
  return 'reference';
}

/** Whether no value of `x` is negative: the sign bits of four values per 32-bit word at a time. */
function allNonNegative(x: Int8Array): boolean {
  const head = Math.min(x.length, (4 - (x.byteOffset & 3)) & 3);
  for (let i = 0; i < head; i++) if (x[i] < 0) return false;
  const words = (x.length - head) >> 2;
  const w = new Int32Array(x.buffer, x.byteOffset + head, words);
  let signs = 0;
  for (let i = 0; i < words; i++) signs |= w[i];
  if ((signs & 0x80808080) !== 0) return false;
  for (let i = head + 4 * words; i < x.length; i++) if (x[i] < 0) return false;
  return true;
}

/** Copies [rows, k] into [rowsPad, kp] at `offset`, zero-padded. */
function pack(
  dst: Int8Array,
  offset: number,
  src: Int8Array,
  rows: number,
  rowsPad: number,
  k: number,
  kp: number,
): void {
  if (k === kp) dst.set(src, offset);
  else for (let r = 0; r < rows; r++) dst.set(src.subarray(r * k, (r + 1) * k), offset + r * kp);
  if (k !== kp)
    for (let r = 0; r < rows; r++) dst.fill(0, offset + r * kp + k, offset + (r + 1) * kp);
  dst.fill(0, offset + rows * kp, offset + rowsPad * kp);
}

/**
 * C = A · Bᵀ on the WebAssembly kernel, or null where there is none (the caller then runs the
 * reference loops).
 */
export function matmulNTWasm(
  a: Int8Array,
  b: Int8Array,
  m: number,
  n: number,
  k: number,
): Int32Array | null {
  const kind = int8KernelFor(allNonNegative(a));
  if (kind === 'reference' || m === 0 || n === 0)
    return kind === 'reference' ? null : new Int32Array(m * n);
  const rt = runtimeFor(kind)!;
  const kp = Math.max(KSTEP, Math.ceil(k / KSTEP) * KSTEP);
  const mpad = Math.ceil(m / MR) * MR;
  const npad = Math.ceil(n / NR) * NR;
  const aBytes = mpad * kp;
  const bBytes = npad * kp;
  const aPtr = DATA_START;
  const bPtr = aPtr + aBytes;
  const cPtr = (bPtr + bBytes + 15) & ~15;
  const end = cPtr + mpad * npad * 4;
  const have = rt.memory.buffer.byteLength;
  if (end > have) {
    const pages = Math.ceil((end - have) / PAGE);
    if (have / PAGE + pages > MAX_PAGES) return null;
    rt.memory.grow(pages);
  }
  const bytes = new Int8Array(rt.memory.buffer);
  pack(bytes, aPtr, a, m, mpad, k, kp);
  pack(bytes, bPtr, b, n, npad, k, kp);
  const words = new Int32Array(rt.memory.buffer, PARAMS, 8);
  const threads = rt.shared && canBlock ? numThreads() : 1;
  const work = m * n * k;
  // Row blocks: a few per thread for balance, each a multiple of the tile height.
  const blocks = threads > 1 && work >= PARALLEL_MIN_WORK ? Math.min(mpad / MR, threads * 4) : 1;
  const rpt = Math.ceil(mpad / MR / blocks) * MR;
  const tasks = Math.ceil(mpad / rpt);
  words[P.A] = aPtr;
  words[P.B] = bPtr;
  words[P.C] = cPtr;
  words[P.MPAD] = mpad;
  words[P.NPAD] = npad;
  words[P.KP] = kp;
  words[P.RPT] = rpt;
  words[P.NB] = Math.min(npad, Math.max(NR, Math.floor(B_BLOCK_BYTES / kp / NR) * NR));
  if (tasks > 1) {
    if (!rt.pool) rt.pool = ThreadPool.start(rt.module, rt.memory, threads - 1);
  }
  if (tasks > 1 && rt.pool) {
    new Int32Array(rt.memory.buffer, 0, 256)[CTL.BARRIER] = 0;
    rt.pool.run(tasks, rt.runTask);
  } else {
    for (let task = 0; task < tasks; task++) rt.runTask(0, task);
  }
  const cAll = new Int32Array(rt.memory.buffer, cPtr, mpad * npad);
  if (npad === n) return cAll.slice(0, m * n);
  const out = new Int32Array(m * n);
  for (let r = 0; r < m; r++) out.set(cAll.subarray(r * npad, r * npad + n), r * n);
  return out;
}
