/**
 * The int8 product every integer layer uses: the WebAssembly SIMD kernel where WebAssembly SIMD
 * exists, the reference loops otherwise. Both give the same int32 results.
 */
import { matmulNTReference } from './int8_kernels.js';
import { matmulNTWasm } from './wasm_int8_gemm.js';

/**
 * C [m, n] = A [m, k] · B [n, k]ᵀ in int32, for int8 A and B with values in [−127, 127].
 * @example
 * matmulNT(new Int8Array([1, 2]), new Int8Array([3, 4]), 1, 1, 2); // Int32Array [11]
 */
export function matmulNT(a: Int8Array, b: Int8Array, m: number, n: number, k: number): Int32Array {
  if (a.length !== m * k || b.length !== n * k)
    throw new Error(
      `int8 matmul: operands of ${a.length} and ${b.length} elements do not match [${m}, ${k}] and [${n}, ${k}]`,
    );
  return matmulNTWasm(a, b, m, n, k) ?? matmulNTReference(a, b, m, n, k);
}
