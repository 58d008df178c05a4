/**
 * Scalar kernels of the reference CPU backend, one entry per primitive. The tables are typed as
 * records over the op unions, so the compiler refuses a primitive without a kernel.
 */
import type { BinaryOp, UnaryOp } from '../backend.js';
import { erf, roundHalfEven } from './scalar_math.js';

export const UNARY_KERNELS: Record<UnaryOp, (x: number) => number> = {
  neg: (x) => -x,
  exp: Math.exp,
  log: Math.log,
  log1p: Math.log1p,
  expm1: Math.expm1,
  sqrt: Math.sqrt,
  rsqrt: (x) => 1 / Math.sqrt(x),
  abs: Math.abs,
  sign: (x) => (x > 0 ? 1 : x < 0 ? -1 : x === 0 ? 0 : NaN),
  reciprocal: (x) => 1 / x,
  sin: Math.sin,
  cos: Math.cos,
  tan: Math.tan,
  tanh: Math.tanh,
  sigmoid: (x) => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x))),
  relu: (x) => (x > 0 ? x : x === 0 || x < 0 ? 0 : x),
  erf,
  square: (x) => x * x,
  floor: Math.floor,
  ceil: Math.ceil,
  round: roundHalfEven,
  // Truthiness as in C/PyTorch: NaN is non-zero, so true (JavaScript's `NaN ? …` says false).
  logicalNot: (x) => (x !== 0 ? 0 : 1),
  isnan: (x) => (Number.isNaN(x) ? 1 : 0),
  isinf: (x) => (x === Infinity || x === -Infinity ? 1 : 0),
};

export const BINARY_KERNELS: Record<BinaryOp, (a: number, b: number) => number> = {
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
  pow: Math.pow,
  // Like PyTorch, maximum/minimum propagate NaN.
  maximum: (a, b) => (a !== a || b !== b ? NaN : a > b ? a : b),
  minimum: (a, b) => (a !== a || b !== b ? NaN : a < b ? a : b),
  atan2: Math.atan2,
  // +(boolean) is 1 or 0 like `? 1 : 0`, but compiles branch-free (no mispredictions on random data).
  eq: (a, b) => +(a === b),
  ne: (a, b) => +(a !== b),
  lt: (a, b) => +(a < b),
  le: (a, b) => +(a <= b),
  gt: (a, b) => +(a > b),
  ge: (a, b) => +(a >= b),
  logicalAnd: (a, b) => (a !== 0 && b !== 0 ? 1 : 0),
  logicalOr: (a, b) => (a !== 0 || b !== 0 ? 1 : 0),
};

/** Integer division results are truncated toward zero, as C and PyTorch's int ops do. */
export const INTEGER_BINARY_OVERRIDES: Partial<Record<BinaryOp, (a: number, b: number) => number>> =
  {
    mul: (a, b) => Math.imul(a, b),
  };
