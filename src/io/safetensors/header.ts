/**
 * The safetensors header: parsing and validating it, following the format's specification
 * (huggingface/safetensors, README "Format"): an 8-byte little-endian header length N, N bytes of
 * UTF-8 JSON (possibly padded with trailing spaces), then the byte buffer. Each JSON entry is
 * `{ dtype, shape, data_offsets: [begin, end] }` relative to the buffer's start; `__metadata__`
 * is an optional string-to-string map. The entries' byte ranges must tile the buffer exactly: no
 * overlaps, no gaps, nothing after the last tensor. Anything else is refused here, before a
 * single tensor is made, with an error naming the tensor and what was expected.
 */

/** The element types of the format that chainrule reads, with their sizes in bytes. */
export const SAFETENSORS_DTYPES = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  BOOL: 1,
} as const;

export type SafetensorsDType = keyof typeof SAFETENSORS_DTYPES;

/** Dtypes the specification defines that chainrule does not read (named in the error). */
const KNOWN_UNSUPPORTED = ['U8', 'I8', 'I16', 'U16', 'U32', 'U64', 'F8_E4M3', 'F8_E5M2'];

/** The Rust implementation's limit; a larger header is a corrupt length, not a real header. */
export const MAX_HEADER_BYTES = 100_000_000;

export interface TensorEntry {
  name: string;
  dtype: SafetensorsDType;
  shape: number[];
  /** Byte range within the data buffer (after the header). */
  begin: number;
  end: number;
}

export interface ParsedHeader {
  entries: TensorEntry[];
  metadata: Record<string, string> | undefined;
  /** Offset of the data buffer in the file (8 + header length). */
  dataStart: number;
}

function fail(source: string, message: string): never {
  throw new Error(`safetensors.deserialize: ${source}: ${message}`);
}

function isNonNegativeInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function parseEntry(source: string, name: string, raw: unknown): TensorEntry {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
    fail(
      source,
      `entry '${name}' is ${JSON.stringify(raw)}; expected an object with dtype, shape and data_offsets`,
    );
  const { dtype, shape, data_offsets: offsets, ...rest } = raw as Record<string, unknown>;
  const extra = Object.keys(rest);
  if (extra.length > 0)
    fail(
      source,
      `entry '${name}' has unknown field(s) ${extra.join(', ')}; expected dtype, shape, data_offsets`,
    );
  if (typeof dtype !== 'string' || !(dtype in SAFETENSORS_DTYPES)) {
    const why = KNOWN_UNSUPPORTED.includes(String(dtype))
      ? 'is not supported by chainrule'
      : 'is not a safetensors dtype';
    fail(
      source,
      `tensor '${name}' has dtype ${JSON.stringify(dtype)}, which ${why}; supported: ${Object.keys(SAFETENSORS_DTYPES).join(', ')}`,
    );
  }
  if (!Array.isArray(shape) || !shape.every(isNonNegativeInt))
    fail(
      source,
      `tensor '${name}' has shape ${JSON.stringify(shape)}; expected an array of non-negative integers`,
    );
  if (
    !Array.isArray(offsets) ||
    offsets.length !== 2 ||
    !offsets.every(isNonNegativeInt) ||
    offsets[0] > offsets[1]
  )
    fail(
      source,
      `tensor '${name}' has data_offsets ${JSON.stringify(offsets)}; expected [begin, end] with 0 <= begin <= end`,
    );
  const type = dtype as SafetensorsDType;
  const numel = shape.reduce((a: number, b: number) => a * b, 1);
  const expectedBytes = numel * SAFETENSORS_DTYPES[type];
  if (offsets[1] - offsets[0] !== expectedBytes)
    fail(
      source,
      `tensor '${name}' (${type}, shape [${shape.join(', ')}]) needs ${expectedBytes} bytes, but data_offsets [${offsets[0]}, ${offsets[1]}] span ${offsets[1] - offsets[0]}`,
    );
  return { name, dtype: type, shape: [...shape], begin: offsets[0], end: offsets[1] };
}

/** Checks that the entries' byte ranges tile [0, bufferBytes) exactly. */
function checkTiling(source: string, entries: TensorEntry[], bufferBytes: number): void {
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let position = 0;
  let previous: TensorEntry | undefined;
  for (const entry of sorted) {
    if (entry.begin < position)
      fail(
        source,
        `tensors '${previous!.name}' [${previous!.begin}, ${previous!.end}) and '${entry.name}' [${entry.begin}, ${entry.end}) overlap`,
      );
    if (entry.begin > position)
      fail(
        source,
        `bytes [${position}, ${entry.begin}) of the data buffer belong to no tensor (a gap before '${entry.name}'); the specification requires the tensors to cover the buffer exactly`,
      );
    position = entry.end;
    previous = entry;
  }
  if (position > bufferBytes)
    fail(
      source,
      `tensor '${previous!.name}' ends at byte ${position} of the data buffer, past its end (${bufferBytes} bytes after the header; truncated file?)`,
    );
  if (position < bufferBytes)
    fail(
      source,
      `the data buffer has ${bufferBytes - position} byte(s) after the last tensor (${bufferBytes} bytes, tensors end at ${position})`,
    );
}

/**
 * Parses and validates the header of a safetensors file held in `bytes`; `source` names the
 * file in errors.
 */
export function parseHeader(bytes: Uint8Array, source: string): ParsedHeader {
  if (bytes.length < 8)
    fail(
      source,
      `${bytes.length} bytes is too short: a safetensors file starts with an 8-byte header length`,
    );
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const length = view.getBigUint64(0, true);
  if (length > BigInt(bytes.length - 8))
    fail(
      source,
      `header length ${length} runs past the end of the file (${bytes.length} bytes, so at most ${bytes.length - 8})`,
    );
  const headerBytes = Number(length);
  if (headerBytes > MAX_HEADER_BYTES)
    fail(
      source,
      `header length ${headerBytes} exceeds the format's limit of ${MAX_HEADER_BYTES} bytes`,
    );
  if (headerBytes < 2 || bytes[8] !== 0x7b)
    fail(source, `the header does not start with '{'; this is not a safetensors file`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerBytes));
  } catch {
    fail(source, 'the header is not valid UTF-8');
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    fail(source, `the header is not valid JSON (${(error as Error).message})`);
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json))
    fail(source, 'the header is not a JSON object');
  let metadata: Record<string, string> | undefined;
  const entries: TensorEntry[] = [];
  for (const [name, raw] of Object.entries(json as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (
        raw === null ||
        typeof raw !== 'object' ||
        Array.isArray(raw) ||
        !Object.values(raw).every((v) => typeof v === 'string')
      )
        fail(source, `__metadata__ is ${JSON.stringify(raw)}; expected an object of strings`);
      metadata = { ...(raw as Record<string, string>) };
      continue;
    }
    entries.push(parseEntry(source, name, raw));
  }
  const dataStart = 8 + headerBytes;
  checkTiling(source, entries, bytes.length - dataStart);
  return { entries, metadata, dataStart };
}
