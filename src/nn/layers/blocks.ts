/** Building blocks of modern networks: the SwiGLU feed-forward block and a residual wrapper. */
import type { Tensor } from '../../tensor/tensor.js';
import { formatShape } from '../../tensor/shape.js';
import * as F from '../functional/index.js';
import { Module } from '../module.js';
import { Linear } from './linear.js';
import { checkPositiveInt } from './util.js';

/**
 * The gated feed-forward block of LLaMA-style transformers (Shazeer, "GLU Variants Improve
 * Transformer"): downProj(silu(gateProj(x)) · upProj(x)). Parameter names follow Hugging Face's
 * LlamaMLP (gate_proj, up_proj, down_proj), without biases by default.
 * @example
 * const ffn = new SwiGLU(512, 1376);
 * ffn.call(randn([2, 16, 512])).shape; // [2, 16, 512]
 */
export class SwiGLU extends Module {
  gateProj: Linear;
  upProj: Linear;
  downProj: Linear;

  constructor(
    readonly dim: number,
    readonly hiddenDim: number,
    { bias = false }: { bias?: boolean } = {},
  ) {
    super();
    checkPositiveInt('SwiGLU', 'dim', dim);
    checkPositiveInt('SwiGLU', 'hidden_dim', hiddenDim);
    this.gateProj = new Linear(dim, hiddenDim, { bias });
    this.upProj = new Linear(dim, hiddenDim, { bias });
    this.downProj = new Linear(hiddenDim, dim, { bias });
  }

  forward(x: Tensor): Tensor {
    if (x.ndim === 0 || x.shape[x.ndim - 1] !== this.dim) {
      throw new Error(
        `SwiGLU: expected input with last dimension ${this.dim} (dim), got shape ${formatShape(x.shape)}`,
      );
    }
    return this.downProj.call(F.silu(this.gateProj.call(x)).mul(this.upProj.call(x)));
  }
}

/**
 * x + block(x): a residual (skip) connection around a block that keeps the shape.
 * @example
 * const layer = new Residual(new Sequential(new LayerNorm(64), new Linear(64, 64), new GELU()));
 * layer.call(randn([8, 64])).shape; // [8, 64]
 */
export class Residual extends Module {
  constructor(readonly block: Module) {
    super();
    if (!(block instanceof Module))
      throw new TypeError(`Residual: expected a Module, got ${typeof block}`);
  }

  forward(x: Tensor): Tensor {
    const y = this.block.call(x) as unknown;
    if (!(y && typeof y === 'object' && 'shape' in y))
      throw new TypeError(`Residual: the block must return a Tensor`);
    const out = y as Tensor;
    if (out.ndim !== x.ndim || out.shape.some((d, i) => d !== x.shape[i])) {
      throw new Error(
        `Residual: the block changed the shape from ${formatShape(x.shape)} to ${formatShape(out.shape)}; a residual connection needs equal shapes`,
      );
    }
    return x.add(out);
  }
}
