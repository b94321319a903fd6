/**
 * Claims on training jobs (job-claims.ts), on SQLite and Postgres: the oldest claimable job goes to one
 * runner only; a lease that runs out, or a holder process that is gone, lets another runner take the job
 * under a larger fencing token; the stale holder can neither renew nor append an event; cancels reach a
 * live holder through the database and end a job nobody runs at once. A second handle stands for another
 * process; races run on separate handles (separate connections on Postgres).
 */
import { expect, it } from 'vitest';
import { ClaimLost, JobStore } from '../../src/training/jobs-store.js';
import { JobClaims, type EndJob } from '../../src/training/job-claims.js';
import type { ProcessIdentity } from '../../src/util/process-identity.js';
import { describeStores, type Fresh } from './harness.js';

const TTL = 10;
const elsewhere = (pid: number): ProcessIdentity => ({ host: 'another-host', pid, startTime: null });

async function setup(fresh: () => Promise<Fresh>, isGone: (o: ProcessIdentity) => boolean = () => false) {
  const { db, another } = await fresh();
  const otherDb = await another();
  const jobs = new JobStore(db);
  const otherJobs = new JobStore(otherDb);
  const claims = new JobClaims(db, { isGone });
  const other = new JobClaims(otherDb, { isGone });
  const add = (jobId: string) => jobs.create({ jobId, modelType: 'nlu', request: {}, totalEpochs: 2 });
  return { jobs, otherJobs, claims, other, add, another };
}

describeStores('training job claims', (fresh) => {
  it('gives the oldest queued job to one runner, the next to the other, and nothing more', async () => {
    const { claims, other, add, jobs } = await setup(fresh);
    await add('a');
    await add('b');
    const first = (await claims.claimNext('w1', elsewhere(1), TTL, 1000))!;
    const second = (await other.claimNext('w2', elsewhere(2), TTL, 1000))!;
    expect([first.jobId, second.jobId]).toEqual(['a', 'b']);
    expect(first).toMatchObject({ workerId: 'w1', token: 1, interrupted: false, leaseUntil: 1000 + TTL });
    expect(await claims.claimNext('w3', elsewhere(3), TTL, 1001)).toBeNull();
    expect(await jobs.get('a')).toMatchObject({ status: 'training', workerId: 'w1' });
  });

  it('gives a job only to runners of its pool: a cloud job waits for a cloud worker, a local runner takes only local jobs', async () => {
    const { claims, other, jobs } = await setup(fresh);
    await jobs.create({ jobId: 'big', modelType: 'nlu', request: {}, totalEpochs: 2, workerPool: 'cloud' });
    await jobs.create({ jobId: 'small', modelType: 'nlu', request: {}, totalEpochs: 2 });
    expect((await claims.claimNext('reactor-runner', elsewhere(1), TTL, 1000))?.jobId).toBe('small');
    expect(await claims.claimNext('reactor-runner', elsewhere(1), TTL, 1000)).toBeNull();
    expect(await other.claimNext('gpu-worker', elsewhere(2), TTL, 1000, 'gpu')).toBeNull();
    expect((await other.claimNext('cloud-worker', elsewhere(3), TTL, 1000, 'cloud'))?.jobId).toBe('big');
    expect(await jobs.get('big')).toMatchObject({ workerPool: 'cloud', workerId: 'cloud-worker' });
  });

  it('lets another runner take a job whose lease ran out, under a larger token; the stale holder can neither renew nor append', async () => {
    const { claims, other, add, jobs } = await setup(fresh);
    await add('a');
    const stale = (await claims.claimNext('w1', elsewhere(1), TTL, 1000))!;
    expect(await claims.renew(stale, TTL, 1005)).toEqual({ held: true, cancelRequested: false });
    expect(await other.claimNext('w2', elsewhere(2), TTL, 1014)).toBeNull(); // renewed until 1015
    const taken = (await other.claimNext('w2', elsewhere(2), TTL, 1015))!;
    expect(taken).toMatchObject({ jobId: 'a', workerId: 'w2', token: 2, interrupted: true });

    expect(await claims.renew(stale, TTL, 1016)).toEqual({ held: false });
    await expect(jobs.appendEvent('a', 'status', { epoch: 1 }, { epoch: 1 }, { workerId: 'w1', token: 1 })).rejects.toThrow(ClaimLost);
    expect(await jobs.eventsSince('a', 0)).toEqual([]);
    expect((await jobs.get('a'))?.epoch).toBe(0);
    expect((await jobs.appendEvent('a', 'status', { epoch: 1 }, undefined, { workerId: 'w2', token: 2 })).id).toBe(1);
  });

  it('hands a job whose lease ran out to another runner with the checkpoint its last holder recorded', async () => {
    const { claims, other, add, otherJobs, jobs } = await setup(fresh);
    await add('a');
    const first = (await claims.claimNext('w1', elsewhere(1), TTL, 1000))!;
    const checkpoint = { epoch: 1, checkpoint_path: '$TRAINING_CHECKPOINT_DIR/a/epoch-1' };
    await jobs.appendEvent('a', 'checkpoint', { epoch: 1 }, { epoch: 1, checkpoint }, { workerId: 'w1', token: first.token });
    const next = (await other.claimNext('w2', elsewhere(2), TTL, 1000 + TTL))!;
    expect(next).toMatchObject({ jobId: 'a', interrupted: true, token: first.token + 1 });
    expect(await otherJobs.get('a')).toMatchObject({ status: 'training', workerId: 'w2', epoch: 1, checkpoint });
  });

  it('takes a job at once from a holder whose process is gone, before its lease runs out', async () => {
    const gone = new Set<number>();
    const { claims, other, add } = await setup(fresh, (o) => gone.has(o.pid));
    await add('a');
    await claims.claimNext('w1', elsewhere(1), TTL, 1000);
    expect(await other.claimNext('w2', elsewhere(2), TTL, 1001)).toBeNull();
    gone.add(1);
    expect(await other.claimNext('w2', elsewhere(2), TTL, 1001)).toMatchObject({ jobId: 'a', token: 2, interrupted: true });
  });

  it('hands a released job to the next runner at once, as interrupted', async () => {
    const { claims, other, add } = await setup(fresh);
    await add('a');
    const held = (await claims.claimNext('w1', elsewhere(1), TTL, 1000))!;
    await claims.release(held);
    expect(await other.claimNext('w2', elsewhere(2), TTL, 1001)).toMatchObject({ jobId: 'a', interrupted: true });
  });

  it('asks a live holder to cancel through its renewal, ends a queued job at once, and claims neither', async () => {
    const { claims, other, add, jobs, otherJobs } = await setup(fresh);
    await add('a');
    await add('b');
    const held = (await claims.claimNext('w1', elsewhere(1), TTL, 1000))!;
    const cancelled =
      (id: string): EndJob =>
      async (tx) =>
        void (await otherJobs.appendIn(tx, id, 'cancelled', {}, { status: 'cancelled' }));
    expect(await other.requestCancel('a', 1001, cancelled('a'))).toBe('asked');
    expect(await claims.renew(held, TTL, 1002)).toEqual({ held: true, cancelRequested: true });
    expect(await other.requestCancel('b', 1001, cancelled('b'))).toBe('ended');
    expect((await jobs.get('b'))?.status).toBe('cancelled');
    expect(await other.claimNext('w2', elsewhere(2), TTL, 1100)).toBeNull(); // a: cancel asked, lease out; b: ended

    // A holder that never answers is fenced off: its late events are refused.
    await other.forceEnd('a', cancelled('a'));
    expect((await jobs.get('a'))?.status).toBe('cancelled');
    await expect(jobs.appendEvent('a', 'completed', {}, undefined, { workerId: 'w1', token: held.token })).rejects.toThrow(ClaimLost);
    expect(await other.requestCancel('a', 1200, cancelled('a'))).toBe('finished');
  });

  it('gives one job to exactly one of several runners claiming at once on separate connections', async () => {
    const { add, another } = await setup(fresh);
    await add('only');
    const runners = await Promise.all(Array.from({ length: 4 }, async () => new JobClaims(await another())));
    for (let round = 0; round < 3; round++) {
      // Each round the lease has run out again: exactly one of them takes it, under the next token.
      const now = 1000 + round * 100;
      const got = await Promise.all(runners.map((c, i) => c.claimNext(`w${i}`, elsewhere(i), TTL, now)));
      const winners = got.filter((c) => c !== null);
      expect(winners).toHaveLength(1);
      expect(winners[0]).toMatchObject({ jobId: 'only', token: round + 1 });
    }
  });

  it('refuses the appends of a stale holder racing the runner that takes its job over', async () => {
    const { claims, other, add, jobs, otherJobs } = await setup(fresh);
    await add('a');
    const stale = (await claims.claimNext('w1', elsewhere(1), TTL, 1000))!;
    const fence = { workerId: 'w1', token: stale.token };
    // w1 stalled past its lease and keeps appending while w2, on its own connection, takes the job.
    const appends = Array.from({ length: 10 }, (_, i) => jobs.appendEvent('a', 'status', { n: i }, { epoch: i }, fence).then(
      (e) => e.id,
      (err: unknown) => (err instanceof ClaimLost ? 'lost' : Promise.reject(err)),
    ));
    // On Postgres a claim skips the row while an append holds it locked: it tries again, as on the next beat.
    let taken = null;
    for (let tries = 0; !taken && tries < 100; tries++) taken = await other.claimNext('w2', elsewhere(2), TTL, 1010);
    if (!taken) throw new Error('the job was never taken over');
    const outcome = await Promise.all(appends);
    expect(taken.token).toBe(stale.token + 1);
    // Whatever got in before the takeover is numbered 1..k without a gap; everything after is refused.
    const accepted = outcome.filter((o) => o !== 'lost').sort((x, y) => x - y);
    expect(accepted).toEqual(accepted.map((_, i) => i + 1));
    await expect(jobs.appendEvent('a', 'status', {}, undefined, fence)).rejects.toThrow(ClaimLost);
    const e = await otherJobs.appendEvent('a', 'status', { by: 'w2' }, undefined, { workerId: 'w2', token: taken.token });
    expect(e.id).toBe(accepted.length + 1);
  });
});
