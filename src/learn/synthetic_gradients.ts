/**
 * Synthetic gradients (Jaderberg et al. 2016, "Decoupled Neural Interfaces using Synthetic
 * Gradients"): at every boundary between layers a small model predicts dL/dh from the activity h
 * (and the label, for cDNI). A layer updates at once from that prediction, without waiting for the
 * layers above; each predictor regresses the gradient that does arrive later: the true gradient
 * at the last boundary, and above the first layers the gradient that the next layer's own
 * synthetic gradient induces at its input (bootstrapping).
 */
import * as F from '../nn/functional/index.js';
import { ReLU } from '../nn/layers/activation.js';
import { Sequential } from '../nn/layers/containers.js';
import { Linear } from '../nn/layers/linear.js';
import * as init from '../nn/init.js';
import { Module } from '../nn/module.js';
import { cat } from '../autograd/ops/shape_ops.js';
import type { Tensor } from '../tensor/tensor.js';
import type { LossFn, TrainStepResult } from '../train/fit.js';
import { checkLayers, checkNumber, oneHot, outputWidth } from './layer_stack.js';

const NAME = 'SyntheticGradients';

export interface SyntheticGradientsOptions {
  /** Condition the predictors on the label (cDNI). Default true. */
  conditioned?: boolean;
  /** Number of classes for the label one-hot of cDNI. Default: the last layer's output width. */
  numClasses?: number;
  /** Hidden units of each predictor; 0 makes it linear (the paper's best cDNI MLP). Default 0. */
  predictorHidden?: number;
}

/**
 * A stack of layers trained with decoupled neural interfaces. Use it as a model: `fit` calls
 * its `trainStep` with the loss; `call(x)` runs the layers in order. Each layer is any nn.Module
 * that contains an nn.Linear (its last one gives the width of the gradient it needs).
 * @example
 * const dni = new learn.SyntheticGradients([
 *   new nn.Sequential(new nn.Flatten(), new nn.Linear(784, 256), new nn.ReLU()),
 *   new nn.Sequential(new nn.Linear(256, 128), new nn.ReLU()),
 *   new nn.Linear(128, 10),
 * ]);
 * await train.fit(dni, loader, { optimizer: new optim.Adam(dni.parameters()), loss: F.crossEntropy, epochs: 10 });
 */
export class SyntheticGradients extends Module {
  readonly layers: Module[];
  /** One gradient predictor per boundary: predictors[i] maps layer i's output (and label) to dL/dh. */
  readonly predictors: Module[];
  readonly conditioned: boolean;
  readonly numClasses: number;

  constructor(layers: Module[], options: SyntheticGradientsOptions = {}) {
    super();
    checkLayers(NAME, layers);
    this.layers = [...layers];
    this.conditioned = options.conditioned ?? true;
    const last = layers.length - 1;
    this.numClasses = options.numClasses ?? outputWidth(NAME, layers[last], last);
    if (!Number.isInteger(this.numClasses) || this.numClasses < 1)
      throw new RangeError(
        `${NAME}: numClasses must be a positive integer, got ${this.numClasses}`,
      );
    const hidden = checkNumber(NAME, 'predictorHidden', options.predictorHidden ?? 0, 0, true);
    if (!Number.isInteger(hidden))
      throw new RangeError(`${NAME}: predictorHidden must be an integer, got ${hidden}`);
    this.predictors = layers.slice(0, -1).map((layer, i) => {
      const width = outputWidth(NAME, layer, i);
      const inputs = width + (this.conditioned ? this.numClasses : 0);
      const out = new Linear(hidden > 0 ? hidden : inputs, width);
      // Zero-initialised output, as in the paper: the first synthetic gradients are zero, so no
      // layer is pushed by an untrained predictor's noise.
      init.zeros_(out.weight);
      init.zeros_(out.bias!);
      return hidden > 0 ? new Sequential(new Linear(inputs, hidden), new ReLU(), out) : out;
    });
  }

  forward(x: Tensor): Tensor {
    let h = x;
    for (const layer of this.layers) h = layer.call(h) as Tensor;
    return h;
  }

  /**
   * One DNI step: each hidden layer backpropagates its predicted gradient (no gradient crosses a
   * layer: every layer's input is a detached leaf), the last layer its true loss gradient; then
   * each predictor regresses the gradient that reached the next layer's input.
   */
  trainStep(x: Tensor, target: Tensor, loss: LossFn): TrainStepResult {
    const n = x.shape[0];
    const label = this.conditioned ? oneHot(NAME, target, this.numClasses) : null;
    const inputs: Tensor[] = [];
    const predicted: Tensor[] = [];
    let surrogate: Tensor | null = null;
    let h = x;
    for (let i = 0; i + 1 < this.layers.length; i++) {
      const input = i === 0 ? h : h.detach().requiresGrad_();
      inputs.push(input);
      h = this.layers[i].call(input) as Tensor;
      const flat = h.detach().reshape([n, -1]);
      // Predictors learn the gradient of the summed loss (per example, independent of the batch
      // size); the layer receives it divided by n, the gradient of the mean loss.
      const g = this.predictors[i].call(label ? cat([flat, label], 1) : flat) as Tensor;
      predicted.push(g);
      const term = h.reshape([n, -1]).mul(g.detach()).sum().div(n);
      surrogate = surrogate ? surrogate.add(term) : term;
    }
    const lastInput = this.layers.length > 1 ? h.detach().requiresGrad_() : h;
    if (this.layers.length > 1) inputs.push(lastInput);
    const output = this.layers[this.layers.length - 1].call(lastInput) as Tensor;
    const value = loss(output, target);
    (surrogate ? value.add(surrogate) : value).backward();
    let regression: Tensor | null = null;
    predicted.forEach((g, i) => {
      const arrived = inputs[i + 1].grad!.detach().reshape([n, -1]).mul(n);
      const term = F.mseLoss(g, arrived);
      regression = regression ? regression.add(term) : term;
    });
    if (regression) (regression as Tensor).backward();
    return { loss: value, output };
  }
}
