/**
 * Multi-layer recurrent layers over whole sequences (RNN, LSTM, GRU), trained by
 * backpropagation through time: the forward unrolls the steps as ordinary tensor ops, so
 * backward sends the gradient back through every step. PyTorch's shapes, gate order and
 * parameter names (weight_ih_l0, weight_hh_l1_reverse, …), so a PyTorch state dict loads as is.
 * Each layer and direction computes its input projection for all time steps in one matmul, then
 * runs the recurrence as one fused op (autograd/ops/rnn_sequence.ts): per step, h·W_hhᵀ and one
 * gate kernel.
 */
import { tensor, zeros } from '../../tensor/creation.js';
import { formatShape, shapesEqual } from '../../tensor/shape.js';
import type { Tensor } from '../../tensor/tensor.js';
import { cat, stack } from '../../autograd/ops/shape_ops.js';
import { recurrentSequence } from '../../autograd/ops/rnn_sequence.js';
import * as F from '../functional/index.js';
import * as init from '../init.js';
import { Module, pyFloat, pyRepr } from '../module.js';
import { Parameter } from '../parameter.js';
import {
  checkFloat,
  gateCount,
  type CellWeights,
  type RNNMode,
  type RNNNonlinearity,
} from './rnn_cells.js';
import { checkPositiveInt, checkProbability, empty } from './util.js';

export interface RNNOptions {
  /** Stacked recurrent layers (default 1); layer k > 0 reads layer k − 1's output. */
  numLayers?: number;
  /** Whether the layers have b_ih and b_hh (default true). */
  bias?: boolean;
  /** Input and output as [N, L, features] instead of [L, N, features] (the state stays [layers, N, H]). */
  batchFirst?: boolean;
  /** Dropout on the outputs of each layer except the last, in training mode (default 0). */
  dropout?: number;
  /** A second pass over each sequence from its end; outputs are concatenated (default false). */
  bidirectional?: boolean;
}

export interface RNNCallOptions {
  /**
   * The length of each sequence of the batch (each in 1…L), for a padded batch: steps past a
   * sequence's end leave its state untouched and output zeros, so the final state is the one at
   * its last real step and the reverse direction starts there (as PyTorch's pack_padded_sequence
   * followed by pad_packed_sequence).
   */
  lengths?: readonly number[] | Tensor;
}

/** The state an LSTM takes and returns: [h, c], each [D·numLayers, N, H]. */
export type LSTMState = [Tensor, Tensor];

/** What one recurrent pass over one layer and direction needs. */
interface Pass {
  mode: RNNMode;
  input: Tensor; // [L, N, F]
  h0: Tensor; // [N, H]
  c0: Tensor | null;
  weights: CellWeights;
  reverse: boolean;
  lengths: readonly number[] | null;
  /** [L, N, 1]: 1 where the sequence is still running, 0 in its padding (with lengths). */
  outputMask: Tensor | null;
}

/** Runs one direction of one layer: returns the outputs [L, N, H] and the final state. */
function runPass(p: Pass): [Tensor, Tensor, Tensor | null] {
  const [steps, batch, features] = p.input.shape;
  const { weightIh, biasIh, weightHh, biasHh } = p.weights;
  const hidden = weightHh.shape[1];
  // The input projection of every step at once: one [L·N, F] × [F, G·H] product.
  const proj = F.linear(p.input.reshape([steps * batch, features]), weightIh, biasIh).reshape([
    steps,
    batch,
    weightIh.shape[0],
  ]);
  const states = recurrentSequence({
    mode: p.mode,
    proj,
    h0: p.h0,
    c0: p.c0,
    weightHh,
    biasHh,
    reverse: p.reverse,
    lengths: p.lengths,
  });
  const last = states.select(0, p.reverse ? 0 : steps - 1);
  const h = states.narrow(2, 0, hidden);
  const output = p.outputMask ? h.mul(p.outputMask) : h;
  const c = p.mode === 'LSTM' ? last.narrow(1, hidden, hidden) : null;
  return [output, last.narrow(1, 0, hidden), c];
}

/** Shared by RNN, LSTM and GRU: parameters, checks, and the loop over layers and directions. */
abstract class RNNBase extends Module {
  readonly inputSize: number;
  readonly hiddenSize: number;
  readonly numLayers: number;
  readonly bias: boolean;
  readonly batchFirst: boolean;
  readonly dropout: number;
  readonly bidirectional: boolean;

  constructor(
    protected readonly layerName: string,
    protected readonly mode: RNNMode,
    inputSize: number,
    hiddenSize: number,
    {
      numLayers = 1,
      bias = true,
      batchFirst = false,
      dropout = 0,
      bidirectional = false,
    }: RNNOptions,
  ) {
    super();
    this.inputSize = checkPositiveInt(layerName, 'input_size', inputSize);
    this.hiddenSize = checkPositiveInt(layerName, 'hidden_size', hiddenSize);
    this.numLayers = checkPositiveInt(layerName, 'num_layers', numLayers);
    this.dropout = checkProbability(layerName, dropout);
    this.bias = bias;
    this.batchFirst = batchFirst;
    this.bidirectional = bidirectional;
    const rows = gateCount(mode) * hiddenSize;
    const self = this as unknown as Record<string, Parameter>;
    // PyTorch's names, in PyTorch's order (the state dict keys follow field order).
    for (let layer = 0; layer < numLayers; layer++) {
      const layerInput = layer === 0 ? inputSize : hiddenSize * this.numDirections;
      for (const suffix of this.numDirections === 2 ? ['', '_reverse'] : ['']) {
        self[`weight_ih_l${layer}${suffix}`] = new Parameter(empty([rows, layerInput]));
        self[`weight_hh_l${layer}${suffix}`] = new Parameter(empty([rows, hiddenSize]));
        if (bias) {
          self[`bias_ih_l${layer}${suffix}`] = new Parameter(empty([rows]));
          self[`bias_hh_l${layer}${suffix}`] = new Parameter(empty([rows]));
        }
      }
    }
    this.resetParameters();
  }

  get numDirections(): number {
    return this.bidirectional ? 2 : 1;
  }

  /** Every weight and bias from U(±1/√hiddenSize), as PyTorch. */
  resetParameters(): void {
    const k = 1 / Math.sqrt(this.hiddenSize);
    for (const p of this.parameters()) init.uniform_(p, -k, k);
  }

  private weightsOf(layer: number, reverse: boolean): CellWeights {
    const self = this as unknown as Record<string, Parameter | undefined>;
    const suffix = `l${layer}${reverse ? '_reverse' : ''}`;
    return {
      weightIh: self[`weight_ih_${suffix}`]!,
      weightHh: self[`weight_hh_${suffix}`]!,
      biasIh: self[`bias_ih_${suffix}`] ?? null,
      biasHh: self[`bias_hh_${suffix}`] ?? null,
    };
  }

  /** The input as time-major [L, N, F] and whether it was unbatched. */
  private timeMajor(x: Tensor): [Tensor, boolean] {
    checkFloat(this.layerName, x, 'input');
    if ((x.ndim !== 2 && x.ndim !== 3) || x.shape[x.ndim - 1] !== this.inputSize) {
      const layout = this.batchFirst ? 'N, L' : 'L, N';
      throw new Error(
        `${this.layerName}: expected input of shape [${layout}, ${this.inputSize}] or [L, ${this.inputSize}] (input_size=${this.inputSize}), got shape ${formatShape(x.shape)}`,
      );
    }
    if (x.ndim === 2) return [x.unsqueeze(1), true];
    return [this.batchFirst ? x.transpose(0, 1) : x, false];
  }

  /** An initial state as [D·layers, N, H] (zeros when not given), checked. */
  private initialState(s: Tensor | undefined, x: Tensor, unbatched: boolean, name: string): Tensor {
    const layers = this.numDirections * this.numLayers;
    const n = x.shape[1];
    if (s === undefined)
      return zeros([layers, n, this.hiddenSize], { dtype: x.dtype, device: x.device });
    checkFloat(this.layerName, s, name);
    const want = unbatched ? [layers, this.hiddenSize] : [layers, n, this.hiddenSize];
    if (!shapesEqual(s.shape, want))
      throw new Error(
        `${this.layerName}: expected ${name} of shape ${formatShape(want)} (num_layers·num_directions, ${unbatched ? '' : 'batch, '}hidden_size), got ${formatShape(s.shape)}`,
      );
    if (s.dtype !== x.dtype)
      throw new TypeError(
        `${this.layerName}: ${name} has dtype ${s.dtype} but the input has ${x.dtype}`,
      );
    return unbatched ? s.unsqueeze(1) : s;
  }

  /** The lengths as numbers, checked. */
  private checkLengths(
    lengths: readonly number[] | Tensor,
    steps: number,
    batch: number,
  ): number[] {
    const values = Array.isArray(lengths)
      ? (lengths as readonly number[])
      : Array.from((lengths as Tensor).dataSync());
    if (values.length !== batch || values.some((v) => !Number.isInteger(v) || v < 1 || v > steps))
      throw new Error(
        `${this.layerName}: lengths must hold one integer in 1…${steps} (the sequence length) per batch element (${batch}), got [${values.join(', ')}]`,
      );
    return values.map(Number);
  }

  /** The recurrence over all layers and directions; returns the output and final h (and c). */
  protected run(
    x: Tensor,
    h0: Tensor | undefined,
    c0: Tensor | undefined | null,
    options: RNNCallOptions,
  ): [Tensor, Tensor, Tensor | null] {
    const [input, unbatched] = this.timeMajor(x);
    const [steps, batch] = input.shape;
    const h = this.initialState(h0, input, unbatched, 'h0');
    const c = c0 === null ? null : this.initialState(c0, input, unbatched, 'c0');
    if (options.lengths !== undefined && unbatched)
      throw new Error(
        `${this.layerName}: lengths needs a batched input, got shape ${formatShape(x.shape)}`,
      );
    const lengths =
      options.lengths === undefined ? null : this.checkLengths(options.lengths, steps, batch);
    // [L, N, 1]: which outputs are real steps (padding outputs zeros, as pad_packed_sequence).
    const outputMask =
      lengths === null
        ? null
        : tensor(
            Array.from({ length: steps }, (_, t) => lengths.map((v) => [t < v ? 1 : 0])),
            { dtype: input.dtype },
          );
    let layerInput = input;
    const hN: Tensor[] = [];
    const cN: Tensor[] = [];
    for (let layer = 0; layer < this.numLayers; layer++) {
      const outs: Tensor[] = [];
      for (let d = 0; d < this.numDirections; d++) {
        const k = layer * this.numDirections + d;
        const [out, hk, ck] = runPass({
          mode: this.mode,
          input: layerInput,
          h0: h.select(0, k),
          c0: c === null ? null : c.select(0, k),
          weights: this.weightsOf(layer, d === 1),
          reverse: d === 1,
          lengths,
          outputMask,
        });
        outs.push(out);
        hN.push(hk);
        if (ck !== null) cN.push(ck);
      }
      layerInput = outs.length === 1 ? outs[0] : cat(outs, 2);
      if (layer < this.numLayers - 1 && this.dropout > 0)
        layerInput = F.dropout(layerInput, this.dropout, this.training);
    }
    let output = layerInput;
    let hOut = stack(hN, 0);
    let cOut = c === null ? null : stack(cN, 0);
    if (unbatched) {
      output = output.squeeze(1);
      hOut = hOut.squeeze(1);
      cOut = cOut?.squeeze(1) ?? null;
    } else if (this.batchFirst) output = output.transpose(0, 1);
    return [output, hOut, cOut];
  }

  override extraRepr(): string {
    let s = `${this.inputSize}, ${this.hiddenSize}`;
    if (this.mode === 'RNN_RELU') s += ", nonlinearity='relu'";
    if (this.numLayers !== 1) s += `, num_layers=${this.numLayers}`;
    if (!this.bias) s += `, bias=${pyRepr(false)}`;
    if (this.batchFirst) s += `, batch_first=${pyRepr(true)}`;
    if (this.dropout !== 0) s += `, dropout=${pyFloat(this.dropout)}`;
    if (this.bidirectional) s += `, bidirectional=${pyRepr(true)}`;
    return s;
  }
}

/**
 * A multi-layer Elman RNN: h_t = tanh(x_t·W_ihᵀ + b_ih + h_{t−1}·W_hhᵀ + b_hh) (or relu).
 * `call(x, h0?)` returns [output, hN]: output [L, N, D·H] (or [N, L, D·H] with batchFirst),
 * hN [D·numLayers, N, H].
 * @example
 * const rnn = new RNN(10, 20, { numLayers: 2 });
 * const [output, hN] = rnn.call(randn([5, 3, 10])); // output [5, 3, 20], hN [2, 3, 20]
 */
export class RNN extends RNNBase {
  readonly nonlinearity: RNNNonlinearity;

  constructor(
    inputSize: number,
    hiddenSize: number,
    { nonlinearity = 'tanh', ...options }: RNNOptions & { nonlinearity?: RNNNonlinearity } = {},
  ) {
    if (nonlinearity !== 'tanh' && nonlinearity !== 'relu')
      throw new Error(`RNN: nonlinearity must be 'tanh' or 'relu', got '${String(nonlinearity)}'`);
    super('RNN', nonlinearity === 'tanh' ? 'RNN_TANH' : 'RNN_RELU', inputSize, hiddenSize, options);
    this.nonlinearity = nonlinearity;
  }

  forward(x: Tensor, h0?: Tensor, options: RNNCallOptions = {}): [Tensor, Tensor] {
    const [output, hN] = this.run(x, h0, null, options);
    return [output, hN];
  }
}

/**
 * A multi-layer long short-term memory network (gates i, f, g, o, as PyTorch).
 * `call(x, [h0, c0]?)` returns [output, [hN, cN]].
 * @example
 * const lstm = new LSTM(10, 20, { batchFirst: true });
 * const [output, [hN, cN]] = lstm.call(randn([3, 5, 10])); // output [3, 5, 20], hN [1, 3, 20]
 * // a padded batch: lstm.call(x, undefined, { lengths: [5, 2, 4] })
 */
export class LSTM extends RNNBase {
  constructor(inputSize: number, hiddenSize: number, options: RNNOptions = {}) {
    super('LSTM', 'LSTM', inputSize, hiddenSize, options);
  }

  forward(x: Tensor, state?: LSTMState, options: RNNCallOptions = {}): [Tensor, LSTMState] {
    if (state !== undefined && (!Array.isArray(state) || state.length !== 2))
      throw new TypeError(`LSTM: expected the initial state as a pair [h0, c0]`);
    const [output, hN, cN] = this.run(x, state?.[0], state?.[1], options);
    return [output, [hN, cN!]];
  }
}

/**
 * A multi-layer gated recurrent unit network (gates r, z, n, as PyTorch).
 * `call(x, h0?)` returns [output, hN].
 * @example
 * const gru = new GRU(10, 20, { bidirectional: true });
 * const [output, hN] = gru.call(randn([5, 3, 10])); // output [5, 3, 40], hN [2, 3, 20]
 */
export class GRU extends RNNBase {
  constructor(inputSize: number, hiddenSize: number, options: RNNOptions = {}) {
    super('GRU', 'GRU', inputSize, hiddenSize, options);
  }

  forward(x: Tensor, h0?: Tensor, options: RNNCallOptions = {}): [Tensor, Tensor] {
    const [output, hN] = this.run(x, h0, null, options);
    return [output, hN];
  }
}
