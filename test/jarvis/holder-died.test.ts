import { afterAll, describe, expect, it } from 'vitest';
import { getJson, postJson, startService, tempHome, waitFor, type ServiceProcess } from '../helpers/processes.js';
import { readSnips, snipsExperiences } from '../helpers/snips.js';
import { FAST_JARVIS_ENV } from './fakes.js';

interface JobWire {
  job_id: string;
  status: string;
  reactor_job_id: string | null;
  model_version: string | null;
  attempts: { reactor_job_id: string; status: string; fencing_token: number }[];
}

interface ReactorJob {
  job_id: string;
  status: string;
  epoch: number;
}

const jobOf = async (url: string, id: string) => (await getJson<JobWire>(`${url}/api/training/jobs/${id}`)).body;

describe('a jarvis that was SIGKILLed while coordinating a training', () => {
  const procs: ServiceProcess[] = [];
  afterAll(async () => {
    for (const p of procs) await p.kill('SIGKILL');
  });

  it('is replaced at once by the next jarvis on its home, which follows the same reactor job to its end, then runs the job queued behind it', async () => {
    const home = tempHome('trinity-jarvis-died-');
    const reactor = await startService('reactor', home, { LOG_LEVEL: 'warn' });
    procs.push(reactor);
    const posted = await postJson<{ accepted: number }>(`${reactor.url}/api/experiences`, { experiences: snipsExperiences(readSnips('train').filter((_, i) => i % 20 === 0)) });
    expect(posted.body.accepted).toBeGreaterThan(300);

    // TRAINING_LOCK_TTL at its default (7200 s): waiting for it to run out would take two hours.
    const env = { ...FAST_JARVIS_ENV, REACTOR_CORE_API_URL: reactor.url };
    const first = await startService('jarvis', home, env);
    procs.push(first);
    const { body: running } = await postJson<{ job_id: string }>(`${first.url}/api/training/trigger`, { model_type: 'nlu', epochs: 400 });
    // Training at reactor (not merely queued there) when jarvis dies.
    const training = await waitFor(async () => {
      const { status, body: j } = await getJson<ReactorJob>(`${reactor.url}/api/training/status/${running.job_id}`);
      return status === 404 || j.status === 'queued' || j.status === 'preparing' || (j.status === 'training' && !(j.epoch >= 1)) ? null : j;
    }, 30_000, 'reactor to train the first job');
    expect(training).toMatchObject({ status: 'training' });
    // Another job of the same type waits behind the running one.
    const { body: behind } = await postJson<{ job_id: string; status: string }>(`${first.url}/api/training/trigger`, { model_type: 'nlu', epochs: 2 });
    expect(behind.job_id).not.toBe(running.job_id);
    expect(behind.status).toBe('queued');

    await first.kill('SIGKILL');
    const second = await startService('jarvis', home, env);
    procs.push(second);
    const restartedAt = Date.now();

    // Taken over within seconds: the lock names the new process as holder of the same job.
    const holders = await waitFor(async () => {
      const { body } = await getJson<{ lock: { holders: { holder: string; job_id: string }[] } }>(`${second.url}/health`);
      return body.lock.holders.length === 1 && body.lock.holders[0].job_id === running.job_id && body.lock.holders[0].holder.includes(String(second.proc.pid)) ? body.lock.holders : null;
    }, 10_000, 'the new jarvis to hold the running job');
    expect(holders).toHaveLength(1);
    expect(Date.now() - restartedAt).toBeLessThan(10_000);
    // Reactor is still training it: the new jarvis follows the job, it does not just find it over.
    expect((await getJson<ReactorJob>(`${reactor.url}/api/training/status/${running.job_id}`)).body.status).toBe('training');

    // It follows the reactor job the dead process started, to completion; no second reactor job.
    const done = await waitFor(async () => {
      const j = await jobOf(second.url, running.job_id);
      return j.status === 'completed' || j.status === 'failed' ? j : null;
    }, 120_000, 'the first job to end');
    expect(done).toMatchObject({ status: 'completed', reactor_job_id: running.job_id, model_version: expect.any(String) });
    expect(done.attempts.map((a) => [a.reactor_job_id, a.status])).toEqual([[running.job_id, 'completed']]);
    const reactorJobs = (await getJson<{ jobs: ReactorJob[] }>(`${reactor.url}/api/training/jobs`)).body.jobs;
    expect(reactorJobs.filter((j) => j.job_id.startsWith(running.job_id)).map((j) => [j.job_id, j.status])).toEqual([[running.job_id, 'completed']]);

    // Then the job behind it runs.
    const next = await waitFor(async () => {
      const j = await jobOf(second.url, behind.job_id);
      return j.status === 'completed' || j.status === 'failed' ? j : null;
    }, 60_000, 'the queued job to end');
    expect(next).toMatchObject({ status: 'completed', reactor_job_id: behind.job_id });
  }, 240_000);
});
