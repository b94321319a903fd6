import { describe, expect, it } from 'vitest';
import { snapshotEvents, type JobStatus } from '../../src/client/index.js';

const base: JobStatus = { job_id: 'j', status: 'queued', epoch: 0, total_epochs: 4 };

describe('snapshotEvents', () => {
  it('turns the first queued snapshot into one queued event and a repeat into none', () => {
    expect(snapshotEvents(undefined, base).map((e) => e.event)).toEqual(['queued']);
    expect(snapshotEvents(base, base)).toEqual([]);
  });

  it('emits a status event when the epoch moves and a checkpoint event when a new checkpoint appears', () => {
    const t1: JobStatus = { ...base, status: 'training', epoch: 1, loss: 0.5, metrics: { val_accuracy: 0.7 } };
    const t2: JobStatus = { ...t1, epoch: 2, loss: 0.4, checkpoint: { epoch: 2, checkpoint_path: '/c2' } };
    expect(snapshotEvents(base, t1)).toEqual([
      { id: undefined, event: 'status', data: { job_id: 'j', status: 'training', epoch: 1, total_epochs: 4, loss: 0.5, accuracy: undefined, val_loss: undefined, val_accuracy: 0.7 } },
    ]);
    expect(snapshotEvents(t1, t2).map((e) => e.event)).toEqual(['checkpoint', 'status']);
    expect(snapshotEvents(t2, t2)).toEqual([]);
  });

  it('ends with the terminal event carrying version, error or nothing', () => {
    const done = snapshotEvents(base, { ...base, status: 'completed', model_version: 'v1.0.2', metrics: { loss: 0.1 } });
    expect(done.at(-1)).toEqual({ id: undefined, event: 'completed', data: { job_id: 'j', status: 'completed', model_version: 'v1.0.2', metrics: { loss: 0.1 } } });
    expect(snapshotEvents(base, { ...base, status: 'failed', error: 'oom' }).at(-1)).toMatchObject({ event: 'failed', data: { error: 'oom' } });
    expect(snapshotEvents(base, { ...base, status: 'cancelled' }).at(-1)).toMatchObject({ event: 'cancelled' });
  });
});
