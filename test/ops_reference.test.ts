/**
 * Every core tensor op against PyTorch 1.13, on every registered device: values, dtypes, shapes
 * and input gradients.
 * Fixtures come from scripts/fixtures/ops.py; a case "<key>/<variant>" runs OPS[key] here.
 */
import { describe, expect, it } from 'vitest';
import * as cr from '../src/index.js';
import type { Tensor, DType } from '../src/index.js';
import { checkCase, loadFixtures, type FixtureCase } from './helpers/reference.js';
import { DEVICES } from './helpers/devices.js';

type Args = any;
type OpFn = (x: Tensor[], a: Args) => Tensor | Tensor[];

/** JSON has no Infinity: the fixture script writes it as a string. */
const num = (v: unknown): number =>
  v === 'inf' ? Infinity : v === '-inf' ? -Infinity : (v as number);
const call = (t: Tensor, method: string, ...rest: unknown[]): Tensor => (t as any)[method](...rest);
const fn = (name: string): ((...rest: unknown[]) => Tensor) => (cr as any)[name];
const nullable = <T>(v: T | null | undefined): T | undefined => (v === null ? undefined : v);

const OPS: Record<string, OpFn> = {
  unary: ([x], a) => call(x, a.op),
  binary: ([x, y], a) => call(x, a.op, y),
  binary_alpha: ([x, y], a) => call(x, a.op, y, a.alpha),
  scalar_right: ([x], a) => call(x, a.op, a.s),
  scalar_left: ([x], a) => fn(a.op)(a.s, x),
  where: ([c, x, y]) => cr.where(c, x, y),
  where_scalar: ([c, x], a) => cr.where(c, x, a.s),
  method_where: ([x, c, y]) => x.where(c, y),
  clamp: ([x], a) => x.clamp(nullable(a.min), nullable(a.max)),
  clamp_t: ([x, lo, hi]) => x.clamp(lo, hi),
  clamp_tmin: ([x, lo]) => x.clamp(lo),
  clamp_tmax: ([x, hi]) => x.clamp(null, hi),
  to: ([x], a) => x.to(a.dtype as DType),
  bool_add_int: ([x, y]) => x.add(y).to('int32'),

  sum: ([x], a) => x.sum(nullable(a.dim), a.keepdim ?? false),
  mean: ([x], a) => x.mean(nullable(a.dim), a.keepdim ?? false),
  prod: ([x], a) => x.prod(nullable(a.dim), a.keepdim ?? false),
  var: ([x], a) =>
    x.var(nullable(a.dim), a.keepdim ?? false, { correction: a.correction, unbiased: a.unbiased }),
  std: ([x], a) =>
    x.std(nullable(a.dim), a.keepdim ?? false, { correction: a.correction, unbiased: a.unbiased }),
  max: ([x]) => x.max(),
  min: ([x]) => x.min(),
  max_dim: ([x], a) => {
    const r = x.max(a.dim, a.keepdim ?? false);
    return [r.values, r.indices];
  },
  min_dim: ([x], a) => {
    const [values, indices] = x.min(a.dim, a.keepdim ?? false);
    return [values, indices];
  },
  amax: ([x], a) => x.amax(a.dim, a.keepdim ?? false),
  amin: ([x], a) => x.amin(a.dim, a.keepdim ?? false),
  argmax: ([x], a) => x.argmax(nullable(a.dim), a.keepdim ?? false),
  argmin: ([x], a) => x.argmin(nullable(a.dim), a.keepdim ?? false),
  logsumexp: ([x], a) => x.logsumexp(a.dim, a.keepdim ?? false),
  norm: ([x], a) => x.norm(a.p === 'fro' ? 'fro' : num(a.p), nullable(a.dim), a.keepdim ?? false),
  cumsum: ([x], a) => x.cumsum(a.dim),

  matmul: ([x, y]) => x.matmul(y),
  mm: ([x, y]) => x.mm(y),
  bmm: ([x, y]) => x.bmm(y),
  outer: ([x, y]) => x.outer(y),
  dot: ([x, y]) => x.dot(y),
  einsum: (xs, a) => cr.einsum(a.eq, ...xs),
  matmul_tt: ([x, y]) => x.mT.matmul(y.mT),

  reshape: ([x], a) => x.reshape(a.shape),
  view: ([x], a) => x.view(a.shape),
  flatten: ([x], a) => x.flatten(a.start ?? 0, a.end ?? -1),
  unflatten: ([x], a) => x.unflatten(a.dim, a.sizes),
  squeeze: ([x], a) => x.squeeze(a.dim),
  unsqueeze: ([x], a) => x.unsqueeze(a.dim),
  transpose: ([x], a) => x.transpose(a.d0, a.d1),
  permute: ([x], a) => x.permute(...a.dims),
  t: ([x]) => x.t(),
  T: ([x]) => x.T,
  mT: ([x]) => x.mT,
  expand: ([x], a) => x.expand(a.sizes),
  expand_as: ([x, y]) => x.expandAs(y),
  repeat: ([x], a) => x.repeat(a.sizes),
  tile: ([x], a) => x.tile(a.dims),
  cat: (xs, a) => cr.cat(xs, a.dim),
  stack: (xs, a) => cr.stack(xs, a.dim),
  split: ([x], a) => x.split(a.size, a.dim ?? 0),
  chunk: ([x], a) => x.chunk(a.chunks, a.dim ?? 0),
  narrow: ([x], a) => x.narrow(a.dim, a.start, a.length),
  select: ([x], a) => x.select(a.dim, a.index),
  slice: ([x], a) => x.slice(a.dim, nullable(a.start), nullable(a.end), a.step ?? 1),
  index: ([x], a) => x.index(...a.items),
  flip: ([x], a) => x.flip(a.dims),
  roll: ([x], a) => x.roll(a.shifts, nullable(a.dims)),
  pad: ([x], a) => cr.pad(x, a.pad, 'constant', a.value ?? 0),
  tril: ([x], a) => x.tril(a.diagonal ?? 0),
  triu: ([x], a) => x.triu(a.diagonal ?? 0),
  diagonal: ([x], a) => x.diagonal(a.offset ?? 0, a.dim1 ?? 0, a.dim2 ?? 1),
  index_select: ([x, i], a) => x.indexSelect(a.dim, i),
  gather: ([x, i], a) => x.gather(a.dim, i),
  scatter: ([x, i, s], a) => x.scatter(a.dim, i, s),
  scatter_value: ([x, i], a) => x.scatter(a.dim, i, a.value),
  scatter_add: ([x, i, s], a) => x.scatterAdd(a.dim, i, s),
  masked_fill: ([x, m], a) => x.maskedFill(m, num(a.value)),
  masked_fill_t: ([x, m, v]) => x.maskedFill(m, v),
  contiguous_t: ([x]) => x.t().contiguous(),
  clone: ([x]) => x.clone(),
  detach: ([x]) => x.detach(),

  nc_unary: ([x]) => x.t().exp(),
  nc_binary: ([x, y]) => x.t().index('::2').mul(y.index(':', '1:').t()),
  nc_sum: ([x]) => x.t().sum(0),
  nc_matmul: ([x, y]) => x.index(':', '::2').matmul(y.t()),
  nc_cumsum: ([x]) => x.t().cumsum(1),
  nc_gather: ([x, i]) => x.t().gather(1, i),
  nc_cat: ([x, y]) => cr.cat([x.t(), y.index(':', '::2')], 1),
  nc_expand_mul: ([x, y]) => x.expand(3, 4).mul(y),
};

const cases = loadFixtures('ops.json');
const byKey = new Map<string, FixtureCase[]>();
for (const c of cases) {
  const key = c.name.split('/')[0];
  if (!byKey.has(key)) byKey.set(key, []);
  byKey.get(key)!.push(c);
}

describe('ops against PyTorch', () => {
  it('has a TypeScript mapping for every fixture key, and enough cases', () => {
    expect([...byKey.keys()].filter((k) => !(k in OPS))).toEqual([]);
    expect(Object.keys(OPS).filter((k) => !byKey.has(k))).toEqual([]);
    expect(cases.length).toBeGreaterThan(500);
  });
  // Every registered device runs every case (the one list in helpers/devices.ts).
  for (const device of DEVICES) {
    describe(device, () => {
      for (const [key, group] of byKey) {
        describe(key, () => {
          for (const c of group) {
            it(c.name, () => checkCase(c, OPS[key], {}, device));
          }
        });
      }
    });
  }
});
