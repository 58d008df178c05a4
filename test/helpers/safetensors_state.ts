/** The tensors of test/fixtures/safetensors/chainrule_written.safetensors (see its script). */
import { arange, tensor, zeros, type Tensor } from '../../src/index.js';

export function safetensorsFixtureState(): Record<string, Tensor> {
  return {
    weight: arange(12).reshape([3, 4]).float().div(8),
    double: tensor([[0.1, -2]], { dtype: 'float64' }),
    ints: tensor([-5, 0, 2147483647], { dtype: 'int32' }),
    mask: tensor([true, false, true]),
    scalar: tensor(1.5),
    empty: zeros([2, 0]),
  };
}
