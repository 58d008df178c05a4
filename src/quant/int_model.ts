/**
 * An integer-only network: a list of integer layers trained by NITI's rule. `trainStep` is the
 * whole training step in integers: forward in int8 with int32 accumulation, the integer
 * cross-entropy error, backward, and the stochastic-rounding weight update.
 */
import { QMAX, type IntRandom, type QTensor } from './int_arith.js';
import { crossEntropyErrorInt } from './int_cross_entropy.js';
import {
  IntConv2d,
  IntFlatten,
  IntLinear,
  IntMaxPool2d,
  IntReLU,
  type IntLayer,
} from './int_layers.js';

/**
 * A sequence of integer layers.
 * @example
 * const rng = new quant.IntRandom(0);
 * const net = new quant.IntSequential([new quant.IntLinear(784, 10, rng)]);
 * net.trainStep(images, labels, 4, rng); // images: QTensor [N, 784], labels: Int32Array
 */
export class IntSequential {
  constructor(readonly layers: IntLayer[]) {}

  forward(x: QTensor, training = false): QTensor {
    let h = x;
    for (const layer of this.layers) h = layer.forward(h, training);
    return h;
  }

  /**
   * One training step on a batch; returns how many of its examples the forward classified right.
   * `updateBits` is the width of the largest weight change (NITI's learning rate).
   */
  trainStep(x: QTensor, labels: Int32Array, updateBits: number, rng: IntRandom): number {
    const logits = this.forward(x, true);
    const { error, correct } = crossEntropyErrorInt(logits, labels);
    // The first layer with parameters needs no input error; the layers before it none either.
    const first = this.layers.findIndex((l) => l.update !== undefined);
    let e: QTensor | null = error;
    for (let i = this.layers.length - 1; i >= 0 && e !== null; i--)
      e = this.layers[i].backward(e, i > first);
    for (const layer of this.layers) layer.update?.(updateBits, rng);
    return correct;
  }

  /** The predicted class of each row. */
  predict(x: QTensor): Int32Array {
    const logits = this.forward(x, false);
    const [n, classes] = logits.shape;
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      let best = 0;
      for (let j = 1; j < classes; j++)
        if (logits.data[i * classes + j] > logits.data[i * classes + best]) best = j;
      out[i] = best;
    }
    return out;
  }
}

export type IntModelName = 'mlp' | 'cnn';

/** The CLI's MNIST models (see cli/models.ts) in integers: same layers, same sizes. */
export function createIntModel(name: IntModelName, rng: IntRandom): IntSequential {
  switch (name) {
    case 'mlp':
      return new IntSequential([
        new IntFlatten(),
        new IntLinear(784, 256, rng),
        new IntReLU(),
        new IntLinear(256, 128, rng),
        new IntReLU(),
        new IntLinear(128, 10, rng),
      ]);
    case 'cnn':
      return new IntSequential([
        new IntConv2d(1, 32, 3, rng),
        new IntReLU(),
        new IntMaxPool2d(),
        new IntConv2d(32, 64, 3, rng),
        new IntReLU(),
        new IntMaxPool2d(),
        new IntFlatten(),
        new IntLinear(64 * 5 * 5, 128, rng),
        new IntReLU(),
        new IntLinear(128, 10, rng),
      ]);
    default:
      throw new Error(`createIntModel: unknown model '${String(name)}'; expected 'mlp' or 'cnn'`);
  }
}

/**
 * Float pixels in [0, 1] to int8 at scale 2^−7 (q = round(x·127)): the one conversion of the
 * data into integers, done once before training (the dataset stores float32).
 */
export function quantizeImages(pixels: Float32Array, shape: number[]): QTensor {
  const data = new Int8Array(pixels.length);
  for (let i = 0; i < pixels.length; i++) data[i] = Math.round(pixels[i] * QMAX);
  return { data, shape, exp: -7 };
}

/** Rows `indices` of an int8 batch-first tensor. */
export function gatherRows(x: QTensor, indices: ArrayLike<number>): QTensor {
  const row = x.data.length / x.shape[0];
  const out = new Int8Array(indices.length * row);
  for (let i = 0; i < indices.length; i++)
    out.set(x.data.subarray(indices[i] * row, (indices[i] + 1) * row), i * row);
  return { data: out, shape: [indices.length, ...x.shape.slice(1)], exp: x.exp };
}
