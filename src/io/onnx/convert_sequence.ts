/**
 * ONNX converters of the recurrent layers: nn.RNN, nn.LSTM and nn.GRU become ONNX's own RNN, LSTM
 * and GRU ops, one per layer. ONNX orders the gates differently (LSTM i,o,f,c for PyTorch's
 * i,f,g,o; GRU z,r,h for r,z,n), so the weights are re-stacked; GRU's `linear_before_reset = 1` is
 * PyTorch's formula. Outputs follow PyTorch: [output, hN] (LSTM: [output, hN, cN]).
 */
import { noGrad } from '../../autograd/grad_mode.js';
import { cat, stack } from '../../autograd/ops/shape_ops.js';
import * as nn from '../../nn/index.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { Converter, LayerClass } from './convert_layers.js';
import type { GraphBuilder, Traced } from './graph.js';

const GATE_ORDER: Record<string, number[]> = { RNN: [0], LSTM: [0, 3, 1, 2], GRU: [1, 0, 2] };

function reorder(t: Tensor, order: number[], hidden: number): Tensor {
  return cat(order.map((k) => t.narrow(0, k * hidden, hidden)));
}

function recurrent(kind: 'RNN' | 'LSTM' | 'GRU'): Converter {
  return (g: GraphBuilder, m: any, inputs: Traced[], path: string) => {
    const [x] = inputs;
    const name = m.constructor.name;
    if (inputs.length !== 1)
      throw new Error(
        `onnx.export: cannot export '${path || 'model'}' (${name}) with an initial state: trace it with the input alone (zeros)`,
      );
    if (x.tensor.dim() !== 3)
      throw new Error(
        `onnx.export: cannot export '${path || 'model'}' (${name}): the exporter needs a batched input of rank 3, got shape [${x.tensor.shape.join(', ')}]`,
      );
    const H: number = m.hiddenSize;
    const directions: string[] = m.bidirectional ? ['', '_reverse'] : [''];
    const order = GATE_ORDER[kind];
    const self = m as Record<string, Tensor | undefined>;
    let current = m.batchFirst ? g.op('Transpose', [x.name], { perm: [1, 0, 2] }) : x.name;
    const hs: string[] = [];
    const cs: string[] = [];
    for (let layer = 0; layer < m.numLayers; layer++) {
      const param = (p: string, d: string) => self[`${p}_l${layer}${d}`];
      const { W, R, B } = noGrad(() => ({
        W: stack(directions.map((d) => reorder(param('weight_ih', d)!, order, H))),
        R: stack(directions.map((d) => reorder(param('weight_hh', d)!, order, H))),
        B: m.bias
          ? stack(
              directions.map((d) =>
                cat([
                  reorder(param('bias_ih', d)!, order, H),
                  reorder(param('bias_hh', d)!, order, H),
                ]),
              ),
            )
          : null,
      }));
      const ins = [current, g.weight(W, `${path}.W_l${layer}`), g.weight(R, `${path}.R_l${layer}`)];
      if (B) ins.push(g.weight(B, `${path}.B_l${layer}`));
      const activation = m.nonlinearity === 'relu' ? 'Relu' : 'Tanh';
      const outs = g.node(
        kind,
        ins,
        {
          hidden_size: H,
          direction: m.bidirectional ? 'bidirectional' : 'forward',
          linear_before_reset: kind === 'GRU' ? 1 : undefined,
          activations: kind === 'RNN' ? { strings: directions.map(() => activation) } : undefined,
        },
        kind === 'LSTM' ? 3 : 2,
        `${path || name}_l${layer}`,
      );
      hs.push(outs[1]);
      if (kind === 'LSTM') cs.push(outs[2]);
      // Y is [L, D, N, H]; the next layer and the output want [L, N, D·H].
      const y = g.op('Transpose', [outs[0]], { perm: [0, 2, 1, 3] });
      current = g.op('Reshape', [y, g.constant([0, 0, -1], 'int64', 'shape')]);
    }
    const output = m.batchFirst ? g.op('Transpose', [current], { perm: [1, 0, 2] }) : current;
    const joined = (parts: string[]) =>
      parts.length === 1 ? parts[0] : g.op('Concat', parts, { axis: 0 });
    return kind === 'LSTM' ? [output, joined(hs), joined(cs)] : [output, joined(hs)];
  };
}

export const SEQUENCE_CONVERTERS = new Map<LayerClass, Converter>([
  [nn.RNN, recurrent('RNN')],
  [nn.LSTM, recurrent('LSTM')],
  [nn.GRU, recurrent('GRU')],
]);
