/**
 * The ONNX graph being built by a trace: nodes, initializers (weights, by their state-dict names)
 * and constants, as plain objects shaped like onnx.proto's messages (protobufjs encodes them in
 * proto.ts). Converters add nodes through `node()` and get fresh value names back.
 */
import type { DType } from '../../tensor/dtype.js';
import type { Tensor } from '../../tensor/tensor.js';

/** onnx.TensorProto.DataType codes of chainrule's dtypes. */
export const ONNX_ELEM_TYPE: Record<DType, number> = {
  float32: 1,
  int32: 6,
  bool: 9,
  float64: 11,
};

export type AttributeValue =
  number | number[] | string | { float: number } | { floats: number[] } | { strings: string[] };

export interface NodeProto {
  op_type: string;
  name: string;
  input: string[];
  output: string[];
  attribute: object[];
  domain?: string;
}

export interface TensorProto {
  name: string;
  dims: number[];
  data_type: number;
  raw_data: Uint8Array;
}

/** A traced value: its name in the graph and the tensor it held in the example run. */
export interface Traced {
  name: string;
  tensor: Tensor;
}

function attribute(name: string, value: AttributeValue): object {
  // AttributeProto.AttributeType: FLOAT 1, INT 2, STRING 3, FLOATS 6, INTS 7, STRINGS 8.
  if (typeof value === 'string') return { name, type: 3, s: new TextEncoder().encode(value) };
  if (Array.isArray(value)) return { name, type: 7, ints: value };
  if (typeof value === 'object' && 'strings' in value)
    return { name, type: 8, strings: value.strings.map((v) => new TextEncoder().encode(v)) };
  if (typeof value === 'object' && 'floats' in value)
    return { name, type: 6, floats: value.floats };
  if (typeof value === 'object') return { name, type: 1, f: value.float };
  return { name, type: 2, i: value };
}

function rawBytes(data: ArrayBufferView): Uint8Array {
  return new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
}

export class GraphBuilder {
  /** The opset the graph targets (some ops changed signature, e.g. ReduceMean at 18). */
  constructor(readonly opset = 17) {}

  readonly nodes: NodeProto[] = [];
  readonly initializers: TensorProto[] = [];
  readonly #initialized = new Map<Tensor, string>();
  readonly #used = new Set<string>();
  #counter = 0;

  /** A fresh value name, unique in the graph. */
  fresh(hint: string): string {
    let name = hint;
    while (this.#used.has(name)) name = `${hint}_${++this.#counter}`;
    this.#used.add(name);
    return name;
  }

  /** Reserves a name that must be used exactly (graph inputs and outputs). */
  reserve(name: string): string {
    if (this.#used.has(name)) throw new Error(`onnx.export: the name '${name}' is used twice`);
    this.#used.add(name);
    return name;
  }

  /** Adds a node and returns its output names (`outputs` of them, named after `hint`). */
  node(
    opType: string,
    inputs: string[],
    attributes: Record<string, AttributeValue | undefined> = {},
    outputs = 1,
    hint = opType,
  ): string[] {
    const names = Array.from({ length: outputs }, (_, i) =>
      this.fresh(outputs === 1 ? hint : `${hint}_${i}`),
    );
    this.nodes.push({
      op_type: opType,
      name: this.fresh(`${opType}_node`),
      input: inputs,
      output: names,
      attribute: Object.entries(attributes)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => attribute(k, v!)),
    });
    return names;
  }

  /** One-output node. */
  op(
    opType: string,
    inputs: string[],
    attributes: Record<string, AttributeValue | undefined> = {},
    hint?: string,
  ): string {
    return this.node(opType, inputs, attributes, 1, hint)[0];
  }

  /** A weight as an initializer (once per tensor), named `name` (its state-dict key). */
  weight(tensor: Tensor, name: string): string {
    const known = this.#initialized.get(tensor);
    if (known) return known;
    // A layer exported on its own has path '' and so its weights '.weight': drop the dot.
    const unique = this.fresh(name.replace(/^\./, ''));
    this.initializers.push({
      name: unique,
      dims: [...tensor.shape],
      data_type: ONNX_ELEM_TYPE[tensor.dtype],
      raw_data: rawBytes(tensor.detach().contiguous().dataSync()),
    });
    this.#initialized.set(tensor, unique);
    return unique;
  }

  /** A constant initializer from numbers (int64 for shapes and axes). */
  constant(
    values: readonly number[],
    kind: 'int64' | 'float32' | 'float64',
    hint = 'const',
    dims = [values.length],
  ): string {
    const name = this.fresh(hint);
    const data =
      kind === 'int64'
        ? new BigInt64Array(values.map((v) => BigInt(v)))
        : kind === 'float64'
          ? new Float64Array(values)
          : new Float32Array(values);
    const type = kind === 'int64' ? 7 : ONNX_ELEM_TYPE[kind];
    this.initializers.push({ name, dims, data_type: type, raw_data: rawBytes(data) });
    return name;
  }

  /** A 0-d constant of `like`'s float dtype, for elementwise arithmetic with it. */
  scalar(value: number, like: Tensor, hint = 'scalar'): string {
    return this.constant([value], like.dtype === 'float64' ? 'float64' : 'float32', hint, []);
  }
}
