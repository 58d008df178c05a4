/**
 * Numerical gradient checking catches a wrong hand-written backward. SiLU, x·σ(x), written as a
 * custom autograd.Function twice: once with the right derivative σ(x)(1 + x(1 − σ(x))), once with
 * a classic slip (the product rule's second term forgotten: σ(x)). gradcheck compares each
 * backward with central finite differences (f(x + ε) − f(x − ε)) / 2ε in float64: the right one
 * passes, the wrong one fails and says where.
 *
 *   npx tsx examples/gradient_checking.ts
 */
import { autograd, gradcheck, manualSeed, randn, type Tensor } from '../src/index.js';
import { runIfMain } from './run_main.js';

type Ctx = InstanceType<typeof autograd.FunctionContext>;

class SiLU extends autograd.Function {
  static override forward(ctx: Ctx, x: Tensor): Tensor {
    ctx.saveForBackward(x);
    return x.mul(x.sigmoid());
  }
  static override backward(ctx: Ctx, g: Tensor): Tensor[] {
    const [x] = ctx.savedTensors;
    const s = x.sigmoid();
    return [g.mul(s.mul(x.mul(s.neg().add(1)).add(1)))];
  }
}

class WrongSiLU extends SiLU {
  static override backward(ctx: Ctx, g: Tensor): Tensor[] {
    const [x] = ctx.savedTensors;
    return [g.mul(x.sigmoid())]; // forgot the x·σ'(x) term
  }
}

export interface CheckResult {
  name: string;
  passed: boolean;
  /** Largest |analytic − numeric| over the inputs. */
  maxError: number;
  /** gradcheck's message when it failed. */
  message: string | null;
}

function numericGrad(f: (x: number) => number, x: number, eps = 1e-6): number {
  return (f(x + eps) - f(x - eps)) / (2 * eps);
}

export function main(
  options: { size?: number; seed?: number } = {},
  log: (line: string) => void = console.log,
): CheckResult[] {
  const { size = 6, seed = 0 } = options;
  manualSeed(seed);
  const x = randn([size], { dtype: 'float64' }).requiresGrad_();
  const silu = (v: number) => v / (1 + Math.exp(-v));
  const results: CheckResult[] = [];
  for (const fn of [SiLU, WrongSiLU]) {
    x.grad = null;
    fn.apply(x).sum().backward();
    const analytic = Array.from(x.grad!.dataSync());
    const numeric = Array.from(x.dataSync()).map((v) => numericGrad(silu, v));
    const maxError = Math.max(...analytic.map((a, i) => Math.abs(a - numeric[i])));
    let message: string | null = null;
    try {
      gradcheck((t: Tensor) => fn.apply(t), [x]);
    } catch (error) {
      message = (error as Error).message;
    }
    const result = { name: fn.name, passed: message === null, maxError, message };
    results.push(result);
    log(
      `${fn.name}: gradcheck ${result.passed ? 'passed' : 'FAILED'}; largest |backward - finite difference| = ${maxError.toExponential(2)}`,
    );
    if (message) log(`  ${message}`);
  }
  return results;
}

runIfMain(import.meta.url, () => main());
