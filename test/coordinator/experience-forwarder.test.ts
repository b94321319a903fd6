import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ExperienceForwarder, collectExperiences, type ForwardedFile } from '../../src/coordinator/index.js';
import { containerFromText } from '../../src/experiences/index.js';
import { OutboxStore } from '../../src/coordinator/outbox-store.js';
import { tempHome, waitFor } from '../helpers/processes.js';
import { describeStores } from '../store/harness.js';

const nlu = (i: number) => ({ type: 'command', input: { text: `turn on light ${i}` }, expected_output: { intent: 'lights_on' }, success: true });
const files = (dir: string) => readdirSync(dir).filter((f) => !f.startsWith('.')).sort();

// The outbox is the first store on the async seam: the forwarder runs on SQLite and on Postgres.
describeStores('ExperienceForwarder', (fresh) => {
  const open: ExperienceForwarder[] = [];
  afterEach(async () => {
    for (const f of open.splice(0)) await f.close();
  });

  async function create(dir: string, o: { batchSize: number; flushIntervalMs: number }, outbox?: OutboxStore) {
    outbox ??= new OutboxStore((await fresh()).db);
    const f = new ExperienceForwarder({ outbox, eventsDir: dir, claimer: `t-${open.length}`, ...o });
    open.push(f);
    return { f, outbox };
  }

  it('writes a full batch at once as a spec batch file experiences_<type>_<ts>.json, renamed into place', async () => {
    const dir = join(tempHome(), 'events');
    const { f } = await create(dir, { batchSize: 3, flushIntervalMs: 60_000 });
    const written: ForwardedFile[] = [];
    f.on('forwarded', (x) => written.push(x));
    await f.add((await collectExperiences({ experiences: [nlu(1), nlu(2)] })).items);
    await f.flush({ fullOnly: true });
    expect(written).toEqual([]);
    await f.add((await collectExperiences([nlu(3), nlu(4)])).items);
    await waitFor(() => written.length === 1, 2_000, 'a full batch');
    const [name] = files(dir);
    expect(name).toMatch(/^experiences_nlu_\d{13}\.json$/);
    const body = JSON.parse(readFileSync(join(dir, name), 'utf8')) as { batch_id: string; model_type: string; experiences: unknown[]; created_at: string };
    expect(body).toMatchObject({ model_type: 'nlu', batch_id: expect.stringMatching(/^jarvis-nlu-\d+-\d+$/), created_at: expect.any(String) });
    expect(body.experiences).toEqual([nlu(1), nlu(2), nlu(3)]);
    // Reactor reads the file as a batch.
    expect(containerFromText(name, readFileSync(join(dir, name), 'utf8'))).toMatchObject({ form: 'batch', defaultModelType: 'nlu' });
    expect(readdirSync(dir).filter((x) => x.startsWith('.'))).toEqual([]);
    expect(f.status().pending).toBe(1);
  });

  it('writes what is pending every flush interval, one file per model type', async () => {
    const dir = join(tempHome(), 'events');
    const { f } = await create(dir, { batchSize: 100, flushIntervalMs: 50 });
    f.start();
    const voice = { type: 'voice_auth', input: { audio_embedding: [1, 2] }, expected_output: { user: 'a' }, success: true };
    await f.add((await collectExperiences([nlu(1), voice, { ...nlu(2), model_type: 'nlu' }])).items);
    await waitFor(() => f.status().pending === 0, 2_000, 'time flush');
    expect(files(dir).map((n) => n.replace(/\d+/, 'TS'))).toEqual(['experiences_nlu_TS.json', 'experiences_voice_TS.json']);
  });

  it('keeps experiences while the folder cannot be written and sends them once it can', async () => {
    const home = tempHome();
    const dir = join(home, 'blocked', 'events');
    // A file where a folder should be: mkdir fails (ENOTDIR) even for root, as on a read-only mount.
    writeFileSync(join(home, 'blocked'), 'not a folder');
    const { f } = await create(dir, { batchSize: 2, flushIntervalMs: 30 });
    const failures: Error[] = [];
    f.on('failed', (e) => failures.push(e));
    f.start();
    await f.add((await collectExperiences([nlu(1), nlu(2), nlu(3)])).items);
    await waitFor(() => failures.length >= 2, 2_000, 'failed writes');
    expect(failures[0].message).toMatch(/could not write experience file in .*blocked\/events: (ENOTDIR|EEXIST)/);
    expect(f.status()).toMatchObject({ pending: 3, filesWritten: 0, lastError: expect.stringMatching(/ENOTDIR|EEXIST/) });

    rmSync(join(home, 'blocked'));
    mkdirSync(dir, { recursive: true });
    await waitFor(() => f.status().pending === 0, 2_000, 'retry');
    const all = files(dir).flatMap((n) => (JSON.parse(readFileSync(join(dir, n), 'utf8')) as { experiences: unknown[] }).experiences);
    expect(all).toEqual([nlu(1), nlu(2), nlu(3)]);
    expect(f.status().lastError).toBeNull();
  });

  it('gives two processes sharing the outbox distinct file names and each experience once', async () => {
    const home = tempHome();
    const dir = join(home, 'events');
    const { db, another } = await fresh();
    const a = await create(dir, { batchSize: 1, flushIntervalMs: 60_000 }, new OutboxStore(db));
    const b = await create(dir, { batchSize: 1, flushIntervalMs: 60_000 }, new OutboxStore(await another()));
    await a.f.add((await collectExperiences(Array.from({ length: 20 }, (_, i) => nlu(i)))).items);
    await Promise.all([a.f.flush(), b.f.flush(), a.f.flush(), b.f.flush()]);
    const names = files(dir);
    expect(names).toHaveLength(20);
    const texts = names.map((n) => JSON.stringify((JSON.parse(readFileSync(join(dir, n), 'utf8')) as { experiences: unknown[] }).experiences[0]));
    expect(new Set(texts).size).toBe(20);
  });
});

describe('collectExperiences', () => {
  it('refuses bodies that are no experiences, and reports items that map to no model type', async () => {
    await expect(collectExperiences({ foo: 1 })).rejects.toThrow(/invalid experiences body: wrong shape/);
    const r = await collectExperiences({ experiences: [nlu(1), { type: 'smell', input: {} }, 'x'] });
    expect(r.items).toHaveLength(1);
    expect(r.rejected.map((x) => x.index)).toEqual([1, 2]);
    expect(r.rejected[0].error).toMatch(/type "smell" maps to no model type/);
  });
});
