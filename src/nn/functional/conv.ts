/**
 * Convolutions as unfold + matmul (im2col). conv2d multiplies the weight by the unfolded input;
 * groups split channels into a batch dim of the matmul; conv1d is conv2d over images of height 1;
 * convTranspose2d is the adjoint of conv2d: Wᵀ times the input, folded back into an image.
 * Every step is a differentiable op, so gradients of any order come for free.
 */
import type { Conv2dGeometry } from '../../autograd/ops/conv.js';
import { conv2dLayer, fold2d, unfold2d } from '../../autograd/ops/conv.js';
import { pad } from '../../autograd/ops/shape_ops.js';
import { formatShape, windowOutputSize } from '../../tensor/shape.js';
import type { Tensor } from '../../tensor/tensor.js';
import {
  expectRank,
  floatInput,
  nonNegativeInt,
  optionalParam,
  pair,
  positiveInt,
  sameDType,
} from './checks.js';

export interface Conv2dOptions {
  stride?: number | [number, number];
  /** Zero padding on each side, or 'same' (output size = input size, stride 1) or 'valid' (none). */
  padding?: number | [number, number] | 'same' | 'valid';
  dilation?: number | [number, number];
  groups?: number;
}

export interface Conv1dOptions {
  stride?: number;
  padding?: number | 'same' | 'valid';
  dilation?: number;
  groups?: number;
}

export interface ConvTranspose2dOptions {
  stride?: number | [number, number];
  padding?: number | [number, number];
  /** Extra size added to one side of the output, to pick among the sizes a strided conv maps to one size. */
  outputPadding?: number | [number, number];
  groups?: number;
  dilation?: number | [number, number];
}

/** Checks that the input channels and output channels fit the weight and the groups. */
function checkGroups(
  op: string,
  x: Tensor,
  w: Tensor,
  groups: number,
  inPerGroup: number,
  outChannels: number,
): void {
  positiveInt(op, 'groups', groups);
  if (x.shape[1] !== inPerGroup * groups) {
    throw new Error(
      `${op}: input has ${x.shape[1]} channels but weight expects ${inPerGroup * groups} (groups=${groups}); weight shape ${formatShape(w.shape)}`,
    );
  }
  if (outChannels % groups !== 0)
    throw new Error(`${op}: ${outChannels} output channels are not divisible by groups=${groups}`);
}

/** Symmetric padding per side plus the extra right/bottom padding that an even 'same' kernel needs. */
function resolvePadding(
  op: string,
  padding: Conv2dOptions['padding'],
  kernel: [number, number],
  stride: [number, number],
  dilation: [number, number],
): { padding: [number, number]; extra: [number, number] } {
  if (padding === 'valid') return { padding: [0, 0], extra: [0, 0] };
  if (padding === 'same') {
    if (stride[0] !== 1 || stride[1] !== 1)
      throw new Error(
        `${op}: padding='same' is not supported for strided convolutions (stride [${stride.join(', ')}])`,
      );
    // PyTorch puts the odd pixel of an even total on the right/bottom.
    const total = [dilation[0] * (kernel[0] - 1), dilation[1] * (kernel[1] - 1)];
    const before: [number, number] = [Math.floor(total[0] / 2), Math.floor(total[1] / 2)];
    return { padding: before, extra: [total[0] - 2 * before[0], total[1] - 2 * before[1]] };
  }
  if (typeof padding === 'string')
    throw new Error(`${op}: padding must be a number, a pair, 'same' or 'valid', got '${padding}'`);
  return { padding: pair(op, 'padding', padding ?? 0, nonNegativeInt), extra: [0, 0] };
}

/** conv2d under a name, so conv1d's errors name conv1d. */
function convolve(
  op: string,
  x: Tensor,
  weight: Tensor,
  bias: Tensor | null | undefined,
  options: Conv2dOptions,
): Tensor {
  const w = floatInput(op, weight, 'weight');
  sameDType(op, x, w, 'weight');
  const [outChannels, inPerGroup, kh, kw] = w.shape;
  const { groups = 1 } = options;
  checkGroups(op, x, w, groups, inPerGroup, outChannels);
  const b = optionalParam(op, bias, 'bias', [outChannels], x);
  const stride = pair(op, 'stride', options.stride ?? 1, positiveInt);
  const dilation = pair(op, 'dilation', options.dilation ?? 1, positiveInt);
  const { padding, extra } = resolvePadding(op, options.padding, [kh, kw], stride, dilation);
  const input = extra[0] || extra[1] ? pad(x, [0, extra[1], 0, extra[0]]) : x;
  const [n, , h, wd] = input.shape;
  const geometry: Conv2dGeometry = { kernel: [kh, kw], stride, padding, dilation };
  const padded = [h + 2 * padding[0], wd + 2 * padding[1]];
  const span = [dilation[0] * (kh - 1) + 1, dilation[1] * (kw - 1) + 1];
  if (span[0] > padded[0] || span[1] > padded[1]) {
    throw new Error(
      `${op}: the (dilated) kernel ${span[0]}x${span[1]} is larger than the padded input ${padded[0]}x${padded[1]} (input shape ${formatShape(x.shape)})`,
    );
  }
  if (groups === 1) {
    // The backend's whole-layer kernel (one matmul over the batch), where it has one.
    const fast = conv2dLayer(input, w, b, geometry);
    if (fast) return fast;
  }
  const columns = unfold2d(input, geometry); // [N, C·kh·kw, L]
  const outH = windowOutputSize(h, kh, stride[0], padding[0], dilation[0]);
  const outW = windowOutputSize(wd, kw, stride[1], padding[1], dilation[1]);
  // Per group: [O/g, C/g·kh·kw] @ [N, g, C/g·kh·kw, L] → [N, g, O/g, L].
  const grouped = columns.reshape([n, groups, inPerGroup * kh * kw, outH * outW]);
  const kernels = w.reshape([groups, outChannels / groups, inPerGroup * kh * kw]);
  const out = kernels.matmul(grouped).reshape([n, outChannels, outH, outW]);
  return b ? out.add(b.reshape([outChannels, 1, 1])) : out;
}

/**
 * 2-D convolution (cross-correlation, as PyTorch) of x [N, C, H, W] with weight
 * [O, C / groups, kh, kw] and an optional bias [O].
 * @example
 * F.conv2d(randn([8, 3, 32, 32]), randn([16, 3, 3, 3]), null, { padding: 1 }).shape; // [8, 16, 32, 32]
 */
export function conv2d(
  x: Tensor,
  weight: Tensor,
  bias?: Tensor | null,
  options: Conv2dOptions = {},
): Tensor {
  const input = floatInput('conv2d', x);
  expectRank('conv2d', input, 4, '[N, C, H, W]');
  expectRank(
    'conv2d',
    floatInput('conv2d', weight, 'weight'),
    4,
    '[O, C / groups, kh, kw]',
    'weight',
  );
  return convolve('conv2d', input, weight, bias, options);
}

/**
 * 1-D convolution of x [N, C, L] with weight [O, C / groups, k] and an optional bias [O].
 * @example
 * F.conv1d(randn([4, 2, 100]), randn([8, 2, 5]), null, { padding: 'same' }).shape; // [4, 8, 100]
 */
export function conv1d(
  x: Tensor,
  weight: Tensor,
  bias?: Tensor | null,
  options: Conv1dOptions = {},
): Tensor {
  const input = floatInput('conv1d', x);
  expectRank('conv1d', input, 3, '[N, C, L]');
  const w = floatInput('conv1d', weight, 'weight');
  expectRank('conv1d', w, 3, '[O, C / groups, k]', 'weight');
  const single = (name: string, v: unknown) => {
    if (Array.isArray(v)) {
      if (v.length !== 1)
        throw new Error(
          `conv1d: ${name} must be a number or a one-element array, got [${v.join(', ')}]`,
        );
      return v[0] as number;
    }
    return v as number;
  };
  const { stride = 1, padding = 0, dilation = 1, groups = 1 } = options;
  const p = single('padding', padding);
  const out = convolve('conv1d', input.unsqueeze(2), w.unsqueeze(2), bias, {
    stride: [1, single('stride', stride)],
    padding: typeof p === 'string' ? p : [0, p],
    dilation: [1, single('dilation', dilation)],
    groups,
  });
  return out.squeeze(2);
}

/**
 * Transposed 2-D convolution (the gradient of conv2d with respect to its input) of x
 * [N, C, H, W] with weight [C, O / groups, kh, kw]; output size per dim is
 * (H − 1)·stride − 2·padding + dilation·(kh − 1) + outputPadding + 1.
 * @example
 * F.convTranspose2d(randn([1, 8, 16, 16]), randn([8, 4, 4, 4]), null, { stride: 2, padding: 1 }).shape; // [1, 4, 32, 32]
 */
export function convTranspose2d(
  x: Tensor,
  weight: Tensor,
  bias?: Tensor | null,
  options: ConvTranspose2dOptions = {},
): Tensor {
  const op = 'convTranspose2d';
  const input = floatInput(op, x);
  expectRank(op, input, 4, '[N, C, H, W]');
  const w = floatInput(op, weight, 'weight');
  expectRank(op, w, 4, '[C, O / groups, kh, kw]', 'weight');
  sameDType(op, input, w, 'weight');
  const { groups = 1 } = options;
  positiveInt(op, 'groups', groups);
  const [inChannels, outPerGroup, kh, kw] = w.shape;
  const [n, c, h, wd] = input.shape;
  if (c !== inChannels)
    throw new Error(
      `${op}: input has ${c} channels but weight ${formatShape(w.shape)} expects ${inChannels}`,
    );
  if (inChannels % groups !== 0)
    throw new Error(`${op}: ${inChannels} input channels are not divisible by groups=${groups}`);
  const outChannels = outPerGroup * groups;
  const b = optionalParam(op, bias, 'bias', [outChannels], input);
  const stride = pair(op, 'stride', options.stride ?? 1, positiveInt);
  const padding = pair(op, 'padding', options.padding ?? 0, nonNegativeInt);
  const dilation = pair(op, 'dilation', options.dilation ?? 1, positiveInt);
  const outputPadding = pair(op, 'outputPadding', options.outputPadding ?? 0, nonNegativeInt);
  for (const i of [0, 1]) {
    if (outputPadding[i] >= Math.max(stride[i], dilation[i])) {
      throw new Error(
        `${op}: outputPadding (${outputPadding.join(', ')}) must be smaller than either stride (${stride.join(', ')}) or dilation (${dilation.join(', ')})`,
      );
    }
  }
  // Fold into the full, uncropped output, whose windows line up with the input pixels exactly;
  // then crop `padding` from both sides and add outputPadding at the end (pad crops when negative).
  const full: [number, number] = [
    (h - 1) * stride[0] + dilation[0] * (kh - 1) + 1,
    (wd - 1) * stride[1] + dilation[1] * (kw - 1) + 1,
  ];
  const outSize = [
    full[0] - 2 * padding[0] + outputPadding[0],
    full[1] - 2 * padding[1] + outputPadding[1],
  ];
  if (outSize[0] <= 0 || outSize[1] <= 0) {
    throw new Error(
      `${op}: the output size ${outSize.join('x')} for input shape ${formatShape(input.shape)} is not positive; reduce padding`,
    );
  }
  const inPerGroup = inChannels / groups;
  // Per group: [O/g·kh·kw, C/g] @ [N, g, C/g, H·W] → columns [N, O·kh·kw, H·W].
  const kernels = w.reshape([groups, inPerGroup, outPerGroup * kh * kw]).transpose(1, 2);
  const columns = kernels
    .matmul(input.reshape([n, groups, inPerGroup, h * wd]))
    .reshape([n, outChannels * kh * kw, h * wd]);
  const image = fold2d(columns, full, { kernel: [kh, kw], stride, padding: [0, 0], dilation });
  const out = pad(image, [
    -padding[1],
    outputPadding[1] - padding[1],
    -padding[0],
    outputPadding[0] - padding[0],
  ]);
  return b ? out.add(b.reshape([outChannels, 1, 1])) : out;
}
