/**
 * The single neuron of the classic worked example (CS231n's backprop notes): f(w, x) =
 * σ(w0·x0 + w1·x1 + w2) with w = [2, -3, -3] and x = [-1, -2]. The chain rule done by hand, one
 * gate at a time, then the same gradients from autograd: both print the same numbers.
 *
 *   npx tsx examples/single_neuron.ts
 */
import { tensor } from '../src/index.js';
import { runIfMain } from './run_main.js';

export interface NeuronGradients {
  output: number;
  dw: number[];
  dx: number[];
}

/** Forward and backward by hand: each gate's local derivative times the gradient from above. */
export function byHand(w: number[], x: number[]): NeuronGradients {
  const dot = w[0] * x[0] + w[1] * x[1] + w[2];
  const f = 1 / (1 + Math.exp(-dot));
  const dDot = (1 - f) * f; // σ'(z) = σ(z)(1 - σ(z)), times df/df = 1
  return {
    output: f,
    dw: [x[0] * dDot, x[1] * dDot, 1 * dDot], // ∂dot/∂w_i = x_i (and 1 for the bias)
    dx: [w[0] * dDot, w[1] * dDot], // ∂dot/∂x_i = w_i
  };
}

/** The same neuron in tensors; backward() applies the chain rule. */
export function byAutograd(w: number[], x: number[]): NeuronGradients {
  const wt = tensor(w, { dtype: 'float64', requiresGrad: true });
  const xt = tensor(x, { dtype: 'float64', requiresGrad: true });
  const f = wt.narrow(0, 0, 2).mul(xt).sum().add(wt.select(0, 2)).sigmoid();
  f.backward();
  return {
    output: Number(f.itemSync()),
    dw: Array.from(wt.grad!.dataSync()),
    dx: Array.from(xt.grad!.dataSync()),
  };
}

export function main(log: (line: string) => void = console.log): {
  hand: NeuronGradients;
  auto: NeuronGradients;
  maxDifference: number;
} {
  const w = [2, -3, -3];
  const x = [-1, -2];
  const hand = byHand(w, x);
  const auto = byAutograd(w, x);
  const fmt = (v: number[]) => `[${v.map((n) => n.toFixed(6)).join(', ')}]`;
  log(`f(w, x) = σ(w0·x0 + w1·x1 + w2), w = [${w.join(', ')}], x = [${x.join(', ')}]`);
  log(`            output      df/dw                                  df/dx`);
  log(`by hand     ${hand.output.toFixed(6)}    ${fmt(hand.dw)}    ${fmt(hand.dx)}`);
  log(`autograd    ${auto.output.toFixed(6)}    ${fmt(auto.dw)}    ${fmt(auto.dx)}`);
  const all = (g: NeuronGradients) => [g.output, ...g.dw, ...g.dx];
  const maxDifference = Math.max(...all(hand).map((v, i) => Math.abs(v - all(auto)[i])));
  log(`largest difference: ${maxDifference.toExponential(2)}`);
  return { hand, auto, maxDifference };
}

runIfMain(import.meta.url, () => main());
