/** The training jobs store (jobs-store.ts) on SQLite and Postgres: jobs, their numbered event logs, fencing tokens. */
import { expect, it } from 'vitest';
import { JobStore } from '../../src/training/jobs-store.js';
import { describeStores } from './harness.js';

describeStores('JobStore', (fresh) => {
  it('creates a job once, patches it with its events, and lists and counts jobs', async () => {
    const { db } = await fresh();
    const jobs = new JobStore(db);
    const first = await jobs.create({ jobId: 'j1', modelType: 'nlu', request: { epochs: 2 }, totalEpochs: 2 });
    expect(first).toMatchObject({ created: true, job: { jobId: 'j1', status: 'queued', request: { epochs: 2 }, workerPool: 'local', epoch: 0, metrics: null } });
    expect((await jobs.create({ jobId: 'j1', modelType: 'voice', request: {}, totalEpochs: 9 })).created).toBe(false);
    await jobs.create({ jobId: 'j2', modelType: 'voice', request: {}, totalEpochs: 1 });
    const e = await jobs.appendEvent('j1', 'status', { epoch: 1 }, { status: 'training', epoch: 1, metrics: { loss: 0.5 }, checkpoint: { epoch: 1, checkpoint_path: 'c/1' } });
    expect(e).toMatchObject({ id: 1, event: 'status', data: { epoch: 1 } });
    expect(await jobs.get('j1')).toMatchObject({ status: 'training', epoch: 1, metrics: { loss: 0.5 }, checkpoint: { epoch: 1, checkpoint_path: 'c/1' } });
    expect((await jobs.appendEvent('j1', 'completed', {}, { status: 'completed', metrics: { loss: 0.1, samples_per_second: 900 }, completedAt: 5 })).id).toBe(2);
    expect((await jobs.eventsSince('j1', 0)).map((x) => [x.id, x.event])).toEqual([
      [1, 'status'],
      [2, 'completed'],
    ]);
    expect(await jobs.eventsSince('j1', 1)).toHaveLength(1);
    expect(await jobs.countActive()).toBe(1);
    expect((await jobs.withStatus('queued')).map((j) => j.jobId)).toEqual(['j2']);
    expect((await jobs.list()).map((j) => j.jobId)).toEqual(['j2', 'j1']);
    expect((await jobs.list({ modelType: 'nlu', status: 'completed', limit: 1 })).map((j) => j.jobId)).toEqual(['j1']);
    expect(await jobs.lastSamplesPerSecond('nlu')).toBe(900);
    expect(await jobs.lastSamplesPerSecond('voice')).toBeUndefined();
    expect(await jobs.update('j2', { error: 'x', status: 'failed' })).toMatchObject({ error: 'x', status: 'failed' });
  });

  it('numbers one job’s events 1, 2, 3… without a gap or a duplicate when appenders race on separate connections', async () => {
    const { db, another } = await fresh();
    const stores = [new JobStore(db), new JobStore(await another()), new JobStore(await another())];
    await stores[0].create({ jobId: 'j', modelType: 'nlu', request: {}, totalEpochs: 1 });
    const ids = await Promise.all(Array.from({ length: 30 }, (_, i) => stores[i % 3].appendEvent('j', 'status', { i })));
    expect(ids.map((e) => e.id).sort((a, b) => a - b)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    expect((await stores[1].eventsSince('j', 0)).map((e) => e.id)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
  });

  it('accepts a fencing token at or above the highest seen and returns that highest for an older one', async () => {
    const { db, another } = await fresh();
    const jobs = new JobStore(db);
    expect(await jobs.checkFencingToken('slot', 5)).toBeNull();
    expect(await jobs.checkFencingToken('slot', 5)).toBeNull();
    expect(await jobs.checkFencingToken('slot', 4)).toBe(5);
    expect(await new JobStore(await another()).checkFencingToken('slot', 7)).toBeNull();
    expect(await jobs.checkFencingToken('slot', 6)).toBe(7);
    expect(await jobs.checkFencingToken('other', 1)).toBeNull();
  });
});
