/**
 * Fast paths for the commonest float32 elementwise ops (add, sub, mul, div) when the operands
 * are contiguous, scalars broadcast (all strides 0) or rows broadcast over leading dims (a
 * bias: last stride 1, others 0). Plain loops over the typed arrays, without the reference
 * kernels' per-element index closures; the arithmetic (double, rounded to float32 on store) is
 * the reference's, so results are identical. Other cases return null (the reference runs).
 */
import type { BinaryOp, View } from '../backend.js';
import { isContiguous, shapeSize } from '../../tensor/shape.js';

/** Index steps of an operand: element (r, j) of the [rows, inner] result is at offset + r·rowStep + j·colStep. */
function steps(v: View, inner: number): [number, number] | null {
  if (isContiguous(v.shape, v.strides)) return [inner, 1];
  const last = v.strides.length - 1;
  let allZero = true;
  for (let d = 0; d < last; d++) if (v.strides[d] !== 0 && v.shape[d] !== 1) allZero = false;
  if (!allZero) return null;
  if (v.strides[last] === 0 || v.shape[last] === 1) return [0, 0];
  if (v.strides[last] === 1) return [0, 1];
  return null;
}

export function fastBinaryF32(
  op: BinaryOp,
  a: View,
  b: View,
  outDType: string,
): Float32Array | null {
  if (outDType !== 'float32' || a.dtype !== 'float32' || b.dtype !== 'float32') return null;
  if (op !== 'add' && op !== 'sub' && op !== 'mul' && op !== 'div') return null;
  const size = shapeSize(a.shape);
  if (size < 64 || a.shape.length === 0) return null;
  const inner = a.shape[a.shape.length - 1];
  const sa = steps(a, inner);
  const sb = steps(b, inner);
  if (!sa || !sb) return null;
  const rows = size / inner;
  const x = a.storage as Float32Array;
  const y = b.storage as Float32Array;
  const out = new Float32Array(size);
  const [ra, ca] = sa;
  const [rb, cb] = sb;
  let o = 0;
  for (let r = 0; r < rows; r++) {
    const ia = a.offset + r * ra;
    const ib = b.offset + r * rb;
    switch (op) {
      case 'add':
        for (let j = 0; j < inner; j++) out[o++] = x[ia + j * ca] + y[ib + j * cb];
        break;
      case 'sub':
        for (let j = 0; j < inner; j++) out[o++] = x[ia + j * ca] - y[ib + j * cb];
        break;
      case 'mul':
        for (let j = 0; j < inner; j++) out[o++] = x[ia + j * ca] * y[ib + j * cb];
        break;
      case 'div':
        for (let j = 0; j < inner; j++) out[o++] = x[ia + j * ca] / y[ib + j * cb];
        break;
    }
  }
  return out;
}
