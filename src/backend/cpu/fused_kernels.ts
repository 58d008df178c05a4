/**
 * Fused kernels of the reference CPU backend: softmax / log-softmax, layer norm, batch-norm
 * statistics and normalization, NLL and the optimizer updates, each one pass (or two) over
 * memory where the same computation composed of primitives would walk and allocate the tensor
 * several times. Plain loops over TypedArrays; arithmetic in float64, rounded on store.
 *
 * The optimizer updates round every intermediate to the parameter's dtype exactly where the
 * composed update (one elementwise primitive per step) rounds, so both paths give the same bits.
 */
import type {
  AdamUpdateOptions,
  BatchNormStats,
  LayerNormResult,
  NllLossResult,
  SgdUpdateOptions,
  Storage,
  View,
} from '../backend.js';
import { allocateTypedArray, type DType, type TypedArray } from '../../tensor/dtype.js';
import { allocateStorage } from './storage.js';
import { isContiguous, shapeSize } from '../../tensor/shape.js';
import { elementOffsets, positionsOf } from './strided.js';

function dataOf(view: { storage: Storage }): TypedArray {
  return view.storage as TypedArray;
}

/** A view's elements in row-major order: its own storage (with offset) when contiguous, else a copy. */
export function contiguousData(x: View): { data: TypedArray; base: number } {
  const offsets = elementOffsets(x.shape, x.strides, x.offset);
  if (offsets === null) return { data: dataOf(x), base: x.offset };
  const src = dataOf(x);
  const out = allocateStorage(x.dtype, offsets.length);
  for (let i = 0; i < offsets.length; i++) out[i] = src[offsets[i]];
  return { data: out, base: 0 };
}

/** A small view (weights, per-channel values) read into a Float64Array, or null. */
export function readSmall(v: View | null): Float64Array | null {
  if (v === null) return null;
  const size = shapeSize(v.shape);
  const src = dataOf(v);
  const at = positionsOf(v);
  const out = new Float64Array(size);
  for (let i = 0; i < size; i++) out[i] = src[at(i)];
  return out;
}

const identity = (v: number) => v;

/** Rounds a float64 to the storage dtype: what a store into a Float32Array does. */
export function rounding(dtype: string): (v: number) => number {
  return dtype === 'float32' ? Math.fround : identity;
}

export function softmaxKernel(x: View, axis: number, log: boolean): Storage {
  const { outer, n, inner } = aroundAxis(x.shape, axis);
  const out = allocateStorage(x.dtype, outer * n * inner);
  const { data: src, base } = contiguousData(x);
  const exps = new Float64Array(n);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const start = o * n * inner + i;
      // Max of the row (NaN wins, as the max reduction).
      let m = -Infinity;
      for (let k = 0, p = base + start; k < n; k++, p += inner) {
        const v = src[p];
        if (v > m || v !== v) m = v;
      }
      const shift = m === Infinity || m === -Infinity ? 0 : m;
      let total = 0;
      for (let k = 0, p = base + start; k < n; k++, p += inner) {
        const e = Math.exp(src[p] - shift);
        exps[k] = e;
        total += e;
      }
      if (log) {
        const lse = Math.log(total) + shift;
        for (let k = 0, p = base + start, q = start; k < n; k++, p += inner, q += inner)
          out[q] = src[p] - lse;
      } else {
        for (let k = 0, q = start; k < n; k++, q += inner) out[q] = exps[k] / total;
      }
    }
  }
  return out;
}

/** The outer × n × inner layout of a shape around `axis` (softmax's rows are n elements `inner` apart). */
function aroundAxis(shape: readonly number[], axis: number) {
  let outer = 1;
  for (let d = 0; d < axis; d++) outer *= shape[d];
  let inner = 1;
  for (let d = axis + 1; d < shape.length; d++) inner *= shape[d];
  return { outer, n: shape[axis], inner };
}

export function softmaxBackwardKernel(
  grad: View,
  output: View,
  axis: number,
  log: boolean,
): Storage {
  const { outer, n, inner } = aroundAxis(output.shape, axis);
  const round = rounding(output.dtype);
  const out = allocateStorage(output.dtype, outer * n * inner);
  const { data: g, base: gBase } = contiguousData(grad);
  const { data: y, base: yBase } = contiguousData(output);
  // Every intermediate is stored in an array of the dtype, so it rounds where the composed ops
  // (exp, mul, sub) round their results (this measured faster inside a training step than
  // rounding each with Math.fround).
  const scratch = allocateTypedArray(output.dtype, n * inner);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const start = o * n * inner + i;
      const end = start + n * inner;
      // Σg (log-softmax) or Σ round(g·y) (softmax), in float64 along the axis, then rounded.
      let total = 0;
      if (log) {
        for (let q = start; q < end; q += inner) total += g[gBase + q];
        const sum = round(total);
        for (let q = start; q < end; q += inner) scratch[q - start] = Math.exp(y[yBase + q]);
        for (let q = start; q < end; q += inner) {
          scratch[q - start] *= sum;
          out[q] = g[gBase + q] - scratch[q - start];
        }
      } else {
        for (let q = start; q < end; q += inner) {
          scratch[q - start] = g[gBase + q] * y[yBase + q];
          total += scratch[q - start];
        }
        const sum = round(total);
        for (let q = start; q < end; q += inner) {
          scratch[q - start] = g[gBase + q] - sum;
          out[q] = y[yBase + q] * scratch[q - start];
        }
      }
    }
  }
  return out;
}

export function nllLossBackwardKernel(
  grad: View,
  target: View,
  weights: View,
  classes: number,
  ignoreIndex: number,
  reduction: 'none' | 'sum' | 'mean',
): Storage {
  const n = target.shape[0];
  const round = rounding(weights.dtype);
  const labels = dataOf(target);
  const atLabel = positionsOf(target);
  const { data: w, base: wBase } = contiguousData(weights);
  const g = readSmall(grad)!;
  let total = 0;
  if (reduction === 'mean') {
    for (let i = 0; i < n; i++) total += w[wBase + i];
    total = round(total);
  }
  const out = allocateStorage(weights.dtype, n * classes);
  for (let i = 0; i < n; i++) {
    const gi = g[reduction === 'none' ? i : 0];
    const wi = w[wBase + i];
    const scale = reduction !== 'mean' ? -wi : total === 0 ? 0 : round(-wi / total);
    const t = labels[atLabel(i)];
    const at = t === ignoreIndex ? 0 : t;
    // Zeros times the gradient (NaN for an infinite or NaN gradient, as the composed product):
    // the fresh storage holds +0 already, so only −0 and NaN rows are filled.
    const zero = round(0 * gi);
    if (zero !== 0 || 1 / zero < 0) out.fill(zero, i * classes, (i + 1) * classes);
    out[i * classes + at] = round(scale * gi);
  }
  return out;
}

export function layerNormKernel(
  x: View,
  size: number,
  weight: View | null,
  bias: View | null,
  eps: number,
): LayerNormResult {
  const total = shapeSize(x.shape);
  if (size <= 0) throw new RangeError(`layerNorm: normalizedSize must be positive, got ${size}`);
  const rows = total / size;
  const { data: src, base } = contiguousData(x);
  const out = allocateStorage(x.dtype, total);
  const means = allocateStorage(x.dtype, rows);
  const rstds = allocateStorage(x.dtype, rows);
  const w = readSmall(weight);
  const b = readSmall(bias);
  for (let r = 0; r < rows; r++) {
    const start = base + r * size;
    let s = 0;
    for (let j = 0; j < size; j++) s += src[start + j];
    const mean = s / size;
    let ss = 0;
    for (let j = 0; j < size; j++) {
      const d = src[start + j] - mean;
      ss += d * d;
    }
    const rstd = 1 / Math.sqrt(ss / size + eps);
    means[r] = mean;
    rstds[r] = rstd;
    const o = r * size;
    if (w && b)
      for (let j = 0; j < size; j++) out[o + j] = (src[start + j] - mean) * rstd * w[j] + b[j];
    else if (w) for (let j = 0; j < size; j++) out[o + j] = (src[start + j] - mean) * rstd * w[j];
    else if (b) for (let j = 0; j < size; j++) out[o + j] = (src[start + j] - mean) * rstd + b[j];
    else for (let j = 0; j < size; j++) out[o + j] = (src[start + j] - mean) * rstd;
  }
  return { output: out, mean: means, rstd: rstds };
}

/** [N, C, *] as (batch, channels, inner) sizes. */
function channelGeometry(x: View): { batch: number; channels: number; inner: number } {
  const [batch, channels] = x.shape;
  let inner = 1;
  for (let d = 2; d < x.shape.length; d++) inner *= x.shape[d];
  return { batch, channels, inner };
}

export function batchNormStatsKernel(x: View): BatchNormStats {
  const { batch, channels, inner } = channelGeometry(x);
  const { data: src, base } = contiguousData(x);
  const means = allocateStorage(x.dtype, channels);
  const variances = allocateStorage(x.dtype, channels);
  const count = batch * inner;
  for (let c = 0; c < channels; c++) {
    // Two passes per channel: the second reads what the first just brought into cache.
    let s = 0;
    for (let b = 0; b < batch; b++) {
      const start = base + (b * channels + c) * inner;
      for (let j = 0; j < inner; j++) s += src[start + j];
    }
    const mean = s / count;
    let ss = 0;
    for (let b = 0; b < batch; b++) {
      const start = base + (b * channels + c) * inner;
      for (let j = 0; j < inner; j++) {
        const d = src[start + j] - mean;
        ss += d * d;
      }
    }
    means[c] = mean;
    variances[c] = ss / count;
  }
  return { mean: means, variance: variances };
}

export function batchNormApplyKernel(
  x: View,
  mean: View,
  rstd: View,
  weight: View | null,
  bias: View | null,
): Storage {
  const { batch, channels, inner } = channelGeometry(x);
  const { data: src, base } = contiguousData(x);
  const out = allocateStorage(x.dtype, batch * channels * inner);
  const mu = readSmall(mean)!;
  const r = readSmall(rstd)!;
  const w = readSmall(weight);
  const bi = readSmall(bias);
  for (let b = 0; b < batch; b++) {
    for (let c = 0; c < channels; c++) {
      const m = mu[c];
      const scale = w ? r[c] * w[c] : r[c];
      const shift = bi ? bi[c] : 0;
      const o = (b * channels + c) * inner;
      const start = base + o;
      for (let j = 0; j < inner; j++) out[o + j] = (src[start + j] - m) * scale + shift;
    }
  }
  return out;
}

export function nllLossKernel(
  logProbs: View,
  target: View,
  weight: View | null,
  ignoreIndex: number,
): NllLossResult {
  const [n, classes] = logProbs.shape;
  const src = dataOf(logProbs);
  const [sn, sc] = logProbs.strides;
  const labels = dataOf(target);
  const atLabel = positionsOf(target);
  const w = readSmall(weight);
  const loss = allocateStorage(logProbs.dtype, n);
  const weights = allocateStorage(logProbs.dtype, n);
  for (let i = 0; i < n; i++) {
    const t = labels[atLabel(i)];
    if (t === ignoreIndex) continue;
    if (!(t >= 0 && t < classes)) {
      throw new RangeError(
        `nllLoss: target label ${t} is out of range for ${classes} classes (expected a class index in [0, ${classes}) or ignoreIndex ${ignoreIndex})`,
      );
    }
    const wt = w ? w[t] : 1;
    loss[i] = -(wt * src[logProbs.offset + i * sn + t * sc]);
    weights[i] = wt;
  }
  return { loss, weight: weights };
}

/**
 * Runs `body` on contiguous arrays for `views` (element i of view k at arrays[k][bases[k] + i]):
 * the views' own storage when all are contiguous, else row-major copies written back afterwards.
 */
function inPlaceContiguous(
  views: readonly (View | null)[],
  body: (arrays: (TypedArray | null)[], bases: number[], size: number) => void,
): void {
  const size = shapeSize(views[0]!.shape);
  if (views.every((v) => v === null || isContiguous(v.shape, v.strides))) {
    body(
      views.map((v) => (v ? dataOf(v) : null)),
      views.map((v) => (v ? v.offset : 0)),
      size,
    );
    return;
  }
  const copies = views.map((v) => (v ? contiguousData(v) : null));
  body(
    copies.map((c) => (c ? c.data : null)),
    copies.map((c) => (c ? c.base : 0)),
    size,
  );
  views.forEach((v, k) => {
    const copy = copies[k];
    if (!v || !copy || copy.data === dataOf(v)) return;
    const dst = dataOf(v);
    const at = positionsOf(v);
    for (let i = 0; i < size; i++) dst[at(i)] = copy.data[i];
  });
}

export function sgdUpdateKernel(
  param: View,
  grad: View,
  momentumBuffer: View | null,
  o: SgdUpdateOptions,
): void {
  const useMomentum = o.momentum !== 0 && momentumBuffer !== null;
  const R = rounding(param.dtype);
  const c: SgdConstants = {
    f32: param.dtype === 'float32',
    sign: o.maximize ? -1 : 1,
    decay: o.weightDecay !== 0,
    weightDecay: R(o.weightDecay),
    useMomentum,
    firstStep: o.firstStep,
    nesterov: o.nesterov,
    momentum: R(o.momentum),
    keep: R(1 - o.dampening),
    negLr: R(-o.lr),
  };
  inPlaceContiguous([param, grad, useMomentum ? momentumBuffer : null], (arrays, bases, size) => {
    const buf = arrays[2] ?? arrays[0]!;
    sgdLoop(arrays[0]!, bases[0], arrays[1]!, bases[1], buf, bases[2], size, c);
  });
}

interface SgdConstants {
  f32: boolean;
  sign: number;
  decay: boolean;
  weightDecay: number;
  useMomentum: boolean;
  firstStep: boolean;
  nesterov: boolean;
  momentum: number;
  keep: number;
  negLr: number;
}

function sgdLoop(
  p: TypedArray,
  bp: number,
  g: TypedArray,
  bg: number,
  buf: TypedArray,
  bb: number,
  size: number,
  c: SgdConstants,
): void {
  const { f32, sign, decay, weightDecay, useMomentum, firstStep, nesterov, momentum, keep, negLr } =
    c;
  const fr = Math.fround;
  if (!decay && !useMomentum && f32 && p instanceof Float32Array && g instanceof Float32Array) {
    // Plain SGD on float32: the loop below with its constant branches removed (same arithmetic;
    // V8 does not unswitch them, and the general loop measured twice as slow per element).
    sgdPlainF32(p, bp, g, bg, size, sign, negLr);
    return;
  }
  for (let i = 0; i < size; i++) {
    const pv = p[bp + i];
    let d = sign * g[bg + i];
    if (decay) d = f32 ? fr(d + fr(pv * weightDecay)) : d + pv * weightDecay;
    if (useMomentum) {
      let b: number;
      if (firstStep) b = d;
      else
        b = f32 ? fr(fr(buf[bb + i] * momentum) + fr(d * keep)) : buf[bb + i] * momentum + d * keep;
      buf[bb + i] = b;
      d = nesterov ? (f32 ? fr(d + fr(b * momentum)) : d + b * momentum) : b;
    }
    p[bp + i] = pv + (f32 ? fr(d * negLr) : d * negLr);
  }
}

function sgdPlainF32(
  p: Float32Array,
  bp: number,
  g: Float32Array,
  bg: number,
  size: number,
  sign: number,
  negLr: number,
): void {
  const fr = Math.fround;
  for (let i = 0; i < size; i++) p[bp + i] = p[bp + i] + fr(sign * g[bg + i] * negLr);
}

export function adamUpdateKernel(
  param: View,
  grad: View,
  expAvg: View,
  expAvgSq: View,
  maxExpAvgSq: View | null,
  o: AdamUpdateOptions,
): void {
  const amsgrad = o.amsgrad && maxExpAvgSq !== null;
  const c = adamConstants(o, param.dtype, amsgrad);
  inPlaceContiguous(
    [param, grad, expAvg, expAvgSq, amsgrad ? maxExpAvgSq : null],
    (arrays, bases, size) => {
      const vmax = arrays[4] ?? arrays[3]!;
      adamLoop(
        arrays[0]!,
        bases[0],
        arrays[1]!,
        bases[1],
        arrays[2]!,
        bases[2],
        arrays[3]!,
        bases[3],
        vmax,
        bases[4],
        size,
        c,
      );
    },
  );
}

/** An Adam step's constants, rounded to the parameter's dtype as the update loop uses them. */
export function adamConstants(o: AdamUpdateOptions, dtype: DType, amsgrad: boolean): AdamConstants {
  const R = rounding(dtype);
  return {
    f32: dtype === 'float32',
    sign: o.maximize ? -1 : 1,
    coupled: !o.decoupledWeightDecay && o.weightDecay !== 0,
    decoupled: o.decoupledWeightDecay,
    weightDecay: R(o.weightDecay),
    decay: R(1 - o.lr * o.weightDecay),
    beta1: R(o.beta1),
    beta2: R(o.beta2),
    oneMinusBeta1: R(1 - o.beta1),
    oneMinusBeta2: R(1 - o.beta2),
    biasCorrection2Sqrt: R(Math.sqrt(1 - o.beta2 ** o.step)),
    negStepSize: R(-(o.lr / (1 - o.beta1 ** o.step))),
    eps: R(o.eps),
    amsgrad,
  };
}

export interface AdamConstants {
  f32: boolean;
  sign: number;
  coupled: boolean;
  decoupled: boolean;
  weightDecay: number;
  decay: number;
  beta1: number;
  beta2: number;
  oneMinusBeta1: number;
  oneMinusBeta2: number;
  biasCorrection2Sqrt: number;
  negStepSize: number;
  eps: number;
  amsgrad: boolean;
}

function adamLoop(
  p: TypedArray,
  bp: number,
  g: TypedArray,
  bg: number,
  m: TypedArray,
  bm: number,
  v: TypedArray,
  bv: number,
  vmax: TypedArray,
  bx: number,
  size: number,
  c: AdamConstants,
): void {
  const {
    f32,
    sign,
    coupled,
    decoupled,
    weightDecay,
    decay,
    beta1,
    beta2,
    oneMinusBeta1,
    oneMinusBeta2,
    biasCorrection2Sqrt,
    negStepSize,
    eps,
    amsgrad,
  } = c;
  const fr = Math.fround;
  if (f32) {
    for (let i = 0; i < size; i++) {
      let pv = p[bp + i];
      let gv = sign * g[bg + i];
      if (coupled) gv = fr(gv + fr(pv * weightDecay));
      else if (decoupled) pv = fr(pv * decay);
      const mv = fr(fr(m[bm + i] * beta1) + fr(gv * oneMinusBeta1));
      const vv = fr(fr(v[bv + i] * beta2) + fr(fr(gv * gv) * oneMinusBeta2));
      m[bm + i] = mv;
      v[bv + i] = vv;
      let second = vv;
      if (amsgrad) {
        const old = vmax[bx + i];
        second = old !== old || vv !== vv ? NaN : old > vv ? old : vv;
        vmax[bx + i] = second;
      }
      const denom = fr(fr(fr(Math.sqrt(second)) / biasCorrection2Sqrt) + eps);
      p[bp + i] = pv + fr(fr(mv / denom) * negStepSize);
    }
    return;
  }
  for (let i = 0; i < size; i++) {
    let pv = p[bp + i];
    let gv = sign * g[bg + i];
    if (coupled) gv = gv + pv * weightDecay;
    else if (decoupled) pv = pv * decay;
    const mv = m[bm + i] * beta1 + gv * oneMinusBeta1;
    const vv = v[bv + i] * beta2 + gv * gv * oneMinusBeta2;
    m[bm + i] = mv;
    v[bv + i] = vv;
    let second = vv;
    if (amsgrad) {
      const old = vmax[bx + i];
      second = old !== old || vv !== vv ? NaN : old > vv ? old : vv;
      vmax[bx + i] = second;
    }
    const denom = Math.sqrt(second) / biasCorrection2Sqrt + eps;
    p[bp + i] = pv + (mv / denom) * negStepSize;
  }
}
