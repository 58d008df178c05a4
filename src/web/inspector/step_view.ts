/**
 * One step of the backward pass as HTML: the node, the gradient reaching it (upstream), and per
 * input the local derivative and the product the chain rule sends on. Every number shown also
 * sits, at full precision, in a `data-values` attribute (JSON), which the browser test reads.
 */
import type { inspect, Tensor } from '../../index.js';
import { escapeXml } from '../../inspect/plots/svg.js';

/** At most this many numbers are printed per tensor; data-values has them all. */
const SHOWN = 12;

function values(t: Tensor): number[] {
  return Array.from(t.detach().dataSync(), Number);
}

function short(v: number): string {
  return Number(v.toPrecision(4)).toString();
}

function tensorHtml(cls: string, t: Tensor, shape = t.shape): string {
  const vs = values(t);
  const text = vs.slice(0, SHOWN).map(short).join(', ') + (vs.length > SHOWN ? ', …' : '');
  const shapeText = shape.length === 0 ? 'scalar' : `[${shape.join(', ')}]`;
  return (
    `<span class="tensor ${cls}" data-values="${escapeXml(JSON.stringify(vs))}" data-shape="${escapeXml(JSON.stringify(shape))}">` +
    `<span class="shape">${shapeText}</span> ${vs.length === 1 ? text : `[${text}]`}</span>`
  );
}

/** Label of a graph node for the text ('Mul (n4)', 'w0'). */
export type LabelOf = (node: inspect.BackwardStep['node']) => string;

export function stepHtml(
  step: inspect.BackwardStep,
  index: number,
  count: number,
  labelOf: LabelOf,
): string {
  const name = labelOf(step.node);
  const head = `<div class="step-head">step ${index + 1} of ${count}: <b>${escapeXml(name)}</b> <span class="op">${escapeXml(step.node.name)}</span></div>`;
  if (step.inputs.length === 0) {
    return (
      head +
      `<div class="row">leaf: backward() adds the gradient reaching it to <code>${escapeXml(name)}.grad</code></div>` +
      `<div class="row">∂out/∂${escapeXml(name)} = ${tensorHtml('leaf-grad', step.upstream)}</div>`
    );
  }
  const rows = step.inputs.map((input) => {
    const target = labelOf(input.node);
    const local = input.local
      ? tensorHtml('local', input.local)
      : `<span class="tensor local none">Jacobian of ${step.upstream.numel()} × ${input.product.numel()} entries: not formed, the rule computes the product directly</span>`;
    const scalar =
      input.local !== null && step.upstream.numel() === 1 && input.product.numel() === 1;
    const equation = scalar
      ? `<div class="equation">${short(values(step.upstream)[0])} × ${short(values(input.local!)[0])} = ${short(values(input.product)[0])}</div>`
      : '';
    return (
      `<div class="input" data-target="${escapeXml(target)}">` +
      `<div class="row">to input ${input.index} (<b>${escapeXml(target)}</b>)</div>` +
      `<div class="row">local derivative ∂out/∂in: ${local}</div>` +
      `<div class="row">product (upstream · local): ${tensorHtml('product', input.product)}</div>` +
      equation +
      `</div>`
    );
  });
  return (
    head +
    `<div class="row">upstream gradient: ${tensorHtml('upstream', step.upstream)}</div>` +
    rows.join('')
  );
}
