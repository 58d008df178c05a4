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

function base64ToBytes(text: string): Uint8Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
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

/** The inverse of encodeState. */
export function decodeState(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(decodeState);
  if (value !== null && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    if (record.__tensor__ === true) {
      const dtype = assertDType('loadCheckpoint', record.dtype);
      const bytes = base64ToBytes(String(record.data));
      const copy = new Uint8Array(bytes.length);
      copy.set(bytes);
      const data = new TYPED[dtype](copy.buffer);
      const shape = record.shape as number[];
      const backend = getBackend('cpu');
      return Tensor.fromStorage(backend.fromValues(dtype, data), shape, dtype, backend);
    }
    if (typeof record.__number__ === 'string') return Number(record.__number__);
    return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, decodeState(v)]));
  }
  return value;
}

let crcTable: Uint32Array | null = null;

/** CRC-32 (IEEE) of a string's UTF-16 code units: detects truncation and corruption. */
function crc32(text: string): number {
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
  return decodeState(JSON.parse(envelope.payload)) as CheckpointContents;
}
