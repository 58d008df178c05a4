/**
 * The one list of devices the op suites run on: every registered backend ('cpu', 'cpu-reference'
 * and any later one), read from the registry so a new backend is tested without a line here; plus
 * 'cpu-primitives', the reference backend without any fused kernel, which proves that the
 * required primitives (BackendPrimitives) run every op, the op layer composing the rest.
 */
import '../../src/index.js';
import {
  type Backend,
  type FusedKernels,
  registerBackend,
  registeredDevices,
} from '../../src/backend/backend.js';
import { cpuBackend } from '../../src/backend/cpu/cpu_backend.js';

/** Every optional kernel's name (a Record, so a new optional kernel must be listed here). */
const FUSED: Record<keyof FusedKernels, true> = {
  reluBackward: true,
  linear: true,
  linearBackward: true,
  release: true,
  conv2d: true,
  conv2dBackward: true,
  softmax: true,
  softmaxBackward: true,
  layerNorm: true,
  layerNormBackward: true,
  rmsNorm: true,
  rmsNormBackward: true,
  batchNormStats: true,
  batchNormApply: true,
  nllLoss: true,
  nllLossBackward: true,
  sgdUpdate: true,
  adamUpdate: true,
  gelu: true,
  geluBackward: true,
  scaledSoftmax: true,
  scaledSoftmaxBackward: true,
};

/** The reference backend with its fused kernels taken out: the primitives alone. */
export const primitivesOnly: Backend = Object.fromEntries(
  Object.entries({ ...cpuBackend, name: 'cpu-primitives' }).filter(([key]) => !(key in FUSED)),
) as unknown as Backend;
registerBackend(primitivesOnly);

export const DEVICES: readonly string[] = registeredDevices();
