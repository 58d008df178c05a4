/**
 * One LSTM / GRU step's gate math on the generated SIMD kernels (rnn_gate_module.ts), forward
 * and backward, for float32 arrays in arena storage: the fast path of the fused recurrent op
 * (autograd/ops/rnn_sequence.ts), which falls back to the plain loops of ../cpu/rnn_kernels.ts
 * (same layouts) when these return false: other dtypes or storage, padded batches (`running`),
 * the Elman RNN, or a hidden size that is not a multiple of 4. A step's rows are split over the
 * threads when it is large.
 */
import type {
  Floats,
  RecurrentKernelMode,
  StepArrays,
  StepGradArrays,
} from '../cpu/rnn_kernels.js';
import { runKernel, runtime } from './elementwise.js';
import { EW } from './elementwise_module.js';
import type { GemmRuntime } from './kernel_runtime.js';
import { RNN_MODE, RNN_PARAMS } from './rnn_gate_module.js';

type Params = Partial<Record<(typeof RNN_PARAMS)[number], number>>;

/** The runtime when the kernels take a step of this mode and layout, else null. */
function runtimeFor(mode: RecurrentKernelMode, s: StepArrays): GemmRuntime | null {
  if ((mode !== 'LSTM' && mode !== 'GRU') || s.running !== null || s.h % 4 !== 0) return null;
  return runtime();
}

/** Byte address of element `offset` of a float32 array in arena storage, or -1. */
function address(rt: GemmRuntime, a: Floats | null, offset: number): number {
  if (!(a instanceof Float32Array) || !rt.arena.contains(a)) return -1;
  return a.byteOffset + offset * 4;
}

/** Runs kernel `fn` over the step's rows with `params`; false when an address is missing. */
function run(
  rt: GemmRuntime,
  fn: number,
  mode: RecurrentKernelMode,
  s: StepArrays,
  params: Params,
  bytesPerUnit: number,
): boolean {
  if (Object.values(params).some((v) => v! < 0)) return false;
  return rt.arena.withTemporaries((take) => {
    const prm = take(RNN_PARAMS.length * 4);
    if (prm === 0) return false;
    const words = new Int32Array(rt.heap().buffer, prm, RNN_PARAMS.length);
    RNN_PARAMS.forEach((name, i) => (words[i] = params[name] ?? 0));
    const units = s.n * s.h;
    runKernel(fn, s.n, [prm, RNN_MODE[mode as 'LSTM' | 'GRU']], units * bytesPerUnit);
    return true;
  });
}

/** The parameters both directions read: the step's inputs and state. */
function stepParams(rt: GemmRuntime, s: StepArrays): Params {
  return {
    proj: address(rt, s.proj, s.projOff),
    prev: address(rt, s.prev, s.prevOff),
    prevRowBytes: s.prevStride * 4,
    cPrev: s.cPrev === null ? 0 : address(rt, s.cPrev, s.cPrevOff),
    cPrevRowBytes: s.cPrevStride * 4,
    y: address(rt, s.y, s.yOff),
    act: address(rt, s.act, s.actOff),
    hBytes: s.h * 4,
  };
}

/**
 * The forward step of ../cpu/rnn_kernels.ts recurrentStepForward on the SIMD kernels: true when
 * it ran, false when the caller must run the loops.
 */
export function recurrentStepForwardWasm(
  mode: RecurrentKernelMode,
  s: StepArrays,
  hp: Floats,
): boolean {
  const rt = runtimeFor(mode, s);
  if (!rt) return false;
  const params = { ...stepParams(rt, s), hp: address(rt, hp, 0) };
  return run(rt, EW.RNN_GATES_FORWARD, mode, s, params, 64);
}

/** The backward step of recurrentStepBackward on the SIMD kernels, or false (as above). */
export function recurrentStepBackwardWasm(
  mode: RecurrentKernelMode,
  s: StepArrays,
  d: StepGradArrays,
): boolean {
  const rt = runtimeFor(mode, s);
  if (!rt) return false;
  // The LSTM kernel writes dProj only: the op passes one array for both.
  if (mode === 'LSTM' && (d.dProj !== d.dHp || d.dProjOff !== d.dHpOff)) return false;
  const params = {
    ...stepParams(rt, s),
    dy: address(rt, d.dy, d.dyOff),
    dhNext: d.dhNext === null ? 0 : address(rt, d.dhNext, 0),
    dhCarry: address(rt, d.dhCarry, 0),
    dcCarry: d.dcCarry === null ? 0 : address(rt, d.dcCarry, 0),
    dProj: address(rt, d.dProj, d.dProjOff),
    dHp: address(rt, d.dHp, d.dHpOff),
  };
  return run(rt, EW.RNN_GATES_BACKWARD, mode, s, params, 96);
}
