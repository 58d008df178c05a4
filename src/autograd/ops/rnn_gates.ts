/**
 * The gate math of one LSTM / GRU step, from the two projections xProj = x·W_ihᵀ + b_ih and
 * hProj = h·W_hhᵀ + b_hh (both [N, G·H], gates in PyTorch's order).
 */
import type { Tensor } from '../../tensor/tensor.js';

/**
 * LSTM: i, f, g, o = chunks of xProj + hProj; c' = σ(f)·c + σ(i)·tanh(g); h' = σ(o)·tanh(c').
 * Returns [h', c'].
 */
export function lstmGates(xProj: Tensor, hProj: Tensor, c: Tensor): [Tensor, Tensor] {
  const gates = xProj.add(hProj);
  const [i, f, g, o] = gates.chunk(4, 1);
  const c1 = f.sigmoid().mul(c).add(i.sigmoid().mul(g.tanh()));
  const h1 = o.sigmoid().mul(c1.tanh());
  return [h1, c1];
}

/**
 * GRU: r = σ(x_r + h_r), z = σ(x_z + h_z), n = tanh(x_n + r·h_n); h' = n + z·(h − n).
 */
export function gruGates(xProj: Tensor, hProj: Tensor, h: Tensor): Tensor {
  const [xr, xz, xn] = xProj.chunk(3, 1);
  const [hr, hz, hn] = hProj.chunk(3, 1);
  const r = xr.add(hr).sigmoid();
  const z = xz.add(hz).sigmoid();
  const n = xn.add(r.mul(hn)).tanh();
  return n.add(z.mul(h.sub(n)));
}
