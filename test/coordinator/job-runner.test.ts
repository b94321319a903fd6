import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/processes.js';
import { FakeReactor } from '../jarvis/fakes.js';
import { startCoordinator, type Harness } from './harness.js';

describe('JobRunner', () => {
  const open: Array<Harness | FakeReactor> = [];
  afterEach(async () => {
    for (const x of open.splice(0).reverse()) await x.close();
  });
  const fake = async (o: ConstructorParameters<typeof FakeReactor>[0] = {}) => {
    const f = await new FakeReactor({ jobMs: 50, ...o }).start();
    open.push(f);
    return f;
  };
  const coordinator = (env: Record<string, string>, o?: Parameters<typeof startCoordinator>[1]) => {
    const h = startCoordinator(env, o);
    open.push(h);
    return h;
  };

  it('retries a failed training once under a new reactor job id and keeps the first error', async () => {
    const reactor = await fake({ fails: (id) => !id.endsWith('-retry1') });
    const { parts, finished } = coordinator({ REACTOR_CORE_API_URL: reactor.url });
    const { job } = await parts.queue.enqueue({ modelType: 'nlu', priority: 2, epochs: 4, source: 'manual' });
    const end = await finished(job.jobId);
    expect(end).toMatchObject({ status: 'completed', reactorJobId: `${job.jobId}-retry1`, error: 'trainer process exited (out of memory)', modelVersion: 'v1.0.1' });
    expect(end.details.attempts!.map((a) => [a.reactor_job_id, a.status])).toEqual([
      [job.jobId, 'failed'],
      [`${job.jobId}-retry1`, 'completed'],
    ]);
    expect(end.details.attempts![1].note).toMatch(/new reactor job id/);
    expect(reactor.starts.map((s) => s.job_id)).toEqual([job.jobId, `${job.jobId}-retry1`]);
    expect(reactor.starts[1].fencing_token).toBe(reactor.starts[0].fencing_token);
  });

  it('fails after the one retry, and does not retry when AUTO_RESUME_FAILED_TRAINING is off', async () => {
    const reactor = await fake({ fails: () => true });
    const a = coordinator({ REACTOR_CORE_API_URL: reactor.url });
    const one = (await a.parts.queue.enqueue({ modelType: 'nlu', priority: 2, epochs: null, source: 'manual' })).job;
    expect(await a.finished(one.jobId)).toMatchObject({ status: 'failed', error: 'trainer process exited (out of memory)' });
    expect((await a.parts.store.get(one.jobId))!.details.attempts).toHaveLength(2);

    const b = coordinator({ REACTOR_CORE_API_URL: reactor.url, AUTO_RESUME_FAILED_TRAINING: 'false' });
    const two = (await b.parts.queue.enqueue({ modelType: 'voice', priority: 3, epochs: null, source: 'manual' })).job;
    expect((await b.finished(two.jobId)).details.attempts).toHaveLength(1);
  });

  it('records a deploy answered 404 (no such route) or 409 on the completed job', async () => {
    for (const [status, recorded] of [
      [404, 'not_available'],
      [409, 'refused'],
    ] as const) {
      const reactor = await fake({ deployStatus: status });
      const { parts, finished } = coordinator({ REACTOR_CORE_API_URL: reactor.url, AB_TEST_ENABLED: 'false' });
      const { job } = await parts.queue.enqueue({ modelType: 'vision', priority: 1, epochs: null, source: 'manual' });
      const end = await finished(job.jobId);
      expect(end.status).toBe('completed');
      expect(end.details.deployment).toMatchObject({ status: recorded, http_status: status, strategy: 'immediate' });
      expect(reactor.deploys[0]).toMatchObject({ strategy: 'immediate', model_type: 'vision', model_version: end.modelVersion });
    }
  });

  it('sends large jobs to the cloud reactor and records why', async () => {
    const local = await fake();
    const cloud = await fake();
    local.stats = { nlu: 5000 };
    const { parts, finished } = coordinator({
      REACTOR_CORE_API_URL: local.url,
      REACTOR_CLOUD_API_URL: cloud.url,
      GCP_TRAINING_ENABLED: 'true',
      LOCAL_TRAINING_MAX_SIZE_MB: '1',
      CLOUD_TRAINING_MIN_SIZE_MB: '1',
    });
    const { job } = await parts.queue.enqueue({ modelType: 'nlu', priority: 2, epochs: null, source: 'manual' });
    const end = await finished(job.jobId);
    expect(end.details.placement).toMatchObject({ target: 'cloud', reactor_url: cloud.url, reason: expect.stringMatching(/^data 4\.883 MB \(5000 usable × 1 KB assumed\) > LOCAL_TRAINING_MAX_SIZE_MB 1: cloud/) });
    expect(cloud.starts.map((s) => s.job_id)).toEqual([job.jobId]);
    expect(local.starts).toEqual([]);
    expect(cloud.deploys).toHaveLength(1);
  });

  it('takes a fencing token above the one reactor has seen when its first is refused', async () => {
    const reactor = await fake();
    await fetch(`${reactor.url}/api/training/start`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ job_id: 'other', model_type: 'nlu', fencing_token: 500 }) });
    const { parts, finished } = coordinator({ REACTOR_CORE_API_URL: reactor.url });
    await waitFor(() => reactor.active() === 0, 2_000, 'other job done');
    const { job } = await parts.queue.enqueue({ modelType: 'nlu', priority: 2, epochs: null, source: 'manual' });
    const end = await finished(job.jobId);
    expect(end.status).toBe('completed');
    expect(end.fencingToken).toBe(501);
    expect(end.details.attempts![0].fencing_token).toBe(501);
  });

  it('gives a running job back on close and lets the next process follow the same reactor job to its end', async () => {
    const reactor = await fake({ jobMs: 1_500 });
    const first = startCoordinator({ REACTOR_CORE_API_URL: reactor.url });
    const { job } = await first.parts.queue.enqueue({ modelType: 'voice', priority: 3, epochs: null, source: 'manual' });
    await waitFor(() => reactor.starts.length === 1, 5_000, 'start');
    await first.close();
    const second = coordinator({ REACTOR_CORE_API_URL: reactor.url }, { home: first.home, instanceId: 'second', start: false });
    expect(await second.parts.store.get(job.jobId)).toMatchObject({ status: 'queued', reactorJobId: job.jobId, waitingReason: expect.stringMatching(/^requeued: jarvis stopped/) });
    expect(await second.parts.lock.holders()).toEqual([]);
    second.parts.worker.start();
    const end = await second.finished(job.jobId);
    expect(end).toMatchObject({ status: 'completed', reactorJobId: job.jobId });
    expect(reactor.starts).toHaveLength(1);
  });

  it('takes over the job of a holder that died before its start reached reactor, under the same reactor job id', async () => {
    const reactor = await fake();
    const h = coordinator({ REACTOR_CORE_API_URL: reactor.url, TRAINING_LOCK_TTL: '1' }, { start: false });
    const { job } = await h.parts.queue.enqueue({ modelType: 'nlu', priority: 2, epochs: null, source: 'manual' });
    const claim = await h.parts.store.claimNext('training_slot', 'dead/0', 1, 1, Date.now() / 1000);
    expect(claim.granted).toBe(true);
    const attempt = { reactor_job_id: job.jobId, status: 'started' as const, fencing_token: 1, started_at: new Date().toISOString() };
    await h.parts.store.updateRunning(job.jobId, 'dead/0', { reactorJobId: job.jobId, details: { attempts: [attempt] } }, Date.now() / 1000);
    h.parts.worker.start();
    const end = await h.finished(job.jobId, 5_000);
    expect(end).toMatchObject({ status: 'completed', reactorJobId: job.jobId, holder: null });
    expect(end.details.attempts!.map((a) => [a.reactor_job_id, a.status])).toEqual([[job.jobId, 'completed']]);
    expect(end.details.requeues).toBe(1);
    expect(reactor.starts.map((s) => s.fencing_token)).toEqual([2]);
  });
});
