/**
 * Hessian-vector products of a loss with respect to parameters, by double backward: the gradient
 * g = ∇L is recorded once (createGraph), and each product Hv is the vector-Jacobian product of g
 * with cotangent v, i.e. autograd.grad(g, params, { gradOutputs: v }). The curvature tools
 * (Lanczos eigenvalues, Hutchinson trace, spectral density) all run on `HessianOperator`, which
 * works on flat float64 host vectors so that their arithmetic is float64 whatever the params'
 * dtype.
 */
import { Tensor } from '../tensor/tensor.js';
import { tensor } from '../tensor/creation.js';
import { formatShape } from '../tensor/shape.js';
import { grad } from '../autograd/backward.js';
import { enableGrad } from '../autograd/grad_mode.js';

/** A function that computes the scalar loss from the params (through closures), e.g. `() => F.mseLoss(model.forward(x), y)`. */
export type LossFn = () => Tensor | Promise<Tensor>;

/** The tensors to differentiate with respect to: one tensor, or a list (`model.parameters()`). */
export type Params = Tensor | Iterable<Tensor>;

/** The params as a list, each checked: a floating-point tensor that requires grad, none twice. */
export function paramList(op: string, params: Params): Tensor[] {
  if (params === null || typeof params !== 'object')
    throw new TypeError(
      `${op}: params must be a tensor or a list of tensors (e.g. model.parameters()), got ${params === null ? 'null' : typeof params}`,
    );
  const list = params instanceof Tensor ? [params] : [...params];
  if (list.length === 0) throw new Error(`${op}: params is empty; expected at least one tensor`);
  list.forEach((p, i) => {
    if (!(p instanceof Tensor))
      throw new TypeError(`${op}: params[${i}] must be a Tensor, got ${typeof p}`);
    if (!p.isFloatingPoint())
      throw new TypeError(
        `${op}: params[${i}] (shape ${formatShape(p.shape)}) has dtype ${p.dtype}; only float32 and float64 tensors have a Hessian`,
      );
    if (!p.requiresGrad)
      throw new Error(
        `${op}: params[${i}] (shape ${formatShape(p.shape)}) does not require grad; call requiresGrad_() on it or pass only trainable parameters`,
      );
    const first = list.indexOf(p);
    if (first !== i)
      throw new Error(`${op}: params[${i}] is the same tensor as params[${first}]; pass each once`);
  });
  return list;
}

/** The loss Hessian with respect to params, as a linear operator on flat host vectors. */
export class HessianOperator {
  /** Number of scalar parameters: the Hessian is numel × numel. */
  readonly numel: number;
  private readonly sizes: number[];

  private constructor(
    private readonly op: string,
    readonly params: Tensor[],
    /** The loss value where the Hessian is taken. */
    readonly loss: number,
    /** ∇L, recorded so that it can be differentiated again; null where it does not depend on the params. */
    private readonly gradients: Tensor[],
  ) {
    this.sizes = params.map((p) => p.numel());
    this.numel = this.sizes.reduce((a, b) => a + b, 0);
  }

  /** Runs lossFn once, checks its result and records its gradient for the products to come. */
  static async create(op: string, lossFn: LossFn, params: Params): Promise<HessianOperator> {
    if (typeof lossFn !== 'function')
      throw new TypeError(
        `${op}: lossFn must be a function returning the scalar loss, got ${typeof lossFn}`,
      );
    const list = paramList(op, params);
    // The loss is recorded even if the caller sits inside noGrad: the Hessian needs its graph.
    const loss = await enableGrad(() => lossFn());
    if (!(loss instanceof Tensor))
      throw new TypeError(
        `${op}: lossFn must return a Tensor (the scalar loss), got ${typeof loss}`,
      );
    if (loss.numel() !== 1)
      throw new Error(
        `${op}: lossFn must return a scalar loss (one element), got shape ${formatShape(loss.shape)}; reduce it with .mean() or .sum()`,
      );
    if (!loss.isFloatingPoint())
      throw new TypeError(`${op}: the loss must be float32 or float64, got dtype ${loss.dtype}`);
    const value = (await loss.data())[0];
    if (!Number.isFinite(value))
      throw new Error(`${op}: the loss is ${value}; its Hessian is not defined there`);
    if (!loss.requiresGrad)
      throw new Error(
        `${op}: the loss does not require grad, so its graph reaches none of the params; compute it from the params, outside noGrad and without detach()`,
      );
    const gradients = enableGrad(() =>
      grad(loss, list, { createGraph: true, retainGraph: true, allowUnused: true }),
    );
    gradients.forEach((g, i) => {
      if (g === null)
        throw new Error(
          `${op}: the loss does not depend on params[${i}] (shape ${formatShape(list[i].shape)}): its gradient is None; pass only the tensors the loss is computed from`,
        );
    });
    return new HessianOperator(op, list, value, gradients as Tensor[]);
  }

  /** H·v for v given as tensors shaped like the params (cast to each param's dtype); detached results. */
  applyTensors(v: readonly Tensor[]): Tensor[] {
    // A gradient that does not require grad is constant in the params: its rows of H are zero.
    const live = this.gradients.map((g, i) => ({ g, v: v[i] })).filter(({ g }) => g.requiresGrad);
    const zeros = () => this.params.map((p) => p.detach().mul(0));
    if (live.length === 0) return zeros();
    const products = enableGrad(() =>
      grad(
        live.map((l) => l.g),
        this.params,
        {
          gradOutputs: live.map((l) => l.v),
          retainGraph: true,
          allowUnused: true,
        },
      ),
    );
    return products.map((h, i) => h ?? this.params[i].detach().mul(0));
  }

  /** H·v for a flat float64 vector v (the params' elements in order); checked to be finite. */
  async apply(v: Float64Array): Promise<Float64Array> {
    const hv = await this.flatten(this.applyTensors(this.unflatten(v)));
    for (let i = 0; i < hv.length; i++) {
      if (!Number.isFinite(hv[i]))
        throw new Error(
          `${this.op}: a Hessian-vector product has a non-finite element (${hv[i]} at flat index ${i}); the loss or its derivatives overflow at these params`,
        );
    }
    return hv;
  }

  /** Tensors shaped like the params (their dtype and device) holding the flat vector's elements. */
  unflatten(flat: Float64Array): Tensor[] {
    let offset = 0;
    return this.params.map((p, i) => {
      const part = flat.subarray(offset, offset + this.sizes[i]);
      offset += this.sizes[i];
      return tensor(Float64Array.from(part), { dtype: p.dtype, shape: p.shape, device: p.device });
    });
  }

  /** The tensors' elements, concatenated in param order, as float64. */
  async flatten(tensors: readonly Tensor[]): Promise<Float64Array> {
    const out = new Float64Array(this.numel);
    let offset = 0;
    for (const t of tensors) {
      out.set(await t.data(), offset);
      offset += t.numel();
    }
    return out;
  }
}

/**
 * The product of the loss Hessian (with respect to `params`) with `v`, without forming the
 * Hessian: the gradient is recorded with createGraph and differentiated once more along v (double
 * backward, as `torch.autograd.grad(grads, params, grad_outputs=v)`). `v` has one tensor per
 * param, of the same shape; the result does too (a single tensor when `params` is one tensor).
 * The results are detached.
 * @example
 * const w = tensor([1, 2], { requiresGrad: true });
 * const [hv] = await inspect.hessianVectorProduct(() => w.pow(3).sum(), [w], [tensor([1, 1])]);
 * // hv = 6·w·v = [6, 12]
 */
export async function hessianVectorProduct(
  lossFn: LossFn,
  params: Tensor,
  v: Tensor,
): Promise<Tensor>;
export async function hessianVectorProduct(
  lossFn: LossFn,
  params: Iterable<Tensor>,
  v: Iterable<Tensor>,
): Promise<Tensor[]>;
export async function hessianVectorProduct(
  lossFn: LossFn,
  params: Params,
  v: Tensor | Iterable<Tensor>,
): Promise<Tensor | Tensor[]> {
  const op = 'inspect.hessianVectorProduct';
  const single = params instanceof Tensor;
  const list = paramList(op, params);
  if (v === null || typeof v !== 'object')
    throw new TypeError(`${op}: v must be a tensor or a list of tensors shaped like params`);
  const vs = v instanceof Tensor ? [v] : [...v];
  if (vs.length !== list.length)
    throw new Error(
      `${op}: got ${vs.length} tensors in v for ${list.length} params; expected one per param`,
    );
  vs.forEach((t, i) => {
    if (!(t instanceof Tensor))
      throw new TypeError(`${op}: v[${i}] must be a Tensor, got ${typeof t}`);
    if (formatShape(t.shape) !== formatShape(list[i].shape))
      throw new Error(
        `${op}: v[${i}] has shape ${formatShape(t.shape)} but params[${i}] has shape ${formatShape(list[i].shape)}; expected the same shape`,
      );
    if (!t.isFloatingPoint())
      throw new TypeError(`${op}: v[${i}] must be float32 or float64, got dtype ${t.dtype}`);
  });
  const hessian = await HessianOperator.create(op, lossFn, list);
  const products = hessian.applyTensors(
    vs.map((t, i) => (t.dtype === list[i].dtype ? t.detach() : t.detach().to(list[i].dtype))),
  );
  return single ? products[0] : products;
}
