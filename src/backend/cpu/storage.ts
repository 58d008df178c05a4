/**
 * Where the CPU kernels' results live. By default ordinary typed arrays; the WebAssembly backend
 * installs an allocator that puts large float32 results in its shared memory (../wasm/arena.ts),
 * so that its kernels read them in place. Arrays handed to users (readSync) never come from here.
 */
import { allocateTypedArray, type DType, type TypedArray } from '../../tensor/dtype.js';

/** Returns a float32 array of `size` elements (zero-filled when `zero`), or null to decline. */
export type Float32Allocator = (size: number, zero: boolean) => Float32Array | null;

let float32Allocator: Float32Allocator | null = null;

/** Installs (or, with null, removes) the allocator behind float32 kernel results. */
export function setFloat32Allocator(allocator: Float32Allocator | null): void {
  float32Allocator = allocator;
}

/**
 * Storage for a kernel's result of `size` elements of `dtype`, zero-filled unless `zero` is false
 * (for kernels that write every element).
 */
export function allocateStorage(dtype: DType, size: number, zero = true): TypedArray {
  return (
    (dtype === 'float32' && float32Allocator ? float32Allocator(size, zero) : null) ??
    allocateTypedArray(dtype, size)
  );
}
