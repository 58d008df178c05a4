/**
 * Multi-head attention as torch.nn.MultiheadAttention: PyTorch's parameter names
 * (in_proj_weight, in_proj_bias, out_proj.weight, …), shapes, mask conventions and returned
 * weights, so that a PyTorch state dict loads as is.
 */
import { formatShape } from '../../tensor/shape.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { Generator } from '../../tensor/random.js';
import { scaledSoftmax } from '../../autograd/ops/scaled_softmax.js';
import * as F from '../functional/index.js';
import { applyMask, causalMask, checkMask } from '../functional/attention.js';
import * as init from '../init.js';
import { Module, pyRepr } from '../module.js';
import { Parameter } from '../parameter.js';
import { Linear } from './linear.js';
import { checkPositiveInt, checkProbability, empty } from './util.js';

export interface MultiheadAttentionOptions {
  /** Dropout on the attention weights in training mode (default 0). */
  dropout?: number;
  /** Biases on the input and output projections (default true). */
  bias?: boolean;
  /** Inputs and output as [N, L, E] instead of [L, N, E] (default false). */
  batchFirst?: boolean;
  /** Key features (default embedDim). */
  kdim?: number;
  /** Value features (default embedDim). */
  vdim?: number;
  generator?: Generator;
}

export interface MultiheadAttentionCallOptions {
  /** [N, S] (or [S] unbatched): true (or a float added to the scores) marks a padding key to ignore. */
  keyPaddingMask?: Tensor | null;
  /** [L, S] or [N·numHeads, L, S]: true forbids attending (PyTorch's MHA convention), floats are added. */
  attnMask?: Tensor | null;
  /** Whether to return the attention weights (default true). */
  needWeights?: boolean;
  /** Average the returned weights over the heads (default true): [N, L, S], else [N, H, L, S]. */
  averageAttnWeights?: boolean;
  /** Apply a causal mask (query i sees keys j ≤ i); used when attnMask is not given. */
  isCausal?: boolean;
}

/**
 * Attention with numHeads heads of embedDim / numHeads features each:
 * out_proj(concat_h softmax(Q_h·K_hᵀ/√d + mask)·V_h). `call(query, key, value, options)` returns
 * [output, weights] (weights null when needWeights is false).
 * @example
 * const mha = new MultiheadAttention(64, 4, { batchFirst: true });
 * const x = randn([2, 10, 64]);
 * const [y, w] = mha.call(x, x, x, { isCausal: true }); // y [2, 10, 64], w [2, 10, 10]
 */
export class MultiheadAttention extends Module {
  readonly embedDim: number;
  readonly numHeads: number;
  readonly kdim: number;
  readonly vdim: number;
  readonly headDim: number;
  readonly dropout: number;
  readonly batchFirst: boolean;
  qProjWeight: Parameter | null = null;
  kProjWeight: Parameter | null = null;
  vProjWeight: Parameter | null = null;
  inProjWeight: Parameter | null = null;
  inProjBias: Parameter | null;
  outProj: Linear;
  private readonly generator: Generator | undefined;

  constructor(
    embedDim: number,
    numHeads: number,
    {
      dropout = 0,
      bias = true,
      batchFirst = false,
      kdim = embedDim,
      vdim = embedDim,
      generator,
    }: MultiheadAttentionOptions = {},
  ) {
    super();
    this.embedDim = checkPositiveInt('MultiheadAttention', 'embed_dim', embedDim);
    this.numHeads = checkPositiveInt('MultiheadAttention', 'num_heads', numHeads);
    this.kdim = checkPositiveInt('MultiheadAttention', 'kdim', kdim);
    this.vdim = checkPositiveInt('MultiheadAttention', 'vdim', vdim);
    if (embedDim % numHeads !== 0)
      throw new Error(
        `MultiheadAttention: embed_dim (${embedDim}) must be divisible by num_heads (${numHeads})`,
      );
    this.headDim = embedDim / numHeads;
    this.dropout = checkProbability('MultiheadAttention', dropout);
    this.batchFirst = batchFirst;
    this.generator = generator;
    if (kdim === embedDim && vdim === embedDim) {
      this.inProjWeight = new Parameter(empty([3 * embedDim, embedDim]));
    } else {
      this.qProjWeight = new Parameter(empty([embedDim, embedDim]));
      this.kProjWeight = new Parameter(empty([embedDim, kdim]));
      this.vProjWeight = new Parameter(empty([embedDim, vdim]));
    }
    this.inProjBias = bias ? new Parameter(empty([3 * embedDim])) : null;
    this.outProj = new Linear(embedDim, embedDim, { bias });
    this.resetParameters();
  }

  /** Xavier-uniform projections and zero biases, as PyTorch. */
  resetParameters(): void {
    if (this.inProjWeight) init.xavierUniform_(this.inProjWeight);
    else
      for (const w of [this.qProjWeight!, this.kProjWeight!, this.vProjWeight!])
        init.xavierUniform_(w);
    if (this.inProjBias) init.zeros_(this.inProjBias);
    if (this.outProj.bias) init.zeros_(this.outProj.bias);
  }

  /** The three input projections' weights [E, in] and biases [E] (views of the packed ones). */
  private projections(): [Tensor, Tensor | null][] {
    const e = this.embedDim;
    const w = this.inProjWeight
      ? [0, 1, 2].map((i) => this.inProjWeight!.narrow(0, i * e, e))
      : [this.qProjWeight!, this.kProjWeight!, this.vProjWeight!];
    return w.map((wi, i) => [wi, this.inProjBias ? this.inProjBias.narrow(0, i * e, e) : null]);
  }

  /**
   * Self-attention's q, k and v heads [N, H, L, d] from one linear of in_proj_weight [3E, E] (and
   * split's one backward node). The weight's rows are taken head by head, (h, q|k|v, j) instead
   * of (q|k|v, h, j), so that each of q, k and v is a view of the product [L, N, H, 3, d] whose
   * (N, H) dims have one batch stride, as the matmul kernels need (reordering the small weight
   * costs less than copying the heads).
   */
  private packedHeads(x: Tensor): Tensor[] {
    const [l, n] = x.shape;
    const h = this.numHeads;
    const d = this.headDim;
    const byHead = (t: Tensor) =>
      t
        .reshape([3, h, d, ...t.shape.slice(1)])
        .transpose(0, 1)
        .reshape(t.shape);
    const bias = this.inProjBias ? byHead(this.inProjBias) : null;
    return F.linear(x, byHead(this.inProjWeight!), bias)
      .reshape([l, n, h, 3, d])
      .split(1, 3)
      .map((t) => t.squeeze(3).permute([1, 2, 0, 3]));
  }

  /** An input as [L, N, features], checked against the expected feature size. */
  private seqFirst(t: Tensor, name: string, features: number, batched: boolean): Tensor {
    const rank = batched ? 3 : 2;
    if (t.ndim !== rank || t.shape[rank - 1] !== features) {
      const layout = !batched
        ? `[L, ${features}]`
        : this.batchFirst
          ? `[N, L, ${features}]`
          : `[L, N, ${features}]`;
      throw new Error(
        `MultiheadAttention: expected ${name} of shape ${layout}, got ${formatShape(t.shape)}`,
      );
    }
    if (!batched) return t.unsqueeze(1);
    // One layout copy here, not one in each projection that reads the input.
    return this.batchFirst ? t.transpose(0, 1).contiguous() : t;
  }

  /** The scaled scores [N, H, L, S] with the mask tensors (and the causal mask) applied. */
  private masked(
    scores: Tensor,
    attnMask: Tensor | null,
    keyPaddingMask: Tensor | null,
    isCausal: boolean,
    batched: boolean,
  ): Tensor {
    const [n, h, l, s] = scores.shape;
    const scoreShape = [n, h, l, s];
    let masked = scores;
    if (attnMask !== null) {
      const ok2 = attnMask.ndim === 2 && attnMask.shape[0] === l && attnMask.shape[1] === s;
      const ok3 =
        attnMask.ndim === 3 &&
        attnMask.shape[0] === n * h &&
        attnMask.shape[1] === l &&
        attnMask.shape[2] === s;
      if (!ok2 && !ok3)
        throw new Error(
          `MultiheadAttention: attnMask must be [L, S] = [${l}, ${s}] or [N·num_heads, L, S] = [${n * h}, ${l}, ${s}], got ${formatShape(attnMask.shape)}`,
        );
      checkMask('MultiheadAttention', 'attnMask', attnMask, scoreShape, scores.dtype);
      masked = applyMask(masked, ok3 ? attnMask.reshape(scoreShape) : attnMask, false);
    } else if (isCausal) masked = applyMask(masked, causalMask(l, s, scores.device), true);
    if (keyPaddingMask !== null) {
      const want = batched ? [n, s] : [s];
      if (keyPaddingMask.ndim !== want.length || keyPaddingMask.shape.some((x, i) => x !== want[i]))
        throw new Error(
          `MultiheadAttention: keyPaddingMask must be ${formatShape(want)} ([N, S]), got ${formatShape(keyPaddingMask.shape)}`,
        );
      const kpm = keyPaddingMask.reshape([n, 1, 1, s]);
      checkMask('MultiheadAttention', 'keyPaddingMask', kpm, scoreShape, scores.dtype);
      masked = applyMask(masked, kpm, false);
    }
    return masked;
  }

  forward(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    options: MultiheadAttentionCallOptions = {},
  ): [Tensor, Tensor | null] {
    const {
      keyPaddingMask = null,
      attnMask = null,
      needWeights = true,
      averageAttnWeights = true,
      isCausal = false,
    } = options;
    const batched = query.ndim === 3;
    const q0 = this.seqFirst(query, 'query', this.embedDim, batched);
    // Self-attention (and key = value) lays the shared input out once.
    const k0 =
      key === query && this.kdim === this.embedDim
        ? q0
        : this.seqFirst(key, 'key', this.kdim, batched);
    const v0 =
      value === key && this.vdim === this.kdim
        ? k0
        : this.seqFirst(value, 'value', this.vdim, batched);
    const [l, n] = q0.shape;
    const s = k0.shape[0];
    if (k0.shape[1] !== n || v0.shape[1] !== n || v0.shape[0] !== s)
      throw new Error(
        `MultiheadAttention: query ${formatShape(query.shape)}, key ${formatShape(key.shape)} and value ${formatShape(value.shape)} must share the batch size, and key and value the sequence length`,
      );
    const h = this.numHeads;
    const d = this.headDim;
    let q: Tensor, k: Tensor, v: Tensor;
    if (this.inProjWeight && key === query && value === query) [q, k, v] = this.packedHeads(q0);
    else {
      const [[wq, bq], [wk, bk], [wv, bv]] = this.projections();
      // [L, N, E] → [N, H, L, d]
      const heads = (t: Tensor, len: number) => t.reshape([len, n, h, d]).permute([1, 2, 0, 3]);
      q = heads(F.linear(q0, wq, bq), l);
      k = heads(F.linear(k0, wk, bk), s);
      v = heads(F.linear(v0, wv, bv), s);
    }
    const product = q.matmul(k.transpose(-2, -1)); // [N, H, L, S]
    const scale = 1 / Math.sqrt(d);
    // Without mask tensors, the scale and the causal mask are part of the softmax op.
    let weights =
      attnMask === null && keyPaddingMask === null
        ? scaledSoftmax(product, scale, isCausal)
        : this.masked(product.mul(scale), attnMask, keyPaddingMask, isCausal, batched).softmax(-1);
    if (this.dropout > 0 && this.training)
      weights = F.dropout(weights, this.dropout, true, this.generator);
    const attended = weights.matmul(v).permute([2, 0, 1, 3]).reshape([l, n, this.embedDim]);
    let out = this.outProj.call(attended);
    if (!batched) out = out.squeeze(1);
    else if (this.batchFirst) out = out.transpose(0, 1);
    if (!needWeights) return [out, null];
    let w = averageAttnWeights ? weights.mean(1) : weights;
    if (!batched) w = w.squeeze(0);
    return [out, w];
  }

  override extraRepr(): string {
    return `embed_dim=${this.embedDim}, num_heads=${this.numHeads}, batch_first=${pyRepr(this.batchFirst)}`;
  }
}
