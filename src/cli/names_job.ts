/**
 * `chainrule train names`: a character-level language model of English first names
 * (makemore-style), an LSTM, a GRU or a small causal transformer, reporting the validation loss
 * in nats per character and sampling names with a temperature. scripts/names_torch.py trains the
 * same models with the same recipe, split and batch order in PyTorch, for comparison.
 */
import '../index.js'; // registers the backends, also when this module is imported on its own
import * as F from '../nn/functional/index.js';
import * as nn from '../nn/index.js';
import * as optim from '../optim/index.js';
import { noGrad } from '../autograd/grad_mode.js';
import { tensor } from '../tensor/creation.js';
import { Generator, manualSeed } from '../tensor/random.js';
import type { Tensor } from '../tensor/tensor.js';
import { firstNames, splitNames } from '../data/datasets/first_names.js';

export type NamesModel = 'lstm' | 'gru' | 'transformer';
export const NAMES_MODELS: readonly NamesModel[] = ['lstm', 'gru', 'transformer'];

/** The recipe, shared with scripts/names_torch.py. */
export const NAMES_RECIPE = {
  embed: 32,
  hidden: 128,
  dModel: 64,
  heads: 4,
  layers: 2,
  feedforward: 256,
  batchSize: 32,
  epochs: 8,
  lr: { lstm: 3e-3, gru: 3e-3, transformer: 1e-3 },
  clip: 1,
} as const;

/** '.' (index 0) marks a name's start and end; then the characters that occur, sorted. */
function vocabulary(names: readonly string[]): string[] {
  return ['.', ...[...new Set(names.join(''))].sort()];
}

/**
 * The order of the training names in epoch `epoch`: sorted by a multiplicative hash, a fixed
 * shuffle that scripts/names_torch.py computes the same way (no random numbers to match).
 */
export function epochOrder(count: number, epoch: number): number[] {
  const key = (i: number) => ((i + epoch * 40503) * 2654435761) % 4294967296;
  return Array.from({ length: count }, (_, i) => i).sort((a, b) => key(a) - key(b) || a - b);
}

/** Inputs [B, T] (start token, then the characters) and targets [B, T] (the characters, then the end; −100 past it). */
function encodeBatch(names: readonly string[], index: Map<string, number>): [Tensor, Tensor] {
  const t = Math.max(...names.map((n) => n.length)) + 1;
  const x = new Int32Array(names.length * t);
  const y = new Int32Array(names.length * t).fill(-100);
  names.forEach((name, b) => {
    const ids = [...name].map((c) => index.get(c)!);
    for (let k = 0; k <= ids.length; k++) {
      x[b * t + k] = k === 0 ? 0 : ids[k - 1];
      y[b * t + k] = k === ids.length ? 0 : ids[k];
    }
  });
  return [
    tensor(x, { shape: [names.length, t], dtype: 'int32' }),
    tensor(y, { shape: [names.length, t], dtype: 'int32' }),
  ];
}

/** Embedding → LSTM or GRU → linear head, over [B, T] tokens. */
class RecurrentLM extends nn.Module {
  embedding: nn.Embedding;
  rnn: nn.LSTM | nn.GRU;
  head: nn.Linear;
  constructor(vocab: number, kind: 'lstm' | 'gru') {
    super();
    const { embed, hidden } = NAMES_RECIPE;
    this.embedding = new nn.Embedding(vocab, embed);
    this.rnn =
      kind === 'lstm'
        ? new nn.LSTM(embed, hidden, { batchFirst: true })
        : new nn.GRU(embed, hidden, { batchFirst: true });
    this.head = new nn.Linear(hidden, vocab);
  }
  forward(x: Tensor): Tensor {
    const [out] = this.rnn.call(this.embedding.call(x));
    return this.head.call(out);
  }
}

/** Token and learned position embeddings → pre-norm causal transformer layers → norm → head. */
class TransformerLM extends nn.Module {
  embedding: nn.Embedding;
  position: nn.Embedding;
  encoder: nn.TransformerEncoder;
  head: nn.Linear;
  constructor(vocab: number, maxLength: number) {
    super();
    const { dModel, heads, layers, feedforward } = NAMES_RECIPE;
    this.embedding = new nn.Embedding(vocab, dModel);
    this.position = new nn.Embedding(maxLength, dModel);
    const layer = new nn.TransformerEncoderLayer(dModel, heads, {
      dimFeedforward: feedforward,
      dropout: 0,
      activation: 'gelu',
      batchFirst: true,
      normFirst: true,
    });
    this.encoder = new nn.TransformerEncoder(layer, layers, { norm: new nn.LayerNorm(dModel) });
    this.head = new nn.Linear(dModel, vocab);
  }
  forward(x: Tensor): Tensor {
    const t = x.shape[1];
    const positions = tensor(
      Int32Array.from({ length: t }, (_, i) => i),
      { dtype: 'int32' },
    );
    const h = this.embedding.call(x).add(this.position.call(positions));
    return this.head.call(this.encoder.call(h, { isCausal: true }));
  }
}

export interface NamesJobOptions {
  model: NamesModel;
  epochs?: number;
  lr?: number;
  batchSize?: number;
  seed: number;
  temperature: number;
  samples?: number;
  log?: (line: string) => void;
}

export interface NamesJobResult {
  valLoss: number;
  samples: string[];
  seconds: number;
}

/** Mean NLL in nats per predicted character (the end marker included) over `names`. */
function evaluateNats(
  model: nn.Module,
  names: readonly string[],
  index: Map<string, number>,
): number {
  return noGrad(() => {
    let total = 0;
    let count = 0;
    for (let i = 0; i < names.length; i += 500) {
      const [x, y] = encodeBatch(names.slice(i, i + 500), index);
      const logits = model.call(x) as Tensor;
      const v = logits.shape[2];
      total += Number(
        F.crossEntropy(logits.reshape([-1, v]), y.reshape([-1]), { reduction: 'sum' }).itemSync(),
      );
      count += names.slice(i, i + 500).reduce((a, n) => a + n.length + 1, 0);
    }
    return total / count;
  });
}

/** Samples a name one character at a time from softmax(logits / temperature). */
function sample(
  model: nn.Module,
  vocab: string[],
  temperature: number,
  generator: Generator,
  maxLength: number,
): string {
  return noGrad(() => {
    const ids = [0];
    while (ids.length <= maxLength) {
      const logits = model.call(
        tensor(Int32Array.from(ids), { shape: [1, ids.length], dtype: 'int32' }),
      ) as Tensor;
      const last = logits
        .select(1, ids.length - 1)
        .reshape([-1])
        .div(temperature)
        .softmax(0)
        .dataSync();
      let u = generator.nextDouble();
      let next = last.length - 1;
      for (let k = 0; k < last.length; k++) {
        u -= last[k];
        if (u < 0) {
          next = k;
          break;
        }
      }
      if (next === 0) break;
      ids.push(next);
    }
    return ids
      .slice(1)
      .map((i) => vocab[i])
      .join('');
  });
}

/** Trains, reports validation nats/char each epoch, and samples names. */
export function trainNames(options: NamesJobOptions): NamesJobResult {
  const { model: kind, seed, temperature } = options;
  const epochs = options.epochs ?? NAMES_RECIPE.epochs;
  const batchSize = options.batchSize ?? NAMES_RECIPE.batchSize;
  const lr = options.lr ?? NAMES_RECIPE.lr[kind];
  const log = options.log ?? ((line: string) => process.stderr.write(line + '\n'));
  manualSeed(seed);
  const names = firstNames();
  const { train, val } = splitNames(names);
  const vocab = vocabulary(names);
  const index = new Map(vocab.map((c, i) => [c, i]));
  const maxLength = Math.max(...names.map((n) => n.length)) + 1;
  const model =
    kind === 'transformer'
      ? new TransformerLM(vocab.length, maxLength)
      : new RecurrentLM(vocab.length, kind);
  const optimizer = new optim.Adam(model.parameters(), { lr });
  log(
    `${train.length} training and ${val.length} validation names, ${vocab.length} tokens; ${kind}, Adam lr ${lr}, batch ${batchSize}, ${epochs} epochs`,
  );
  const start = performance.now();
  for (let epoch = 0; epoch < epochs; epoch++) {
    const order = epochOrder(train.length, epoch);
    let sum = 0;
    let batches = 0;
    for (let i = 0; i < order.length; i += batchSize) {
      const [x, y] = encodeBatch(
        order.slice(i, i + batchSize).map((k) => train[k]),
        index,
      );
      const logits = model.call(x);
      const loss = F.crossEntropy(logits.reshape([-1, vocab.length]), y.reshape([-1]));
      optimizer.zeroGrad();
      loss.backward();
      nn.utils.clipGradNorm_(model.parameters(), NAMES_RECIPE.clip);
      optimizer.step();
      sum += Number(loss.itemSync());
      batches++;
    }
    const valLoss = evaluateNats(model, val, index);
    const seconds = (performance.now() - start) / 1000;
    log(
      `epoch ${epoch + 1}/${epochs}: train ${(sum / batches).toFixed(4)}, validation ${valLoss.toFixed(4)} nats/char (${seconds.toFixed(1)} s)`,
    );
  }
  const seconds = (performance.now() - start) / 1000;
  const valLoss = evaluateNats(model, val, index);
  const generator = new Generator(seed);
  const samples = Array.from({ length: options.samples ?? 10 }, () =>
    sample(model, vocab, temperature, generator, maxLength),
  );
  return { valLoss, samples, seconds };
}
