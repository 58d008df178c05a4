/**
 * What the `linalg` ops share: input checks with PyTorch's messages, moving a batch of matrices to
 * host Float64Arrays and results back into tensors, named multi-output results, and the small
 * differentiable helpers their backward rules are written with.
 */
import { isFloatingDType, type DType } from '../../../tensor/dtype.js';
import { formatShape } from '../../../tensor/shape.js';
import { Tensor } from '../../../tensor/tensor.js';
import { assertTensor } from '../../define.js';
import { where } from '../elementwise.js';

/** `t` checked to be a floating tensor with at least two dims (a batch of matrices). */
export function assertMatrices(op: string, value: unknown, name = 'A'): Tensor {
  const t = assertTensor(op, value, name);
  if (t.ndim < 2)
    throw new Error(
      `${op}: ${name} must have at least 2 dimensions (a matrix or a batch of matrices), got shape ${formatShape(t.shape)}`,
    );
  if (!isFloatingDType(t.dtype))
    throw new TypeError(
      `${op}: expected ${name} of dtype float32 or float64, got ${t.dtype}; convert with .float() or .double() first`,
    );
  return t;
}

/** As assertMatrices, and the last two dims equal. */
export function assertSquare(op: string, value: unknown, name = 'A'): Tensor {
  const t = assertMatrices(op, value, name);
  const [m, n] = t.shape.slice(-2);
  if (m !== n)
    throw new Error(
      `${op}: ${name} must be batches of square matrices, but they are ${m} by ${n} matrices (shape ${formatShape(t.shape)})`,
    );
  return t;
}

/** PyTorch's prefix for an error in one matrix of a batch. */
export function batchPrefix(t: Tensor, b: number): string {
  return t.ndim > 2 ? `(Batch element ${b}): ` : '';
}

/** The matrices of `t` (shape [..., m, n]) as one Float64Array, row-major, and their count. */
export function hostMatrices(
  op: string,
  t: Tensor,
): { data: Float64Array; batch: number; m: number; n: number } {
  let values;
  try {
    values = t.dataSync();
  } catch (e) {
    throw new Error(
      `${op}: the decompositions run on the host and read their input synchronously: ${(e as Error).message}`,
    );
  }
  const [m, n] = t.shape.slice(-2);
  const batch = t.shape.slice(0, -2).reduce((a, b) => a * b, 1);
  return { data: Float64Array.from(values), batch, m, n };
}

/** A tensor of `shape` and `dtype` on `like`'s device holding `values` (rounded once to float32). */
export function fromHost(
  values: ArrayLike<number>,
  shape: readonly number[],
  dtype: DType,
  like: Tensor,
): Tensor {
  return Tensor.fromStorage(like.backend.fromValues(dtype, values), shape, dtype, like.backend);
}

/** An array of results that also carries them under names, like `max(dim)`'s `values`/`indices`. */
export function named<const K extends readonly string[]>(
  names: K,
  values: { [I in keyof K]: Tensor },
): { -readonly [I in keyof K]: Tensor } & { [P in K[number]]: Tensor } {
  const out = [...(values as readonly Tensor[])] as Tensor[] & Record<string, Tensor>;
  names.forEach((name, i) => (out[name] = values[i] as Tensor));
  return out as unknown as { -readonly [I in keyof K]: Tensor } & { [P in K[number]]: Tensor };
}

// ---- differentiable helpers for the backward rules ----

/** The identity of size n as a bool mask [n, n] (beside `like`). */
export function eyeMask(n: number, like: Tensor): Tensor {
  const values = new Uint8Array(n * n);
  for (let i = 0; i < n; i++) values[i * n + i] = 1;
  return fromHost(values, [n, n], 'bool', like);
}

/** [..., n] → [..., n, n] with the vector on the diagonal (torch.diag_embed). */
export function diagEmbed(v: Tensor): Tensor {
  const n = v.shape[v.ndim - 1];
  return where(eyeMask(n, v), v.unsqueeze(-2), 0).to(v.dtype);
}

/** `x` with its diagonal (last two dims) replaced by `value`: for E = λ_j − λ_i, whose diagonal divides nothing. */
export function fillDiagonal(x: Tensor, value: number): Tensor {
  return where(eyeMask(x.shape[x.ndim - 1], x), value, x).to(x.dtype);
}

/** X − Xᵀ over the last two dims. */
export function skew(x: Tensor): Tensor {
  return x.sub(x.mT);
}

/** The sum of the cotangents that reached each output; null where none did. */
export function sumGrads(a: Tensor | null, b: Tensor | null): Tensor | null {
  if (a === null) return b;
  if (b === null) return a;
  return a.add(b);
}
