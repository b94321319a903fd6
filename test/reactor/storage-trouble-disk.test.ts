/**
 * A full or read-only disk under a real reactor and real trainers: the checkpoints on a tmpfs that fills
 * up (or is remounted read-only), the models on a tmpfs remounted read-only. Nothing is injected: the
 * errors are the kernel's. A start on a full or read-only disk answers 503 with the catalogue code, a
 * checkpoint that does not fit is skipped without leftovers while health says `degraded` and why, and once
 * the disk has room (or is writable) again the same job completes, registers its version, and health is
 * `healthy` again. Needs root to mount; skipped, with the reason in its name, where mounting is not permitted.
 */
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ReactorClient } from '../../src/client/index.js';
import { getJson, postJson, startService, tempHome, waitFor, type ServiceProcess } from '../helpers/processes.js';
import { readSnips, snipsExperiences } from '../helpers/snips.js';
import { mountRefusal, mountTmpfs, type Tmpfs } from '../helpers/tmpfs.js';

const MB = 2 ** 20;
// A tenth of SNIPS trains in a second or two. All of it takes about a second an epoch, time enough to free
// the disk while the job still trains; its checkpoints and export take about 25 MB each.
const few = snipsExperiences(readSnips('train').filter((_, i) => i % 10 === 0));
const all = snipsExperiences(readSnips('train'));

interface Health {
  status: string;
  problems?: string[];
}
interface Status {
  status: string;
  epoch: number;
  model_version: string | null;
  error: string | null;
}

const refusal = mountRefusal();
const procs: ServiceProcess[] = [];
const mounts: Tmpfs[] = [];
afterEach(async () => {
  // The reactor first: a mount it still holds files in could only be detached lazily.
  for (const p of procs.splice(0)) await p.kill('SIGKILL');
  for (const m of mounts.splice(0)) m.unmount();
});

function mount(prefix: string, bytes: number): Tmpfs {
  const m = mountTmpfs(prefix, bytes);
  mounts.push(m);
  return m;
}

async function reactor(env: Record<string, string>): Promise<ServiceProcess> {
  const p = await startService('reactor', tempHome('trinity-disk-'), env);
  procs.push(p);
  return p;
}

const health = async (url: string) => (await getJson<Health>(`${url}/api/health`)).body;
const status = async (url: string, jobId: string) => (await getJson<Status>(`${url}/api/training/status/${jobId}`)).body;

const ENDED = ['completed', 'failed', 'cancelled'];

async function untilEnded(url: string, jobId: string, timeoutMs: number): Promise<Status> {
  return waitFor(async () => {
    const s = await status(url, jobId);
    return ENDED.includes(s.status) ? s : null;
  }, timeoutMs, `job ${jobId} to end`);
}

/** Health once it answers `degraded`, with the job's status then (or as soon as the job has ended instead). */
async function untilDegraded(url: string, jobId: string, timeoutMs: number): Promise<{ health: Health; job: Status }> {
  return waitFor(async () => {
    const [h, job] = [await health(url), await status(url, jobId)];
    return h.status === 'degraded' || ENDED.includes(job.status) ? { health: h, job } : null;
  }, timeoutMs, 'health to answer degraded');
}

/** The job's event log, read once it has ended. */
async function events(url: string, jobId: string): Promise<{ event: string; data: Record<string, unknown> }[]> {
  const out: { event: string; data: Record<string, unknown> }[] = [];
  for await (const e of new ReactorClient({ baseUrl: url }).jobEventsNdjson(jobId)) {
    out.push({ event: e.event, data: e.data as Record<string, unknown> });
    if (ENDED.includes(e.event)) break;
  }
  return out;
}

describe.skipIf(refusal !== null)(`a real full or read-only disk under a running reactor${refusal ? ` (skipped: ${refusal})` : ''}`, () => {
  it('answers a start on a full or read-only disk with 503 and keeps nothing; a checkpoint that does not fit is skipped without leftovers, health is degraded, and the job completes once there is room', async () => {
    // Room for the job's dataset, its kept checkpoints (the last 3 and the best), the one being written, and its export.
    const disk = mount('trinity-checkpoints-', 192 * MB);
    const r = await reactor({ TRAINING_CHECKPOINT_DIR: disk.dir });
    const filler = join(disk.dir, 'filler');

    // A read-only folder, a disk with room for part of the dataset, a full one: 503, and nothing kept.
    const refused = async (jobId: string, reason: string) => {
      const res = await postJson<Record<string, unknown>>(`${r.url}/api/training/start`, { job_id: jobId, model_type: 'nlu', experiences: few, epochs: 2 });
      expect(res.status).toBe(503);
      expect(res.body).toMatchObject({ code: 'TRN_ERR_TRAINING_STORAGE_UNAVAILABLE', reason, retry_after_seconds: 30 });
      expect(String(res.body.error)).toMatch(new RegExp(`${reason}.*free disk space or make it writable`));
      expect((await getJson(`${r.url}/api/training/status/${jobId}`)).status).toBe(404);
      expect(readdirSync(disk.dir).filter((n) => n !== 'filler')).toEqual([]);
    };
    disk.remount('ro');
    await refused('read-only', 'EROFS');
    disk.remount('rw');
    disk.fill(filler, 64 * 1024); // the dataset takes about 170 kB
    await refused('almost-full', 'ENOSPC');
    disk.fill(filler);
    await refused('full', 'ENOSPC');

    // Room for the dataset (under 2 MB) but not for one checkpoint.
    rmSync(filler);
    disk.fill(filler, 8 * MB);
    const started = await postJson(`${r.url}/api/training/start`, {
      job_id: 'cramped',
      model_type: 'nlu',
      experiences: all,
      epochs: 6,
      checkpoint_interval: 1,
      config: { seed: 5 },
    });
    expect(started.status).toBe(200);
    const degraded = await untilDegraded(r.url, 'cramped', 30_000);
    expect(degraded.job).toMatchObject({ status: 'training', error: null });
    expect(degraded.health.problems).toEqual([
      expect.stringMatching(/^job cramped: the checkpoint of epoch \d+ could not be written \(ENOSPC\); training goes on, free disk space under /),
    ]);

    rmSync(filler);
    const end = await untilEnded(r.url, 'cramped', 90_000);
    expect(end).toMatchObject({ status: 'completed', error: null, model_version: 'v1.0.0' });
    expect(await health(r.url)).toMatchObject({ status: 'healthy' });
    expect((await health(r.url)).problems).toBeUndefined();

    // A checkpoint was skipped, and a later one (with room again) was written.
    const log = await events(r.url, 'cramped');
    const firstSkip = log.findIndex((e) => /could not be written \(ENOSPC\)/.test(String(e.data.message)));
    expect(firstSkip).toBeGreaterThanOrEqual(0);
    expect(log.slice(firstSkip).some((e) => e.event === 'checkpoint')).toBe(true);
    expect(log.some((e) => e.event === 'failed')).toBe(false);
    // No half-written checkpoint left behind, and the registered export cleaned up.
    const left = readdirSync(join(disk.dir, 'cramped'));
    expect(left.filter((n) => n.endsWith('.tmp') || n === 'export')).toEqual([]);
    expect(left).toContain('dataset.jsonl');
  }, 120_000);

  it('keeps a trained job whose models folder is read-only, says so in health, and registers it once the folder is writable again', async () => {
    const models = mount('trinity-models-', 64 * MB);
    const r = await reactor({ MODEL_REGISTRY_DIR: models.dir });
    models.remount('ro');
    expect((await postJson(`${r.url}/api/training/start`, { job_id: 'ro', model_type: 'nlu', experiences: few, epochs: 2, config: { seed: 5 } })).status).toBe(200);

    const degraded = await untilDegraded(r.url, 'ro', 40_000);
    expect(degraded.job).toMatchObject({ status: 'training', error: null, epoch: 2, model_version: null });
    expect(degraded.health.problems).toEqual([
      expect.stringMatching(/^job ro waits for disk space or a writable folder: registering its model failed: .*EROFS.*; retrying every 30 s$/),
    ]);
    expect(readdirSync(models.dir)).toEqual([]);

    models.remount('rw');
    // The retry comes within STORAGE_RETRY_MS (30 s).
    const end = await untilEnded(r.url, 'ro', 50_000);
    expect(end).toMatchObject({ status: 'completed', error: null, model_version: 'v1.0.0' });
    expect(existsSync(join(models.dir, 'nlu', 'v1.0.0', 'manifest.json'))).toBe(true);
    expect((await getJson(`${r.url}/api/models/nlu/v1.0.0`)).status).toBe(200);
    expect(await health(r.url)).toMatchObject({ status: 'healthy' });
  }, 120_000);
});
