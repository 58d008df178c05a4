/** Shape and stride arithmetic shared by every layer. Shapes are arrays of non-negative ints. */
export type Shape = readonly number[];

export function shapeSize(shape: Shape): number {
  let size = 1;
  for (const d of shape) size *= d;
  return size;
}

export function contiguousStrides(shape: Shape): number[] {
  const strides = new Array<number>(shape.length);
  let stride = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = stride;
    stride *= shape[i];
  }
  return strides;
}

export function isContiguous(shape: Shape, strides: readonly number[]): boolean {
  let expected = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    if (shape[i] !== 1 && strides[i] !== expected) return false;
    expected *= shape[i];
  }
  return true;
}

export function shapesEqual(a: Shape, b: Shape): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function formatShape(shape: Shape): string {
  return `[${shape.join(', ')}]`;
}

/** NumPy/PyTorch broadcasting: align from the right; each pair of sizes must match or be 1. */
export function broadcastShapes(op: string, ...shapes: Shape[]): number[] {
  const rank = Math.max(0, ...shapes.map((s) => s.length));
  const out = new Array<number>(rank).fill(1);
  for (const shape of shapes) {
    for (let i = 0; i < shape.length; i++) {
      const o = rank - shape.length + i;
      const d = shape[i];
      if (out[o] === 1) out[o] = d;
      else if (d !== 1 && d !== out[o]) {
        throw new Error(
          `${op}: shapes ${shapes.map(formatShape).join(' and ')} cannot be broadcast together: ` +
            `size ${d} does not match size ${out[o]} at dimension ${o - rank}`,
        );
      }
    }
  }
  return out;
}

/** Turns a possibly negative dim into an index in [0, rank). */
export function normalizeDim(op: string, dim: number, rank: number): number {
  const lo = rank === 0 ? -1 : -rank;
  const hi = rank === 0 ? 0 : rank - 1;
  if (!Number.isInteger(dim) || dim < lo || dim > hi) {
    throw new RangeError(
      `${op}: dimension ${dim} is out of range for a tensor of rank ${rank} (expected an integer in [${lo}, ${hi}])`,
    );
  }
  return dim < 0 ? dim + Math.max(rank, 1) : dim;
}

/** Normalizes an optional dim or list of dims; undefined means every dim. Sorted, unique. */
export function normalizeDims(
  op: string,
  dim: number | readonly number[] | undefined,
  rank: number,
): number[] {
  if (dim === undefined) return Array.from({ length: rank }, (_, i) => i);
  const dims = typeof dim === 'number' ? [dim] : [...dim];
  const out = dims.map((d) => normalizeDim(op, d, rank));
  if (rank === 0) return [];
  const unique = [...new Set(out)].sort((a, b) => a - b);
  if (unique.length !== out.length)
    throw new Error(`${op}: dim [${dims.join(', ')}] repeats a dimension`);
  return unique;
}

/** How a value that should be a shape's size reads in an error: its type unless a number. */
function describeSize(d: unknown): string {
  return typeof d === 'number' ? String(d) : `${typeof d} ${JSON.stringify(d)}`;
}

/** Throws unless `shape` is an array (or another list) of numbers: a string is not a shape. */
export function assertShapeArray(op: string, shape: unknown): void {
  if (typeof shape === 'string' || !Array.isArray(shape))
    throw new TypeError(
      `${op}: expected a shape (an array of sizes), got ${typeof shape === 'string' ? `the string ${JSON.stringify(shape)}` : shape === null ? 'null' : typeof shape}`,
    );
  shape.forEach((d: unknown, i) => {
    if (typeof d !== 'number')
      throw new TypeError(
        `${op}: expected a shape of numbers, got ${describeSize(d)} at position ${i}`,
      );
  });
}

export function assertValidShape(op: string, shape: readonly number[]): void {
  assertShapeArray(op, shape);
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) {
      throw new RangeError(
        `${op}: invalid shape ${formatShape(shape)}: size ${describeSize(d)} is ${Number.isInteger(d) ? 'negative' : 'not an integer'}; sizes must be non-negative integers`,
      );
    }
  }
}
