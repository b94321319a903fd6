/**
 * A reactor SIGKILLed mid-training, with real processes: its trainer must stop at once (not at the end of
 * its epoch), and the restarted reactor must resume from the newest checkpoint that is intact, clear what
 * the orphan left, and say which checkpoint it skipped and why.
 */
import { mkdirSync, readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ReactorClient } from '../../src/client/index.js';
import { getJson, postJson, startService, tempHome, waitFor, type ServiceProcess } from '../helpers/processes.js';
import { readSnips, snipsExperiences } from '../helpers/snips.js';
import { isAlive } from '../supervisor/up-process.js';

// SNIPS twice over (distinct ids) in batches of one: epochs of several seconds, so an orphan that only
// noticed its reactor's death at the end of an epoch would show.
const experiences = [1, 2].flatMap((n) => snipsExperiences(readSnips('train'), `snips${n}`));

interface StatusBody {
  status: string;
  error: string | null;
  resumed_from_epoch: number | null;
}

/** Resolves with the job's events once `enough` of them match. */
async function eventsUntil(url: string, jobId: string, enough: (events: { event: string; data: Record<string, unknown> }[]) => boolean) {
  const events: { event: string; data: Record<string, unknown> }[] = [];
  for await (const e of new ReactorClient({ baseUrl: url }).jobEventsNdjson(jobId)) {
    events.push({ event: e.event, data: e.data as Record<string, unknown> });
    if (enough(events)) return events;
  }
  return events;
}

describe('a reactor killed while training', () => {
  const procs: ServiceProcess[] = [];
  afterAll(async () => {
    for (const p of procs) await p.kill('SIGKILL');
  });

  it('takes its trainer down within a batch, and resumes from the newest intact checkpoint, naming the damaged one', async () => {
    const home = tempHome('trinity-orphan-');
    let reactor = await startService('reactor', home);
    procs.push(reactor);
    const body = { job_id: 'orphaned', model_type: 'nlu', experiences, epochs: 4, checkpoint_interval: 1, config: { seed: 7, batch_size: 1 } };
    expect((await postJson(`${reactor.url}/api/training/start`, body)).status).toBe(200);
    await eventsUntil(reactor.url, 'orphaned', (ev) => ev.filter((e) => e.event === 'checkpoint').length >= 2);
    const { body: res } = await getJson<{ trainer_pids: number[] }>(`${reactor.url}/api/resources`);
    const trainer = res.trainer_pids[0];

    await reactor.kill('SIGKILL');
    const killedAt = Date.now();
    await waitFor(() => !isAlive(trainer), 10_000, `trainer ${trainer} to exit after its reactor was killed`);
    expect(Date.now() - killedAt).toBeLessThan(1_500);

    // What the restarted reactor finds: the newest checkpoint damaged, a temporary folder of the orphan.
    const jobDir = join(home, 'training_checkpoints', 'orphaned');
    const epochs = readdirSync(jobDir).filter((n) => /^epoch-\d{6}$/.test(n)).sort();
    expect(epochs.length).toBeGreaterThanOrEqual(2);
    const newest = join(jobDir, epochs.at(-1)!);
    const biggest = readdirSync(newest)
      .filter((n) => n !== 'checkpoint.json')
      .sort((a, b) => statSync(join(newest, b)).size - statSync(join(newest, a)).size)[0];
    truncateSync(join(newest, biggest), Math.floor(statSync(join(newest, biggest)).size / 2));
    const leftover = join(jobDir, `.epoch-000099.${trainer}.tmp`);
    mkdirSync(leftover);
    // And what a trainer killed in the middle of its export leaves: half-written files in the export folder.
    mkdirSync(join(jobDir, 'export'), { recursive: true });
    writeFileSync(join(jobDir, 'export', `.weights.bin.${trainer}.0a1b2c3d.tmp`), 'half an export');

    reactor = await startService('reactor', home);
    procs.push(reactor);
    const end = await waitFor(async () => {
      const { body: s } = await getJson<StatusBody>(`${reactor.url}/api/training/status/orphaned`);
      return ['completed', 'failed', 'cancelled'].includes(s.status) ? s : null;
    }, 240_000, 'the resumed job to end');
    expect(end.error).toBeNull();
    expect(end.status).toBe('completed');
    const newestEpoch = Number(epochs.at(-1)!.slice(6));
    expect(end.resumed_from_epoch).toBe(newestEpoch - 1);

    const events = await eventsUntil(reactor.url, 'orphaned', (ev) => ev.some((e) => e.event === 'completed'));
    const skipped = events.find((e) => e.data.checkpoint_skipped !== undefined);
    expect(skipped?.data.message).toMatch(new RegExp(`checkpoint of epoch ${newestEpoch} skipped: ${biggest} has \\d+ bytes, \\d+ were written`));
    expect(readdirSync(jobDir)).toContain(`corrupt-${epochs.at(-1)}`);
    expect(readdirSync(jobDir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
    expect(readdirSync(jobDir)).not.toContain('trainer.lock');
    // The version holds this export's files only: the stale one is neither listed nor in its digest.
    const manifest = JSON.parse(readFileSync(join(home, 'models', 'nlu', 'v1.0.0', 'manifest.json'), 'utf8')) as { files: { path: string }[] };
    expect(manifest.files.map((f) => f.path).filter((p) => p.endsWith('.tmp'))).toEqual([]);
  }, 300_000);
});
