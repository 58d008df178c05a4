/** Linear and bilinear maps over the last dim. */
import { formatShape } from '../../tensor/shape.js';
import type { Tensor } from '../../tensor/tensor.js';
import { linearLayer } from '../../autograd/ops/linalg.js';
import { expectRank, floatInput, optionalParam, sameDType } from './checks.js';

/**
 * y = x Wᵀ + b over the last dim of x: x [..., in], weight [out, in], bias [out].
 * @example
 * F.linear(randn([8, 3]), randn([4, 3]), zeros([4])).shape; // [8, 4]
 */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor | null): Tensor {
  const input = floatInput('linear', x);
  const w = floatInput('linear', weight, 'weight');
  expectRank('linear', w, 2, '[out, in]', 'weight');
  sameDType('linear', input, w, 'weight');
  const inFeatures = w.shape[1];
  if (input.ndim === 0 || input.shape[input.ndim - 1] !== inFeatures) {
    throw new Error(
      `linear: input of shape ${formatShape(input.shape)} does not end in ${inFeatures} features, as weight ${formatShape(w.shape)} expects`,
    );
  }
  const b = optionalParam('linear', bias, 'bias', [w.shape[0]], input);
  if (!b) return input.matmul(w.t());
  if (input.ndim === 1 || b.dtype !== input.dtype) return input.matmul(w.t()).add(b);
  // Rows of features through one fused product with the bias, leading dims restored after.
  const rows = input.ndim === 2 ? input : input.reshape([-1, inFeatures]);
  const out = linearLayer(rows, w, b);
  return input.ndim === 2 ? out : out.reshape([...input.shape.slice(0, -1), w.shape[0]]);
}

/**
 * y_k = x1ᵀ W_k x2 + b_k: x1 [..., in1], x2 [..., in2], weight [out, in1, in2], bias [out].
 * @example
 * F.bilinear(randn([8, 3]), randn([8, 5]), randn([4, 3, 5])).shape; // [8, 4]
 */
export function bilinear(x1: Tensor, x2: Tensor, weight: Tensor, bias?: Tensor | null): Tensor {
  const a = floatInput('bilinear', x1, 'input1');
  const c = floatInput('bilinear', x2, 'input2');
  const w = floatInput('bilinear', weight, 'weight');
  expectRank('bilinear', w, 3, '[out, in1, in2]', 'weight');
  sameDType('bilinear', a, c, 'input2');
  sameDType('bilinear', a, w, 'weight');
  const [out, in1, in2] = w.shape;
  const lead = a.shape.slice(0, -1);
  if (
    a.ndim === 0 ||
    c.ndim !== a.ndim ||
    a.shape[a.ndim - 1] !== in1 ||
    c.shape[c.ndim - 1] !== in2 ||
    c.shape.slice(0, -1).some((d, i) => d !== lead[i])
  ) {
    throw new Error(
      `bilinear: inputs of shapes ${formatShape(a.shape)} and ${formatShape(c.shape)} do not fit weight ${formatShape(w.shape)}: ` +
        `expected [..., ${in1}] and [..., ${in2}] with the same leading dims`,
    );
  }
  const b = optionalParam('bilinear', bias, 'bias', [out], a);
  // (x1 · W) as one matmul against W laid out [in1, out·in2], then a dot with x2 per output.
  const left = a.matmul(w.permute(1, 0, 2).reshape([in1, out * in2])).reshape([...lead, out, in2]);
  const y = left.mul(c.unsqueeze(-2)).sum(-1);
  return b ? y.add(b) : y;
}
