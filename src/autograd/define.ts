/**
 * How an op is declared: compute the forward with backend primitives, then `record` the backward
 * rule beside it. Only `record` touches the graph, so every op gets grad mode, leaf edges, saved
 * tensors and anomaly stacks the same way.
 */
import type { Storage } from '../backend/backend.js';
import { isFloatingDType, promoteTypes, promoteWithScalar, type DType } from '../tensor/dtype.js';
import { formatShape, shapesEqual } from '../tensor/shape.js';
import { Tensor, type TensorLike } from '../tensor/tensor.js';
import { isGradEnabled } from './grad_mode.js';
import { isGraphRecording, noteRecorded } from './graph_recording.js';
import { Node, type BackwardFn } from './node.js';

/**
 * Attaches a backward rule to `output` when grad mode is on and a differentiable input requires
 * grad; otherwise returns `output` untouched. `saved` are the tensors the rule reads, checked
 * against in-place changes when backward runs. `scratch` are saved tensors the op made for its
 * rule alone (no one else holds them): their memory goes back to the backend as soon as backward
 * frees the graph. Every op passes its tensor inputs here, with or without grad mode, so this is
 * where an op of several tensors refuses ones on different devices (assertSameDevice).
 */
export function record(
  name: string,
  output: Tensor,
  inputs: readonly (Tensor | null)[],
  saved: readonly Tensor[],
  backward: BackwardFn,
  scratch: readonly Tensor[] = [],
): Tensor {
  assertSameDevice(name, inputs);
  if (!isGradEnabled() || !isFloatingDType(output.dtype)) return output;
  // One pass over the inputs builds the node's edges, shapes and dtypes (record runs once per op).
  const n = inputs.length;
  const edges = new Array<Node | null>(n);
  const shapes = new Array<readonly number[]>(n);
  const dtypes = new Array<DType | null>(n);
  let anyRequiresGrad = false;
  for (let i = 0; i < n; i++) {
    const t = inputs[i];
    if (t === null) {
      edges[i] = null;
      shapes[i] = [];
      dtypes[i] = null;
      continue;
    }
    shapes[i] = t.shape;
    dtypes[i] = t.dtype;
    if (!t.requiresGrad) {
      edges[i] = null;
      continue;
    }
    anyRequiresGrad = true;
    if (t.base !== null && t.base.gradFn !== t.baseGradFnAtView) {
      // The view's history leads to its base's old history: its gradient would be silently wrong.
      throw new Error(
        `${name}: an input of shape ${formatShape(t.shape)} is a view of a tensor that was modified by an in-place op ` +
          `(now ${t.base.gradFn?.name ?? 'a leaf'}) after the view was taken; take the view again after the in-place op, ` +
          `or use the out-of-place op`,
      );
    }
    edges[i] = t.gradNode();
  }
  if (!anyRequiresGrad) return output;
  const node = new Node(name, edges, saved, backward, shapes, dtypes);
  node.scratch = scratch;
  output.setGradFn(node);
  if (isGraphRecording()) noteRecorded(node, output);
  return output;
}

/**
 * Throws, naming the op and each input's device, unless every tensor of `inputs` is on one
 * device: a gradient would otherwise land on the wrong device and fail far from its cause.
 */
export function assertSameDevice(name: string, inputs: readonly (Tensor | null)[]): void {
  let device: string | null = null;
  for (const t of inputs) {
    if (t === null) continue;
    if (device === null) device = t.device;
    else if (t.device !== device) {
      const op = name.replace(/Backward\d*$/, '');
      const devices = inputs.map((x, i) => `input ${i} on ${x === null ? '-' : x.device}`);
      throw new Error(`${op}: expected all tensors on the same device, got ${devices.join(', ')}`);
    }
  }
}

/**
 * Whether `record` would attach a node for these inputs: lets an op skip building its backward
 * closure and saved list when grad mode is off or no input requires grad.
 */
export function wantsGrad(a: Tensor, b: Tensor | null = null): boolean {
  return isGradEnabled() && (a.requiresGrad || (b !== null && b.requiresGrad));
}

/** A new contiguous tensor on `like`'s device over freshly computed storage. */
export function fromStorage(
  storage: Storage,
  shape: readonly number[],
  dtype: DType,
  like: Tensor,
): Tensor {
  return Tensor.fromStorage(storage, shape, dtype, like.backend);
}

/** Converts a scalar operand to a 0-d tensor beside `like`, of the promoted dtype. */
export function scalarTensor(value: number | boolean, dtype: DType, like: Tensor): Tensor {
  return Tensor.fromStorage(
    like.backend.fromValues(dtype, [Number(value)]),
    [],
    dtype,
    like.backend,
  );
}

/**
 * The two operands of a binary op as tensors with their result dtype. Scalars take the other
 * operand's dtype (PyTorch's "weak" scalar promotion).
 */
export function binaryOperands(op: string, a: TensorLike, b: TensorLike): [Tensor, Tensor, DType] {
  if (a instanceof Tensor && b instanceof Tensor) {
    if (a.device !== b.device) {
      throw new Error(
        `${op}: expected both tensors on the same device, got ${a.device} and ${b.device}`,
      );
    }
    return [a, b, promoteTensors(a, b)];
  }
  if (a instanceof Tensor) {
    checkScalar(op, b);
    const dtype = promoteWithScalar(a.dtype, b as number | boolean);
    return [a, scalarTensor(b as number, dtype, a), dtype];
  }
  if (b instanceof Tensor) {
    checkScalar(op, a);
    const dtype = promoteWithScalar(b.dtype, a as number | boolean);
    return [scalarTensor(a as number, dtype, b), b, dtype];
  }
  throw new TypeError(
    `${op}: expected at least one tensor operand, got ${typeof a} and ${typeof b}`,
  );
}

/**
 * PyTorch's promotion between two tensors: a 0-d tensor beside a tensor with dimensions only
 * decides the dtype when it is of a higher category (bool < integer < floating), so
 * float32[n] · float64[] stays float32 while int32[n] + float64[] is float64.
 */
function promoteTensors(a: Tensor, b: Tensor): DType {
  if ((a.ndim === 0) === (b.ndim === 0)) return promoteTypes(a.dtype, b.dtype);
  const category = (d: DType) => (isFloatingDType(d) ? 2 : d === 'int32' ? 1 : 0);
  const [zeroDim, dimensioned] = a.ndim === 0 ? [a, b] : [b, a];
  return category(zeroDim.dtype) > category(dimensioned.dtype) ? zeroDim.dtype : dimensioned.dtype;
}

function checkScalar(op: string, value: unknown): void {
  if (typeof value !== 'number' && typeof value !== 'boolean') {
    throw new TypeError(
      `${op}: expected a tensor or a number, got ${value === null ? 'null' : typeof value}`,
    );
  }
}

/** `value` as a tensor of a floating dtype, or an error naming the op and the dtype. */
export function assertFloatTensor(op: string, value: unknown, name = 'input'): Tensor {
  const t = assertTensor(op, value, name);
  if (!isFloatingDType(t.dtype)) {
    throw new TypeError(
      `${op}: expected ${name} of a floating point dtype, got ${t.dtype}; convert with .float() first`,
    );
  }
  return t;
}

export function assertTensor(op: string, value: unknown, name = 'input'): Tensor {
  if (!(value instanceof Tensor)) {
    throw new TypeError(
      `${op}: expected ${name} to be a Tensor, got ${value === null ? 'null' : typeof value}`,
    );
  }
  return value;
}

/** A broadcast view of `t` with `shape` (stride 0 on repeated dims); no autograd. */
export function broadcastView(t: Tensor, shape: readonly number[]): Tensor {
  if (t.shape === shape || shapesEqual(t.shape, shape)) return t;
  const lead = shape.length - t.shape.length;
  const strides = shape.map((d, i) => {
    const j = i - lead;
    if (j < 0) return 0;
    return t.shape[j] === 1 && d !== 1 ? 0 : t.strides[j];
  });
  return t.asStrided(shape, strides, t.offset);
}

/** `t` converted to `dtype` with no autograd (used to line operands up before a kernel). */
export function castRaw(t: Tensor, dtype: DType): Tensor {
  if (t.dtype === dtype) return t;
  return Tensor.fromStorage(t.backend.copy(t, dtype), t.shape, dtype, t.backend);
}
