/**
 * Parameter initialization, as torch.nn.init: each function fills a tensor in place (under
 * noGrad, so it works on parameters), takes an optional Generator, and returns the tensor.
 * Distributions and gains are PyTorch's, so a model initialized here trains like one there.
 */
import type { Tensor } from '../tensor/tensor.js';
import { tensor as makeTensor } from '../tensor/creation.js';
import { formatShape } from '../tensor/shape.js';
import { defaultGenerator, type Generator } from '../tensor/random.js';
import { noGrad } from '../autograd/grad_mode.js';

/** Nonlinearity names of PyTorch's calculate_gain (camelCase spellings accepted too). */
export type Nonlinearity =
  | 'linear'
  | 'conv1d'
  | 'conv2d'
  | 'conv3d'
  | 'conv_transpose1d'
  | 'conv_transpose2d'
  | 'conv_transpose3d'
  | 'sigmoid'
  | 'tanh'
  | 'relu'
  | 'leaky_relu'
  | 'leakyRelu'
  | 'selu';

/** Which fan the kaiming functions preserve the variance of: forward (fanIn) or backward (fanOut). */
export type FanMode = 'fanIn' | 'fanOut' | 'fan_in' | 'fan_out';

/**
 * The recommended gain for a nonlinearity (PyTorch's calculate_gain): 1 for linear, conv and
 * sigmoid, 5/3 for tanh, √2 for relu, √(2 / (1 + slope²)) for leaky_relu (slope 0.01 by
 * default), 3/4 for selu.
 * @example
 * calculateGain('relu'); // 1.4142…
 */
export function calculateGain(nonlinearity: Nonlinearity, param?: number): number {
  switch (nonlinearity) {
    case 'linear':
    case 'conv1d':
    case 'conv2d':
    case 'conv3d':
    case 'conv_transpose1d':
    case 'conv_transpose2d':
    case 'conv_transpose3d':
    case 'sigmoid':
      return 1;
    case 'tanh':
      return 5 / 3;
    case 'relu':
      return Math.SQRT2;
    case 'leaky_relu':
    case 'leakyRelu': {
      const slope = param ?? 0.01;
      if (typeof slope !== 'number' || !Number.isFinite(slope))
        throw new TypeError(`calculateGain: negative_slope ${slope} is not a valid number`);
      return Math.sqrt(2 / (1 + slope * slope));
    }
    case 'selu':
      return 3 / 4;
    default:
      throw new Error(`calculateGain: unsupported nonlinearity '${String(nonlinearity)}'`);
  }
}

/** fan_in = size(1)·receptive field, fan_out = size(0)·receptive field, as PyTorch computes them. */
export function calculateFanInAndFanOut(t: Tensor): { fanIn: number; fanOut: number } {
  if (t.ndim < 2) {
    throw new Error(
      `init: fan in and fan out can not be computed for a tensor with fewer than 2 dimensions (shape ${formatShape(t.shape)})`,
    );
  }
  const receptive = t.shape.slice(2).reduce((a, b) => a * b, 1);
  return { fanIn: t.shape[1] * receptive, fanOut: t.shape[0] * receptive };
}

function fanFor(t: Tensor, mode: FanMode): number {
  const { fanIn, fanOut } = calculateFanInAndFanOut(t);
  if (mode === 'fanIn' || mode === 'fan_in') return fanIn;
  if (mode === 'fanOut' || mode === 'fan_out') return fanOut;
  throw new Error(`init: mode ${String(mode)} not supported, please use one of 'fanIn', 'fanOut'`);
}

/**
 * Fills with samples of U(a, b).
 * @example
 * uniform_(w, -0.1, 0.1);
 */
export function uniform_(t: Tensor, a = 0, b = 1, generator?: Generator): Tensor {
  return noGrad(() => t.uniform_(a, b, generator));
}

/** Fills with samples of N(mean, std²). */
export function normal_(t: Tensor, mean = 0, std = 1, generator?: Generator): Tensor {
  return noGrad(() => t.normal_(mean, std, generator));
}

export function constant_(t: Tensor, value: number): Tensor {
  return noGrad(() => t.fill_(value));
}

export function zeros_(t: Tensor): Tensor {
  return constant_(t, 0);
}

export function ones_(t: Tensor): Tensor {
  return constant_(t, 1);
}

/** Fills a 2-D tensor with the identity matrix. */
export function eye_(t: Tensor): Tensor {
  if (t.ndim !== 2)
    throw new Error(`eye_: only 2-D tensors are supported, got shape ${formatShape(t.shape)}`);
  const [rows, cols] = t.shape;
  const values = new Float64Array(rows * cols);
  for (let i = 0; i < Math.min(rows, cols); i++) values[i * cols + i] = 1;
  return fill(t, values);
}

/** Xavier/Glorot uniform: U(-a, a) with a = gain·√(6 / (fan_in + fan_out)). */
export function xavierUniform_(t: Tensor, gain = 1, generator?: Generator): Tensor {
  const { fanIn, fanOut } = calculateFanInAndFanOut(t);
  const bound = gain * Math.sqrt(6 / (fanIn + fanOut));
  return uniform_(t, -bound, bound, generator);
}

/** Xavier/Glorot normal: N(0, std²) with std = gain·√(2 / (fan_in + fan_out)). */
export function xavierNormal_(t: Tensor, gain = 1, generator?: Generator): Tensor {
  const { fanIn, fanOut } = calculateFanInAndFanOut(t);
  return normal_(t, 0, gain * Math.sqrt(2 / (fanIn + fanOut)), generator);
}

export interface KaimingOptions {
  /** The negative slope of the rectifier after this layer (leaky_relu only); 0 by default. */
  a?: number;
  mode?: FanMode;
  nonlinearity?: Nonlinearity;
  generator?: Generator;
}

/**
 * Kaiming/He uniform: U(-bound, bound) with bound = gain·√(3 / fan), gain = calculateGain(nonlinearity, a).
 * @example
 * kaimingUniform_(w, { a: Math.sqrt(5) }); // nn.Linear's default weight init
 */
export function kaimingUniform_(
  t: Tensor,
  { a = 0, mode = 'fanIn', nonlinearity = 'leaky_relu', generator }: KaimingOptions = {},
): Tensor {
  const fan = fanFor(t, mode);
  if (fan === 0) return t;
  const bound = calculateGain(nonlinearity, a) * Math.sqrt(3 / fan);
  return uniform_(t, -bound, bound, generator);
}

/** Kaiming/He normal: N(0, std²) with std = gain / √fan. */
export function kaimingNormal_(
  t: Tensor,
  { a = 0, mode = 'fanIn', nonlinearity = 'leaky_relu', generator }: KaimingOptions = {},
): Tensor {
  const fan = fanFor(t, mode);
  if (fan === 0) return t;
  return normal_(t, 0, calculateGain(nonlinearity, a) / Math.sqrt(fan), generator);
}

/**
 * A (semi-)orthogonal matrix scaled by gain, from the QR decomposition of a Gaussian matrix with
 * the signs of R's diagonal folded in (Saxe et al.); dimensions after the first are flattened.
 */
export function orthogonal_(t: Tensor, gain = 1, generator: Generator = defaultGenerator): Tensor {
  if (t.ndim < 2)
    throw new Error(
      `orthogonal_: only tensors with 2 or more dimensions are supported, got shape ${formatShape(t.shape)}`,
    );
  const rows = t.shape[0];
  const cols = t.numel() / rows;
  if (t.numel() === 0) return t;
  // Work on the tall orientation (n ≥ m); the wide case is its transpose.
  const [n, m] = rows < cols ? [cols, rows] : [rows, cols];
  const a = Array.from({ length: m }, () =>
    Float64Array.from({ length: n }, () => generator.nextNormal()),
  ); // columns
  // Modified Gram–Schmidt: Q with R's diagonal positive, which is PyTorch's q·sign(diag(r)).
  for (let j = 0; j < m; j++) {
    for (let k = 0; k < j; k++) {
      let dot = 0;
      for (let i = 0; i < n; i++) dot += a[k][i] * a[j][i];
      for (let i = 0; i < n; i++) a[j][i] -= dot * a[k][i];
    }
    let norm = 0;
    for (let i = 0; i < n; i++) norm += a[j][i] * a[j][i];
    norm = Math.sqrt(norm);
    for (let i = 0; i < n; i++) a[j][i] /= norm;
  }
  const values = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) values[r * cols + c] = gain * (rows < cols ? a[r][c] : a[c][r]);
  }
  return fill(t, values);
}

/**
 * Samples of N(mean, std²) truncated to [a, b], by the inverse-CDF method PyTorch uses.
 * @example
 * truncNormal_(w, 0, 0.02); // ViT-style init, values within ±2
 */
export function truncNormal_(
  t: Tensor,
  mean = 0,
  std = 1,
  a = -2,
  b = 2,
  generator: Generator = defaultGenerator,
): Tensor {
  if (!(a < b)) throw new RangeError(`truncNormal_: expected a < b, got a=${a}, b=${b}`);
  if (!(std > 0)) throw new RangeError(`truncNormal_: std must be positive, got ${std}`);
  const [low, high] = Array.from(
    makeTensor([(a - mean) / std, (b - mean) / std], { dtype: 'float64' })
      .div(Math.SQRT2)
      .erf()
      .add(1)
      .mul(0.5)
      .dataSync(),
  );
  const u = Float64Array.from(
    { length: t.numel() },
    () => 2 * (low + (high - low) * generator.nextDouble()) - 1,
  );
  const values = erfinv(u)
    .mul(std * Math.SQRT2)
    .add(mean)
    .clamp(a, b)
    .dataSync() as Float64Array;
  return fill(t, values);
}

function fill(t: Tensor, values: Float64Array): Tensor {
  const source = makeTensor(values, { dtype: t.dtype, shape: t.shape, device: t.device });
  return noGrad(() => t.copy_(source));
}

/** Inverse error function, elementwise: Giles' single-precision approximation refined by two Newton steps. */
function erfinv(y: Float64Array): Tensor {
  const guess = y.map((v) => {
    let w = -Math.log((1 - v) * (1 + v));
    let p: number;
    if (w < 5) {
      w -= 2.5;
      p = 2.81022636e-8;
      for (const c of [
        3.43273939e-7, -3.5233877e-6, -4.39150654e-6, 0.00021858087, -0.00125372503, -0.00417768164,
        0.246640727, 1.50140941,
      ])
        p = c + p * w;
    } else {
      w = Math.sqrt(w) - 3;
      p = -0.000200214257;
      for (const c of [
        0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773, -0.0076224613, 0.00943887047,
        1.00167406, 2.83297682,
      ])
        p = c + p * w;
    }
    return p * v;
  });
  const target = makeTensor(y, { dtype: 'float64' });
  let x = makeTensor(guess, { dtype: 'float64' });
  for (let i = 0; i < 2; i++) {
    const step = x
      .erf()
      .sub(target)
      .div(
        x
          .square()
          .neg()
          .exp()
          .mul(2 / Math.sqrt(Math.PI)),
      );
    x = x.sub(step.where(step.isnan().logicalNot(), 0));
  }
  return x;
}
