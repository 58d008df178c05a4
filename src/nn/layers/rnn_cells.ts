/**
 * Recurrent cells (RNNCell, LSTMCell, GRUCell) and the one-step gate math they share with the
 * sequence layers in rnn.ts. The step functions take the input projection x·W_ihᵀ + b_ih already
 * computed, so that a sequence layer can compute it for all time steps in one matmul (as cuDNN
 * and PyTorch do) and only the small h·W_hhᵀ product runs per step.
 */
import { zeros } from '../../tensor/creation.js';
import { formatShape, shapesEqual } from '../../tensor/shape.js';
import type { Tensor } from '../../tensor/tensor.js';
import { isFloatingDType } from '../../tensor/dtype.js';
import * as F from '../functional/index.js';
import * as init from '../init.js';
import { Module, pyRepr } from '../module.js';
import { Parameter } from '../parameter.js';
import { checkPositiveInt, empty } from './util.js';
import { lstmGates, gruGates } from '../../autograd/ops/rnn_gates.js';

export type RNNNonlinearity = 'tanh' | 'relu';
export type RNNMode = 'LSTM' | 'GRU' | 'RNN_TANH' | 'RNN_RELU';

/** Gate rows per hidden unit: i, f, g, o for LSTM; r, z, n for GRU; one for a plain RNN. */
export function gateCount(mode: RNNMode): number {
  return mode === 'LSTM' ? 4 : mode === 'GRU' ? 3 : 1;
}

/** The weights of one layer and direction: weight_ih [G·H, in], weight_hh [G·H, H], biases [G·H]. */
export interface CellWeights {
  weightIh: Tensor;
  weightHh: Tensor;
  biasIh: Tensor | null;
  biasHh: Tensor | null;
}

/**
 * One recurrent step from the projected input `xProj` = x·W_ihᵀ + b_ih [N, G·H] and the state.
 * Returns the new hidden state (and, for LSTM, the new cell state). Gate order is PyTorch's.
 */
export function recurrentStep(
  mode: RNNMode,
  xProj: Tensor,
  h: Tensor,
  c: Tensor | null,
  w: CellWeights,
): [Tensor, Tensor | null] {
  const hProj = F.linear(h, w.weightHh, w.biasHh);
  if (mode === 'LSTM') return lstmGates(xProj, hProj, c!);
  if (mode === 'GRU') return [gruGates(xProj, hProj, h), null];
  const pre = xProj.add(hProj);
  return [mode === 'RNN_TANH' ? pre.tanh() : pre.relu(), null];
}

/** Throws unless `t` is a floating tensor; `what` names it in the message. */
export function checkFloat(layer: string, t: Tensor, what: string): void {
  if (!isFloatingDType(t.dtype))
    throw new TypeError(`${layer}: expected ${what} of a floating dtype, got ${t.dtype}`);
}

/** Shared by the three cells: parameters, initialization and input checks. */
abstract class CellBase extends Module {
  readonly inputSize: number;
  readonly hiddenSize: number;
  readonly bias: boolean;
  weightIh: Parameter;
  weightHh: Parameter;
  biasIh: Parameter | null;
  biasHh: Parameter | null;

  constructor(
    protected readonly layerName: string,
    protected readonly mode: RNNMode,
    inputSize: number,
    hiddenSize: number,
    bias: boolean,
  ) {
    super();
    this.inputSize = checkPositiveInt(layerName, 'input_size', inputSize);
    this.hiddenSize = checkPositiveInt(layerName, 'hidden_size', hiddenSize);
    this.bias = bias;
    const rows = gateCount(mode) * hiddenSize;
    this.weightIh = new Parameter(empty([rows, inputSize]));
    this.weightHh = new Parameter(empty([rows, hiddenSize]));
    this.biasIh = bias ? new Parameter(empty([rows])) : null;
    this.biasHh = bias ? new Parameter(empty([rows])) : null;
    this.resetParameters();
  }

  /** Every weight and bias from U(±1/√hiddenSize), as PyTorch. */
  resetParameters(): void {
    const k = 1 / Math.sqrt(this.hiddenSize);
    for (const p of this.parameters()) init.uniform_(p, -k, k);
  }

  /** The input as [N, inputSize] and whether it was unbatched ([inputSize]). */
  protected batchedInput(x: Tensor): [Tensor, boolean] {
    checkFloat(this.layerName, x, 'input');
    if ((x.ndim !== 1 && x.ndim !== 2) || x.shape[x.ndim - 1] !== this.inputSize) {
      throw new Error(
        `${this.layerName}: expected input of shape [N, ${this.inputSize}] or [${this.inputSize}] (input_size=${this.inputSize}), got shape ${formatShape(x.shape)}`,
      );
    }
    return x.ndim === 1 ? [x.unsqueeze(0), true] : [x, false];
  }

  /** The state `name` as [N, hiddenSize] (zeros when not given), checked against the input. */
  protected batchedState(s: Tensor | undefined, x: Tensor, unbatched: boolean, name: string) {
    const n = x.shape[0];
    if (s === undefined) return zeros([n, this.hiddenSize], { dtype: x.dtype, device: x.device });
    checkFloat(this.layerName, s, name);
    const want = unbatched ? [this.hiddenSize] : [n, this.hiddenSize];
    if (!shapesEqual(s.shape, want))
      throw new Error(
        `${this.layerName}: expected ${name} of shape ${formatShape(want)} for input of shape ${formatShape(unbatched ? [this.inputSize] : x.shape)}, got ${formatShape(s.shape)}`,
      );
    return unbatched ? s.unsqueeze(0) : s;
  }

  protected weights(): CellWeights {
    return {
      weightIh: this.weightIh,
      weightHh: this.weightHh,
      biasIh: this.biasIh,
      biasHh: this.biasHh,
    };
  }

  override extraRepr(): string {
    const extra = this.mode === 'RNN_RELU' ? ", nonlinearity='relu'" : '';
    const bias = this.bias ? '' : `, bias=${pyRepr(false)}`;
    return `${this.inputSize}, ${this.hiddenSize}${bias}${extra}`;
  }
}

/**
 * An Elman RNN cell: h' = tanh(x·W_ihᵀ + b_ih + h·W_hhᵀ + b_hh) (or relu).
 * @example
 * const cell = new RNNCell(10, 20);
 * let h = zeros([3, 20]);
 * for (const x of inputs) h = cell.call(x, h); // x [3, 10]
 */
export class RNNCell extends CellBase {
  readonly nonlinearity: RNNNonlinearity;

  constructor(
    inputSize: number,
    hiddenSize: number,
    { bias = true, nonlinearity = 'tanh' }: { bias?: boolean; nonlinearity?: RNNNonlinearity } = {},
  ) {
    if (nonlinearity !== 'tanh' && nonlinearity !== 'relu')
      throw new Error(
        `RNNCell: nonlinearity must be 'tanh' or 'relu', got '${String(nonlinearity)}'`,
      );
    super(
      'RNNCell',
      nonlinearity === 'tanh' ? 'RNN_TANH' : 'RNN_RELU',
      inputSize,
      hiddenSize,
      bias,
    );
    this.nonlinearity = nonlinearity;
  }

  forward(x: Tensor, h?: Tensor): Tensor {
    const [input, unbatched] = this.batchedInput(x);
    const state = this.batchedState(h, input, unbatched, 'hidden state h');
    const w = this.weights();
    const [out] = recurrentStep(this.mode, F.linear(input, w.weightIh, w.biasIh), state, null, w);
    return unbatched ? out.squeeze(0) : out;
  }
}

/**
 * A long short-term memory cell: gates i, f, g, o from x·W_ihᵀ + b_ih + h·W_hhᵀ + b_hh;
 * c' = σ(f)·c + σ(i)·tanh(g), h' = σ(o)·tanh(c').
 * @example
 * const cell = new LSTMCell(10, 20);
 * const [h1, c1] = cell.call(randn([3, 10])); // zero initial state
 * const [h2, c2] = cell.call(randn([3, 10]), [h1, c1]);
 */
export class LSTMCell extends CellBase {
  constructor(inputSize: number, hiddenSize: number, { bias = true }: { bias?: boolean } = {}) {
    super('LSTMCell', 'LSTM', inputSize, hiddenSize, bias);
  }

  forward(x: Tensor, state?: [Tensor, Tensor]): [Tensor, Tensor] {
    const [input, unbatched] = this.batchedInput(x);
    if (state !== undefined && (!Array.isArray(state) || state.length !== 2))
      throw new TypeError(`LSTMCell: expected the state as a pair [h, c]`);
    const h = this.batchedState(state?.[0], input, unbatched, 'hidden state h');
    const c = this.batchedState(state?.[1], input, unbatched, 'cell state c');
    const w = this.weights();
    const [h1, c1] = recurrentStep('LSTM', F.linear(input, w.weightIh, w.biasIh), h, c, w);
    return unbatched ? [h1.squeeze(0), c1!.squeeze(0)] : [h1, c1!];
  }
}

/**
 * A gated recurrent unit cell: r = σ(x_r + h_r), z = σ(x_z + h_z), n = tanh(x_n + r·h_n),
 * h' = (1 − z)·n + z·h, where x_* and h_* are the gate rows of x·W_ihᵀ + b_ih and h·W_hhᵀ + b_hh.
 * @example
 * const cell = new GRUCell(10, 20);
 * const h1 = cell.call(randn([3, 10]));
 */
export class GRUCell extends CellBase {
  constructor(inputSize: number, hiddenSize: number, { bias = true }: { bias?: boolean } = {}) {
    super('GRUCell', 'GRU', inputSize, hiddenSize, bias);
  }

  forward(x: Tensor, h?: Tensor): Tensor {
    const [input, unbatched] = this.batchedInput(x);
    const state = this.batchedState(h, input, unbatched, 'hidden state h');
    const w = this.weights();
    const [out] = recurrentStep('GRU', F.linear(input, w.weightIh, w.biasIh), state, null, w);
    return unbatched ? out.squeeze(0) : out;
  }
}
