import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { getJson, postJson, startService, tempHome, waitFor, type ServiceProcess } from '../helpers/processes.js';
import { readSnips } from '../helpers/snips.js';
import { FAST_JARVIS_ENV } from './fakes.js';

interface QueueJob {
  job_id: string;
  model_type: string;
  status: string;
  waiting_reason: string | null;
}

interface JobWire {
  job_id: string;
  model_type: string;
  status: string;
  started_at: string;
  model_version: string | null;
}

/** Three speakers, each a cluster of 16-number embeddings: enough for the voice trainer to separate. */
function voiceExperiences(perUser: number): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (let u = 0; u < 3; u++) {
    for (let i = 0; i < perUser; i++) {
      const embedding = Array.from({ length: 16 }, (_, k) => (k % 3 === u ? 2 : 0) + Math.sin(i * 7.1 + k * 3.3) * 0.3);
      out.push({ id: `voice-${u}-${i}`, type: 'voice_auth', input: { audio_embedding: embedding }, expected_output: { user: `user${u}` }, success: true });
    }
  }
  return out;
}

describe('Jarvis while reactor is down', () => {
  const procs: ServiceProcess[] = [];
  afterAll(async () => {
    for (const p of procs) await p.kill('SIGKILL');
  });

  it('queues triggers and keeps experiences, opens the breaker (shown in /health), and drains the queue once reactor is back', async () => {
    const home = tempHome('trinity-jarvis-outage-');
    let reactor = await startService('reactor', home, { LOG_LEVEL: 'warn', EXPERIENCE_RECONCILE_INTERVAL: '0.3' });
    procs.push(reactor);
    const port = reactor.port;
    await reactor.kill('SIGTERM');

    const jarvis = await startService('jarvis', home, { ...FAST_JARVIS_ENV, REACTOR_CORE_API_URL: `http://127.0.0.1:${port}` });
    procs.push(jarvis);
    const nlu = readSnips('train')
      .filter((_, i) => i % 30 === 0)
      .map((r, i) => ({ id: `nlu-${i}`, type: 'command', input: { text: r.text }, expected_output: { intent: r.intent }, success: true }));
    const voice = voiceExperiences(20);
    expect((await postJson<{ accepted: number }>(`${jarvis.url}/api/experiences`, { experiences: nlu })).body.accepted).toBe(nlu.length);
    expect((await postJson<{ accepted: number }>(`${jarvis.url}/api/experiences`, voice)).body.accepted).toBe(voice.length);
    for (const type of ['nlu', 'voice']) expect((await postJson(`${jarvis.url}/api/training/trigger`, { model_type: type, epochs: 3 })).status).toBe(200);

    // Experience files wait in the folder for reactor; the breaker opens and /health says so.
    const events = join(home, 'trinity/events');
    await waitFor(() => readdirSync(events).filter((f) => /^experiences_(nlu|voice)_\d+\.json$/.test(f)).length >= 2, 5_000, 'experience files');
    const health = await waitFor(async () => {
      const { status, body } = await getJson<{ status: string; breaker: { local: string }; queue: { length: number }; problems?: string[] }>(`${jarvis.url}/health`);
      return status === 200 && body.breaker.local === 'open' ? body : null;
    }, 15_000, 'breaker open');
    expect(health.status).toBe('degraded');
    expect(health.queue.length).toBe(2);
    expect(health.problems?.join('\n')).toMatch(/circuit breaker to local Reactor-Core .* is open: .*ECONNREFUSED/);
    const queue = await getJson<{ jobs: QueueJob[] }>(`${jarvis.url}/api/training/queue`);
    expect(queue.body.jobs.map((j) => [j.model_type, j.status])).toEqual([
      ['voice', 'queued'],
      ['nlu', 'queued'],
    ]);
    for (const j of queue.body.jobs) expect(j.waiting_reason).toMatch(/Reactor-Core at http:\/\/127\.0\.0\.1:\d+ is unavailable/);

    reactor = await startService('reactor', home, { LOG_LEVEL: 'warn', EXPERIENCE_RECONCILE_INTERVAL: '0.3', PORT: String(port) });
    procs.push(reactor);
    const jobs = await waitFor(async () => {
      const { body } = await getJson<{ jobs: JobWire[] }>(`${jarvis.url}/api/training/jobs`);
      return body.jobs.length === 2 && body.jobs.every((j) => j.status === 'completed' || j.status === 'failed') ? body.jobs : null;
    }, 60_000, 'queue drained');
    expect(jobs.map((j) => j.status)).toEqual(['completed', 'completed']);
    const [voiceJob, nluJob] = ['voice', 'nlu'].map((t) => jobs.find((j) => j.model_type === t)!);
    expect(Date.parse(voiceJob.started_at)).toBeLessThan(Date.parse(nluJob.started_at));

    // Nothing was lost on the way: every experience posted while reactor was down is in its buffer.
    const stats = await getJson<{ nlu: { total: number }; voice: { total: number } }>(`${reactor.url}/api/experiences/stats`);
    expect(stats.body.nlu.total).toBe(nlu.length);
    expect(stats.body.voice.total).toBe(voice.length);
    const after = await waitFor(async () => {
      const { body } = await getJson<{ status: string; breaker: { local: string } }>(`${jarvis.url}/health`);
      return body.breaker.local === 'closed' ? body : null;
    }, 5_000, 'breaker closed');
    expect(after.status).toBe('healthy');
  }, 90_000);
});
