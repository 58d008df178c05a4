/**
 * The models the ONNX tests export (test/onnx_export.test.ts runs them in onnxruntime-node;
 * scripts/onnx_export_cases.ts writes them for scripts/onnx_check.py). Each case: a model, its
 * example inputs and, optionally, a second input batch of another size for dynamic axes.
 */
import { manualSeed, nn, randint, randn, noGrad, type Tensor } from '../../src/index.js';
import { createModel } from '../../src/cli/models.js';

export interface OnnxCase {
  name: string;
  model: nn.Module;
  inputs: Tensor[];
}

/** BatchNorm with non-trivial running statistics (a few training-mode batches). */
function warmedBatchNorm(bn: nn.Module, shape: number[]): nn.Module {
  noGrad(() => {
    for (let i = 0; i < 3; i++) bn.call(randn(shape).mul(2).add(1));
  });
  return bn;
}

export function onnxCases(): OnnxCase[] {
  manualSeed(0);
  const x2 = randn([3, 6]);
  const img = randn([2, 3, 9, 9]);
  const seq = randn([4, 3, 5]);
  const act = (name: string, m: nn.Module): OnnxCase => ({
    name,
    model: m,
    inputs: [randn([3, 7]).mul(3)],
  });
  return [
    {
      name: 'readme_mlp',
      model: new nn.Sequential(new nn.Linear(2, 8), new nn.ReLU(), new nn.Linear(8, 1)),
      inputs: [randn([16, 2])],
    },
    { name: 'cli_mlp', model: createModel('mlp'), inputs: [randn([2, 1, 28, 28])] },
    { name: 'cli_cnn', model: createModel('cnn'), inputs: [randn([2, 1, 28, 28])] },
    {
      name: 'linear_3d_no_bias',
      model: new nn.Linear(6, 4, { bias: false }),
      inputs: [randn([2, 3, 6])],
    },
    {
      name: 'conv1d',
      model: new nn.Conv1d(4, 6, 3, { stride: 2, padding: 1, dilation: 2, groups: 2 }),
      inputs: [randn([2, 4, 11])],
    },
    { name: 'conv2d_same', model: new nn.Conv2d(3, 4, [3, 4], { padding: 'same' }), inputs: [img] },
    {
      name: 'conv2d_strided',
      model: new nn.Conv2d(3, 6, 3, { stride: [2, 1], padding: [1, 2], groups: 3, bias: false }),
      inputs: [img],
    },
    {
      name: 'conv_transpose2d',
      model: new nn.ConvTranspose2d(3, 4, 3, { stride: 2, padding: 1, outputPadding: 1 }),
      inputs: [img],
    },
    {
      name: 'maxpool2d',
      model: new nn.MaxPool2d(3, { stride: 2, padding: 1, ceilMode: true }),
      inputs: [img],
    },
    { name: 'maxpool2d_dilated', model: new nn.MaxPool2d(2, { dilation: 2 }), inputs: [img] },
    {
      name: 'avgpool2d',
      model: new nn.AvgPool2d(3, { stride: 2, padding: 1, countIncludePad: false }),
      inputs: [img],
    },
    { name: 'adaptive_avgpool_global', model: new nn.AdaptiveAvgPool2d(1), inputs: [img] },
    { name: 'adaptive_avgpool_3', model: new nn.AdaptiveAvgPool2d(3), inputs: [img] },
    { name: 'batchnorm1d', model: warmedBatchNorm(new nn.BatchNorm1d(6), [8, 6]), inputs: [x2] },
    {
      name: 'batchnorm2d',
      model: warmedBatchNorm(new nn.BatchNorm2d(3, { affine: false }), [4, 3, 5, 5]),
      inputs: [img],
    },
    { name: 'layernorm', model: new nn.LayerNorm([3, 5], { eps: 1e-3 }), inputs: [seq] },
    act('relu', new nn.ReLU()),
    act('leaky_relu', new nn.LeakyReLU(0.2)),
    act('sigmoid', new nn.Sigmoid()),
    act('tanh', new nn.Tanh()),
    act('elu', new nn.ELU(0.7)),
    act('gelu', new nn.GELU()),
    act('gelu_tanh', new nn.GELU({ approximate: 'tanh' })),
    act('silu', new nn.SiLU()),
    act('mish', new nn.Mish()),
    act('softplus', new nn.Softplus(2, 3)),
    act('hardtanh', new nn.Hardtanh(-0.5, 2)),
    act('softmax', new nn.Softmax(1)),
    act('log_softmax', new nn.LogSoftmax(-1)),
    {
      name: 'dropout',
      model: new nn.Sequential(new nn.Dropout(0.5), new nn.Dropout2d(0.3), new nn.Identity()),
      inputs: [img],
    },
    {
      name: 'embedding',
      model: new nn.Embedding(10, 4),
      inputs: [randint(0, 10, [3, 5], { dtype: 'int32' })],
    },
    {
      name: 'flatten_unflatten',
      model: new nn.Sequential(new nn.Flatten(2, 3), new nn.Unflatten(2, [9, 3, 3])),
      inputs: [img],
    },
    {
      name: 'multihead_attention',
      model: new nn.MultiheadAttention(8, 2),
      inputs: [randn([4, 3, 8]), randn([6, 3, 8]), randn([6, 3, 8])],
    },
    {
      name: 'multihead_attention_batch_first_no_bias',
      model: new nn.MultiheadAttention(8, 4, { batchFirst: true, bias: false }),
      inputs: [randn([3, 4, 8]), randn([3, 5, 8]), randn([3, 5, 8])],
    },
    {
      name: 'transformer_encoder_layer',
      model: new nn.TransformerEncoderLayer(8, 2, { dimFeedforward: 16 }),
      inputs: [randn([5, 3, 8])],
    },
    {
      name: 'transformer_encoder_norm_first_gelu',
      model: new nn.TransformerEncoder(
        new nn.TransformerEncoderLayer(8, 2, {
          dimFeedforward: 16,
          normFirst: true,
          activation: 'gelu',
          batchFirst: true,
        }),
        2,
        { norm: new nn.LayerNorm(8) },
      ),
      inputs: [randn([3, 5, 8])],
    },
    {
      name: 'transformer_decoder_layer',
      model: new nn.TransformerDecoderLayer(8, 2, { dimFeedforward: 16 }),
      inputs: [randn([4, 2, 8]), randn([6, 2, 8])],
    },
    {
      name: 'transformer',
      model: new nn.Transformer(8, 2, {
        numEncoderLayers: 1,
        numDecoderLayers: 2,
        dimFeedforward: 16,
        batchFirst: true,
      }),
      inputs: [randn([2, 6, 8]), randn([2, 4, 8])],
    },
    {
      name: 'rnn_relu_2layer',
      model: new nn.RNN(5, 4, { numLayers: 2, nonlinearity: 'relu' }),
      inputs: [seq],
    },
    {
      name: 'rnn_bidirectional',
      model: new nn.RNN(5, 4, { bidirectional: true, bias: false }),
      inputs: [seq],
    },
    {
      name: 'lstm',
      model: new nn.LSTM(5, 4, { numLayers: 2, bidirectional: true, batchFirst: true }),
      inputs: [seq],
    },
    { name: 'gru', model: new nn.GRU(5, 6, { numLayers: 2 }), inputs: [seq] },
  ];
}
