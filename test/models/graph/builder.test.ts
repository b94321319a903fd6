import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../../src/models/graph/builder.js';
import { add } from '../../../src/models/graph/ops.js';
import { runGraph } from './reference.js';

describe('GraphBuilder', () => {
  it('builds a model onnxruntime runs, with constants stored once', async () => {
    const g = new GraphBuilder('t');
    const x = g.input('x', ['n', 2]);
    add(g, add(g, x, g.scalar(1.5)), g.scalar(1.5), 'y');
    g.output('y', ['n', 2]);
    const out = await runGraph(g.encode(), { x: [Float32Array.of(1, 2, 3, 4), [2, 2]] });
    expect([...out.y]).toEqual([4, 5, 6, 7]);
  });

  it('refuses a repeated name, an unknown input, an unknown output and a graph with no outputs', () => {
    const g = new GraphBuilder('t');
    const x = g.input('x', [2]);
    expect(() => g.input('x', [2])).toThrow(/already has a value named x/);
    expect(() => add(g, x, 'nope')).toThrow(/unknown input nope/);
    expect(() => g.output('nope', [2])).toThrow(/no value named nope/);
    expect(() => g.encode()).toThrow(/no outputs/);
    expect(() => g.initializer('w', new Float32Array(3), [2, 2])).toThrow(/3 values for shape \[2, 2\]/);
  });
});
