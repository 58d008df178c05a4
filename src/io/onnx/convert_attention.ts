/**
 * ONNX converters of attention and the transformer layers, composed from MatMul, Softmax,
 * LayerNormalization and friends the way chainrule computes them (evaluation mode, no masks:
 * masks are call options, which a module-level trace does not see). Inner values keep the rank
 * and dtype of the layer's input, which is all the reused layer converters read from a Traced.
 */
import { noGrad } from '../../autograd/grad_mode.js';
import * as nn from '../../nn/index.js';
import type { Tensor } from '../../tensor/tensor.js';
import { gelu, LAYER_CONVERTERS, type Converter, type LayerClass } from './convert_layers.js';
import type { GraphBuilder, Traced } from './graph.js';

const linear = LAYER_CONVERTERS.get(nn.Linear)!;
const layerNorm = LAYER_CONVERTERS.get(nn.LayerNorm)!;

function fail(path: string, name: string, why: string): never {
  throw new Error(`onnx.export: cannot export '${path || 'model'}' (${name}): ${why}`);
}

/** MultiheadAttention on traced q, k, v ([L, N, E], or [N, L, E] with batchFirst). */
function attention(
  g: GraphBuilder,
  m: nn.MultiheadAttention,
  [q, k, v]: Traced[],
  path: string,
  needWeights: boolean,
): string[] {
  for (const t of [q, k, v])
    if (t.tensor.dim() !== 3)
      fail(
        path,
        'MultiheadAttention',
        `the exporter needs batched inputs of rank 3, got shape [${t.tensor.shape.join(', ')}]`,
      );
  const e = m.embedDim;
  const h = m.numHeads;
  const d = m.headDim;
  const { w, b } = noGrad(() => {
    const ws = m.inProjWeight
      ? [0, 1, 2].map((i) => m.inProjWeight!.narrow(0, i * e, e).contiguous())
      : [m.qProjWeight!, m.kProjWeight!, m.vProjWeight!];
    const bs = [0, 1, 2].map((i) =>
      m.inProjBias ? m.inProjBias.narrow(0, i * e, e).contiguous() : null,
    );
    return { w: ws, b: bs };
  });
  const seqFirst = (t: Traced) =>
    m.batchFirst ? g.op('Transpose', [t.name], { perm: [1, 0, 2] }) : t.name;
  const project = (t: Traced, i: number, which: string): string => {
    const wt = g.op('Transpose', [g.weight(w[i], `${path}.${which}_proj_weight`)], {
      perm: [1, 0],
    });
    const y = g.op('MatMul', [seqFirst(t), wt]);
    const biased = b[i]
      ? g.op('Add', [y, g.weight(b[i] as Tensor, `${path}.${which}_proj_bias`)])
      : y;
    // [L, N, E] → [L, N, h, d]; 0 keeps the (dynamic) sequence and batch sizes.
    return g.op('Reshape', [biased, g.constant([0, 0, h, d], 'int64', 'shape')]);
  };
  const qh = g.op('Transpose', [project(q, 0, 'q')], { perm: [1, 2, 0, 3] }); // [N, h, L, d]
  const kt = g.op('Transpose', [project(k, 1, 'k')], { perm: [1, 2, 3, 0] }); // [N, h, d, S]
  const vh = g.op('Transpose', [project(v, 2, 'v')], { perm: [1, 2, 0, 3] }); // [N, h, S, d]
  const scores = g.op('Mul', [g.op('MatMul', [qh, kt]), g.scalar(1 / Math.sqrt(d), q.tensor)]);
  const weights = g.op('Softmax', [scores], { axis: -1 });
  const attended = g.op('Transpose', [g.op('MatMul', [weights, vh])], { perm: [2, 0, 1, 3] });
  const merged = g.op('Reshape', [attended, g.constant([0, 0, e], 'int64', 'shape')]);
  let out = linear(g, m.outProj, [{ name: merged, tensor: q.tensor }], `${path}.out_proj`)[0];
  if (m.batchFirst) out = g.op('Transpose', [out], { perm: [1, 0, 2] });
  if (!needWeights) return [out];
  // PyTorch's default: the weights averaged over heads, [N, L, S].
  const mean =
    g.opset >= 18
      ? g.op('ReduceMean', [weights, g.constant([1], 'int64', 'axes')], { keepdims: 0 })
      : g.op('ReduceMean', [weights], { axes: [1], keepdims: 0 });
  return [out, mean];
}

function feedForward(g: GraphBuilder, m: any, x: Traced, path: string): string {
  const activation = m.config.options.activation ?? 'relu';
  if (activation !== 'relu' && activation !== 'gelu')
    fail(
      path,
      m.constructor.name,
      'its activation is a custom function, which the exporter cannot see into; use relu or gelu',
    );
  const hidden = linear(g, m.linear1, [x], `${path}.linear1`)[0];
  const act =
    activation === 'relu'
      ? g.op('Relu', [hidden])
      : gelu(g, { name: hidden, tensor: x.tensor }, 'none');
  return linear(g, m.linear2, [{ name: act, tensor: x.tensor }], `${path}.linear2`)[0];
}

/** One residual block: x + f(norm(x)) (normFirst) or norm(x + f(x)). */
function residual(
  g: GraphBuilder,
  m: any,
  x: Traced,
  norm: nn.LayerNorm,
  normPath: string,
  f: (t: Traced) => string,
): Traced {
  const like = (name: string): Traced => ({ name, tensor: x.tensor });
  if (m.normFirst)
    return like(g.op('Add', [x.name, f(like(layerNorm(g, norm, [x], normPath)[0]))]));
  return like(layerNorm(g, norm, [like(g.op('Add', [x.name, f(x)]))], normPath)[0]);
}

/** The first block of both layer kinds: self-attention with its residual and norm1. */
function selfAttentionBlock(g: GraphBuilder, m: any, x: Traced, path: string): Traced {
  const p = (s: string) => (path ? `${path}.${s}` : s);
  const attend = (t: Traced) => attention(g, m.selfAttn, [t, t, t], p('self_attn'), false)[0];
  return residual(g, m, x, m.norm1, p('norm1'), attend);
}

function encoderLayer(
  g: GraphBuilder,
  m: nn.TransformerEncoderLayer,
  x: Traced,
  path: string,
): Traced {
  const p = (s: string) => (path ? `${path}.${s}` : s);
  x = selfAttentionBlock(g, m, x, path);
  return residual(g, m, x, m.norm2, p('norm2'), (t) => feedForward(g, m, t, path));
}

function decoderLayer(
  g: GraphBuilder,
  m: nn.TransformerDecoderLayer,
  x: Traced,
  memory: Traced,
  path: string,
): Traced {
  const p = (s: string) => (path ? `${path}.${s}` : s);
  x = selfAttentionBlock(g, m, x, path);
  x = residual(
    g,
    m,
    x,
    m.norm2,
    p('norm2'),
    (t) => attention(g, m.multiheadAttn, [t, memory, memory], p('multihead_attn'), false)[0],
  );
  return residual(g, m, x, m.norm3, p('norm3'), (t) => feedForward(g, m, t, path));
}

function finalNorm(g: GraphBuilder, norm: any, x: Traced, path: string): Traced {
  if (!norm) return x;
  if (!(norm instanceof nn.LayerNorm))
    fail(path, norm.constructor.name, 'only a LayerNorm is exported as the final norm');
  return { name: layerNorm(g, norm, [x], path)[0], tensor: x.tensor };
}

function encoder(g: GraphBuilder, m: nn.TransformerEncoder, x: Traced, path: string): Traced {
  const p = (s: string) => (path ? `${path}.${s}` : s);
  m.layers.forEach((layer, i) => (x = encoderLayer(g, layer, x, p(`layers.${i}`))));
  return finalNorm(g, m.norm, x, p('norm'));
}

function decoder(
  g: GraphBuilder,
  m: nn.TransformerDecoder,
  x: Traced,
  memory: Traced,
  path: string,
): Traced {
  const p = (s: string) => (path ? `${path}.${s}` : s);
  m.layers.forEach((layer, i) => (x = decoderLayer(g, layer, x, memory, p(`layers.${i}`))));
  return finalNorm(g, m.norm, x, p('norm'));
}

export const ATTENTION_CONVERTERS = new Map<LayerClass, Converter>([
  [nn.MultiheadAttention, (g, m, inputs, path) => attention(g, m, inputs, path, true)],
  [nn.TransformerEncoderLayer, (g, m, [x], path) => [encoderLayer(g, m, x, path).name]],
  [nn.TransformerDecoderLayer, (g, m, [x, mem], path) => [decoderLayer(g, m, x, mem, path).name]],
  [nn.TransformerEncoder, (g, m, [x], path) => [encoder(g, m, x, path).name]],
  [nn.TransformerDecoder, (g, m, [x, mem], path) => [decoder(g, m, x, mem, path).name]],
  [
    nn.Transformer,
    (g, m, [src, tgt], path) => {
      const p = (s: string) => (path ? `${path}.${s}` : s);
      const memory = encoder(g, m.encoder, src, p('encoder'));
      return [decoder(g, m.decoder, tgt, memory, p('decoder')).name];
    },
  ],
]);
