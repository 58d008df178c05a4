/**
 * The elementwise op table: every unary and binary primitive declared once, with what the
 * backends need of it. The op unions `UnaryOp` and `BinaryOp` are the keys of these tables, so a
 * new entry is a new op everywhere at once, and every other table typed as a Record over the
 * unions (the derivatives in autograd/ops/elementwise.ts, the fast paths' loops, each backend's
 * kernels) stops compiling until it has the op too.
 *
 * An entry holds:
 * - `forward`: the scalar function in float64 (stores round it to the output dtype). The CPU
 *   backends' strided loops and fast-path loops call it; it is the oracle the other backends are
 *   tested against.
 * - `dtype`: the result dtype rule ('same': the input's, integers kept; 'float': integer and bool
 *   inputs give float32; 'bool': a bool result).
 * - `wasm`: the float32 SIMD and scalar code the WebAssembly backend emits for it, or null where
 *   that backend runs the CPU loop (same bits either way: test/op_table.test.ts).
 *
 * - `derivative`: what the backward pass saves and dL/dinput from dL/doutput, written with
 *   differentiable tensor methods (so gradients of gradients work). Tensors sit a layer above
 *   this one, so a derivative is generic over any type with those methods (`Differentiable`);
 *   autograd runs it on Tensor. Ops without a derivative (comparisons, rounding) say so.
 */
import type { FunctionBuilder, Local } from './wasm/emitter.js';
import { erf, roundHalfEven } from './cpu/scalar_math.js';

/** How an op's result dtype follows from its (promoted) input dtype. */
export type DTypeRule = 'same' | 'float' | 'bool';

/** WebAssembly code of a unary op on float32: each pushes f(x) for the value in local `x`. */
export interface UnaryWasm {
  /** Four lanes: `x` is a v128 local. */
  readonly vector: (f: FunctionBuilder, x: Local) => void;
  /** One lane: `x` is an f32 local. */
  readonly scalar: (f: FunctionBuilder, x: Local) => void;
}

/** WebAssembly code of a binary op on float32: each replaces the two operands on the stack with a op b. */
export interface BinaryWasm {
  readonly vector: (f: FunctionBuilder) => void;
  readonly scalar: (f: FunctionBuilder) => void;
}

/**
 * The tensor methods a derivative is written with (Tensor has them all): the op table cannot
 * import tensors, a layer above it, so each derivative is generic over this interface.
 */
export interface Differentiable<T> {
  add(other: T | number): T;
  sub(other: T | number): T;
  mul(other: T | number): T;
  div(other: T | number): T;
  pow(exponent: T | number): T;
  neg(): T;
  square(): T;
  rsqrt(): T;
  sign(): T;
  sin(): T;
  cos(): T;
  exp(): T;
  log(): T;
  eq(other: T | number): T;
  lt(other: T | number): T;
  gt(other: T | number): T;
  ge(other: T | number): T;
  logicalAnd(other: T): T;
  logicalNot(): T;
  /** where(condition, this, other). */
  where(condition: T, other: T | number): T;
}

export interface UnaryDerivative {
  /** What the backward pass reads: the input x, the output y, or nothing. */
  readonly saves: 'x' | 'y' | 'none';
  /** dL/dx from dL/dy; absent for ops whose derivative is zero almost everywhere. */
  readonly grad?: <T extends Differentiable<T>>(g: T, xOrY: T) => T;
}

export interface BinaryDerivative {
  /**
   * What the backward pass reads: rules that read nothing (add, sub) save nothing, so that their
   * inputs may be modified in place afterwards and are not kept alive by the graph.
   */
  readonly saves: 'inputs' | 'inputsAndOutput' | 'none';
  /** dL/da and dL/db (before summing to the operands' shapes) from dL/dout; null: none. */
  readonly grad:
    | (<T extends Differentiable<T>>(
        g: T,
        a: T,
        b: T,
        out: T,
        needsGrad: readonly boolean[],
      ) => (T | null)[])
    | null;
}

export interface UnaryOpDef {
  readonly forward: (x: number) => number;
  readonly dtype: DTypeRule;
  readonly wasm: UnaryWasm | null;
  readonly derivative: UnaryDerivative;
}

export interface BinaryOpDef {
  readonly forward: (a: number, b: number) => number;
  /** The kernel for int32 results where it differs from `forward` (int32 mul wraps). */
  readonly integer?: (a: number, b: number) => number;
  readonly dtype: DTypeRule;
  readonly wasm: BinaryWasm | null;
  readonly derivative: BinaryDerivative;
}

const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);

/** Ties send half the gradient to each side, as PyTorch does (maximum, minimum). */
function tieSplit<T extends Differentiable<T>>(g: T, winner: T, tie: T): T {
  return g.mul(0.5).where(tie, g.where(winner, 0));
}

/** Comparisons and logical connectives: a bool result, no derivative. */
const NOT_DIFFERENTIABLE: BinaryDerivative = { saves: 'none', grad: null };

/**
 * The unary ops. Each entry's doc comment is the doc of its Tensor method (tensor/tensor.ts
 * attaches one method per entry) and of its function in autograd/ops/elementwise.ts.
 */
export const UNARY_OPS = {
  /**
   * −x.
   * @example
   * tensor([1, -2]).neg(); // tensor([-1.,  2.])
   */
  neg: {
    forward: (x) => -x,
    dtype: 'same',
    wasm: null,
    derivative: { saves: 'none', grad: (g) => g.neg() },
  },
  /**
   * eˣ.
   * @example
   * tensor([0, 1]).exp(); // tensor([1.0000, 2.7183])
   */
  exp: {
    forward: Math.exp,
    dtype: 'float',
    wasm: null,
    derivative: { saves: 'y', grad: (g, y) => g.mul(y) },
  },
  /**
   * The natural logarithm.
   * @example
   * tensor([1, Math.E]).log(); // tensor([0.0000, 1.0000])
   */
  log: {
    forward: Math.log,
    dtype: 'float',
    wasm: null,
    derivative: { saves: 'x', grad: (g, x) => g.div(x) },
  },
  /**
   * log(1 + x), accurate for small x.
   * @example
   * tensor([0, 1e-10]).log1p(); // tensor([0.0000e+00, 1.0000e-10])
   */
  log1p: {
    forward: Math.log1p,
    dtype: 'float',
    wasm: null,
    derivative: { saves: 'x', grad: (g, x) => g.div(x.add(1)) },
  },
  /**
   * eˣ − 1, accurate for small x.
   * @example
   * tensor([0, 1e-10]).expm1(); // tensor([0.0000e+00, 1.0000e-10])
   */
  expm1: {
    forward: Math.expm1,
    dtype: 'float',
    wasm: null,
    derivative: { saves: 'y', grad: (g, y) => g.mul(y.add(1)) },
  },
  /**
   * √x.
   * @example
   * tensor([4, 9]).sqrt(); // tensor([2., 3.])
   */
  sqrt: {
    forward: Math.sqrt,
    dtype: 'float',
    wasm: null,
    derivative: { saves: 'y', grad: (g, y) => g.div(y.mul(2)) },
  },
  /**
   * 1/√x.
   * @example
   * tensor([4, 16]).rsqrt(); // tensor([0.5000, 0.2500])
   */
  rsqrt: {
    forward: (x) => 1 / Math.sqrt(x),
    dtype: 'float',
    wasm: null,
    derivative: { saves: 'y', grad: (g, y) => g.mul(y.pow(3)).mul(-0.5) },
  },
  /**
   * |x|.
   * @example
   * tensor([-1.5, 2]).abs(); // tensor([1.5000, 2.0000])
   */
  abs: {
    forward: Math.abs,
    dtype: 'same',
    wasm: null,
    derivative: { saves: 'x', grad: (g, x) => g.mul(x.sign()) },
  },
  /**
   * −1, 0 or 1 by the sign of x (NaN for NaN).
   * @example
   * tensor([-3, 0, 2]).sign(); // tensor([-1.,  0.,  1.])
   */
  sign: {
    forward: (x) => (x > 0 ? 1 : x < 0 ? -1 : x === 0 ? 0 : NaN),
    dtype: 'same',
    wasm: null,
    derivative: { saves: 'none' },
  },
  /**
   * 1/x.
   * @example
   * tensor([2, 4]).reciprocal(); // tensor([0.5000, 0.2500])
   */
  reciprocal: {
    forward: (x) => 1 / x,
    dtype: 'float',
    wasm: null,
    derivative: { saves: 'y', grad: (g, y) => g.mul(y.square()).neg() },
  },
  /**
   * The sine (radians).
   * @example
   * tensor([0, Math.PI / 2]).sin(); // tensor([0., 1.])
   */
  sin: {
    forward: Math.sin,
    dtype: 'float',
    wasm: null,
    derivative: { saves: 'x', grad: (g, x) => g.mul(x.cos()) },
  },
  /**
   * The cosine (radians).
   * @example
   * tensor([0, Math.PI]).cos(); // tensor([ 1., -1.])
   */
  cos: {
    forward: Math.cos,
    dtype: 'float',
    wasm: null,
    derivative: { saves: 'x', grad: (g, x) => g.mul(x.sin()).neg() },
  },
  /**
   * The tangent (radians).
   * @example
   * tensor([0, Math.PI / 4]).tan(); // tensor([0., 1.])
   */
  tan: {
    forward: Math.tan,
    dtype: 'float',
    wasm: null,
    derivative: { saves: 'y', grad: (g, y) => g.mul(y.square().add(1)) },
  },
  /**
   * The arcsine, in [−π/2, π/2] (NaN outside [−1, 1]).
   * @example
   * tensor([0, 1]).asin(); // tensor([0.0000, 1.5708])
   */
  asin: {
    forward: Math.asin,
    dtype: 'float',
    wasm: null,
    derivative: { saves: 'x', grad: (g, x) => g.mul(x.square().neg().add(1).rsqrt()) },
  },
  /**
   * The arccosine, in [0, π] (NaN outside [−1, 1]).
   * @example
   * tensor([1, 0]).acos(); // tensor([0.0000, 1.5708])
   */
  acos: {
    forward: Math.acos,
    dtype: 'float',
    wasm: null,
    derivative: { saves: 'x', grad: (g, x) => g.mul(x.square().neg().add(1).rsqrt()).neg() },
  },
  /**
   * The arctangent, in (−π/2, π/2).
   * @example
   * tensor([0, 1]).atan(); // tensor([0.0000, 0.7854])
   */
  atan: {
    forward: Math.atan,
    dtype: 'float',
    wasm: null,
    derivative: { saves: 'x', grad: (g, x) => g.div(x.square().add(1)) },
  },
  /**
   * The hyperbolic tangent.
   * @example
   * tensor([0, 1]).tanh(); // tensor([0.0000, 0.7616])
   */
  tanh: {
    forward: Math.tanh,
    dtype: 'float',
    wasm: null,
    derivative: { saves: 'y', grad: (g, y) => g.mul(y.square().neg().add(1)) },
  },
  /**
   * 1 / (1 + e⁻ˣ), without overflow for large |x|.
   * @example
   * tensor([0, 2]).sigmoid(); // tensor([0.5000, 0.8808])
   */
  sigmoid: {
    forward: (x) => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x))),
    dtype: 'float',
    wasm: null,
    derivative: { saves: 'y', grad: (g, y) => g.mul(y.mul(y.neg().add(1))) },
  },
  /**
   * max(x, 0) (NaN stays NaN).
   * @example
   * tensor([-1, 2]).relu(); // tensor([0., 2.])
   */
  relu: {
    // x for x > 0 and for NaN, +0 otherwise (−0 included).
    forward: (x) => (x > 0 ? x : x === 0 || x < 0 ? 0 : x),
    dtype: 'same',
    wasm: {
      // Keep x's bits where x > 0 or x is NaN; the cleared bits elsewhere are +0.
      vector: (f, x) =>
        void f
          .get(x)
          .get(x)
          .v128_const_zero()
          .f32x4_gt()
          .get(x)
          .get(x)
          .f32x4_ne()
          .v128_or()
          .v128_and(),
      scalar: (f, x) =>
        void f
          .get(x)
          .f32_const(0)
          .get(x)
          .f32_const(0)
          .f32_gt()
          .get(x)
          .get(x)
          .f32_ne()
          .i32_or()
          .select(),
    },
    derivative: { saves: 'y', grad: (g, y) => g.mul(y.gt(0)) },
  },
  /**
   * The error function.
   * @example
   * tensor([0, 1]).erf(); // tensor([0.0000, 0.8427])
   */
  erf: {
    forward: erf,
    dtype: 'float',
    wasm: null,
    derivative: {
      saves: 'x',
      grad: (g, x) => g.mul(x.square().neg().exp().mul(TWO_OVER_SQRT_PI)),
    },
  },
  /**
   * x².
   * @example
   * tensor([-2, 3]).square(); // tensor([4., 9.])
   */
  square: {
    forward: (x) => x * x,
    dtype: 'same',
    wasm: null,
    derivative: { saves: 'x', grad: (g, x) => g.mul(x.mul(2)) },
  },
  /**
   * The largest integer ≤ x.
   * @example
   * tensor([-1.5, 1.5]).floor(); // tensor([-2.,  1.])
   */
  floor: { forward: Math.floor, dtype: 'same', wasm: null, derivative: { saves: 'none' } },
  /**
   * The smallest integer ≥ x.
   * @example
   * tensor([-1.5, 1.5]).ceil(); // tensor([-1.,  2.])
   */
  ceil: { forward: Math.ceil, dtype: 'same', wasm: null, derivative: { saves: 'none' } },
  /**
   * The nearest integer, halves to even (as PyTorch).
   * @example
   * tensor([0.5, 1.5, 2.6]).round(); // tensor([0., 2., 3.])
   */
  round: { forward: roundHalfEven, dtype: 'same', wasm: null, derivative: { saves: 'none' } },
  /**
   * A bool tensor: true where x is 0 (NaN is true, as in C and PyTorch).
   * @example
   * tensor([0, 2]).logicalNot(); // tensor([ True, False])
   */
  logicalNot: {
    forward: (x) => (x !== 0 ? 0 : 1),
    dtype: 'bool',
    wasm: null,
    derivative: { saves: 'none' },
  },
  /**
   * A bool tensor: true where x is NaN.
   * @example
   * tensor([1, NaN]).isnan(); // tensor([False,  True])
   */
  isnan: {
    forward: (x) => (Number.isNaN(x) ? 1 : 0),
    dtype: 'bool',
    wasm: null,
    derivative: { saves: 'none' },
  },
  /**
   * A bool tensor: true where x is ±Infinity.
   * @example
   * tensor([1, -Infinity]).isinf(); // tensor([False,  True])
   */
  isinf: {
    forward: (x) => (x === Infinity || x === -Infinity ? 1 : 0),
    dtype: 'bool',
    wasm: null,
    derivative: { saves: 'none' },
  },
} as const satisfies Record<string, UnaryOpDef>;

export const BINARY_OPS = {
  add: {
    forward: (a, b) => a + b,
    dtype: 'same',
    wasm: { vector: (f) => void f.f32x4_add(), scalar: (f) => void f.f32_add() },
    derivative: { saves: 'none', grad: (g) => [g, g] },
  },
  sub: {
    forward: (a, b) => a - b,
    dtype: 'same',
    wasm: { vector: (f) => void f.f32x4_sub(), scalar: (f) => void f.f32_sub() },
    derivative: { saves: 'none', grad: (g, _a, _b, _o, needs) => [g, needs[1] ? g.neg() : null] },
  },
  mul: {
    forward: (a, b) => a * b,
    integer: (a, b) => Math.imul(a, b),
    dtype: 'same',
    wasm: { vector: (f) => void f.f32x4_mul(), scalar: (f) => void f.f32_mul() },
    derivative: {
      saves: 'inputs',
      grad: (g, a, b, _o, needs) => [needs[0] ? g.mul(b) : null, needs[1] ? g.mul(a) : null],
    },
  },
  div: {
    forward: (a, b) => a / b,
    dtype: 'float',
    wasm: { vector: (f) => void f.f32x4_div(), scalar: (f) => void f.f32_div() },
    derivative: {
      saves: 'inputs',
      grad: (g, a, b, _o, needs) => [
        needs[0] ? g.div(b) : null,
        needs[1] ? g.mul(a).div(b.square()).neg() : null,
      ],
    },
  },
  pow: {
    forward: Math.pow,
    dtype: 'same',
    wasm: null,
    // 0 ** 0 = 1 with zero gradient, as PyTorch.
    derivative: {
      saves: 'inputsAndOutput',
      grad: (g, a, b, out, needs) => [
        needs[0]
          ? g
              .mul(b)
              .mul(a.pow(b.sub(1)))
              .where(b.eq(0).logicalNot(), 0)
          : null,
        needs[1]
          ? g
              .mul(out)
              .mul(a.log())
              .where(a.eq(0).logicalAnd(b.ge(0)).logicalNot(), 0)
          : null,
      ],
    },
  },
  // Like PyTorch, maximum/minimum propagate NaN.
  maximum: {
    forward: (a, b) => (a !== a || b !== b ? NaN : a > b ? a : b),
    dtype: 'same',
    wasm: null,
    derivative: {
      saves: 'inputs',
      grad: (g, a, b) => [tieSplit(g, a.gt(b), a.eq(b)), tieSplit(g, b.gt(a), a.eq(b))],
    },
  },
  minimum: {
    forward: (a, b) => (a !== a || b !== b ? NaN : a < b ? a : b),
    dtype: 'same',
    wasm: null,
    derivative: {
      saves: 'inputs',
      grad: (g, a, b) => [tieSplit(g, a.lt(b), a.eq(b)), tieSplit(g, b.lt(a), a.eq(b))],
    },
  },
  atan2: {
    forward: Math.atan2,
    dtype: 'same',
    wasm: null,
    derivative: {
      saves: 'inputs',
      grad: (g, a, b) => {
        const denominator = a.square().add(b.square());
        return [g.mul(b).div(denominator), g.mul(a).neg().div(denominator)];
      },
    },
  },
  // +(boolean) is 1 or 0 like `? 1 : 0`, but compiles branch-free (no mispredictions on random data).
  eq: { forward: (a, b) => +(a === b), dtype: 'bool', wasm: null, derivative: NOT_DIFFERENTIABLE },
  ne: { forward: (a, b) => +(a !== b), dtype: 'bool', wasm: null, derivative: NOT_DIFFERENTIABLE },
  lt: { forward: (a, b) => +(a < b), dtype: 'bool', wasm: null, derivative: NOT_DIFFERENTIABLE },
  le: { forward: (a, b) => +(a <= b), dtype: 'bool', wasm: null, derivative: NOT_DIFFERENTIABLE },
  gt: { forward: (a, b) => +(a > b), dtype: 'bool', wasm: null, derivative: NOT_DIFFERENTIABLE },
  ge: { forward: (a, b) => +(a >= b), dtype: 'bool', wasm: null, derivative: NOT_DIFFERENTIABLE },
  logicalAnd: {
    forward: (a, b) => (a !== 0 && b !== 0 ? 1 : 0),
    dtype: 'bool',
    wasm: null,
    derivative: NOT_DIFFERENTIABLE,
  },
  logicalOr: {
    forward: (a, b) => (a !== 0 || b !== 0 ? 1 : 0),
    dtype: 'bool',
    wasm: null,
    derivative: NOT_DIFFERENTIABLE,
  },
} as const satisfies Record<string, BinaryOpDef>;

export type UnaryOp = keyof typeof UNARY_OPS;
export type BinaryOp = keyof typeof BINARY_OPS;

/** Every unary op, in table order. */
export const UNARY_OP_NAMES = Object.keys(UNARY_OPS) as readonly UnaryOp[];
/** Every binary op, in table order. */
export const BINARY_OP_NAMES = Object.keys(BINARY_OPS) as readonly BinaryOp[];

/** The table entry of an op, seen through its interface (the `as const` literal types dropped). */
export function unaryOpDef(op: UnaryOp): UnaryOpDef {
  return UNARY_OPS[op];
}
export function binaryOpDef(op: BinaryOp): BinaryOpDef {
  return BINARY_OPS[op];
}

/** Binary ops whose result is a bool (0 or 1): comparisons and logical connectives. */
export const BOOL_RESULT_BINARY_OPS: ReadonlySet<BinaryOp> = new Set(
  BINARY_OP_NAMES.filter((op) => BINARY_OPS[op].dtype === 'bool'),
);

/** For a `switch` over an op union: the compiler proves this is unreachable, or fails. */
export function unreachableOp(op: never, where: string): never {
  throw new Error(`${where}: unknown op '${String(op)}'`);
}
