/**
 * Issue 16 item 5 ("Placement") end to end: a reactor that trains on its own (pool local) and a
 * `trinity worker --pool cloud` on one database. The reactor lists both as live runners; a job started
 * with worker_pool cloud is trained by the cloud worker only, one without by the reactor's own runner.
 * JARVIS, with no REACTOR_CLOUD_API_URL and size limits set low, places a job it triggers on the cloud pool.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, getJson, postJson, startService, tempHome, waitFor, type ServiceProcess } from '../helpers/processes.js';
import { readSnips, snipsExperiences } from '../helpers/snips.js';

interface Workers {
  workers: { worker_id: string; pool: string; jobs: string[] }[];
  pools: Record<string, number>;
}
interface Status {
  status: string;
  worker_id: string | null;
  worker_pool: string;
  error: string | null;
}

describe('worker pools: jobs go to the pool they name, and JARVIS sends large ones to a live cloud pool', () => {
  let home: string;
  let reactor: ServiceProcess;
  let cloud: ServiceProcess;
  const all: ServiceProcess[] = [];
  const rows = readSnips('train');

  beforeAll(async () => {
    home = tempHome('trinity-pools-');
    const env = { TRAINING_LEASE_TTL: '3', TRINITY_ARTIFACT_DIR: join(home, 'shared-artifacts'), LOG_LEVEL: 'info' };
    reactor = await startService('reactor', home, env);
    all.push(reactor);
    cloud = await startService('worker', home, { ...env, TRINITY_WORKER_POOL: 'cloud' });
    all.push(cloud);
  }, 60_000);
  afterAll(async () => {
    for (const p of all) await p.kill('SIGKILL');
  });

  const status = async (jobId: string) => (await getJson<Status>(`${reactor.url}/api/training/status/${jobId}`)).body;
  const ended = (jobId: string) =>
    waitFor(async () => {
      const s = await status(jobId);
      return ['completed', 'failed', 'cancelled'].includes(s.status) ? s : null;
    }, 180_000, `${jobId} to end`);
  const cloudId = async () => (await getJson<{ worker_id: string }>(`${cloud.url}/api/health`)).body.worker_id;

  it('lists the live runners with their pools: the reactor\'s own (local) and the cloud worker', async () => {
    const id = await cloudId();
    const listed = await waitFor(async () => {
      const w = (await getJson<Workers>(`${reactor.url}/api/training/workers`)).body;
      return w.pools.local === 1 && w.pools.cloud === 1 ? w : null;
    }, 10_000, 'both runners listed');
    expect(listed.workers.find((w) => w.pool === 'cloud')?.worker_id).toBe(id);
  });

  it('trains a worker_pool cloud job on the cloud worker, and a job without one on the reactor', async () => {
    const experiences = (tag: string) => snipsExperiences(rows.filter((_, i) => i % 30 === 0), tag);
    for (const [jobId, pool] of [['on-cloud', 'cloud'], ['on-reactor', undefined]] as const) {
      const res = await postJson(`${reactor.url}/api/training/start`, { job_id: jobId, model_type: 'nlu', experiences: experiences(jobId), epochs: 2, ...(pool ? { worker_pool: pool } : {}) });
      expect(res.status).toBe(200);
    }
    const id = await cloudId();
    expect(await ended('on-cloud')).toMatchObject({ status: 'completed', worker_pool: 'cloud', worker_id: id });
    const local = await ended('on-reactor');
    expect(local).toMatchObject({ status: 'completed', worker_pool: 'local' });
    expect(local.worker_id).not.toBe(id);
    expect(cloud.output()).not.toMatch(/"job_id":"on-reactor"/);
  }, 300_000);

  it('refuses a pool that does not exist with a 400 naming the field', async () => {
    const res = await postJson<{ error: string }>(`${reactor.url}/api/training/start`, { job_id: 'bad-pool', model_type: 'nlu', worker_pool: 'tpu' });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatch(/worker_pool/);
  });

  it('JARVIS places a job over LOCAL_TRAINING_MAX_SIZE_MB on the live cloud pool, and the cloud worker trains it', async () => {
    // The buffer JARVIS measures: experiences in reactor's buffer for nlu.
    const res = await postJson(`${reactor.url}/api/experiences`, { experiences: snipsExperiences(rows.filter((_, i) => i % 25 === 1), 'buf') });
    expect(res.status).toBe(200);
    const jarvis = await startService('jarvis', home, {
      REACTOR_CORE_API_URL: reactor.url,
      JARVIS_PRIME_PORT: String(await freePort()),
      AUTO_TRAINING_ENABLED: 'false',
      LOCAL_TRAINING_MAX_SIZE_MB: '0.01',
      CLOUD_TRAINING_MIN_SIZE_MB: '0.01',
      RESOURCE_CHECK_INTERVAL: '0.5',
      LOG_LEVEL: 'info',
    });
    all.push(jarvis);
    const trigger = await postJson<{ job_id: string }>(`${jarvis.url}/api/training/trigger`, { model_type: 'nlu', epochs: 2 });
    expect(trigger.status).toBe(200);
    const job = await waitFor(async () => {
      const j = (await getJson<{ reactor_job_id: string | null; placement: { target: string; pool?: string; reason: string } | null }>(`${jarvis.url}/api/training/jobs/${trigger.body.job_id}`)).body;
      return j.reactor_job_id && j.placement ? j : null;
    }, 60_000, 'JARVIS to place and start the job');
    expect(job.placement).toMatchObject({ target: 'cloud', pool: 'cloud', reason: expect.stringMatching(/worker pool cloud/) });
    expect(await ended(job.reactor_job_id!)).toMatchObject({ status: 'completed', worker_pool: 'cloud', worker_id: await cloudId() });
  }, 300_000);
});
