/**
 * The kernel module's control block: the words every task reads its parameters from (at byte
 * address 0, or a KIND_EACH job's own block), the task kinds, and the emitter helpers that read
 * control words from generated code. Shared by the module's parts (gemm_module.ts,
 * gemm_pack_module.ts, window_module.ts, kernel_module.ts) and the TypeScript that writes jobs.
 */
import type { FunctionBuilder, Local } from './emitter.js';

/** Word indices (Int32) of the control block at byte address 0. */
export const CTL = {
  GEN: 0,
  CLAIM: 1,
  DONE: 2,
  NTASKS: 3,
  KIND: 4,
  READY: 5,
  BATCH: 8,
  M: 9,
  N: 10,
  K: 11,
  A_PTR: 12,
  A_SB: 13,
  A_SM: 14,
  A_SK: 15,
  B_PTR: 16,
  B_SB: 17,
  B_SK: 18,
  B_SN: 19,
  BP_PTR: 20,
  BP_SB: 21,
  C_PTR: 22,
  MC: 23,
  KC: 24,
  NC: 25,
  M_BLOCKS: 26,
  N_CHUNKS: 27,
  SCRATCH: 28,
  SCRATCH_STRIDE: 29,
  K_BLOCKS: 30,
  NPAD: 31,
  // im2col / col2im tasks (channel-major columns [C·kh·kw, N·L], images [N, C, H, W] contiguous).
  IC_IMAGE: 32,
  IC_COLS: 33,
  IC_N: 34,
  IC_C: 35,
  IC_H: 36,
  IC_W: 37,
  IC_KH: 38,
  IC_KW: 39,
  IC_SY: 40,
  IC_SX: 41,
  IC_PY: 42,
  IC_PX: 43,
  IC_DY: 44,
  IC_DX: 45,
  IC_OUTH: 46,
  IC_OUTW: 47,
  /** Images per task. */
  IC_NB: 48,
  /** Address of the valid output ranges: [y0, y1) per ki, then [x0, x1) per kj (i32 pairs). */
  IC_RANGES: 49,
  /** im2col: nonzero when windows reach into the padding (each task zeroes its rows first). */
  IC_ZERO: 50,
  /** maxpool: address of the int32 indices (IC_IMAGE: the input planes, IC_COLS: the values). */
  MP_INDICES: 51,
  /** maxpool: nonzero for 2×2 windows, stride 2, no padding or dilation, inside the image. */
  MP_2X2: 52,
  /**
   * compute: where C starts: 0 at zero, C_FROM_C from what C holds, C_FROM_BIAS from the row of N
   * values at BIAS_PTR (a linear layer's bias) in every row.
   */
  C_INIT: 53,
  // Elementwise tasks (elementwise_module.ts): kernel id, units (elements, rows or columns) split
  // in chunks of EW_CHUNK, one per task; EW_BAD set by a scatter that met a bad index.
  EW_FN: 54,
  EW_UNITS: 55,
  EW_CHUNK: 56,
  EW_BAD: 57,
  EW_P0: 58,
  EW_P1: 59,
  EW_P2: 60,
  EW_P3: 61,
  EW_P4: 62,
  EW_P5: 63,
  /** Tasks run by each thread (thread 0 is the caller), for tests and diagnostics. */
  TASKS_BY_THREAD: 64,
  // A matmul job (KIND_GEMM): tasks [0, PACK_B_TASKS) pack B, [PACK_B_TASKS, BARRIER) pack A,
  // [BARRIER, NTASKS) compute; the thread pool starts no compute task before all packing is done.
  BARRIER: 136,
  PACK_B_TASKS: 137,
  /** Pack B: column ranges per K block, and columns per range (a multiple of NR). */
  B_CHUNKS: 138,
  B_CHUNK_COLS: 139,
  /** Packed A: base address, and bytes per (batch, M block, K block) block. */
  AP_PTR: 140,
  AP_BLOCK: 141,
  BIAS_PTR: 142,
  /**
   * A matmul job's first SIDE_TASKS tasks are independent jobs listed in EACH_JOBS (a bias sum
   * beside a weight gradient), run in its packing phase; its own tasks follow (BARRIER counts both).
   */
  SIDE_TASKS: 143,
  /**
   * A job of independent jobs (KIND_EACH): task i runs job i whole, on one thread, with the
   * control words read from the block at address EACH_JOBS[2i] (its task count at EACH_JOBS[2i + 1]).
   */
  EACH_JOBS: 144,
  /** Elements from one row of C to the next (N, or more when C is a column range of a wider C). */
  C_SM: 160,
  /**
   * A matmul job whose tasks are whole batch entries (nonzero): task p packs B's blocks of entry
   * p and computes its C blocks, all on one thread (gemm.ts `wholeEntries`); no packing phase.
   */
  WHOLE_ENTRIES: 161,
} as const;

/** Jobs one KIND_EACH job can hold. */
export const MAX_EACH_JOBS = 8;

/** CTL.C_INIT values (0: C starts at zero). */
export const C_FROM_C = 1;

export const C_FROM_BIAS = 2;

/** Writes control words by name, e.g. `setControls(rt.ctl, { M: m, N: n })`. */
export function setControls(
  ctl: Int32Array,
  words: Partial<Record<keyof typeof CTL, number>>,
): void {
  // for-in, not Object.entries: no arrays per call (a matmul sets ~30 words, ~1 µs that way).
  for (const name in words) ctl[CTL[name as keyof typeof CTL]] = words[name as keyof typeof CTL]!;
}

export const MAX_THREADS = 64;

/** Bytes reserved for the control block. */
export const CONTROL_BYTES = 1024;

/** A matmul: pack B, pack A, then compute (tasks split by CTL.PACK_B_TASKS and CTL.BARRIER). */
export const KIND_GEMM = 0;

export const KIND_ELEMENTWISE = 5;

export const KIND_IM2COL = 1;

export const KIND_COL2IM = 2;

export const KIND_MAXPOOL = 3;

export const KIND_EACH = 6;

/** word address of control word `w` */
export const at = (w: number) => w * 4;

/**
 * The global that holds the control block's address: 0, or a KIND_EACH job's own block while a
 * thread runs it (globals are per instance, so per thread). Every control word is read from it.
 */
export const CTL_BASE = 0;

/** dst = min(a, b) for i32 locals/expressions. */
export function min(f: FunctionBuilder, a: () => void, b: () => void, dst: Local): void {
  a();
  b();
  a();
  b();
  f.i32_lt_s().select().set(dst);
}

export function loadCtl(f: FunctionBuilder, word: number, dst: Local): void {
  f.i32_load_from(CTL_BASE, at(word)).set(dst);
}
