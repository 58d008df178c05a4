/**
 * The few numbers the reports need from a tensor: its L2 norm and how many NaN/Inf it holds; for
 * an output, its mean / variance and which units fired. CPU tensors are summarised in one pass on
 * the host (float64 sums: no overflow or underflow for float32 values); tensors on other devices
 * are reduced there by tensor ops and only the scalars come back.
 */
import { noGrad } from '../autograd/grad_mode.js';
import { cat } from '../autograd/ops/shape_ops.js';
import { where } from '../autograd/ops/elementwise.js';
import type { Tensor } from '../tensor/tensor.js';

/** An L2 norm (NaN when the tensor holds NaN or ±Inf) and the count of those values. */
export interface NormSummary {
  norm: number;
  nonFinite: number;
}

const onHost = (t: Tensor) => t.device.startsWith('cpu');

/** Norm and non-finite count of host values; float64 tensors past 1e154 take a second, scaled pass. */
function hostNorm(values: ArrayLike<number>): NormSummary {
  let sum = 0;
  let bad = 0;
  let top = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v - v !== 0)
      bad++; // NaN and ±Inf
    else {
      sum += v * v;
      const a = Math.abs(v);
      if (a > top) top = a;
    }
  }
  if (bad > 0) return { norm: NaN, nonFinite: bad };
  if (sum === Infinity) {
    let scaled = 0;
    for (let i = 0; i < values.length; i++) scaled += (values[i] / top) ** 2;
    return { norm: top * Math.sqrt(scaled), nonFinite: 0 };
  }
  return { norm: Math.sqrt(sum), nonFinite: 0 };
}

/**
 * [absmax, norm / absmax, non-finite count] in the tensor's dtype, on its device: scaling by the
 * largest magnitude first keeps the sums of squares in range (as BLAS nrm2 does).
 */
function deviceNormParts(x: Tensor): Tensor {
  const abs = x.abs();
  const top = abs.amax();
  const scaled = abs.div(where(top.gt(0), top, 1)).norm();
  const bad = x.isnan().sum().add(x.isinf().sum());
  return cat([top, scaled, bad.to(x.dtype)].map((t) => t.reshape([1])));
}

/**
 * The norm summaries of `tensors`, in order; the device ones read back in one transfer.
 * `deviceOps` makes CPU tensors take the device path too (tests compare the two).
 */
export async function normSummaries(tensors: Tensor[], deviceOps = false): Promise<NormSummary[]> {
  const out: NormSummary[] = new Array(tensors.length);
  // device parts grouped by dtype, each group read back in one transfer
  const groups = new Map<string, { at: number[]; parts: Tensor[] }>();
  noGrad(() =>
    tensors.forEach((t, i) => {
      if (onHost(t) && !deviceOps) out[i] = hostNorm(t.dataSync());
      else {
        const group = groups.get(t.dtype) ?? { at: [], parts: [] };
        group.at.push(i);
        group.parts.push(deviceNormParts(t.detach()));
        groups.set(t.dtype, group);
      }
    }),
  );
  for (const { at, parts } of groups.values()) {
    const values = await cat(parts).data();
    at.forEach((i, k) => {
      const [top, scaled, bad] = values.subarray(3 * k, 3 * k + 3);
      out[i] = { norm: bad > 0 ? NaN : top > 0 ? top * scaled : top, nonFinite: bad };
    });
  }
  return out;
}

/** One output's statistics: exact (host) numbers, or device tensors read later. */
export interface OutputSummary {
  count: number;
  /** [mean, variance (correction 0), non-finite count] */
  moments: [number, number, number] | Tensor;
  /** Per unit (every position but the batch dimension), whether any example was > 0; null unless asked. */
  fired: Uint8Array | Tensor | null;
}

/**
 * Summarises an output `y` (float, non-empty); `units` asks for the fired flags of a ReLU.
 * `deviceOps` makes a CPU tensor take the device path (tests compare the two).
 */
export function summarizeOutput(y: Tensor, units: boolean, deviceOps = false): OutputSummary {
  const count = y.numel();
  const wantFired = units && y.ndim >= 1;
  if (onHost(y) && !deviceOps) {
    const values = y.dataSync();
    let sum = 0;
    let bad = 0;
    for (let i = 0; i < count; i++) {
      const v = values[i];
      if (v - v !== 0) bad++;
      else sum += v;
    }
    const mean = sum / count;
    let m2 = 0;
    for (let i = 0; i < count; i++) {
      const v = values[i];
      if (v - v === 0) m2 += (v - mean) * (v - mean);
    }
    let fired: Uint8Array | null = null;
    if (wantFired) {
      const n = y.shape[0];
      const per = n > 0 ? count / n : 0;
      fired = new Uint8Array(per);
      for (let i = 0; i < count; i++) if (values[i] > 0) fired[i % per] = 1;
    }
    const moments: [number, number, number] = bad > 0 ? [NaN, NaN, bad] : [mean, m2 / count, 0];
    return { count, moments, fired };
  }
  return noGrad(() => {
    const x = y.detach();
    const bad = x.isnan().sum().add(x.isinf().sum()).to(x.dtype);
    const moments = cat([
      x.mean().reshape([1]),
      x.var({ correction: 0 }).reshape([1]),
      bad.reshape([1]),
    ]);
    return { count, moments, fired: wantFired ? x.amax(0).gt(0).reshape([-1]) : null };
  });
}

/** The numbers of an OutputSummary, read from the device if they are there. */
export async function readOutputSummary(
  s: OutputSummary,
): Promise<{ mean: number; variance: number; nonFinite: number; fired: ArrayLike<number> | null }> {
  const [mean, variance, nonFinite] = Array.isArray(s.moments)
    ? s.moments
    : Array.from(await s.moments.data());
  const fired = s.fired === null || s.fired instanceof Uint8Array ? s.fired : await s.fired.data();
  return { mean, variance, nonFinite, fired };
}
