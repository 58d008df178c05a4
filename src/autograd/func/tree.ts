/**
 * Structures of tensors (JAX's pytrees): a tensor, an array of structures, or a plain object of
 * structures. The transforms accept them wherever JAX does, so parameters can be passed as
 * `{ w, b }` or `[w, b]` and their gradients come back in the same shape.
 */
import { Tensor } from '../../tensor/tensor.js';

/** A tensor, an array of trees, or a plain object of trees. */
export type TensorTree = Tensor | readonly TensorTree[] | { readonly [key: string]: TensorTree };

export interface FlatTree {
  /** The tensors of the tree in a fixed order (depth first; array order, then object key order). */
  readonly leaves: Tensor[];
  /** The same structure with `leaves` (in the order above) in place of the tensors. */
  rebuild(leaves: readonly Tensor[]): any;
}

/** Where a strict flatten reports its errors: the transform's name and what is being flattened. */
export interface TreeContext {
  op: string;
  what: string;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return `a ${value.constructor?.name ?? 'object'}`;
  return `a ${typeof value}`;
}

/**
 * Splits `value` into its tensors and a way to rebuild it. With `strict`, every leaf must be a
 * tensor (the error names `strict.op`, `strict.what` and the path); without it, other values
 * are kept as constants of the structure.
 */
export function flattenTree(value: unknown, strict: TreeContext | null): FlatTree {
  const leaves: Tensor[] = [];
  const visit = (v: unknown, path: string): void => {
    if (v instanceof Tensor) leaves.push(v);
    else if (Array.isArray(v)) v.forEach((item, i) => visit(item, `${path}[${i}]`));
    else if (isPlainObject(v))
      Object.entries(v).forEach(([key, item]) => visit(item, `${path}.${key}`));
    else if (strict) {
      const where = path === '' ? '' : ` at ${path.startsWith('.') ? path.slice(1) : path}`;
      throw new TypeError(
        `${strict.op}: ${strict.what} must be a tensor or an array / plain object of tensors, but it has ${describeValue(v)}${where}`,
      );
    }
  };
  visit(value, '');
  return {
    leaves,
    rebuild(replacements) {
      if (replacements.length !== leaves.length) {
        throw new Error(
          `internal: rebuilding a tree of ${leaves.length} tensors from ${replacements.length}`,
        );
      }
      let next = 0;
      const build = (v: unknown): unknown => {
        if (v instanceof Tensor) return replacements[next++];
        if (Array.isArray(v)) return v.map(build);
        if (isPlainObject(v))
          return Object.fromEntries(Object.entries(v).map(([key, item]) => [key, build(item)]));
        return v;
      };
      return build(value);
    },
  };
}
