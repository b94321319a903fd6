import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import {
  StreamParseError,
  jobEventFromNdjson,
  jobEventFromSse,
  jobEventToNdjson,
  ndjsonLines,
  readSse,
  ReactorBadResponseError,
  type SseMessage,
} from '../../src/client/index.js';

/** The text as bytes, cut every `size` bytes (so multi-byte characters and lines are split too). */
function bytes(text: string, size: number): AsyncIterable<Uint8Array> {
  const all = new TextEncoder().encode(text);
  const parts: Uint8Array[] = [];
  for (let i = 0; i < all.length; i += size) parts.push(all.slice(i, i + size));
  return Readable.from(parts);
}

async function all<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

const SSE = [
  ': connected',
  '',
  'id: 1',
  'event: queued',
  'data: {"job_id":"j","status":"queued"}',
  '',
  ': keep-alive',
  '',
  'id: 2',
  'event: status',
  'data: {"job_id":"j","epoch":1,"total_epochs":3,"loss":0.5,"note":"naïve ✓"}',
  '',
  'retry: 1000',
  'id: 3',
  'event: completed',
  'data: {"job_id":"j","status":"completed","model_version":"v1.0.1","metrics":{"loss":0.1}}',
  '',
  '',
].join('\n');

describe('readSse', () => {
  it.each([1, 3, 7, 4096])('yields the same events whatever the chunk size (%i bytes)', async (size) => {
    const comments: string[] = [];
    const msgs = await all(readSse(bytes(SSE, size), { onComment: (c) => comments.push(c.trim()) }));
    expect(msgs.map((m) => [m.id, m.event])).toEqual([['1', 'queued'], ['2', 'status'], ['3', 'completed']]);
    expect(JSON.parse(msgs[1].data)).toMatchObject({ note: 'naïve ✓' });
    expect(comments).toEqual(['connected', 'keep-alive']);
  });

  it('accepts CRLF line endings and joins multi-line data with \\n', async () => {
    const msgs = await all(readSse(bytes('id: 9\r\nevent: x\r\ndata: a\r\ndata: b\r\n\r\n', 2)));
    expect(msgs).toEqual([{ id: '9', event: 'x', data: 'a\nb' }]);
  });

  it('drops an event cut off by the end of the stream', async () => {
    const msgs = await all(readSse(bytes('id: 1\nevent: status\ndata: {}\n\nid: 2\nevent: status\ndata: {"job_', 5)));
    expect(msgs.map((m) => m.id)).toEqual(['1']);
  });

  it('rejects an event larger than maxBufferChars with StreamParseError', async () => {
    const big = `data: ${'x'.repeat(5000)}\n\n`;
    await expect(all(readSse(bytes(big, 1000), { maxBufferChars: 1024 }))).rejects.toBeInstanceOf(StreamParseError);
  });
});

describe('ndjsonLines', () => {
  it('yields each line parsed, skipping blank lines and accepting CRLF and a last line without newline', async () => {
    const text = '{"event":"queued","id":1}\r\n\n  \n{"event":"status","id":2,"note":"é"}\n{"event":"completed","id":3}';
    for (const size of [1, 4, 100]) {
      expect(await all(ndjsonLines(bytes(text, size)))).toEqual([
        { event: 'queued', id: 1 },
        { event: 'status', id: 2, note: 'é' },
        { event: 'completed', id: 3 },
      ]);
    }
  });

  it('names the line that is not JSON', async () => {
    const err = await all(ndjsonLines(bytes('{"a":1}\n{oops\n', 3))).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StreamParseError);
    expect((err as Error).message).toContain('line 2 is not JSON');
  });

  it('rejects a line longer than maxLineChars', async () => {
    await expect(all(ndjsonLines(bytes('x'.repeat(100), 10), { maxLineChars: 50 }))).rejects.toThrow(/longer than 50/);
  });
});

describe('job events', () => {
  const msg = (event: string | undefined, data: string, id = '4'): SseMessage => ({ id, event, data });

  it('types an SSE message by its event name and parses the id as a sequence number', () => {
    const e = jobEventFromSse(msg('checkpoint', '{"job_id":"j","epoch":2,"checkpoint_path":"/c"}'));
    expect(e).toEqual({ id: 4, event: 'checkpoint', data: { job_id: 'j', epoch: 2, checkpoint_path: '/c' } });
  });

  it('ignores event names it does not know, so newer reactors can add some', () => {
    expect(jobEventFromSse(msg('progress_v2', '{}'))).toBeUndefined();
    expect(jobEventFromSse(msg(undefined, '{}'))).toBeUndefined();
  });

  it('rejects data that is not JSON or not the event shape with ReactorBadResponseError', () => {
    expect(() => jobEventFromSse(msg('status', '{bad'))).toThrow(ReactorBadResponseError);
    expect(() => jobEventFromSse(msg('status', '{"epoch":"three"}'))).toThrow(/epoch/);
  });

  it('reads an NDJSON line (data plus event and id) and writes the same form back', () => {
    const line = { event: 'completed', id: 7, job_id: 'j', status: 'completed', model_version: 'v1.2.4', metrics: { loss: 0.1 } };
    const e = jobEventFromNdjson(line)!;
    expect(e).toEqual({ id: 7, event: 'completed', data: { job_id: 'j', status: 'completed', model_version: 'v1.2.4', metrics: { loss: 0.1 } } });
    expect(jobEventToNdjson(e)).toEqual(line);
  });
});
