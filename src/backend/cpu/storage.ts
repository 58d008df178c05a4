/**
 * Where the CPU kernels' results live, and how many bytes they hold. By default ordinary typed
 * arrays; the WebAssembly backend installs an allocator that puts large float32 results in its
 * shared memory (../wasm/arena.ts), so that its kernels read them in place. Arrays handed to
 * users (readSync) never come from here.
 */
import type { DeviceMemory } from '../backend.js';
import { makeRegistry } from '../collector.js';
import { allocateTypedArray, type DType, type TypedArray } from '../../tensor/dtype.js';

/** Returns a float32 array of `size` elements (zero-filled when `zero`), or null to decline. */
export type Float32Allocator = (size: number, zero: boolean) => Float32Array | null;

let float32Allocator: Float32Allocator | null = null;

/** Installs (or, with null, removes) the allocator behind float32 kernel results. */
export function setFloat32Allocator(allocator: Float32Allocator | null): void {
  float32Allocator = allocator;
}

/** Bytes in use and their peak, counted as blocks are handed out and given back. */
export class MemoryCounter {
  inUse = 0;
  peak = 0;

  add(bytes: number): void {
    this.inUse += bytes;
    if (this.inUse > this.peak) this.peak = this.inUse;
  }

  sub(bytes: number): void {
    this.inUse -= bytes;
  }

  resetPeak(): void {
    this.peak = this.inUse;
  }
}

/**
 * The CPU devices' tensor storage and kernel scratch, wherever it lives (the two CPU devices
 * share it: their tensors mix). The kernel memory adds and subtracts its blocks here too.
 */
export const cpuMemory = new MemoryCounter();
/** The part of cpuMemory in ordinary typed arrays (the JavaScript heap). */
export const hostMemory = new MemoryCounter();

/**
 * Host arrays smaller than this are not counted. Registering one with the collector costs about
 * as much as making it, and each registration is a weak cell every full collection must process:
 * counting the 4 KB results of a 100-op eager chain on 1,000 elements made it 20% slower (GC
 * 3% -> 13% of its time). Memory that matters is counted: large float32 results live in the
 * kernel memory (counted there), and host arrays of 64 KB or more are counted here.
 */
export const COUNTED_HOST_BYTES = 64 * 1024;

let hostRegistry: FinalizationRegistry<number> | null = null;

/** Counts a host array of `bytes` bytes in use until it is garbage-collected. */
function countHost(array: TypedArray): void {
  const bytes = array.byteLength;
  hostRegistry ??= makeRegistry((freed: number) => {
    hostMemory.sub(freed);
    cpuMemory.sub(freed);
  }).registry;
  hostRegistry.register(array, bytes);
  hostMemory.add(bytes);
  cpuMemory.add(bytes);
}

/**
 * Storage for a kernel's result of `size` elements of `dtype`, zero-filled unless `zero` is false
 * (for kernels that write every element).
 */
export function allocateStorage(dtype: DType, size: number, zero = true): TypedArray {
  const inKernelMemory =
    dtype === 'float32' && float32Allocator ? float32Allocator(size, zero) : null;
  if (inKernelMemory) return inKernelMemory;
  const array = allocateTypedArray(dtype, size);
  if (array.byteLength >= COUNTED_HOST_BYTES) countHost(array);
  return array;
}

/** The kernel memory of the WebAssembly kernels, as they report and cap it (installed by them). */
export interface KernelMemory {
  stats(): NonNullable<DeviceMemory['kernel']> | null;
  setLimit(bytes: number | null): void;
  resetPeak(): void;
}

let kernelMemory: KernelMemory | null = null;

/** Installs (or, with null, removes) the kernel memory that the CPU devices report and cap. */
export function setKernelMemory(memory: KernelMemory | null): void {
  kernelMemory = memory;
}

/** The CPU devices' memory (Backend.memory): host arrays and the kernel memory together. */
export function cpuDeviceMemory(): DeviceMemory {
  const kernel = kernelMemory?.stats() ?? null;
  return {
    bytesInUse: cpuMemory.inUse,
    peakBytesInUse: cpuMemory.peak,
    reservedBytes: hostMemory.inUse + (kernel?.reservedBytes ?? 0),
    limitBytes: kernel?.limitBytes ?? null,
    kernel,
  };
}

/** Caps the CPU devices' kernel memory (Backend.setMemoryLimit). */
export function setCpuMemoryLimit(bytes: number | null): void {
  kernelMemory?.setLimit(bytes);
}

export function resetCpuPeakMemory(): void {
  cpuMemory.resetPeak();
  hostMemory.resetPeak();
  kernelMemory?.resetPeak();
}
