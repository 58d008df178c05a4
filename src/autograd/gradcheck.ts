/**
 * Numerical gradient checking: compares the Jacobian from backward with central finite
 * differences, element by element, with PyTorch's default tolerances, and reports the worst element.
 */
import { Tensor } from '../tensor/tensor.js';
import { formatShape } from '../tensor/shape.js';
import { Generator } from '../tensor/random.js';
import { grad } from './backward.js';
import { noGrad } from './grad_mode.js';

export interface GradcheckOptions {
  /** Finite-difference step. */
  eps?: number;
  atol?: number;
  rtol?: number;
  /** Throw on failure (default) or return false. */
  raiseException?: boolean;
}

type Outputs = Tensor | readonly Tensor[];

function asList(out: Outputs): Tensor[] {
  return out instanceof Tensor ? [out] : [...out];
}

/** Storage position of element `k` (row-major) of a view. */
function positionOf(t: Tensor, k: number): number {
  let position = t.offset;
  for (let d = t.ndim - 1; d >= 0; d--) {
    position += (k % t.shape[d]) * t.strides[d];
    k = Math.floor(k / t.shape[d]);
  }
  return position;
}

/** Reads and writes single elements in place without bumping versions (CPU storage). */
function elementAccess(t: Tensor, k: number) {
  const storage = t.storage as Float64Array;
  const position = positionOf(t, k);
  return {
    get: () => storage[position],
    set: (v: number) => {
      storage[position] = v;
    },
  };
}

/** Output values at the current inputs. Grad mode stays on: fn may use autograd inside (gradgradcheck). */
function evaluate(fn: (...inputs: Tensor[]) => Outputs, inputs: Tensor[]): Float64Array[] {
  return asList(fn(...inputs))
    .filter((o) => o.isFloatingPoint())
    .map((o) => Float64Array.from(o.dataSync()));
}

function describe(kind: string, shape: readonly number[], k: number): string {
  const index: number[] = [];
  for (let d = shape.length - 1; d >= 0; d--) {
    index.unshift(k % shape[d]);
    k = Math.floor(k / shape[d]);
  }
  return `${kind}[${index.join(', ')}]`;
}

/**
 * Checks the gradients of `fn` at `inputs` (float64 tensors; those with requiresGrad are checked)
 * against central finite differences. Throws with the worst element when they disagree.
 * @example
 * gradcheck((x) => x.sin().sum(), [randn([3], { dtype: 'float64', requiresGrad: true })]);
 */
export function gradcheck(
  fn: (...inputs: Tensor[]) => Outputs,
  inputs: readonly Tensor[],
  options: GradcheckOptions = {},
): boolean {
  const { eps = 1e-6, atol = 1e-5, rtol = 1e-3, raiseException = true } = options;
  const checked = inputs.map((t, i) => ({ t, i })).filter(({ t }) => t.requiresGrad);
  if (checked.length === 0) throw new Error('gradcheck: at least one input must require grad');
  for (const { t, i } of checked) {
    if (t.dtype !== 'float64')
      throw new TypeError(
        `gradcheck: input ${i} is ${t.dtype}; finite differences need float64 inputs`,
      );
    if (t.device !== 'cpu')
      throw new Error(
        `gradcheck: input ${i} is on ${t.device}; gradcheck runs on the CPU reference backend`,
      );
  }
  const outputs = asList(fn(...inputs)).filter((o) => o.isFloatingPoint());
  const outputSizes = outputs.map((o) => o.numel());

  let worst = { excess: -Infinity, message: '' };
  const consider = (analytic: number, numeric: number, where: string) => {
    const bad = Number.isNaN(analytic) !== Number.isNaN(numeric);
    const excess = bad
      ? Infinity
      : Math.abs(analytic - numeric) - (atol + rtol * Math.abs(numeric));
    if (excess > worst.excess)
      worst = { excess, message: `${where}: analytical ${analytic}, numerical ${numeric}` };
  };

  // Numerical Jacobians: two evaluations per input element give a column for every output.
  const numeric = checked.map(({ t }) =>
    Array.from({ length: t.numel() }, (_, k) => {
      const access = elementAccess(t, k);
      const original = access.get();
      access.set(original + eps);
      const plus = evaluate(fn, [...inputs]);
      access.set(original - eps);
      const minus = evaluate(fn, [...inputs]);
      access.set(original);
      return plus.map((values, o) => values.map((v, j) => (v - minus[o][j]) / (2 * eps)));
    }),
  );
  // Analytical Jacobians: one backward pass per output element gives a row for every input.
  outputs.forEach((output, o) => {
    for (let j = 0; j < outputSizes[o]; j++) {
      let rows: (Tensor | null)[] = checked.map(() => null);
      if (output.requiresGrad) {
        const oneHot = new Float64Array(outputSizes[o]);
        oneHot[j] = 1;
        const seed = Tensor.fromStorage(
          output.backend.fromValues(output.dtype, oneHot),
          output.shape,
          output.dtype,
          output.backend,
        );
        rows = grad(
          [output],
          checked.map(({ t }) => t),
          { gradOutputs: [seed], retainGraph: true, allowUnused: true },
        );
      }
      checked.forEach(({ t, i }, c) => {
        const row = rows[c] ? rows[c]!.dataSync() : new Float64Array(t.numel());
        for (let k = 0; k < t.numel(); k++) {
          const where = `output ${o} ${describe('element', output.shape, j)} w.r.t. input ${i} ${describe('element', t.shape, k)} (input shape ${formatShape(t.shape)})`;
          consider(row[k], numeric[c][k][o][j], where);
        }
      });
    }
  });
  if (worst.excess > 0) {
    if (!raiseException) return false;
    throw new Error(
      `gradcheck: Jacobian mismatch (atol=${atol}, rtol=${rtol}); worst at ${worst.message}`,
    );
  }
  return true;
}

/**
 * Checks second derivatives: gradcheck of the vector-Jacobian product of `fn` with random
 * gradient outputs, with respect to both the inputs and those gradient outputs.
 */
export function gradgradcheck(
  fn: (...inputs: Tensor[]) => Outputs,
  inputs: readonly Tensor[],
  options: GradcheckOptions & { gradOutputs?: readonly Tensor[]; seed?: number } = {},
): boolean {
  const outputs = noGrad(() => asList(fn(...inputs))).filter((o) => o.isFloatingPoint());
  const generator = new Generator(options.seed ?? 0);
  const gradOutputs =
    options.gradOutputs?.map((g) => g.detach().requiresGrad_()) ??
    outputs.map((o) =>
      Tensor.fromStorage(
        o.backend.fromValues(
          'float64',
          Array.from({ length: o.numel() }, () => generator.nextNormal()),
        ),
        o.shape,
        'float64',
        o.backend,
      ).requiresGrad_(),
    );
  const differentiable = inputs.filter((t) => t.requiresGrad);
  const vjp = (...all: Tensor[]): Tensor[] => {
    const xs = all.slice(0, inputs.length);
    const gs = all.slice(inputs.length);
    const outs = asList(fn(...xs)).filter((o) => o.isFloatingPoint());
    const used = outs.map((o, i) => ({ o, g: gs[i] })).filter(({ o }) => o.requiresGrad);
    if (used.length === 0) return [];
    const grads = grad(
      used.map((u) => u.o),
      xs.filter((t) => t.requiresGrad),
      {
        gradOutputs: used.map((u) => u.g),
        createGraph: true,
        allowUnused: true,
      },
    );
    return grads.map((g, i) => g ?? differentiable[i].mul(0));
  };
  return gradcheck(vjp, [...inputs, ...gradOutputs], options);
}
