import { describe, expect, it } from 'vitest';
import {
  autograd,
  func,
  gradcheck,
  gradgradcheck,
  tensor,
  randn,
  manualSeed,
  type Tensor,
} from '../src/index.js';

type Ctx = autograd.FunctionContext;

/** scale · a · b with a non-tensor argument between the tensors, as torch.autograd.Function allows. */
class ScaledMul extends autograd.Function {
  /** What needsInputGrad said in the last forward and backward, for the assertions. */
  static seen: { forward: boolean[]; backward: boolean[] | null } = { forward: [], backward: null };

  static override forward(ctx: Ctx, a: Tensor, scale: number, b: Tensor): Tensor {
    ctx.saveForBackward(a, b);
    ctx.scale = scale;
    ScaledMul.seen = { forward: [...ctx.needsInputGrad], backward: null };
    return a.mul(b).mul(scale);
  }

  static override backward(ctx: Ctx, g: Tensor): (Tensor | null)[] {
    const [a, b] = ctx.savedTensors;
    const scale = ctx.scale as number;
    ScaledMul.seen.backward = [...ctx.needsInputGrad];
    // Only what is needed: a gradient for an input that does not require grad is wasted work.
    return [
      ctx.needsInputGrad[0] ? g.mul(b).mul(scale) : null,
      ctx.needsInputGrad[1] ? g.mul(a).mul(scale) : null,
    ];
  }
}

/** x³ with a hand-written derivative built from differentiable ops, so it can be differentiated twice. */
class Cube extends autograd.Function {
  static override forward(ctx: Ctx, x: Tensor): Tensor {
    ctx.saveForBackward(x);
    return x.pow(3);
  }
  static override backward(ctx: Ctx, g: Tensor): Tensor {
    const [x] = ctx.savedTensors;
    return g.mul(x.square()).mul(3);
  }
}

class Identity extends autograd.Function {
  static override forward(_ctx: Ctx, x: Tensor): Tensor {
    return x;
  }
  static override backward(_ctx: Ctx, g: Tensor): Tensor {
    return g.mul(2); // deliberately not the identity, so the test sees that this node ran
  }
}

class WrongShape extends autograd.Function {
  static override forward(_ctx: Ctx, x: Tensor): Tensor {
    return x.sum();
  }
  static override backward(_ctx: Ctx, g: Tensor): Tensor {
    return g.reshape(1);
  }
}

const f64 = (data: number[]) => tensor(data, { dtype: 'float64' });

describe('autograd.Function', () => {
  it('computes the forward, names its node <Name>Backward, and gives the gradients backward returns', () => {
    const a = f64([1, 2, 3]).requiresGrad_();
    const b = f64([4, 5, 6]).requiresGrad_();
    const y = ScaledMul.apply(a, 0.5, b);
    expect(Array.from(y.dataSync())).toEqual([2, 5, 9]);
    expect(y.gradFn?.name).toBe('ScaledMulBackward');
    expect(y.requiresGrad).toBe(true);
    y.sum().backward();
    expect(Array.from(a.grad!.dataSync())).toEqual([2, 2.5, 3]);
    expect(Array.from(b.grad!.dataSync())).toEqual([0.5, 1, 1.5]);
  });

  it('needsInputGrad follows the tensor arguments only, skipping non-tensor ones', () => {
    const a = f64([1, 2]).requiresGrad_();
    const b = f64([3, 4]);
    const y = ScaledMul.apply(a, 2, b);
    expect(ScaledMul.seen.forward).toEqual([true, false]);
    y.sum().backward();
    expect(ScaledMul.seen.backward).toEqual([true, false]);
    expect(Array.from(a.grad!.dataSync())).toEqual([6, 8]);
    expect(b.grad).toBeNull();
  });

  it('records nothing when no input requires grad', () => {
    const y = ScaledMul.apply(f64([1]), 3, f64([2]));
    expect(y.requiresGrad).toBe(false);
    expect(y.gradFn).toBeNull();
    expect(y.itemSync()).toBe(6);
  });

  it('passes gradcheck and gradgradcheck', () => {
    manualSeed(0);
    const a = randn([2, 3], { dtype: 'float64', requiresGrad: true });
    const b = randn([2, 3], { dtype: 'float64', requiresGrad: true });
    expect(gradcheck((x, y) => ScaledMul.apply(x, -1.5, y), [a, b])).toBe(true);
    expect(gradcheck((x) => Cube.apply(x), [a])).toBe(true);
    expect(gradgradcheck((x) => Cube.apply(x), [a])).toBe(true);
  });

  it('gradcheck catches a wrong backward', () => {
    class Bad extends autograd.Function {
      static override forward(_ctx: Ctx, x: Tensor): Tensor {
        return x.sin();
      }
      static override backward(_ctx: Ctx, g: Tensor): Tensor {
        return g; // should be g·cos(x)
      }
    }
    const x = randn([3], { dtype: 'float64', requiresGrad: true });
    expect(() => gradcheck((t) => Bad.apply(t), [x])).toThrow('gradcheck: Jacobian mismatch');
  });

  it('works under the function transforms, to second order', () => {
    const x = f64([2]);
    expect(
      Array.from(
        func
          .grad((t: Tensor) => Cube.apply(t).sum())(x)
          .dataSync(),
      ),
    ).toEqual([12]);
    expect(
      Array.from(
        func
          .grad((t: Tensor) =>
            func
              .grad((u: Tensor) => Cube.apply(u).sum())(t)
              .sum(),
          )(x)
          .dataSync(),
      ),
    ).toEqual([12]);
  });

  it('throws when a saved tensor is modified in place before backward', () => {
    const x = f64([1, 2]).requiresGrad_();
    const h = x.mul(1);
    const y = Cube.apply(h);
    h.mul_(2);
    expect(() => y.sum().backward()).toThrow(
      /modified by an in-place operation.*saved by CubeBackward/s,
    );
    // Unmodified, the same graph works.
    const h2 = x.mul(1);
    Cube.apply(h2).sum().backward();
    expect(Array.from(x.grad!.dataSync())).toEqual([3, 12]);
  });

  it('gives a forward that returns its input unchanged a node of its own', () => {
    const x = f64([1, 2]).requiresGrad_();
    const y = Identity.apply(x);
    expect(y).not.toBe(x);
    expect(y.gradFn?.name).toBe('IdentityBackward');
    y.sum().backward();
    expect(Array.from(x.grad!.dataSync())).toEqual([2, 2]);
  });

  it('reports a backward that returns a gradient of the wrong shape', () => {
    const x = f64([1, 2]).requiresGrad_();
    expect(() => WrongShape.apply(x).backward()).toThrow(
      'WrongShapeBackward returned a gradient of shape [1] for input 0 of shape [2]',
    );
  });

  it('frees saved tensors after backward unless retainGraph', () => {
    const x = f64([1, 2]).requiresGrad_();
    const y = Cube.apply(x).sum();
    y.backward();
    expect(() => y.backward()).toThrow(
      'CubeBackward: trying to backward through the graph a second time',
    );
    const z = Cube.apply(x).sum();
    z.backward(undefined, { retainGraph: true });
    z.backward();
    expect(Array.from(x.grad!.dataSync())).toEqual([3 + 3 + 3, 12 + 12 + 12]);
  });
});
