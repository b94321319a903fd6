import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSse } from '../../src/client/index.js';
import { getJson, postJson, startService, tempHome, waitFor, type ServiceProcess } from '../helpers/processes.js';
import { readSnips, snipsExperiences } from '../helpers/snips.js';

const slice = snipsExperiences(readSnips('train').filter((_, i) => i % 4 === 0));

async function* body(res: Response): AsyncGenerator<Uint8Array> {
  const reader = res.body!.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield value;
    }
  } finally {
    reader.releaseLock();
  }
}

describe('Reactor training streams', () => {
  let reactor: ServiceProcess;
  beforeAll(async () => {
    reactor = await startService('reactor', tempHome());
  });
  afterAll(async () => {
    await reactor?.kill('SIGTERM');
  });

  it('delivers every SSE event exactly once across a dropped connection resumed with Last-Event-ID', async () => {
    const start = await postJson(`${reactor.url}/api/training/start`, { job_id: 'sse', model_type: 'nlu', experiences: slice, epochs: 6, checkpoint_interval: 2 });
    expect(start.status).toBe(200);

    const seen: { id: number; event: string }[] = [];
    const first = new AbortController();
    const res1 = await fetch(`${reactor.url}/api/training/stream/sse`, { headers: { accept: 'text/event-stream' }, signal: first.signal });
    expect(res1.headers.get('content-type')).toContain('text/event-stream');
    try {
      for await (const m of readSse(body(res1))) {
        seen.push({ id: Number(m.id), event: m.event ?? 'message' });
        JSON.parse(m.data);
        if (seen.length === 3) break;
      }
    } finally {
      first.abort();
    }
    const res2 = await fetch(`${reactor.url}/api/training/stream/sse`, {
      headers: { accept: 'text/event-stream', 'last-event-id': String(seen.at(-1)!.id) },
    });
    for await (const m of readSse(body(res2))) seen.push({ id: Number(m.id), event: m.event ?? 'message' });

    const ids = seen.map((s) => s.id);
    expect(ids).toEqual(Array.from({ length: ids.length }, (_, i) => i + 1));
    expect(seen[0].event).toBe('queued');
    expect(seen.filter((s) => s.event === 'status')).toHaveLength(6);
    expect(seen.at(-1)!.event).toBe('completed');

    // ?since= resumes the same way, and a stream resumed after the end closes at once.
    const tail = await fetch(`${reactor.url}/api/training/stream/sse?since=${ids.length - 1}`);
    const lines = (await tail.text()).trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0])).toMatchObject({ event: 'completed', id: ids.length });
  }, 120_000);

  it('answers NDJSON without Accept: text/event-stream, every line JSON, ending with status completed', async () => {
    const res = await fetch(`${reactor.url}/api/training/stream/sse`);
    expect(res.headers.get('content-type')).toContain('application/x-ndjson');
    const lines = (await res.text()).split('\n').filter((l) => l !== '');
    const parsed = lines.map((l) => JSON.parse(l) as { status?: string; event: string });
    expect(parsed.at(-1)).toMatchObject({ status: 'completed', event: 'completed', model_version: expect.stringMatching(/^v1\.0\.\d+$/) });
  });

  it('cancels a running job within 2 s: trainer gone, status cancelled, stream ends with cancelled', async () => {
    await postJson(`${reactor.url}/api/training/start`, { job_id: 'long', model_type: 'nlu', experiences: slice, epochs: 500 });
    await waitFor(async () => (await getJson<{ epoch: number }>(`${reactor.url}/api/training/status/long`)).body.epoch >= 1, 60_000, 'first epoch');
    const { body: res } = await getJson<{ trainer_pids: number[] }>(`${reactor.url}/api/resources`);
    const pid = res.trainer_pids[0];
    const t0 = Date.now();
    const cancel = await postJson(`${reactor.url}/api/training/cancel/long`, {});
    expect(cancel.status).toBe(200);
    expect(cancel.body).toMatchObject({ job_id: 'long', status: 'cancelled' });
    await waitFor(() => {
      try {
        process.kill(pid, 0);
        return false;
      } catch {
        return true;
      }
    }, 5_000, 'trainer exit', 20);
    expect(Date.now() - t0).toBeLessThanOrEqual(2_000);
    expect((await getJson<{ status: string }>(`${reactor.url}/api/training/status/long`)).body.status).toBe('cancelled');
    const lines = (await (await fetch(`${reactor.url}/api/training/stream/long`)).text()).trim().split('\n');
    expect(JSON.parse(lines.at(-1)!)).toMatchObject({ event: 'cancelled', status: 'cancelled' });
    expect((await postJson(`${reactor.url}/api/training/cancel/long`, {})).status).toBe(409);
    // Nothing relaunches a cancelled job.
    await new Promise((r) => setTimeout(r, 1500));
    expect((await getJson<{ trainer_pids: number[] }>(`${reactor.url}/api/resources`)).body.trainer_pids).toEqual([]);
    expect((await getJson<{ status: string }>(`${reactor.url}/api/training/status/long`)).body.status).toBe('cancelled');
  }, 120_000);
});
