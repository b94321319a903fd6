import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LeaseLock } from '../../src/coordinator/index.js';
import { CoordinatorStore } from '../../src/coordinator/coordinator-store.js';
import { openDatabase } from '../../src/store/database.js';
import { SqliteSql } from '../../src/store/sql.js';
import { getJson, postJson, startService, tempHome, waitFor, type ServiceProcess } from '../helpers/processes.js';
import { FAST_JARVIS_ENV, FakeReactor } from './fakes.js';

interface QueueJob {
  job_id: string;
  model_type: string;
  status: string;
  position: number;
  waiting_reason: string | null;
}

describe('Jarvis priority queue and training_slot', () => {
  const procs: ServiceProcess[] = [];
  const fake = new FakeReactor({ jobMs: 300 });
  afterAll(async () => {
    for (const p of procs) await p.kill('SIGKILL');
    await fake.close();
  });

  it('runs jobs triggered while the lock is held in the order voice, nlu, vision, embedding, one at a time, across two processes', async () => {
    await fake.start();
    const home = tempHome('trinity-jarvis-order-');
    // The test process holds training_slot itself, as another service would.
    const db = openDatabase({ path: join(home, 'trinity.db') });
    const lock = new LeaseLock({ store: new CoordinatorStore(new SqliteSql(db)), ttlMs: 60_000 });
    const held = await lock.acquire('test-holder');
    expect(held).not.toBeNull();

    const env = { ...FAST_JARVIS_ENV, REACTOR_CORE_API_URL: fake.url };
    const [a, b] = await Promise.all([startService('jarvis', home, env), startService('jarvis', home, env)]);
    procs.push(a, b);

    const order = ['embedding', 'vision', 'nlu', 'voice'];
    for (const [i, type] of order.entries()) {
      const r = await postJson<{ job_id: string; status: string; priority: string; created: boolean }>(`${(i % 2 === 0 ? a : b).url}/api/training/trigger`, { model_type: type });
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({ status: 'queued', created: true });
    }
    // At most one queued job per type, whichever process is asked.
    const again = await postJson<{ created: boolean; model_type: string }>(`${b.url}/api/training/trigger`, { model_type: 'nlu', priority: 'LOW' });
    expect(again.body).toMatchObject({ created: false, model_type: 'nlu' });

    const queue = await getJson<{ length: number; jobs: QueueJob[] }>(`${a.url}/api/training/queue`);
    expect(queue.body.length).toBe(4);
    expect(queue.body.jobs.map((j) => [j.model_type, j.position])).toEqual([
      ['voice', 1],
      ['nlu', 2],
      ['vision', 3],
      ['embedding', 4],
    ]);
    for (const j of queue.body.jobs) expect(j.waiting_reason).toMatch(/training_slot busy \(1\/1\): held by test-holder/);
    expect(queue.body.jobs[1].waiting_reason).toMatch(/behind 1 queued job/);
    const health = await getJson<{ lock: { holder: string }; queue: { length: number } }>(`${b.url}/health`);
    expect(health.body.lock.holder).toBe('test-holder');
    expect(health.body.queue.length).toBe(4);
    expect(fake.starts).toHaveLength(0);

    await lock.release('test-holder');
    db.close();
    await waitFor(() => fake.starts.length === 4 && fake.active() === 0, 30_000, 'four trainings');
    await waitFor(async () => (await getJson<{ length: number; running: number }>(`${a.url}/api/training/queue`)).body.running === 0, 10_000, 'queue drained');

    expect(fake.starts.map((s) => s.model_type)).toEqual(['voice', 'nlu', 'vision', 'embedding']);
    expect(fake.maxConcurrent).toBe(1);
    expect(fake.starts.every((s) => s.concurrent === 0)).toBe(true);
    const tokens = fake.starts.map((s) => s.fencing_token!);
    for (let i = 1; i < tokens.length; i++) expect(tokens[i]).toBeGreaterThan(tokens[i - 1]);
    expect(tokens[0]).toBeGreaterThan(held!.token);
    expect(fake.deploys.map((d) => d.model_type)).toEqual(['voice', 'nlu', 'vision', 'embedding']);
    expect(fake.deploys[0]).toMatchObject({ strategy: 'gradual_rollout', config: { rollout_steps: [10, 25, 50, 75, 100] } });

    const jobs = await getJson<{ jobs: { model_type: string; status: string; deployment: { status: string } }[] }>(`${b.url}/api/training/jobs`);
    expect(jobs.body.jobs.filter((j) => j.status === 'completed')).toHaveLength(4);
    expect(jobs.body.jobs.every((j) => j.deployment.status === 'deploying')).toBe(true);
  }, 60_000);
});
