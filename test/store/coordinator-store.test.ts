import { spawnSync } from 'node:child_process';
import { expect, it } from 'vitest';
import { thisProcess } from '../../src/util/process-identity.js';
import { CoordinatorStore } from '../../src/coordinator/coordinator-store.js';
import type { ModelType } from '../../src/model-types.js';
import { describeStores } from './harness.js';

const SLOT = 'training_slot';
const job = (jobId: string, modelType: ModelType, priority: number) => ({ jobId, modelType, priority, epochs: null, source: 'manual' as const, triggerCount: null });

describeStores('CoordinatorStore', (fresh) => {
  const open = async () => new CoordinatorStore((await fresh()).db);

  it('keeps one queued job per model type and hands jobs out by priority, then first in first out', async () => {
    const store = await open();
    expect((await store.enqueue(job('e1', 'embedding', 0), 1)).created).toBe(true);
    expect((await store.enqueue(job('n1', 'nlu', 2), 2)).created).toBe(true);
    const dup = await store.enqueue(job('n2', 'nlu', 3), 3);
    expect(dup).toMatchObject({ created: false, job: { jobId: 'n1', priority: 2 } });
    expect((await store.enqueue(job('v1', 'voice', 2), 4)).created).toBe(true);
    expect((await store.active()).map((j) => j.jobId)).toEqual(['n1', 'v1', 'e1']);

    const order: string[] = [];
    for (let i = 0; i < 3; i++) {
      const c = await store.claimNext(SLOT, 'h', 1, 10, 10 + i);
      expect(c.granted).toBe(true);
      if (!c.granted) return;
      order.push(c.job.jobId);
      expect(await store.finish(SLOT, c.job.jobId, 'h', { status: 'completed', error: null, details: {} }, 10 + i)).toBe(true);
    }
    expect(order).toEqual(['n1', 'v1', 'e1']);
    expect(await store.claimNext(SLOT, 'h', 1, 10, 20)).toMatchObject({ granted: false, queued: 0 });
  });

  it('grants at most capacity leases, each with a larger fencing token than any before', async () => {
    const store = await open();
    const a = (await store.acquire(SLOT, 'a', 2, 10, 0))!;
    const b = (await store.acquire(SLOT, 'b', 2, 10, 0))!;
    expect(await store.acquire(SLOT, 'c', 2, 10, 0)).toBeNull();
    expect(b.token).toBeGreaterThan(a.token);
    // Asking again while holding renews, it is not a second grant.
    expect(await store.acquire(SLOT, 'a', 2, 10, 1)).toMatchObject({ token: a.token, expiresAt: 11 });
    await store.release(SLOT, 'a');
    const c = (await store.acquire(SLOT, 'c', 2, 10, 2))!;
    expect(c.token).toBeGreaterThan(b.token);
    const t = (await store.retoken(SLOT, 'c', 3))!;
    expect(t).toBeGreaterThan(c.token);
    expect((await store.liveLeases(SLOT, 3)).map((l) => [l.holder, l.token])).toEqual([
      ['b', b.token],
      ['c', t],
    ]);
  });

  it('lets a lease run out: renewal fails after expiry and the slot goes to the next holder', async () => {
    const store = await open();
    const a = (await store.acquire(SLOT, 'a', 1, 5, 100))!;
    expect(await store.renew(SLOT, 'a', 5, 104)).toMatchObject({ expiresAt: 109 });
    expect(await store.acquire(SLOT, 'b', 1, 5, 108.9)).toBeNull();
    const b = (await store.acquire(SLOT, 'b', 1, 5, 109))!;
    expect(b.token).toBeGreaterThan(a.token);
    expect(await store.renew(SLOT, 'a', 5, 109.5)).toBeNull();
    expect(await store.retoken(SLOT, 'a', 109.5)).toBeNull();
  });

  it('puts a running job whose holder lost its lease back in the queue, keeping its place and reactor job id', async () => {
    const store = await open();
    await store.enqueue(job('v1', 'voice', 3), 1);
    await store.enqueue(job('n1', 'nlu', 2), 2);
    const c = await store.claimNext(SLOT, 'dead', 1, 5, 10);
    expect(c.granted && c.job.jobId).toBe('v1');
    await store.updateRunning('v1', 'dead', { reactorJobId: 'v1' }, 11);
    expect(await store.recoverOrphans(SLOT, 14)).toEqual([]);
    const recovered = await store.recoverOrphans(SLOT, 15);
    expect(recovered.map((r) => [r.job.jobId, r.requeued])).toEqual([['v1', true]]);
    const again = await store.claimNext(SLOT, 'alive', 1, 5, 16);
    expect(again.granted && [again.job.jobId, again.job.reactorJobId, again.job.details.requeues]).toEqual(['v1', 'v1', 1]);
    // The dead holder can no longer touch it.
    expect(await store.updateRunning('v1', 'dead', { error: 'x' }, 17)).toBe(false);
    expect(await store.finish(SLOT, 'v1', 'dead', { status: 'failed', error: 'x', details: {} }, 17)).toBe(false);
  });

  it('fails a requeued job as superseded when its type was queued again meanwhile', async () => {
    const store = await open();
    await store.enqueue(job('n1', 'nlu', 2), 1);
    const c = await store.claimNext(SLOT, 'h', 1, 5, 2);
    expect(c.granted).toBe(true);
    await store.enqueue(job('n2', 'nlu', 2), 3);
    expect(await store.requeue(SLOT, 'n1', 'h', 'requeued: test', {}, 4)).toBe(true);
    expect(await store.get('n1')).toMatchObject({ status: 'failed', error: 'requeued: test; superseded by queued job n2' });
    expect(await store.liveLeases(SLOT, 4)).toEqual([]);
  });

  it('keeps a job whose reactor job was started running when its type was queued again, and gives it to the next grant first', async () => {
    const store = await open();
    await store.enqueue(job('n1', 'nlu', 2), 1);
    await store.claimNext(SLOT, 'gone', 1, 5, 2);
    await store.updateRunning('n1', 'gone', { reactorJobId: 'n1' }, 2);
    await store.enqueue(job('n2', 'nlu', 2), 3);
    await store.enqueue(job('v1', 'voice', 3), 3);
    // Its lease ran out: nothing to report, it stays running (its reactor job may still be training).
    expect(await store.recoverOrphans(SLOT, 8)).toEqual([]);
    expect(await store.get('n1')).toMatchObject({ status: 'running', waitingReason: 'waiting for a holder: its holder gone lost its lease on training_slot' });
    const next = await store.claimNext(SLOT, 'next', 1, 5, 9);
    expect(next.granted && [next.job.jobId, next.job.status, next.job.holder, next.job.reactorJobId, next.lease.token]).toEqual(['n1', 'running', 'next', 'n1', 2]);
    expect(await store.finish(SLOT, 'n1', 'next', { status: 'completed', error: null, details: {} }, 10)).toBe(true);
    // Then the queue in its order.
    const after = await store.claimNext(SLOT, 'next', 1, 5, 11);
    expect(after.granted && after.job.jobId).toBe('v1');
  });
});

describeStores('CoordinatorStore leases of processes', (fresh) => {
  const me = thisProcess();
  // A pid that was ours a moment ago and has ended.
  const deadPid = spawnSync(process.execPath, ['-e', '']).pid!;
  const open = async () => {
    const store = new CoordinatorStore((await fresh()).db);
    await store.enqueue(job('n1', 'nlu', 2), 1);
    return store;
  };

  it('takes the lease and job of a holder on this host that has died at once, long before its TTL', async () => {
    const store = await open();
    const dead = await store.claimNext(SLOT, 'dead', 1, 7200, 2, { ...me, pid: deadPid });
    const recovered = await store.recoverOrphans(SLOT, 3);
    expect(recovered.map((r) => [r.job.jobId, r.requeued, r.job.holder])).toEqual([['n1', true, 'dead']]);
    const next = await store.claimNext(SLOT, 'next', 1, 7200, 3, me);
    if (!dead.granted || !next.granted) throw new Error('both claims should be granted');
    expect([next.job.jobId, next.lease.holder]).toEqual(['n1', 'next']);
    expect(next.lease.token).toBeGreaterThan(dead.lease.token);
  });

  it('treats a pid that now names another process (another start time) as its holder having died', async () => {
    const store = await open();
    await store.claimNext(SLOT, 'reused', 1, 7200, 2, { ...me, startTime: (me.startTime ?? 0) + 1 });
    expect((await store.recoverOrphans(SLOT, 3)).map((r) => r.job.jobId)).toEqual(me.startTime === null ? [] : ['n1']);
  });

  it('leaves the lease of a live holder, and of a holder on another host, until its TTL', async () => {
    const store = await open();
    await store.enqueue(job('v1', 'voice', 3), 1);
    await store.claimNext(SLOT, 'alive', 2, 10, 2, me);
    await store.claimNext(SLOT, 'elsewhere', 2, 10, 2, { host: 'another-host', pid: deadPid, startTime: null });
    expect(await store.recoverOrphans(SLOT, 11.9)).toEqual([]);
    expect((await store.liveLeases(SLOT, 11.9)).map((l) => [l.holder, l.owner?.host])).toEqual([
      ['alive', me.host],
      ['elsewhere', 'another-host'],
    ]);
    expect((await store.recoverOrphans(SLOT, 12)).map((r) => r.job.jobId).sort()).toEqual(['n1', 'v1']);
  });
});

describeStores('CoordinatorStore across connections', (fresh) => {
  const handles = async (n: number) => {
    const { db, another } = await fresh();
    const out = [new CoordinatorStore(db)];
    while (out.length < n) out.push(new CoordinatorStore(await another()));
    return out;
  };

  it('grants the lease to exactly one of two handles racing for it, with a larger token each time', async () => {
    const [a, b] = await handles(2);
    let last = 0;
    for (let round = 0; round < 12; round++) {
      // Every third round the holder stalls past its TTL instead of releasing.
      const now = 100 + round * 20;
      const got = await Promise.all([a.acquire(SLOT, `a${round}`, 1, 10, now), b.acquire(SLOT, `b${round}`, 1, 10, now)]);
      const granted = got.filter((l) => l !== null);
      expect(granted).toHaveLength(1);
      expect(granted[0]!.token).toBeGreaterThan(last);
      last = granted[0]!.token;
      expect((await a.liveLeases(SLOT, now)).map((l) => l.holder)).toEqual([granted[0]!.holder]);
      if (round % 3 !== 2) await (round % 2 ? a : b).release(SLOT, granted[0]!.holder);
    }
  });

  it('hands each queued job to one claimer only, highest priority first, when three handles race', async () => {
    const stores = await handles(3);
    const types: [ModelType, number][] = [
      ['embedding', 0],
      ['vision', 1],
      ['nlu', 2],
      ['voice', 3],
    ];
    for (const [i, [type, priority]] of types.entries()) await stores[0].enqueue(job(`${type}-1`, type, priority), i);
    const claims = await Promise.all(stores.flatMap((s, i) => [s.claimNext(SLOT, `h${i}a`, 4, 60, 10), s.claimNext(SLOT, `h${i}b`, 4, 60, 10)]));
    const granted = claims.flatMap((c) => (c.granted ? [c] : []));
    expect(granted.map((c) => c.job.jobId).sort()).toEqual(['embedding-1', 'nlu-1', 'vision-1', 'voice-1']);
    // Grants are serialised per lock: the order of their tokens is the order of the queue.
    expect(granted.sort((x, y) => x.lease.token - y.lease.token).map((c) => c.job.modelType)).toEqual(['voice', 'nlu', 'vision', 'embedding']);
    expect(new Set(granted.map((c) => c.lease.holder)).size).toBe(4);
  });
});
