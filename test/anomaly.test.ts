import { describe, expect, it } from 'vitest';
import {
  autograd,
  detectAnomaly,
  isAnomalyEnabled,
  func,
  tensor,
  type Tensor,
} from '../src/index.js';

/** A custom op whose backward produces NaN: the kind of bug anomaly mode is for. */
class NaNGrad extends autograd.Function {
  static override forward(_ctx: autograd.FunctionContext, x: Tensor): Tensor {
    return x.mul(2);
  }
  static override backward(_ctx: autograd.FunctionContext, g: Tensor): Tensor {
    return g.mul(NaN);
  }
}

const f64 = (data: number[]) => tensor(data, { dtype: 'float64' });

/** sqrt at 0 has an infinite derivative; times a zero upstream gradient it is 0·∞ = NaN. */
function sqrtAtZero(): { x: Tensor; loss: Tensor } {
  const x = f64([0, 4]).requiresGrad_();
  const loss = x
    .sqrt()
    .mul(f64([0, 1]))
    .sum();
  return { x, loss };
}

function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected an error');
}

describe('detectAnomaly', () => {
  it('without anomaly mode, a NaN gradient passes silently', () => {
    const { x, loss } = sqrtAtZero();
    loss.backward();
    const grad = x.grad!.dataSync();
    expect(Number.isNaN(grad[0])).toBe(true);
    expect(grad[1]).toBeCloseTo(0.25, 12);
  });

  it('names SqrtBackward and points to where the sqrt was created', () => {
    const error = thrown(() =>
      detectAnomaly(() => {
        const { loss } = sqrtAtZero();
        loss.backward();
      }),
    );
    expect(error.message).toContain(
      'detectAnomaly: SqrtBackward returned NaN values in its gradient for input 0',
    );
    expect(error.message).toContain('The op was created at:');
    expect(error.message).toContain('anomaly.test.ts');
    // The stack is the user's code: the library's own frames are left out.
    expect(error.message).not.toMatch(/src\/autograd\/ops\/elementwise/);
  });

  it('reports Inf too (log at 0)', () => {
    const error = thrown(() =>
      detectAnomaly(() => {
        const x = f64([0, 1]).requiresGrad_();
        x.log().sum().backward();
      }),
    );
    expect(error.message).toContain('LogBackward returned Inf values');
  });

  it('names a custom Function whose backward returns NaN', () => {
    const x = f64([1, 2]);
    const error = thrown(() =>
      detectAnomaly(() => {
        const leaf = x.detach().requiresGrad_();
        NaNGrad.apply(leaf).sum().backward();
      }),
    );
    expect(error.message).toContain('NaNGradBackward returned NaN');
    expect(error.message).toContain('anomaly.test.ts');
    // Outside anomaly mode the same graph gives NaN without an error.
    const leaf = x.detach().requiresGrad_();
    NaNGrad.apply(leaf).sum().backward();
    expect(Number.isNaN(leaf.grad!.dataSync()[0])).toBe(true);
  });

  it('catches NaN inside function transforms', () => {
    const f = (x: Tensor) =>
      x
        .sqrt()
        .mul(f64([0, 1]))
        .sum();
    expect(() => detectAnomaly(() => func.grad(f)(f64([0, 4])))).toThrow(
      'SqrtBackward returned NaN',
    );
    expect(
      Number.isNaN(
        func
          .grad(f)(f64([0, 4]))
          .dataSync()[0],
      ),
    ).toBe(true);
  });

  it('checks backward run in anomaly mode even for ops recorded outside it, without a stack', () => {
    const { loss } = sqrtAtZero();
    const error = thrown(() => detectAnomaly(() => loss.backward()));
    expect(error.message).toContain('SqrtBackward returned NaN');
    expect(error.message).toContain('the op was created outside anomaly mode');
  });

  it('restores the previous mode, also after an error, and returns fn’s value', () => {
    expect(isAnomalyEnabled()).toBe(false);
    expect(() => detectAnomaly(() => sqrtAtZero().loss.backward())).toThrow();
    expect(isAnomalyEnabled()).toBe(false);
    expect(detectAnomaly(() => isAnomalyEnabled())).toBe(true);
    expect(detectAnomaly(() => 42)).toBe(42);
  });

  it('lets a finite backward through unchanged', () => {
    const x = f64([1, 4]).requiresGrad_();
    detectAnomaly(() => x.sqrt().sum().backward());
    expect(Array.from(x.grad!.dataSync())).toEqual([0.5, 0.25]);
  });
});
