/**
 * safetensors to and from bytes (browser-safe). Reading converts F16 and BF16 to float32 and I64
 * to int32 (refusing values out of int32's range); writing stores chainrule's dtypes as F32, F64,
 * I32 and BOOL, with the header padded to 8 bytes and the widest tensors first, as Python's
 * safetensors does, so every tensor is aligned to its element size.
 */
import { getBackend } from '../../backend/backend.js';
import type { DType, TypedArray } from '../../tensor/dtype.js';
import { Tensor } from '../../tensor/tensor.js';
import {
  parseHeader,
  SAFETENSORS_DTYPES,
  type SafetensorsDType,
  type TensorEntry,
} from './header.js';

const WRITTEN_AS: Record<DType, SafetensorsDType> = {
  float32: 'F32',
  float64: 'F64',
  int32: 'I32',
  bool: 'BOOL',
};

/** float16 bits to a number (subnormals, infinities and NaN included). */
function halfToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const fraction = h & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 31) return fraction ? NaN : sign * Infinity;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

/** Copies an entry's bytes out (the file's bytes need not be aligned) and decodes them. */
function decodeEntry(
  bytes: Uint8Array,
  dataStart: number,
  entry: TensorEntry,
  source: string,
): { dtype: DType; data: TypedArray } {
  // A fresh copy: Node's Buffer.slice would share the file's (pooled, unaligned) memory.
  const raw = new Uint8Array(entry.end - entry.begin);
  raw.set(bytes.subarray(dataStart + entry.begin, dataStart + entry.end));
  const n = (entry.end - entry.begin) / SAFETENSORS_DTYPES[entry.dtype];
  switch (entry.dtype) {
    case 'F32':
      return { dtype: 'float32', data: new Float32Array(raw.buffer, 0, n) };
    case 'F64':
      return { dtype: 'float64', data: new Float64Array(raw.buffer, 0, n) };
    case 'I32':
      return { dtype: 'int32', data: new Int32Array(raw.buffer, 0, n) };
    case 'F16':
    case 'BF16': {
      const halves = new Uint16Array(raw.buffer, 0, n);
      const out = new Float32Array(n);
      if (entry.dtype === 'F16') for (let i = 0; i < n; i++) out[i] = halfToNumber(halves[i]);
      else {
        // bfloat16 is the top half of a float32.
        const wide = new Uint32Array(out.buffer);
        for (let i = 0; i < n; i++) wide[i] = halves[i] << 16;
      }
      return { dtype: 'float32', data: out };
    }
    case 'I64': {
      const words = new BigInt64Array(raw.buffer, 0, n);
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        const v = words[i];
        if (v > 2147483647n || v < -2147483648n)
          throw new Error(
            `safetensors.deserialize: ${source}: tensor '${entry.name}' (I64, shape [${entry.shape.join(', ')}]) holds ${v} at flat index ${i}, outside int32's range; chainrule reads I64 as int32`,
          );
        out[i] = Number(v);
      }
      return { dtype: 'int32', data: out };
    }
    case 'BOOL': {
      const i = raw.findIndex((b) => b > 1);
      if (i >= 0)
        throw new Error(
          `safetensors.deserialize: ${source}: tensor '${entry.name}' (BOOL) holds byte ${raw[i]} at flat index ${i}; expected 0 or 1`,
        );
      return { dtype: 'bool', data: raw };
    }
  }
}

/**
 * Reads a safetensors file's tensors (on the CPU) from its bytes. Malformed files are refused
 * with an error naming the problem; see {@link metadata} for the `__metadata__` map.
 * @example
 * const state = safetensors.deserialize(new Uint8Array(await (await fetch('model.safetensors')).arrayBuffer()));
 * model.loadStateDict(state);
 */
export function deserialize(bytes: Uint8Array, source = 'input'): Record<string, Tensor> {
  const { entries, dataStart } = parseHeader(bytes, source);
  const backend = getBackend('cpu');
  const state: Record<string, Tensor> = {};
  for (const entry of entries) {
    const { dtype, data } = decodeEntry(bytes, dataStart, entry, source);
    state[entry.name] = Tensor.fromStorage(
      backend.fromValues(dtype, data),
      entry.shape,
      dtype,
      backend,
    );
  }
  return state;
}

/** The `__metadata__` map of a safetensors file (undefined when it has none), validated. */
export function metadata(bytes: Uint8Array, source = 'input'): Record<string, string> | undefined {
  return parseHeader(bytes, source).metadata;
}

/**
 * Writes tensors (CPU, any layout) in the safetensors format. Keys keep their names (use
 * `model.stateDict()` for PyTorch's names); `meta` becomes `__metadata__`.
 * @example
 * const bytes = safetensors.serialize(model.stateDict(), { format: 'pt' });
 */
export function serialize(
  tensors: Record<string, Tensor>,
  meta?: Record<string, string>,
): Uint8Array {
  if (meta !== undefined && !Object.values(meta).every((v) => typeof v === 'string'))
    throw new TypeError('safetensors.serialize: metadata values must be strings');
  const items = Object.entries(tensors).map(([name, t]) => {
    if (!(t instanceof Tensor))
      throw new TypeError(`safetensors.serialize: '${name}' is ${typeof t}, not a Tensor`);
    if (name === '__metadata__')
      throw new Error(
        "safetensors.serialize: '__metadata__' is reserved for metadata; rename the tensor",
      );
    const dtype = WRITTEN_AS[t.dtype];
    const data = t.dataSync();
    return { name, dtype, shape: [...t.shape], data };
  });
  // Widest element first (then by name), so every tensor starts aligned to its element size.
  items.sort(
    (a, b) =>
      SAFETENSORS_DTYPES[b.dtype] - SAFETENSORS_DTYPES[a.dtype] ||
      (a.name < b.name ? -1 : a.name > b.name ? 1 : 0),
  );
  const header: Record<string, unknown> = {};
  if (meta !== undefined) header.__metadata__ = meta;
  let offset = 0;
  for (const item of items) {
    const end = offset + item.data.byteLength;
    header[item.name] = { dtype: item.dtype, shape: item.shape, data_offsets: [offset, end] };
    offset = end;
  }
  let json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8;
  if (padded !== json.length) {
    const withSpaces = new Uint8Array(padded).fill(0x20);
    withSpaces.set(json);
    json = withSpaces;
  }
  const out = new Uint8Array(8 + json.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let position = 8 + json.length;
  for (const item of items) {
    out.set(new Uint8Array(item.data.buffer, item.data.byteOffset, item.data.byteLength), position);
    position += item.data.byteLength;
  }
  return out;
}
