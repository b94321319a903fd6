import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../../src/models/graph/builder.js';
import { decodeModelProto } from '../../../src/models/graph/onnx-schema.js';
import * as ops from '../../../src/models/graph/ops.js';
import { runGraph } from './reference.js';

describe('GraphBuilder', () => {
  it('builds a model onnxruntime runs, with constants stored once', async () => {
    const g = new GraphBuilder('t');
    const x = g.input('x', ['n', 2]);
    ops.add(g, ops.add(g, x, g.scalar(1.5)), g.scalar(1.5), 'y');
    g.output('y', ['n', 2]);
    const out = await runGraph(g.encode(), { x: [Float32Array.of(1, 2, 3, 4), [2, 2]] });
    expect([...out.y]).toEqual([4, 5, 6, 7]);
  });

  it('stores int32 initializers, input and output doc strings and metadata for an exported model', async () => {
    const g = new GraphBuilder('t');
    const i = g.input('i', [3], 'int64', 'indices into the table');
    g.node('Gather', [g.initializer('table', Int32Array.of(7, -8, 9), [3]), i], { axis: { int: 0 } }, 'y');
    g.output('y', [3], 'int32', 'the gathered values');
    g.meta('labels', '["a","b"]');
    expect(() => g.meta('labels', '[]')).toThrow(/already has metadata labels/);
    const bytes = g.encode();
    const session = await ort.InferenceSession.create(bytes);
    const out = await session.run({ i: new ort.Tensor('int64', BigInt64Array.of(2n, 0n, 1n), [3]) });
    expect([...(out.y.data as Int32Array)]).toEqual([9, 7, -8]);
    const model = decodeModelProto(bytes) as { metadata_props: unknown[]; graph: { input: { doc_string: string }[]; output: { doc_string: string }[]; initializer: { name: string; dims: number[]; data_type: number; raw_data: number[] }[] } };
    expect(model.metadata_props).toEqual([{ key: 'labels', value: '["a","b"]' }]);
    expect(model.graph.input[0].doc_string).toBe('indices into the table');
    expect(model.graph.output[0].doc_string).toBe('the gathered values');
    expect(model.graph.initializer).toEqual([{ name: 'table', dims: [3], data_type: 6, raw_data: [...new Uint8Array(Int32Array.of(7, -8, 9).buffer)] }]);
  });

  it('refuses a repeated name, an unknown input, an unknown output and a graph with no outputs', () => {
    const g = new GraphBuilder('t');
    const x = g.input('x', [2]);
    expect(() => g.input('x', [2])).toThrow(/already has a value named x/);
    expect(() => ops.add(g, x, 'nope')).toThrow(/unknown input nope/);
    expect(() => g.output('nope', [2])).toThrow(/no value named nope/);
    expect(() => g.encode()).toThrow(/no outputs/);
    expect(() => g.initializer('w', new Float32Array(3), [2, 2])).toThrow(/3 values for shape \[2, 2\]/);
  });
});

describe('encodeModelProto', () => {
  it('writes what protobufjs reads back: negative and large ints, floats, strings beyond ASCII, dims, subgraphs, metadata', () => {
    const g = new GraphBuilder('enc');
    g.input('x', ['batch', 3], 'float', 'rows — «unicode» ok');
    g.node('Transpose', ['x'], { perm: { ints: [1, 0] } }, 't');
    g.node('Concat', ['x', 'x'], { axis: { int: -1 } }, 'c');
    g.node('LeakyRelu', ['x'], { alpha: { float: 0.015625 } }, 'l');
    g.node('Constant', [], { value_floats: { floats: [1.5, -2.25] } }, 'k');
    g.node('Constant', [], { value_ints: { ints: [2 ** 40, -(2 ** 40), 0] } }, 'big');
    const body = g.subgraph('body');
    body.input('i', [], 'int64');
    body.node('Identity', ['x'], {}, 'inner');
    body.output('inner', ['batch', 3]);
    g.node('If', [g.initializer('flag', Int32Array.of(1), [])], { then_branch: { graph: body } }, 'branch');
    for (const [name, shape] of [['t', [3, 'batch']], ['c', ['batch', 6]], ['l', ['batch', 3]], ['k', [2]], ['big', [3]]] as const) g.output(name, shape);
    g.meta('labels', '["é","ß"]');
    const model = decodeModelProto(g.encode()) as {
      ir_version: number;
      opset_import: { version: number }[];
      metadata_props: unknown[];
      graph: { node: { op_type: string; input: string[]; output: string[]; attribute: { name: string; i?: number; f?: number; ints?: number[]; floats?: number[]; g?: { name: string; node: { op_type: string }[]; output: { name: string }[] } }[] }[]; input: { doc_string: string; type: { tensor_type: { shape: { dim: { dim_param?: string; dim_value?: number }[] } } } }[]; output: unknown[] };
    };
    expect(model.ir_version).toBe(8);
    expect(model.opset_import[0].version).toBe(17);
    expect(model.metadata_props).toEqual([{ key: 'labels', value: '["é","ß"]' }]);
    const attr = (op: string) => model.graph.node.find((n) => n.op_type === op)!.attribute[0];
    expect(attr('Transpose').ints).toEqual([1, 0]);
    expect(attr('Concat').i).toBe(-1);
    expect(attr('LeakyRelu').f).toBe(0.015625);
    expect(model.graph.node.filter((n) => n.op_type === 'Constant').map((n) => n.attribute[0].floats ?? n.attribute[0].ints)).toEqual([[1.5, -2.25], [2 ** 40, -(2 ** 40), 0]]);
    const sub = attr('If').g!;
    expect(sub.name).toBe('body');
    expect(sub.node.map((n) => n.op_type)).toEqual(['Identity']);
    expect(sub.output.map((o) => o.name)).toEqual(['inner']);
    expect(model.graph.input[0].doc_string).toBe('rows — «unicode» ok');
    expect(model.graph.input[0].type.tensor_type.shape.dim).toEqual([{ dim_param: 'batch' }, { dim_value: 3 }]);
    expect(model.graph.output).toHaveLength(5);
  });
});

describe('GraphBuilder subgraphs', () => {
  it('builds a Loop whose body reads outer values and constants, carries state and stacks a per-iteration output', async () => {
    const g = new GraphBuilder('loop');
    const rows = g.input('rows', ['k', 2]);
    const start = g.input('start', [2]);
    const count = g.node('Squeeze', [g.node('Shape', [rows], { start: { int: 0 }, end: { int: 1 } }), g.ints([0])]);
    const body = g.subgraph('body');
    const i = body.input('i', [], 'int64');
    const cond = body.input('cond', [], 'bool');
    const acc = body.input('acc', [2]);
    // acc ← 2·acc + rows[i]; each iteration's acc is also stacked.
    ops.add(body, ops.mul(body, acc, body.scalar(2)), body.node('Gather', [rows, i], { axis: { int: 0 } }), 'acc_out');
    ops.identity(body, 'acc_out', 'acc_seen');
    ops.identity(body, cond, 'cond_out');
    body.output('cond_out', [], 'bool');
    body.output('acc_out', [2]);
    body.output('acc_seen', [2]);
    expect(() => body.input('rows', [2])).toThrow(/already has a value named rows/);
    expect(() => body.encode()).toThrow(/is a subgraph/);
    g.nodeN('Loop', [count, '', start], { body: { graph: body } }, ['final', 'seen']);
    g.output('final', [2]);
    g.output('seen', ['k', 2]);
    const out = await runGraph(g.encode(), { rows: [Float32Array.of(1, 2, 3, 4, 5, 6), [3, 2]], start: [Float32Array.of(0, 1), [2]] });
    // [0,1] → [1,4] → [5,12] → [15,30]
    expect([...out.seen]).toEqual([1, 4, 5, 12, 15, 30]);
    expect([...out.final]).toEqual([15, 30]);
  });
});

describe('ops', () => {
  it('MatMul, Transpose, ReduceMean, Exp, Sqrt, Softmax and Gemm with transposes compute what numpy would', async () => {
    const g = new GraphBuilder('ops');
    const a = g.input('a', [2, 3]);
    const b = g.input('b', [3, 2]);
    const outs: [string, number[]][] = [
      [ops.matMul(g, a, b, 'ab'), [2, 2]],
      [ops.transpose(g, a), [3, 2]],
      [ops.reduceMean(g, a, [1], false, 'mean'), [2]],
      [ops.sqrt(g, ops.exp(g, a)), [2, 3]],
      [ops.softmax(g, a, -1, 'sm'), [2, 3]],
      [ops.gemm(g, b, a, { transA: true, transB: true, alpha: 2 }), [2, 2]],
    ];
    outs.forEach(([name, shape]) => g.output(name, shape));
    const A = Float32Array.of(1, 2, 3, 4, 5, 6);
    const B = Float32Array.of(1, 0, 0, 1, 1, 1);
    const out = await runGraph(g.encode(), { a: [A, [2, 3]], b: [B, [3, 2]] });
    const [ab, at, mean, sq, sm, gm] = outs.map(([name]) => [...out[name]]);
    expect(ab).toEqual([4, 5, 10, 11]);
    expect(at).toEqual([1, 4, 2, 5, 3, 6]);
    expect(mean).toEqual([2, 5]);
    sq.forEach((v, i) => expect(v).toBeCloseTo(Math.exp(A[i] / 2), 3));
    const z = Math.exp(1) + Math.exp(2) + Math.exp(3);
    expect(sm[0]).toBeCloseTo(Math.exp(1) / z, 6);
    // 2·(Bᵀ·Aᵀ) = 2·(A·B)ᵀ
    expect(gm).toEqual([8, 20, 10, 22]);
  });
});
