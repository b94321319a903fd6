/**
 * ExperienceWriter: the buffer's inserts on a thread of their own connection. What it must keep: a batch
 * is committed when its promise resolves (main-connection reads see it), duplicates and file records as
 * the store counts them, close() after the batches in flight, errors as StoreFailed; and what it is for:
 * the main event loop is not held while batches are committed.
 */
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { afterAll, describe, expect, it } from 'vitest';
import { ExperienceWriter } from '../../src/experiences/experience-writer.js';
import { normalizeExperience } from '../../src/experiences/normalize.js';
import type { NormalizedExperience } from '../../src/experiences/types.js';
import { sqliteStore, tempDir } from './helpers.js';

function experiences(from: number, n: number): NormalizedExperience[] {
  return Array.from({ length: n }, (_, j) => {
    const k = from + j;
    const res = normalizeExperience({ type: 'command', input: { text: `play song number ${k} by artist ${k % 97}` }, expected_output: { intent: `Intent${k % 7}` }, timestamp: 1736895345 + k });
    if (!res.ok) throw new Error(res.error);
    return res.experience;
  });
}

describe('ExperienceWriter', () => {
  const { dir: home, cleanup } = tempDir('trinity-writer-');
  afterAll(() => cleanup());

  it('commits each batch before it resolves, counts duplicates, records the file with its last batch', async () => {
    const path = join(home, 'a.db');
    const { store } = sqliteStore(path);
    const writer = new ExperienceWriter({ path, store });
    expect(await writer.insertBatch(experiences(0, 100), { source: 'http' })).toEqual({ accepted: 100, duplicates: 0 });
    expect((await store.stats()).types.nlu).toMatchObject({ total: 100, usable: 100, new_since_last_training: 100 });
    // Half already in: the thread's transaction skips them, and the kept counts stay equal to the rows.
    expect(await writer.insertBatch(experiences(50, 100), { source: 'http' })).toEqual({ accepted: 50, duplicates: 50 });
    expect(await store.size()).toBe(150);
    const file = { sha256: 'f'.repeat(64), name: 'x.json', rejected: 2 };
    expect(await writer.isFileIngested(file.sha256)).toBe(false);
    await writer.insertBatch(experiences(150, 10), { source: 'file:x.json', file, carried: { accepted: 5, duplicates: 1 } });
    expect(await writer.isFileIngested(file.sha256)).toBe(true);
    expect((await store.stats()).types.nlu.total).toBe(160);
    await writer.close();
  });

  it('close() waits for the batches in flight; later inserts are refused', async () => {
    const path = join(home, 'b.db');
    const { store } = sqliteStore(path);
    const writer = new ExperienceWriter({ path, store });
    const inFlight = [0, 1, 2, 3].map((i) => writer.insertBatch(experiences(i * 250, 250), { source: 'http' }));
    await writer.close();
    expect((await Promise.all(inFlight)).map((c) => c.accepted)).toEqual([250, 250, 250, 250]);
    expect(await store.size()).toBe(1000);
    await expect(writer.insertBatch(experiences(5000, 1), { source: 'http' })).rejects.toMatchObject({ code: 'TRN_ERR_STORE_FAILED' });
  });

  it('a database the thread cannot open fails the batch with StoreFailed, not the process', async () => {
    const { store } = sqliteStore(join(home, 'c.db'));
    const writer = new ExperienceWriter({ path: join(home, 'c.db', 'not-a-folder', 'x.db'), store });
    await expect(writer.insertBatch(experiences(0, 1), { source: 'http' })).rejects.toMatchObject({ code: 'TRN_ERR_STORE_FAILED' });
    await writer.close();
  });

  it('keeps the event loop free while batches commit, where the store itself holds it', async () => {
    const busy = async (insert: (batch: NormalizedExperience[]) => unknown, offset: number) => {
      const batches = Array.from({ length: 80 }, (_, i) => experiences(offset + i * 250, 250));
      const before = performance.eventLoopUtilization();
      for (const b of batches) await insert(b);
      return performance.eventLoopUtilization(before).utilization;
    };
    const path = join(home, 'd.db');
    const { store } = sqliteStore(path);
    const writer = new ExperienceWriter({ path, store });
    await writer.insertBatch(experiences(-1, 1), { source: 'http' }); // thread started
    const onLoop = await busy((b) => store.insertBatch(b, { source: 'http' }), 0);
    const onThread = await busy((b) => writer.insertBatch(b, { source: 'http' }), 100_000);
    await writer.close();
    expect(await store.size()).toBe(1 + 2 * 80 * 250);
    // Synchronous commits keep the loop busy nearly all the time; through the thread it mostly waits.
    expect(onLoop).toBeGreaterThan(0.8);
    expect(onThread).toBeLessThan(onLoop / 2);
  });
});
