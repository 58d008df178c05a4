/**
 * Checkpoint contents and their serialized form, browser-safe: model, optimizer and scheduler
 * state, generator states and the epoch, as JSON with tensors in base64 and a CRC-32 of the
 * payload, so that a truncated or corrupted file is recognised instead of half-loaded.
 * File IO (atomic writes) is in checkpoint_file.ts.
 */
import { getBackend } from '../backend/backend.js';
import { assertDType, type DType } from '../tensor/dtype.js';
import { Tensor } from '../tensor/tensor.js';
import type { GeneratorState } from '../tensor/random.js';

const FORMAT = 'chainrule-checkpoint';
const VERSION = 1;

export interface CheckpointContents {
  model?: Record<string, Tensor>;
  optimizer?: unknown;
  scheduler?: unknown;
  generators?: Record<string, GeneratorState>;
  epoch?: number;
  /** Anything JSON-serialisable the caller wants back (config, metrics). */
  extra?: unknown;
}

interface EncodedTensor {
  __tensor__: true;
  dtype: DType;
  shape: number[];
  data: string;
}

const TYPED: Record<DType, { new (buffer: ArrayBuffer): ArrayBufferView & ArrayLike<number> }> = {
  float32: Float32Array,
  float64: Float64Array,
  int32: Int32Array,
  bool: Uint8Array,
};

function bytesToBase64(bytes: Uint8Array): string {
  let binary = '';
  const chunk = 0x8000;
  for (let i = 0; i < bytes.length; i += chunk)
    binary += String.fromCharCode(...bytes.subarray(i, i + chunk));
  return btoa(binary);
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** The bytes of a base64 string; throws (naming `where`) on anything that is not base64. */
function base64ToBytes(text: unknown, where: string): Uint8Array {
  if (typeof text !== 'string' || text.length % 4 !== 0 || !BASE64.test(text))
    throw new Error(
      `${where}: its data is not base64 (${typeof text === 'string' ? `${text.length} characters` : `got ${typeof text}`})`,
    );
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** A tensor decoded from the file, its byte length checked against its shape and dtype. */
function decodeTensor(record: Record<string, unknown>, where: string): Tensor {
  const dtype = assertDType(where, record.dtype);
  const shape = record.shape;
  if (
    !Array.isArray(shape) ||
    !shape.every((d) => typeof d === 'number' && Number.isInteger(d) && d >= 0)
  )
    throw new Error(
      `${where}: its shape must be an array of non-negative integers, got ${JSON.stringify(shape)}`,
    );
  const bytes = base64ToBytes(record.data, where);
  const Typed = TYPED[dtype];
  const width = (Typed as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT;
  const elements = shape.reduce((a: number, b: number) => a * b, 1);
  if (bytes.length !== elements * width)
    throw new Error(
      `${where}: its data is ${bytes.length} bytes, but a ${dtype} tensor of shape [${shape.join(', ')}] takes ${elements * width} (${elements} elements of ${width} bytes)`,
    );
  const copy = new Uint8Array(bytes.length);
  copy.set(bytes);
  const data = new Typed(copy.buffer);
  const backend = getBackend('cpu');
  return Tensor.fromStorage(backend.fromValues(dtype, data), shape as number[], dtype, backend);
}

/** Replaces every Tensor in a nested value with its encoded form. */
export function encodeState(value: unknown): unknown {
  if (value instanceof Tensor) {
    const data = value.dataSync();
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    const encoded: EncodedTensor = {
      __tensor__: true,
      dtype: value.dtype,
      shape: [...value.shape],
      data: bytesToBase64(bytes),
    };
    return encoded;
  }
  if (Array.isArray(value)) return value.map(encodeState);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, encodeState(v)]));
  }
  if (typeof value === 'number' && !Number.isFinite(value)) return { __number__: String(value) };
  return value;
}

/**
 * The inverse of encodeState. `source` names the file and `path` the keys to the value in errors:
 * a tensor whose data is not base64, or does not hold the bytes its shape and dtype take, is
 * refused.
 */
export function decodeState(value: unknown, source = 'checkpoint', path = ''): unknown {
  const at = (key: string | number) => (path === '' ? String(key) : `${path} / ${key}`);
  if (Array.isArray(value)) return value.map((v, i) => decodeState(v, source, at(i)));
  if (value !== null && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    if (record.__tensor__ === true)
      return decodeTensor(record, `loadCheckpoint: ${source}: tensor '${path}'`);
    if (typeof record.__number__ === 'string') return Number(record.__number__);
    return Object.fromEntries(
      Object.entries(record).map(([k, v]) => [k, decodeState(v, source, at(k))]),
    );
  }
  return value;
}

let crcTable: Uint32Array | null = null;

/** CRC-32 (IEEE) of a string's UTF-16 code units: detects truncation and corruption. */
export function crc32(text: string): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    crc = crcTable[(crc ^ code) & 0xff] ^ (crc >>> 8);
    crc = crcTable[(crc ^ (code >>> 8)) & 0xff] ^ (crc >>> 8);
  }
  return (crc ^ 0xffffffff) >>> 0;
}

export function serializeCheckpoint(contents: CheckpointContents): string {
  const payload = JSON.stringify(encodeState(contents));
  return JSON.stringify({ format: FORMAT, version: VERSION, crc32: crc32(payload), payload });
}

/** Parses and verifies a serialized checkpoint; `source` names it in errors. */
export function deserializeCheckpoint(text: string, source = 'checkpoint'): CheckpointContents {
  let envelope: { format?: unknown; version?: unknown; crc32?: unknown; payload?: unknown };
  try {
    envelope = JSON.parse(text);
  } catch {
    throw new Error(
      `loadCheckpoint: ${source} is not a chainrule checkpoint or is corrupted (it is not valid JSON; truncated?)`,
    );
  }
  if (envelope?.format !== FORMAT)
    throw new Error(
      `loadCheckpoint: ${source} is not a chainrule checkpoint (format '${String(envelope?.format)}')`,
    );
  if (envelope.version !== VERSION)
    throw new Error(
      `loadCheckpoint: ${source} has format version ${String(envelope.version)}; this chainrule reads version ${VERSION}`,
    );
  if (typeof envelope.payload !== 'string' || crc32(envelope.payload) !== envelope.crc32) {
    throw new Error(`loadCheckpoint: ${source} is corrupted (checksum mismatch)`);
  }
  return decodeState(JSON.parse(envelope.payload), source) as CheckpointContents;
}
