/**
 * Reference fixtures from PyTorch. A fixture file (written by a script under scripts/fixtures/
 * with a local PyTorch) holds cases; each case names an op, its inputs, the output, a
 * cotangent (gradOutput) and the input gradients PyTorch computed for that cotangent. A test
 * maps each case name to the same computation in chainrule and calls `checkCase`.
 *
 * JSON has no NaN or Infinity, so the scripts write them as the strings "nan", "inf", "-inf".
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { tensor, type Tensor, type DType } from '../../src/index.js';

export interface FixtureTensor {
  shape: number[];
  dtype: DType;
  data: (number | string | boolean)[];
  requiresGrad?: boolean;
}

export interface FixtureCase {
  name: string;
  inputs: FixtureTensor[];
  /** Non-tensor arguments, passed through to the test's function as they are. */
  args?: unknown;
  output: FixtureTensor | FixtureTensor[];
  /** One cotangent per output; absent when the op is not differentiable. */
  gradOutputs?: FixtureTensor[];
  /** d(Σ output·gradOutput)/d(input) for each input, null where PyTorch gives none. */
  grads?: (FixtureTensor | null)[];
}

const fixtureDir = fileURLToPath(new URL('../fixtures/', import.meta.url));

export function loadFixtures(file: string): FixtureCase[] {
  const parsed = JSON.parse(readFileSync(fixtureDir + file, 'utf8')) as { cases: FixtureCase[] };
  return parsed.cases;
}

function decode(v: number | string | boolean): number {
  if (v === 'nan') return NaN;
  if (v === 'inf') return Infinity;
  if (v === '-inf') return -Infinity;
  return Number(v);
}

/** The fixture tensor as a chainrule tensor on `device` (a leaf that requires grad if the fixture says so). */
export function fromFixture(ft: FixtureTensor, device = 'cpu'): Tensor {
  const values = ft.data.map(decode);
  return tensor(values, {
    dtype: ft.dtype,
    shape: ft.shape,
    requiresGrad: ft.requiresGrad ?? false,
    device,
  });
}

export interface Tolerance {
  atol?: number;
  rtol?: number;
}

/** Tolerances by dtype: float32 results differ from PyTorch's by rounding and summation order. */
function tolerance(dtype: DType, given: Tolerance): Required<Tolerance> {
  const base =
    dtype === 'float64'
      ? { atol: 1e-10, rtol: 1e-8 }
      : dtype === 'float32'
        ? { atol: 1e-5, rtol: 1e-4 }
        : { atol: 0, rtol: 0 };
  return { ...base, ...given };
}

/** Asserts `actual` equals the fixture tensor in shape, dtype and values (NaN matches NaN). */
export function expectMatches(
  actual: Tensor,
  expected: FixtureTensor,
  label: string,
  tol: Tolerance = {},
): void {
  expect(actual.shape, `${label}: shape`).toEqual(expected.shape);
  expect(actual.dtype, `${label}: dtype`).toBe(expected.dtype);
  const { atol, rtol } = tolerance(expected.dtype, tol);
  const got = actual.dataSync();
  const want = expected.data.map(decode);
  let worst = { excess: 0, index: -1 };
  for (let i = 0; i < want.length; i++) {
    const a = got[i];
    const b = want[i];
    if (Number.isNaN(b) || Number.isNaN(a)) {
      if (Number.isNaN(a) !== Number.isNaN(b)) worst = { excess: Infinity, index: i };
      continue;
    }
    if (a === b) continue;
    const excess = Math.abs(a - b) - (atol + rtol * Math.abs(b));
    if (excess > worst.excess) worst = { excess, index: i };
  }
  if (worst.index >= 0) {
    const i = worst.index;
    expect.fail(
      `${label}: element ${i} is ${got[i]}, PyTorch gives ${want[i]} (atol ${atol}, rtol ${rtol})`,
    );
  }
}

/**
 * Runs `fn` on the case's inputs (on `device`) and compares the output with PyTorch's; then, if
 * the case has gradients, backpropagates the stored cotangent and compares every input's gradient.
 */
export function checkCase(
  c: FixtureCase,
  fn: (inputs: Tensor[], args: any) => Tensor | Tensor[],
  tol: Tolerance = {},
  device = 'cpu',
): void {
  const inputs = c.inputs.map((ft) => fromFixture(ft, device));
  const result = fn(inputs, c.args);
  const outputs = Array.isArray(result) ? result : [result];
  const expected = Array.isArray(c.output) ? c.output : [c.output];
  expect(outputs.length, `${c.name}: number of outputs`).toBe(expected.length);
  outputs.forEach((o, i) => expectMatches(o, expected[i], `${c.name} output ${i}`, tol));
  if (!c.grads || !c.gradOutputs) return;
  const differentiable = outputs
    .map((o, i) => ({ o, g: c.gradOutputs![i] }))
    .filter(({ o }) => o.requiresGrad);
  if (differentiable.length === 0) {
    expect(
      c.grads.every((g) => g === null),
      `${c.name}: PyTorch has gradients but the output does not require grad`,
    ).toBe(true);
    return;
  }
  const total = differentiable
    .map(({ o, g }) => o.mul(fromFixture(g, device)).sum())
    .reduce((a, b) => a.add(b));
  total.backward();
  c.grads.forEach((g, i) => {
    if (g === null) return;
    const actual = inputs[i].grad;
    if (actual === null) expect.fail(`${c.name}: input ${i} got no gradient; PyTorch gives one`);
    expectMatches(actual, g, `${c.name} grad of input ${i}`, tol);
  });
}
