/**
 * A whole recurrent pass (one layer, one direction) as one autograd op, as cuDNN and PyTorch's
 * fused RNN kernels do it: given the input projection of every step (one big matmul, computed
 * by the caller), each step runs one h·W_hhᵀ matmul and one gate kernel (the SIMD one of
 * backend/wasm/rnn_step_kernels.ts where it applies, else the loops of backend/cpu/rnn_kernels.ts)
 * instead of a dozen small ops, and backward runs the steps in reverse with one matmul and one
 * kernel each, then takes W_hh's gradient for all steps in one matmul.
 *
 * The op's output packs the state after every step: Y [L, N, W] with h (LSTM: then c, W = 2H).
 * Its backward, when a graph of the gradient is wanted (createGraph), recomputes the pass with
 * the composed differentiable step ops and differentiates that, so higher derivatives work.
 * Storage the kernels cannot read (not a CPU float array) takes the composed path throughout.
 */
import type { Tensor } from '../../tensor/tensor.js';
import {
  recurrentStepBackward,
  recurrentStepForward,
  type Floats,
  type RecurrentKernelMode,
  type StepArrays,
} from '../../backend/cpu/rnn_kernels.js';
import {
  recurrentStepBackwardWasm,
  recurrentStepForwardWasm,
} from '../../backend/wasm/rnn_step_kernels.js';
import { grad } from '../backward.js';
import { fromStorage, record } from '../define.js';
import { enableGrad, isGradEnabled, noGrad } from '../grad_mode.js';
import { linearLayer } from './linalg.js';
import { lstmGates, gruGates } from './rnn_gates.js';
import { cat, stack } from './shape_ops.js';

export type SequenceMode = RecurrentKernelMode;

/** One pass: the projected inputs [L, N, G·H], the initial state and the recurrent weights. */
export interface SequenceInputs {
  mode: SequenceMode;
  proj: Tensor;
  h0: Tensor;
  /** LSTM only. */
  c0: Tensor | null;
  weightHh: Tensor;
  biasHh: Tensor | null;
  reverse: boolean;
  /** Per batch element, its length (steps past it carry the state over); null: all run L steps. */
  lengths: readonly number[] | null;
}

function isFloats(t: Tensor): boolean {
  const s = t.storage;
  return s instanceof Float32Array || s instanceof Float64Array;
}

function hProjOf(h: Tensor, w: Tensor, b: Tensor | null): Tensor {
  return b ? linearLayer(h, w, b) : h.matmul(w.t());
}

/**
 * The same pass composed of differentiable tensor ops, one step at a time (the reference, the
 * fallback for other storage, and what the createGraph backward differentiates).
 */
export function composedSequence(p: SequenceInputs): Tensor {
  const steps = p.proj.shape[0];
  const lengths = p.lengths;
  const masks =
    lengths === null
      ? null
      : Array.from({ length: steps }, (_, t) =>
          column(
            lengths.map((v) => (t < v ? 1 : 0)),
            p.proj,
          ).gt(0),
        );
  const ys = new Array<Tensor>(steps);
  let h = p.h0;
  let c = p.c0;
  for (let s = 0; s < steps; s++) {
    const t = p.reverse ? steps - 1 - s : s;
    const xProj = p.proj.select(0, t);
    const hProj = hProjOf(h, p.weightHh, p.biasHh);
    let h1: Tensor;
    let c1: Tensor | null = null;
    if (p.mode === 'LSTM') [h1, c1] = lstmGates(xProj, hProj, c!);
    else if (p.mode === 'GRU') h1 = gruGates(xProj, hProj, h);
    else h1 = p.mode === 'RNN_TANH' ? xProj.add(hProj).tanh() : xProj.add(hProj).relu();
    if (masks) {
      h1 = h1.where(masks[t], h);
      if (c1) c1 = c1.where(masks[t], c!);
    }
    h = h1;
    c = c1;
    ys[t] = c1 ? cat([h1, c1], 1) : h1;
  }
  return stack(ys, 0);
}

/** Zero-filled storage of `shape` beside `like` (the backend's own allocation: no copy). */
function blank(shape: number[], like: Tensor): Tensor {
  const size = shape.reduce((a, b) => a * b, 1);
  return fromStorage(like.backend.allocate(like.dtype, size), shape, like.dtype, like);
}

/** A [N, 1] column of `values` beside `like`. */
function column(values: number[], like: Tensor): Tensor {
  return fromStorage(
    like.backend.fromValues(like.dtype, values),
    [values.length, 1],
    like.dtype,
    like,
  );
}

/** Per step, which rows still run (null when all do). */
function runningRows(lengths: readonly number[] | null, steps: number): (Uint8Array | null)[] {
  return Array.from({ length: steps }, (_, t) =>
    lengths === null ? null : Uint8Array.from(lengths, (v) => (t < v ? 1 : 0)),
  );
}

/**
 * Runs the pass: Y [L, N, W] (W = 2H for LSTM: h then c; H otherwise), differentiable with
 * respect to proj, h0, c0, weightHh and biasHh.
 * @example
 * const y = recurrentSequence({ mode: 'LSTM', proj, h0, c0, weightHh, biasHh, reverse: false, lengths: null });
 */
export function recurrentSequence(p: SequenceInputs): Tensor {
  const { mode, reverse } = p;
  const parts = [
    p.proj,
    p.h0,
    p.weightHh,
    ...(p.c0 ? [p.c0] : []),
    ...(p.biasHh ? [p.biasHh] : []),
  ];
  if (!parts.every(isFloats)) return composedSequence(p);
  const [steps, n] = p.proj.shape;
  const h = p.h0.shape[1];
  const w = mode === 'LSTM' ? 2 * h : h;
  const usesAct = mode === 'LSTM' || mode === 'GRU';
  const running = runningRows(p.lengths, steps);
  const { y, act, proj, h0, c0 } = noGrad(() => {
    const out = {
      y: blank([steps, n, w], p.proj),
      act: usesAct ? blank([steps, n, 4 * h], p.proj) : null,
      proj: p.proj.contiguous(),
      h0: p.h0.contiguous(),
      c0: p.c0?.contiguous() ?? null,
    };
    let prev: Tensor = out.h0;
    for (let s = 0; s < steps; s++) {
      const t = reverse ? steps - 1 - s : s;
      const hp = hProjOf(prev, p.weightHh, p.biasHh).contiguous();
      const arrays = stepArrays(out, t, s === 0, n, h, w, running[t], reverse);
      const hpArray = hp.storage as Floats;
      if (!recurrentStepForwardWasm(mode, arrays, hpArray))
        recurrentStepForward(mode, arrays, hpArray);
      prev = out.y.select(0, t).narrow(1, 0, h);
    }
    return out;
  });
  const saved = [y, proj, h0, p.weightHh, ...(c0 ? [c0] : [])];
  return record(
    `${mode}SequenceBackward`,
    y,
    [p.proj, p.h0, p.c0, p.weightHh, p.biasHh],
    saved,
    (g, _saved, needsGrad) => {
      if (isGradEnabled()) return differentiableBackward(p, g, needsGrad);
      return kernelBackward(
        { mode, reverse, y, act, proj, h0, c0, w: p.weightHh, running, hasBias: p.biasHh !== null },
        g,
      );
    },
    act ? [act] : [],
  );
}

interface Saved {
  y: Tensor;
  act: Tensor | null;
  proj: Tensor;
  h0: Tensor;
  c0: Tensor | null;
}

/** The kernel's view of step t (the s-th processed) of a pass. */
function stepArrays(
  v: Saved,
  t: number,
  first: boolean,
  n: number,
  h: number,
  w: number,
  running: Uint8Array | null,
  reverse: boolean,
): StepArrays {
  const y = v.y.storage as Floats;
  const tPrev = reverse ? t + 1 : t - 1;
  const gh = v.proj.shape[2];
  return {
    n,
    h,
    proj: v.proj.storage as Floats,
    projOff: v.proj.offset + t * n * gh,
    y,
    yOff: t * n * w,
    act: v.act ? (v.act.storage as Floats) : null,
    actOff: t * n * 4 * h,
    prev: first ? (v.h0.storage as Floats) : y,
    prevOff: first ? v.h0.offset : tPrev * n * w,
    prevStride: first ? h : w,
    cPrev: v.c0 ? (first ? (v.c0.storage as Floats) : y) : null,
    cPrevOff: v.c0 ? (first ? v.c0.offset : tPrev * n * w + h) : 0,
    cPrevStride: first ? h : w,
    running,
  };
}

/** Backward with the kernels: one matmul and one kernel call per step, W_hh's gradient at once. */
function kernelBackward(
  k: Saved & {
    mode: SequenceMode;
    reverse: boolean;
    w: Tensor;
    running: (Uint8Array | null)[];
    hasBias: boolean;
  },
  g: Tensor,
): (Tensor | null)[] {
  const { mode, reverse, y, proj, h0 } = k;
  const [steps, n, gh] = proj.shape;
  const h = h0.shape[1];
  const w = y.shape[2];
  const dy = g.contiguous();
  const dProj = blank([steps, n, gh], y);
  const dHp = mode === 'GRU' ? blank([steps, n, gh], y) : dProj;
  const dhCarry = blank([n, h], y);
  const dcCarry = mode === 'LSTM' ? blank([n, h], y) : null;
  let dhNext: Tensor | null = null;
  for (let s = steps - 1; s >= 0; s--) {
    const t = reverse ? steps - 1 - s : s;
    const arrays = stepArrays(k, t, s === 0, n, h, w, k.running[t], reverse);
    const grads = {
      dy: dy.storage as Floats,
      dyOff: dy.offset + t * n * w,
      dhNext: dhNext ? (dhNext.storage as Floats) : null,
      dhCarry: dhCarry.storage as Floats,
      dcCarry: dcCarry ? (dcCarry.storage as Floats) : null,
      dProj: dProj.storage as Floats,
      dProjOff: t * n * gh,
      dHp: dHp.storage as Floats,
      dHpOff: t * n * gh,
    };
    if (!recurrentStepBackwardWasm(mode, arrays, grads)) recurrentStepBackward(mode, arrays, grads);
    dhNext = dHp.select(0, t).matmul(k.w).contiguous();
  }
  const dh0 = dhNext ? dhNext.add(dhCarry) : dhCarry;
  // The state before each step, in step order: h0 then the states, shifted by the direction.
  const states = y.narrow(2, 0, h);
  const before =
    steps === 1
      ? h0.unsqueeze(0)
      : reverse
        ? cat([states.narrow(0, 1, steps - 1), h0.unsqueeze(0)], 0)
        : cat([h0.unsqueeze(0), states.narrow(0, 0, steps - 1)], 0);
  const rows = dHp.reshape([steps * n, gh]);
  const dW = rows.t().matmul(before.reshape([steps * n, h]));
  const dB = k.hasBias ? rows.sum(0) : null;
  return [dProj, dh0, dcCarry, dW, dB];
}

/** Backward that builds a graph: differentiate the composed pass recomputed from the inputs. */
function differentiableBackward(p: SequenceInputs, g: Tensor, needsGrad: readonly boolean[]) {
  const inputs = [p.proj, p.h0, p.c0, p.weightHh, p.biasHh];
  const wanted = inputs.map((t, i) => (t !== null && needsGrad[i] && t.requiresGrad ? t : null));
  const list = wanted.filter((t): t is Tensor => t !== null);
  if (list.length === 0) return inputs.map(() => null);
  const grads = enableGrad(() =>
    grad(composedSequence(p), list, { gradOutputs: [g], createGraph: true, allowUnused: true }),
  );
  let i = 0;
  return wanted.map((t) => (t === null ? null : grads[i++]));
}
