/**
 * GELU as one op: the forward by the backend's fused kernel (Backend.gelu) instead of the seven
 * elementwise ops of x·½(1 + erf(x/√2)), and the backward g·(Φ(x) + x·φ(x)) (or the tanh
 * approximation's derivative) by one more (Backend.geluBackward) when no graph is being built.
 * When grad mode is on during backward (createGraph), the same rule runs in differentiable tensor
 * ops, so higher derivatives work. A backend without the kernels gets the composed op.
 */
import type { GeluApproximate } from '../../backend/backend.js';
import { INV_SQRT_2PI, TANH_BETA, TANH_KAPPA } from '../../backend/cpu/gelu_kernels.js';
import { traceKernel } from '../../backend/kernel_trace.js';
import type { Tensor } from '../../tensor/tensor.js';
import { fromStorage, record } from '../define.js';
import { isGradEnabled } from '../grad_mode.js';

/** The tanh approximation's inner argument √(2/π)·(x + 0.044715·x³). */
function tanhInner(x: Tensor): Tensor {
  return x.add(x.pow(3).mul(TANH_KAPPA)).mul(TANH_BETA);
}

/** gelu from elementwise ops, for backends without the fused kernels. */
function composedGelu(x: Tensor, approximate: GeluApproximate): Tensor {
  if (approximate === 'none') return x.mul(x.mul(Math.SQRT1_2).erf().add(1)).mul(0.5);
  return x.mul(tanhInner(x).tanh().add(1)).mul(0.5);
}

/**
 * gelu'(x) in differentiable ops: Φ(x) + x·φ(x) for the exact GELU; for the tanh approximation,
 * with t = tanh(inner), ½(1 + t) + ½x·(1 − t²)·√(2/π)(1 + 3·0.044715·x²).
 */
function geluDerivative(x: Tensor, approximate: GeluApproximate): Tensor {
  if (approximate === 'none') {
    const cdf = x.mul(Math.SQRT1_2).erf().add(1).mul(0.5);
    const pdf = x.square().mul(-0.5).exp().mul(INV_SQRT_2PI);
    return cdf.add(x.mul(pdf));
  }
  const t = tanhInner(x).tanh();
  const innerDerivative = x
    .square()
    .mul(3 * TANH_KAPPA)
    .add(1)
    .mul(TANH_BETA);
  const right = x.mul(0.5).mul(t.square().neg().add(1)).mul(innerDerivative);
  return t.add(1).mul(0.5).add(right);
}

/**
 * GELU of a floating-point tensor: x·Φ(x) ('none') or PyTorch's tanh approximation ('tanh').
 * F.gelu and nn.GELU call it (after checking the input).
 */
export function gelu(x: Tensor, approximate: GeluApproximate): Tensor {
  const backend = x.backend;
  if (!backend.gelu || !backend.geluBackward) {
    traceKernel('gelu', 'composed');
    return composedGelu(x, approximate);
  }
  traceKernel('gelu', 'fused');
  const y = fromStorage(backend.gelu(x, approximate), x.shape, x.dtype, x);
  return record('GeluBackward', y, [x], [x], (g, [sx]) => [
    isGradEnabled()
      ? g.mul(geluDerivative(sx, approximate))
      : fromStorage(backend.geluBackward!(g, sx, approximate), sx.shape, sx.dtype, sx),
  ]);
}
