/**
 * Issue 16 item 2 ("Workers") end to end: a reactor with TRAINING_WORKERS=external (it queues, streams and
 * registers nothing itself) and two `trinity worker` processes on one JARVIS_HOME (one database) and one
 * TRINITY_ARTIFACT_DIR. Six queued jobs finish once each; then the worker holding a job is SIGKILLed after a
 * checkpoint and the other resumes the job from it within TRAINING_LEASE_TTL + 5 s, ending with the weights
 * of an uninterrupted run, while an SSE stream read from the reactor sees every event id once, in order.
 * A worker paused with SIGSTOP loses its job the same way once its trainer notices the silence (on SQLite,
 * paused between two writes: see pauseOutsideWrite).
 * On SQLite the processes share one JARVIS_HOME; on Postgres each has its own, as on separate machines.
 */
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { E2E_STORES, serviceStore, type ServiceStore } from '../helpers/postgres.js';
import { getJson, postJson, startService, tempHome, waitFor, type ServiceProcess } from '../helpers/processes.js';
import { readSnips, snipsExperiences } from '../helpers/snips.js';

const TTL_SECONDS = 2;

interface StatusBody {
  status: string;
  resumed_from_epoch: number | null;
  model_version: string | null;
  error: string | null;
}
interface WorkerHealth {
  status: string;
  worker_id: string;
  pool: string;
  current_job: string | null;
}
interface StreamedEvent {
  id: number;
  event: string;
  data: Record<string, unknown>;
  at: number;
}

/** Reads a job's SSE stream from the start until the server ends it (after the terminal event). */
async function readSse(url: string, onEvent: (e: StreamedEvent) => void): Promise<StreamedEvent[]> {
  const res = await fetch(url, { headers: { accept: 'text/event-stream' } });
  if (!res.ok || !res.body) throw new Error(`stream answered ${res.status}`);
  const out: StreamedEvent[] = [];
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of res.body) {
    buffer += decoder.decode(chunk as Uint8Array, { stream: true });
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const frame = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const field = (name: string) => frame.split('\n').find((l) => l.startsWith(`${name}: `))?.slice(name.length + 2);
      const id = field('id');
      if (id === undefined) continue; // a comment (stream open, keep-alive)
      const e = { id: Number(id), event: field('event') ?? '', data: JSON.parse(field('data') ?? '{}') as Record<string, unknown>, at: Date.now() };
      out.push(e);
      onEvent(e);
    }
  }
  return out;
}

/** Whether some process holds the SQLite file's write lock at this moment. */
function writeLocked(dbFile: string): boolean {
  const db = new Database(dbFile, { timeout: 0 });
  try {
    db.exec('BEGIN IMMEDIATE');
    db.exec('ROLLBACK');
    return false;
  } catch (err) {
    if ((err as { code?: string }).code === 'SQLITE_BUSY') return true;
    throw err;
  } finally {
    db.close();
  }
}

/**
 * SIGSTOP. On SQLite, stopped inside a write transaction, a process keeps the file's write lock until it
 * resumes and every other writer waits (Postgres ends such a session: sql.ts); no takeover can happen
 * then, so on SQLite the pause is tried again until it falls between two writes.
 */
async function pauseOutsideWrite(w: ServiceProcess, sqliteFile: string | null): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    w.proc.kill('SIGSTOP');
    if (sqliteFile === null || !writeLocked(sqliteFile)) return;
    w.proc.kill('SIGCONT');
    await new Promise((r) => setTimeout(r, 2 + (attempt % 7)));
  }
}

for (const { name: storeName, skip } of E2E_STORES) {
  describe.skipIf(skip !== null)(`training on worker processes: a reactor that queues and two workers that train [${storeName}]${skip ? ` skipped: ${skip}` : ''}`, () => {
    let store: ServiceStore;
    let reactor: ServiceProcess;
    const workers: ServiceProcess[] = [];
    const all: ServiceProcess[] = [];
    const rows = readSnips('train');

    beforeAll(async () => {
      store = await serviceStore(storeName, 'trinity-workers-');
      const env = { ...store.env, TRAINING_LEASE_TTL: String(TTL_SECONDS), TRINITY_ARTIFACT_DIR: join(tempHome('trinity-artifacts-'), 'shared'), LOG_LEVEL: 'info' };
      reactor = await startService('reactor', store.home(), { ...env, TRAINING_WORKERS: 'external' });
      all.push(reactor);
      for (let i = 0; i < 2; i++) {
        const w = await startService('worker', store.home(), env);
        workers.push(w);
        all.push(w);
      }
    }, 60_000);
    afterAll(async () => {
      for (const p of all) await p.kill('SIGKILL');
      await store?.close();
    });

    const health = async (w: ServiceProcess) => (await getJson<WorkerHealth>(`${w.url}/api/health`)).body;
    const status = async (jobId: string) => (await getJson<StatusBody>(`${reactor.url}/api/training/status/${jobId}`)).body;
    const ended = (jobId: string, timeoutMs = 180_000) =>
      waitFor(async () => {
        const s = await status(jobId);
        return ['completed', 'failed', 'cancelled'].includes(s.status) ? s : null;
      }, timeoutMs, `${jobId} to end`);
    const versionsOf = async () => (await getJson<{ versions: { job_id: string; digest: string }[] }>(`${reactor.url}/api/models/nlu`)).body.versions;

    it('reports each worker on its own health port: id, pool and no job yet', async () => {
      const [a, b] = await Promise.all(workers.map(health));
      expect(a).toMatchObject({ status: 'healthy', pool: 'local', current_job: null });
      expect(b.worker_id).not.toBe(a.worker_id);
      const reactorHealth = (await getJson<{ active_training_jobs: number }>(`${reactor.url}/api/health`)).body;
      expect(reactorHealth.active_training_jobs).toBe(0);
    });

    it('finishes 6 queued jobs, each exactly once: one completed event and one registered version each', async () => {
      const ids = Array.from({ length: 6 }, (_, k) => `queued-${k}`);
      for (const [k, jobId] of ids.entries()) {
        const experiences = snipsExperiences(rows.filter((_, i) => i % 40 === k), `q${k}`);
        const res = await postJson(`${reactor.url}/api/training/start`, { job_id: jobId, model_type: 'nlu', experiences, epochs: 2, checkpoint_interval: 1, config: { seed: k } });
        expect(res.status).toBe(200);
      }
      for (const jobId of ids) expect(await ended(jobId)).toMatchObject({ status: 'completed' });

      const versions = await versionsOf();
      for (const jobId of ids) {
        expect(versions.filter((v) => v.job_id === jobId)).toHaveLength(1);
        const events = await readSse(`${reactor.url}/api/training/stream/${jobId}`, () => undefined);
        expect(events.filter((e) => e.event === 'completed')).toHaveLength(1);
        expect(events.map((e) => e.id)).toEqual(events.map((_, i) => i + 1));
      }
      // Both workers took part: each logged claims of its own.
      const claimed = workers.map((w) => ids.filter((id) => w.output().includes(`"job_id":"${id}"`) && w.output().includes('claimed training job')));
      expect(claimed[0].length).toBeGreaterThan(0);
      expect(claimed[1].length).toBeGreaterThan(0);
      expect(claimed[0].filter((id) => claimed[1].includes(id))).toEqual([]);
    }, 180_000);

    it('takes a job over from a paused (SIGSTOPped) worker: its trainer stops when the worker goes silent, the other resumes, and the woken worker writes nothing more', async () => {
      // Many short epochs: the paused worker's trainer would go on for longer than a new trainer waits for the
      // job's lock (LOCK_WAIT_MS, 20 s) if it did not stop when its worker fell silent.
      const experiences = snipsExperiences(rows.filter((_, i) => i % 40 === 5), 'p');
      expect((await postJson(`${reactor.url}/api/training/start`, { job_id: 'paused', model_type: 'nlu', experiences, epochs: 1500, checkpoint_interval: 50, config: { seed: 7 } })).status).toBe(200);
      let paused: ServiceProcess | null = null;
      const stream = readSse(`${reactor.url}/api/training/stream/paused`, (e) => {
        if (e.event !== 'checkpoint' || paused) return;
        // Alive but frozen: its lease runs out, and its trainer child (not stopped) keeps the job's lock
        // until it notices that its worker went silent.
        paused = workers.find((w) => w.output().includes('"job_id":"paused"')) ?? null;
        if (paused) void pauseOutsideWrite(paused, storeName === 'sqlite' ? join(store.home(), 'trinity.db') : null);
      });
      const events = await stream;
      expect(paused).not.toBeNull();
      const other = workers.find((w) => w !== paused)!;
      expect(events.at(-1)!.data.error ?? null).toBeNull();
      expect(events.at(-1)!.event).toBe('completed');
      expect(events.map((e) => e.id)).toEqual(events.map((_, i) => i + 1));
      expect(events.filter((e) => e.event === 'status' && typeof e.data.resumed_from_epoch === 'number')).toHaveLength(1);
      expect(other.output()).toMatch(/"job_id":"paused"[^\n]*claimed training job|claimed training job[^\n]*"job_id":"paused"/);
      // Woken, the paused worker finds its claim gone and lets the job be: no event after the completion.
      paused!.proc.kill('SIGCONT');
      await waitFor(async () => (await health(paused!)).current_job === null, 10_000, 'the woken worker to let the job go');
      const after = await readSse(`${reactor.url}/api/training/stream/paused`, () => undefined);
      expect(after.map((e) => e.id)).toEqual(events.map((e) => e.id));
      expect((await status('paused')).status).toBe('completed');
    }, 180_000);

    it('resumes a job on the other worker within the lease TTL + 5 s after its holder is SIGKILLed, with the weights of an uninterrupted run and a gapless stream', async () => {
      const experiences = snipsExperiences(rows.filter((_, i) => i % 2 === 0));
      // Long enough to span several of the stream's polls (POLL_MS, 1 s): with 4 epochs (1.5 s on a busy
      // machine) the whole job could end between two polls, and the kill came after the completion.
      const body = (jobId: string) => ({ job_id: jobId, model_type: 'nlu', experiences, epochs: 12, checkpoint_interval: 1, config: { seed: 1234 } });

      expect((await postJson(`${reactor.url}/api/training/start`, body('straight'))).status).toBe(200);
      expect(await ended('straight')).toMatchObject({ status: 'completed' });
      const expected = (await versionsOf()).find((v) => v.job_id === 'straight')!.digest;

      expect((await postJson(`${reactor.url}/api/training/start`, body('failover'))).status).toBe(200);
      let killedAt = 0;
      let killed: ServiceProcess | null = null;
      const stream = readSse(`${reactor.url}/api/training/stream/failover`, (e) => {
        if (e.event !== 'checkpoint' || killed) return;
        // The first checkpoint: kill the worker that holds the job, trainer and all.
        killed = workers.find((w) => w.output().includes('"job_id":"failover"')) ?? null;
        killedAt = Date.now();
        killed?.proc.kill('SIGKILL');
      });
      const events = await stream;
      expect(killed).not.toBeNull();
      const survivor = workers.find((w) => w !== killed)!;

      const resumed = events.find((e) => e.event === 'status' && typeof e.data.resumed_from_epoch === 'number');
      expect(resumed, 'a resumed event').toBeDefined();
      expect(resumed!.data.resumed_from_epoch).toBeGreaterThanOrEqual(1);
      const takeoverSeconds = (resumed!.at - killedAt) / 1000;
      expect(takeoverSeconds).toBeLessThanOrEqual(TTL_SECONDS + 5);
      expect(survivor.output()).toMatch(/"job_id":"failover"[^\n]*claimed training job|claimed training job[^\n]*"job_id":"failover"/);

      expect(events.map((e) => e.id)).toEqual(events.map((_, i) => i + 1));
      expect(events.filter((e) => e.event === 'completed')).toHaveLength(1);
      expect(events.at(-1)!.event).toBe('completed');
      const final = await status('failover');
      expect(final.status).toBe('completed');
      expect(final.resumed_from_epoch).toBeGreaterThanOrEqual(1);
      const versions = (await versionsOf()).filter((v) => v.job_id === 'failover');
      expect(versions).toHaveLength(1);
      expect(versions[0].digest).toBe(expected);
      console.log(`failover: takeover ${takeoverSeconds.toFixed(2)} s after SIGKILL (TTL ${TTL_SECONDS} s), resumed from epoch ${String(resumed!.data.resumed_from_epoch)}`);
    }, 180_000);

    it('cancels through the reactor a job a worker trains: the worker sees it on its heartbeat and stops the trainer', async () => {
      const survivor = (await Promise.all(workers.map(async (w) => ((await health(w).catch(() => null)) ? w : null)))).find((w) => w !== null)!;
      const experiences = snipsExperiences(rows.filter((_, i) => i % 2 === 1), 'c');
      expect((await postJson(`${reactor.url}/api/training/start`, { job_id: 'cancel-me', model_type: 'nlu', experiences, epochs: 20, config: { seed: 5 } })).status).toBe(200);
      await waitFor(async () => (await status('cancel-me')).status === 'training' && (await health(survivor)).current_job === 'cancel-me', 60_000, 'the worker to train it');
      const t0 = Date.now();
      const res = await postJson<{ status: string }>(`${reactor.url}/api/training/cancel/cancel-me`, {});
      const seconds = (Date.now() - t0) / 1000;
      expect(res).toMatchObject({ status: 200, body: { status: 'cancelled' } });
      expect(seconds).toBeLessThan(5);
      expect((await status('cancel-me')).status).toBe('cancelled');
      await waitFor(async () => (await health(survivor)).current_job === null, 5_000, 'the worker to let the job go');
      const events = await readSse(`${reactor.url}/api/training/stream/cancel-me`, () => undefined);
      expect(events.filter((e) => e.event === 'cancelled')).toHaveLength(1);
      expect(events.at(-1)!.event).toBe('cancelled');
      console.log(`cross-process cancel answered in ${seconds.toFixed(2)} s`);
    }, 120_000);
  });
}
