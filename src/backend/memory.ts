/**
 * How much memory each device holds, and a cap on it: `memory()`, `setMemoryLimit()`,
 * `resetPeakMemory()`. On the CPU, large float32 tensors live in the WebAssembly kernels' memory,
 * which the JavaScript engine's own figures (a browser's heap size, Node's `arrayBuffers`) do not
 * count; these functions do.
 */
import { getBackend, type DeviceMemory } from './backend.js';

export type { DeviceMemory } from './backend.js';

/**
 * The memory of `device` (default 'cpu') in bytes: tensor storage and kernel scratch in use, its
 * peak, what the device holds from the system, its limit, and the kernel memory's own figures.
 * On the CPU, storage in the kernels' memory is counted from the moment it is handed out until
 * it is given back (at once for spent gradients, else when the collector finds it dead); storage
 * in ordinary arrays of 64 KB or more until it is collected; smaller arrays are not counted. The
 * two CPU devices ('cpu', 'cpu-reference') share one count: their tensors mix.
 * @example
 * import { memory } from 'chainrule';
 * const { bytesInUse, peakBytesInUse, kernel } = memory();
 * console.log(bytesInUse, peakBytesInUse, kernel?.reservedBytes);
 */
export function memory(device = 'cpu'): DeviceMemory {
  const backend = getBackend(device);
  if (!backend.memory) throw new Error(`memory: the device '${device}' does not count its memory`);
  return backend.memory();
}

/**
 * Caps the memory of `device` (default 'cpu') at `bytes`, or removes the cap with null. On the
 * CPU the cap is on the WebAssembly kernels' memory, which cannot shrink once grown: it never
 * grows past the cap, and tensors that do not fit under it are made as ordinary typed arrays,
 * which the JavaScript engine collects by itself (kernels then copy them in, a little slower).
 * In a browser, where no program can ask for a garbage collection and a tab's memory is
 * limited, this is how to keep the kernel memory within a known size. A memory already larger
 * keeps its size. The cap applies to kernel memories made later too.
 * @example
 * import { setMemoryLimit } from 'chainrule';
 * setMemoryLimit(256 * 1024 * 1024); // the kernels' memory stays within 256 MB
 */
export function setMemoryLimit(bytes: number | null, device = 'cpu'): void {
  if (bytes !== null && !(typeof bytes === 'number' && Number.isFinite(bytes) && bytes >= 0))
    throw new Error(
      `setMemoryLimit: expected a number of bytes >= 0 or null, got ${typeof bytes === 'number' ? bytes : typeof bytes}`,
    );
  const backend = getBackend(device);
  if (!backend.setMemoryLimit)
    throw new Error(`setMemoryLimit: the device '${device}' has no memory limit to set`);
  backend.setMemoryLimit(bytes);
}

/**
 * Starts the peak that `memory(device).peakBytesInUse` reports again from the bytes in use now.
 * @example
 * resetPeakMemory(); step(); console.log(memory().peakBytesInUse);
 */
export function resetPeakMemory(device = 'cpu'): void {
  getBackend(device).resetPeakMemory?.();
}
