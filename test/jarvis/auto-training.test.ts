import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { getJson, postJson, startService, tempHome, waitFor, type ServiceProcess } from '../helpers/processes.js';
import { readSnips } from '../helpers/snips.js';
import { FAST_JARVIS_ENV, FakePrime } from './fakes.js';

interface JobWire {
  job_id: string;
  model_type: string;
  source: string;
  status: string;
  model_version: string | null;
  placement: { target: string; reason: string };
  attempts: { status: string; fencing_token: number }[];
  deployment: { status: string; strategy: string; http_status?: number; deployment_id?: string } | null;
}

describe('Jarvis with a real reactor', () => {
  const procs: ServiceProcess[] = [];
  const fakes: FakePrime[] = [];
  afterAll(async () => {
    for (const p of procs) await p.kill('SIGKILL');
    for (const f of fakes) await f.close();
  });

  it('queues a job within seconds of enough experiences being posted, with the default 300 s TRAINING_CHECK_INTERVAL', async () => {
    const home = tempHome('trinity-jarvis-nudge-');
    const reactor = await startService('reactor', home, { LOG_LEVEL: 'warn' });
    procs.push(reactor);
    // A J-Prime that is always busy keeps the queued job waiting, so this test trains nothing.
    const prime = await new FakePrime().start();
    fakes.push(prime);
    prime.activeRequests = 1;
    const { TRAINING_CHECK_INTERVAL: _interval, EXPERIENCE_FLUSH_INTERVAL: _flush, ...fast } = FAST_JARVIS_ENV;
    const jarvis = await startService('jarvis', home, {
      ...fast,
      REACTOR_CORE_API_URL: reactor.url,
      JARVIS_PRIME_ENABLED: 'true',
      JARVIS_PRIME_URL: prime.url,
      AUTO_TRAINING_ENABLED: 'true',
    });
    procs.push(jarvis);

    // MIN_EXPERIENCES_FOR_TRAINING and EXPERIENCE_BATCH_SIZE at their defaults (100): one full batch.
    const intents = ['PlayMusic', 'GetWeather', 'BookRestaurant', 'AddToPlaylist'];
    const experiences = Array.from({ length: 100 }, (_, i) => ({
      type: 'command',
      input: { text: `request number ${i} for ${intents[i % 4]}` },
      expected_output: { intent: intents[i % 4] },
      success: true,
    }));
    const t0 = Date.now();
    expect((await postJson(`${jarvis.url}/api/experiences`, { experiences })).body).toMatchObject({ accepted: 100 });
    const job = await waitFor(async () => (await getJson<{ jobs: JobWire[] }>(`${jarvis.url}/api/training/jobs`)).body.jobs.find((j) => j.model_type === 'nlu'), 20_000, 'the nudged auto-trigger');
    const seconds = (Date.now() - t0) / 1000;
    expect(job.source).toBe('auto');
    // Debounce 1.5 s plus reactor's ingestion; far below the 300 s interval even on a loaded machine.
    expect(seconds).toBeLessThan(10);
    const stats = await getJson<{ nlu: { new_since_last_training: number } }>(`${reactor.url}/api/experiences/stats`);
    expect(stats.body.nlu.new_since_last_training).toBe(100);
    // It waits for J-Prime, not for an interval.
    const waiting = await waitFor(async () => {
      const { body } = await getJson<{ jobs: { job_id: string; waiting_reason: string | null }[] }>(`${jarvis.url}/api/training/queue`);
      return body.jobs.length === 1 && body.jobs[0]!.waiting_reason ? body.jobs[0]! : null;
    }, 10_000, 'the job to say why it waits');
    expect(waiting).toMatchObject({ job_id: job.job_id, waiting_reason: expect.stringMatching(/J-Prime has 1 active request/) });
  }, 60_000);

  it('turns enough posted nlu experiences, with no other call, into a trained, registered and deploying version', async () => {
    const home = tempHome('trinity-jarvis-auto-');
    const reactor = await startService('reactor', home, { EXPERIENCE_RECONCILE_INTERVAL: '0.3', LOG_LEVEL: 'warn' });
    procs.push(reactor);
    const jarvis = await startService('jarvis', home, {
      ...FAST_JARVIS_ENV,
      REACTOR_CORE_API_URL: reactor.url,
      AUTO_TRAINING_ENABLED: 'true',
      MIN_EXPERIENCES_FOR_TRAINING: '60',
      EXPERIENCE_BATCH_SIZE: '25',
    });
    procs.push(jarvis);

    // Spread over the file, which is sorted by intent, so any prefix the auto-trigger sees has several intents.
    const rows = readSnips('train').filter((_, i) => i % 172 === 0).slice(0, 80);
    const experiences = rows.map((r) => ({ type: 'command', input: { text: r.text }, expected_output: { intent: r.intent }, success: true }));
    // Two posts, as an assistant would send them over time; plus one it cannot place.
    const first = await postJson<{ accepted: number; rejected: unknown[] }>(`${jarvis.url}/api/experiences`, { experiences: experiences.slice(0, 50) });
    expect(first.body).toMatchObject({ accepted: 50, rejected: [] });
    const second = await postJson<{ accepted: number; rejected: { index: number; error: string }[] }>(`${jarvis.url}/api/experiences`, [
      ...experiences.slice(50),
      { type: 'telepathy', input: {} },
    ]);
    expect(second.body.accepted).toBe(30);
    expect(second.body.rejected).toEqual([{ index: 30, error: expect.stringMatching(/maps to no model type/) }]);

    const job = await waitFor(async () => {
      const { body } = await getJson<{ jobs: JobWire[] }>(`${jarvis.url}/api/training/jobs`);
      const j = body.jobs.find((x) => x.model_type === 'nlu');
      return j && (j.status === 'completed' || j.status === 'failed') ? j : null;
    }, 60_000, 'the auto-triggered nlu job to end');
    expect(job).toMatchObject({ source: 'auto', status: 'completed', model_version: 'v1.0.0', placement: { target: 'local' } });
    // A loaded machine can make the first attempt time out towards reactor; the job must still end trained.
    expect(job.attempts.at(-1)).toEqual(expect.objectContaining({ status: 'completed', fencing_token: expect.any(Number) }));

    // Registered at reactor, from exactly the 80 experiences jarvis forwarded.
    const models = await getJson<{ versions: { version: string; job_id: string }[] }>(`${reactor.url}/api/models/nlu`);
    expect(models.body.versions.map((v) => [v.version, v.job_id])).toContainEqual(['v1.0.0', job.job_id]);
    const stats = await getJson<{ nlu: { total: number; new_since_last_training: number } }>(`${reactor.url}/api/experiences/stats`);
    expect(stats.body.nlu.total).toBe(80);

    // The deploy request went out (gradual rollout, AB_TEST_ENABLED defaults on) and reactor took it.
    expect(job.deployment).toMatchObject({ strategy: 'gradual_rollout', http_status: 200, deployment_id: `${job.job_id}-deploy` });
    expect(['deploying', 'completed']).toContain(job.deployment!.status);

    // No second job for the type: the buffer's new count went back to 0 with the training.
    const queue = await getJson<{ length: number }>(`${jarvis.url}/api/training/queue`);
    expect(queue.body.length).toBe(0);

    const health = await getJson<{ status: string; outbox: { pending: number; files_written: number }; breaker: { local: string } }>(`${jarvis.url}/health`);
    expect(health.body).toMatchObject({ status: 'healthy', breaker: { local: 'closed' }, outbox: { pending: 0 } });
    expect(health.body.outbox.files_written).toBeGreaterThanOrEqual(4);
    const state = join(home, 'cross_repo/jarvis_state.json');
    await waitFor(() => existsSync(state), 5_000, 'jarvis_state.json');
    expect(JSON.parse(readFileSync(state, 'utf8'))).toMatchObject({ status: 'healthy', port: jarvis.port, pid: jarvis.proc.pid, queue_length: 0 });
  }, 90_000);
});
