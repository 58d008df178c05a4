/**
 * Forward-Forward (Hinton 2022, "The Forward-Forward Algorithm: Some Preliminary
 * Investigations"): each layer learns from a loss of its own, computed in the forward pass.
 * A layer should have high goodness on positive data (an image with its true label written into
 * its first pixels) and low goodness on negative data (the same image with a wrong label).
 * Every layer's input is length-normalised and detached, so no gradient crosses a layer.
 */
import { noGrad } from '../autograd/grad_mode.js';
import { cat } from '../autograd/ops/shape_ops.js';
import * as F from '../nn/functional/index.js';
import { Linear } from '../nn/layers/linear.js';
import { Module } from '../nn/module.js';
import { full, randint, tensor, zeros } from '../tensor/creation.js';
import { defaultGenerator, type Generator } from '../tensor/random.js';
import type { Tensor } from '../tensor/tensor.js';
import type { LossFn, TrainStepResult } from '../train/fit.js';
import {
  checkChoice,
  checkLabels,
  checkLayers,
  checkNumber,
  inputWidth,
  oneHot,
  outputWidth,
} from './layer_stack.js';

const NAME = 'ForwardForward';

export type NegativeData = 'random' | 'hard';
export type ForwardForwardPrediction = 'goodness' | 'softmax';
export type ForwardForwardObjective = 'threshold' | 'symba';

export interface ForwardForwardOptions {
  /** Number of classes (labels written into the first `numClasses` inputs). Default 10. */
  numClasses?: number;
  /** Goodness (mean squared activity) a layer should exceed on positive data and stay below on negative data. Default 2. */
  threshold?: number;
  /**
   * Negative labels: 'random' (a uniformly drawn wrong label) or 'hard' (a wrong label drawn in
   * proportion to the goodness the network gives it now, as Hinton's supervised experiment).
   * Default 'hard'.
   */
  negatives?: NegativeData;
  /** The value the true label's input takes in the embedded one-hot (others are 0). Default 1. */
  labelScale?: number;
  /** Weight of Hinton's peer normalisation (keeps every unit's mean activity near the layer's). Default 0. */
  peerNormalization?: number;
  /**
   * How `call` classifies: 'goodness' (the label whose embedding gives the highest goodness summed
   * over the layers; one pass per label) or 'softmax' (one pass with a neutral label, a linear
   * softmax head on the detached activities). Default 'goodness'.
   */
  predict?: ForwardForwardPrediction;
  /**
   * The local loss: 'threshold' (Hinton's: log(1 + exp(±(goodness - threshold))) on positive and
   * negative rows) or 'symba' (Lee & Song 2023: log(1 + exp(-alpha (G_pos - G_neg))) on each
   * image's positive/negative pair, which needs no threshold and learns faster). Default 'threshold'.
   */
  objective?: ForwardForwardObjective;
  /** The scale of the goodness gap in the 'symba' objective. Default 4. */
  alpha?: number;
  /** Draws the negative labels (default: the global generator that manualSeed seeds). */
  generator?: Generator;
}

/** Rows of x scaled to unit length: the next layer sees only the direction of the activity. */
function normalize(x: Tensor): Tensor {
  return x.div(x.square().sum(1, true).sqrt().add(1e-4));
}

/**
 * A stack of layers trained by Forward-Forward. Use it as a model: `fit` calls its `trainStep`,
 * and `call(images)` returns class scores [N, numClasses]. Each layer is any nn.Module (an
 * nn.Linear followed by nn.ReLU, typically); the first takes the flattened input.
 * @example
 * const ff = new learn.ForwardForward([
 *   new nn.Sequential(new nn.Linear(784, 500), new nn.ReLU()),
 *   new nn.Sequential(new nn.Linear(500, 500), new nn.ReLU()),
 * ]);
 * await train.fit(ff, loader, { optimizer: new optim.Adam(ff.parameters(), { lr: 0.003 }), loss: F.crossEntropy, epochs: 10 });
 * ff.call(images).argmax(1); // predicted digits
 */
export class ForwardForward extends Module {
  readonly layers: Module[];
  /** The softmax head of `predict: 'softmax'` (trained on detached activities), else null. */
  readonly head: Linear | null;
  readonly numClasses: number;
  readonly threshold: number;
  readonly negatives: NegativeData;
  readonly labelScale: number;
  readonly peerNormalization: number;
  readonly predict: ForwardForwardPrediction;
  readonly objective: ForwardForwardObjective;
  readonly alpha: number;
  private readonly generator: Generator;
  private readonly widths: number[];

  constructor(layers: Module[], options: ForwardForwardOptions = {}) {
    super();
    checkLayers(NAME, layers);
    this.layers = [...layers];
    this.numClasses = options.numClasses ?? 10;
    if (!Number.isInteger(this.numClasses) || this.numClasses < 2)
      throw new RangeError(
        `${NAME}: numClasses must be an integer >= 2 (negative data needs a wrong label), got ${this.numClasses}`,
      );
    this.threshold = checkNumber(NAME, 'threshold', options.threshold ?? 2, 0);
    this.negatives = checkChoice(NAME, 'negatives', options.negatives ?? 'hard', [
      'random',
      'hard',
    ]);
    this.labelScale = checkNumber(NAME, 'labelScale', options.labelScale ?? 1, 0);
    this.peerNormalization = checkNumber(
      NAME,
      'peerNormalization',
      options.peerNormalization ?? 0,
      0,
      true,
    );
    this.predict = checkChoice(NAME, 'predict', options.predict ?? 'goodness', [
      'goodness',
      'softmax',
    ]);
    this.objective = checkChoice(NAME, 'objective', options.objective ?? 'threshold', [
      'threshold',
      'symba',
    ]);
    this.alpha = checkNumber(NAME, 'alpha', options.alpha ?? 4, 0);
    const inputs = inputWidth(NAME, layers[0], 0);
    if (inputs <= this.numClasses)
      throw new RangeError(
        `${NAME}: the first layer takes ${inputs} inputs, too few to hold a ${this.numClasses}-class label and any data`,
      );
    this.generator = options.generator ?? defaultGenerator;
    this.widths = layers.map((layer, i) => outputWidth(NAME, layer, i));
    this.head =
      this.predict === 'softmax'
        ? new Linear(
            this.widths.reduce((a, b) => a + b, 0),
            this.numClasses,
          )
        : null;
    if (this.peerNormalization > 0)
      this.widths.forEach((w, i) => this.registerBuffer(`peer_mean_${i}`, zeros([w])));
  }

  /** The images [N, ...] flattened, with their first numClasses inputs replaced by `labels` (one-hot rows [N, C]). */
  embed(images: Tensor, labels: Tensor): Tensor {
    const x = images.reshape([images.shape[0], -1]);
    return cat(
      [labels.mul(this.labelScale), x.narrow(1, this.numClasses, x.shape[1] - this.numClasses)],
      1,
    );
  }

  /** Each layer's activity for embedded inputs x [N, D]; every layer's input is normalised and detached. */
  activities(x: Tensor): Tensor[] {
    const out: Tensor[] = [];
    let h = x;
    for (const layer of this.layers) {
      h = layer.call(normalize(h.detach())) as Tensor;
      out.push(h);
    }
    return out;
  }

  /** Goodness of every label for every image: [N, numClasses], summed over the layers. */
  goodnessScores(images: Tensor): Tensor {
    return noGrad(() => {
      const n = images.shape[0];
      const c = this.numClasses;
      // All labels in one batch: row k*N + i is image i with label k.
      const tiled = images.reshape([n, -1]).repeat([c, 1]);
      const labels = oneHotRows(c, n);
      const acts = this.activities(this.embed(tiled, labels));
      let total = goodness(acts[0]);
      for (const a of acts.slice(1)) total = total.add(goodness(a));
      return total.reshape([c, n]).t().contiguous();
    });
  }

  forward(images: Tensor): Tensor {
    if (this.predict === 'goodness') return this.goodnessScores(images);
    const n = images.shape[0];
    const neutral = full([n, this.numClasses], 1 / this.numClasses);
    return this.head!.call(cat(this.activities(this.embed(images, neutral)), 1).detach());
  }

  /** Wrong labels for `labels`, drawn as options.negatives says; `scores` are the goodness scores for 'hard'. */
  negativeLabels(labels: Tensor, scores: Tensor | null): Tensor {
    const n = labels.shape[0];
    const c = this.numClasses;
    if (!scores) {
      const shift = randint(1, c, [n], { generator: this.generator });
      return labels.add(shift).sub(labels.add(shift).ge(c).int().mul(c));
    }
    const s = scores.dataSync();
    const y = labels.dataSync();
    const wrong = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      let max = -Infinity;
      for (let k = 0; k < c; k++) if (k !== y[i]) max = Math.max(max, s[i * c + k]);
      let total = 0;
      const w = new Float64Array(c);
      for (let k = 0; k < c; k++) total += w[k] = k === y[i] ? 0 : Math.exp(s[i * c + k] - max);
      let u = this.generator.nextDouble() * total;
      let k = 0;
      while (k < c - 1 && (u >= w[k] || w[k] === 0)) {
        u -= w[k];
        k++;
      }
      if (k === y[i]) k = (k + 1) % c; // only reachable through rounding at the very end
      wrong[i] = k;
    }
    return tensor(wrong);
  }

  /**
   * One Forward-Forward step: every layer's local loss on positive and negative data, summed and
   * backpropagated (the detached layer inputs keep each gradient inside its layer). `loss` is
   * unused: Forward-Forward has its own.
   */
  trainStep(images: Tensor, labels: Tensor, _loss?: LossFn): TrainStepResult {
    checkLabels(NAME, labels, this.numClasses);
    const n = images.shape[0];
    const hardScores = this.negatives === 'hard' ? this.goodnessScores(images) : null;
    const wrong = this.negativeLabels(labels, hardScores);
    const x = images.reshape([n, -1]);
    const both = this.embed(
      cat([x, x], 0),
      cat([oneHot(NAME, labels, this.numClasses), oneHot(NAME, wrong, this.numClasses)], 0),
    );
    // Positive rows want goodness above the threshold, negative rows below it.
    const sign = cat([full([n], -1), full([n], 1)], 0);
    let total: Tensor | null = null;
    const acts = this.activities(both);
    acts.forEach((a, i) => {
      const g = goodness(a);
      let local =
        this.objective === 'symba'
          ? F.softplus(g.narrow(0, n, n).sub(g.narrow(0, 0, n)).mul(this.alpha)).mean()
          : F.softplus(g.sub(this.threshold).mul(sign)).mean();
      if (this.peerNormalization > 0) local = local.add(this.peerLoss(i, a.narrow(0, 0, n)));
      total = total ? total.add(local) : local;
    });
    let output: Tensor | undefined = hardScores ?? undefined;
    if (this.head) {
      const neutral = full([n, this.numClasses], 1 / this.numClasses);
      output = this.head.call(cat(this.activities(this.embed(images, neutral)), 1).detach());
      total = total!.add(F.crossEntropy(output, labels));
    }
    total!.backward();
    return { loss: total!, output };
  }

  /** Hinton's peer normalisation: a running mean of each unit's activity, pulled towards the layer's mean. */
  private peerLoss(i: number, positive: Tensor): Tensor {
    const fields = this as unknown as Record<string, Tensor>;
    const name = `peer_mean_${i}`;
    const running = fields[name].mul(0.9).add(positive.mean(0).mul(0.1));
    fields[name] = running.detach();
    return running.sub(running.mean()).square().mean().mul(this.peerNormalization);
  }
}

/** Goodness of each row: the mean squared activity. */
function goodness(a: Tensor): Tensor {
  return a.reshape([a.shape[0], -1]).square().mean(1);
}

/** [c * n, c]: n copies of each one-hot label, label 0 first. */
function oneHotRows(c: number, n: number): Tensor {
  const rows = new Float32Array(c * n * c);
  for (let k = 0; k < c; k++) for (let i = 0; i < n; i++) rows[(k * n + i) * c + k] = 1;
  return tensor(rows, { shape: [c * n, c] });
}
