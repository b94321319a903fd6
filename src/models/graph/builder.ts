/**
 * A small ONNX graph builder: named inputs, float32/int64 initializers, nodes and outputs, encoded to a
 * model onnxruntime loads from bytes. Values are referred to by name (a string), as in ONNX itself; a node
 * gets fresh unique output names unless the caller names them (graph outputs usually are).
 */
import { AttrType, ElemType, encodeModelProto, IR_VERSION, OPSET, type ElemTypeName } from './onnx-schema.js';

/** A dimension: a fixed size, or a symbolic name (e.g. "batch") that is fixed per run. */
export type Dim = number | string;

/** A node attribute, tagged with its ONNX type (a bare number would not say int or float); `graph` is a subgraph (a Loop's body). */
export type Attr = { int: number } | { float: number } | { ints: readonly number[] } | { floats: readonly number[] } | { graph: GraphBuilder };

interface ValueInfo {
  name: string;
  type: { tensor_type: { elem_type: number; shape: { dim: ({ dim_value: number } | { dim_param: string })[] } } };
  doc_string?: string;
}

function valueInfo(name: string, shape: readonly Dim[], type: ElemTypeName, doc?: string): ValueInfo {
  const dim = shape.map((d) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d }));
  const info: ValueInfo = { name, type: { tensor_type: { elem_type: ElemType[type], shape: { dim } } } };
  if (doc !== undefined) info.doc_string = doc;
  return info;
}

/** A tensor's values as an initializer stores them. */
export type InitializerData = Float32Array | Int32Array | BigInt64Array;

const elemTypeOf = (a: InitializerData): number => (a instanceof Float32Array ? ElemType.float : a instanceof Int32Array ? ElemType.int32 : ElemType.int64);

function encodeAttr(name: string, a: Attr): Record<string, unknown> {
  if ('int' in a) return { name, type: AttrType.INT, i: a.int };
  if ('float' in a) return { name, type: AttrType.FLOAT, f: a.float };
  if ('ints' in a) return { name, type: AttrType.INTS, ints: [...a.ints] };
  if ('graph' in a) return { name, type: AttrType.GRAPH, g: a.graph.graphProto() };
  return { name, type: AttrType.FLOATS, floats: [...a.floats] };
}

/**
 * The bytes of `a`, not copied: an exported model's weights can be tens of megabytes, and a copy here
 * would sit beside the encoded model. Callers hand over arrays they no longer change until encode().
 */
const bytesOf = (a: InitializerData): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/**
 * A graph, or with `outer` a subgraph of it (a Loop's body): a subgraph sees the outer graph's values by
 * name, its constants and initializers are stored in the outermost graph, and names are unique across
 * all of them (ONNX forbids a subgraph to shadow an outer name).
 */
export class GraphBuilder {
  private readonly nodes: Record<string, unknown>[] = [];
  private readonly inits: Record<string, unknown>[] = [];
  private readonly inputs: ValueInfo[] = [];
  private readonly outputs: ValueInfo[] = [];
  private readonly metadata: { key: string; value: string }[] = [];
  /** Values defined in this graph (not in an outer one). */
  private readonly names = new Set<string>();
  /** Every name of this graph and its subgraphs: kept by the outermost graph. */
  private readonly taken = new Set<string>();
  /** Constants already added, by type and value, so each is stored once. */
  private readonly constants = new Map<string, string>();
  private counter = 0;

  constructor(
    readonly name: string,
    private readonly outer?: GraphBuilder,
  ) {}

  private get root(): GraphBuilder {
    return this.outer ? this.outer.root : this;
  }

  /** Whether `name` is a value of this graph or of a graph it is nested in. */
  private has(name: string): boolean {
    return this.names.has(name) || (this.outer?.has(name) ?? false);
  }

  /** Reserves `name`, which must be new to the graph and to every graph it is nested in or holds. */
  private claim(name: string): string {
    if (this.root.taken.has(name)) throw new RangeError(`graph ${this.name} already has a value named ${name}`);
    this.root.taken.add(name);
    this.names.add(name);
    return name;
  }

  /** A name starting with `prefix` that no value has yet (claimed when the value is added). */
  private fresh(prefix: string): string {
    const root = this.root;
    let name: string;
    do name = `${prefix}_${root.counter++}`;
    while (root.taken.has(name));
    return name;
  }

  /** Declares a graph input; `doc` is stored as its doc_string (what an exported model's user must feed). */
  input(name: string, shape: readonly Dim[], type: ElemTypeName = 'float', doc?: string): string {
    this.inputs.push(valueInfo(this.claim(name), shape, type, doc));
    return name;
  }

  /** Declares an existing value as a graph output with the given shape. */
  output(name: string, shape: readonly Dim[], type: ElemTypeName = 'float', doc?: string): void {
    if (!this.has(name)) throw new RangeError(`graph ${this.name} has no value named ${name} to output`);
    this.outputs.push(valueInfo(name, shape, type, doc));
  }

  /** A key/value pair of the model's metadata_props (labels and the like, for whoever loads the file alone). */
  meta(key: string, value: string): void {
    if (this.metadata.some((m) => m.key === key)) throw new RangeError(`graph ${this.name} already has metadata ${key}`);
    this.metadata.push({ key, value });
  }

  /** A constant tensor stored in the model (weights of an exported model, or constants of the step). */
  initializer(name: string, data: InitializerData, dims: readonly number[]): string {
    if (this.outer) return this.root.initializer(name, data, dims);
    const count = dims.reduce((a, b) => a * b, 1);
    if (count !== data.length) throw new RangeError(`initializer ${name} has ${data.length} values for shape [${dims.join(', ')}]`);
    this.inits.push({ name: this.claim(name), dims: [...dims], data_type: elemTypeOf(data), raw_data: bytesOf(data) });
    return name;
  }

  /** A float32 scalar constant. */
  scalar(value: number): string {
    return this.constant(`f:${value}`, () => this.initializer(this.fresh('const'), Float32Array.of(value), []));
  }

  /** A 1-D int64 constant (axes, shapes). */
  ints(values: readonly number[]): string {
    return this.constant(`i:${values.join(',')}`, () => this.initializer(this.fresh('ints'), BigInt64Array.from(values, BigInt), [values.length]));
  }

  private constant(key: string, make: () => string): string {
    if (this.outer) return this.root.constant(key, make);
    let name = this.constants.get(key);
    if (name === undefined) this.constants.set(key, (name = make()));
    return name;
  }

  /**
   * Adds a node of `op` (default ONNX domain) and returns its output names: `outputs` when given, else
   * `count` fresh ones. Inputs must already exist ('' marks an omitted optional input).
   */
  nodeN(op: string, inputs: readonly string[], attrs: Record<string, Attr> = {}, outputs: readonly string[] | number = 1): string[] {
    for (const i of inputs) if (i !== '' && !this.has(i)) throw new RangeError(`${op} node in graph ${this.name}: unknown input ${i}`);
    const wanted = typeof outputs === 'number' ? Array.from({ length: outputs }, () => this.fresh(op.toLowerCase())) : outputs;
    const outs = wanted.map((o) => this.claim(o));
    const attribute = Object.entries(attrs).map(([k, v]) => encodeAttr(k, v));
    this.nodes.push({ op_type: op, name: `${op}:${outs[0]}`, input: [...inputs], output: outs, attribute });
    return outs;
  }

  /** Adds a single-output node and returns its output name (`output`, or a fresh one). */
  node(op: string, inputs: readonly string[], attrs: Record<string, Attr> = {}, output?: string): string {
    return this.nodeN(op, inputs, attrs, output === undefined ? 1 : [output])[0];
  }

  /** A subgraph nested in this one, for a node's `graph` attribute. */
  subgraph(name: string): GraphBuilder {
    return new GraphBuilder(name, this);
  }

  /** A subgraph as the GraphProto a node attribute holds (its constants live in the outermost graph). */
  graphProto(): Record<string, unknown> {
    if (!this.outer) throw new RangeError(`graph ${this.name} is not a subgraph`);
    if (this.outputs.length === 0) throw new RangeError(`graph ${this.name} has no outputs`);
    return { name: this.name, node: this.nodes, input: this.inputs, output: this.outputs };
  }

  /** The model as ONNX protobuf bytes, ready for InferenceSession.create. */
  encode(): Uint8Array {
    if (this.outer) throw new RangeError(`graph ${this.name} is a subgraph: encode the outermost graph`);
    if (this.outputs.length === 0) throw new RangeError(`graph ${this.name} has no outputs`);
    return encodeModelProto({
      ir_version: IR_VERSION,
      producer_name: 'trinity',
      opset_import: [{ domain: '', version: OPSET }],
      metadata_props: this.metadata,
      graph: { name: this.name, node: this.nodes, initializer: this.inits, input: this.inputs, output: this.outputs },
    });
  }
}
