import { totalmem } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getJson, postJson, startService, tempHome, waitFor, type ServiceProcess } from '../helpers/processes.js';
import { FAST_JARVIS_ENV, FakePrime, FakeReactor } from './fakes.js';

interface QueueJob {
  job_id: string;
  status: string;
  phase: string | null;
  waiting_reason: string | null;
}

const queueOf = async (url: string) => (await getJson<{ jobs: QueueJob[] }>(`${url}/api/training/queue`)).body.jobs;

describe('Jarvis resource negotiation', () => {
  const procs: ServiceProcess[] = [];
  const reactor = new FakeReactor({ jobMs: 200 });
  const prime = new FakePrime();
  beforeAll(async () => {
    await Promise.all([reactor.start(), prime.start()]);
  });
  afterAll(async () => {
    for (const p of procs) await p.kill('SIGKILL');
    await Promise.all([reactor.close(), prime.close()]);
  });

  it('keeps a job waiting, with the numbers in its reason, when TRAINING_MEMORY_RESERVE_GB is more than the machine has, and gives up after TRAINING_SLOT_TIMEOUT', async () => {
    const reserve = Math.ceil(totalmem() / 1024 ** 3) * 10;
    const jarvis = await startService('jarvis', tempHome('trinity-jarvis-res-'), {
      ...FAST_JARVIS_ENV,
      REACTOR_CORE_API_URL: reactor.url,
      TRAINING_MEMORY_RESERVE_GB: String(reserve),
      MAX_TOTAL_MEMORY_GB: '64',
      TRAINING_SLOT_TIMEOUT: '1.5',
    });
    procs.push(jarvis);
    const { body: job } = await postJson<{ job_id: string }>(`${jarvis.url}/api/training/trigger`, { model_type: 'nlu' });
    const waiting = await waitFor(async () => (await queueOf(jarvis.url)).find((j) => j.status === 'running' && j.waiting_reason), 10_000, 'a waiting reason');
    expect(waiting.phase).toBe('waiting_for_resources');
    // MAX_TOTAL_MEMORY_GB − (prime + reactor 0.1 GB) and the host's MemAvailable, each against the reserve.
    expect(waiting.waiting_reason).toMatch(new RegExp(`^waiting: 63\\.9 GB free < ${reserve} GB needed \\(TRAINING_MEMORY_RESERVE_GB\\): MAX_TOTAL_MEMORY_GB 64 − J-Prime 0 − Reactor-Core 0\\.1`));
    expect(waiting.waiting_reason).toMatch(new RegExp(`host has \\d+(\\.\\d)? GB available < ${reserve} GB needed \\(TRAINING_MEMORY_RESERVE_GB\\)`));

    // After the timeout the job gives the slot back and goes on waiting, saying so (the log says it too).
    const again = await waitFor(async () => (await queueOf(jarvis.url)).find((j) => /gave up 1 time before/.test(j.waiting_reason ?? '')), 10_000, 'give-up note');
    expect(again.waiting_reason).toMatch(/^waiting: 63\.9 GB free < \d+ GB .*\(gave up 1 time before after TRAINING_SLOT_TIMEOUT; trying again\)$/);
    await waitFor(() => /gave up after 1\.\d s \(TRAINING_SLOT_TIMEOUT\): waiting: 63\.9 GB free/.test(jarvis.output()), 5_000, 'give-up in the log');
    expect(reactor.starts.find((s) => s.job_id === job.job_id)).toBeUndefined();
    await jarvis.kill('SIGTERM');
  }, 40_000);

  it('waits while J-Prime reports active requests and starts once it reports none', async () => {
    prime.activeRequests = 3;
    const jarvis = await startService('jarvis', tempHome('trinity-jarvis-prime-'), {
      ...FAST_JARVIS_ENV,
      REACTOR_CORE_API_URL: reactor.url,
      JARVIS_PRIME_ENABLED: 'true',
      JARVIS_PRIME_URL: prime.url,
    });
    procs.push(jarvis);
    const { body: job } = await postJson<{ job_id: string }>(`${jarvis.url}/api/training/trigger`, { model_type: 'vision', epochs: 2 });
    const waiting = await waitFor(async () => (await queueOf(jarvis.url)).find((j) => j.waiting_reason?.includes('J-Prime')), 10_000, 'waiting on J-Prime');
    expect(waiting.waiting_reason).toBe('waiting: J-Prime has 3 active requests');
    await new Promise((r) => setTimeout(r, 500));
    expect(reactor.starts.find((s) => s.job_id === job.job_id)).toBeUndefined();

    prime.activeRequests = 0;
    await waitFor(() => reactor.starts.some((s) => s.job_id === job.job_id), 10_000, 'start after J-Prime idles');
    const done = await waitFor(async () => {
      const { body } = await getJson<{ status: string; model_version: string }>(`${jarvis.url}/api/training/jobs/${job.job_id}`);
      return body.status === 'completed' ? body : null;
    }, 10_000, 'completion');
    expect(done.model_version).toMatch(/^v1\.0\.\d+$/);
  }, 40_000);
});
