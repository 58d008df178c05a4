/**
 * The elementwise gate math of one recurrent step, forward and backward, as plain loops over
 * typed arrays (float32 or float64): everything of an LSTM / GRU / Elman step except the
 * h·W_hhᵀ product, which the caller runs as a matmul. One call per step replaces the dozen small
 * tensor ops (chunks, sigmoids, products, sums) that the composed step costs, and their
 * intermediate tensors.
 *
 * Layouts (all row-major, N rows per step, G gates of H units, PyTorch's gate order):
 * - proj, hp: the step's x·W_ihᵀ + b_ih and h·W_hhᵀ + b_hh, [N, G·H];
 * - y: the step's state [N, W]: h (LSTM: then c, W = 2H; else W = H);
 * - act: what backward needs, [N, 4H]: LSTM σ(i), σ(f), tanh(g), σ(o); GRU r, z, n, h_n;
 *   unused (the state itself suffices) for the Elman RNN;
 * - prev: the previous state, rows of stride `prevStride` (h at 0, LSTM's c at H).
 * Rows of a sequence that has ended (`running` false) carry their state over unchanged.
 */
export type Floats = Float32Array | Float64Array;
export type RecurrentKernelMode = 'LSTM' | 'GRU' | 'RNN_TANH' | 'RNN_RELU';

export interface StepArrays {
  n: number;
  h: number;
  proj: Floats;
  projOff: number;
  y: Floats;
  yOff: number;
  act: Floats | null;
  actOff: number;
  prev: Floats;
  prevOff: number;
  prevStride: number;
  /** LSTM: the previous cell state (may be another array than prev, for c0). */
  cPrev: Floats | null;
  cPrevOff: number;
  cPrevStride: number;
  /** Per row: whether the sequence is still running at this step (null: all are). */
  running: Uint8Array | null;
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/** One forward step: reads proj, hp (contiguous [N, G·H]) and prev; writes y and act. */
export function recurrentStepForward(mode: RecurrentKernelMode, s: StepArrays, hp: Floats): void {
  const { n, h, proj, y, act, prev, cPrev, running } = s;
  const g = mode === 'LSTM' ? 4 : mode === 'GRU' ? 3 : 1;
  const w = mode === 'LSTM' ? 2 * h : h;
  for (let r = 0; r < n; r++) {
    const p = s.projOff + r * g * h;
    const q = r * g * h;
    const o = s.yOff + r * w;
    const a = s.actOff + r * 4 * h;
    const hp0 = s.prevOff + r * s.prevStride;
    if (running !== null && running[r] === 0) {
      for (let j = 0; j < h; j++) y[o + j] = prev[hp0 + j];
      if (mode === 'LSTM') {
        const c0 = s.cPrevOff + r * s.cPrevStride;
        for (let j = 0; j < h; j++) y[o + h + j] = cPrev![c0 + j];
      }
      continue;
    }
    if (mode === 'LSTM') {
      const c0 = s.cPrevOff + r * s.cPrevStride;
      for (let j = 0; j < h; j++) {
        const i = sigmoid(proj[p + j] + hp[q + j]);
        const f = sigmoid(proj[p + h + j] + hp[q + h + j]);
        const gg = Math.tanh(proj[p + 2 * h + j] + hp[q + 2 * h + j]);
        const og = sigmoid(proj[p + 3 * h + j] + hp[q + 3 * h + j]);
        act![a + j] = i;
        act![a + h + j] = f;
        act![a + 2 * h + j] = gg;
        act![a + 3 * h + j] = og;
        y[o + h + j] = f * cPrev![c0 + j] + i * gg;
        // tanh of the rounded c, as the composed ops compute it.
        y[o + j] = og * Math.tanh(y[o + h + j]);
      }
    } else if (mode === 'GRU') {
      for (let j = 0; j < h; j++) {
        const rg = sigmoid(proj[p + j] + hp[q + j]);
        const z = sigmoid(proj[p + h + j] + hp[q + h + j]);
        const hn = hp[q + 2 * h + j];
        const nn = Math.tanh(proj[p + 2 * h + j] + rg * hn);
        act![a + j] = rg;
        act![a + h + j] = z;
        act![a + 2 * h + j] = nn;
        act![a + 3 * h + j] = hn;
        y[o + j] = nn + z * (prev[hp0 + j] - nn);
      }
    } else {
      const relu = mode === 'RNN_RELU';
      for (let j = 0; j < h; j++) {
        const pre = proj[p + j] + hp[q + j];
        y[o + j] = relu ? (pre > 0 ? pre : 0) : Math.tanh(pre);
      }
    }
  }
}

export interface StepGradArrays {
  /** The gradient of this step's state from outside (the layer's output, hN, cN), [N, W] rows. */
  dy: Floats;
  dyOff: number;
  /** The gradient reaching h through the next step's h·W_hhᵀ (contiguous [N, H]), or null. */
  dhNext: Floats | null;
  /** Gradients carried to the previous step directly (not through W_hh): dh, and LSTM's dc. */
  dhCarry: Floats;
  dcCarry: Floats | null;
  /** Outputs: the gradient of the step's input projection and of its h·W_hhᵀ + b_hh, [N, G·H]. */
  dProj: Floats;
  dProjOff: number;
  dHp: Floats;
  dHpOff: number;
}

/**
 * One backward step: from this step's state gradient (dy + dhNext + carried), writes the
 * gradients of its two projections and updates the carries to the previous step.
 */
export function recurrentStepBackward(
  mode: RecurrentKernelMode,
  s: StepArrays,
  d: StepGradArrays,
): void {
  const { n, h, y, act, prev, cPrev, running } = s;
  const { dy, dhNext, dhCarry, dcCarry, dProj, dHp } = d;
  const g = mode === 'LSTM' ? 4 : mode === 'GRU' ? 3 : 1;
  const w = mode === 'LSTM' ? 2 * h : h;
  for (let r = 0; r < n; r++) {
    const o = s.yOff + r * w;
    const a = s.actOff + r * 4 * h;
    const dyo = d.dyOff + r * w;
    const dp = d.dProjOff + r * g * h;
    const dq = d.dHpOff + r * g * h;
    const hp0 = s.prevOff + r * s.prevStride;
    const stopped = running !== null && running[r] === 0;
    for (let j = 0; j < h; j++) {
      const k = r * h + j;
      const dh = dy[dyo + j] + (dhNext === null ? 0 : dhNext[k]) + dhCarry[k];
      if (stopped) {
        dhCarry[k] = dh;
        if (mode === 'LSTM') dcCarry![k] += dy[dyo + h + j];
        for (let m = 0; m < g; m++) dProj[dp + m * h + j] = dHp[dq + m * h + j] = 0;
        continue;
      }
      if (mode === 'LSTM') {
        const i = act![a + j];
        const f = act![a + h + j];
        const gg = act![a + 2 * h + j];
        const og = act![a + 3 * h + j];
        const tc = Math.tanh(y[o + h + j]);
        const dc = dy[dyo + h + j] + dcCarry![k] + dh * og * (1 - tc * tc);
        const cp = cPrev![s.cPrevOff + r * s.cPrevStride + j];
        dProj[dp + j] = dc * gg * i * (1 - i);
        dProj[dp + h + j] = dc * cp * f * (1 - f);
        dProj[dp + 2 * h + j] = dc * i * (1 - gg * gg);
        dProj[dp + 3 * h + j] = dh * tc * og * (1 - og);
        dcCarry![k] = dc * f;
        dhCarry[k] = 0;
      } else if (mode === 'GRU') {
        const rg = act![a + j];
        const z = act![a + h + j];
        const nn = act![a + 2 * h + j];
        const hn = act![a + 3 * h + j];
        const dpn = dh * (1 - z) * (1 - nn * nn);
        const dpr = dpn * hn * rg * (1 - rg);
        const dpz = dh * (prev[hp0 + j] - nn) * z * (1 - z);
        dProj[dp + j] = dHp[dq + j] = dpr;
        dProj[dp + h + j] = dHp[dq + h + j] = dpz;
        dProj[dp + 2 * h + j] = dpn;
        dHp[dq + 2 * h + j] = dpn * rg;
        dhCarry[k] = dh * z;
      } else {
        const out = y[o + j];
        const dpre = mode === 'RNN_RELU' ? (out > 0 ? dh : 0) : dh * (1 - out * out);
        dProj[dp + j] = dHp[dq + j] = dpre;
        dhCarry[k] = 0;
      }
    }
  }
}
