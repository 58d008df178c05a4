/** Encodes an ONNX ModelProto with protobufjs, from the schema in onnx_proto.ts (parsed once). */
import protobuf from 'protobufjs';
import { ONNX_PROTO } from './onnx_proto.js';

let modelType: protobuf.Type | null = null;

/** The bytes of a ModelProto given as a plain object with onnx.proto's field names. */
export function encodeModel(model: object): Uint8Array {
  modelType ??= protobuf.parse(ONNX_PROTO, { keepCase: true }).root.lookupType('onnx.ModelProto');
  const problem = modelType.verify(model);
  if (problem)
    throw new Error(`onnx.export: internal error: the model does not fit onnx.proto (${problem})`);
  return modelType.encode(modelType.fromObject(model)).finish();
}

/** Decodes a ModelProto (for tests and tools). */
export function decodeModel(bytes: Uint8Array): Record<string, any> {
  modelType ??= protobuf.parse(ONNX_PROTO, { keepCase: true }).root.lookupType('onnx.ModelProto');
  return modelType.toObject(modelType.decode(bytes), { longs: Number, bytes: Array }) as Record<
    string,
    any
  >;
}
