/**
 * Helpers for training recurrent networks by truncated backpropagation through time (TBPTT):
 * a long sequence is cut into chunks of k steps; the state is carried from chunk to chunk but
 * detached at each boundary, so backward runs through at most k steps and memory stays bounded.
 *
 * @example
 * let state: LSTMState | undefined;
 * for (const [x, y] of truncatedBptt([inputs, targets], 35)) { // time-major [L, N, …]
 *   const [out, next] = lstm.call(x, state);
 *   const loss = F.mseLoss(head.call(out), y);
 *   opt.zeroGrad();
 *   loss.backward();
 *   nn.utils.clipGradNorm_(model.parameters(), 1); // exploding gradients: the classic RNN failure
 *   opt.step();
 *   state = detachState(next); // keep the values, cut the graph
 * }
 */
import type { Tensor } from '../../tensor/tensor.js';
import { formatShape, normalizeDim } from '../../tensor/shape.js';

/** A recurrent state: a tensor (RNN, GRU), a pair [h, c] (LSTM), or nested arrays of them. */
export type RecurrentState = Tensor | readonly RecurrentState[];

/**
 * The same state with every tensor detached from the graph (values shared, no history), so the
 * next backward stops here.
 * @example
 * state = detachState(state); // [h, c] → [h.detach(), c.detach()]
 */
export function detachState<S extends RecurrentState>(state: S): S {
  if (Array.isArray(state)) return state.map((s: RecurrentState) => detachState(s)) as unknown as S;
  return (state as Tensor).detach() as S;
}

/**
 * Cuts tensors that share a time dimension into consecutive chunks of at most `k` steps (views,
 * no copies): for TBPTT, run the model on each chunk in turn and detach the state between them.
 * @example
 * for (const [x, y] of truncatedBptt([inputs, targets], 50, { dim: 1 })) { … } // batch-first
 */
export function* truncatedBptt(
  tensors: readonly Tensor[],
  k: number,
  { dim = 0 }: { dim?: number } = {},
): Generator<Tensor[]> {
  if (!Number.isInteger(k) || k < 1)
    throw new RangeError(`truncatedBptt: k must be a positive integer, got ${String(k)}`);
  if (tensors.length === 0) return;
  const dims = tensors.map((t) => normalizeDim('truncatedBptt', dim, t.ndim));
  const length = tensors[0].shape[dims[0]];
  tensors.forEach((t, i) => {
    if (t.shape[dims[i]] !== length)
      throw new Error(
        `truncatedBptt: every tensor needs the same length ${length} along dim ${dim}, but tensor ${i} has shape ${formatShape(t.shape)}`,
      );
  });
  for (let start = 0; start < length; start += k) {
    const n = Math.min(k, length - start);
    yield tensors.map((t, i) => t.narrow(dims[i], start, n));
  }
}
