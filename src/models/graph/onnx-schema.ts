/**
 * The part of ONNX's onnx.proto (proto2, field numbers as published) that a graph builder writes, as a
 * protobufjs JSON descriptor. Only writing is needed: a model is built in TypeScript, encoded here and
 * handed to onnxruntime as bytes. The full onnx.proto also has sparse tensors, functions, training info,
 * sequences and maps; none of them is used, so they are left out rather than carried unread.
 */
import protobuf from 'protobufjs';

const str = (id: number) => ({ type: 'string', id });
const many = (type: string, id: number) => ({ rule: 'repeated', type, id });

const ONNX_SUBSET = {
  nested: {
    onnx: {
      nested: {
        ModelProto: {
          fields: {
            ir_version: { type: 'int64', id: 1 },
            producer_name: str(2),
            producer_version: str(3),
            doc_string: str(6),
            graph: { type: 'GraphProto', id: 7 },
            opset_import: many('OperatorSetIdProto', 8),
            metadata_props: many('StringStringEntryProto', 14),
          },
        },
        StringStringEntryProto: { fields: { key: str(1), value: str(2) } },
        OperatorSetIdProto: { fields: { domain: str(1), version: { type: 'int64', id: 2 } } },
        GraphProto: {
          fields: {
            node: many('NodeProto', 1),
            name: str(2),
            initializer: many('TensorProto', 5),
            doc_string: str(10),
            input: many('ValueInfoProto', 11),
            output: many('ValueInfoProto', 12),
          },
        },
        NodeProto: {
          fields: { input: many('string', 1), output: many('string', 2), name: str(3), op_type: str(4), attribute: many('AttributeProto', 5), domain: str(7) },
        },
        AttributeProto: {
          fields: {
            name: str(1),
            f: { type: 'float', id: 2 },
            i: { type: 'int64', id: 3 },
            g: { type: 'GraphProto', id: 6 },
            floats: many('float', 7),
            ints: many('int64', 8),
            type: { type: 'int32', id: 20 },
          },
        },
        ValueInfoProto: { fields: { name: str(1), type: { type: 'TypeProto', id: 2 }, doc_string: str(3) } },
        TypeProto: {
          fields: { tensor_type: { type: 'Tensor', id: 1 } },
          nested: { Tensor: { fields: { elem_type: { type: 'int32', id: 1 }, shape: { type: 'TensorShapeProto', id: 2 } } } },
        },
        TensorShapeProto: {
          fields: { dim: many('Dimension', 1) },
          nested: { Dimension: { fields: { dim_value: { type: 'int64', id: 1 }, dim_param: str(2) } } },
        },
        TensorProto: {
          fields: { dims: many('int64', 1), data_type: { type: 'int32', id: 2 }, name: str(8), raw_data: { type: 'bytes', id: 9 } },
        },
      },
    },
  },
};

/** onnx.TensorProto.DataType values used here. */
export const ElemType = { float: 1, int32: 6, int64: 7, bool: 9 } as const;
export type ElemTypeName = keyof typeof ElemType;

/** onnx.AttributeProto.AttributeType values used here. */
export const AttrType = { FLOAT: 1, INT: 2, GRAPH: 5, FLOATS: 6, INTS: 7 } as const;

/** IR version 8 (ONNX 1.10+) with opset 17: every op used here has its current form there. */
export const IR_VERSION = 8;
export const OPSET = 17;

const root = protobuf.Root.fromJSON(ONNX_SUBSET);
const modelType = root.lookupType('onnx.ModelProto');
const graphType = root.lookupType('onnx.GraphProto');
const tensorType = root.lookupType('onnx.TensorProto');

/** Field numbers of the length-delimited fields written by hand below (onnx.proto). */
const MODEL_GRAPH = 7;
const GRAPH_INITIALIZER = 5;
const TENSOR_RAW_DATA = 9;

/** Bytes of a varint. */
function varintLength(n: number): number {
  let bytes = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 0x80);
    bytes++;
  }
  return bytes;
}

/** A length-delimited field as the pieces it is made of: its contents are copied once, into the output. */
interface Piece {
  field: number;
  parts: (Uint8Array | Piece)[];
}

const contentLength = (p: Piece): number => p.parts.reduce((n, part) => n + (part instanceof Uint8Array ? part.length : pieceLength(part)), 0);
function pieceLength(p: Piece): number {
  const n = contentLength(p);
  return varintLength((p.field << 3) | 2) + varintLength(n) + n;
}

function writeVarint(out: Uint8Array, at: number, n: number): number {
  while (n >= 0x80) {
    out[at++] = (n % 0x80) | 0x80;
    n = Math.floor(n / 0x80);
  }
  out[at++] = n;
  return at;
}

function writeParts(out: Uint8Array, at: number, parts: readonly (Uint8Array | Piece)[]): number {
  for (const part of parts) {
    if (part instanceof Uint8Array) {
      out.set(part, at);
      at += part.length;
    } else {
      at = writeVarint(out, at, (part.field << 3) | 2);
      at = writeVarint(out, at, contentLength(part));
      at = writeParts(out, at, part.parts);
    }
  }
  return at;
}

/**
 * Encodes a plain object shaped like onnx.ModelProto (snake_case field names) to its protobuf bytes.
 * protobufjs encodes everything but the graph's initializers; each initializer's raw_data is written
 * into the output once. Through protobufjs alone, a 30 MB model took 0.3–0.8 s and three times its size
 * in memory: its writer grows its buffer by doubling and copies a nested message at every level.
 * Fields come out in another order than protobufjs's, which protobuf parsers accept.
 */
export function encodeModelProto(model: Record<string, unknown>): Uint8Array {
  const problem = modelType.verify(model);
  if (problem) throw new TypeError(`not a valid ONNX model: ${problem}`);
  const { graph, ...rest } = model as { graph?: Record<string, unknown> };
  const parts: (Uint8Array | Piece)[] = [modelType.encode(modelType.fromObject(rest)).finish()];
  if (graph !== undefined) {
    const { initializer = [], ...graphRest } = graph as { initializer?: Record<string, unknown>[] };
    const tensors = initializer.map(({ raw_data, ...header }): Piece => {
      if (!(raw_data instanceof Uint8Array)) throw new TypeError(`initializer ${String(header.name)} needs raw_data bytes`);
      return { field: GRAPH_INITIALIZER, parts: [tensorType.encode(tensorType.fromObject(header)).finish(), { field: TENSOR_RAW_DATA, parts: [raw_data] }] };
    });
    parts.push({ field: MODEL_GRAPH, parts: [graphType.encode(graphType.fromObject(graphRest)).finish(), ...tensors] });
  }
  const out = new Uint8Array(parts.reduce<number>((n, p) => n + (p instanceof Uint8Array ? p.length : pieceLength(p)), 0));
  writeParts(out, 0, parts);
  return out;
}

/** Decodes model bytes back to a plain object (tests read what the encoder wrote). */
export function decodeModelProto(bytes: Uint8Array): Record<string, unknown> {
  return modelType.toObject(modelType.decode(bytes), { longs: Number, bytes: Array }) as Record<string, unknown>;
}
