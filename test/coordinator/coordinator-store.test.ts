import { spawnSync } from 'node:child_process';
import { beforeEach, describe, expect, it } from 'vitest';
import { thisProcess } from '../../src/util/process-identity.js';
import { CoordinatorStore } from '../../src/coordinator/coordinator-store.js';
import { openDatabase, type Db } from '../../src/store/database.js';
import type { ModelType } from '../../src/model-types.js';

const SLOT = 'training_slot';
const job = (jobId: string, modelType: ModelType, priority: number) => ({ jobId, modelType, priority, epochs: null, source: 'manual' as const, triggerCount: null });

describe('CoordinatorStore', () => {
  let db: Db;
  let store: CoordinatorStore;
  beforeEach(() => {
    db = openDatabase({ path: ':memory:' });
    store = new CoordinatorStore(db);
  });

  it('keeps one queued job per model type and hands jobs out by priority, then first in first out', () => {
    expect(store.enqueue(job('e1', 'embedding', 0), 1).created).toBe(true);
    expect(store.enqueue(job('n1', 'nlu', 2), 2).created).toBe(true);
    const dup = store.enqueue(job('n2', 'nlu', 3), 3);
    expect(dup).toMatchObject({ created: false, job: { jobId: 'n1', priority: 2 } });
    expect(store.enqueue(job('v1', 'voice', 2), 4).created).toBe(true);
    expect(store.active().map((j) => j.jobId)).toEqual(['n1', 'v1', 'e1']);

    const order: string[] = [];
    for (let i = 0; i < 3; i++) {
      const c = store.claimNext(SLOT, 'h', 1, 10, 10 + i);
      expect(c.granted).toBe(true);
      if (!c.granted) return;
      order.push(c.job.jobId);
      expect(store.finish(SLOT, c.job.jobId, 'h', { status: 'completed', error: null, details: {} }, 10 + i)).toBe(true);
    }
    expect(order).toEqual(['n1', 'v1', 'e1']);
    expect(store.claimNext(SLOT, 'h', 1, 10, 20)).toMatchObject({ granted: false, queued: 0 });
  });

  it('grants at most capacity leases, each with a larger fencing token than any before', () => {
    const a = store.acquire(SLOT, 'a', 2, 10, 0)!;
    const b = store.acquire(SLOT, 'b', 2, 10, 0)!;
    expect(store.acquire(SLOT, 'c', 2, 10, 0)).toBeNull();
    expect(b.token).toBeGreaterThan(a.token);
    // Asking again while holding renews, it is not a second grant.
    expect(store.acquire(SLOT, 'a', 2, 10, 1)).toMatchObject({ token: a.token, expiresAt: 11 });
    store.release(SLOT, 'a');
    const c = store.acquire(SLOT, 'c', 2, 10, 2)!;
    expect(c.token).toBeGreaterThan(b.token);
    const t = store.retoken(SLOT, 'c', 3)!;
    expect(t).toBeGreaterThan(c.token);
    expect(store.liveLeases(SLOT, 3).map((l) => [l.holder, l.token])).toEqual([
      ['b', b.token],
      ['c', t],
    ]);
  });

  it('lets a lease run out: renewal fails after expiry and the slot goes to the next holder', () => {
    const a = store.acquire(SLOT, 'a', 1, 5, 100)!;
    expect(store.renew(SLOT, 'a', 5, 104)).toMatchObject({ expiresAt: 109 });
    expect(store.acquire(SLOT, 'b', 1, 5, 108.9)).toBeNull();
    const b = store.acquire(SLOT, 'b', 1, 5, 109)!;
    expect(b.token).toBeGreaterThan(a.token);
    expect(store.renew(SLOT, 'a', 5, 109.5)).toBeNull();
    expect(store.retoken(SLOT, 'a', 109.5)).toBeNull();
  });

  it('puts a running job whose holder lost its lease back in the queue, keeping its place and reactor job id', () => {
    store.enqueue(job('v1', 'voice', 3), 1);
    store.enqueue(job('n1', 'nlu', 2), 2);
    const c = store.claimNext(SLOT, 'dead', 1, 5, 10);
    expect(c.granted && c.job.jobId).toBe('v1');
    store.updateRunning('v1', 'dead', { reactorJobId: 'v1' }, 11);
    expect(store.recoverOrphans(SLOT, 14)).toEqual([]);
    const recovered = store.recoverOrphans(SLOT, 15);
    expect(recovered.map((r) => [r.job.jobId, r.requeued])).toEqual([['v1', true]]);
    const again = store.claimNext(SLOT, 'alive', 1, 5, 16);
    expect(again.granted && [again.job.jobId, again.job.reactorJobId, again.job.details.requeues]).toEqual(['v1', 'v1', 1]);
    // The dead holder can no longer touch it.
    expect(store.updateRunning('v1', 'dead', { error: 'x' }, 17)).toBe(false);
    expect(store.finish(SLOT, 'v1', 'dead', { status: 'failed', error: 'x', details: {} }, 17)).toBe(false);
  });

  it('fails a requeued job as superseded when its type was queued again meanwhile', () => {
    store.enqueue(job('n1', 'nlu', 2), 1);
    const c = store.claimNext(SLOT, 'h', 1, 5, 2);
    expect(c.granted).toBe(true);
    store.enqueue(job('n2', 'nlu', 2), 3);
    expect(store.requeue(SLOT, 'n1', 'h', 'requeued: test', {}, 4)).toBe(true);
    expect(store.get('n1')).toMatchObject({ status: 'failed', error: 'requeued: test; superseded by queued job n2' });
    expect(store.liveLeases(SLOT, 4)).toEqual([]);
  });

  it('keeps a job whose reactor job was started running when its type was queued again, and gives it to the next grant first', () => {
    store.enqueue(job('n1', 'nlu', 2), 1);
    store.claimNext(SLOT, 'gone', 1, 5, 2);
    store.updateRunning('n1', 'gone', { reactorJobId: 'n1' }, 2);
    store.enqueue(job('n2', 'nlu', 2), 3);
    store.enqueue(job('v1', 'voice', 3), 3);
    // Its lease ran out: nothing to report, it stays running (its reactor job may still be training).
    expect(store.recoverOrphans(SLOT, 8)).toEqual([]);
    expect(store.get('n1')).toMatchObject({ status: 'running', waitingReason: 'waiting for a holder: its holder gone lost its lease on training_slot' });
    const next = store.claimNext(SLOT, 'next', 1, 5, 9);
    expect(next.granted && [next.job.jobId, next.job.status, next.job.holder, next.job.reactorJobId, next.lease.token]).toEqual(['n1', 'running', 'next', 'n1', 2]);
    expect(store.finish(SLOT, 'n1', 'next', { status: 'completed', error: null, details: {} }, 10)).toBe(true);
    // Then the queue in its order.
    const after = store.claimNext(SLOT, 'next', 1, 5, 11);
    expect(after.granted && after.job.jobId).toBe('v1');
  });
});

describe('CoordinatorStore leases of processes', () => {
  const me = thisProcess();
  // A pid that was ours a moment ago and has ended.
  const deadPid = spawnSync(process.execPath, ['-e', '']).pid!;
  let store: CoordinatorStore;
  beforeEach(() => {
    store = new CoordinatorStore(openDatabase({ path: ':memory:' }));
    store.enqueue(job('n1', 'nlu', 2), 1);
  });

  it('takes the lease and job of a holder on this host that has died at once, long before its TTL', () => {
    const dead = store.claimNext(SLOT, 'dead', 1, 7200, 2, { ...me, pid: deadPid });
    const recovered = store.recoverOrphans(SLOT, 3);
    expect(recovered.map((r) => [r.job.jobId, r.requeued, r.job.holder])).toEqual([['n1', true, 'dead']]);
    const next = store.claimNext(SLOT, 'next', 1, 7200, 3, me);
    if (!dead.granted || !next.granted) throw new Error('both claims should be granted');
    expect([next.job.jobId, next.lease.holder]).toEqual(['n1', 'next']);
    expect(next.lease.token).toBeGreaterThan(dead.lease.token);
  });

  it('treats a pid that now names another process (another start time) as its holder having died', () => {
    store.claimNext(SLOT, 'reused', 1, 7200, 2, { ...me, startTime: (me.startTime ?? 0) + 1 });
    expect(store.recoverOrphans(SLOT, 3).map((r) => r.job.jobId)).toEqual(me.startTime === null ? [] : ['n1']);
  });

  it('leaves the lease of a live holder, and of a holder on another host, until its TTL', () => {
    store.enqueue(job('v1', 'voice', 3), 1);
    store.claimNext(SLOT, 'alive', 2, 10, 2, me);
    store.claimNext(SLOT, 'elsewhere', 2, 10, 2, { host: 'another-host', pid: deadPid, startTime: null });
    expect(store.recoverOrphans(SLOT, 11.9)).toEqual([]);
    expect(store.liveLeases(SLOT, 11.9).map((l) => [l.holder, l.owner?.host])).toEqual([
      ['alive', me.host],
      ['elsewhere', 'another-host'],
    ]);
    expect(store.recoverOrphans(SLOT, 12).map((r) => r.job.jobId).sort()).toEqual(['n1', 'v1']);
  });
});
