import { afterAll, describe, expect, it } from 'vitest';
import { ReactorClient } from '../../src/client/index.js';
import { getJson, postJson, startService, tempHome, waitFor, type ServiceProcess } from '../helpers/processes.js';
import { readSnips, snipsExperiences } from '../helpers/snips.js';

const experiences = snipsExperiences(readSnips('train').filter((_, i) => i % 2 === 0));
const body = (jobId: string) => ({
  job_id: jobId,
  model_type: 'nlu',
  experiences,
  epochs: 4,
  checkpoint_interval: 1,
  config: { seed: 1234 },
});

interface ModelsBody {
  versions: { job_id: string; digest: string }[];
}
interface StatusBody {
  status: string;
  resumed_from_epoch: number | null;
  model_version: string | null;
}

async function digestOf(url: string, jobId: string): Promise<string> {
  const { body } = await getJson<ModelsBody>(`${url}/api/models/nlu`);
  const v = body.versions.find((x) => x.job_id === jobId);
  if (!v) throw new Error(`no version for ${jobId}`);
  return v.digest;
}

async function waitForEnd(url: string, jobId: string): Promise<StatusBody> {
  return waitFor(async () => {
    const { status, body } = await getJson<StatusBody>(`${url}/api/training/status/${jobId}`).catch(() => ({ status: 0, body: null }));
    return status === 200 && body && ['completed', 'failed', 'cancelled'].includes(body.status) ? body : null;
  }, 120_000, `${jobId} to end`);
}

/** Resolves when the job's log shows its first checkpoint. */
async function firstCheckpoint(url: string, jobId: string): Promise<void> {
  for await (const e of new ReactorClient({ baseUrl: url }).jobEventsNdjson(jobId)) {
    if (e.event === 'checkpoint') return;
  }
  throw new Error('stream ended without a checkpoint');
}

describe('Reactor checkpoint resume', () => {
  const procs: ServiceProcess[] = [];
  afterAll(async () => {
    for (const p of procs) await p.kill('SIGKILL');
  });

  it('resumes a job whose trainer or whole reactor was SIGKILLed, ending with the weights of an uninterrupted run', async () => {
    const home = tempHome();
    let reactor = await startService('reactor', home);
    procs.push(reactor);

    expect((await postJson(`${reactor.url}/api/training/start`, body('straight'))).status).toBe(200);
    expect((await waitForEnd(reactor.url, 'straight')).status).toBe('completed');
    const expected = await digestOf(reactor.url, 'straight');

    // 1. the trainer process dies after its first checkpoint
    expect((await postJson(`${reactor.url}/api/training/start`, body('trainer-killed'))).status).toBe(200);
    await firstCheckpoint(reactor.url, 'trainer-killed');
    const { body: res } = await getJson<{ trainer_pids: number[] }>(`${reactor.url}/api/resources`);
    expect(res.trainer_pids).toHaveLength(1);
    process.kill(res.trainer_pids[0], 'SIGKILL');
    const afterTrainerKill = await waitForEnd(reactor.url, 'trainer-killed');
    expect(afterTrainerKill.status).toBe('completed');
    expect(afterTrainerKill.resumed_from_epoch).toBeGreaterThanOrEqual(1);
    expect(await digestOf(reactor.url, 'trainer-killed')).toBe(expected);

    // 2. the whole reactor dies after the job's first checkpoint, and is started again
    expect((await postJson(`${reactor.url}/api/training/start`, body('reactor-killed'))).status).toBe(200);
    await firstCheckpoint(reactor.url, 'reactor-killed');
    await reactor.kill('SIGKILL');
    reactor = await startService('reactor', home);
    procs.push(reactor);
    const afterReactorKill = await waitForEnd(reactor.url, 'reactor-killed');
    expect(afterReactorKill.status).toBe('completed');
    expect(afterReactorKill.resumed_from_epoch).toBeGreaterThanOrEqual(1);
    expect(await digestOf(reactor.url, 'reactor-killed')).toBe(expected);
  }, 240_000);
});
