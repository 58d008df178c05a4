/** The `--int8` MNIST job: integer-only (NITI-style) training on the same split as the float job. */
import { mnist } from '../data/datasets/mnist.js';
import { IntRandom } from '../quant/int_arith.js';
import {
  createIntModel,
  gatherRows,
  quantizeImages,
  type IntModelName,
} from '../quant/int_model.js';

export interface Int8JobOptions {
  model: IntModelName;
  batchSize: number;
  epochs: number;
  seed: number;
  /** Bits of the largest weight change per step in the first epoch (NITI's learning rate). */
  updateBits: number;
  limit?: number;
  /** Where each epoch's line goes (null: silent). */
  progress?: NodeJS.WritableStream | null;
}

export interface Int8JobResult {
  testAccuracy: number;
  trainAccuracy: number[];
  seconds: number;
}

/**
 * The update width of each epoch: `bits` for the first half of training, one bit less (half the
 * step) after, and one less again for the last quarter, as a step learning-rate schedule.
 */
export function updateBitsAt(epoch: number, epochs: number, bits: number): number {
  const drop = (epoch >= epochs / 2 ? 1 : 0) + (epoch >= (3 * epochs) / 4 ? 1 : 0);
  return Math.max(1, bits - drop);
}

export function trainInt8Mnist(options: Int8JobOptions): Int8JobResult {
  const { model: name, batchSize, epochs, seed } = options;
  const { train, test } = mnist({ seed });
  const n = options.limit ? Math.min(options.limit, train.length) : train.length;
  const trainX = quantizeImages(train.images.dataSync() as Float32Array, [...train.images.shape]);
  const trainY = train.labels.dataSync() as Int32Array;
  const testX = quantizeImages(test.images.dataSync() as Float32Array, [...test.images.shape]);
  const testY = test.labels.dataSync() as Int32Array;
  const rng = new IntRandom(seed);
  const net = createIntModel(name, rng);
  const order = Int32Array.from({ length: n }, (_, i) => i);
  const trainAccuracy: number[] = [];
  const start = performance.now();
  for (let epoch = 0; epoch < epochs; epoch++) {
    const epochStart = performance.now();
    for (let i = n - 1; i > 0; i--) {
      const j = rng.nextInt(i + 1);
      const t = order[i];
      order[i] = order[j];
      order[j] = t;
    }
    const bits = updateBitsAt(epoch, epochs, options.updateBits);
    let correct = 0;
    for (let b = 0; b < n; b += batchSize) {
      const idx = order.subarray(b, Math.min(b + batchSize, n));
      const labels = Int32Array.from(idx, (i) => trainY[i]);
      correct += net.trainStep(gatherRows(trainX, idx), labels, bits, rng);
    }
    trainAccuracy.push(correct / n);
    options.progress?.write(
      `epoch ${epoch + 1}/${epochs}  accuracy ${((100 * correct) / n).toFixed(2)}%  update bits ${bits}  (${((performance.now() - epochStart) / 1000).toFixed(1)} s)\n`,
    );
  }
  const seconds = (performance.now() - start) / 1000;
  let right = 0;
  for (let b = 0; b < testY.length; b += 500) {
    const idx = Int32Array.from({ length: Math.min(500, testY.length - b) }, (_, i) => b + i);
    const predicted = net.predict(gatherRows(testX, idx));
    predicted.forEach((p, i) => (right += p === testY[b + i] ? 1 : 0));
  }
  return { testAccuracy: right / testY.length, trainAccuracy, seconds };
}
