/**
 * NITI's weight update W −= (g >> shift) with stochastic rounding, clamped to ±127: the
 * TypeScript reference, and the dispatch to the WebAssembly loop (`wasm_int_arith.ts`, the same
 * integers and the same random stream) that the training loop uses.
 */
import { QMAX, shiftStochastic, type IntRandom } from './int_arith.js';
import { applyUpdateWasm } from './wasm_int_arith.js';

/** The reference: W −= shiftStochastic(g, shift), clamped to ±127. */
export function applyUpdateReference(
  w: Int8Array,
  grad: Int32Array,
  shift: number,
  rng: IntRandom,
): void {
  const delta = shiftStochastic(grad, shift, rng);
  for (let i = 0; i < w.length; i++) {
    const v = w[i] - delta[i];
    w[i] = v > QMAX ? QMAX : v < -QMAX ? -QMAX : v;
  }
}

/**
 * W −= (g >> shift) with stochastic rounding, clamped to ±127, for the shift that leaves the
 * update its bits; in WebAssembly where there is some (one random draw per weight made the
 * JavaScript loop the int8 MLP step's largest cost).
 */
export function applyUpdate(w: Int8Array, grad: Int32Array, shift: number, rng: IntRandom): void {
  if (w.length !== grad.length)
    throw new Error(
      `int8 update: ${w.length} weights but ${grad.length} gradient values; expected one per weight`,
    );
  if (!applyUpdateWasm(w, grad, shift, rng)) applyUpdateReference(w, grad, shift, rng);
}
