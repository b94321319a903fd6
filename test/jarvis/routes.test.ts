import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/config.js';
import { Jarvis } from '../../src/jarvis/index.js';
import { createLogger } from '../../src/util/logger.js';
import { tempHome, waitFor } from '../helpers/processes.js';
import { FAST_JARVIS_ENV, FakeReactor } from './fakes.js';

describe('Jarvis HTTP API', () => {
  let jarvis: Jarvis;
  // A reactor that never finishes keeps triggered jobs in the queue for the assertions.
  const reactor = new FakeReactor({ jobMs: 60_000 });

  beforeAll(async () => {
    await reactor.start();
    const config = parseConfig({ ...FAST_JARVIS_ENV, JARVIS_HOME: tempHome('trinity-jarvis-routes-'), JARVIS_PORT: '0', REACTOR_CORE_API_URL: reactor.url });
    jarvis = new Jarvis({ config, logger: createLogger({ service: 'jarvis', level: 'silent' }) });
    await jarvis.start();
  });
  afterAll(async () => {
    await jarvis.close();
    await jarvis.close();
    await reactor.close();
  });

  it('answers a trigger with the queued TrainingJob and lists the queue in run order with reasons', async () => {
    const first = await jarvis.app.inject({ method: 'POST', url: '/api/training/trigger', payload: { model_type: 'embedding', epochs: 3 } });
    expect(first.statusCode).toBe(200);
    expect(first.json()).toMatchObject({ model_type: 'embedding', priority: 'LOW', priority_value: 0, epochs: 3, source: 'manual', created: true, job_id: expect.stringMatching(/^embedding-/) });
    // The first starts at once (the fake never ends it); the second waits behind it for the slot.
    await waitFor(() => reactor.starts.length === 1, 5_000, 'the first job to start');
    const second = await jarvis.app.inject({ method: 'POST', url: '/api/training/trigger', payload: { model_type: 'vision', priority: 'HIGH' } });
    expect(second.json()).toMatchObject({ priority: 'HIGH', created: true });

    type Queue = { length: number; running: number; jobs: { model_type: string; status: string; position: number; waiting_reason: string }[] };
    const body = await waitFor(async () => {
      const q = (await jarvis.app.inject({ method: 'GET', url: '/api/training/queue' })).json<Queue>();
      return q.running === 1 && q.length === 1 ? q : null;
    }, 5_000, 'a running and a queued job');
    expect(body).toMatchObject({ length: 1, running: 1 });
    expect(body.jobs.map((j) => [j.model_type, j.status, j.position])).toEqual([
      ['embedding', 'running', 0],
      ['vision', 'queued', 1],
    ]);
    expect(body.jobs[1].waiting_reason).toMatch(/^waiting: training_slot busy \(1\/1\): held by jarvis-.*\/0 \(job embedding-/);

    const one = await jarvis.app.inject({ method: 'GET', url: `/api/training/jobs/${second.json<{ job_id: string }>().job_id}` });
    expect(one.json()).toMatchObject({ model_type: 'vision', position: 1 });
  });

  it('refuses bad triggers and unknown jobs with the catalogue codes', async () => {
    const bad = await jarvis.app.inject({ method: 'POST', url: '/api/training/trigger', payload: { model_type: 'smell' } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ code: 'TRN_ERR_COORDINATOR_UNKNOWN_MODEL_TYPE', error: expect.stringMatching(/unknown model_type "smell"/) });
    const prio = await jarvis.app.inject({ method: 'POST', url: '/api/training/trigger', payload: { model_type: 'nlu', priority: 7 } });
    expect(prio.json()).toMatchObject({ code: 'TRN_ERR_COORDINATOR_INVALID_PRIORITY' });
    // Epochs reactor's start would refuse are refused here, before the job waits in the queue.
    const queued = (await jarvis.app.inject({ method: 'GET', url: '/api/training/jobs' })).json<{ jobs: unknown[] }>().jobs.length;
    const epochs = await jarvis.app.inject({ method: 'POST', url: '/api/training/trigger', payload: { model_type: 'voice', epochs: 10_001 } });
    expect(epochs.statusCode).toBe(400);
    expect(epochs.json()).toMatchObject({
      code: 'TRN_ERR_COORDINATOR_INVALID_REQUEST',
      field: 'epochs',
      allowed: 'an integer 1-10000',
      error: 'epochs must be an integer 1-10000 for model_type voice, got 10001',
    });
    expect((await jarvis.app.inject({ method: 'GET', url: '/api/training/jobs' })).json<{ jobs: unknown[] }>().jobs).toHaveLength(queued);
    const missing = await jarvis.app.inject({ method: 'GET', url: '/api/training/jobs/nope' });
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toMatchObject({ code: 'TRN_ERR_COORDINATOR_JOB_NOT_FOUND' });
    const limit = await jarvis.app.inject({ method: 'GET', url: '/api/training/jobs?limit=0' });
    expect(limit.statusCode).toBe(400);
  });

  it('keeps posted experiences and reports the ones it cannot place', async () => {
    const ok = await jarvis.app.inject({
      method: 'POST',
      url: '/api/experiences',
      payload: { experiences: [{ type: 'command', input: { text: 'hi' }, expected_output: { intent: 'greet' }, success: true }, { input: { text: 'x' } }] },
    });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toMatchObject({ accepted: 1, rejected: [{ index: 1, error: 'neither model_type nor type is given' }] });
    const bad = await jarvis.app.inject({ method: 'POST', url: '/api/experiences', payload: '"text"', headers: { 'content-type': 'application/json' } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ code: 'TRN_ERR_EXPERIENCE_INVALID' });
  });

  it('reports queue, lock holder and breaker state in /health', async () => {
    const health = await jarvis.app.inject({ method: 'GET', url: '/health' });
    expect(health.statusCode).toBe(200);
    expect(health.json()).toMatchObject({
      status: 'healthy',
      service: 'jarvis',
      queue: { length: 1, running: [expect.stringMatching(/^embedding-/)] },
      lock: { name: 'training_slot', capacity: 1, holder: expect.stringMatching(/^jarvis-.*\/0$/) },
      breaker: { local: 'closed' },
      auto_training: { enabled: false },
    });
  });
});
