/** Embedding: a lookup table of learnable vectors indexed by integer ids. */
import type { Tensor } from '../../tensor/tensor.js';
import { formatShape } from '../../tensor/shape.js';
import { noGrad } from '../../autograd/grad_mode.js';
import * as F from '../functional/index.js';
import * as init from '../init.js';
import { Module } from '../module.js';
import { Parameter } from '../parameter.js';
import { checkPositiveInt, empty } from './util.js';

export interface EmbeddingOptions {
  /** The row for this id gets no gradient and starts at zeros (typically the padding token). */
  paddingIdx?: number | null;
}

/**
 * Maps int32 ids of any shape to vectors: [...] → [..., embeddingDim]. Weight
 * [numEmbeddings, embeddingDim] from N(0, 1), as PyTorch.
 * @example
 * const emb = new Embedding(10, 3, { paddingIdx: 0 });
 * emb.call(tensor([[1, 2, 0]], { dtype: 'int32' })).shape; // [1, 3, 3]
 */
export class Embedding extends Module {
  readonly numEmbeddings: number;
  readonly embeddingDim: number;
  readonly paddingIdx: number | null;
  weight: Parameter;

  constructor(
    numEmbeddings: number,
    embeddingDim: number,
    { paddingIdx = null }: EmbeddingOptions = {},
  ) {
    super();
    this.numEmbeddings = checkPositiveInt('Embedding', 'num_embeddings', numEmbeddings);
    this.embeddingDim = checkPositiveInt('Embedding', 'embedding_dim', embeddingDim);
    if (paddingIdx !== null) {
      if (
        !Number.isInteger(paddingIdx) ||
        paddingIdx >= numEmbeddings ||
        paddingIdx < -numEmbeddings
      ) {
        throw new RangeError(
          `Embedding: padding_idx must be within num_embeddings (${numEmbeddings}), got ${paddingIdx}`,
        );
      }
      if (paddingIdx < 0) paddingIdx += numEmbeddings;
    }
    this.paddingIdx = paddingIdx;
    this.weight = new Parameter(empty([numEmbeddings, embeddingDim]));
    this.resetParameters();
  }

  /**
   * An Embedding holding `weight` [numEmbeddings, embeddingDim] (shared, not copied), frozen by default.
   * @example
   * const emb = Embedding.fromPretrained(vectors, { freeze: false });
   */
  static fromPretrained(
    weight: Tensor,
    { freeze = true, paddingIdx = null }: EmbeddingOptions & { freeze?: boolean } = {},
  ): Embedding {
    if (weight.ndim !== 2)
      throw new Error(
        `Embedding.fromPretrained: expected a 2-D weight [numEmbeddings, embeddingDim], got shape ${formatShape(weight.shape)}`,
      );
    const emb = new Embedding(weight.shape[0], weight.shape[1], { paddingIdx });
    emb.weight = new Parameter(weight.detach(), !freeze);
    return emb;
  }

  resetParameters(): void {
    init.normal_(this.weight);
    if (this.paddingIdx !== null) noGrad(() => this.weight.select(0, this.paddingIdx!).fill_(0));
  }

  forward(indices: Tensor): Tensor {
    if (indices.dtype !== 'int32')
      throw new TypeError(
        `Embedding: expected int32 indices, got ${indices.dtype} of shape ${formatShape(indices.shape)}`,
      );
    return F.embedding(indices, this.weight, { paddingIdx: this.paddingIdx });
  }

  override extraRepr(): string {
    return `${this.numEmbeddings}, ${this.embeddingDim}${this.paddingIdx !== null ? `, padding_idx=${this.paddingIdx}` : ''}`;
  }
}
