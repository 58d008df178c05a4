/** Embedding lookup: rows of a weight matrix picked by integer indices. */
import { where } from '../../autograd/ops/elementwise.js';
import { assertTensor } from '../../autograd/define.js';
import { formatShape } from '../../tensor/shape.js';
import type { Tensor } from '../../tensor/tensor.js';
import { expectRank, floatInput, readIndices } from './checks.js';

export interface EmbeddingOptions {
  /** Index whose row gets no gradient (typically the padding token); negative counts from the end. */
  paddingIdx?: number | null;
}

/**
 * weight[indices]: the result has shape [...indices.shape, embeddingDim]. Rows looked up by
 * paddingIdx receive no gradient, as in PyTorch.
 * @example
 * F.embedding(tensor([[1, 2], [0, 1]], { dtype: 'int32' }), randn([10, 4])).shape; // [2, 2, 4]
 */
export function embedding(indices: Tensor, weight: Tensor, options: EmbeddingOptions = {}): Tensor {
  const idx = assertTensor('embedding', indices, 'indices');
  if (idx.dtype !== 'int32')
    throw new TypeError(`embedding: indices must be an int32 tensor, got ${idx.dtype}`);
  const w = floatInput('embedding', weight, 'weight');
  expectRank('embedding', w, 2, '[numEmbeddings, embeddingDim]', 'weight');
  const [rows, dim] = w.shape;
  const values = readIndices(idx);
  if (values) {
    for (let i = 0; i < values.length; i++) {
      if (values[i] < 0 || values[i] >= rows) {
        throw new RangeError(
          `embedding: index ${values[i]} is out of range for a weight of shape ${formatShape(w.shape)} (expected [0, ${rows}))`,
        );
      }
    }
  }
  const looked = w.indexSelect(0, idx.reshape([-1])).reshape([...idx.shape, dim]);
  const { paddingIdx = null } = options;
  if (paddingIdx === null) return looked;
  if (!Number.isInteger(paddingIdx) || paddingIdx < -rows || paddingIdx >= rows) {
    throw new RangeError(
      `embedding: paddingIdx must be an integer in [${-rows}, ${rows}) for ${rows} embeddings, got ${String(paddingIdx)}`,
    );
  }
  const padding = paddingIdx < 0 ? paddingIdx + rows : paddingIdx;
  // Same values, but the gradient of padding lookups is cut off.
  return where(idx.eq(padding).unsqueeze(-1), looked.detach(), looked);
}
