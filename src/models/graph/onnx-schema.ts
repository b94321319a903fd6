/**
 * The part of ONNX's onnx.proto (proto2, field numbers as published) that a graph builder writes: a model
 * is built in TypeScript, encoded here (by hand, encodeModelProto) and handed to onnxruntime as bytes. The
 * same subset as a protobufjs JSON descriptor decodes them again for the tests. The full onnx.proto also
 * has sparse tensors, functions, training info, sequences and maps; none of them is used, so they are left
 * out rather than carried unread.
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

/** A length-delimited field as the pieces it is made of: its contents are copied once, into the output. */
interface Piece {
  field: number;
  parts: (Uint8Array | Piece)[];
}

/** Bytes of a varint. */
function varintLength(n: number): number {
  let bytes = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 0x80);
    bytes++;
  }
  return bytes;
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

const utf8 = new TextEncoder();

/**
 * One message's fields, in the order written: scalars gathered as bytes, nested messages and large byte
 * fields (initializers' raw_data) kept as pieces, so nothing is copied before the one final write.
 */
class MessageWriter {
  private readonly parts: (Uint8Array | Piece)[] = [];
  private bytes: number[] = [];

  private flush(): void {
    if (this.bytes.length > 0) this.parts.push(Uint8Array.from(this.bytes));
    this.bytes = [];
  }

  private uvarint(n: number): void {
    while (n >= 0x80) {
      this.bytes.push((n % 0x80) | 0x80);
      n = Math.floor(n / 0x80);
    }
    this.bytes.push(n);
  }

  private key(field: number, wireType: 0 | 2 | 5): void {
    this.uvarint(field * 8 + wireType);
  }

  /** An int32/int64 field (a negative value as ten bytes of two's complement, as protobuf has it). */
  int(field: number, n: number): this {
    if (!Number.isSafeInteger(n)) throw new TypeError(`not a valid ONNX model: field ${field} must be an integer, got ${n}`);
    this.key(field, 0);
    if (n >= 0) this.uvarint(n);
    else {
      let v = BigInt.asUintN(64, BigInt(n));
      for (let i = 0; i < 9; i++, v >>= 7n) this.bytes.push(Number(v & 0x7fn) | 0x80);
      this.bytes.push(Number(v));
    }
    return this;
  }

  float(field: number, x: number): this {
    this.key(field, 5);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, x, true);
    for (const byte of b) this.bytes.push(byte);
    return this;
  }

  string(field: number, text: string | undefined): this {
    if (text === undefined) return this;
    const b = utf8.encode(text);
    this.key(field, 2);
    this.uvarint(b.length);
    for (const byte of b) this.bytes.push(byte);
    return this;
  }

  /** A bytes field, referenced, not copied. */
  raw(field: number, data: Uint8Array): this {
    this.flush();
    this.parts.push({ field, parts: [data] });
    return this;
  }

  message(field: number, m: MessageWriter): this {
    this.flush();
    this.parts.push({ field, parts: m.finish() });
    return this;
  }

  finish(): (Uint8Array | Piece)[] {
    this.flush();
    return this.parts;
  }
}

/** The shapes GraphBuilder hands to encodeModelProto: onnx.proto's messages with its snake_case names. */
interface DimProto {
  dim_value?: number;
  dim_param?: string;
}
interface ValueInfoShape {
  name: string;
  type: { tensor_type: { elem_type: number; shape: { dim: DimProto[] } } };
  doc_string?: string;
}
interface AttributeShape {
  name: string;
  type: number;
  f?: number;
  i?: number;
  g?: GraphShape;
  floats?: number[];
  ints?: number[];
}
interface NodeShape {
  input: string[];
  output: string[];
  name?: string;
  op_type: string;
  attribute?: AttributeShape[];
  domain?: string;
}
interface TensorShape {
  name: string;
  dims: number[];
  data_type: number;
  raw_data: Uint8Array;
}
interface GraphShape {
  name: string;
  node: NodeShape[];
  initializer?: TensorShape[];
  input: ValueInfoShape[];
  output: ValueInfoShape[];
  doc_string?: string;
}
interface ModelShape {
  ir_version: number;
  producer_name?: string;
  opset_import: { domain: string; version: number }[];
  metadata_props?: { key: string; value: string }[];
  graph: GraphShape;
}

function valueInfoMessage(v: ValueInfoShape): MessageWriter {
  const shape = new MessageWriter();
  for (const d of v.type.tensor_type.shape.dim) {
    const dim = new MessageWriter();
    if (d.dim_value !== undefined) dim.int(1, d.dim_value);
    else dim.string(2, d.dim_param);
    shape.message(1, dim);
  }
  const tensor = new MessageWriter().int(1, v.type.tensor_type.elem_type).message(2, shape);
  return new MessageWriter().string(1, v.name).message(2, new MessageWriter().message(1, tensor)).string(3, v.doc_string);
}

function attributeMessage(a: AttributeShape): MessageWriter {
  const m = new MessageWriter().string(1, a.name);
  if (a.f !== undefined) m.float(2, a.f);
  if (a.i !== undefined) m.int(3, a.i);
  if (a.g !== undefined) m.message(6, graphMessage(a.g));
  for (const x of a.floats ?? []) m.float(7, x);
  for (const x of a.ints ?? []) m.int(8, x);
  return m.int(20, a.type);
}

function nodeMessage(n: NodeShape): MessageWriter {
  const m = new MessageWriter();
  for (const i of n.input) m.string(1, i);
  for (const o of n.output) m.string(2, o);
  m.string(3, n.name).string(4, n.op_type);
  for (const a of n.attribute ?? []) m.message(5, attributeMessage(a));
  return m.string(7, n.domain);
}

function graphMessage(g: GraphShape): MessageWriter {
  const m = new MessageWriter();
  for (const n of g.node) m.message(1, nodeMessage(n));
  m.string(2, g.name);
  for (const t of g.initializer ?? []) {
    if (!(t.raw_data instanceof Uint8Array)) throw new TypeError(`initializer ${String(t.name)} needs raw_data bytes`);
    const tensor = new MessageWriter();
    for (const d of t.dims) tensor.int(1, d);
    m.message(5, tensor.int(2, t.data_type).string(8, t.name).raw(9, t.raw_data));
  }
  m.string(10, g.doc_string);
  for (const v of g.input) m.message(11, valueInfoMessage(v));
  for (const v of g.output) m.message(12, valueInfoMessage(v));
  return m;
}

/**
 * Encodes a plain object shaped like onnx.ModelProto (snake_case field names, as GraphBuilder makes it) to
 * its protobuf bytes, fields in field-number order, repeated scalars unpacked (as onnx.proto, proto2, has
 * them). Written by hand: protobufjs generated its encoders at first use, ~15 ms of every trainer's start
 * for a ~1 ms encode, and through it a 30 MB model took 0.3–0.8 s and three times its size in memory (its
 * writer copies a nested message at every level). Here each initializer's raw_data is copied once.
 */
export function encodeModelProto(model: Record<string, unknown>): Uint8Array {
  const m = model as unknown as ModelShape;
  if (m.graph === undefined || !Array.isArray(m.graph.node)) throw new TypeError('not a valid ONNX model: it has no graph');
  const w = new MessageWriter().int(1, m.ir_version).string(2, m.producer_name).message(7, graphMessage(m.graph));
  for (const o of m.opset_import) w.message(8, new MessageWriter().string(1, o.domain).int(2, o.version));
  for (const p of m.metadata_props ?? []) w.message(14, new MessageWriter().string(1, p.key).string(2, p.value));
  const parts = w.finish();
  const out = new Uint8Array(parts.reduce<number>((n, p) => n + (p instanceof Uint8Array ? p.length : pieceLength(p)), 0));
  writeParts(out, 0, parts);
  return out;
}

let modelType: protobuf.Type | undefined;

/** Decodes model bytes back to a plain object (tests read what the encoder wrote), with protobufjs. */
export function decodeModelProto(bytes: Uint8Array): Record<string, unknown> {
  modelType ??= protobuf.Root.fromJSON(ONNX_SUBSET).lookupType('onnx.ModelProto');
  return modelType.toObject(modelType.decode(bytes), { longs: Number, bytes: Array }) as Record<string, unknown>;
}
