import { existsSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ExperienceIntake, normalizeExperience, sha256Hex, type IngestedEvent, type RejectedEvent, type RejectionRecord } from '../../src/experiences/index.js';
import type { ExperienceStore } from '../../src/experiences/experiences-store.js';
import { memoryStore, nlu, tempDir, waitFor } from './helpers.js';

let dir: string;
let cleanup: () => void;
let store: ExperienceStore;
let intake: ExperienceIntake | null;

beforeEach(() => {
  ({ dir, cleanup } = tempDir());
  ({ store } = memoryStore());
  intake = null;
});

afterEach(async () => {
  await intake?.close();
  cleanup();
});

/** Writes a file; `old` backdates it so it is not taken for a write in progress. */
function put(name: string, content: string | object, old = true): string {
  const path = join(dir, name);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  if (old) utimesSync(path, new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));
  return path;
}

function create(opts: { watch?: boolean; batchSize?: number; settleMs?: number } = {}): ExperienceIntake {
  intake = new ExperienceIntake({ dir, store, watch: opts.watch ?? false, reconcileIntervalMs: 60_000, batchSize: opts.batchSize, settleMs: opts.settleMs ?? 300 });
  return intake;
}

const remaining = () => readdirSync(dir).filter((n) => n !== 'rejected').sort();
const rejectedFiles = () => readdirSync(join(dir, 'rejected')).sort();
const reason = (name: string) => JSON.parse(readFileSync(join(dir, 'rejected', `${name}.error.json`), 'utf8')) as RejectionRecord;
const nluTotal = async () => (await (await store.stats())).types.nlu.total;

describe('ExperienceIntake', () => {
  it('ingests all four file forms whatever their names, then deletes them', async () => {
    put('experiences_nlu_1736895345.json', { batch_id: 'b1', model_type: 'nlu', experiences: [{ input: { text: 'a' }, expected_output: { intent: 'A' } }], created_at: 1 });
    put('5_1736895345123_abc.json', { event_type: 'learning_signal', event_id: 'abc', payload: { experiences: [nlu('b', 'B'), nlu('c', 'C')] } });
    put('one-experience.txt', nlu('d', 'D'));
    put('lines.jsonl', `${JSON.stringify(nlu('e', 'E'))}\n${JSON.stringify(nlu('f', 'F'))}\n`);
    put('more.ndjson', `${JSON.stringify(nlu('g', 'G'))}\n`);
    const seen: IngestedEvent[] = [];
    const i = create();
    i.on('ingested', (e) => seen.push(e));
    await i.start();
    expect(remaining()).toEqual([]);
    expect((await store.stats()).types.nlu).toMatchObject({ total: 7, usable: 7 });
    // Name order, one at a time.
    expect(seen.map((e) => e.file)).toEqual(['5_1736895345123_abc.json', 'experiences_nlu_1736895345.json', 'lines.jsonl', 'more.ndjson', 'one-experience.txt']);
    expect(seen[0]).toMatchObject({ status: 'ingested', accepted: 2, duplicates: 0, rejected: 0 });
    expect(rejectedFiles()).toEqual([]);
  });

  it('quarantines unusable files in rejected/ with the reason next to them', async () => {
    put('broken.json', '{"type": "command", "input": {"te');
    put('empty.json', '');
    put('shape.json', { hello: 'world' });
    put('nothing.json', { batch_id: 'x', experiences: [] });
    put('numbers.json', [1, 2, 3]);
    const rejected: RejectedEvent[] = [];
    const i = create();
    i.on('rejected', (e) => rejected.push(e));
    await i.start();
    expect(remaining()).toEqual([]);
    expect(rejected.map((r) => r.error)).toEqual(['not JSON', 'empty file', 'no experiences', 'no valid experiences', 'wrong shape']);
    expect(rejectedFiles()).toEqual(
      ['broken.json', 'empty.json', 'nothing.json', 'numbers.json', 'shape.json'].flatMap((n) => [n, `${n}.error.json`]).sort(),
    );
    expect(reason('broken.json')).toMatchObject({ file: 'broken.json', error: 'not JSON', details: expect.stringContaining('JSON'), rejected_at: expect.any(String) });
    expect(reason('numbers.json').items).toHaveLength(3);
    expect(readFileSync(join(dir, 'rejected', 'broken.json'), 'utf8')).toBe('{"type": "command", "input": {"te');
    expect(await store.size()).toBe(0);
  });

  it('lets the valid siblings of bad items in and quarantines only the bad items', async () => {
    put('batch.json', { batch_id: 'b', model_type: 'nlu', experiences: [nlu('ok1', 'A'), 'junk', nlu('ok2', 'B'), { ...nlu('x', 'C'), id: 17 }], created_at: 1 });
    put('lines.jsonl', `${JSON.stringify(nlu('l1', 'A'))}\nnot json at all\n${JSON.stringify(nlu('l2', 'A'))}\n[1]\n`);
    await create().start();
    expect(remaining()).toEqual([]);
    expect(await nluTotal()).toBe(4);
    const part = JSON.parse(readFileSync(join(dir, 'rejected', 'batch.json'), 'utf8')) as { batch_id: string; experiences: unknown[] };
    expect(part).toMatchObject({ batch_id: 'b', experiences: ['junk', { id: 17 }] });
    expect(reason('batch.json')).toMatchObject({ error: '2 of 4 experiences rejected', items: [{ index: 1 }, { index: 3 }] });
    expect(readFileSync(join(dir, 'rejected', 'lines.jsonl'), 'utf8')).toBe('not json at all\n[1]\n');
    expect(reason('lines.jsonl').items).toEqual([
      { index: 1, error: expect.stringContaining('line 2 is not JSON') },
      { index: 3, error: 'an experience must be a JSON object, got an array of 1' },
    ]);
  });

  it('ignores dot-files, *.tmp files and the rejected/ folder', async () => {
    put('.in-flight.json', nlu('a', 'A'));
    put('writing.json.tmp', nlu('b', 'B'));
    put('UPPER.TMP', nlu('c', 'C'));
    await create().start();
    expect(remaining()).toEqual(['.in-flight.json', 'UPPER.TMP', 'writing.json.tmp']);
    expect(await store.size()).toBe(0);
  });

  it('adds nothing twice: the same file under two names, and one experience in two files', async () => {
    const batch = { batch_id: 'b', model_type: 'nlu', experiences: [nlu('a', 'A'), nlu('b', 'B')], created_at: 1 };
    put('first.json', batch);
    put('copy.json', batch);
    put('overlap.jsonl', `${JSON.stringify(nlu('a', 'A'))}\n${JSON.stringify(nlu('new', 'N'))}\n`);
    const seen: IngestedEvent[] = [];
    const i = create();
    i.on('ingested', (e) => seen.push(e));
    await i.start();
    expect(remaining()).toEqual([]);
    expect(await nluTotal()).toBe(3);
    expect(seen.map((e) => e.status)).toEqual(['ingested', 'already_ingested', 'ingested']);
    expect(seen[2]).toMatchObject({ accepted: 1, duplicates: 1 });
    // Dropped again later: still nothing new.
    put('again.json', batch);
    await i.scanNow();
    expect(remaining()).toEqual([]);
    expect(await nluTotal()).toBe(3);
  });

  it('commits a large file in batches and records it once', async () => {
    const experiences = Array.from({ length: 35 }, (_, k) => nlu(`t${k}`, 'A'));
    put('big.json', { batch_id: 'big', model_type: 'nlu', experiences, created_at: 1 });
    await create({ batchSize: 10 }).start();
    expect(await nluTotal()).toBe(35);
    expect(remaining()).toEqual([]);
  });

  it('waits for a half-written file instead of rejecting it, then ingests it once complete', async () => {
    const full = JSON.stringify({ batch_id: 'h', model_type: 'nlu', experiences: [nlu('a', 'A'), nlu('b', 'B')] });
    const path = put('half.json', full.slice(0, 30), false);
    const deferred: string[] = [];
    const i = create({ settleMs: 400 });
    i.on('deferred', (e) => deferred.push(e.file));
    await i.start();
    expect(deferred).toEqual(['half.json']);
    expect(remaining()).toEqual(['half.json']);
    writeFileSync(path, full);
    await waitFor(() => !existsSync(path), 5000, 'half.json to be ingested');
    expect(await nluTotal()).toBe(2);
    expect(rejectedFiles()).toEqual([]);
  });

  it('gives a fresh JSON lines file time to settle before reading it', async () => {
    put('fresh.jsonl', `${JSON.stringify(nlu('a', 'A'))}\n`, false);
    const i = create({ settleMs: 300 });
    await i.start();
    expect(remaining()).toEqual(['fresh.jsonl']);
    await waitFor(() => remaining().length === 0, 5000, 'fresh.jsonl to be ingested');
    expect(await nluTotal()).toBe(1);
  });

  it('picks up files dropped after start through the watcher', async () => {
    const i = create({ watch: true });
    await i.start();
    put('later.json', nlu('late', 'L'));
    await waitFor(() => remaining().length === 0, 10_000, 'later.json to be ingested');
    expect(await nluTotal()).toBe(1);
  });

  it('keeps both of two different bad files rejected under the same name', async () => {
    put('bad.json', '{nope');
    const i = create();
    await i.start();
    put('bad.json', '{still nope');
    await i.scanNow();
    const files = rejectedFiles();
    expect(files).toHaveLength(4);
    expect(files.filter((f) => f.endsWith('.error.json'))).toHaveLength(2);
  });

  it('adds nothing twice when a crash left a file partly committed (some batches in, no file record)', async () => {
    const experiences = Array.from({ length: 25 }, (_, k) => nlu(`t${k}`, 'A'));
    put('big.json', { batch_id: 'big', model_type: 'nlu', experiences, created_at: 1 });
    // The second transaction fails as if the process died there: the first 10 rows are committed.
    const real = store.insertBatch.bind(store);
    let calls = 0;
    store.insertBatch = (rows, options) => {
      if (++calls === 2) throw new Error('simulated crash');
      return real(rows, options);
    };
    const failed = create({ batchSize: 10 });
    const errors: string[] = [];
    failed.on('error', (err) => errors.push(err.message));
    await failed.start();
    await failed.close();
    expect(errors).toEqual(['simulated crash']);
    expect(await nluTotal()).toBe(10);
    expect(remaining()).toEqual(['big.json']);

    store.insertBatch = real;
    const seen: IngestedEvent[] = [];
    const restarted = create({ batchSize: 10 });
    restarted.on('ingested', (e) => seen.push(e));
    await restarted.start();
    expect(await nluTotal()).toBe(25);
    expect(seen).toMatchObject([{ status: 'ingested', accepted: 15, duplicates: 10 }]);
    expect(remaining()).toEqual([]);
  });

  it('only deletes a file whose rows were committed before a crash kept it from being deleted', async () => {
    const content = JSON.stringify({ batch_id: 'c', model_type: 'nlu', experiences: [nlu('a', 'A')], created_at: 1 });
    put('committed.json', content);
    const res = normalizeExperience(nlu('a', 'A'));
    if (!res.ok) throw new Error(res.error);
    await store.insertBatch([res.experience], { source: 'file:committed.json', file: { sha256: sha256Hex(content), name: 'committed.json', rejected: 0 } });
    const seen: IngestedEvent[] = [];
    const i = create();
    i.on('ingested', (e) => seen.push(e));
    await i.start();
    expect(seen.map((e) => e.status)).toEqual(['already_ingested']);
    expect(remaining()).toEqual([]);
    expect(await nluTotal()).toBe(1);
  });

  it('closes once: close() twice returns the same promise, and start after close does nothing', async () => {
    const i = create({ watch: true });
    await i.start();
    const a = i.close();
    expect(i.close()).toBe(a);
    await a;
  });

  it('refuses bad options with the option named', () => {
    expect(() => new ExperienceIntake({ dir, store, batchSize: 0 })).toThrow('ExperienceIntake option batchSize must be a positive integer, got 0');
    expect(() => new ExperienceIntake({ dir: '', store })).toThrow(/option dir/);
  });
});
