/**
 * View ops: results share the input's storage (reshape copies only when strides forbid a view).
 * Backward rules: reshape-like views reshape back, permutes permute back, expand sums, and
 * windows (slice, select, narrow, diagonal, index) scatter the gradient into zeros.
 */
import { intArg } from '../../tensor/args.js';
import { assertAllocatable } from '../../tensor/dtype.js';
import {
  assertShapeArray,
  contiguousStrides,
  formatShape,
  isContiguous,
  normalizeDim,
  normalizeDims,
  shapeSize,
} from '../../tensor/shape.js';
import { Tensor } from '../../tensor/tensor.js';
import { assertTensor, fromStorage, record, wantsGrad } from '../define.js';
import { sumToShape } from './reduction.js';

/** One index of `index()`: a number selects, a 'start:end:step' string slices, '...' skips dims, null adds a dim. */
export type IndexItem = number | string | null;

/** Resolves one -1 in a requested shape against the element count. */
function inferShape(
  op: string,
  shape: readonly number[],
  numel: number,
  from: readonly number[],
): number[] {
  const unknown = shape.indexOf(-1);
  if (shape.filter((d) => d === -1).length > 1)
    throw new Error(`${op}: only one dimension can be inferred (-1) in ${formatShape(shape)}`);
  assertShapeArray(op, shape);
  for (const d of shape) {
    if (!Number.isInteger(d) || d < -1)
      throw new RangeError(
        `${op}: invalid shape ${formatShape(shape)}: size ${d} is not an integer >= -1`,
      );
  }
  const known = shape.reduce((n, d) => (d === -1 ? n : n * d), 1);
  const out = [...shape];
  if (unknown >= 0) {
    if (known === 0 || numel % known !== 0) {
      throw new Error(
        `${op}: shape ${formatShape(shape)} is invalid for input of shape ${formatShape(from)} (${numel} elements)`,
      );
    }
    out[unknown] = numel / known;
  } else if (known !== numel) {
    throw new Error(
      `${op}: shape ${formatShape(shape)} is invalid for input of shape ${formatShape(from)} (${numel} elements)`,
    );
  }
  return out;
}

/** Strides that let `newShape` view memory laid out as (oldShape, oldStrides), or null (PyTorch's rule). */
function viewStrides(
  oldShape: readonly number[],
  oldStrides: readonly number[],
  newShape: readonly number[],
): number[] | null {
  if (oldShape.length === 0 || shapeSize(oldShape) === 0) return contiguousStrides(newShape);
  const newStrides = new Array<number>(newShape.length);
  let viewD = newShape.length - 1;
  let chunkBaseStride = oldStrides[oldStrides.length - 1];
  let tensorNumel = 1;
  let viewNumel = 1;
  for (let tensorD = oldShape.length - 1; tensorD >= 0; tensorD--) {
    tensorNumel *= oldShape[tensorD];
    if (
      tensorD === 0 ||
      (oldShape[tensorD - 1] !== 1 && oldStrides[tensorD - 1] !== tensorNumel * chunkBaseStride)
    ) {
      while (viewD >= 0 && (viewNumel < tensorNumel || newShape[viewD] === 1)) {
        newStrides[viewD] = viewNumel * chunkBaseStride;
        viewNumel *= newShape[viewD];
        viewD--;
      }
      if (viewNumel !== tensorNumel) return null;
      if (tensorD > 0) {
        chunkBaseStride = oldStrides[tensorD - 1];
        tensorNumel = 1;
        viewNumel = 1;
      }
    }
  }
  return viewD === -1 ? newStrides : null;
}

function reshapeView(op: string, x: Tensor, shape: number[], strides: number[]): Tensor {
  const out = x.asStrided(shape, strides, x.offset);
  if (!wantsGrad(x)) return out; // no graph: skip the node name and backward closure
  return record(`${op[0].toUpperCase()}${op.slice(1)}Backward`, out, [x], [], (g) => [
    g.reshape([...x.shape]),
  ]);
}

/**
 * The same elements in a new shape (one size may be -1); a view when strides allow, else a copy.
 * @example
 * arange(6).reshape(2, 3);
 */
export function reshape(input: Tensor, shape: readonly number[]): Tensor {
  const x = assertTensor('reshape', input);
  const target = inferShape('reshape', shape, x.numel(), x.shape);
  const strides = viewStrides(x.shape, x.strides, target);
  if (strides) return reshapeView('reshape', x, target, strides);
  return reshapeView('reshape', contiguous(x), target, contiguousStrides(target));
}

/** Like reshape, but always a view: throws when the strides do not allow one. */
export function view(input: Tensor, shape: readonly number[]): Tensor {
  const x = assertTensor('view', input);
  const target = inferShape('view', shape, x.numel(), x.shape);
  const strides = viewStrides(x.shape, x.strides, target);
  if (!strides) {
    throw new Error(
      `view: shape ${formatShape(target)} is not compatible with the input's shape ${formatShape(x.shape)} and strides ${formatShape(x.strides)} ` +
        `(at least one dimension spans two contiguous subspaces); use reshape() instead`,
    );
  }
  return reshapeView('view', x, target, strides);
}

export function flatten(input: Tensor, startDim = 0, endDim = -1): Tensor {
  const x = assertTensor('flatten', input);
  if (x.ndim === 0) return reshape(x, [1]);
  const start = normalizeDim('flatten', startDim, x.ndim);
  const end = normalizeDim('flatten', endDim, x.ndim);
  if (start > end) throw new Error(`flatten: startDim ${startDim} comes after endDim ${endDim}`);
  const middle = x.shape.slice(start, end + 1).reduce((a, b) => a * b, 1);
  return reshape(x, [...x.shape.slice(0, start), middle, ...x.shape.slice(end + 1)]);
}

export function unflatten(input: Tensor, dim: number, sizes: readonly number[]): Tensor {
  const x = assertTensor('unflatten', input);
  const d = normalizeDim('unflatten', dim, x.ndim);
  const inner = inferShape('unflatten', sizes, x.shape[d], [x.shape[d]]);
  return reshape(x, [...x.shape.slice(0, d), ...inner, ...x.shape.slice(d + 1)]);
}

/** Removes dims of size 1 (all of them, or those in `dim` that have size 1). */
export function squeeze(input: Tensor, dim?: number | readonly number[]): Tensor {
  const x = assertTensor('squeeze', input);
  const dims = dim === undefined ? x.shape.map((_, i) => i) : normalizeDims('squeeze', dim, x.ndim);
  const keep = x.shape.map((d, i) => !(d === 1 && dims.includes(i)));
  return reshapeView(
    'squeeze',
    x,
    x.shape.filter((_, i) => keep[i]),
    x.strides.filter((_, i) => keep[i]),
  );
}

export function unsqueeze(input: Tensor, dim: number): Tensor {
  const x = assertTensor('unsqueeze', input);
  const d = normalizeDim('unsqueeze', dim, x.ndim + 1);
  const shape = [...x.shape];
  const strides = [...x.strides];
  shape.splice(d, 0, 1);
  strides.splice(d, 0, d < x.ndim ? x.strides[d] * x.shape[d] : 1);
  return reshapeView('unsqueeze', x, shape, strides);
}

/** Reorders dims: result dim i is input dim dims[i]. */
export function permute(input: Tensor, dims: readonly number[]): Tensor {
  const x = assertTensor('permute', input);
  if (dims.length !== x.ndim) {
    throw new Error(
      `permute: got ${dims.length} dims [${dims.join(', ')}] for a tensor of rank ${x.ndim} (shape ${formatShape(x.shape)})`,
    );
  }
  const order = dims.map((d) => normalizeDim('permute', d, x.ndim));
  if (new Set(order).size !== order.length)
    throw new Error(`permute: dims [${dims.join(', ')}] repeat a dimension`);
  const out = x.asStrided(
    order.map((d) => x.shape[d]),
    order.map((d) => x.strides[d]),
    x.offset,
  );
  if (!wantsGrad(x)) return out; // no graph: skip the inverse permutation and backward closure
  const inverse = new Array<number>(order.length);
  order.forEach((d, i) => (inverse[d] = i));
  return record('PermuteBackward', out, [x], [], (g) => [permute(g, inverse)]);
}

export function transpose(input: Tensor, dim0: number, dim1: number): Tensor {
  const x = assertTensor('transpose', input);
  if (x.ndim === 0) return permute(x, []);
  const order = x.shape.map((_, i) => i);
  const a = normalizeDim('transpose', dim0, x.ndim);
  const b = normalizeDim('transpose', dim1, x.ndim);
  [order[a], order[b]] = [order[b], order[a]];
  return permute(x, order);
}

/** Transposes a matrix; 0-d and 1-d tensors are returned as they are. */
export function t(input: Tensor): Tensor {
  const x = assertTensor('t', input);
  if (x.ndim > 2)
    throw new Error(
      `t: expects a tensor with <= 2 dimensions, got shape ${formatShape(x.shape)}; use transpose() or mT`,
    );
  return x.ndim < 2
    ? permute(
        x,
        x.shape.map((_, i) => i),
      )
    : transpose(x, 0, 1);
}

/** Repeats size-1 dims (and adds leading dims) without copying; -1 keeps a size. */
export function expand(input: Tensor, sizes: readonly number[]): Tensor {
  const x = assertTensor('expand', input);
  if (sizes.length < x.ndim) {
    throw new Error(
      `expand: the number of sizes (${sizes.length}) must be at least the tensor's rank ${x.ndim} (shape ${formatShape(x.shape)})`,
    );
  }
  const lead = sizes.length - x.ndim;
  const shape = sizes.map((s, i) => {
    const j = i - lead;
    const current = j >= 0 ? x.shape[j] : 1;
    const size = s === -1 && j >= 0 ? current : s;
    if (!Number.isInteger(size) || size < 0)
      throw new RangeError(`expand: invalid size ${s} at dimension ${i}`);
    if (j >= 0 && current !== 1 && current !== size) {
      throw new Error(
        `expand: the expanded size ${size} must match the existing size ${current} at dimension ${i} (shape ${formatShape(x.shape)} to ${formatShape(sizes)})`,
      );
    }
    return size;
  });
  const strides = shape.map((d, i) => {
    const j = i - lead;
    return j < 0 || (x.shape[j] === 1 && d !== 1) ? 0 : x.strides[j];
  });
  const out = x.asStrided(shape, strides, x.offset);
  if (!wantsGrad(x)) return out; // no graph: skip building the backward closure
  return record('ExpandBackward', out, [x], [], (g) => [sumToShape(g, x.shape)]);
}

// ---- windows: views whose backward scatters into zeros ----

type RawView = (t: Tensor) => Tensor;

/** Records a window view: the gradient is scattered into zeros of the input's shape. */
function windowView(name: string, x: Tensor, rawView: RawView): Tensor {
  const out = rawView(x);
  return record(name, out, [x], [], (g) => [scatterIntoZeros(name, g, x.shape, rawView)]);
}

/** zeros(shape) with `g` written into the window; its own backward reads the window back. */
function scatterIntoZeros(
  name: string,
  g: Tensor,
  shape: readonly number[],
  rawView: RawView,
): Tensor {
  const out = fromStorage(g.backend.allocate(g.dtype, shapeSize(shape)), shape, g.dtype, g);
  g.backend.copyInto(rawView(out), g);
  return record(`${name}Scatter`, out, [g], [], (gg) => [windowView(name, gg, rawView)]);
}

function sliceRaw(t: Tensor, d: number, start: number, length: number, step: number): Tensor {
  const shape = [...t.shape];
  const strides = [...t.strides];
  shape[d] = length;
  strides[d] = t.strides[d] * step;
  return t.asStrided(shape, strides, t.offset + (length > 0 ? start * t.strides[d] : 0));
}

function selectRaw(t: Tensor, d: number, index: number): Tensor {
  return t.asStrided(
    t.shape.filter((_, i) => i !== d),
    t.strides.filter((_, i) => i !== d),
    t.offset + index * t.strides[d],
  );
}

export function narrow(input: Tensor, dim: number, start: number, length: number): Tensor {
  const x = assertTensor('narrow', input);
  const d = normalizeDim('narrow', dim, x.ndim);
  intArg('narrow', 'start', start);
  intArg('narrow', 'length', length);
  const size = x.shape[d];
  const begin = start < 0 ? start + size : start;
  if (!Number.isInteger(start))
    throw new TypeError(`narrow: start must be an integer, got ${String(start)}`);
  if (!Number.isInteger(length))
    throw new TypeError(`narrow: length must be an integer, got ${String(length)}`);
  if (length < 0) throw new RangeError(`narrow: length must be non-negative, got ${length}`);
  if (begin < 0 || begin > size) {
    throw new RangeError(
      `narrow: start ${start} is out of range for dimension ${d} of size ${size}`,
    );
  }
  if (begin + length > size) {
    throw new RangeError(
      `narrow: start ${start} + length ${length} exceeds dimension ${d} of size ${size}`,
    );
  }
  return windowView('NarrowBackward', x, (t) => sliceRaw(t, d, begin, length, 1));
}

export function select(input: Tensor, dim: number, index: number): Tensor {
  const x = assertTensor('select', input);
  const d = normalizeDim('select', dim, x.ndim);
  intArg('select', 'index', index);
  const size = x.shape[d];
  if (!Number.isInteger(index))
    throw new TypeError(`select: index must be an integer, got ${String(index)}`);
  if (index < -size || index >= size) {
    throw new RangeError(
      `select: index ${index} is out of range for dimension ${d} with size ${size}`,
    );
  }
  const i = index < 0 ? index + size : index;
  return windowView('SelectBackward', x, (t) => selectRaw(t, d, i));
}

/** Python slice bounds → (start, length), clamped as Python does. */
function resolveSlice(
  size: number,
  start: number | undefined,
  end: number | undefined,
  step: number,
): [number, number] {
  const clampBound = (v: number) => Math.min(Math.max(v < 0 ? v + size : v, 0), size);
  const begin = start === undefined ? 0 : clampBound(start);
  const stop = end === undefined ? size : clampBound(end);
  const length = stop > begin ? Math.ceil((stop - begin) / step) : 0;
  return [begin, length];
}

export function slice(input: Tensor, dim: number, start?: number, end?: number, step = 1): Tensor {
  const x = assertTensor('slice', input);
  const d = normalizeDim('slice', dim, x.ndim);
  if (intArg('slice', 'step', step) <= 0)
    throw new RangeError(`slice: step must be a positive integer, got ${step}`);
  for (const [name, v] of [
    ['start', start],
    ['end', end],
  ] as const) {
    if (v !== undefined) intArg('slice', name, v);
  }
  const [begin, length] = resolveSlice(x.shape[d], start, end, step);
  return windowView('SliceBackward', x, (t) => sliceRaw(t, d, begin, length, step));
}

function parseSliceString(item: string): [number | undefined, number | undefined, number] {
  const parts = item.split(':');
  if (parts.length < 2 || parts.length > 3)
    throw new Error(
      `index: cannot parse '${item}' as a slice; expected 'start:end' or 'start:end:step'`,
    );
  const parse = (s: string | undefined): number | undefined => {
    if (s === undefined || s.trim() === '') return undefined;
    const v = Number(s);
    if (!Number.isInteger(v))
      throw new Error(`index: cannot parse '${item}' as a slice: '${s}' is not an integer`);
    return v;
  };
  const step = parse(parts[2]) ?? 1;
  if (step <= 0)
    throw new RangeError(`index: slice '${item}' has step ${step}; steps must be positive`);
  return [parse(parts[0]), parse(parts[1]), step];
}

/**
 * Python/PyTorch basic indexing in one view: numbers select (negative from the end), strings
 * slice ('1:3', ':', '::2', '-2:'), '...' stands for the remaining dims, null inserts a dim.
 */
export function index(input: Tensor, items: readonly IndexItem[]): Tensor {
  const x = assertTensor('index', input);
  const ellipses = items.filter((i) => i === '...').length;
  if (ellipses > 1) throw new Error(`index: an index can only have a single ellipsis ('...')`);
  const consuming = items.filter((i) => i !== null && i !== '...').length;
  if (consuming > x.ndim) {
    throw new RangeError(
      `index: too many indices for a tensor of rank ${x.ndim} (shape ${formatShape(x.shape)}): got ${consuming}`,
    );
  }
  const expanded: IndexItem[] = [];
  for (const item of items) {
    if (item === '...') for (let k = 0; k < x.ndim - consuming; k++) expanded.push(':');
    else expanded.push(item);
  }
  // Validate against x's shape now; build the view function that applies to any tensor of that shape.
  let dim = 0;
  const steps: ((t: { shape: number[]; strides: number[]; offset: number }) => void)[] = [];
  let outDim = 0;
  for (const item of expanded) {
    if (item === null) {
      const at = outDim++;
      steps.push((v) => {
        v.shape.splice(at, 0, 1);
        v.strides.splice(at, 0, 0);
      });
    } else if (typeof item === 'number') {
      const size = x.shape[dim];
      if (!Number.isInteger(item))
        throw new TypeError(
          `index: index must be an integer, got ${String(item)} (dimension ${dim})`,
        );
      if (item < -size || item >= size) {
        throw new RangeError(
          `index: index ${item} is out of range for dimension ${dim} with size ${size}`,
        );
      }
      const i = item < 0 ? item + size : item;
      const at = outDim;
      steps.push((v) => {
        v.offset += i * v.strides[at];
        v.shape.splice(at, 1);
        v.strides.splice(at, 1);
      });
      dim++;
    } else if (typeof item === 'string') {
      const [start, end, step] = parseSliceString(item);
      const [begin, length] = resolveSlice(x.shape[dim], start, end, step);
      const at = outDim++;
      steps.push((v) => {
        if (length > 0) v.offset += begin * v.strides[at];
        v.shape[at] = length;
        v.strides[at] *= step;
      });
      dim++;
    } else {
      throw new TypeError(
        `index: unsupported index ${JSON.stringify(item)}; use a number, a slice string, '...' or null`,
      );
    }
  }
  const rawView: RawView = (t) => {
    const v = { shape: [...t.shape], strides: [...t.strides], offset: t.offset };
    for (const step of steps) step(v);
    return t.asStrided(v.shape, v.strides, v.offset);
  };
  return windowView('IndexBackward', x, rawView);
}

export function diagonal(input: Tensor, offset = 0, dim1 = 0, dim2 = 1): Tensor {
  const x = assertTensor('diagonal', input);
  intArg('diagonal', 'offset', offset);
  const a = normalizeDim('diagonal', dim1, x.ndim);
  const b = normalizeDim('diagonal', dim2, x.ndim);
  if (a === b) throw new Error(`diagonal: dim1 and dim2 cannot be the same dimension (${a})`);
  const length = Math.max(
    0,
    offset >= 0
      ? Math.min(x.shape[a], x.shape[b] - offset)
      : Math.min(x.shape[a] + offset, x.shape[b]),
  );
  return windowView('DiagonalBackward', x, (tensor) => {
    const keep = tensor.shape.map((_, i) => i !== a && i !== b);
    const start =
      length === 0 ? 0 : offset >= 0 ? offset * tensor.strides[b] : -offset * tensor.strides[a];
    return tensor.asStrided(
      [...tensor.shape.filter((_, i) => keep[i]), length],
      [...tensor.strides.filter((_, i) => keep[i]), tensor.strides[a] + tensor.strides[b]],
      tensor.offset + start,
    );
  });
}

// ---- copies and detaching ----

function copyOf(x: Tensor): Tensor {
  assertAllocatable('contiguous', x.shape, x.dtype);
  return fromStorage(x.backend.copy(x, x.dtype), x.shape, x.dtype, x);
}

/** This tensor if its memory is contiguous, else a contiguous copy. */
export function contiguous(input: Tensor): Tensor {
  const x = assertTensor('contiguous', input);
  if (isContiguous(x.shape, x.strides)) return x;
  return record('ContiguousBackward', copyOf(x), [x], [], (g) => [g]);
}

export function clone(input: Tensor): Tensor {
  const x = assertTensor('clone', input);
  return record('CloneBackward', copyOf(x), [x], [], (g) => [g]);
}

/** Shares storage with `x`, but is a leaf that does not require grad. */
export function detach(input: Tensor): Tensor {
  const x = assertTensor('detach', input);
  return x.asStrided(x.shape, x.strides, x.offset);
}
