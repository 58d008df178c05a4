/**
 * Matrix products. One differentiable primitive, batched matmul of [B, M, K] by [B, K, N];
 * matmul's PyTorch rules (1-D promotion, broadcast batch dims), mm, bmm, dot, outer and einsum
 * are arrangements of it, so their gradients come from reshape, expand and this one rule.
 */
import { traceKernel } from '../../backend/kernel_trace.js';
import { assertAllocatable, promoteTypes } from '../../tensor/dtype.js';
import { broadcastShapes, formatShape } from '../../tensor/shape.js';
import type { Tensor } from '../../tensor/tensor.js';
import { assertTensor, castRaw, fromStorage, record } from '../define.js';
import { isGradEnabled } from '../grad_mode.js';

function batchedMatmul(a: Tensor, b: Tensor): Tensor {
  const dtype = promoteTypes(a.dtype, b.dtype);
  const [batch, m] = a.shape;
  const n = b.shape[2];
  assertAllocatable(
    'matmul',
    [batch, m, n],
    dtype,
    `${formatShape(a.shape)} @ ${formatShape(b.shape)}`,
  );
  const out = fromStorage(
    a.backend.matmul(castRaw(a, dtype), castRaw(b, dtype), dtype),
    [batch, m, n],
    dtype,
    a,
  );
  // Each gradient is computed in the memory order of its operand: for a transposed operand (the
  // weight of a linear layer, x·Wᵀ) as the transpose of a contiguous product, so that the leaf's
  // gradient needs no layout copy.
  return record('BmmBackward', out, [a, b], [a, b], (g, [sa, sb], needs) => [
    needs[0]
      ? isTransposedLayout(sa)
        ? batchedMatmul(sb, g.transpose(1, 2)).transpose(1, 2)
        : batchedMatmul(g, sb.transpose(1, 2))
      : null,
    needs[1]
      ? isTransposedLayout(sb)
        ? batchedMatmul(g.transpose(1, 2), sa).transpose(1, 2)
        : batchedMatmul(sa.transpose(1, 2), g)
      : null,
  ]);
}

/**
 * x·Wᵀ + b for x [M, K], weight [N, K] and bias [N] (checked by the caller, F.linear): one fused
 * kernel where the backend has one, else matmul and add. The gradients are the composition's.
 */
export function linearLayer(x: Tensor, weight: Tensor, bias: Tensor): Tensor {
  const backend = x.backend;
  const fused =
    backend.linear && weight.backend === backend && bias.backend === backend
      ? backend.linear(x, weight, bias)
      : null;
  traceKernel('linear', fused ? 'fused' : 'composed');
  if (!fused) return x.matmul(weight.t()).add(bias);
  const out = fromStorage(fused, [x.shape[0], weight.shape[0]], x.dtype, x);
  return record('AddmmBackward', out, [x, weight, bias], [x, weight], (g, [sx, sw], needs) => {
    // Without a graph to build, the backend may compute the gradients together; what it leaves
    // (null) is composed here, the bias sum first while g (just written) is still in cache.
    const [dx, dw, db] =
      !isGradEnabled() && backend.linearBackward
        ? (backend.linearBackward(g, sx, sw, needs) ?? [null, null, null])
        : [null, null, null];
    traceKernel('linearBackward', dx || dw || db ? 'fused' : 'composed');
    const biasGrad = needs[2] ? (db ? fromStorage(db, [sw.shape[0]], x.dtype, x) : g.sum(0)) : null;
    return [
      needs[0] ? (dx ? fromStorage(dx, sx.shape, x.dtype, x) : g.matmul(sw)) : null,
      needs[1] ? (dw ? fromStorage(dw, sw.shape, x.dtype, x) : g.t().matmul(sx)) : null,
      biasGrad,
    ];
  });
}

/** Whether a [B, R, C] view stores its last two dims column-major (a transpose of contiguous rows). */
function isTransposedLayout(t: Tensor): boolean {
  const [, rows, cols] = t.shape;
  return rows > 1 && cols > 1 && t.strides[1] === 1 && t.strides[2] === rows;
}

function incompatible(op: string, a: Tensor, b: Tensor, k1: number, k2: number): Error {
  return new Error(
    `${op}: shapes ${formatShape(a.shape)} and ${formatShape(b.shape)} are incompatible: inner dimensions ${k1} != ${k2}`,
  );
}

/**
 * Matrix product with PyTorch's rules: 1-D·1-D is a dot product, a 1-D operand is promoted to a
 * matrix and the added dim removed, and batch dims broadcast.
 * @example
 * matmul(randn([10, 3, 4]), randn([4, 5])).shape; // [10, 3, 5]
 */
export function matmul(left: Tensor, right: Tensor): Tensor {
  const a = assertTensor('matmul', left, 'input');
  const b = assertTensor('matmul', right, 'other');
  if (a.ndim === 0 || b.ndim === 0) {
    throw new Error(
      `matmul: both arguments need at least 1 dimension, got shapes ${formatShape(a.shape)} and ${formatShape(b.shape)}`,
    );
  }
  if (a.ndim === 1 && b.ndim === 1) return dot(a, b);
  if (a.ndim === 1) return matmul(a.unsqueeze(0), b).squeeze(-2);
  if (b.ndim === 1) return matmul(a, b.unsqueeze(-1)).squeeze(-1);
  const [m, k] = a.shape.slice(-2);
  const [k2, n] = b.shape.slice(-2);
  if (k !== k2) throw incompatible('matmul', a, b, k, k2);
  const batchShape = broadcastShapes('matmul', a.shape.slice(0, -2), b.shape.slice(0, -2));
  const batch = batchShape.reduce((x, y) => x * y, 1);
  const a3 = a.expand([...batchShape, m, k]).reshape([batch, m, k]);
  const b3 = b.expand([...batchShape, k, n]).reshape([batch, k, n]);
  return batchedMatmul(a3, b3).reshape([...batchShape, m, n]);
}

/** Product of two matrices. */
export function mm(left: Tensor, right: Tensor): Tensor {
  const a = assertTensor('mm', left, 'input');
  const b = assertTensor('mm', right, 'mat2');
  if (a.ndim !== 2 || b.ndim !== 2)
    throw new Error(
      `mm: expected two matrices, got shapes ${formatShape(a.shape)} and ${formatShape(b.shape)}`,
    );
  if (a.shape[1] !== b.shape[0]) throw incompatible('mm', a, b, a.shape[1], b.shape[0]);
  return batchedMatmul(a.unsqueeze(0), b.unsqueeze(0)).squeeze(0);
}

/** Batched product of [B, M, K] and [B, K, N] (no broadcasting). */
export function bmm(left: Tensor, right: Tensor): Tensor {
  const a = assertTensor('bmm', left, 'input');
  const b = assertTensor('bmm', right, 'mat2');
  if (a.ndim !== 3 || b.ndim !== 3)
    throw new Error(
      `bmm: expected 3-D tensors, got shapes ${formatShape(a.shape)} and ${formatShape(b.shape)}`,
    );
  if (a.shape[0] !== b.shape[0])
    throw new Error(
      `bmm: batch sizes ${a.shape[0]} and ${b.shape[0]} differ (shapes ${formatShape(a.shape)} and ${formatShape(b.shape)})`,
    );
  if (a.shape[2] !== b.shape[1]) throw incompatible('bmm', a, b, a.shape[2], b.shape[1]);
  return batchedMatmul(a, b);
}

export function dot(left: Tensor, right: Tensor): Tensor {
  const a = assertTensor('dot', left, 'input');
  const b = assertTensor('dot', right, 'other');
  if (a.ndim !== 1 || b.ndim !== 1)
    throw new Error(
      `dot: expected 1-D tensors, got shapes ${formatShape(a.shape)} and ${formatShape(b.shape)}`,
    );
  if (a.shape[0] !== b.shape[0]) throw incompatible('dot', a, b, a.shape[0], b.shape[0]);
  return batchedMatmul(a.reshape([1, 1, -1]), b.reshape([1, -1, 1])).reshape([]);
}

export function outer(left: Tensor, right: Tensor): Tensor {
  const a = assertTensor('outer', left, 'input');
  const b = assertTensor('outer', right, 'vec2');
  if (a.ndim !== 1 || b.ndim !== 1)
    throw new Error(
      `outer: expected 1-D tensors, got shapes ${formatShape(a.shape)} and ${formatShape(b.shape)}`,
    );
  return a.unsqueeze(1).mul(b.unsqueeze(0));
}

// ---- einsum ----

interface Labeled {
  tensor: Tensor;
  labels: string[];
}

/** Parses 'ij,jk->ik' (with '...' for broadcast dims) into per-operand label lists and output labels. */
function parseEquation(
  equation: string,
  operands: readonly Tensor[],
): { inputs: string[][]; output: string[] } {
  const clean = equation.replace(/\s+/g, '');
  const [lhs, rhs] = clean.split('->');
  const terms = lhs.split(',');
  if (terms.length !== operands.length) {
    throw new Error(
      `einsum: equation '${equation}' has ${terms.length} operands but ${operands.length} tensors were given`,
    );
  }
  const ellipsisLabels = (rank: number) => Array.from({ length: rank }, (_, i) => `…${i}`);
  const split = terms.map((term, i) => {
    const parts = term.split('...');
    if (parts.length > 2)
      throw new Error(`einsum: operand ${i} ('${term}') has more than one ellipsis`);
    const named = parts
      .join('')
      .split('')
      .filter((c) => c !== '');
    for (const c of named)
      if (!/[a-zA-Z]/.test(c))
        throw new Error(`einsum: invalid subscript '${c}' in '${equation}'; use letters`);
    const rank = operands[i].ndim;
    const extra = rank - named.length;
    if (parts.length === 1 && extra !== 0) {
      throw new Error(
        `einsum: operand ${i} ('${term}') has ${named.length} subscripts but the tensor has rank ${rank} (shape ${formatShape(operands[i].shape)})`,
      );
    }
    if (extra < 0)
      throw new Error(
        `einsum: operand ${i} ('${term}') has more subscripts than the tensor's rank ${rank}`,
      );
    return { parts, extra };
  });
  // Broadcast dims align from the right, as in NumPy.
  const ellipsisRank = Math.max(0, ...split.map((s) => s.extra));
  const inputs = split.map(({ parts, extra }) => {
    if (parts.length === 1) return parts[0].split('').filter((c) => c !== '');
    const dots = Array.from({ length: extra }, (_, k) => `…${ellipsisRank - extra + k}`);
    return [...parts[0].split(''), ...dots, ...parts[1].split('')].filter((c) => c !== '');
  });
  const dots = ellipsisLabels(ellipsisRank);
  let output: string[];
  if (rhs === undefined) {
    // Implicit output: broadcast dims, then labels that appear once, in alphabetical order.
    const counts = new Map<string, number>();
    for (const labels of inputs)
      for (const l of labels) if (!l.startsWith('…')) counts.set(l, (counts.get(l) ?? 0) + 1);
    output = [...dots, ...[...counts.keys()].filter((l) => counts.get(l) === 1).sort()];
  } else {
    const parts = rhs.split('...');
    output =
      parts.length === 2
        ? [...parts[0].split(''), ...dots, ...parts[1].split('')].filter((c) => c !== '')
        : rhs.split('').filter((c) => c !== '');
    const all = new Set(inputs.flat());
    for (const l of output)
      if (!all.has(l))
        throw new Error(
          `einsum: output subscript '${l}' does not appear in any operand of '${equation}'`,
        );
    if (new Set(output).size !== output.length)
      throw new Error(`einsum: output subscripts of '${equation}' repeat a label`);
  }
  return { inputs, output };
}

/** Takes the diagonal for labels repeated within one operand ('ii->i'). */
function dedupeLabels(operand: Labeled): Labeled {
  let { tensor, labels } = operand;
  for (;;) {
    const repeated = labels.findIndex((l, i) => labels.indexOf(l) !== i);
    if (repeated < 0) return { tensor, labels };
    const first = labels.indexOf(labels[repeated]);
    if (tensor.shape[first] !== tensor.shape[repeated]) {
      throw new Error(
        `einsum: subscript '${labels[first]}' is repeated with sizes ${tensor.shape[first]} and ${tensor.shape[repeated]}`,
      );
    }
    tensor = tensor.diagonal(0, first, repeated);
    const label = labels[first];
    labels = [...labels.filter((_, i) => i !== first && i !== repeated), label];
  }
}

function sumOutLabels(operand: Labeled, keep: (label: string) => boolean): Labeled {
  const axes = operand.labels.map((l, i) => (keep(l) ? -1 : i)).filter((i) => i >= 0);
  if (axes.length === 0) return operand;
  return { tensor: operand.tensor.sum(axes), labels: operand.labels.filter((l) => keep(l)) };
}

function contractPair(a: Labeled, b: Labeled, keep: ReadonlySet<string>): Labeled {
  const inB = new Set(b.labels);
  const inA = new Set(a.labels);
  const batch = a.labels.filter((l) => inB.has(l) && keep.has(l));
  const contract = a.labels.filter((l) => inB.has(l) && !keep.has(l));
  const aOnly = a.labels.filter((l) => !inB.has(l));
  const bOnly = b.labels.filter((l) => !inA.has(l));
  const sizeOf = (l: string) =>
    Math.max(a.tensor.shape[a.labels.indexOf(l)] ?? 1, b.tensor.shape[b.labels.indexOf(l)] ?? 1);
  for (const l of [...batch, ...contract]) {
    const sa = a.tensor.shape[a.labels.indexOf(l)];
    const sb = b.tensor.shape[b.labels.indexOf(l)];
    if (sa !== sb && sa !== 1 && sb !== 1)
      throw new Error(
        `einsum: subscript '${l}' has size ${sa} in one operand and ${sb} in another`,
      );
  }
  const arrange = (op: Labeled, order: string[]) =>
    op.tensor.permute(order.map((l) => op.labels.indexOf(l))).expand(order.map(sizeOf));
  const product = (labels: string[]) => labels.reduce((n, l) => n * sizeOf(l), 1);
  const left = arrange(a, [...batch, ...aOnly, ...contract]).reshape([
    product(batch),
    product(aOnly),
    product(contract),
  ]);
  const right = arrange(b, [...batch, ...contract, ...bOnly]).reshape([
    product(batch),
    product(contract),
    product(bOnly),
  ]);
  const result = bmm(left, right).reshape([...batch, ...aOnly, ...bOnly].map(sizeOf));
  return { tensor: result, labels: [...batch, ...aOnly, ...bOnly] };
}

/**
 * Einstein summation over labelled dims: 'ij,jk->ik' (matmul), 'bij,bjk->bik', 'ii->i'
 * (diagonal), 'ii' (trace), 'i,j->ij' (outer), '...ij->...ji', implicit output when '->' is absent.
 * @example
 * einsum('bij,bjk->bik', a, b);
 */
export function einsum(equation: string, ...operands: Tensor[]): Tensor {
  operands.forEach((t, i) => assertTensor('einsum', t, `operand ${i}`));
  const { inputs, output } = parseEquation(equation, operands);
  let terms: Labeled[] = operands.map((tensor, i) => dedupeLabels({ tensor, labels: inputs[i] }));
  const neededLater = (index: number): Set<string> =>
    new Set([...output, ...terms.slice(index + 1).flatMap((t) => t.labels)]);
  // Sum labels that appear in one operand only and nowhere else, then contract left to right.
  terms = terms.map((term, i) => {
    const elsewhere = new Set([
      ...output,
      ...terms.filter((_, j) => j !== i).flatMap((t) => t.labels),
    ]);
    return sumOutLabels(term, (l) => elsewhere.has(l));
  });
  let current = terms[0];
  for (let i = 1; i < terms.length; i++) current = contractPair(current, terms[i], neededLater(i));
  current = sumOutLabels(current, (l) => output.includes(l));
  return current.tensor.permute(output.map((l) => current.labels.indexOf(l)));
}
