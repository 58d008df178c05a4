/**
 * Custom differentiable ops, as torch.autograd.Function: subclass with static forward and
 * backward, save what backward needs with ctx.saveForBackward, call with .apply().
 */
import { Tensor } from '../tensor/tensor.js';
import { record } from './define.js';
import { noGrad } from './grad_mode.js';

export class FunctionContext {
  private saved: Tensor[] = [];
  /** Whether each tensor argument of forward requires grad. */
  needsInputGrad: boolean[] = [];
  /** Free-form storage for non-tensor values backward needs. */
  [key: string]: unknown;

  saveForBackward(...tensors: Tensor[]): void {
    this.saved = tensors;
  }

  get savedTensors(): Tensor[] {
    return this.saved;
  }

  /** Internal: replaces saved tensors with the versions the engine checked. */
  setSaved(tensors: Tensor[]): void {
    this.saved = tensors;
  }
}

/**
 * Base class of custom ops.
 * @example
 * class Cube extends autograd.Function {
 *   static forward(ctx: FunctionContext, x: Tensor) { ctx.saveForBackward(x); return x.pow(3); }
 *   static backward(ctx: FunctionContext, g: Tensor) { const [x] = ctx.savedTensors; return [g.mul(x.square()).mul(3)]; }
 * }
 * const y = Cube.apply(x);
 */
export abstract class Function {
  static forward(_ctx: FunctionContext, ..._args: unknown[]): Tensor {
    throw new Error(`${this.name}.forward is not implemented`);
  }

  static backward(
    _ctx: FunctionContext,
    _grad: Tensor,
  ): (Tensor | null | undefined)[] | Tensor | null {
    throw new Error(`${this.name}.backward is not implemented`);
  }

  /** Runs forward without recording, then records backward as one node of the graph. */
  static apply(this: typeof Function, ...args: unknown[]): Tensor {
    const ctx = new FunctionContext();
    const tensorArgs = args.filter((a): a is Tensor => a instanceof Tensor);
    ctx.needsInputGrad = tensorArgs.map((t) => t.requiresGrad);
    const raw = noGrad(() => this.forward(ctx, ...args));
    if (!(raw instanceof Tensor)) throw new TypeError(`${this.name}.forward must return a Tensor`);
    // A forward that returns an input unchanged still needs an output node of its own.
    const output = tensorArgs.includes(raw) ? raw.detach() : raw;
    const backward = this.backward.bind(this);
    const name = `${this.name}Backward`;
    return record(name, output, tensorArgs, ctx.savedTensors, (g, saved) => {
      // User code sees (and may keep) the incoming gradient: the engine never reuses its memory.
      g.buffer.epoch = -1;
      ctx.setSaved(saved);
      const result = backward(ctx, g);
      const grads = Array.isArray(result) ? result : [result];
      // Made (and perhaps kept) by user code: the engine copies them before they become a .grad.
      for (const t of grads) if (t instanceof Tensor) t.buffer.epoch = -1;
      // Gradients follow the order of forward's tensor arguments; non-tensor arguments are skipped.
      return tensorArgs.map((_, i) => grads[i] ?? null);
    });
  }
}
