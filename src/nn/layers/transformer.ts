/**
 * Transformer layers and stacks as torch.nn's: TransformerEncoderLayer, TransformerDecoderLayer,
 * TransformerEncoder, TransformerDecoder and Transformer, with PyTorch's parameter names
 * (self_attn.in_proj_weight, linear1.weight, norm1.weight, …), defaults and semantics: post-norm
 * x = norm(x + block(x)) by default, pre-norm x = x + block(norm(x)) with normFirst.
 */
import { zeros } from '../../tensor/creation.js';
import { formatShape } from '../../tensor/shape.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { Generator } from '../../tensor/random.js';
import * as F from '../functional/index.js';
import { causalMask } from '../functional/attention.js';
import * as init from '../init.js';
import { Module } from '../module.js';
import { MultiheadAttention } from './attention.js';
import { Dropout } from './dropout.js';
import { Linear } from './linear.js';
import { LayerNorm } from './normalization.js';
import { checkPositiveInt } from './util.js';

export type TransformerActivation = 'relu' | 'gelu' | ((x: Tensor) => Tensor);

export interface TransformerLayerOptions {
  /** Hidden size of the feed-forward block (default 2048). */
  dimFeedforward?: number;
  /** Dropout after attention, inside and after the feed-forward block (default 0.1). */
  dropout?: number;
  /** The feed-forward block's activation (default 'relu'; 'gelu' is the exact erf GELU). */
  activation?: TransformerActivation;
  /** LayerNorm eps (default 1e-5). */
  layerNormEps?: number;
  /** Inputs as [N, L, E] instead of [L, N, E] (default false). */
  batchFirst?: boolean;
  /** Pre-norm (normalize before each block) instead of post-norm (default false). */
  normFirst?: boolean;
  /** Whether linear and norm layers have biases (default true). */
  bias?: boolean;
  generator?: Generator;
}

export interface EncoderLayerCallOptions {
  /** The self-attention mask: [L, L] or [N·heads, L, L]; true forbids, floats are added. */
  srcMask?: Tensor | null;
  /** [N, L]: true marks padding positions to ignore. */
  srcKeyPaddingMask?: Tensor | null;
  /** A causal self-attention mask (when srcMask is not given). */
  isCausal?: boolean;
}

export interface DecoderLayerCallOptions {
  tgtMask?: Tensor | null;
  memoryMask?: Tensor | null;
  tgtKeyPaddingMask?: Tensor | null;
  memoryKeyPaddingMask?: Tensor | null;
  /** A causal self-attention mask on the target (when tgtMask is not given). */
  tgtIsCausal?: boolean;
}

function activationFn(name: TransformerActivation): (x: Tensor) => Tensor {
  if (typeof name === 'function') return name;
  if (name === 'relu') return (x) => F.relu(x);
  if (name === 'gelu') return (x) => F.gelu(x);
  throw new Error(
    `Transformer: activation should be 'relu', 'gelu' or a function, not '${String(name)}'`,
  );
}

function checkModelInput(layer: string, x: Tensor, name: string, dModel: number): void {
  if ((x.ndim !== 2 && x.ndim !== 3) || x.shape[x.ndim - 1] !== dModel)
    throw new Error(
      `${layer}: expected ${name} of shape [L, N, ${dModel}], [N, L, ${dModel}] (batchFirst) or [L, ${dModel}] (d_model=${dModel}), got ${formatShape(x.shape)}`,
    );
}

/** The settings a layer was built with, kept so the stacks can build copies of it. */
interface LayerConfig {
  dModel: number;
  nhead: number;
  options: TransformerLayerOptions;
}

/** Shared: the feed-forward block and the settings. */
abstract class TransformerLayerBase extends Module {
  linear1: Linear;
  dropout: Dropout;
  linear2: Linear;
  readonly normFirst: boolean;
  readonly config: LayerConfig;
  protected readonly act: (x: Tensor) => Tensor;

  constructor(dModel: number, nhead: number, options: TransformerLayerOptions) {
    super();
    const {
      dimFeedforward = 2048,
      dropout = 0.1,
      activation = 'relu',
      bias = true,
      generator,
    } = options;
    checkPositiveInt(this.constructor.name, 'd_model', dModel);
    checkPositiveInt(this.constructor.name, 'dim_feedforward', dimFeedforward);
    this.config = { dModel, nhead, options };
    this.act = activationFn(activation);
    this.normFirst = options.normFirst ?? false;
    this.linear1 = new Linear(dModel, dimFeedforward, { bias });
    this.dropout = new Dropout(dropout, { generator });
    this.linear2 = new Linear(dimFeedforward, dModel, { bias });
  }

  protected ff(x: Tensor, out: Dropout): Tensor {
    return out.call(this.linear2.call(this.dropout.call(this.act(this.linear1.call(x)))));
  }

  protected attention(
    attn: MultiheadAttention,
    x: Tensor,
    mem: Tensor,
    mask: Tensor | null,
    padding: Tensor | null,
    isCausal: boolean,
    out: Dropout,
  ): Tensor {
    const [y] = attn.call(x, mem, mem, {
      attnMask: mask,
      keyPaddingMask: padding,
      needWeights: false,
      isCausal: isCausal && mask === null,
    });
    return out.call(y);
  }

  /** A new layer with the same settings and a copy of this one's parameters (PyTorch's deepcopy). */
  abstract copy(): this;
}

function norms(n: number, dModel: number, o: TransformerLayerOptions): LayerNorm[] {
  return Array.from(
    { length: n },
    () => new LayerNorm(dModel, { eps: o.layerNormEps ?? 1e-5, bias: o.bias ?? true }),
  );
}

function dropouts(n: number, o: TransformerLayerOptions): Dropout[] {
  return Array.from({ length: n }, () => new Dropout(o.dropout ?? 0.1, { generator: o.generator }));
}

function attentionOf(dModel: number, nhead: number, o: TransformerLayerOptions) {
  return new MultiheadAttention(dModel, nhead, {
    dropout: o.dropout ?? 0.1,
    bias: o.bias ?? true,
    batchFirst: o.batchFirst ?? false,
    generator: o.generator,
  });
}

function copyLayer<T extends TransformerLayerBase>(layer: T, make: () => T): T {
  const copy = make();
  copy.loadStateDict(layer.stateDict());
  copy.train(layer.training);
  return copy;
}

/**
 * Self-attention and a feed-forward block, each with a residual connection and a LayerNorm.
 * `call(src, { srcMask, srcKeyPaddingMask, isCausal })`.
 * @example
 * const layer = new TransformerEncoderLayer(128, 4, { dimFeedforward: 512, batchFirst: true, normFirst: true });
 * layer.call(randn([16, 64, 128]), { isCausal: true }).shape; // [16, 64, 128]
 */
export class TransformerEncoderLayer extends TransformerLayerBase {
  selfAttn: MultiheadAttention;
  norm1: LayerNorm;
  norm2: LayerNorm;
  dropout1: Dropout;
  dropout2: Dropout;

  constructor(dModel: number, nhead: number, options: TransformerLayerOptions = {}) {
    super(dModel, nhead, options);
    this.selfAttn = attentionOf(dModel, nhead, options);
    [this.norm1, this.norm2] = norms(2, dModel, options);
    [this.dropout1, this.dropout2] = dropouts(2, options);
    // PyTorch's field order, so the state dict lists self_attn first.
    reorder(this, [
      'selfAttn',
      'linear1',
      'dropout',
      'linear2',
      'norm1',
      'norm2',
      'dropout1',
      'dropout2',
    ]);
  }

  forward(src: Tensor, options: EncoderLayerCallOptions = {}): Tensor {
    checkModelInput('TransformerEncoderLayer', src, 'src', this.config.dModel);
    const { srcMask = null, srcKeyPaddingMask = null, isCausal = false } = options;
    const sa = (x: Tensor) =>
      this.attention(this.selfAttn, x, x, srcMask, srcKeyPaddingMask, isCausal, this.dropout1);
    let x = src;
    if (this.normFirst) {
      x = x.add(sa(this.norm1.call(x)));
      x = x.add(this.ff(this.norm2.call(x), this.dropout2));
    } else {
      x = this.norm1.call(x.add(sa(x)));
      x = this.norm2.call(x.add(this.ff(x, this.dropout2)));
    }
    return x;
  }

  copy(): this {
    const { dModel, nhead, options } = this.config;
    return copyLayer(this, () => new TransformerEncoderLayer(dModel, nhead, options) as this);
  }
}

/**
 * Self-attention, attention over the encoder's output (memory) and a feed-forward block, each
 * with a residual connection and a LayerNorm. `call(tgt, memory, options)`.
 * @example
 * const layer = new TransformerDecoderLayer(64, 4, { batchFirst: true });
 * layer.call(randn([2, 7, 64]), randn([2, 9, 64]), { tgtIsCausal: true }).shape; // [2, 7, 64]
 */
export class TransformerDecoderLayer extends TransformerLayerBase {
  selfAttn: MultiheadAttention;
  multiheadAttn: MultiheadAttention;
  norm1: LayerNorm;
  norm2: LayerNorm;
  norm3: LayerNorm;
  dropout1: Dropout;
  dropout2: Dropout;
  dropout3: Dropout;

  constructor(dModel: number, nhead: number, options: TransformerLayerOptions = {}) {
    super(dModel, nhead, options);
    this.selfAttn = attentionOf(dModel, nhead, options);
    this.multiheadAttn = attentionOf(dModel, nhead, options);
    [this.norm1, this.norm2, this.norm3] = norms(3, dModel, options);
    [this.dropout1, this.dropout2, this.dropout3] = dropouts(3, options);
    reorder(this, [
      'selfAttn',
      'multiheadAttn',
      'linear1',
      'dropout',
      'linear2',
      'norm1',
      'norm2',
      'norm3',
      'dropout1',
      'dropout2',
      'dropout3',
    ]);
  }

  forward(tgt: Tensor, memory: Tensor, options: DecoderLayerCallOptions = {}): Tensor {
    const d = this.config.dModel;
    checkModelInput('TransformerDecoderLayer', tgt, 'tgt', d);
    checkModelInput('TransformerDecoderLayer', memory, 'memory', d);
    const {
      tgtMask = null,
      memoryMask = null,
      tgtKeyPaddingMask = null,
      memoryKeyPaddingMask = null,
      tgtIsCausal = false,
    } = options;
    const sa = (x: Tensor) =>
      this.attention(this.selfAttn, x, x, tgtMask, tgtKeyPaddingMask, tgtIsCausal, this.dropout1);
    const mha = (x: Tensor) =>
      this.attention(
        this.multiheadAttn,
        x,
        memory,
        memoryMask,
        memoryKeyPaddingMask,
        false,
        this.dropout2,
      );
    let x = tgt;
    if (this.normFirst) {
      x = x.add(sa(this.norm1.call(x)));
      x = x.add(mha(this.norm2.call(x)));
      x = x.add(this.ff(this.norm3.call(x), this.dropout3));
    } else {
      x = this.norm1.call(x.add(sa(x)));
      x = this.norm2.call(x.add(mha(x)));
      x = this.norm3.call(x.add(this.ff(x, this.dropout3)));
    }
    return x;
  }

  copy(): this {
    const { dModel, nhead, options } = this.config;
    return copyLayer(this, () => new TransformerDecoderLayer(dModel, nhead, options) as this);
  }
}

/** Moves the named fields to the front, in that order, so the state dict follows PyTorch's order. */
function reorder(m: Module, keys: string[]): void {
  const self = m as unknown as Record<string, unknown>;
  for (const k of keys) {
    const v = self[k];
    delete self[k];
    self[k] = v;
  }
}

/**
 * numLayers copies of an encoder layer (each starting from the given layer's weights, as
 * PyTorch's deepcopy), applied in turn, then an optional final norm.
 * @example
 * const enc = new TransformerEncoder(new TransformerEncoderLayer(64, 4), 3, { norm: new LayerNorm(64) });
 * enc.call(randn([10, 2, 64])).shape; // [10, 2, 64]
 */
export class TransformerEncoder extends Module {
  layers: TransformerEncoderLayer[];
  norm: Module | null;

  constructor(
    encoderLayer: TransformerEncoderLayer,
    readonly numLayers: number,
    { norm = null }: { norm?: Module | null } = {},
  ) {
    super();
    if (!(encoderLayer instanceof TransformerEncoderLayer))
      throw new TypeError('TransformerEncoder: expected a TransformerEncoderLayer');
    checkPositiveInt('TransformerEncoder', 'num_layers', numLayers);
    this.layers = Array.from({ length: numLayers }, () => encoderLayer.copy());
    this.norm = norm;
  }

  forward(src: Tensor, options: EncoderLayerCallOptions & { mask?: Tensor | null } = {}): Tensor {
    const { mask = null, ...rest } = options;
    const layerOptions = { ...rest, srcMask: mask ?? rest.srcMask ?? null };
    let x = src;
    for (const layer of this.layers) x = layer.call(x, layerOptions);
    return this.norm ? (this.norm.call(x) as Tensor) : x;
  }
}

/**
 * numLayers copies of a decoder layer applied in turn over the same memory, then an optional
 * final norm.
 * @example
 * const dec = new TransformerDecoder(new TransformerDecoderLayer(64, 4), 2);
 * dec.call(randn([7, 2, 64]), randn([9, 2, 64])).shape; // [7, 2, 64]
 */
export class TransformerDecoder extends Module {
  layers: TransformerDecoderLayer[];
  norm: Module | null;

  constructor(
    decoderLayer: TransformerDecoderLayer,
    readonly numLayers: number,
    { norm = null }: { norm?: Module | null } = {},
  ) {
    super();
    if (!(decoderLayer instanceof TransformerDecoderLayer))
      throw new TypeError('TransformerDecoder: expected a TransformerDecoderLayer');
    checkPositiveInt('TransformerDecoder', 'num_layers', numLayers);
    this.layers = Array.from({ length: numLayers }, () => decoderLayer.copy());
    this.norm = norm;
  }

  forward(tgt: Tensor, memory: Tensor, options: DecoderLayerCallOptions = {}): Tensor {
    let x = tgt;
    for (const layer of this.layers) x = layer.call(x, memory, options);
    return this.norm ? (this.norm.call(x) as Tensor) : x;
  }
}

export interface TransformerOptions extends TransformerLayerOptions {
  numEncoderLayers?: number;
  numDecoderLayers?: number;
}

/**
 * The encoder-decoder model of "Attention Is All You Need" as torch.nn.Transformer: an encoder
 * and a decoder stack, each with a final LayerNorm, parameters of 2+ dims Xavier-uniform.
 * `call(src, tgt, { srcMask, tgtMask, memoryMask, srcKeyPaddingMask, tgtKeyPaddingMask,
 * memoryKeyPaddingMask, tgtIsCausal })`.
 * @example
 * const model = new Transformer(64, 4, { numEncoderLayers: 2, numDecoderLayers: 2, dimFeedforward: 128 });
 * const tgtMask = Transformer.generateSquareSubsequentMask(7);
 * model.call(randn([9, 2, 64]), randn([7, 2, 64]), { tgtMask }).shape; // [7, 2, 64]
 */
export class Transformer extends Module {
  encoder: TransformerEncoder;
  decoder: TransformerDecoder;

  constructor(
    readonly dModel = 512,
    readonly nhead = 8,
    { numEncoderLayers = 6, numDecoderLayers = 6, ...options }: TransformerOptions = {},
  ) {
    super();
    const eps = options.layerNormEps ?? 1e-5;
    const bias = options.bias ?? true;
    this.encoder = new TransformerEncoder(
      new TransformerEncoderLayer(dModel, nhead, options),
      numEncoderLayers,
      { norm: new LayerNorm(dModel, { eps, bias }) },
    );
    this.decoder = new TransformerDecoder(
      new TransformerDecoderLayer(dModel, nhead, options),
      numDecoderLayers,
      { norm: new LayerNorm(dModel, { eps, bias }) },
    );
    for (const p of this.parameters()) if (p.ndim > 1) init.xavierUniform_(p);
  }

  /** The [size, size] float mask with −∞ above the diagonal and 0 elsewhere, as PyTorch's. */
  static generateSquareSubsequentMask(size: number): Tensor {
    return zeros([size, size]).maskedFill(causalMask(size, size).logicalNot(), -Infinity);
  }

  forward(
    src: Tensor,
    tgt: Tensor,
    options: DecoderLayerCallOptions & {
      srcMask?: Tensor | null;
      srcKeyPaddingMask?: Tensor | null;
    } = {},
  ): Tensor {
    const { srcMask = null, srcKeyPaddingMask = null, ...dec } = options;
    const memory = this.encoder.call(src, { srcMask, srcKeyPaddingMask });
    return this.decoder.call(tgt, memory, dec);
  }
}
