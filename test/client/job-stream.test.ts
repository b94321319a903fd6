import { afterEach, describe, expect, it } from 'vitest';
import { ReactorClient, ReactorHttpError, type JobEvent } from '../../src/client/index.js';
import { FakeReactor, type StreamBehaviour } from './fake-reactor.js';

let fake: FakeReactor | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

/** Fast retry settings so failure paths run in milliseconds. */
const quick = { reconnectDelayMs: 10, maxReconnectDelayMs: 20, pollIntervalMs: 10 };

async function setup(stream: StreamBehaviour, epochs = 6, terminal: 'completed' | 'failed' | 'cancelled' = 'completed') {
  fake = await new FakeReactor({ stream }).start();
  const job = fake.addJob('job-1', epochs, terminal);
  return { fake, job, client: new ReactorClient({ baseUrl: fake.url }) };
}

async function collect(client: ReactorClient, opts: Parameters<ReactorClient['streamJob']>[1] = {}) {
  const events: JobEvent[] = [];
  const end = await client.streamJob('job-1', { ...quick, ...opts, onEvent: (e) => void events.push(e) });
  return { events, end };
}

describe('ReactorClient.streamJob', () => {
  it('delivers every event in order over SSE and stops after the terminal event', async () => {
    const { client, job, fake } = await setup({});
    const { events, end } = await collect(client);
    expect(events.map((e) => e.id)).toEqual(job.events.map((e) => e.id));
    expect(events.map((e) => e.event)).toEqual(job.events.map((e) => e.event));
    expect(end).toMatchObject({ reason: 'terminal', terminal: { event: 'completed', data: { model_version: 'v1.0.1' } }, lastEventId: String(job.events.length) });
    expect(fake.requests.filter((r) => r.path.startsWith('/api/training/stream')).map((r) => r.headers.accept)).toEqual(['text/event-stream']);
  });

  it('reconnects with Last-Event-ID after the server drops mid-event and delivers every event exactly once', async () => {
    const { client, job, fake } = await setup({ dropAfter: [2, 3, 0, 1], cutEventOnDrop: true });
    const reconnects: number[] = [];
    const { events, end } = await collect(client, { onReconnect: (i) => reconnects.push(i.attempt) });
    expect(events.map((e) => e.id)).toEqual(job.events.map((e) => e.id));
    expect(end.reason).toBe('terminal');
    // The third connection sends nothing before dropping: the only failure that counts as a second in a row.
    expect(reconnects).toEqual([1, 1, 2, 1]);
    expect(fake.streamResumes).toEqual([undefined, '2', '5', '5', '6']);
    expect(fake.requests.filter((r) => r.path.startsWith('/api/training/stream')).slice(1).map((r) => r.headers['last-event-id'])).toEqual(['2', '5', '5', '6']);
  });

  it('skips an event the server sends again after a reconnect', async () => {
    const { client, job } = await setup({ dropAfter: [3], replayLast: true });
    const { events } = await collect(client);
    expect(events.map((e) => e.id)).toEqual(job.events.map((e) => e.id));
  });

  it('resumes after lastEventId when asked', async () => {
    const { client, job } = await setup({});
    const { events } = await collect(client, { lastEventId: '4' });
    expect(events.map((e) => e.id)).toEqual(job.events.filter((e) => e.id > 4).map((e) => e.id));
  });

  it('ends on a failed terminal event with its error', async () => {
    const { client } = await setup({}, 6, 'failed');
    const { events, end } = await collect(client);
    expect(events.at(-1)!.event).toBe('failed');
    expect(end).toMatchObject({ reason: 'terminal', terminal: { event: 'failed', data: { error: 'trainer process exited (out of memory)' } } });
  });

  it('treats a stalled connection as dropped after idleTimeoutMs and resumes', async () => {
    const { client, job } = await setup({ stallAfter: [3] });
    const { events } = await collect(client, { idleTimeoutMs: 150 });
    expect(events.map((e) => e.id)).toEqual(job.events.map((e) => e.id));
  });

  it('falls back to polling status after maxReconnects failed connections and still ends', async () => {
    const { client, fake } = await setup({ failFirst: 100 }, 4);
    let fallbacks = 0;
    const { events, end } = await collect(client, { maxReconnects: 2, onFallback: () => fallbacks++ });
    expect(fallbacks).toBe(1);
    expect(fake.streamResumes).toHaveLength(3);
    expect(end).toMatchObject({ reason: 'terminal', lastEventId: undefined, terminal: { event: 'completed', data: { model_version: 'v1.0.1' } } });
    expect(events.every((e) => e.id === undefined)).toBe(true);
    const epochs = events.filter((e) => e.event === 'status').map((e) => (e.event === 'status' ? e.data.epoch : 0));
    expect(epochs).toEqual([1, 2, 3, 4]);
    expect(events.filter((e) => e.event === 'checkpoint')).toHaveLength(2);
  });

  it('polls at once when the stream route does not exist', async () => {
    const { client, fake } = await setup({ alwaysStatus: 404 }, 2);
    const { end } = await collect(client);
    expect(end.reason).toBe('terminal');
    expect(fake.streamResumes).toHaveLength(1);
  });

  it('does not repeat, while polling, the epochs the stream already delivered', async () => {
    // The stream delivers ids 1-4 (queued, epoch 1, epoch 2, checkpoint 2) and drops; with no reconnects
    // allowed the rest comes from status polls, which start again from the job's first snapshot.
    const { client } = await setup({ dropAfter: [4] }, 4);
    const { events, end } = await collect(client, { maxReconnects: 0 });
    expect(events.slice(0, 4).map((e) => e.id)).toEqual([1, 2, 3, 4]);
    const statusEpochs = events.filter((e) => e.event === 'status').map((e) => (e.event === 'status' ? e.data.epoch : 0));
    expect(statusEpochs).toEqual([1, 2, 3, 4]);
    expect(events.filter((e) => e.event === 'checkpoint').map((e) => (e.event === 'checkpoint' ? e.data.epoch : 0))).toEqual([2, 4]);
    expect(events.filter((e) => e.event === 'queued')).toHaveLength(1);
    expect(end.reason).toBe('terminal');
  });

  it('throws ReactorHttpError 404 for an unknown job instead of retrying', async () => {
    fake = await new FakeReactor().start();
    const client = new ReactorClient({ baseUrl: fake.url });
    const err = await client.streamJob('ghost', quick).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ReactorHttpError);
    expect(err).toMatchObject({ status: 404, code: 'TRN_ERR_TRAINING_JOB_NOT_FOUND' });
    expect(fake.streamResumes).toHaveLength(1);
  });

  it('resolves with reason aborted when the signal aborts mid-stream', async () => {
    const { client } = await setup({ eventDelayMs: 50 }, 20);
    const ac = new AbortController();
    const events: JobEvent[] = [];
    const end = await client.streamJob('job-1', {
      ...quick,
      signal: ac.signal,
      onEvent: (e) => {
        events.push(e);
        if (events.length === 3) ac.abort();
      },
    });
    expect(end).toEqual({ reason: 'aborted', lastEventId: '3' });
    expect(events).toHaveLength(3);
  });

  it('reads the NDJSON framing with jobEventsNdjson', async () => {
    const { client, job, fake } = await setup({});
    const events: JobEvent[] = [];
    for await (const e of client.jobEventsNdjson('job-1', { since: 2 })) events.push(e);
    expect(events.map((e) => e.id)).toEqual(job.events.filter((e) => e.id > 2).map((e) => e.id));
    expect(events.at(-1)).toMatchObject({ event: 'completed', data: { job_id: 'job-1', model_version: 'v1.0.1' } });
    expect(fake.requests.at(-1)!.headers.accept).toBe('application/x-ndjson');
  });
});

describe('ReactorClient.streamJob with a throwing onEvent', () => {
  it('rejects with the callback error and closes the connection', async () => {
    const { client, fake } = await setup({ eventDelayMs: 20 }, 50);
    const err = await client
      .streamJob('job-1', {
        onEvent: (e) => {
          if (e.id === 2) throw new Error('consumer broke');
        },
      })
      .catch((x: unknown) => x);
    expect((err as Error).message).toBe('consumer broke');
    expect(fake.streamResumes).toHaveLength(1);
  });
});
