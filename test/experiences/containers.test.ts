import { describe, expect, it } from 'vitest';
import { containerFromJson, containerFromText, isShapeError, type Container, type ShapeError } from '../../src/experiences/index.js';
import { nlu } from './helpers.js';

function ok(c: Container | ShapeError): Container {
  if (isShapeError(c)) throw new Error(`${c.error}: ${c.details}`);
  return c;
}

function bad(c: Container | ShapeError): ShapeError {
  if (!isShapeError(c)) throw new Error(`expected a shape error, got a ${c.form}`);
  return c;
}

describe('containerFromText', () => {
  it('reads a spec batch and keeps its model_type as the default', () => {
    const c = ok(containerFromText('x.json', JSON.stringify({ batch_id: 'b', model_type: 'nlu', experiences: [nlu('a', 'A'), nlu('b', 'B')], created_at: 1 })));
    expect(c.form).toBe('batch');
    expect(c.items).toHaveLength(2);
    expect(c.defaultModelType).toBe('nlu');
  });

  it('reads the JARVIS forwarder envelope', () => {
    const c = ok(containerFromText('5_1_e.json', JSON.stringify({ event_type: 'learning_signal', event_id: 'e', payload: { experiences: [nlu('a', 'A')] } })));
    expect(c.form).toBe('envelope');
    expect(c.items).toHaveLength(1);
    expect(bad(containerFromText('y.json', JSON.stringify({ event_type: 'heartbeat', payload: {} }))).details).toBe(
      'event_type "heartbeat" is not "learning_signal"',
    );
  });

  it('reads one experience object whatever the file name', () => {
    expect(ok(containerFromText('whatever.txt', JSON.stringify(nlu('a', 'A')))).form).toBe('single');
  });

  it('reads JSON lines by extension or by content, refusing only the lines that are not JSON', () => {
    const text = `${JSON.stringify(nlu('a', 'A'))}\n\n{broken\n${JSON.stringify(nlu('b', 'B'))}\n`;
    for (const name of ['x.jsonl', 'x.ndjson', 'x.json']) {
      const c = ok(containerFromText(name, text));
      expect(c.form).toBe('lines');
      expect(c.items).toHaveLength(2);
      expect(c.positions).toEqual([0, 3]);
      expect(c.itemErrors).toEqual([{ index: 2, error: expect.stringContaining('line 3 is not JSON') }]);
      expect(c.subset(new Set([2]))).toBe('{broken\n');
      expect(c.cutTail).toBe(false);
    }
    expect(ok(containerFromText('x.jsonl', `${JSON.stringify(nlu('a', 'A'))}\n{"type":"comm`)).cutTail).toBe(true);
  });

  it('names why a file is unusable: empty, not JSON, no experiences, wrong shape', () => {
    expect(bad(containerFromText('e.json', '  \n')).error).toBe('empty file');
    expect(bad(containerFromText('t.json', '{"type": "command", "inp')).error).toBe('not JSON');
    expect(bad(containerFromText('t.json', '{"type": "command", "inp')).maybeIncomplete).toBe(true);
    expect(bad(containerFromText('n.json', JSON.stringify({ batch_id: 'b', experiences: [] }))).error).toBe('no experiences');
    expect(bad(containerFromText('w.json', JSON.stringify({ hello: 'world' }))).error).toBe('wrong shape');
    expect(bad(containerFromText('w.json', JSON.stringify({ experiences: 'nope' }))).details).toBe('experiences must be an array, got "nope"');
    expect(bad(containerFromText('w.json', '42')).error).toBe('wrong shape');
  });

  it('writes back a copy holding only the chosen items, in the same form', () => {
    const batch = { batch_id: 'b', model_type: 'nlu', experiences: [nlu('a', 'A'), 5, nlu('c', 'C')], created_at: 1 };
    const c = ok(containerFromJson(batch));
    expect(JSON.parse(c.subset(new Set([1])))).toEqual({ ...batch, experiences: [5] });
  });
});
