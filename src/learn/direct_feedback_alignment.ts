/**
 * Direct feedback alignment (Nøkland 2016, "Direct Feedback Alignment Provides Learning in Deep
 * Neural Networks"): the output error e = dL/dŷ reaches every hidden layer through a fixed random
 * matrix B_i (as e·B_i) instead of through the transposed weights of the layers above. Only the
 * last layer sees its true gradient. Each layer's input is detached, so no gradient crosses a layer.
 */
import { Function, type FunctionContext } from '../autograd/function.js';
import { Module } from '../nn/module.js';
import { randn } from '../tensor/creation.js';
import { defaultGenerator, type Generator } from '../tensor/random.js';
import type { Tensor } from '../tensor/tensor.js';
import type { LossFn, TrainStepResult } from '../train/fit.js';
import { checkLayers, checkNumber, outputWidth } from './layer_stack.js';

const NAME = 'DirectFeedbackAlignment';

export interface DirectFeedbackAlignmentOptions {
  /** Standard deviation of the feedback matrices' entries, times 1/sqrt(output width). Default 1. */
  feedbackScale?: number;
  /** Draws the feedback matrices (default: the global generator that manualSeed seeds). */
  generator?: Generator;
}

/**
 * The identity on the output; in backward, it hands the output's gradient e on unchanged and
 * gives each hidden activity the gradient e·B_i, the direct feedback.
 */
class DirectFeedback extends Function {
  static override forward(
    ctx: FunctionContext,
    output: Tensor,
    feedback: Tensor[],
    ...hidden: Tensor[]
  ): Tensor {
    ctx.feedback = feedback;
    ctx.shapes = hidden.map((h) => h.shape);
    return output;
  }

  static override backward(ctx: FunctionContext, e: Tensor): Tensor[] {
    const error = e.reshape([e.shape[0], -1]);
    const shapes = ctx.shapes as number[][];
    return [e, ...(ctx.feedback as Tensor[]).map((b, i) => error.matmul(b).reshape(shapes[i]))];
  }
}

/**
 * A stack of layers trained by direct feedback alignment. Use it as a model: `fit` calls its
 * `trainStep` with the loss, `call(x)` runs the layers in order. Each layer is any nn.Module
 * that contains an nn.Linear (its last one gives the width of the feedback matrix); hidden
 * layers include their nonlinearity, whose derivative gates the feedback as in the paper.
 * @example
 * const dfa = new learn.DirectFeedbackAlignment([
 *   new nn.Sequential(new nn.Flatten(), new nn.Linear(784, 256), new nn.Tanh()),
 *   new nn.Sequential(new nn.Linear(256, 128), new nn.Tanh()),
 *   new nn.Linear(128, 10),
 * ]);
 * await train.fit(dfa, loader, { optimizer: new optim.Adam(dfa.parameters()), loss: F.crossEntropy, epochs: 10 });
 */
export class DirectFeedbackAlignment extends Module {
  readonly layers: Module[];
  private readonly feedbackCount: number;

  constructor(layers: Module[], options: DirectFeedbackAlignmentOptions = {}) {
    super();
    checkLayers(NAME, layers);
    this.layers = [...layers];
    const scale = checkNumber(NAME, 'feedbackScale', options.feedbackScale ?? 1, 0);
    const generator = options.generator ?? defaultGenerator;
    const outputs = outputWidth(NAME, layers[layers.length - 1], layers.length - 1);
    this.feedbackCount = layers.length - 1;
    // Fixed, not trained: buffers, so that a checkpoint holds them and resuming is exact.
    for (let i = 0; i < this.feedbackCount; i++) {
      const width = outputWidth(NAME, layers[i], i);
      const b = randn([outputs, width], { generator }).mul(scale / Math.sqrt(outputs));
      this.registerBuffer(`feedback_${i}`, b);
    }
  }

  /** The fixed feedback matrices B_i [output width, width of layer i], one per hidden layer. */
  get feedback(): Tensor[] {
    const fields = this as unknown as Record<string, Tensor>;
    return Array.from({ length: this.feedbackCount }, (_, i) => fields[`feedback_${i}`]);
  }

  forward(x: Tensor): Tensor {
    let h = x;
    for (const layer of this.layers) h = layer.call(h) as Tensor;
    return h;
  }

  /** One DFA step: forward with detached layer inputs, then one backward that delivers e·B_i to hidden layer i. */
  trainStep(x: Tensor, target: Tensor, loss: LossFn): TrainStepResult {
    const hidden: Tensor[] = [];
    let h = x;
    for (const layer of this.layers.slice(0, -1)) {
      h = layer.call(h.detach()) as Tensor;
      hidden.push(h);
    }
    const last = this.layers[this.layers.length - 1].call(h.detach()) as Tensor;
    const output = DirectFeedback.apply(last, this.feedback, ...hidden);
    const value = loss(output, target);
    value.backward();
    return { loss: value, output };
  }
}
