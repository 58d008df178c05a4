/**
 * Per-sample gradients of a layer's parameters from what its forward saw (activations `a`, batch
 * first) and the gradient reaching its output (`g`, each row the gradient of that example's own
 * loss), as Opacus's grad samplers compute them: one batched product per layer instead of one
 * backward pass per example.
 *
 * Besides the per-sample gradients themselves, a rule may give DP-SGD two shortcuts that never
 * build them: the squared norm of each example's gradient and the clipped sum Σₙ cₙ·∇ₙ. For a
 * linear layer on [N, in] inputs ∇ₙW = gₙ aₙᵀ is an outer product, so ‖∇ₙW‖² = ‖gₙ‖²‖aₙ‖² and
 * Σₙ cₙ gₙ aₙᵀ = (c⊙g)ᵀ a: the MLP's step then costs one more matmul per layer, not
 * N × |W| numbers of memory (200 MB for 784×256 at batch 256).
 */
import { noGrad } from '../autograd/grad_mode.js';
import { unfold2d } from '../autograd/ops/conv.js';
import { pad } from '../autograd/ops/shape_ops.js';
import * as F from '../nn/functional/index.js';
import type { Module } from '../nn/module.js';
import type { Parameter } from '../nn/parameter.js';
import { Conv2d } from '../nn/layers/conv.js';
import { Linear } from '../nn/layers/linear.js';
import { GroupNorm, LayerNorm } from '../nn/layers/normalization.js';
import { formatShape } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';

/** What the hooks saw of one call of a layer: its input and the per-example gradient of its output. */
export interface LayerCall {
  activations: Tensor;
  backprops: Tensor;
}

/** How the per-sample gradients of one kind of layer are computed. */
export interface GradSampleRule {
  /** Each parameter's per-sample gradient, [N, ...parameter shape]. */
  perSample(module: Module, call: LayerCall): Map<Parameter, Tensor>;
  /** Σ over the layer's parameters of each example's squared gradient norm, [N]; optional shortcut. */
  normSquared?(module: Module, call: LayerCall): Tensor;
  /** Σₙ cₙ·∇ₙ for each parameter, with c of shape [N]; optional shortcut. */
  weightedSum?(module: Module, call: LayerCall, c: Tensor): Map<Parameter, Tensor>;
}

/** The parameters of `module` itself (not of its children) that require grad. */
export function trainableParams(module: Module): Parameter[] {
  return module.parameters(false).filter((p) => p.requiresGrad);
}

function put(map: Map<Parameter, Tensor>, p: Parameter | null, value: () => Tensor): void {
  if (p !== null && p.requiresGrad) map.set(p, value());
}

/** [N, …, F] → [N, T, F], with T the product of the middle dims (1 for a plain batch). */
function asSequence(t: Tensor): Tensor {
  const n = t.shape[0];
  const f = t.shape[t.ndim - 1];
  return t.reshape([n, -1, f]);
}

const linearRule: GradSampleRule = {
  perSample(module, { activations: a, backprops: g }) {
    const layer = module as Linear;
    const out = new Map<Parameter, Tensor>();
    if (a.ndim === 2) {
      // Outer products gₙ aₙᵀ by broadcasting: [N, out, 1] · [N, 1, in].
      put(out, layer.weight, () => g.unsqueeze(2).mul(a.unsqueeze(1)));
      put(out, layer.bias, () => g);
    } else {
      const as = asSequence(a);
      const gs = asSequence(g);
      put(out, layer.weight, () => gs.transpose(1, 2).matmul(as));
      put(out, layer.bias, () => gs.sum(1));
    }
    return out;
  },
  normSquared(module, call) {
    const layer = module as Linear;
    const { activations: a, backprops: g } = call;
    if (a.ndim !== 2) return normsFromPerSample(linearRule.perSample(module, call));
    const g2 = g.square().sum(1);
    let total = layer.weight.requiresGrad ? g2.mul(a.square().sum(1)) : g2.mul(0);
    if (layer.bias !== null && layer.bias.requiresGrad) total = total.add(g2);
    return total;
  },
  weightedSum(module, { activations: a, backprops: g }, c) {
    const layer = module as Linear;
    const out = new Map<Parameter, Tensor>();
    const f = a.shape[a.ndim - 1];
    const o = g.shape[g.ndim - 1];
    // c scales each example's rows: (c ⊙ g)ᵀ a over all positions of all examples.
    const gc = g.mul(c.reshape([g.shape[0], ...g.shape.slice(1).map(() => 1)])).reshape([-1, o]);
    put(out, layer.weight, () => gc.t().matmul(a.reshape([-1, f])));
    put(out, layer.bias, () => gc.sum(0));
    return out;
  },
};

/** The padding conv2d applies for the layer's padding option ('same' may pad one more at the end). */
function convColumns(layer: Conv2d, a: Tensor): Tensor {
  const [kh, kw] = layer.kernelSize;
  const [dh, dw] = layer.dilation;
  let padding: [number, number];
  let input = a;
  if (layer.padding === 'valid') padding = [0, 0];
  else if (layer.padding === 'same') {
    const total = [dh * (kh - 1), dw * (kw - 1)];
    padding = [Math.floor(total[0] / 2), Math.floor(total[1] / 2)];
    const extra = [total[0] - 2 * padding[0], total[1] - 2 * padding[1]];
    if (extra[0] || extra[1]) input = pad(a, [0, extra[1], 0, extra[0]]);
  } else padding = layer.padding as [number, number];
  return unfold2d(input, {
    kernel: [kh, kw],
    stride: layer.stride as [number, number],
    padding,
    dilation: [dh, dw],
  });
}

const conv2dRule: GradSampleRule = {
  perSample(module, { activations: a, backprops: g }) {
    const layer = module as Conv2d;
    const n = a.shape[0];
    const cols = convColumns(layer, a); // [N, C·kh·kw, L]
    const gs = g.reshape([n, layer.outChannels, -1]); // [N, O, L]
    const out = new Map<Parameter, Tensor>();
    put(out, layer.weight, () =>
      gs.matmul(cols.transpose(1, 2)).reshape([n, ...layer.weight.shape]),
    );
    put(out, layer.bias, () => gs.sum(2));
    return out;
  },
};

const groupNormRule: GradSampleRule = {
  perSample(module, { activations: a, backprops: g }) {
    const layer = module as GroupNorm;
    const n = a.shape[0];
    const normalized = F.groupNorm(a, layer.numGroups, null, null, layer.eps);
    const perChannel = (t: Tensor) => t.reshape([n, layer.numChannels, -1]).sum(2);
    const out = new Map<Parameter, Tensor>();
    put(out, layer.weight, () => perChannel(g.mul(normalized)));
    put(out, layer.bias, () => perChannel(g));
    return out;
  },
};

const layerNormRule: GradSampleRule = {
  perSample(module, { activations: a, backprops: g }) {
    const layer = module as LayerNorm;
    const n = a.shape[0];
    const shape = layer.normalizedShape;
    const normalized = F.layerNorm(a, shape, null, null, layer.eps);
    // Sum over the dims between the batch and the normalized shape.
    const perSample = (t: Tensor) => t.reshape([n, -1, ...shape]).sum(1);
    const out = new Map<Parameter, Tensor>();
    put(out, layer.weight, () => perSample(g.mul(normalized)));
    put(out, layer.bias, () => perSample(g));
    return out;
  },
};

/** Squared per-sample norms [N] summed over a map of per-sample gradients. */
export function normsFromPerSample(grads: Map<Parameter, Tensor>): Tensor {
  let total: Tensor | null = null;
  for (const ps of grads.values()) {
    const sq = ps.reshape([ps.shape[0], -1]).square().sum(1);
    total = total === null ? sq : total.add(sq);
  }
  if (total === null) throw new Error('privacy: a layer with no trainable parameters has no norm');
  return total;
}

/** Σₙ cₙ·∇ₙ from per-sample gradients. */
export function weightedSumFromPerSample(
  grads: Map<Parameter, Tensor>,
  c: Tensor,
): Map<Parameter, Tensor> {
  const out = new Map<Parameter, Tensor>();
  for (const [p, ps] of grads) {
    const n = ps.shape[0];
    out.set(
      p,
      c
        .reshape([1, n])
        .matmul(ps.reshape([n, -1]))
        .reshape([...p.shape]),
    );
  }
  return out;
}

/** The rule for a layer, or null when there is none. Order matters only for subclasses. */
export function ruleFor(module: Module): GradSampleRule | null {
  if (module instanceof Linear) return linearRule;
  if (module instanceof Conv2d) return module.groups === 1 ? conv2dRule : null;
  if (module instanceof GroupNorm) return groupNormRule;
  if (module instanceof LayerNorm) return layerNormRule;
  return null;
}

/** The layers that have a rule, for error messages. */
export const SUPPORTED_LAYERS = 'Linear, Conv2d (groups = 1), GroupNorm, LayerNorm';

/** Checks that a captured call has a batch dimension that matches its gradient. */
export function checkCall(name: string, module: Module, call: LayerCall): void {
  const { activations: a, backprops: g } = call;
  if (a.ndim < 2 || g.shape[0] !== a.shape[0])
    throw new Error(
      `privacy: layer '${name}' (${module.constructor.name}) got input ${formatShape(a.shape)} and output gradient ${formatShape(g.shape)}; per-sample gradients need a batch dimension first in both`,
    );
}

/** Per-sample gradients of a layer over all its calls in this step (summed per example). */
export function perSampleOf(module: Module, rule: GradSampleRule, calls: LayerCall[]) {
  return noGrad(() => {
    const total = rule.perSample(module, calls[0]);
    for (const call of calls.slice(1))
      for (const [p, ps] of rule.perSample(module, call)) total.set(p, total.get(p)!.add(ps));
    return total;
  });
}
