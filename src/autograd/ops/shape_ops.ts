/**
 * Shape ops that copy: cat, stack, split/chunk (views), repeat/tile, flip, roll, pad, tril/triu.
 * Most are compositions of views and copies, so their gradients come for free.
 */
import { intArg } from '../../tensor/args.js';
import { promoteTypes } from '../../tensor/dtype.js';
import { formatShape, normalizeDim, shapeSize } from '../../tensor/shape.js';
import { Tensor } from '../../tensor/tensor.js';
import { assertTensor, castRaw, fromStorage, record } from '../define.js';
import { isGradEnabled } from '../grad_mode.js';
import { where } from './elementwise.js';

/**
 * Joins tensors along an existing dim. Shapes must match except along `dim`.
 * @example
 * cat([zeros([2, 3]), ones([1, 3])], 0).shape; // [3, 3]
 */
export function cat(tensors: readonly Tensor[], dim = 0): Tensor {
  if (!Array.isArray(tensors) || tensors.length === 0)
    throw new Error('cat: expected a non-empty list of tensors');
  tensors.forEach((t, i) => assertTensor('cat', t, `tensor ${i}`));
  // Like PyTorch, 1-D empty tensors are skipped when joining tensors of higher rank.
  const parts = tensors.filter((t) => !(t.ndim === 1 && t.shape[0] === 0));
  if (parts.length === 0) return tensors[0].clone();
  const first = parts[0];
  if (first.ndim === 0)
    throw new Error('cat: zero-dimensional tensors cannot be concatenated; use stack()');
  const d = normalizeDim('cat', dim, first.ndim);
  parts.forEach((t, i) => {
    if (
      t.ndim !== first.ndim ||
      t.shape.some((s: number, j: number) => j !== d && s !== first.shape[j])
    ) {
      throw new Error(
        `cat: tensors must have the same shape except in dimension ${d}: tensor 0 has shape ${formatShape(first.shape)}, tensor ${tensors.indexOf(t)} has shape ${formatShape(t.shape)}`,
      );
    }
    void i;
  });
  const dtype = parts.map((t) => t.dtype).reduce(promoteTypes);
  const shape = [...first.shape];
  shape[d] = parts.reduce((n, t) => n + t.shape[d], 0);
  const out = fromStorage(first.backend.allocate(dtype, shapeSize(shape)), shape, dtype, first);
  let start = 0;
  const starts: number[] = [];
  for (const t of parts) {
    starts.push(start);
    first.backend.copyInto(out.narrow(d, start, t.shape[d]), castRaw(t, dtype));
    start += t.shape[d];
  }
  // Skipped 1-D empty inputs still get their (empty) gradient, as in PyTorch.
  let part = 0;
  const startOf = tensors.map((t) => (t.ndim === 1 && t.shape[0] === 0 ? -1 : starts[part++]));
  return record('CatBackward', out, tensors, [], (g) =>
    tensors.map((t, i) =>
      startOf[i] < 0 ? g.reshape([-1]).narrow(0, 0, 0) : g.narrow(d, startOf[i], t.shape[d]),
    ),
  );
}

/** Joins tensors of one shape along a new dim. */
export function stack(tensors: readonly Tensor[], dim = 0): Tensor {
  if (!Array.isArray(tensors) || tensors.length === 0)
    throw new Error('stack: expected a non-empty list of tensors');
  tensors.forEach((t, i) => {
    assertTensor('stack', t, `tensor ${i}`);
    if (
      t.ndim !== tensors[0].ndim ||
      t.shape.some((s: number, j: number) => s !== tensors[0].shape[j])
    ) {
      throw new Error(
        `stack: expects each tensor to be equal size, but got ${formatShape(tensors[0].shape)} at entry 0 and ${formatShape(t.shape)} at entry ${i}`,
      );
    }
  });
  const d = normalizeDim('stack', dim, tensors[0].ndim + 1);
  return cat(
    tensors.map((t) => t.unsqueeze(d)),
    d,
  );
}

/** Views of consecutive pieces: of `splitSize` each (the last may be smaller) or of the given sizes. */
export function split(input: Tensor, splitSize: number | readonly number[], dim = 0): Tensor[] {
  const x = assertTensor('split', input);
  const d = normalizeDim('split', dim, x.ndim);
  const size = x.shape[d];
  let sizes: number[];
  if (typeof splitSize === 'number' || !Array.isArray(splitSize)) {
    const step = intArg('split', 'splitSize', splitSize);
    if (step <= 0) throw new RangeError(`split: splitSize must be a positive integer, got ${step}`);
    sizes = [];
    for (let s = 0; s < size; s += step) sizes.push(Math.min(step, size - s));
    if (sizes.length === 0) sizes.push(0);
  } else {
    sizes = [...splitSize];
    const total = sizes.reduce((a, b) => a + b, 0);
    if (sizes.some((s) => !Number.isInteger(s) || s < 0) || total !== size) {
      throw new Error(
        `split: sizes [${sizes.join(', ')}] must be non-negative and sum to ${size}, the size of dimension ${d}`,
      );
    }
  }
  return splitViews(x, sizes, d);
}

/** The window of `t` that sizes `length` from `start` of dim `d` cover. */
function window(t: Tensor, d: number, start: number, length: number): Tensor {
  const shape = [...t.shape];
  shape[d] = length;
  return t.asStrided(shape, t.strides, t.offset + (length > 0 ? start * t.strides[d] : 0));
}

/**
 * split's views, with one backward node for all pieces, as PyTorch's SplitWithSizesBackward:
 * each piece's node hands its gradient to the node of the whole (Node.gather), which writes it
 * into its window of one zero-filled input gradient (a concatenation), instead of each piece
 * scattering into a full-size tensor of zeros and the engine summing them.
 */
function splitViews(x: Tensor, sizes: readonly number[], d: number): Tensor[] {
  const starts: number[] = [];
  let start = 0;
  for (const s of sizes) {
    starts.push(start);
    start += s;
  }
  if (!isGradEnabled() || !x.requiresGrad) return sizes.map((s, i) => window(x, d, starts[i], s));
  // The input's gradient being assembled in the current backward pass (pending at the joint node).
  let assembling: Tensor | null = null;
  const whole = record('SplitBackward', window(x, d, 0, x.shape[d]), [x], [], (g) => {
    if (g === assembling) assembling = null;
    return [g];
  });
  const pieces = sizes.map((s, i) =>
    record('SplitBackward', window(whole, d, starts[i], s), [whole], [], (g) => [g]),
  );
  const joint = whole.gradFn;
  if (joint === null) return pieces; // not a float tensor: no graph
  const nodes = pieces.map((p) => p.gradFn);
  // The node outlives backward (Node.gather): it keeps x's shape, not x.
  const shape = x.shape;
  joint.gather = (sum, grad, from) => {
    const i = nodes.indexOf(from);
    if (isGradEnabled()) {
      // createGraph: the gradient must be differentiable itself: zeros around the piece, summed.
      const padding = new Array<number>(2 * (shape.length - d)).fill(0);
      padding[padding.length - 2] = starts[i];
      padding[padding.length - 1] = shape[d] - starts[i] - sizes[i];
      const full = pad(grad, padding);
      return sum === undefined ? full : sum.add(full);
    }
    if (sum === undefined || sum !== assembling) {
      // The first piece of this pass (storage comes zero-filled: pieces without a gradient are 0).
      const out = fromStorage(
        grad.backend.allocate(grad.dtype, shapeSize(shape)),
        shape,
        grad.dtype,
        grad,
      );
      // A sum made while grad mode was on (a hook turned it on) is whole already.
      if (sum !== undefined) grad.backend.copyInto(out, sum);
      assembling = out;
    }
    grad.backend.copyInto(window(assembling, d, starts[i], sizes[i]), grad);
    return assembling;
  };
  return pieces;
}

/** Splits into `chunks` pieces of equal size (the last may be smaller), as PyTorch's chunk. */
export function chunk(input: Tensor, chunks: number, dim = 0): Tensor[] {
  const x = assertTensor('chunk', input);
  if (intArg('chunk', 'chunks', chunks) <= 0)
    throw new RangeError(`chunk: chunks must be a positive integer, got ${chunks}`);
  const d = normalizeDim('chunk', dim, x.ndim);
  return split(x, Math.max(1, Math.ceil(x.shape[d] / chunks)), d);
}

/** Tiles the tensor: sizes[i] copies along dim i (leading sizes add dims), as PyTorch's repeat. */
export function repeat(input: Tensor, sizes: readonly number[]): Tensor {
  const x = assertTensor('repeat', input);
  if (sizes.length < x.ndim) {
    throw new Error(
      `repeat: number of repeat dims (${sizes.length}) can not be smaller than the tensor's rank ${x.ndim}`,
    );
  }
  if (sizes.some((s) => !Number.isInteger(s) || s < 0))
    throw new RangeError(
      `repeat: repeats must be non-negative integers, got [${sizes.join(', ')}]`,
    );
  const shape = [...new Array(sizes.length - x.ndim).fill(1), ...x.shape];
  // Interleave a broadcast dim before each dim: [r0, d0, r1, d1, …] → [r0·d0, r1·d1, …].
  const interleaved = shape.flatMap((d) => [1, d]);
  const expanded = shape.flatMap((d, i) => [sizes[i], d]);
  const out = x
    .reshape(interleaved)
    .expand(expanded)
    .reshape(shape.map((d, i) => d * sizes[i]));
  // Like PyTorch, the result never aliases the input (all-ones repeats would otherwise be a view).
  return out.storage === x.storage ? out.clone() : out;
}

/** Like repeat, but fewer sizes than dims repeat the trailing dims (NumPy's tile). */
export function tile(input: Tensor, dims: readonly number[]): Tensor {
  const x = assertTensor('tile', input);
  const sizes = [...new Array(Math.max(0, x.ndim - dims.length)).fill(1), ...dims];
  return repeat(x, sizes);
}

/** Reverses the order of elements along `dims`. */
export function flip(input: Tensor, dims: readonly number[]): Tensor {
  const x = assertTensor('flip', input);
  const axes = [...new Set(dims.map((d) => normalizeDim('flip', d, x.ndim)))];
  const strides = x.strides.map((s, i) => (axes.includes(i) ? -s : s));
  const offset = axes.reduce(
    (o, a) => o + (x.shape[a] > 0 ? (x.shape[a] - 1) * x.strides[a] : 0),
    x.offset,
  );
  const reversed = x.asStrided(x.shape, strides, offset);
  const out = fromStorage(x.backend.copy(reversed, x.dtype), x.shape, x.dtype, x);
  return record('FlipBackward', out, [x], [], (g) => [flip(g, axes)]);
}

/** Shifts elements along dims, wrapping around; without dims, over the flattened tensor. */
export function roll(
  input: Tensor,
  shifts: number | readonly number[],
  dims?: number | readonly number[],
): Tensor {
  const x = assertTensor('roll', input);
  const shiftList = (
    typeof shifts === 'number' || !Array.isArray(shifts) ? [shifts] : [...shifts]
  ).map((s) => intArg('roll', 'shifts', s));
  if (dims === undefined) {
    if (shiftList.length !== 1)
      throw new Error('roll: without dims, shifts must be a single number');
    return roll(x.flatten(), shiftList, [0]).reshape([...x.shape]);
  }
  const dimList = typeof dims === 'number' ? [dims] : [...dims];
  if (dimList.length !== shiftList.length)
    throw new Error(
      `roll: shifts (${shiftList.length}) and dims (${dimList.length}) must have the same length`,
    );
  let out = x;
  dimList.forEach((dim, i) => {
    const d = normalizeDim('roll', dim, x.ndim);
    const size = x.shape[d];
    if (size === 0) return;
    const shift = ((shiftList[i] % size) + size) % size;
    if (shift === 0) return;
    out = cat([out.narrow(d, size - shift, shift), out.narrow(d, 0, size - shift)], d);
  });
  return out === x ? x.clone() : out;
}

/**
 * Pads with a constant. `padding` lists (before, after) pairs starting from the last dim, as
 * PyTorch's F.pad; negative amounts crop.
 * @example
 * pad(x, [1, 1, 2, 0]); // last dim +1 on each side, second-to-last +2 before
 */
export function pad(
  input: Tensor,
  padding: readonly number[],
  mode: 'constant' = 'constant',
  value = 0,
): Tensor {
  const x = assertTensor('pad', input);
  if (mode !== 'constant')
    throw new Error(`pad: mode '${String(mode)}' is not supported; only 'constant'`);
  if (padding.length % 2 !== 0 || padding.length / 2 > x.ndim) {
    throw new Error(
      `pad: padding length ${padding.length} must be even and at most twice the rank ${x.ndim}`,
    );
  }
  if (padding.some((p) => !Number.isInteger(p)))
    throw new RangeError(`pad: padding amounts must be integers, got [${padding.join(', ')}]`);
  const before = x.shape.map(() => 0);
  const after = x.shape.map(() => 0);
  for (let i = 0; i < padding.length / 2; i++) {
    before[x.ndim - 1 - i] = padding[2 * i];
    after[x.ndim - 1 - i] = padding[2 * i + 1];
  }
  const shape = x.shape.map((d, i) => d + before[i] + after[i]);
  if (shape.some((d) => d < 0))
    throw new Error(
      `pad: padding [${padding.join(', ')}] crops shape ${formatShape(x.shape)} below zero`,
    );
  // The part of x that survives cropping, and where it lands in the output.
  let source: Tensor = x;
  x.shape.forEach((d, i) => {
    const cropStart = Math.max(0, -before[i]);
    const cropEnd = Math.max(0, -after[i]);
    source = source.asStrided(
      source.shape.map((s, j) => (j === i ? Math.max(0, d - cropStart - cropEnd) : s)),
      source.strides,
      source.offset + cropStart * source.strides[i],
    );
  });
  const out = fromStorage(x.backend.allocate(x.dtype, shapeSize(shape)), shape, x.dtype, x);
  if (value !== 0) x.backend.fill(out, value);
  const window = (t: Tensor) =>
    t.asStrided(
      source.shape,
      t.strides,
      t.offset + before.reduce((o, b, i) => o + Math.max(0, b) * t.strides[i], 0),
    );
  if (shapeSize(source.shape) > 0) x.backend.copyInto(window(out), source);
  return record('PadBackward', out, [x], [], (g) => [
    pad(
      g,
      padding.map((p) => -p),
    ),
  ]);
}

function triangle(name: 'tril' | 'triu', input: Tensor, diagonal: number): Tensor {
  const x = assertTensor(name, input);
  intArg(name, 'diagonal', diagonal);
  if (x.ndim < 2)
    throw new Error(
      `${name}: input must have at least 2 dimensions, got shape ${formatShape(x.shape)}`,
    );
  const [rows, cols] = x.shape.slice(-2);
  const mask = new Array<number>(rows * cols);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++)
      mask[i * cols + j] = Number(name === 'tril' ? j - i <= diagonal : j - i >= diagonal);
  }
  const keep = Tensor.fromStorage(
    x.backend.fromValues('bool', mask),
    [rows, cols],
    'bool',
    x.backend,
  );
  return where(keep, x, 0).to(x.dtype);
}

/** The lower triangle (j − i ≤ diagonal) of the last two dims; the rest zeroed. */
export function tril(x: Tensor, diagonal = 0): Tensor {
  return triangle('tril', x, diagonal);
}

export function triu(x: Tensor, diagonal = 0): Tensor {
  return triangle('triu', x, diagonal);
}
